// The export of one data subject's personal data (GDPR Art. 15 access, Art. 20 portability),
// driven entirely by the data inventory and the registry of personal fields: for every category
// the inventory declares collected, every registered field of the customer's rows, sealed fields
// opened with the customer's key, with the category's purposes, legal basis, source, recipients,
// retention and erasure outcome. A field the code stores and the inventory declares therefore
// cannot be left out. One JSON document; format in docs/privacy.md.
// Thread-safe; runs inside the caller's transaction.
#pragma once

#include <cstdint>
#include <string>

#include "privacy/inventory.h"
#include "privacy/vault.h"
#include "src/common/env.h"
#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::rights {

struct ExportContext {
  std::string language = "en";  // texts of the inventory in this language
  std::string shop_name;
  std::string shop_contact;
};

struct ExportSubject {
  std::int64_t customer_id = 0;
  std::string subject_id;
};

// The JSON document (UTF-8). Errc::gone when the subject's key was shredded (erased customer);
// Errc::crypto when a sealed field fails to open (damaged data: never silently skipped).
Result<std::string> export_subject(storage::Tx& tx, const privacy::Inventory& inventory, privacy::Vault& vault,
                                   const ExportSubject& subject, const ExportContext& context, const Clock& clock);

inline constexpr std::string_view kExportFormat = "comptoir.export.v1";

}  // namespace comptoir::rights

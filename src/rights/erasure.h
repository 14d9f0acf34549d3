// Erasure of one data subject (GDPR Art. 17), driven by the data inventory: every table holding
// the customer's personal fields is handled by the erasure outcome of the categories of its
// fields — rows whose fields are all "erase" are deleted; in a table that also holds
// "keep_restricted" data (orders kept for the books), the "erase" fields are cleared and the
// rows are detached from the customer and restricted until the end of their legal retention.
// Then the customer's key is shredded, so anything sealed under it that a copy still holds is
// unreadable too. Repeating an erasure is harmless (Errc::not_found: nothing left to erase).
// Runs inside the caller's transaction: all of it commits, or none.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "privacy/inventory.h"
#include "privacy/vault.h"
#include "src/common/env.h"
#include "src/common/error.h"
#include "src/rights/export.h"
#include "storage/database.h"

namespace comptoir::rights {

struct ErasureLine {
  std::string category;  // inventory category id
  privacy::ErasureOutcome outcome = privacy::ErasureOutcome::erase;
  int records = 0;                     // rows deleted, cleared or kept
  std::optional<std::int64_t> until;   // keep_restricted: the latest end of restriction of what was kept
  std::optional<privacy::Basis> legal_basis;
};

struct ErasureReceipt {
  std::string subject_reference;
  std::int64_t erased_at = 0;
  std::vector<ErasureLine> categories;  // every collected category, in inventory order
  std::vector<std::string> orders_kept;  // numbers of the orders kept detached
};

Result<ErasureReceipt> erase_subject(storage::Tx& tx, const privacy::Inventory& inventory, privacy::Vault& vault,
                                     const ExportSubject& subject, const Clock& clock);

}  // namespace comptoir::rights

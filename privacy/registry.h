// The registry: every stored field that holds personal data, as the code knows it. The data
// inventory (inventory.h) is the merchant's declaration of the same fields; at startup the two
// are checked against each other so that neither can drift: a field the code stores that the
// inventory does not declare, or an inventory field the code does not know, stops startup.
// A test checks the registry against the database schema itself: every column of every table
// is either registered here as personal or listed as not personal, with the reason.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "privacy/inventory.h"
#include "src/common/error.h"

namespace comptoir::privacy {

enum class Protection {
  sealed,      // encrypted under the customer's own key (vault.h) inside the encrypted database
  blind_index, // a keyed hash, used only to find the customer again
  database,    // protected by the database encryption only (no free text, no contact data)
};

struct RegisteredField {
  std::string_view name;  // "table.column"
  Protection protection;
  // Optional fields are stored only when the merchant declares their category collected;
  // the others are needed for the shop to work and cannot be declared "not collected".
  bool optional;
  std::string_view what;  // for operators and the inventory docs
  // Sealed fields: the column name of the place they are sealed for (vault.h FieldPlace); the
  // row string is storage's business (storage/row_reader.h).
  std::string_view place_column = {};
};

// Columns of the schema that hold no personal data (catalog, keys, bookkeeping of the software),
// with the reason; the schema test requires every column to be in one list or the other.
struct NonPersonalColumn {
  std::string_view name;  // "table.column"
  std::string_view why;
};

std::span<const RegisteredField> registered_fields();
std::span<const NonPersonalColumn> non_personal_columns();
const RegisteredField* registered_field(std::string_view name);

// Checks `inventory` against the registry. Errc::config lists every mismatch, one per line:
//   - a registered field that no category declares;
//   - a declared field the code does not know (or a "table.*" matching no registered field);
//   - a field the code always stores, in a category declared "collected": false.
Status check_inventory(const Inventory& inventory);

// Category ids the code consults at ingestion (declared collected → stored; otherwise dropped).
inline constexpr std::string_view kPlatformProfileCategory = "platform_profile";
inline constexpr std::string_view kChatTranscriptCategory = "chat_transcript";

}  // namespace comptoir::privacy

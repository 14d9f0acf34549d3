// The rows of one customer across every table that holds personal data, for the features that
// walk every registered personal field (a data subject's export and erasure, src/rights). This
// header knows how each such table's rows belong to a customer and, for sealed columns, which
// row string they were sealed for; callers name tables and columns only. Thread-safe through
// Database; joins a caller's Tx.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::storage {

using Value = std::variant<std::monostate, std::int64_t, double, std::string, std::vector<std::uint8_t>>;

struct Rows {
  std::vector<std::vector<Value>> rows;  // one Value per requested column
};

struct CustomerTable {
  std::string_view name;
  bool linked;      // false: rows belong to nobody (they expire on their own)
  // Rows may be kept after an erasure, detached (orders) or following a detached parent (lines).
  bool retainable;
  bool own_link;    // the table has its own customer_id column, which can be cut
};

// Every table with personal fields, parents before children.
std::span<const CustomerTable> customer_tables();
const CustomerTable* customer_table(std::string_view name);

// A column to read: its value, or (for a sealed column) the row string it was sealed for.
struct Column {
  std::string name;
  bool sealed_row = false;
};

// The customer's rows of `table` (which must be linked), in a stable order.
Result<Rows> customer_rows(Tx& tx, std::string_view table, const std::vector<Column>& columns, std::int64_t customer_id);
Result<int> count_customer_rows(Tx& tx, std::string_view table, std::int64_t customer_id);
// Deletes the customer's rows; returns how many.
Result<int> delete_customer_rows(Tx& tx, std::string_view table, std::int64_t customer_id);
// Sets the columns to NULL in the customer's rows; returns how many rows.
Result<int> clear_customer_columns(Tx& tx, std::string_view table, const std::vector<std::string>& columns,
                                   std::int64_t customer_id);
// Cuts the rows' own link to the customer (own_link tables); returns how many rows.
Result<int> unlink_customer_rows(Tx& tx, std::string_view table, std::int64_t customer_id);

// Rows kept after an erasure: their link cut and restricted_until set, by id.
struct DetachedRow {
  std::int64_t id = 0;
  std::int64_t restricted_until = 0;
};
Status detach_rows(Tx& tx, std::string_view table, const std::vector<DetachedRow>& rows);

}  // namespace comptoir::storage

// RowReader: reads the rows of one table that belong to one customer, column by column, for the
// features that walk every personal field the registry declares (a data subject's export). The
// table, column expressions and condition come from the compiled-in registry
// (privacy/registry.h), never from a request. Thread-safe through Database; joins a caller's Tx.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::storage {

using Value = std::variant<std::monostate, std::int64_t, double, std::string, std::vector<std::uint8_t>>;

struct Rows {
  std::vector<std::vector<Value>> rows;  // one Value per requested expression
};

// SELECT expressions FROM table WHERE condition (?1 = `param`) ORDER BY order_by.
Result<Rows> select_rows(Tx& tx, std::string_view table, const std::vector<std::string>& expressions,
                         std::string_view condition, std::int64_t param, std::string_view order_by);

// DELETE FROM table WHERE condition (?1 = `param`); returns the number of rows deleted.
Result<int> delete_rows(Tx& tx, std::string_view table, std::string_view condition, std::int64_t param);
// UPDATE table SET column = NULL, … WHERE condition; returns the number of rows changed.
Result<int> set_null(Tx& tx, std::string_view table, const std::vector<std::string>& columns, std::string_view condition,
                     std::int64_t param);

// Rows kept after an erasure: `link_column` set to NULL and restricted_until set, by id.
struct DetachedRow {
  std::int64_t id = 0;
  std::int64_t restricted_until = 0;
};
Status detach_rows(Tx& tx, std::string_view table, std::string_view link_column, const std::vector<DetachedRow>& rows);

}  // namespace comptoir::storage

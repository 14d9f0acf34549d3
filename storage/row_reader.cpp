#include "storage/row_reader.h"

#include "storage/sqlite.h"

namespace comptoir::storage {

Result<Rows> select_rows(Tx& tx, std::string_view table, const std::vector<std::string>& expressions,
                         std::string_view condition, std::int64_t param, std::string_view order_by) {
  if (expressions.empty() || table.empty() || condition.empty()) return fail(Errc::internal, "select_rows: nothing to select");
  std::string sql = "SELECT ";
  for (std::size_t i = 0; i < expressions.size(); ++i) sql += (i ? ", " : "") + expressions[i];
  sql += " FROM " + std::string(table) + " WHERE " + std::string(condition);
  if (!order_by.empty()) sql += " ORDER BY " + std::string(order_by);
  sqlite3* db = tx.handle();
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(sqlite_error(db, rc, "select rows of " + std::string(table)));
  if (sqlite3_bind_parameter_count(st) >= 1) sqlite3_bind_int64(st, 1, param);
  Rows out;
  const int n = static_cast<int>(expressions.size());
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    std::vector<Value> row;
    row.reserve(expressions.size());
    for (int c = 0; c < n; ++c) {
      switch (sqlite3_column_type(st, c)) {
        case SQLITE_INTEGER: row.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(st, c))); break;
        case SQLITE_FLOAT: row.emplace_back(sqlite3_column_double(st, c)); break;
        case SQLITE_TEXT:
          row.emplace_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, c)),
                                       static_cast<std::size_t>(sqlite3_column_bytes(st, c))));
          break;
        case SQLITE_BLOB: {
          const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, c));
          row.emplace_back(std::vector<std::uint8_t>(p, p + sqlite3_column_bytes(st, c)));
          break;
        }
        default: row.emplace_back(std::monostate{});
      }
    }
    out.rows.push_back(std::move(row));
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return std::unexpected(sqlite_error(db, rc, "select rows of " + std::string(table)));
  return out;
}

namespace {

Result<int> change(Tx& tx, const std::string& sql, std::int64_t param, std::string_view what) {
  sqlite3* db = tx.handle();
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(sqlite_error(db, rc, what));
  if (sqlite3_bind_parameter_count(st) >= 1) sqlite3_bind_int64(st, 1, param);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return std::unexpected(sqlite_error(db, rc, what));
  return sqlite3_changes(db);
}

}  // namespace

Result<int> delete_rows(Tx& tx, std::string_view table, std::string_view condition, std::int64_t param) {
  if (table.empty() || condition.empty()) return fail(Errc::internal, "delete_rows: no table or condition");
  return change(tx, "DELETE FROM " + std::string(table) + " WHERE " + std::string(condition), param,
                "delete rows of " + std::string(table));
}

Status detach_rows(Tx& tx, std::string_view table, std::string_view link_column, const std::vector<DetachedRow>& rows) {
  const std::string sql =
      "UPDATE " + std::string(table) + " SET " + std::string(link_column) + " = NULL, restricted_until = ?2 WHERE id = ?1";
  sqlite3* db = tx.handle();
  for (const auto& r : rows) {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr);
    if (rc != SQLITE_OK) return std::unexpected(sqlite_error(db, rc, "detach rows of " + std::string(table)));
    sqlite3_bind_int64(st, 1, r.id);
    sqlite3_bind_int64(st, 2, r.restricted_until);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return std::unexpected(sqlite_error(db, rc, "detach rows of " + std::string(table)));
  }
  return ok();
}

Result<int> set_null(Tx& tx, std::string_view table, const std::vector<std::string>& columns, std::string_view condition,
                     std::int64_t param) {
  if (table.empty() || condition.empty() || columns.empty()) return fail(Errc::internal, "set_null: nothing to change");
  std::string sql = "UPDATE " + std::string(table) + " SET ";
  for (std::size_t i = 0; i < columns.size(); ++i) sql += (i ? ", " : "") + columns[i] + " = NULL";
  sql += " WHERE " + std::string(condition);
  return change(tx, sql, param, "clear fields of " + std::string(table));
}

}  // namespace comptoir::storage

#include "storage/row_reader.h"

#include "storage/sqlite.h"

namespace comptoir::storage {

namespace {

struct TableSql {
  CustomerTable table;
  std::string_view of_customer;  // condition, ?1 = customers.id
  std::string_view order_by;
};

constexpr TableSql kTables[] = {
    {{"customers", true, false, false}, "id = ?1", "id"},
    {{"customer_aliases", true, false, false}, "customer_id = ?1", "address_index"},
    {{"conversations", true, false, false}, "customer_id = ?1", "customer_id"},
    {{"cart_items", true, false, false}, "customer_id = ?1", "added_at, sku"},
    {{"orders", true, true, true}, "customer_id = ?1", "id"},
    {{"order_lines", true, true, false}, "order_id IN (SELECT id FROM orders WHERE customer_id = ?1)", "order_id, line_no"},
    {{"order_vat", true, true, false}, "order_id IN (SELECT id FROM orders WHERE customer_id = ?1)", "order_id, vat_rate"},
    {{"outbox", true, false, true}, "customer_id = ?1", "id"},
    {{"chat_messages", true, false, true}, "customer_id = ?1", "id"},
    {{"inbound_messages", false, false, false}, "", ""},
    {{"early_statuses", false, false, false}, "", ""},
    {{"chat_transcript", true, false, true}, "customer_id = ?1", "id"},
    {{"consent_records", true, false, true}, "customer_id = ?1", "id"},
    {{"privacy_requests", true, false, true}, "customer_id = ?1", "received_at, id"},
    {{"processing_restrictions", true, false, true}, "customer_id = ?1", "customer_id"},
};

// The row string each sealed column was sealed for (privacy::FieldPlace::row), as the code that
// seals it computes it: keep in step with CustomerDirectory, Shop, Outbox, Inbox and the engine.
struct SealedRow {
  std::string_view table, column, expression;
};
constexpr SealedRow kSealedRows[] = {
    {"customers", "address_sealed", "address_index"},
    {"customers", "profile_name_sealed", "CAST(id AS TEXT)"},
    {"conversations", "state", "CAST(customer_id AS TEXT)"},
    {"orders", "recipient_name_sealed", "number"},
    {"orders", "delivery_address_sealed", "number"},
    {"outbox", "body_sealed", "'customer:' || customer_id"},
    {"chat_messages", "body_sealed", "'customer:' || customer_id"},
    {"chat_transcript", "body_sealed", "CAST(customer_id AS TEXT)"},
    {"privacy_requests", "changes_sealed", "id"},
};

Result<const TableSql*> linked(std::string_view name) {
  for (const auto& t : kTables) {
    if (t.table.name == name) {
      if (!t.table.linked) return fail(Errc::internal, "rows of " + std::string(name) + " belong to no customer");
      return &t;
    }
  }
  return fail(Errc::internal, "not a table of personal data: " + std::string(name));
}

// One-off statements (their SQL is built per table), so compiled outside the statement cache.
Result<int> change(Tx& tx, const std::string& sql, std::int64_t customer_id) {
  Stmt s(tx.handle(), sql);
  if (!s.valid()) return std::unexpected(s.prepare_error());
  s.bind(1, customer_id);
  if (auto st = s.run(); !st) return std::unexpected(st.error());
  return sqlite3_changes(tx.handle());
}

}  // namespace

std::span<const CustomerTable> customer_tables() {
  static const std::vector<CustomerTable> tables = [] {
    std::vector<CustomerTable> v;
    for (const auto& t : kTables) v.push_back(t.table);
    return v;
  }();
  return tables;
}

const CustomerTable* customer_table(std::string_view name) {
  for (const auto& t : kTables) {
    if (t.table.name == name) return &t.table;
  }
  return nullptr;
}

Result<Rows> customer_rows(Tx& tx, std::string_view table, const std::vector<Column>& columns, std::int64_t customer_id) {
  auto t = linked(table);
  if (!t) return std::unexpected(t.error());
  if (columns.empty()) return fail(Errc::internal, "customer_rows: no columns");
  std::string sql = "SELECT ";
  for (std::size_t i = 0; i < columns.size(); ++i) {
    std::string expr = columns[i].name;
    if (columns[i].sealed_row) {
      expr.clear();
      for (const auto& r : kSealedRows) {
        if (r.table == table && r.column == columns[i].name) expr = r.expression;
      }
      if (expr.empty()) return fail(Errc::internal, "no sealed row known for " + std::string(table) + "." + columns[i].name);
    }
    sql += (i ? ", " : "") + expr;
  }
  sql += " FROM " + std::string(table) + " WHERE " + std::string((*t)->of_customer) + " ORDER BY " +
         std::string((*t)->order_by);
  Stmt s(tx.handle(), sql);
  if (!s.valid()) return std::unexpected(s.prepare_error());
  s.bind(1, customer_id);
  Rows out;
  const int n = static_cast<int>(columns.size());
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    std::vector<Value> values;
    values.reserve(columns.size());
    for (int c = 0; c < n; ++c) {
      switch (s.type(c)) {
        case SQLITE_INTEGER: values.emplace_back(s.int64(c)); break;
        case SQLITE_FLOAT: values.emplace_back(s.real(c)); break;
        case SQLITE_TEXT: values.emplace_back(s.text(c)); break;
        case SQLITE_BLOB: values.emplace_back(s.blob(c)); break;
        default: values.emplace_back(std::monostate{});
      }
    }
    out.rows.push_back(std::move(values));
  }
  return out;
}

Result<int> count_customer_rows(Tx& tx, std::string_view table, std::int64_t customer_id) {
  auto rows = customer_rows(tx, table, {{"COUNT(*)"}}, customer_id);
  if (!rows) return std::unexpected(rows.error());
  return static_cast<int>(std::get<std::int64_t>(rows->rows.at(0).at(0)));
}

Result<int> delete_customer_rows(Tx& tx, std::string_view table, std::int64_t customer_id) {
  auto t = linked(table);
  if (!t) return std::unexpected(t.error());
  return change(tx, "DELETE FROM " + std::string(table) + " WHERE " + std::string((*t)->of_customer), customer_id);
}

Result<int> clear_customer_columns(Tx& tx, std::string_view table, const std::vector<std::string>& columns,
                                   std::int64_t customer_id) {
  auto t = linked(table);
  if (!t) return std::unexpected(t.error());
  if (columns.empty()) return fail(Errc::internal, "clear_customer_columns: no columns");
  std::string sql = "UPDATE " + std::string(table) + " SET ";
  for (std::size_t i = 0; i < columns.size(); ++i) sql += (i ? ", " : "") + columns[i] + " = NULL";
  sql += " WHERE " + std::string((*t)->of_customer);
  return change(tx, sql, customer_id);
}

Result<int> unlink_customer_rows(Tx& tx, std::string_view table, std::int64_t customer_id) {
  auto t = linked(table);
  if (!t) return std::unexpected(t.error());
  if (!(*t)->table.own_link) return fail(Errc::internal, "rows of " + std::string(table) + " have no link of their own");
  return clear_customer_columns(tx, table, {"customer_id"}, customer_id);
}

Status detach_rows(Tx& tx, std::string_view table, const std::vector<DetachedRow>& rows) {
  auto t = linked(table);
  if (!t) return std::unexpected(t.error());
  if (!(*t)->table.retainable || !(*t)->table.own_link) {
    return fail(Errc::internal, "rows of " + std::string(table) + " cannot be detached");
  }
  const std::string sql = "UPDATE " + std::string(table) + " SET customer_id = NULL, restricted_until = ?2 WHERE id = ?1";
  for (const auto& r : rows) {
    Stmt s(tx.handle(), sql);
    if (!s.valid()) return std::unexpected(s.prepare_error());
    s.bind(1, r.id).bind(2, r.restricted_until);
    if (auto st = s.run(); !st) return st;
  }
  return ok();
}

}  // namespace comptoir::storage

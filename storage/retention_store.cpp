#include "storage/retention_store.h"

#include <array>

#include "storage/sqlite.h"

namespace comptoir::storage {

namespace {

// The customer's last message, for a table with a customer_id column.
#define COMPTOIR_LAST_ACTIVITY(T) "(SELECT c__.last_active_at FROM customers c__ WHERE c__.id = " T ".customer_id)"

struct TableSpec {
  std::string_view name;
  std::string_view key;       // integer key in a stable order
  std::string_view customer;  // expression of the row's customer id; "" when rows belong to nobody
  bool restricted = false;    // has customer_id + restricted_until (rows kept after an erasure)
  // Per RetentionEvent: collection, last_activity, order_placed, order_completion, consent_withdrawal.
  std::array<std::string_view, 5> events;
};

constexpr TableSpec kSpecs[] = {
    {"customers", "customers.id", "customers.id", false,
     {"customers.created_at", "customers.last_active_at", "", "", ""}},
    {"conversations", "conversations.rowid", "conversations.customer_id", false,
     {"conversations.updated_at", COMPTOIR_LAST_ACTIVITY("conversations"), "", "", ""}},
    {"cart_items", "cart_items.rowid", "cart_items.customer_id", false,
     {"cart_items.added_at", COMPTOIR_LAST_ACTIVITY("cart_items"), "", "", ""}},
    {"orders", "orders.id", "orders.customer_id", true,
     {"orders.created_at", COMPTOIR_LAST_ACTIVITY("orders"), "orders.created_at",
      "(CASE WHEN orders.status IN ('completed', 'cancelled') THEN orders.updated_at END)", ""}},
    // Lines and VAT lines go with their order (child_tables); they are never selected alone.
    {"order_lines", "order_lines.rowid", "(SELECT o__.customer_id FROM orders o__ WHERE o__.id = order_lines.order_id)", false,
     {"", "", "", "", ""}},
    {"order_vat", "order_vat.rowid", "(SELECT o__.customer_id FROM orders o__ WHERE o__.id = order_vat.order_id)", false,
     {"", "", "", "", ""}},
    {"outbox", "outbox.id", "outbox.customer_id", false,
     {"outbox.created_at", COMPTOIR_LAST_ACTIVITY("outbox"), "", "", ""}},
    {"chat_messages", "chat_messages.id", "chat_messages.customer_id", false,
     {"chat_messages.created_at", COMPTOIR_LAST_ACTIVITY("chat_messages"), "", "", ""}},
    {"inbound_messages", "inbound_messages.rowid", "", false, {"inbound_messages.received_at", "", "", "", ""}},
    {"chat_transcript", "chat_transcript.id", "chat_transcript.customer_id", false,
     {"chat_transcript.created_at", COMPTOIR_LAST_ACTIVITY("chat_transcript"), "", "", ""}},
    // A marketing consent's withdrawal is the customer's next marketing_withdrawn record; a
    // withdrawal record dates its own withdrawal; a notice acknowledgement is never withdrawn.
    {"consent_records", "consent_records.id", "consent_records.customer_id", false,
     {"consent_records.created_at", COMPTOIR_LAST_ACTIVITY("consent_records"), "", "",
      "(CASE consent_records.kind WHEN 'marketing_withdrawn' THEN consent_records.created_at "
      "WHEN 'marketing_given' THEN (SELECT MIN(w__.created_at) FROM consent_records w__ WHERE w__.customer_id = "
      "consent_records.customer_id AND w__.kind = 'marketing_withdrawn' AND w__.id > consent_records.id) END)"}},
};
#undef COMPTOIR_LAST_ACTIVITY

struct Child {
  std::string_view parent, table, foreign_key;
};
constexpr Child kChildren[] = {
    {"orders", "order_lines", "order_id"},
    {"orders", "order_vat", "order_id"},
};

const TableSpec* spec_of(std::string_view table) {
  for (const auto& s : kSpecs) {
    if (s.name == table) return &s;
  }
  return nullptr;
}

std::string_view event_sql(const TableSpec& t, RetentionEvent e) { return t.events[static_cast<std::size_t>(e)]; }

bool plain_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// "(expr <= cutoff OR …)"; an event the table does not record matches nothing.
std::string any_of_sql(const TableSpec& t, const std::vector<EventBefore>& list) {
  std::string out;
  for (const auto& e : list) {
    const auto expr = event_sql(t, e.event);
    if (expr.empty()) continue;
    out += (out.empty() ? "" : " OR ") + std::string("COALESCE(") + std::string(expr) + " <= " + std::to_string(e.cutoff) + ", 0)";
  }
  return out.empty() ? "0" : "(" + out + ")";
}

std::string released_sql(const TableSpec& t, std::int64_t by) {
  const std::string n(t.name);
  return "(" + n + ".customer_id IS NULL AND " + n + ".restricted_until IS NOT NULL AND " + n + ".restricted_until <= " +
         std::to_string(by) + ")";
}

Result<std::string> where_sql(const RowSelection& s, const TableSpec& t) {
  std::vector<std::string> parts;
  if (!s.any_of.empty()) parts.push_back(any_of_sql(t, s.any_of));
  if (!s.none_of.empty()) parts.push_back("NOT " + any_of_sql(t, s.none_of));
  if (s.released_by || s.unless_released_by) {
    if (!t.restricted) return fail(Errc::internal, "rows of " + std::string(t.name) + " are never kept restricted");
    if (s.released_by) parts.push_back(released_sql(t, *s.released_by));
    if (s.unless_released_by) parts.push_back("NOT " + released_sql(t, *s.unless_released_by));
  }
  if (!s.unless_customer_any_of.empty() && !t.customer.empty()) {
    const TableSpec* customers = spec_of("customers");
    parts.push_back("NOT COALESCE(" + std::string(t.customer) + " IN (SELECT customers.id FROM customers WHERE " +
                    any_of_sql(*customers, s.unless_customer_any_of) + "), 0)");
  }
  if (s.customer_id) {
    if (t.customer.empty()) return fail(Errc::internal, "rows of " + std::string(t.name) + " belong to nobody");
    parts.push_back(std::string(t.customer) + " = " + std::to_string(*s.customer_id));
  }
  if (!s.ids.empty()) {
    if (t.key.empty()) return fail(Errc::internal, "rows of " + std::string(t.name) + " have no id");
    std::string list;
    for (auto id : s.ids) list += (list.empty() ? "" : ",") + std::to_string(id);
    parts.push_back(std::string(t.key) + " IN (" + list + ")");
  }
  if (!s.any_not_null.empty()) {
    std::string any;
    for (const auto& c : s.any_not_null) {
      if (!plain_name(c)) return fail(Errc::internal, "not a column name: " + c);
      any += (any.empty() ? "" : " OR ") + std::string(t.name) + "." + c + " IS NOT NULL";
    }
    parts.push_back("(" + any + ")");
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " AND ") + p;
  return out.empty() ? std::string("1") : out;
}

Result<std::int64_t> scalar(Tx& tx, const std::string& sql) {
  Stmt s(tx.handle(), sql);  // built per call: not worth a place in the statement cache
  if (!s.valid()) return std::unexpected(s.prepare_error());
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  return *row ? s.int64(0) : 0;
}

// The keys of up to `limit` matching rows after `after`.
struct Selected {
  std::vector<std::int64_t> ids;
};

Result<Selected> select_keys(Tx& tx, const RowSelection& s, const TableSpec& t, int limit, std::int64_t after) {
  auto where = where_sql(s, t);
  if (!where) return std::unexpected(where.error());
  Selected out;
  const std::string key(t.key);
  Stmt st(tx.handle(), "SELECT " + key + " FROM " + std::string(t.name) + " WHERE " + key + " > " + std::to_string(after) +
                           " AND " + *where + " ORDER BY " + key + " LIMIT " + std::to_string(limit));
  if (!st.valid()) return std::unexpected(st.prepare_error());
  for (;;) {
    auto row = st.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.ids.push_back(st.int64(0));
  }
  return out;
}

Status run_for_each(Tx& tx, const std::string& sql, const std::vector<std::int64_t>& ids, std::int64_t* changes) {
  for (auto id : ids) {
    Stmt s(tx, sql);
    if (!s.valid()) return std::unexpected(s.prepare_error());
    s.bind(1, id);
    if (auto st = s.run(); !st) return st;
    if (changes) *changes += sqlite3_changes(tx.handle());
  }
  return ok();
}

// "orders.id" → "id"; "cart_items.rowid" → "rowid".
std::string bare_key(const TableSpec& t) { return std::string(t.key.substr(t.key.find('.') + 1)); }

}  // namespace

bool has_event(std::string_view table, RetentionEvent event) {
  const TableSpec* t = spec_of(table);
  return t != nullptr && !event_sql(*t, event).empty();
}

std::vector<std::string> child_tables(std::string_view table) {
  std::vector<std::string> out;
  for (const auto& c : kChildren) {
    if (c.parent == table) out.emplace_back(c.table);
  }
  return out;
}

Result<bool> column_nullable(Tx& tx, std::string_view table, std::string_view column) {
  if (!plain_name(table)) return fail(Errc::internal, "not a table name");
  Stmt s(tx.handle(), "PRAGMA table_info(" + std::string(table) + ")");
  if (!s.valid()) return std::unexpected(s.prepare_error());
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    if (s.text(1) == column) return s.int64(3) == 0 && s.int64(5) == 0;  // notnull, pk
  }
  return fail(Errc::internal, "no column " + std::string(table) + "." + std::string(column));
}

Result<TableCounts> count_rows(Tx& tx, const RowSelection& selection) {
  const TableSpec* t = spec_of(selection.table);
  if (t == nullptr) return fail(Errc::internal, "not a table of personal data: " + selection.table);
  auto where = where_sql(selection, *t);
  if (!where) return std::unexpected(where.error());
  TableCounts counts;
  const std::string name(t->name);
  auto n = scalar(tx, "SELECT COUNT(*) FROM " + name + " WHERE " + *where);
  if (!n) return std::unexpected(n.error());
  counts[name] = *n;
  for (const auto& c : kChildren) {
    if (c.parent != name) continue;
    auto k = scalar(tx, "SELECT COUNT(*) FROM " + std::string(c.table) + " WHERE " + std::string(c.foreign_key) + " IN (SELECT " +
                            std::string(t->key) + " FROM " + name + " WHERE " + *where + ")");
    if (!k) return std::unexpected(k.error());
    counts[std::string(c.table)] = *k;
  }
  return counts;
}

Result<Batch> delete_rows(Tx& tx, const RowSelection& selection, int limit, std::int64_t after) {
  const TableSpec* t = spec_of(selection.table);
  if (t == nullptr) return fail(Errc::internal, "not a table of personal data: " + selection.table);
  if (limit < 1) return fail(Errc::internal, "delete_rows: limit < 1");
  auto keys = select_keys(tx, selection, *t, limit, after);
  if (!keys) return std::unexpected(keys.error());
  Batch b;
  const std::string name(t->name);
  if (keys->ids.empty()) {  // nothing to do: write nothing (not even an empty table's root page)
    b.counts[name] = 0;
    b.cursor = after;
    return b;
  }
  for (const auto& c : kChildren) {
    if (c.parent != name) continue;
    std::int64_t n = 0;
    auto st = run_for_each(tx, "DELETE FROM " + std::string(c.table) + " WHERE " + std::string(c.foreign_key) + " = ?1", keys->ids, &n);
    if (!st) return std::unexpected(st.error());
    b.counts[std::string(c.table)] = n;
  }
  const std::string key = bare_key(*t);
  if (name == "consent_records") {
    // The one deletion the append-only triggers allow: records named in the permits (migration 7).
    if (auto st = run_for_each(tx, "INSERT INTO consent_deletion_permits (record_id) VALUES (?1)", keys->ids, nullptr); !st) {
      return std::unexpected(st.error());
    }
  }
  std::int64_t n = 0;
  if (auto st = run_for_each(tx, "DELETE FROM " + name + " WHERE " + key + " = ?1", keys->ids, &n); !st) {
    return std::unexpected(st.error());
  }
  if (name == "consent_records") {
    if (auto st = exec(tx, "DELETE FROM consent_deletion_permits"); !st) return std::unexpected(st.error());
  }
  b.counts[name] = n;
  b.cursor = keys->ids.empty() ? after : keys->ids.back();
  b.more = static_cast<int>(keys->ids.size()) == limit;
  return b;
}

Result<Batch> clear_columns(Tx& tx, const RowSelection& selection, const std::vector<std::string>& columns, int limit,
                            std::int64_t after) {
  const TableSpec* t = spec_of(selection.table);
  if (t == nullptr) return fail(Errc::internal, "not a table of personal data: " + selection.table);
  if (t->key.empty() || columns.empty() || limit < 1) return fail(Errc::internal, "clear_columns: nothing to clear");
  std::string set;
  for (const auto& c : columns) {
    if (!plain_name(c)) return fail(Errc::internal, "not a column name: " + c);
    set += (set.empty() ? "" : ", ") + c + " = NULL";
  }
  auto keys = select_keys(tx, selection, *t, limit, after);
  if (!keys) return std::unexpected(keys.error());
  Batch b;
  std::int64_t n = 0;
  const std::string name(t->name);
  if (auto st = run_for_each(tx, "UPDATE " + name + " SET " + set + " WHERE " + bare_key(*t) + " = ?1", keys->ids, &n); !st) {
    return std::unexpected(st.error());
  }
  b.counts[name] = n;
  b.cursor = keys->ids.empty() ? after : keys->ids.back();
  b.more = static_cast<int>(keys->ids.size()) == limit;
  return b;
}

Result<std::vector<CustomerRef>> select_customers(Tx& tx, const RowSelection& selection, std::int64_t after_id, int limit) {
  const TableSpec* t = spec_of("customers");
  if (selection.table != "customers") return fail(Errc::internal, "select_customers: not the customers table");
  auto where = where_sql(selection, *t);
  if (!where) return std::unexpected(where.error());
  Stmt s(tx.handle(), "SELECT id, subject_id FROM customers WHERE id > " + std::to_string(after_id) + " AND " + *where +
                          " ORDER BY id LIMIT " + std::to_string(limit));
  if (!s.valid()) return std::unexpected(s.prepare_error());
  std::vector<CustomerRef> out;
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back({s.int64(0), s.text(1)});
  }
  return out;
}

Status simulate(Tx& tx, const std::function<Status()>& fn) {
  if (sqlite3_get_autocommit(tx.handle()) == 0) return fail(Errc::internal, "simulate: a transaction is already open");
  // IMMEDIATE: take the write lock up front, as a real run would, rather than fail half-way.
  if (auto st = exec(tx, "BEGIN IMMEDIATE"); !st) return st;
  Status result = fn();
  auto rolled = exec(tx, "ROLLBACK");
  if (tx.connection() != nullptr) ++tx.connection()->rollbacks;
  if (!rolled && result) return rolled;
  return result;
}

}  // namespace comptoir::storage

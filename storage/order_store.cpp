#include "storage/order_store.h"

#include <cstdio>

#include "storage/sqlite.h"

namespace comptoir::storage {

std::string format_order_number(std::int64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "C-%06lld", static_cast<long long>(id));
  return buf;
}

namespace {

constexpr const char* kColumns =
    "id, number, customer_id, status, fulfilment, currency, language, items_total, delivery_fee, total, vat_total,"
    " recipient_name_sealed, delivery_address_sealed, created_at, updated_at";

OrderRecord read_row(const Stmt& s) {
  OrderRecord o;
  o.id = s.int64(0);
  o.number = s.text(1);
  if (!s.is_null(2)) o.customer_id = s.int64(2);
  o.status = s.text(3);
  o.fulfilment = s.text(4);
  o.currency = s.text(5);
  o.language = s.text(6);
  o.items_total = s.int64(7);
  o.delivery_fee = s.int64(8);
  o.total = s.int64(9);
  o.vat_total = s.int64(10);
  if (!s.is_null(11)) o.recipient_name_sealed = s.blob(11);
  if (!s.is_null(12)) o.delivery_address_sealed = s.blob(12);
  o.created_at = s.int64(13);
  o.updated_at = s.int64(14);
  return o;
}

Status load_details(Tx& tx, OrderRecord& o) {
  Stmt l(tx, "SELECT sku, name, unit_price, quantity, vat_rate, line_total FROM order_lines WHERE order_id = ? ORDER BY line_no");
  l.bind(1, o.id);
  for (;;) {
    auto row = l.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    o.lines.push_back({l.text(0), l.text(1), l.int64(2), l.int64(3), static_cast<int>(l.int64(4)), l.int64(5)});
  }
  Stmt v(tx, "SELECT vat_rate, net, vat, gross FROM order_vat WHERE order_id = ? ORDER BY vat_rate");
  v.bind(1, o.id);
  for (;;) {
    auto row = v.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    o.vat.push_back({static_cast<int>(v.int64(0)), v.int64(1), v.int64(2), v.int64(3)});
  }
  return ok();
}

void bind_optional_blob(Stmt& s, int index, const std::vector<std::uint8_t>& b) {
  if (b.empty()) s.bind_null(index);
  else s.bind_blob(index, b);
}

}  // namespace

Result<OrderRecord> OrderStore::insert(Tx& tx, OrderRecord o) {
  // The number is derived from the id: take the id AUTOINCREMENT would give (never one used
  // before, even by a deleted order) and insert the order with its number at once.
  Stmt next(tx,
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'orders'), 0),"
            " coalesce((SELECT max(id) FROM orders), 0)) + 1");
  auto row = next.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(Errc::internal, "cannot read the next order id");
  o.id = next.int64(0);
  o.number = format_order_number(o.id);
  Stmt s(tx, "INSERT INTO orders (id, number, customer_id, status, fulfilment, currency, language, items_total,"
             " delivery_fee, total, vat_total, recipient_name_sealed, delivery_address_sealed, created_at, updated_at)"
             " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  s.bind(1, o.id).bind(2, o.number).bind(3, o.customer_id).bind(4, o.status).bind(5, o.fulfilment).bind(6, o.currency)
      .bind(7, o.language).bind(8, o.items_total).bind(9, o.delivery_fee).bind(10, o.total).bind(11, o.vat_total);
  bind_optional_blob(s, 12, o.recipient_name_sealed);
  bind_optional_blob(s, 13, o.delivery_address_sealed);
  s.bind(14, o.created_at).bind(15, o.updated_at);
  if (auto st = s.run(); !st) return std::unexpected(st.error());
  int line_no = 0;
  for (const auto& l : o.lines) {
    Stmt ls(tx, "INSERT INTO order_lines (order_id, line_no, sku, name, unit_price, quantity, vat_rate, line_total)"
                " VALUES (?,?,?,?,?,?,?,?)");
    ls.bind(1, o.id).bind(2, std::int64_t{++line_no}).bind(3, l.sku).bind(4, l.name).bind(5, l.unit_price)
        .bind(6, l.quantity).bind(7, std::int64_t{l.vat_rate}).bind(8, l.line_total);
    if (auto st = ls.run(); !st) return std::unexpected(st.error());
  }
  for (const auto& v : o.vat) {
    Stmt vs(tx, "INSERT INTO order_vat (order_id, vat_rate, net, vat, gross) VALUES (?,?,?,?,?)");
    vs.bind(1, o.id).bind(2, std::int64_t{v.vat_rate}).bind(3, v.net).bind(4, v.vat).bind(5, v.gross);
    if (auto st = vs.run(); !st) return std::unexpected(st.error());
  }
  return o;
}

Result<std::optional<OrderRecord>> OrderStore::by_number(Tx& tx, const std::string& number) {
  Stmt s(tx, std::string("SELECT ") + kColumns + " FROM orders WHERE number = ?");
  s.bind(1, number);
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<OrderRecord>();
  OrderRecord o = read_row(s);
  if (auto st = load_details(tx, o); !st) return std::unexpected(st.error());
  return std::optional<OrderRecord>(std::move(o));
}

Result<std::optional<OrderRecord>> OrderStore::by_number(const std::string& number) {
  Result<std::optional<OrderRecord>> out;
  auto st = db_.read([&](Tx& tx) -> Status {
    out = by_number(tx, number);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Result<std::vector<OrderRecord>> OrderStore::list(Tx& tx, const OrderQuery& q) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM orders WHERE 1=1";
  if (q.status) sql += " AND status = :status";
  if (q.created_from) sql += " AND created_at >= :from";
  if (q.created_until) sql += " AND created_at < :until";
  if (q.customer_id) sql += " AND customer_id = :customer";
  if (q.before_id) sql += " AND id < :before";
  sql += " ORDER BY id DESC LIMIT :limit";
  Stmt s(tx, sql);
  if (!s.valid()) return std::unexpected(s.prepare_error());
  if (q.status) s.bind(s.index_of(":status"), *q.status);
  if (q.created_from) s.bind(s.index_of(":from"), *q.created_from);
  if (q.created_until) s.bind(s.index_of(":until"), *q.created_until);
  if (q.customer_id) s.bind(s.index_of(":customer"), *q.customer_id);
  if (q.before_id) s.bind(s.index_of(":before"), *q.before_id);
  s.bind(s.index_of(":limit"), std::int64_t{q.limit});
  std::vector<OrderRecord> out;
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read_row(s));
  }
  for (auto& o : out) {
    if (auto st = load_details(tx, o); !st) return std::unexpected(st.error());
  }
  return out;
}

Result<std::vector<OrderRecord>> OrderStore::list(const OrderQuery& q) {
  Result<std::vector<OrderRecord>> out;
  auto st = db_.read([&](Tx& tx) -> Status {
    out = list(tx, q);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Status OrderStore::set_status(Tx& tx, std::int64_t id, const std::string& status, std::int64_t at) {
  Stmt s(tx, "UPDATE OR FAIL orders SET status = ?, updated_at = ? WHERE id = ?");
  s.bind(1, status).bind(2, at).bind(3, id);
  return s.run();
}

Status OrderStore::set_delivery(Tx& tx, std::int64_t id, const std::vector<std::uint8_t>& name_sealed,
                                const std::vector<std::uint8_t>& address_sealed, std::int64_t at) {
  Stmt s(tx, "UPDATE OR FAIL orders SET recipient_name_sealed = ?, delivery_address_sealed = ?, updated_at = ? WHERE id = ?");
  bind_optional_blob(s, 1, name_sealed);
  bind_optional_blob(s, 2, address_sealed);
  s.bind(3, at).bind(4, id);
  return s.run();
}

}  // namespace comptoir::storage

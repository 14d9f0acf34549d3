#include "storage/consent_store.h"

#include "storage/sqlite.h"

namespace comptoir::storage {

namespace {

constexpr const char* kColumns =
    "id, customer_id, kind, notice_version, language, channel, order_number, created_at";

ConsentRecord read_row(const Stmt& s) {
  ConsentRecord r;
  r.id = s.int64(0);
  if (!s.is_null(1)) r.customer_id = s.int64(1);
  r.kind = s.text(2);
  r.notice_version = s.text(3);
  r.language = s.text(4);
  r.channel = s.text(5);
  r.order_number = s.is_null(6) ? std::string() : s.text(6);
  r.created_at = s.int64(7);
  return r;
}

}  // namespace

Result<std::int64_t> ConsentStore::append(Tx& tx, const ConsentRecord& r) {
  Stmt s(tx,
         "INSERT INTO consent_records (customer_id, kind, notice_version, language, channel, order_number, created_at)"
         " VALUES (?,?,?,?,?,?,?)");
  s.bind(1, r.customer_id).bind(2, r.kind).bind(3, r.notice_version).bind(4, r.language).bind(5, r.channel);
  if (r.order_number.empty()) s.bind_null(6);
  else s.bind(6, r.order_number);
  s.bind(7, r.created_at);
  if (auto st = s.run(); !st) return std::unexpected(st.error());
  return sqlite3_last_insert_rowid(tx.handle());
}

Result<std::vector<ConsentRecord>> ConsentStore::for_customer(Tx& tx, std::int64_t customer_id) {
  std::vector<ConsentRecord> out;
  Stmt s(tx, std::string("SELECT ") + kColumns + " FROM consent_records WHERE customer_id = ? ORDER BY id");
  s.bind(1, customer_id);
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read_row(s));
  }
  return out;
}

Result<std::vector<ConsentRecord>> ConsentStore::for_customer(std::int64_t customer_id) {
  Result<std::vector<ConsentRecord>> out;
  auto st = db_.read([&](Tx& tx) -> Status {
    out = for_customer(tx, customer_id);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Result<std::optional<ConsentRecord>> ConsentStore::latest_marketing(Tx& tx, std::int64_t customer_id) {
  Stmt s(tx, std::string("SELECT ") + kColumns +
                          " FROM consent_records WHERE customer_id = ?"
                          " AND kind IN ('marketing_given', 'marketing_withdrawn') ORDER BY id DESC LIMIT 1");
  s.bind(1, customer_id);
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<ConsentRecord>();
  return std::optional<ConsentRecord>(read_row(s));
}

Result<std::vector<std::int64_t>> ConsentStore::marketing_audience(Tx& tx) {
  std::vector<std::int64_t> out;
  Stmt s(tx,
         "SELECT r.customer_id FROM consent_records r"
         " JOIN (SELECT customer_id, MAX(id) AS last_id FROM consent_records"
         "       WHERE kind IN ('marketing_given', 'marketing_withdrawn') AND customer_id IS NOT NULL"
         "       GROUP BY customer_id) latest ON r.id = latest.last_id"
         " WHERE r.kind = 'marketing_given'"
         "   AND r.customer_id NOT IN (SELECT customer_id FROM processing_restrictions)"  // Art. 18
         " ORDER BY r.customer_id");
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(s.int64(0));
  }
  return out;
}

}  // namespace comptoir::storage

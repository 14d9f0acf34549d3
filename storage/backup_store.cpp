#include "storage/backup_store.h"

#include "storage/sqlite.h"

namespace comptoir::storage {

namespace {

Result<std::vector<Tombstone>> read_tombstones(Stmt& s) {
  std::vector<Tombstone> out;
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    out.push_back({s.text(0), s.int64(1)});
  }
}

Result<std::int64_t> count_of(Tx& tx, const char* sql) {
  Stmt s(tx, sql);
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  return *row ? s.int64(0) : 0;
}

}  // namespace

Result<std::vector<Tombstone>> list_tombstones(Tx& tx) {
  Stmt s(tx, "SELECT subject_id, shredded_at FROM shredded_subjects ORDER BY shredded_at, subject_id");
  return read_tombstones(s);
}

Result<std::vector<Tombstone>> tombstones_since(Tx& tx, std::int64_t since) {
  Stmt s(tx, "SELECT subject_id, shredded_at FROM shredded_subjects WHERE shredded_at >= ? ORDER BY shredded_at, subject_id");
  s.bind(1, since);
  return read_tombstones(s);
}

Result<BackupCounts> backup_counts(Tx& tx) {
  BackupCounts c;
  struct Item {
    std::int64_t* to;
    const char* sql;
  };
  for (const Item& i : {Item{&c.customers, "SELECT count(*) FROM customers"}, Item{&c.orders, "SELECT count(*) FROM orders"},
                        Item{&c.subject_keys, "SELECT count(*) FROM subject_keys"},
                        Item{&c.tombstones, "SELECT count(*) FROM shredded_subjects"}}) {
    auto n = count_of(tx, i.sql);
    if (!n) return std::unexpected(n.error());
    *i.to = *n;
  }
  return c;
}

Result<std::optional<std::int64_t>> customer_of_subject(Tx& tx, const std::string& subject_id) {
  Stmt s(tx, "SELECT id FROM customers WHERE subject_id = ?");
  s.bind(1, subject_id);
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(s.int64(0));
}

}  // namespace comptoir::storage

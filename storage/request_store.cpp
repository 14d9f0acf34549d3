#include "storage/request_store.h"

#include "storage/sqlite.h"

namespace comptoir::storage {

namespace {

constexpr const char* kColumns =
    "id, type, channel, origin, customer_id, actor, received_at, due_at, extended_until, extension_reason, "
    "verified_at, completed_at, outcome, code_hash, code_expires_at, attempts, locked_at, changes_sealed, receipt, "
    "export_expires_at, export_used_at, lifted_at";

std::optional<std::int64_t> opt_int(const Stmt& s, int col) {
  if (s.is_null(col)) return std::nullopt;
  return s.int64(col);
}

RequestRecord read_row(const Stmt& s) {
  RequestRecord r;
  r.id = s.text(0);
  r.type = s.text(1);
  r.channel = s.text(2);
  r.origin = s.text(3);
  r.customer_id = opt_int(s, 4);
  r.actor = s.text(5);
  r.received_at = s.int64(6);
  r.due_at = s.int64(7);
  r.extended_until = opt_int(s, 8);
  r.extension_reason = s.is_null(9) ? std::string() : s.text(9);
  r.verified_at = opt_int(s, 10);
  r.completed_at = opt_int(s, 11);
  r.outcome = s.is_null(12) ? std::string() : s.text(12);
  if (!s.is_null(13)) r.code_hash = s.blob(13);
  r.code_expires_at = opt_int(s, 14);
  r.attempts = s.int64(15);
  r.locked_at = opt_int(s, 16);
  if (!s.is_null(17)) r.changes_sealed = s.blob(17);
  r.receipt = s.is_null(18) ? std::string() : s.text(18);
  r.export_expires_at = opt_int(s, 19);
  r.export_used_at = opt_int(s, 20);
  r.lifted_at = opt_int(s, 21);
  return r;
}

Result<std::optional<RequestRecord>> one(Stmt& s) {
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<RequestRecord>();
  return std::optional<RequestRecord>(read_row(s));
}

// A statement that must change exactly one row.
Status change_one(Tx& tx, Stmt& s, const char* what) {
  if (auto st = s.run(); !st) return st;
  if (sqlite3_changes(tx.handle()) != 1) return fail(Errc::not_found, std::string(what) + ": no such request");
  return ok();
}

}  // namespace

Status RequestStore::insert(Tx& tx, const RequestRecord& r) {
  Stmt s(tx, "INSERT INTO privacy_requests (id, type, channel, origin, customer_id, actor, received_at, due_at,"
             " verified_at, code_hash, code_expires_at, changes_sealed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  s.bind(1, r.id).bind(2, r.type).bind(3, r.channel).bind(4, r.origin).bind(5, r.customer_id).bind(6, r.actor);
  s.bind(7, r.received_at).bind(8, r.due_at).bind(9, r.verified_at);
  if (r.code_hash.empty()) s.bind_null(10);
  else s.bind_blob(10, r.code_hash);
  s.bind(11, r.code_expires_at);
  if (r.changes_sealed.empty()) s.bind_null(12);
  else s.bind_blob(12, r.changes_sealed);
  return s.run();
}

Result<std::optional<RequestRecord>> RequestStore::by_id(Tx& tx, const std::string& id) {
  Stmt s(tx, std::string("SELECT ") + kColumns + " FROM privacy_requests WHERE id = ?");
  s.bind(1, id);
  return one(s);
}

Result<std::optional<RequestRecord>> RequestStore::by_export_hash(Tx& tx, std::span<const std::uint8_t> hash) {
  Stmt s(tx, std::string("SELECT ") + kColumns + " FROM privacy_requests WHERE export_hash = ?");
  s.bind_blob(1, hash);
  return one(s);
}

Result<std::vector<RequestRecord>> RequestStore::list(Tx& tx, int limit) {
  Stmt s(tx, std::string("SELECT ") + kColumns + " FROM privacy_requests ORDER BY received_at DESC, rowid DESC LIMIT ?");
  s.bind(1, static_cast<std::int64_t>(limit));
  std::vector<RequestRecord> out;
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read_row(s));
  }
  return out;
}

Status RequestStore::record_failed_attempt(Tx& tx, const std::string& id, std::optional<std::int64_t> lock_at) {
  Stmt s(tx, "UPDATE OR FAIL privacy_requests SET attempts = attempts + 1, locked_at = COALESCE(locked_at, ?2),"
             " code_hash = CASE WHEN ?2 IS NULL THEN code_hash ELSE NULL END WHERE id = ?1");
  s.bind(1, id).bind(2, lock_at);
  return change_one(tx, s, "record_failed_attempt");
}

Status RequestStore::mark_verified(Tx& tx, const std::string& id, std::int64_t at) {
  Stmt s(tx, "UPDATE OR FAIL privacy_requests SET verified_at = ?2, code_hash = NULL WHERE id = ?1");
  s.bind(1, id).bind(2, at);
  return change_one(tx, s, "mark_verified");
}

Status RequestStore::complete(Tx& tx, const std::string& id, std::int64_t at, const std::string& outcome,
                              const std::string& receipt) {
  Stmt s(tx, "UPDATE OR FAIL privacy_requests SET completed_at = ?2, outcome = ?3, receipt = ?4 WHERE id = ?1");
  s.bind(1, id).bind(2, at).bind(3, outcome);
  if (receipt.empty()) s.bind_null(4);
  else s.bind(4, receipt);
  return change_one(tx, s, "complete");
}

Status RequestStore::clear_changes(Tx& tx, const std::string& id) {
  Stmt s(tx, "UPDATE OR FAIL privacy_requests SET changes_sealed = NULL WHERE id = ?1");
  s.bind(1, id);
  return change_one(tx, s, "clear_changes");
}

Status RequestStore::set_export(Tx& tx, const std::string& id, std::span<const std::uint8_t> hash, std::int64_t expires_at) {
  Stmt s(tx, "UPDATE OR FAIL privacy_requests SET export_hash = ?2, export_expires_at = ?3 WHERE id = ?1");
  s.bind(1, id).bind_blob(2, hash).bind(3, expires_at);
  return change_one(tx, s, "set_export");
}

Result<bool> RequestStore::use_export(Tx& tx, const std::string& id, std::int64_t at) {
  Stmt s(tx, "UPDATE OR FAIL privacy_requests SET export_used_at = ?2 WHERE id = ?1 AND export_used_at IS NULL");
  s.bind(1, id).bind(2, at);
  if (auto st = s.run(); !st) return std::unexpected(st.error());
  return sqlite3_changes(tx.handle()) == 1;
}

Status RequestStore::extend(Tx& tx, const std::string& id, std::int64_t until, const std::string& reason) {
  Stmt s(tx, "UPDATE OR FAIL privacy_requests SET extended_until = ?2, extension_reason = ?3 WHERE id = ?1");
  s.bind(1, id).bind(2, until).bind(3, reason);
  return change_one(tx, s, "extend");
}

Status RequestStore::set_lifted(Tx& tx, const std::string& id, std::int64_t at) {
  Stmt s(tx, "UPDATE OR FAIL privacy_requests SET lifted_at = ?2 WHERE id = ?1");
  s.bind(1, id).bind(2, at);
  return change_one(tx, s, "set_lifted");
}

Status RequestStore::restrict(Tx& tx, std::int64_t customer_id, const std::string& request_id, std::int64_t since) {
  // A customer restricted twice keeps the first restriction.
  Stmt s(tx, "INSERT OR IGNORE INTO processing_restrictions (customer_id, request_id, since) VALUES (?,?,?)");
  s.bind(1, customer_id).bind(2, request_id).bind(3, since);
  return s.run();
}

Result<bool> RequestStore::lift(Tx& tx, std::int64_t customer_id) {
  Stmt s(tx, "DELETE FROM processing_restrictions WHERE customer_id = ?");
  s.bind(1, customer_id);
  if (auto st = s.run(); !st) return std::unexpected(st.error());
  return sqlite3_changes(tx.handle()) > 0;
}

Result<bool> RequestStore::restricted(Tx& tx, std::int64_t customer_id) {
  Stmt s(tx, "SELECT 1 FROM processing_restrictions WHERE customer_id = ?");
  s.bind(1, customer_id);
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  return *row;
}

}  // namespace comptoir::storage

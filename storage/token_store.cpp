#include "storage/token_store.h"

#include "storage/sqlite.h"

namespace comptoir::storage {

namespace {

constexpr const char* kColumns =
    "id, token_hash, role, label, created_at, last_used_at, revoked_at";

TokenRecord read_row(const Stmt& s) {
  TokenRecord r;
  r.id = s.text(0);
  r.hash = s.blob(1);
  r.role = s.text(2);
  r.label = s.text(3);
  r.created_at = s.int64(4);
  if (!s.is_null(5)) r.last_used_at = s.int64(5);
  if (!s.is_null(6)) r.revoked_at = s.int64(6);
  return r;
}

}  // namespace

Status TokenStore::insert(const TokenRecord& r) {
  return db_.transaction([&](sqlite3* db) -> Status {
    Stmt s(db, "INSERT INTO api_tokens (id, token_hash, role, label, created_at) VALUES (?,?,?,?,?)");
    s.bind(1, r.id).bind_blob(2, r.hash).bind(3, r.role).bind(4, r.label).bind(5, r.created_at);
    return s.run();
  });
}

Status TokenStore::insert(Tx& tx, const TokenRecord& r) {
  Stmt s(tx, "INSERT INTO api_tokens (id, token_hash, role, label, created_at) VALUES (?,?,?,?,?)");
  s.bind(1, r.id).bind_blob(2, r.hash).bind(3, r.role).bind(4, r.label).bind(5, r.created_at);
  return s.run();
}

Result<bool> TokenStore::revoke(Tx& tx, const std::string& id, std::int64_t at) {
  Stmt s(tx, "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
  s.bind(1, at).bind(2, id);
  if (auto r = s.run(); !r) return std::unexpected(r.error());
  return sqlite3_changes(tx.handle()) > 0;
}

Result<std::optional<TokenRecord>> TokenStore::find_by_hash(std::span<const std::uint8_t> hash) {
  return db_.run([&](sqlite3* db) -> Result<std::optional<TokenRecord>> {
    Stmt s(db, std::string("SELECT ") + kColumns + " FROM api_tokens WHERE token_hash = ?");
    s.bind_blob(1, hash);
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<TokenRecord>();
    return std::optional<TokenRecord>(read_row(s));
  });
}

Result<std::vector<TokenRecord>> TokenStore::list() {
  return db_.run([&](sqlite3* db) -> Result<std::vector<TokenRecord>> {
    Stmt s(db, std::string("SELECT ") + kColumns + " FROM api_tokens ORDER BY created_at, id");
    std::vector<TokenRecord> out;
    for (;;) {
      auto row = s.step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      out.push_back(read_row(s));
    }
    return out;
  });
}

Result<bool> TokenStore::revoke(const std::string& id, std::int64_t at) {
  bool changed = false;
  auto st = db_.transaction([&](sqlite3* db) -> Status {
    Stmt s(db, "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
    s.bind(1, at).bind(2, id);
    if (auto r = s.run(); !r) return r;
    changed = sqlite3_changes(db) > 0;
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return changed;
}

Status TokenStore::touch(const std::string& id, std::int64_t at) {
  return db_.transaction([&](sqlite3* db) -> Status {
    Stmt s(db, "UPDATE api_tokens SET last_used_at = ? WHERE id = ?");
    s.bind(1, at).bind(2, id);
    return s.run();
  });
}

}  // namespace comptoir::storage

#include "storage/sqlite.h"

namespace comptoir::storage {

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xff;
  Errc code = Errc::internal;
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: code = Errc::unavailable; break;
    case SQLITE_CONSTRAINT: code = Errc::conflict; break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: code = Errc::corrupt; break;
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM: code = Errc::io; break;
    default: break;
  }
  std::string msg(what);
  msg += ": ";
  msg += (db != nullptr) ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (sqlite " + std::to_string(rc) + ")";
  return Error{code, std::move(msg), {}};
}

Status exec(sqlite3* db, std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, s.c_str(), nullptr, nullptr, &err);
  if (err != nullptr) sqlite3_free(err);
  if (rc != SQLITE_OK) return std::unexpected(sqlite_error(db, rc, "exec"));
  return ok();
}

Status exec(Tx& tx, std::string_view sql) {
  Stmt s(tx, sql);
  return s.run();
}

// --------------------------------------------------------------------------- StatementCache

sqlite3_stmt* StatementCache::acquire(std::string_view sql, Slot*& slot, int& rc) {
  rc = SQLITE_OK;
  auto it = slots_.find(sql);
  if (it == slots_.end() && slots_.size() < kMaxTexts) it = slots_.emplace(std::string(sql), Slot{}).first;
  slot = it == slots_.end() ? nullptr : &it->second;
  if (slot != nullptr && !slot->idle.empty()) {
    sqlite3_stmt* s = slot->idle.back();
    slot->idle.pop_back();
    ++in_use_;
    return s;
  }
  sqlite3_stmt* s = nullptr;
  ++compiled_;
  rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(s);
    return nullptr;
  }
  if (s == nullptr) {  // only whitespace or a comment: nothing to run
    rc = SQLITE_MISUSE;
    return nullptr;
  }
  ++in_use_;
  return s;
}

void StatementCache::release(sqlite3_stmt* stmt, Slot* slot) {
  if (stmt == nullptr) return;
  --in_use_;
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  if (slot != nullptr && slot->idle.size() < kMaxIdlePerText) {
    slot->idle.push_back(stmt);
  } else {
    sqlite3_finalize(stmt);
  }
}

void StatementCache::clear() {
  for (auto& [sql, slot] : slots_) {
    for (sqlite3_stmt* s : slot.idle) sqlite3_finalize(s);
  }
  slots_.clear();
}

std::size_t StatementCache::idle() const {
  std::size_t n = 0;
  for (const auto& [sql, slot] : slots_) n += slot.idle.size();
  return n;
}

// ------------------------------------------------------------------------------------ Stmt

Stmt::Stmt(sqlite3* db, std::string_view sql) : db_(db) { prepare(sql); }

Stmt::Stmt(Tx& tx, std::string_view sql)
    : db_(tx.handle()), cache_(tx.connection() != nullptr ? &tx.connection()->statements : nullptr) {
  if (cache_ == nullptr) {
    prepare(sql);
    return;
  }
  int rc = SQLITE_OK;
  stmt_ = cache_->acquire(sql, slot_, rc);
  if (stmt_ == nullptr) {
    cache_ = nullptr;
    prepare_error_ = sqlite_error(db_, rc, "prepare");
  }
}

void Stmt::prepare(std::string_view sql) {
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK || stmt_ == nullptr) {
    prepare_error_ = sqlite_error(db_, rc == SQLITE_OK ? SQLITE_MISUSE : rc, "prepare");
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
  }
}

Stmt::~Stmt() {
  if (cache_ != nullptr) {
    cache_->release(stmt_, slot_);
  } else {
    sqlite3_finalize(stmt_);
  }
}

Stmt& Stmt::bind(int index, std::int64_t value) {
  if (stmt_ && bind_rc_ == SQLITE_OK) bind_rc_ = sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Stmt& Stmt::bind(int index, std::string_view text) {
  if (stmt_ && bind_rc_ == SQLITE_OK) {
    bind_rc_ = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  return *this;
}

Stmt& Stmt::bind_blob(int index, std::span<const std::uint8_t> bytes) {
  if (stmt_ && bind_rc_ == SQLITE_OK) {
    static const std::uint8_t kEmpty = 0;
    bind_rc_ = sqlite3_bind_blob64(stmt_, index, bytes.empty() ? &kEmpty : bytes.data(), bytes.size(),
                                   SQLITE_TRANSIENT);
  }
  return *this;
}

Stmt& Stmt::bind_null(int index) {
  if (stmt_ && bind_rc_ == SQLITE_OK) bind_rc_ = sqlite3_bind_null(stmt_, index);
  return *this;
}

Stmt& Stmt::bind(int index, const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

Result<bool> Stmt::step() {
  if (!stmt_) return std::unexpected(prepare_error_);
  if (bind_rc_ != SQLITE_OK) return std::unexpected(sqlite_error(db_, bind_rc_, "bind"));
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return std::unexpected(sqlite_error(db_, rc, "step"));
}

Status Stmt::run() {
  for (;;) {
    auto r = step();
    if (!r) return std::unexpected(r.error());
    if (!*r) return ok();
  }
}

void Stmt::reset() {
  if (stmt_) sqlite3_reset(stmt_);
  bind_rc_ = SQLITE_OK;
}

std::int64_t Stmt::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Stmt::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  const int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

std::vector<std::uint8_t> Stmt::blob(int col) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, col));
  const int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::vector<std::uint8_t>(p, p + n) : std::vector<std::uint8_t>();
}

bool Stmt::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

}  // namespace comptoir::storage

// Internal to storage/: a thin RAII layer over the SQLite C API (SQLCipher build).
// Nothing outside storage/ includes this header. A Connection is used by one thread at a time
// (Database serializes access).
#pragma once

#include <sqlcipher/sqlite3.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/error.h"

namespace comptoir::storage {

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool valid() const { return stmt_ != nullptr; }
  const Error& prepare_error() const { return prepare_error_; }

  // Index of a named parameter (":name"), 0 if absent.
  int index_of(const char* name) const { return stmt_ ? sqlite3_bind_parameter_index(stmt_, name) : 0; }

  Stmt& bind(int index, std::int64_t value);
  Stmt& bind(int index, std::string_view text);
  Stmt& bind_blob(int index, std::span<const std::uint8_t> bytes);
  Stmt& bind_null(int index);
  Stmt& bind(int index, const std::optional<std::int64_t>& value);

  // Returns true when a row is available, false when done; an error otherwise.
  Result<bool> step();
  // Runs to completion, ignoring rows.
  Status run();
  // Makes the statement ready to run again (bindings are kept until re-bound).
  void reset();

  std::int64_t int64(int col) const;
  std::string text(int col) const;
  std::vector<std::uint8_t> blob(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  Error prepare_error_;
  int bind_rc_ = SQLITE_OK;
};

// Runs one or more statements without results.
Status exec(sqlite3* db, std::string_view sql);
// Maps a SQLite result code to an Error with context (never includes bound values).
Error sqlite_error(sqlite3* db, int rc, std::string_view what);

}  // namespace comptoir::storage

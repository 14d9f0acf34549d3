// Internal to storage/: a thin RAII layer over the SQLite C API (SQLCipher build).
// Nothing outside storage/ includes this header (tests of storage itself excepted). A Connection
// is used by one thread at a time (Database serializes access).
#pragma once

#include <sqlcipher/sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::storage {

// The compiled statements of one connection, kept for reuse and keyed by their SQL text, so that
// a statement run on every message is compiled once rather than every time. Not synchronized:
// it belongs to one Database and is only used under that Database's connection mutex (inside
// Database::read/write, which hand out the Tx that reaches it).
//
// Statements are handed out by Stmt (below) and come back reset, with their bindings cleared
// (bound values can be personal data). Every statement, idle or not, must be finalized before
// the connection is closed: Database::close calls clear(), and no Stmt outlives the Tx it was
// made from. SQLite recompiles a cached statement by itself when the schema changes (sqlite3
// _prepare_v2 semantics), so migrations and other connections' schema changes are safe.
class StatementCache {
 public:
  explicit StatementCache(sqlite3* db) : db_(db) {}
  ~StatementCache() { clear(); }
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  struct Slot {  // the idle statements of one SQL text
    std::vector<sqlite3_stmt*> idle;
  };
  // An idle statement for `sql`, else a newly compiled one. On failure returns nullptr and the
  // SQLite result code in `rc`. `slot` receives where to give the statement back.
  sqlite3_stmt* acquire(std::string_view sql, Slot*& slot, int& rc);
  // Resets the statement, clears its bindings and keeps it (or finalizes it when full).
  void release(sqlite3_stmt* stmt, Slot* slot);
  // Finalizes every idle statement. Statements handed out and not yet released are not
  // touched (there must be none when the connection closes).
  void clear();

  std::size_t idle() const;                          // statements ready for reuse
  std::uint64_t compiled() const { return compiled_; }  // sqlite3_prepare_v2 calls so far
  std::size_t in_use() const { return in_use_; }

  // Bounds: distinct SQL texts kept, and idle statements kept per text (nested use of the same
  // text needs more than one).
  static constexpr std::size_t kMaxTexts = 512;
  static constexpr std::size_t kMaxIdlePerText = 4;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  sqlite3* db_;
  std::unordered_map<std::string, Slot, Hash, std::equal_to<>> slots_;
  std::uint64_t compiled_ = 0;
  std::size_t in_use_ = 0;
};

struct CatalogSnapshot;  // storage/catalog_store.cpp

// What a Database keeps about its connection between transactions. Used only under the
// connection mutex (through a Tx, or by Database itself).
struct ConnectionState {
  explicit ConnectionState(sqlite3* db) : statements(db) {}
  StatementCache statements;
  std::uint64_t tx_serial = 0;        // the last Tx::serial() handed out
  // Anything derived from the database's content and kept across transactions must be
  // dropped when either counter moves: `rollbacks` when changes were undone (ROLLBACK, ROLLBACK
  // TO), `catalog_changes` when the catalog was written (by CatalogStore, or by raw access
  // through Database::run/transaction, e.g. migrations).
  std::uint64_t rollbacks = 0;
  std::uint64_t catalog_changes = 0;
  std::shared_ptr<const CatalogSnapshot> catalog;
  std::uint64_t catalog_checked_in = 0;  // Tx serial in which `catalog` was last found current
};

class Stmt {
 public:
  // Compiled now, finalized on destruction (for connections without a cache: opening,
  // migrations, one-off statements).
  Stmt(sqlite3* db, std::string_view sql);
  // From the transaction's statement cache, given back (reset) on destruction. Falls back to
  // the form above when the Tx has no cache.
  Stmt(Tx& tx, std::string_view sql);
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
  // SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB or SQLITE_NULL.
  int type(int col) const { return stmt_ ? sqlite3_column_type(stmt_, col) : SQLITE_NULL; }
  double real(int col) const { return stmt_ ? sqlite3_column_double(stmt_, col) : 0.0; }
  int column_count() const { return stmt_ ? sqlite3_column_count(stmt_) : 0; }

 private:
  void prepare(std::string_view sql);
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  StatementCache* cache_ = nullptr;
  StatementCache::Slot* slot_ = nullptr;
  Error prepare_error_;
  int bind_rc_ = SQLITE_OK;
};

// Single-row UPDATEs on the hot path are written UPDATE OR FAIL. Inside a transaction, SQLite
// gives every UPDATE that may abort half-way (any NOT NULL or CHECK column) a statement journal:
// each page it changes is first copied to the sub-journal, and SQLCipher encrypts that copy.
// For a statement that changes one row, FAIL and the default ABORT are the same (the constraints
// are checked before the row is written, so there is nothing to undo), and FAIL needs no
// statement journal. Multi-row UPDATEs keep the default.

// Runs one or more statements without results.
Status exec(sqlite3* db, std::string_view sql);
// Runs one statement without results through the transaction's statement cache.
Status exec(Tx& tx, std::string_view sql);
// Maps a SQLite result code to an Error with context (never includes bound values).
Error sqlite_error(sqlite3* db, int rc, std::string_view what);

}  // namespace comptoir::storage

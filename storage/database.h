// Database: the one SQLCipher database of a Comptoir data dir, opened with a raw 256-bit key.
// Owns a single connection; every use goes through run()/transaction()/read(), which serialize
// callers with a mutex, or write(), whose callbacks run on the Database's writer thread; any
// thread may call them. Durability: the connection runs with synchronous = NORMAL and the
// Database syncs the WAL itself (a syncer thread for write(), inline for the others) before a
// change is acknowledged, so every acknowledged commit survives a power cut, as with FULL.
// Other processes (the CLI's `token` commands) may open the same file at the same time: WAL mode
// and a busy timeout make that safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "src/common/error.h"
#include "src/common/secret.h"

struct sqlite3;

namespace comptoir::storage {

struct OpenOptions {
  bool create = false;           // create a new database (the file must not exist)
  bool integrity_check = false;  // read every page once (PRAGMA quick_check) before use
  int busy_timeout_ms = 5000;
};

struct ConnectionState;

// An open transaction (or, for Database::read, exclusive use of the connection). Stores take a
// Tx& so that domain code can compose several changes into one atomic commit. Only storage/ code
// can reach the underlying handle and the connection's state (statement cache, catalog snapshot).
// A Tx lives for one run of a write's callback (or one read) and is only used by the thread
// running it, under the connection mutex. Layers above storage may keep state for the length of
// one Tx (the vault's unwrapped subject key) and register on_end() to drop it.
class Tx {
 public:
  explicit Tx(sqlite3* db, ConnectionState* connection = nullptr);
  ~Tx();
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;

  sqlite3* handle() const { return db_; }
  ConnectionState* connection() const { return connection_; }
  // Unique per Tx of one connection (0 without connection state).
  std::uint64_t serial() const { return serial_; }

  // Runs `fn` when this Tx ends (still under the connection mutex), once per `owner`: a further
  // registration by the same owner is ignored. Hooks run in reverse order of registration.
  void on_end(const void* owner, std::function<void()> fn);

 private:
  sqlite3* db_;
  ConnectionState* connection_;
  std::uint64_t serial_ = 0;
  std::vector<std::pair<const void*, std::function<void()>>> on_end_;
};

class Database {
 public:
  // Opens (or creates) `file` with `key` (32 bytes). Failures:
  //   Errc::wrong_key  "wrong key or not a Comptoir database: PATH" — nothing is written (one
  //                    exception: a WAL left by a crash may be folded into the file by SQLite's
  //                    own recovery, which copies its encrypted frames verbatim, as any open would);
  //   Errc::corrupt    the integrity check found damage — nothing is written;
  //   Errc::not_found  no such file and !create;  Errc::conflict  exists and create;
  //   Errc::io/internal otherwise.
  static Result<std::unique_ptr<Database>> open(const std::filesystem::path& file,
                                                const SecretBytes& key, const OpenOptions& options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Applies every pending migration, each in its own transaction. Refuses a database whose
  // schema is newer than this binary knows.
  Status migrate();
  int schema_version();
  int latest_schema_version() const;

  // Runs `fn` with exclusive use of the connection. What `fn` changes bypasses the stores, so
  // the catalog snapshot (see storage/catalog_store.h) is rebuilt afterwards.
  template <class F>
  auto run(F&& fn) {
    std::lock_guard lock(mutex_);
    RawScope scope(*this);
    return fn(db_);
  }
  // Runs `fn` inside BEGIN IMMEDIATE … COMMIT; rolls back if `fn` returns an error. As with
  // run(), the catalog snapshot is rebuilt afterwards.
  Status transaction(const std::function<Status(sqlite3*)>& fn);
  // The same for composed domain operations: every store call given this Tx joins the commit.
  // Group commit: a writer thread owned by the Database (started by the first write) runs `fn`
  // — on that thread, not the caller's — together with the other writes queued meanwhile, in
  // one transaction; each returns only after that transaction's durable COMMIT. Durability per
  // caller is the same as one transaction each; the fsync is shared.
  // A failing write (fn returns an error) is rolled back alone and the others commit: the batch
  // first runs without savepoints; if a write fails, the transaction is rolled back and the
  // batch's other writes run again, each inside its own SAVEPOINT. So `fn` may run more than
  // once (the last run is the one that counts): it must set every out-parameter and flag it
  // uses afresh on each run, and have no effects outside the transaction (no logging, no
  // counters, no notifications) before the write has returned.
  Status write(const std::function<Status(Tx&)>& fn);
  // Exclusive use of the connection without a transaction (consistent single statements).
  // Returns only once every commit whose changes it could have seen is durable.
  Status read(const std::function<Status(Tx&)>& fn);

  // Writes a consistent copy of the whole database to the new file `target` (mode 0600; it must
  // not exist: Errc::conflict), encrypted with `key` (32 bytes) and the same cipher settings:
  // the same schema, rows, user_version and application_id. Built with SQLCipher's
  // sqlcipher_export inside one transaction, then checked table by table (same row count, no
  // row of one missing from the other) and fsynced. Open it with Database::open(target, key).
  // On failure nothing is left at `target`. Used by the master key rotation (`comptoir rekey`).
  // CopyMode::exclusive holds the write lock for the whole copy (nothing can change meanwhile);
  // CopyMode::snapshot copies the snapshot of a read transaction, so other connections (a serving
  // `comptoir serve`) keep writing while the copy is made (WAL): used by `comptoir backup`.
  enum class CopyMode { exclusive, snapshot };
  Status export_copy(const std::filesystem::path& target, const SecretBytes& key, CopyMode mode = CopyMode::exclusive);

  // For tests and diagnostics: the statement cache's counters, and how many batches were
  // replayed with savepoints because a write failed. Waits for the connection.
  struct Stats {
    std::size_t statements_idle = 0;
    std::uint64_t statements_compiled = 0;
    std::uint64_t batch_replays = 0;
    std::uint64_t batches_committed = 0;  // group-commit batches
    std::uint64_t batches_durable = 0;    // … of which known to be on disk
    std::uint64_t wal_syncs = 0;          // fdatasyncs of the WAL by Comptoir
    bool sync_failed = false;
  };
  Stats stats();
  // Group-commit batches committed so far (never waits; may be called inside a read).
  std::uint64_t batches_committed() const { return committed_.load(); }
  // How many writes are queued behind the commit in progress (never waits for the connection).
  std::size_t writes_waiting();

  // True when a trivial query succeeds (readiness probe).
  bool ping();

  // Checkpoints the WAL and closes. Called by the destructor too.
  void close();
  const std::filesystem::path& path() const { return path_; }

 private:
  struct PendingWrite {
    const std::function<Status(Tx&)>* fn = nullptr;
    Status result = ok();
    std::mutex mutex;
    bool done = false;               // under mutex
    std::condition_variable cv;      // signalled when done
  };
  Database(sqlite3* db, std::filesystem::path path);
  // run(): the catalog snapshot is rebuilt afterwards, and what `fn` committed is synced.
  class RawScope {
   public:
    explicit RawScope(Database& db);
    ~RawScope();

   private:
    Database& db_;
    int changes_before_;
  };
  void writer_loop();
  void syncer_loop();
  void stop_writer();
  Status sync_wal();                        // fdatasync of the WAL file
  Status sync_now();                        // sync_wal, then every commit so far is durable
  void wait_durable(std::uint64_t commit);  // until commit number `commit` is durable
  void commit_batch(std::vector<PendingWrite*>& batch);
  void replay_with_savepoints(std::vector<PendingWrite*>& batch, const PendingWrite* failed);
  void rolled_back();  // under mutex_: state derived from the database may hold undone changes
  void raw_access();   // under mutex_: the database may have changed behind the stores' backs

  std::mutex mutex_;  // the connection
  sqlite3* db_;
  std::unique_ptr<ConnectionState> connection_;  // of db_; under mutex_
  std::uint64_t batch_replays_ = 0;             // under mutex_
  std::filesystem::path path_;

  std::mutex queue_mutex_;  // group commit: the queues and the writer's and syncer's state
  std::deque<PendingWrite*> queue_;       // waiting for the writer
  std::vector<PendingWrite*> unsynced_;   // committed, waiting for the syncer
  std::condition_variable writer_cv_, syncer_cv_, durable_cv_;
  bool writer_idle_ = false, syncer_idle_ = false;
  bool writer_stopping_ = false, syncer_stopping_ = false;
  bool sync_failed_ = false;              // an fdatasync failed: no further writes
  std::atomic<std::uint64_t> committed_{0};  // batches committed (counted under mutex_)
  std::uint64_t durable_ = 0;                // batches known to be on disk
  std::uint64_t wal_syncs_ = 0;
  std::thread writer_, syncer_;              // started by the first write

  std::mutex wal_fd_mutex_;
  int wal_fd_ = -1;
  std::string wal_path_;
};

// Runs `fn` inside a savepoint of the caller's transaction: if `fn` fails, its changes (and only
// those) are undone and its error returned.
Status savepoint(Tx& tx, const std::function<Status()>& fn);

struct LibraryVersions {
  std::string sqlcipher;
  std::string sqlite;
};
LibraryVersions library_versions();

// The application_id stamped into every Comptoir database ("CMPT").
inline constexpr int kApplicationId = 0x434d5054;

}  // namespace comptoir::storage

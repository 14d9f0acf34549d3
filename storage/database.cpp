#include "storage/database.h"

#include <pthread.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "src/common/encoding.h"
#include "src/common/log.h"
#include "storage/migrations.h"
#include "storage/sqlite.h"

namespace comptoir::storage {

namespace fs = std::filesystem;

namespace {

constexpr int kPageSize = 4096;

Result<std::string> single_text(sqlite3* db, std::string_view sql) {
  Stmt s(db, sql);
  auto r = s.step();
  if (!r) return std::unexpected(r.error());
  if (!*r) return std::string();
  return s.text(0);
}

Result<std::int64_t> single_int(sqlite3* db, std::string_view sql) {
  Stmt s(db, sql);
  auto r = s.step();
  if (!r) return std::unexpected(r.error());
  if (!*r) return std::int64_t{0};
  return s.int64(0);
}

int major_version(const std::string& v) {
  int major = 0;
  for (char c : v) {
    if (c < '0' || c > '9') break;
    major = major * 10 + (c - '0');
  }
  return major;
}

// Applies the key and the cipher settings. The settings are set explicitly so that a database
// made by SQLCipher 3.4 (Debian 12) opens unchanged under SQLCipher 4.x: SQLCipher 3 defaults
// (HMAC-SHA1 page MAC, PBKDF2 settings unused with a raw key) with a 4096-byte page.
// Raw key syntax: x'<64 hex digits>' (67 bytes, NUL-terminated) — SQLCipher uses it as the AES
// key, skipping its KDF.
SecretBytes raw_key_literal(const SecretBytes& key) {
  SecretBytes raw(3 + 64 + 1);
  static constexpr char kDigits[] = "0123456789abcdef";
  raw.data()[0] = 'x';
  raw.data()[1] = '\'';
  for (std::size_t i = 0; i < 32; ++i) {
    raw.data()[2 + 2 * i] = static_cast<std::uint8_t>(kDigits[key.data()[i] >> 4]);
    raw.data()[3 + 2 * i] = static_cast<std::uint8_t>(kDigits[key.data()[i] & 0x0f]);
  }
  raw.data()[66] = '\'';
  raw.data()[67] = 0;
  return raw;
}

Result<bool> is_sqlcipher4(sqlite3* db) {
  auto version = single_text(db, "PRAGMA cipher_version;");
  if (!version) return std::unexpected(version.error());
  if (version->empty()) return fail(Errc::internal, "the linked SQLite library is not SQLCipher");
  return major_version(*version) >= 4;
}

Status apply_key(sqlite3* db, const SecretBytes& key) {
  if (key.size() != 32) return fail(Errc::internal, "database key must be 32 bytes");
  const SecretBytes raw = raw_key_literal(key);
  const int rc = sqlite3_key_v2(db, "main", raw.data(), 67);
  if (rc != SQLITE_OK) return std::unexpected(sqlite_error(db, rc, "set key"));
  auto v4 = is_sqlcipher4(db);
  if (!v4) return std::unexpected(v4.error());
  if (*v4) {
    if (auto st = exec(db, "PRAGMA cipher_compatibility = 3;"); !st) return st;
  }
  return exec(db, "PRAGMA cipher_page_size = " + std::to_string(kPageSize) + ";");
}

// Creates `file` exclusively with mode 0600 (SQLite would create it 0644 minus the umask, and
// its -wal and -shm files copy the database file's mode).
Status create_private_file(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int err = errno;
    return fail(err == EEXIST ? Errc::conflict : Errc::io, "cannot create " + file.string() + ": " + std::strerror(err));
  }
  const bool chmod_ok = ::fchmod(fd, 0600) == 0;
  const int err = errno;
  ::close(fd);
  if (!chmod_ok) return fail(Errc::io, "chmod " + file.string() + ": " + std::strerror(err));
  return ok();
}

std::string quoted(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

}  // namespace

Result<std::unique_ptr<Database>> Database::open(const fs::path& file, const SecretBytes& key,
                                                 const OpenOptions& options) {
  std::error_code ec;
  const bool exists = fs::exists(file, ec);
  if (options.create && exists) return fail(Errc::conflict, "database already exists: " + file.string());
  if (!options.create && !exists) return fail(Errc::not_found, "no database at " + file.string());
  if (!options.create) {
    struct stat st{};
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return fail(Errc::wrong_key, "wrong key or not a Comptoir database: " + file.string() + " is not a regular file");
    }
  }

  if (options.create) {
    // Create the file ourselves with exact owner-only permissions.
    if (auto st = create_private_file(file); !st) return std::unexpected(st.error());
  }

  sqlite3* raw_db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (options.create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(file.c_str(), &raw_db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(raw_db, rc, "open " + file.string());
    sqlite3_close_v2(raw_db);
    return std::unexpected(e);
  }
  auto close_with = [&](Error e) -> Result<std::unique_ptr<Database>> {
    sqlite3_close_v2(raw_db);
    return std::unexpected(std::move(e));
  };
  sqlite3_extended_result_codes(raw_db, 1);
  sqlite3_busy_timeout(raw_db, options.busy_timeout_ms);
  if (auto st = apply_key(raw_db, key); !st) return close_with(st.error());

  // First read: fails when the key is wrong or the file is not a (SQLCipher) database. Nothing
  // has been written at this point, so the files are left exactly as they were.
  auto tables = single_int(raw_db, "SELECT count(*) FROM sqlite_master;");
  if (!tables) {
    return close_with(Error{Errc::wrong_key, "wrong key or not a Comptoir database: " + file.string(), {}});
  }
  auto app_id = single_int(raw_db, "PRAGMA application_id;");
  if (!app_id) return close_with(app_id.error());
  if (options.create) {
    const std::string setup = "PRAGMA application_id = " + std::to_string(kApplicationId) + ";";
    if (auto st = exec(raw_db, setup); !st) return close_with(st.error());
  } else if (*app_id != kApplicationId) {
    return close_with(Error{Errc::wrong_key,
                            "wrong key or not a Comptoir database: " + file.string() +
                                " is an encrypted database of another application", {}});
  }
  if (options.integrity_check) {
    auto check = single_text(raw_db, "PRAGMA quick_check;");
    if (!check) {
      return close_with(Error{Errc::corrupt, "database is corrupted: " + file.string() + ": " + check.error().message, {}});
    }
    if (*check != "ok") {
      return close_with(Error{Errc::corrupt, "database is corrupted: " + file.string() + ": integrity check failed", {}});
    }
  }
  // WAL is persistent; setting it again on an existing WAL database writes nothing.
  auto mode = single_text(raw_db, "PRAGMA journal_mode = WAL;");
  if (!mode) return close_with(mode.error());
  if (*mode != "wal") return close_with(Error{Errc::io, "cannot enable WAL mode on " + file.string(), {}});
  if (auto st = exec(raw_db,
                     "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
                     " PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 4000; PRAGMA cache_size = -32768;");
      !st) {
    return close_with(st.error());
  }
  return std::unique_ptr<Database>(new Database(raw_db, file));
}

Tx::Tx(sqlite3* db, ConnectionState* connection) : db_(db), connection_(connection) {
  if (connection_ != nullptr) serial_ = ++connection_->tx_serial;
}

Tx::~Tx() {
  for (auto it = on_end_.rbegin(); it != on_end_.rend(); ++it) it->second();
}

void Tx::on_end(const void* owner, std::function<void()> fn) {
  for (const auto& hook : on_end_) {
    if (hook.first == owner) return;
  }
  on_end_.emplace_back(owner, std::move(fn));
}

Database::Database(sqlite3* db, std::filesystem::path path)
    : db_(db), connection_(std::make_unique<ConnectionState>(db)), path_(std::move(path)) {}

void Database::rolled_back() {
  if (connection_) ++connection_->rollbacks;
}

void Database::raw_access() {
  if (connection_) ++connection_->catalog_changes;
}

Database::RawScope::RawScope(Database& db) : db_(db), changes_before_(db.db_ != nullptr ? sqlite3_total_changes(db.db_) : 0) {
  db_.raw_access();
}

Database::RawScope::~RawScope() {
  // Raw statements commit on their own (autocommit); with synchronous = NORMAL they are durable
  // only once the WAL is synced.
  if (db_.db_ != nullptr && sqlite3_total_changes(db_.db_) != changes_before_) {
    if (auto st = db_.sync_now(); !st) log::error("database.sync_failed", {{"error", st.error().message}});
  }
}

Database::~Database() { close(); }

void Database::close() {
  stop_writer();  // commits what is queued and makes it durable, then ends
  std::lock_guard lock(mutex_);
  if (db_ == nullptr) return;
  // Every compiled statement must be finalized first, or sqlite3_close_v2 would leave a zombie
  // connection behind (memory, file handles, and the -wal/-shm files never removed).
  connection_.reset();
  // Fold the WAL back into the main file so a stopped data dir is one self-contained file.
  sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  sqlite3_close_v2(db_);
  db_ = nullptr;
  std::lock_guard fd_lock(wal_fd_mutex_);
  if (wal_fd_ >= 0) ::close(wal_fd_);
  wal_fd_ = -1;
}

Status Database::transaction(const std::function<Status(sqlite3*)>& fn) {
  std::lock_guard lock(mutex_);
  if (auto st = exec(db_, "BEGIN IMMEDIATE;"); !st) return st;
  raw_access();
  Status result = fn(db_);
  if (!result) {
    exec(db_, "ROLLBACK;");
    rolled_back();
    return result;
  }
  if (auto st = exec(db_, "COMMIT;"); !st) {
    exec(db_, "ROLLBACK;");
    rolled_back();
    return st;
  }
  return sync_now();  // synchronous = NORMAL: the commit is durable once the WAL is synced
}

Status Database::export_copy(const fs::path& target, const SecretBytes& key, CopyMode mode) {
  if (key.size() != 32) return fail(Errc::internal, "database key must be 32 bytes");
  std::lock_guard lock(mutex_);
  if (db_ == nullptr) return fail(Errc::unavailable, "database is closed");
  if (auto st = create_private_file(target); !st) return st;
  auto remove_target = [&] {
    std::error_code ec;
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) fs::remove(target.string() + suffix, ec);
  };
  auto previous_page_size = single_int(db_, "PRAGMA cipher_default_page_size;");
  if (!previous_page_size) {
    remove_target();
    return std::unexpected(previous_page_size.error());
  }
  // The attached copy takes SQLCipher's default cipher settings: make them ours for the attach.
  auto v4 = is_sqlcipher4(db_);
  Status st = v4 ? ok() : Status(std::unexpected(v4.error()));
  if (st && *v4) st = exec(db_, "PRAGMA cipher_default_compatibility = 3;");
  if (st) st = exec(db_, "PRAGMA cipher_default_page_size = " + std::to_string(kPageSize) + ";");
  bool attached = false;
  if (st) {
    const SecretBytes raw = raw_key_literal(key);
    sqlite3_stmt* attach = nullptr;
    int rc = sqlite3_prepare_v2(db_, "ATTACH DATABASE ?1 AS comptoir_export KEY ?2;", -1, &attach, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(attach, 1, target.c_str(), -1, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(attach, 2, reinterpret_cast<const char*>(raw.data()), 67, SQLITE_STATIC);
    if (rc == SQLITE_OK) rc = sqlite3_step(attach) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db_);
    if (rc != SQLITE_OK) st = std::unexpected(sqlite_error(db_, rc, "attach the copy"));
    sqlite3_finalize(attach);  // before `raw` is freed: the statement bound it without copying
    attached = static_cast<bool>(st);
  }
  auto copy = [&]() -> Status {
    if (auto s = exec(db_, "PRAGMA comptoir_export.synchronous = FULL;"); !s) return s;
    if (mode == CopyMode::exclusive) {
      if (auto s = exec(db_, "BEGIN IMMEDIATE;"); !s) return s;
    } else {
      // A read transaction on main: its first read fixes the snapshot that is copied and checked.
      if (auto s = exec(db_, "BEGIN;"); !s) return s;
      if (auto n = single_int(db_, "SELECT count(*) FROM main.sqlite_master;"); !n) {
        exec(db_, "ROLLBACK;");
        return std::unexpected(n.error());
      }
    }
    auto body = [&]() -> Status {
      if (auto s = exec(db_, "SELECT sqlcipher_export('comptoir_export');"); !s) return s;
      // sqlcipher_export copies neither of these header fields.
      auto user_version = single_int(db_, "PRAGMA main.user_version;");
      if (!user_version) return std::unexpected(user_version.error());
      auto app_id = single_int(db_, "PRAGMA main.application_id;");
      if (!app_id) return std::unexpected(app_id.error());
      if (auto s = exec(db_, "PRAGMA comptoir_export.user_version = " + std::to_string(*user_version) +
                                 "; PRAGMA comptoir_export.application_id = " + std::to_string(*app_id) + ";");
          !s) {
        return s;
      }
      // The copy must hold exactly the same schema and rows.
      auto differ = [&](const std::string& a, const std::string& b) -> Result<bool> {
        auto n = single_int(db_, "SELECT (SELECT count(*) FROM (" + a + ")) - (SELECT count(*) FROM (" + b + "));");
        if (!n) return std::unexpected(n.error());
        if (*n != 0) return true;
        auto extra = single_int(db_, "SELECT count(*) FROM (" + a + " EXCEPT " + b + ");");
        if (!extra) return std::unexpected(extra.error());
        if (*extra != 0) return true;
        auto missing = single_int(db_, "SELECT count(*) FROM (" + b + " EXCEPT " + a + ");");
        if (!missing) return std::unexpected(missing.error());
        return *missing != 0;
      };
      auto schema_differs = differ("SELECT type, name, tbl_name, sql FROM main.sqlite_master",
                                   "SELECT type, name, tbl_name, sql FROM comptoir_export.sqlite_master");
      if (!schema_differs) return std::unexpected(schema_differs.error());
      if (*schema_differs) return fail(Errc::internal, "the exported copy's schema differs from the database's");
      std::vector<std::string> tables;
      {
        Stmt t(db_, "SELECT name FROM main.sqlite_master WHERE type = 'table' ORDER BY name");
        for (;;) {
          auto row = t.step();
          if (!row) return std::unexpected(row.error());
          if (!*row) break;
          tables.push_back(t.text(0));
        }
      }
      for (const auto& table : tables) {
        auto d = differ("SELECT * FROM main." + quoted(table), "SELECT * FROM comptoir_export." + quoted(table));
        if (!d) return std::unexpected(d.error());
        if (*d) return fail(Errc::internal, "the exported copy of table " + table + " differs from the database's");
      }
      return ok();
    }();
    if (!body) {
      exec(db_, "ROLLBACK;");
      return body;
    }
    if (auto s = exec(db_, "COMMIT;"); !s) {
      exec(db_, "ROLLBACK;");
      return s;
    }
    return ok();
  };
  if (st) st = copy();
  if (attached) {
    if (auto s = exec(db_, "DETACH DATABASE comptoir_export;"); !s && st) st = s;
  }
  // Restore the defaults for later attaches (SQLCipher keeps them per process).
  exec(db_, "PRAGMA cipher_default_page_size = " + std::to_string(*previous_page_size) + ";");
  if (st) {
    const int fd = ::open(target.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) st = fail(Errc::io, "fsync " + target.string() + ": " + std::strerror(errno));
    if (fd >= 0) ::close(fd);
  }
  if (!st) {
    remove_target();
    return st;
  }
  return ok();
}

bool Database::ping() {
  std::lock_guard lock(mutex_);
  if (db_ == nullptr) return false;
  return single_int(db_, "SELECT count(*) FROM sqlite_master;").has_value();
}

Status Database::write(const std::function<Status(Tx&)>& fn) {
  PendingWrite me;
  me.fn = &fn;
  {
    std::lock_guard lock(queue_mutex_);
    if (writer_stopping_) return fail(Errc::unavailable, "database is closed");
    if (sync_failed_) return fail(Errc::io, "the disk failed to store an earlier commit of " + path_.string() + "; restart the server");
    if (!writer_.joinable()) {
      writer_ = std::thread([this] { writer_loop(); });
      syncer_ = std::thread([this] { syncer_loop(); });
    }
    queue_.push_back(&me);
    if (writer_idle_) writer_cv_.notify_one();
  }
  std::unique_lock lock(me.mutex);
  me.cv.wait(lock, [&] { return me.done; });
  return me.result;
}

// The one thread that commits: it takes every write queued so far (up to a batch), runs them in
// one transaction and COMMITs, hands the batch to the syncer thread, and goes straight on with
// whatever queued meanwhile. The connection runs with synchronous = NORMAL: COMMIT appends the
// transaction to the WAL without waiting for the disk; the syncer then makes the WAL durable
// (fdatasync) and only then wakes the batch's callers. So a caller still returns only once its
// commit is on disk, exactly as with synchronous = FULL, but the next batch runs while the disk
// works, and one fdatasync covers every batch committed before it started.
// A dedicated thread rather than a leader elected among the callers, so that the commit path
// never waits for a caller's thread to be scheduled, and so that it keeps a larger share of the
// CPU than the request threads (src/common/threads.h).
void Database::writer_loop() {
  constexpr std::size_t kMaxBatch = 64;
  pthread_setname_np(pthread_self(), "db-writer");
  std::unique_lock lock(queue_mutex_);
  for (;;) {
    writer_idle_ = true;
    writer_cv_.wait(lock, [&] { return !queue_.empty() || writer_stopping_; });
    writer_idle_ = false;
    if (queue_.empty()) return;  // stopping, and nothing left to commit
    std::vector<PendingWrite*> batch;
    while (!queue_.empty() && batch.size() < kMaxBatch) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    lock.unlock();
    commit_batch(batch);
    lock.lock();
    unsynced_.insert(unsynced_.end(), batch.begin(), batch.end());
    if (syncer_idle_) syncer_cv_.notify_one();
  }
}

// Makes the WAL durable for every batch the writer has committed, then wakes their callers.
void Database::syncer_loop() {
  pthread_setname_np(pthread_self(), "db-sync");
  std::unique_lock lock(queue_mutex_);
  for (;;) {
    syncer_idle_ = true;
    syncer_cv_.wait(lock, [&] { return !unsynced_.empty() || syncer_stopping_; });
    syncer_idle_ = false;
    if (unsynced_.empty()) return;  // stopping, and every commit is durable
    std::vector<PendingWrite*> batch;
    batch.swap(unsynced_);
    const std::uint64_t target = committed_.load();
    lock.unlock();
    const Status synced = sync_wal();
    lock.lock();
    ++wal_syncs_;
    if (!synced) {
      // After a failed fsync the state of the file on disk is unknown (the kernel may have
      // dropped the dirty pages): fail these writes and every later one rather than guess.
      sync_failed_ = true;
      log::error("database.sync_failed", {{"error", synced.error().message}});
    } else if (target > durable_) {
      durable_ = target;
    }
    durable_cv_.notify_all();
    lock.unlock();
    // Each caller waits on its own mutex and condition variable, so waking one neither wakes
    // the others nor contends for the queue. A caller returns (and its PendingWrite is gone)
    // only after this notification has released its mutex.
    for (auto* w : batch) {
      std::lock_guard done_lock(w->mutex);
      if (!synced && w->result) w->result = fail(Errc::io, "the disk failed to store the commit: " + synced.error().message);
      w->done = true;
      w->cv.notify_one();
    }
    lock.lock();
  }
}

void Database::stop_writer() {
  {
    std::lock_guard lock(queue_mutex_);
    writer_stopping_ = true;
  }
  writer_cv_.notify_one();
  if (writer_.joinable()) writer_.join();  // commits what is queued
  {
    std::lock_guard lock(queue_mutex_);
    syncer_stopping_ = true;
  }
  syncer_cv_.notify_one();
  if (syncer_.joinable()) syncer_.join();  // makes it durable
}

Status Database::sync_wal() {
  std::lock_guard lock(wal_fd_mutex_);
  if (wal_path_.empty()) {
    const char* name = db_ != nullptr ? sqlite3_db_filename(db_, "main") : nullptr;
    wal_path_ = std::string(name != nullptr && *name != 0 ? name : path_.c_str()) + "-wal";
  }
  // SQLite keeps the WAL file (the same inode) while this connection is open; should it ever be
  // replaced, the new one is opened, never a stale descriptor synced.
  struct stat now {};
  if (::stat(wal_path_.c_str(), &now) != 0) {
    const int err = errno;
    return fail(Errc::io, "cannot find the write-ahead log " + wal_path_ + ": " + std::strerror(err));
  }
  struct stat open_one {};
  if (wal_fd_ >= 0 && (::fstat(wal_fd_, &open_one) != 0 || open_one.st_ino != now.st_ino || open_one.st_dev != now.st_dev)) {
    ::close(wal_fd_);
    wal_fd_ = -1;
  }
  if (wal_fd_ < 0) {
    wal_fd_ = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (wal_fd_ < 0) {
      const int err = errno;
      return fail(Errc::io, "cannot open the write-ahead log " + wal_path_ + ": " + std::strerror(err));
    }
  }
  if (::fdatasync(wal_fd_) != 0) {
    const int err = errno;
    return fail(Errc::io, "fdatasync of " + wal_path_ + " failed: " + std::strerror(err));
  }
  return ok();
}

void Database::wait_durable(std::uint64_t commit) {
  std::unique_lock lock(queue_mutex_);
  durable_cv_.wait(lock, [&] { return durable_ >= commit || sync_failed_ || syncer_stopping_; });
}

Status Database::sync_now() {
  const std::uint64_t target = committed_.load();
  auto st = sync_wal();
  std::lock_guard lock(queue_mutex_);
  ++wal_syncs_;
  if (!st) {
    sync_failed_ = true;
  } else if (target > durable_) {
    durable_ = target;
  }
  durable_cv_.notify_all();
  return st;
}

Database::Stats Database::stats() {
  Stats out;
  {
    std::lock_guard lock(mutex_);
    if (connection_) {
      out.statements_idle = connection_->statements.idle();
      out.statements_compiled = connection_->statements.compiled();
    }
    out.batch_replays = batch_replays_;
  }
  out.batches_committed = committed_.load();
  std::lock_guard lock(queue_mutex_);
  out.batches_durable = durable_;
  out.wal_syncs = wal_syncs_;
  out.sync_failed = sync_failed_;
  return out;
}

std::size_t Database::writes_waiting() {
  std::lock_guard lock(queue_mutex_);
  return queue_.size();
}

void Database::commit_batch(std::vector<PendingWrite*>& batch) {
  std::lock_guard lock(mutex_);
  // Counted before the connection is released: a reader that sees this batch's changes also
  // sees the count, and waits for it to be durable (read()).
  struct Count {
    std::atomic<std::uint64_t>& committed;
    ~Count() { committed.fetch_add(1); }
  } count{committed_};
  if (db_ == nullptr) {
    for (auto* w : batch) w->result = fail(Errc::unavailable, "database is closed");
    return;
  }
  Tx control(db_, connection_.get());
  if (auto st = exec(control, "BEGIN IMMEDIATE"); !st) {
    for (auto* w : batch) w->result = st;
    return;
  }
  // Fast path: every write straight into the transaction. A savepoint per write would make
  // SQLite copy (and SQLCipher encrypt) every page a write changes into the sub-journal, so
  // savepoints are only used when a write actually fails.
  const PendingWrite* failed = nullptr;
  for (auto* w : batch) {
    Tx tx(db_, connection_.get());
    w->result = (*w->fn)(tx);
    if (!w->result) {
      failed = w;
      break;
    }
  }
  if (failed == nullptr) {
    if (auto st = exec(control, "COMMIT"); !st) {
      exec(db_, "ROLLBACK;");
      rolled_back();
      for (auto* w : batch) w->result = st;
    }
    return;
  }
  exec(db_, "ROLLBACK;");
  rolled_back();
  if (batch.size() > 1) replay_with_savepoints(batch, failed);
}

// The failed write keeps its error and its changes are gone with the rollback; every other write
// of the batch runs again (those before it for the second time), each inside its own SAVEPOINT,
// so that a write failing now is rolled back alone.
void Database::replay_with_savepoints(std::vector<PendingWrite*>& batch, const PendingWrite* failed) {
  ++batch_replays_;
  Tx control(db_, connection_.get());
  if (auto st = exec(control, "BEGIN IMMEDIATE"); !st) {
    for (auto* w : batch) {
      if (w != failed) w->result = st;
    }
    return;
  }
  for (auto* w : batch) {
    if (w == failed) continue;
    if (auto st = exec(control, "SAVEPOINT w"); !st) {
      w->result = st;
      continue;
    }
    {
      Tx tx(db_, connection_.get());
      w->result = (*w->fn)(tx);
    }
    if (!w->result) {
      exec(control, "ROLLBACK TO w");
      rolled_back();
    }
    exec(control, "RELEASE w");
  }
  if (auto st = exec(control, "COMMIT"); !st) {
    exec(db_, "ROLLBACK;");
    rolled_back();
    for (auto* w : batch) {
      if (w->result) w->result = st;
    }
  }
}

Status Database::read(const std::function<Status(Tx&)>& fn) {
  std::uint64_t seen = 0;
  Status result = ok();
  {
    std::lock_guard lock(mutex_);
    if (db_ == nullptr) return fail(Errc::unavailable, "database is closed");
    seen = committed_.load();
    Tx tx(db_, connection_.get());
    result = fn(tx);
  }
  // What was read may come from a commit whose fdatasync is still running: nothing read is
  // acted upon (sent to a platform, shown to a person) before it is durable.
  wait_durable(seen);
  return result;
}

int Database::latest_schema_version() const {
  auto all = migrations();
  return all.empty() ? 0 : all.back().version;
}

int Database::schema_version() {
  std::lock_guard lock(mutex_);
  auto v = single_int(db_, "PRAGMA user_version;");
  return v ? static_cast<int>(*v) : -1;
}

Status Database::migrate() {
  const int current = schema_version();
  if (current < 0) return fail(Errc::io, "cannot read the schema version of " + path_.string());
  const int latest = latest_schema_version();
  if (current > latest) {
    return fail(Errc::conflict, "database schema " + std::to_string(current) +
                                    " is newer than this comptoir (" + std::to_string(latest) +
                                    "); upgrade comptoir or restore a matching backup");
  }
  for (const Migration& m : migrations()) {
    if (m.version <= current) continue;
    auto st = transaction([&](sqlite3* db) -> Status {
      auto v = single_int(db, "PRAGMA user_version;");
      if (!v) return std::unexpected(v.error());
      if (*v >= m.version) return ok();  // another process migrated meanwhile
      if (auto s = exec(db, m.sql); !s) return s;
      return exec(db, "PRAGMA user_version = " + std::to_string(m.version) + ";");
    });
    if (!st) {
      return fail(Errc::internal, "migration " + std::to_string(m.version) + " (" +
                                      std::string(m.description) + ") failed: " + st.error().message);
    }
    log::info("storage.migrated", {{"version", m.version}, {"description", std::string(m.description)}});
  }
  return ok();
}

Status savepoint(Tx& tx, const std::function<Status()>& fn) {
  if (auto st = exec(tx, "SAVEPOINT inner"); !st) return st;
  Status result = fn();
  if (!result) {
    exec(tx, "ROLLBACK TO inner");
    if (tx.connection() != nullptr) ++tx.connection()->rollbacks;
  }
  if (auto st = exec(tx, "RELEASE inner"); !st && result) return st;
  return result;
}

LibraryVersions library_versions() {
  LibraryVersions v;
  v.sqlite = sqlite3_libversion();
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) == SQLITE_OK) {
    auto r = single_text(db, "PRAGMA cipher_version;");
    if (r) v.sqlcipher = *r;
  }
  sqlite3_close_v2(db);
  if (v.sqlcipher.empty()) v.sqlcipher = "unknown";
  return v;
}

}  // namespace comptoir::storage

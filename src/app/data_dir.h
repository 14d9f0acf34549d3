// A Comptoir data dir: layout, creation (`init`), and opening with the master key.
//   DIR/            mode 0700
//   DIR/master.key  32 random bytes, mode 0600 (absent when the master key comes from a passphrase)
//   DIR/data-dir.json  format marker, key source, Argon2id salt and parameters, key check value
//   DIR/comptoir.db    the SQLCipher database (+ -wal, -shm while open)
//   DIR/serve.lock     held by a running `serve` so two servers never share a data dir
// Not thread-safe; used at startup and by CLI commands.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "privacy/keys.h"
#include "src/common/error.h"
#include "src/config/config.h"
#include "storage/database.h"

namespace comptoir::app {

namespace fs = std::filesystem;

struct DataDirPaths {
  fs::path root, key_file, meta_file, database, lock_file;
  static DataDirPaths of(const fs::path& root);
};

// Creates the data dir, the master key (key file or passphrase-derived), and the database with
// every migration applied. Refuses (Errc::conflict) if the directory exists and is not empty.
Status init_data_dir(const config::Config& cfg);

struct OpenedDataDir {
  DataDirPaths paths;
  std::optional<privacy::KeyRing> keys;
  std::unique_ptr<storage::Database> db;
};

struct OpenDataDirOptions {
  bool integrity_check = false;
  bool migrate = true;
};

// Reads the key source, derives the key ring, verifies the key check value and opens the
// database. Wrong keys and foreign or damaged files give Errc::wrong_key / Errc::corrupt with one
// clear line, and nothing on disk is changed.
Result<OpenedDataDir> open_data_dir(const config::Config& cfg, const OpenDataDirOptions& options);

// An exclusive advisory lock on DIR/serve.lock, released on destruction.
class ServeLock {
 public:
  static Result<ServeLock> acquire(const DataDirPaths& paths);
  ServeLock(ServeLock&& other) noexcept;
  ServeLock& operator=(ServeLock&&) = delete;
  ~ServeLock();

 private:
  explicit ServeLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace comptoir::app

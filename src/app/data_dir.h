// A Comptoir data dir: layout, creation (`init`), and opening with the master key.
//   DIR/            mode 0700; flock'ed shared by every command that has it open, exclusively
//                   by a master key rotation (DataDirLock)
//   DIR/master.key  32 random bytes, mode 0600 (absent when the master key comes from a passphrase)
//   DIR/data-dir.json  format marker, key source, Argon2id salt and parameters, key check value,
//                   and after a rotation the carried keys sealed under the master (see rekey.h)
//   DIR/comptoir.db    the SQLCipher database (+ -wal, -shm while open)
//   DIR/serve.lock     held by a running `serve` so two servers never share a data dir
// Only while a rotation runs, or after one was interrupted by a crash: master.key.new,
// data-dir.json.new, comptoir.db.rekey (see rekey.h). Opening the data dir
// finishes or undoes such a rotation first.
// Not thread-safe; used at startup and by CLI commands.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "privacy/keys.h"
#include "src/app/rotation.h"
#include "src/common/error.h"
#include "src/config/config.h"
#include "storage/database.h"

namespace comptoir::app {

namespace fs = std::filesystem;

// The Argon2id cost level named by the config's key.argon2.
privacy::Argon2Level argon2_level(config::Argon2Strength s);

struct DataDirPaths {
  fs::path root, key_file, meta_file, database, lock_file;
  // Present only during (or after an interrupted) master key rotation:
  fs::path new_key_file;   // master.key.new: the new key file, until it replaces master.key
  fs::path new_meta_file;  // data-dir.json.new: the new metadata; its presence marks a prepared rotation
  fs::path new_database;   // comptoir.db.rekey: the database re-encrypted under the new master key
  static DataDirPaths of(const fs::path& root);
};

// flock(2) on the data dir itself. Every command that opens the data dir holds it shared for as
// long as it has the database open; a master key rotation holds it exclusively, so it never runs
// while a server or a token command has the database open, and those refuse to start while it
// runs. Released on destruction. Move-only.
class DataDirLock {
 public:
  DataDirLock() = default;
  // Errc::unavailable while a rotation holds the data dir.
  static Result<DataDirLock> shared(const DataDirPaths& paths);
  // Errc::conflict while any other command has the data dir open.
  static Result<DataDirLock> exclusive(const DataDirPaths& paths);
  // Turns an exclusive lock into a shared one (Errc::unavailable if a rotation took the data dir
  // in between).
  Status downgrade();
  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  ~DataDirLock();
  bool held() const { return fd_ >= 0; }

 private:
  explicit DataDirLock(int fd, fs::path root) : fd_(fd), root_(std::move(root)) {}
  int fd_ = -1;
  fs::path root_;
};

// Creates the data dir, the master key (key file or passphrase-derived), and the database with
// every migration applied. Refuses (Errc::conflict) if the directory exists and is not empty.
Status init_data_dir(const config::Config& cfg);

struct OpenedDataDir {
  DataDirLock lock;  // declared first: released only after the database is closed
  DataDirPaths paths;
  std::optional<privacy::KeyRing> keys;
  std::unique_ptr<storage::Database> db;
};

struct OpenDataDirOptions {
  bool integrity_check = false;
  bool migrate = true;
  // Told when opening finished or undid a rotation interrupted by a crash (the event is logged
  // in any case).
  RotationObserver on_rotation;
};

// Takes the shared data dir lock, finishes or undoes a master key rotation that a crash
// interrupted (this needs no key: which way to go is decided by which files exist), reads the
// key source, derives the key ring, verifies the key check value and opens the database. Wrong
// keys and foreign or damaged files give Errc::wrong_key / Errc::corrupt with one clear line, and
// nothing on disk is changed. Errc::unavailable while `comptoir rekey` runs.
Result<OpenedDataDir> open_data_dir(const config::Config& cfg, const OpenDataDirOptions& options);

// --- Building blocks shared with the master key rotation (rekey.cpp) ----------------------------

// data-dir.json, parsed. Holds no secret: the carried keys are sealed under the master key.
struct DataDirMeta {
  // Format 1: as written by `init` (every key derived from the master). Format 2: may hold
  // carried keys and the record of the last rotation. Both are read.
  int format = 1;
  std::string created_at;
  std::string source;              // "key_file" | "passphrase"
  privacy::Argon2Params argon2;    // source == "passphrase"
  std::string key_check;           // hex check value of the master key
  privacy::SealedKeys carried;     // empty: every key is derived from the master
  struct Rotation {
    std::string id;                // "rot_…"
    std::int64_t started_at = 0;
    std::string from_source;
    std::int64_t subject_keys_rewrapped = 0;
    bool old_key_file_kept = false;
  };
  std::optional<Rotation> last_rotation;
};
// Errc::wrong_key ("wrong key or not a Comptoir database: …") for a missing, unreadable or
// foreign file; Errc::corrupt for malformed Argon2id parameters or carried keys.
Result<DataDirMeta> read_meta(const fs::path& file);
// The same for the text of such a file (a copy kept in a backup); `file` names it in errors.
Result<DataDirMeta> parse_meta(std::string_view text, const fs::path& file);
// The file's text (pretty JSON, trailing newline).
std::string meta_text(const DataDirMeta& meta);
// The master key `cfg` gives for a data dir whose metadata is `meta`: the key file, or the
// passphrase stretched with the stored parameters. Errc::config when the config and the data dir
// disagree about the key source.
Result<SecretBytes> master_key_for(const config::Config& cfg, const DataDirPaths& paths, const DataDirMeta& meta);
// The key ring of `master` after its check value matched `meta` (Errc::wrong_key otherwise), with
// the carried keys opened.
Result<privacy::KeyRing> unlock(const SecretBytes& master, const DataDirMeta& meta, const DataDirPaths& paths);
// open_data_dir with `lock` already held (shared or exclusive) and no rotation pending.
Result<OpenedDataDir> open_locked(const config::Config& cfg, const OpenDataDirOptions& options, DataDirLock lock);

// An exclusive advisory lock on DIR/serve.lock, released on destruction.
class ServeLock {
 public:
  static Result<ServeLock> acquire(const DataDirPaths& paths);
  // The same without creating serve.lock when it does not exist (then no server can be running,
  // and nullopt is returned).
  static Result<std::optional<ServeLock>> acquire_existing(const DataDirPaths& paths);
  ServeLock(ServeLock&& other) noexcept;
  ServeLock& operator=(ServeLock&&) = delete;
  ~ServeLock();

 private:
  explicit ServeLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace comptoir::app

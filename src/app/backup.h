// Backups and restores of a data dir (`comptoir backup`, `comptoir restore`). Format, key rules and
// the erasure journal: docs/operations.md ("Backups and restores").
//
// A backup is one file:
//   "COMPTOIR BACKUP 1\n"
//   header: one line of JSON ("comptoir.backup.v1": taken_at, schema version, shop id, a copy of
//           data-dir.json as it was — key source, Argon2id salt, key check value, carried keys
//           sealed under the master —, the database's length and BLAKE2b-256, counts)
//   MAC: 64 hex digits and "\n": keyed BLAKE2b-256 of the two lines above, keyed by a key derived
//        from the database key (so by the master key in use when the backup was taken)
//   the database: a consistent SQLCipher copy, encrypted under that same database key.
// Nothing in it is readable without that master key; the header holds no personal data and no
// key (only the check value and the carried keys sealed under the master, as data-dir.json does).
//
// Keys. A backup opens with the master key that was in use when it was taken. After `comptoir
// rekey`, older backups need the old key (`rekey --keep-old-key` keeps a copy of the old key
// file; `restore --old-key-file` / `--old-passphrase-env` gives it); the restored database is
// re-encrypted under the current master key and its subject keys rewrapped, so the data dir keeps
// opening with the current key only. The shop id (keyed by the blind-index key, which every
// rotation carries over) tells a backup of this shop from one of another shop.
//
// Erasures. A restore erases again every data subject named by the erasure journal (the live
// database's tombstones, DATA_DIR/erasures.journal and any copies given with --journal), in the
// restored database, before it replaces the live one. If none of those can be read (the data dir
// is lost: the disaster case) the restore refuses unless the operator gives a journal copy or
// says --without-journal. Single-threaded (CLI commands).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "privacy/inventory.h"
#include "privacy/keys.h"
#include "src/audit/recorder.h"
#include "src/common/error.h"
#include "src/config/config.h"
#include "storage/backup_store.h"
#include "storage/database.h"

namespace comptoir::app {

namespace fs = std::filesystem;

inline constexpr std::string_view kBackupMagic = "COMPTOIR BACKUP 1\n";
inline constexpr std::string_view kBackupFormat = "comptoir.backup.v1";

// The recorder of audit events for a command that has `db` open (one place decides which:
// cli_recorder in backup_cli.cpp).
using RecorderFactory = std::function<Result<std::unique_ptr<audit::Recorder>>(const config::Config& cfg, storage::Database& db,
                                                                     const privacy::KeyRing& keys)>;

struct BackupResult {
  fs::path file;
  std::int64_t taken_at = 0;
  int schema_version = 0;
  std::uint64_t bytes = 0;  // of the whole backup file
  storage::BackupCounts counts;
  std::size_t journaled = 0;  // tombstones added to the erasure journal on the way
};

// Writes a backup of cfg's data dir to `out` (which must not exist: Errc::conflict), while a
// server may be serving it: the data dir is opened shared, as the token commands do, and the
// database copied from one read snapshot (WAL: the server keeps writing). Records
// "backup.created". On failure nothing is left at `out`.
Result<BackupResult> backup_data_dir(const config::Config& cfg, const fs::path& out, const RecorderFactory& recorder);

struct RestoreOptions {
  fs::path from;
  // The master key in use when the backup was taken, when it is not the current one (a rotation
  // happened since): its key file, or the environment variable holding its passphrase.
  std::optional<fs::path> old_key_file;
  std::optional<std::string> old_passphrase_env;
  // Further copies of the erasure journal (e.g. kept with the backups).
  std::vector<fs::path> journals;
  // Disaster case: neither the live database nor DATA_DIR/erasures.journal can be read and no
  // journal copy is given: restore anyway (erasures made after the backup cannot be re-applied).
  bool without_journal = false;
};

struct RestoreResult {
  std::int64_t taken_at = 0;
  int backup_schema_version = 0;
  int schema_version = 0;            // after migrating the restored database
  storage::BackupCounts counts;      // of the restored database, after the erasures
  std::size_t erasures_known = 0;    // data subjects named by the journal sources
  std::size_t erasures_after_backup = 0;  // of those, erased after the backup was taken
  std::size_t customers_erased = 0;  // customers of the backup erased again
  std::size_t keys_shredded = 0;     // subject keys of the backup shredded again (customers included)
  bool live_database_read = false;   // the live database's tombstones were read
  bool journal_read = false;         // DATA_DIR/erasures.journal was read
  bool reencrypted = false;          // the backup was made under an earlier master key
  bool data_dir_meta_restored = false;  // data-dir.json was missing and was written from the backup
  // Audit events the live database recorded after the backup: carried over when they continue
  // the backup's chain, otherwise left (they stay in the kept database).
  std::size_t audit_events_carried = 0;
  std::size_t audit_events_left = 0;
  std::optional<fs::path> previous_database;  // where the replaced database was kept
};

// Restores `options.from` into cfg's data dir. Refuses (Errc::conflict) while a server or any
// other command has the data dir open. Before anything in the data dir changes, checks that the
// file is a Comptoir backup (Errc::invalid_argument), of this shop (Errc::conflict), opened by
// the key given (Errc::wrong_key), undamaged (Errc::corrupt), and of a schema this binary knows.
// Records "backup.restored" in the restored database.
Result<RestoreResult> restore_data_dir(const config::Config& cfg, const privacy::Inventory& inventory,
                                       const RestoreOptions& options, const RecorderFactory& recorder);

// The shop id of a blind-index key (hex): stable across master key rotations, reveals nothing.
std::string shop_id(const SecretBytes& blind_index_key);

}  // namespace comptoir::app

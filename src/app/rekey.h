// Rotation of the master key (`comptoir rekey`): a new master key (a new random key file, or a
// new passphrase), the database re-encrypted under it, every subject key rewrapped, the old key
// file overwritten and removed unless the operator keeps a copy. See docs/operations.md
// ("Rotating the master key") and docs/security.md.
//
// What changes and what is carried over. The keys that protect data at rest are derived from the
// new master: the SQLCipher key, the key-wrapping key (every wrapped subject key is opened with
// the old one and sealed again with the new one) and the check value. The keys whose values are
// bound to things outside the data dir, or to values that cannot be recomputed, keep their value
// (privacy::kCarriedPurposes: blind index, audit signing seed, API token hashing, web chat session
// MAC); they are stored sealed under the new master in data-dir.json ("carried_keys", format 2).
// So admin tokens, web chat sessions, customer lookups and the auditor's key keep working, while
// the old master key opens neither the database nor any subject key.
//
// Crash safety. The new database is built beside the old one (comptoir.db.rekey: a checked
// sqlcipher_export under the new key, subject keys rewrapped in it), then the new key file
// (master.key.new) and the new metadata (data-dir.json.new) are written and fsynced, and the
// rotation commits with one atomic rename of comptoir.db.rekey over comptoir.db. After that the old
// key file is shredded and the new key file and metadata are renamed into place. Which way an
// interrupted rotation goes is decided by which files exist, so recovery needs no key:
//   data-dir.json.new absent            → not prepared (or already finished): leftovers are removed
//   data-dir.json.new and comptoir.db.rekey → prepared, not committed: rolled back (old key)
//   data-dir.json.new, no comptoir.db.rekey → committed: rolled forward (new key)
// Every command that opens the data dir does this first (open_data_dir), as does `rekey`.
// At any point the data dir therefore opens with exactly one of the two keys.
//
// Test-only fault injection: when the environment variable COMPTOIR_TEST_REKEY_CRASH_AT names one
// of kRekeySteps, the process _exit()s with status kRekeyCrashExitCode right after that step, as a
// crash would (no destructors, no cleanup). Only the rotation and its recovery read it; it is
// meant for the test suite and must never be set in production.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/app/data_dir.h"
#include "src/app/rotation.h"
#include "src/common/error.h"
#include "src/config/config.h"

namespace comptoir::app {

struct RekeyOptions {
  // The new master key comes from the passphrase in this environment variable (Argon2id at the
  // config's key.argon2 cost, fresh salt). Otherwise: a new random key file; for a data dir whose
  // master key is a passphrase that needs new_key_file, so the switch is explicit.
  std::optional<std::string> new_passphrase_env;
  bool new_key_file = false;
  // Keep a copy of the old key file here (mode 0600; must not exist, and not be in the data dir).
  // Key-file data dirs only.
  std::optional<fs::path> keep_old_key;
  RotationObserver on_rotation;
};

struct RekeyResult {
  enum class Kind {
    rotated,              // a new master key is in use
    finished_interrupted, // found a committed rotation a crash interrupted, and finished it
    undid_interrupted,    // found a prepared rotation a crash interrupted, and rolled it back
  };
  Kind kind = Kind::rotated;
  RotationEvent event;
  // What the operator must change in the configuration so that it matches the new key source,
  // one sentence each; empty when nothing.
  std::vector<std::string> config_changes;
};

// Rotates the master key of cfg's data dir. The current key is taken from the config as for every
// other command. Refuses (Errc::conflict) while a server holds serve.lock or another command has
// the data dir open. A wrong current key is Errc::wrong_key and nothing is changed. If an
// interrupted rotation is found, it is finished or undone and nothing else is done.
// Errors before the commit leave the old key in use and no trace; errors after it say that the
// rotation is committed and that the next open will finish it.
Result<RekeyResult> rekey_data_dir(const config::Config& cfg, const RekeyOptions& options);

// Steps after which COMPTOIR_TEST_REKEY_CRASH_AT can stop the process, in the order they happen.
// `key_written` is skipped when the new master key comes from a passphrase.
inline constexpr std::array<std::string_view, 9> kRekeySteps = {
    "opened",          // the old database is open and checked; nothing written yet
    "exported",        // comptoir.db.rekey holds the database under the new key
    "rewrapped",       // the subject keys in comptoir.db.rekey are rewrapped and it is closed
    "key_written",     // master.key.new is written
    "prepared",        // data-dir.json.new is written: the rotation is prepared
    "committed",       // comptoir.db.rekey was renamed over comptoir.db: the rotation is committed
    "key_installed",   // the old key file shredded, master.key.new renamed to master.key
    "meta_installed",  // data-dir.json.new renamed to data-dir.json
    "cleaned",         // leftovers removed: done
};
inline constexpr int kRekeyCrashExitCode = 86;

// True when files of an unfinished rotation exist (data-dir.json.new, comptoir.db.rekey*,
// master.key.new, temporary files).
bool rotation_pending(const DataDirPaths& paths);

// Finishes or undoes an interrupted rotation, as described above. The caller must hold the data
// dir exclusively. Returns the event (nullopt when only leftovers of an unprepared rotation were
// removed); it has been logged and passed to `observer`.
Result<std::optional<RotationEvent>> recover_rotation(const DataDirPaths& paths, const RotationObserver& observer);

}  // namespace comptoir::app

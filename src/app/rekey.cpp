#include "src/app/rekey.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "privacy/keys.h"
#include "privacy/vault.h"
#include "src/common/encoding.h"
#include "src/common/env.h"
#include "src/common/files.h"
#include "src/common/log.h"
#include "storage/subject_key_store.h"

namespace comptoir::app {

namespace {

constexpr std::string_view kTmpPrefix = "data-dir.json.new.tmp-";  // files::write_atomic's temporaries
constexpr const char* kDatabaseSuffixes[] = {"", "-journal", "-wal", "-shm"};

// Test-only fault injection (see rekey.h): stop here as a crash would.
void crash_point(std::string_view step) {
  const char* at = std::getenv("COMPTOIR_TEST_REKEY_CRASH_AT");
  if (at != nullptr && step == at) {
    std::fprintf(stderr, "comptoir: COMPTOIR_TEST_REKEY_CRASH_AT=%s: stopping as a crash would\n", at);
    std::fflush(stderr);
    ::_exit(kRekeyCrashExitCode);
  }
}

bool present(const fs::path& p) {
  struct stat st{};
  return ::lstat(p.c_str(), &st) == 0;
}

std::vector<fs::path> temporaries(const DataDirPaths& paths) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(paths.root, ec)) {
    if (e.path().filename().string().starts_with(kTmpPrefix)) out.push_back(e.path());
  }
  return out;
}

Status remove_file(const fs::path& p) {
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
    return fail(Errc::io, "remove " + p.string() + ": " + std::strerror(errno));
  }
  return ok();
}

// Removes everything an unprepared or abandoned rotation may leave: the half-built database, an
// unused new key file (overwritten first), temporary files.
Status remove_leftovers(const DataDirPaths& paths) {
  for (const char* suffix : kDatabaseSuffixes) {
    if (auto st = remove_file(paths.new_database.string() + suffix); !st) return st;
  }
  for (const auto& t : temporaries(paths)) {
    if (auto st = remove_file(t); !st) return st;
  }
  if (auto st = files::shred(paths.new_key_file); !st) return st;
  return files::fsync_dir(paths.root);
}

// The prepared rotation is abandoned: the old key stays in use.
Status roll_back(const DataDirPaths& paths) {
  // data-dir.json.new goes first: without it, what is left is plain leftovers.
  if (auto st = remove_file(paths.new_meta_file); !st) return st;
  if (auto st = files::fsync_dir(paths.root); !st) return st;
  return remove_leftovers(paths);
}

// The committed rotation is completed: the old key file is shredded, the new key file and
// metadata are installed. Each step can be repeated after a crash. Once the rotation is committed
// the old key opens nothing in the data dir, so the old key file is destroyed first; it is only
// ever shredded while the new key is safe elsewhere (in master.key.new, or a passphrase).
Status roll_forward(const DataDirPaths& paths, const DataDirMeta& new_meta) {
  if (new_meta.source == "key_file") {
    if (present(paths.new_key_file)) {
      // master.key, if present, is still the old key: the new one has not been renamed yet.
      if (auto st = files::shred(paths.key_file); !st) return st;
      if (auto st = files::rename_durably(paths.new_key_file, paths.key_file); !st) return st;
    }
  } else if (auto st = files::shred(paths.key_file); !st) {
    // From a key file to a passphrase: the key file goes.
    return st;
  }
  crash_point("key_installed");
  if (auto st = files::rename_durably(paths.new_meta_file, paths.meta_file); !st) return st;
  crash_point("meta_installed");
  if (auto st = remove_leftovers(paths); !st) return st;
  crash_point("cleaned");
  return ok();
}

std::vector<std::string> rederived_names() {
  return {std::string(privacy::purpose_name(privacy::KeyPurpose::database)),
          std::string(privacy::purpose_name(privacy::KeyPurpose::key_wrapping)),
          std::string(privacy::purpose_name(privacy::KeyPurpose::key_check))};
}

std::vector<std::string> carried_names() {
  std::vector<std::string> out;
  for (auto p : privacy::kCarriedPurposes) out.emplace_back(privacy::purpose_name(p));
  return out;
}

std::int64_t now() { return unix_seconds(system_clock().now()); }

void announce(const RotationEvent& event, const RotationObserver& observer) {
  log_rotation_event(event);
  if (observer) observer(event);
}

bool valid_env_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// What the config must say for the new key source, given what it says now.
std::vector<std::string> config_changes(const config::Config& cfg, const std::string& to_source,
                                        const std::optional<std::string>& new_env, const DataDirPaths& paths) {
  std::vector<std::string> out;
  if (to_source == "key_file") {
    if (cfg.key.uses_passphrase()) {
      out.push_back("remove the key.passphrase_env, key.passphrase_file or key.passphrase setting: the master key is "
                    "now the key file " + paths.key_file.string());
    }
    return out;
  }
  const std::string name = new_env.value_or("");
  if (!cfg.key.uses_passphrase()) {
    out.push_back(name.empty() ? std::string("add a key.passphrase_env (or key.passphrase_file) setting that gives the new passphrase: "
                                             "the master key now comes from it and there is no key file any more")
                               : "add \"key\": {\"passphrase_env\": \"" + name +
                                     "\"}: the master key now comes from that passphrase and there is no key file any more");
  } else if (!cfg.key.passphrase_env.empty()) {
    if (cfg.key.passphrase_env != name) {
      out.push_back("key.passphrase_env names " + cfg.key.passphrase_env +
                    ": give it the new passphrase wherever it gets its value (e.g. the systemd EnvironmentFile)" +
                    (name.empty() ? std::string() : ", or set key.passphrase_env to " + name));
    }
  } else {
    out.push_back("replace the passphrase in key.passphrase_file (or key.passphrase) with the new one" +
                  (name.empty() ? std::string() : ", or use \"passphrase_env\": \"" + name + "\" instead"));
  }
  return out;
}

RotationEvent event_from(const DataDirMeta& new_meta) {
  RotationEvent e;
  if (new_meta.last_rotation) {
    e.rotation_id = new_meta.last_rotation->id;
    e.started_at = new_meta.last_rotation->started_at;
    e.from_source = new_meta.last_rotation->from_source;
    e.subject_keys_rewrapped = new_meta.last_rotation->subject_keys_rewrapped;
    e.old_key_file_kept = new_meta.last_rotation->old_key_file_kept;
  }
  e.to_source = new_meta.source;
  e.rederived = rederived_names();
  e.carried = carried_names();
  return e;
}

}  // namespace

bool rotation_pending(const DataDirPaths& paths) {
  if (present(paths.new_meta_file) || present(paths.new_key_file)) return true;
  for (const char* suffix : kDatabaseSuffixes) {
    if (present(paths.new_database.string() + suffix)) return true;
  }
  return !temporaries(paths).empty();
}

Result<std::optional<RotationEvent>> recover_rotation(const DataDirPaths& paths, const RotationObserver& observer) {
  const bool prepared = present(paths.new_meta_file);
  const bool built = present(paths.new_database);
  if (!prepared) {
    if (auto st = remove_leftovers(paths); !st) return std::unexpected(st.error());
    return std::optional<RotationEvent>();
  }
  auto new_meta = read_meta(paths.new_meta_file);
  if (!new_meta && !built) {
    return fail(Errc::corrupt, "an interrupted master key rotation cannot be finished: " + new_meta.error().message);
  }
  RotationEvent event = new_meta ? event_from(*new_meta) : RotationEvent{};
  event.outcome = built ? RotationEvent::Outcome::undone : RotationEvent::Outcome::completed;
  event.finished_at = now();
  event.finished_by_recovery = true;
  // Announced before the files change, so that a crash cannot lose it (see rotation.h).
  announce(event, observer);
  if (built) {
    if (auto st = roll_back(paths); !st) return std::unexpected(st.error());
  } else if (auto st = roll_forward(paths, *new_meta); !st) {
    return fail(st.error().code, "an interrupted master key rotation could not be finished: " + st.error().message);
  }
  return std::optional<RotationEvent>(std::move(event));
}

Result<RekeyResult> rekey_data_dir(const config::Config& cfg, const RekeyOptions& options) {
  const DataDirPaths paths = DataDirPaths::of(cfg.data_dir);
  std::error_code ec;
  if (!fs::is_directory(paths.root, ec)) {
    return fail(Errc::not_found, "no data dir at " + paths.root.string() + " (run `comptoir init -c CONFIG` first)");
  }
  if (options.new_passphrase_env && options.new_key_file) {
    return fail(Errc::invalid_argument, "give either --new-passphrase-env or --new-key-file, not both");
  }
  // The new passphrase is checked before anything is locked or read.
  std::optional<SecretBytes> new_passphrase;
  if (options.new_passphrase_env) {
    const std::string& name = *options.new_passphrase_env;
    if (!valid_env_name(name)) {
      return fail(Errc::invalid_argument, "--new-passphrase-env must name an environment variable (letters, digits, _)");
    }
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') {
      return fail(Errc::config, "--new-passphrase-env names " + name + ", which is not set in the environment");
    }
    new_passphrase = SecretBytes::copy_of(std::string_view(v));
    if (auto st = privacy::check_passphrase_strength(*new_passphrase); !st) return std::unexpected(st.error());
  }

  auto serve_lock = ServeLock::acquire_existing(paths);
  if (!serve_lock) return std::unexpected(serve_lock.error());
  auto lock = DataDirLock::exclusive(paths);
  if (!lock) return std::unexpected(lock.error());

  if (rotation_pending(paths)) {
    auto recovered = recover_rotation(paths, options.on_rotation);
    if (!recovered) return std::unexpected(recovered.error());
    if (*recovered) {
      RekeyResult r;
      r.event = std::move(**recovered);
      if (r.event.outcome == RotationEvent::Outcome::completed) {
        r.kind = RekeyResult::Kind::finished_interrupted;
        r.config_changes = config_changes(cfg, r.event.to_source, std::nullopt, paths);
      } else {
        r.kind = RekeyResult::Kind::undid_interrupted;
      }
      return r;
    }
  }

  auto meta = read_meta(paths.meta_file);
  if (!meta) return std::unexpected(meta.error());
  auto master = master_key_for(cfg, paths, *meta);
  if (!master) return std::unexpected(master.error());
  auto ring = unlock(*master, *meta, paths);
  if (!ring) return std::unexpected(ring.error());

  RotationEvent event;
  event.rotation_id = random_id("rot_", 8);
  event.started_at = now();
  event.from_source = meta->source;
  if (new_passphrase) {
    event.to_source = "passphrase";
  } else if (options.new_key_file || meta->source == "key_file") {
    event.to_source = "key_file";
  } else {
    return fail(Errc::invalid_argument,
                "this data dir's master key comes from a passphrase: give the new one with --new-passphrase-env NAME, "
                "or switch to a key file with --new-key-file");
  }
  if (options.keep_old_key && meta->source != "key_file") {
    return fail(Errc::invalid_argument,
                "--keep-old-key applies to a key file, and this data dir's master key comes from a passphrase");
  }
  if (options.keep_old_key) {
    std::error_code canon_ec;
    const fs::path kept = fs::weakly_canonical(fs::absolute(*options.keep_old_key), canon_ec);
    if (!canon_ec && kept.parent_path() == fs::weakly_canonical(fs::absolute(paths.root), canon_ec)) {
      return fail(Errc::invalid_argument,
                  "--keep-old-key must name a file outside the data dir: a key kept next to the data protects nothing");
    }
    if (present(*options.keep_old_key)) {
      return fail(Errc::conflict, "--keep-old-key: " + options.keep_old_key->string() + " already exists");
    }
  }
  event.rederived = rederived_names();
  event.carried = carried_names();

  // The new master key and the new metadata.
  DataDirMeta new_meta;
  new_meta.created_at = meta->created_at;
  new_meta.source = event.to_source;
  SecretBytes new_master;
  if (new_passphrase) {
    new_meta.argon2 = privacy::argon2_params(argon2_level(cfg.key.argon2));
    auto m = privacy::master_from_passphrase(*new_passphrase, new_meta.argon2);
    if (!m) return std::unexpected(m.error());
    new_master = std::move(*m);
  } else {
    new_master = privacy::generate_master_key();
  }
  auto rotation = ring->rotate_to(new_master);
  if (!rotation) return std::unexpected(rotation.error());
  new_meta.key_check = rotation->ring.check_value();
  new_meta.carried = rotation->sealed;

  // Until the commit, any failure undoes everything and the old key stays in use.
  auto abort = [&](const Error& e) -> Result<RekeyResult> {
    (void)roll_back(paths);
    return fail(e.code, e.message + "; nothing was changed, the old master key is still in use");
  };

  storage::OpenOptions old_opts;
  old_opts.integrity_check = true;
  auto old_db = storage::Database::open(paths.database, ring->database(), old_opts);
  if (!old_db) return std::unexpected(old_db.error());
  if (auto st = (*old_db)->migrate(); !st) return std::unexpected(st.error());
  crash_point("opened");

  // 1. The database, copied under the new key beside the old one.
  if (auto st = (*old_db)->export_copy(paths.new_database, rotation->ring.database()); !st) return abort(st.error());
  crash_point("exported");
  // Closing checkpoints the WAL; as the last connection it also removes -wal and -shm.
  (*old_db)->close();
  old_db->reset();

  // 2. Every subject key rewrapped in the copy.
  {
    storage::OpenOptions new_opts;
    new_opts.integrity_check = true;
    auto new_db = storage::Database::open(paths.new_database, rotation->ring.database(), new_opts);
    if (!new_db) return abort(new_db.error());
    storage::SubjectKeyStore store(**new_db);
    Result<std::int64_t> rewrapped = std::int64_t{0};
    auto st = (*new_db)->write([&](storage::Tx& tx) -> Status {
      rewrapped = privacy::rewrap_subject_keys(tx, store, ring->key_wrapping(), rotation->ring.key_wrapping());
      if (!rewrapped) return std::unexpected(rewrapped.error());
      return ok();
    });
    if (!st) return abort(st.error());
    auto count = store.count();
    if (!count) return abort(count.error());
    if (*count != *rewrapped) return abort(Error{Errc::internal, "not every subject key was rewrapped", {}});
    event.subject_keys_rewrapped = *rewrapped;
    (*new_db)->close();
  }
  if (auto st = files::fsync_file(paths.new_database); !st) return abort(st.error());
  crash_point("rewrapped");

  // 3. The old key file, kept if asked; the new key file; the new metadata (prepared).
  if (options.keep_old_key) {
    if (auto st = files::write_new(*options.keep_old_key, master->view(), 0600); !st) return abort(st.error());
    event.old_key_file_kept = true;
  }
  if (event.to_source == "key_file") {
    if (auto st = files::write_new(paths.new_key_file, new_master.view(), 0600); !st) return abort(st.error());
    crash_point("key_written");
  }
  new_meta.last_rotation = DataDirMeta::Rotation{event.rotation_id, event.started_at, event.from_source,
                                                 event.subject_keys_rewrapped, event.old_key_file_kept};
  if (auto st = files::write_atomic(paths.new_meta_file, meta_text(new_meta), 0600); !st) return abort(st.error());
  crash_point("prepared");

  // 4. Commit: one rename puts the new database in place. The old database's WAL must be gone
  // first, or it would be replayed into the new file.
  const fs::path wal = paths.database.string() + "-wal";
  if (present(wal)) {
    std::error_code size_ec;
    if (fs::file_size(wal, size_ec) != 0 || size_ec) {
      return abort(Error{Errc::io, "the database's write-ahead log " + wal.string() + " could not be emptied", {}});
    }
  }
  if (auto st = remove_file(wal); !st) return abort(st.error());
  if (auto st = remove_file(paths.database.string() + "-shm"); !st) return abort(st.error());
  if (::rename(paths.new_database.c_str(), paths.database.c_str()) != 0) {
    return abort(Error{Errc::io, "rename " + paths.new_database.string() + ": " + std::strerror(errno), {}});
  }
  auto committed_error = [&](const Error& e) -> Result<RekeyResult> {
    return fail(e.code, "the new master key is committed, but the rotation could not be finished (" + e.message +
                            "); run `comptoir rekey` (or any command that opens the data dir) again to finish it");
  };
  if (auto st = files::fsync_dir(paths.root); !st) return committed_error(st.error());
  crash_point("committed");
  // Committed: announced now, before the rest, so that a crash cannot lose the event (recovery
  // announces it again until data-dir.json.new is installed).
  event.finished_at = now();
  announce(event, options.on_rotation);

  // 5. The new key file and metadata in place, the old key file shredded.
  if (auto st = roll_forward(paths, new_meta); !st) return committed_error(st.error());

  // 6. The data dir opens with the new master key.
  {
    auto installed = read_meta(paths.meta_file);
    if (!installed) return std::unexpected(installed.error());
    auto new_ring = unlock(new_master, *installed, paths);
    if (!new_ring) return std::unexpected(new_ring.error());
    auto db = storage::Database::open(paths.database, new_ring->database(), {});
    if (!db) return std::unexpected(db.error());
    if (!(*db)->ping()) return fail(Errc::internal, "the rotated database does not answer");
  }

  RekeyResult result;
  result.kind = RekeyResult::Kind::rotated;
  result.event = std::move(event);
  result.config_changes = config_changes(cfg, result.event.to_source, options.new_passphrase_env, paths);
  return result;
}

}  // namespace comptoir::app

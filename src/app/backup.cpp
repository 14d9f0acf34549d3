#include "src/app/backup.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "privacy/vault.h"
#include "src/app/data_dir.h"
#include "src/app/rekey.h"
#include "src/common/encoding.h"
#include "src/common/env.h"
#include "src/common/files.h"
#include "src/common/log.h"
#include "src/rights/erasure.h"
#include "src/rights/erasure_journal.h"
#include "storage/audit_store.h"
#include "storage/subject_key_store.h"

namespace comptoir::app {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxHeaderBytes = 256 * 1024;
constexpr std::size_t kMacHex = 2 * crypto_generichash_BYTES;  // 64
constexpr std::string_view kMacContext = "comptoir.backup.mac.v1";
constexpr const char* kDbSuffixes[] = {"", "-journal", "-wal", "-shm"};

std::int64_t now_seconds() { return unix_seconds(system_clock().now()); }

std::string rfc3339(std::int64_t t) { return format_rfc3339(TimePoint(std::chrono::seconds(t))); }

std::string random_hex(std::size_t bytes) {
  std::vector<std::uint8_t> b(bytes);
  randombytes_buf(b.data(), b.size());
  return hex_encode(b);
}

void remove_db_files(const fs::path& p) {
  std::error_code ec;
  for (const char* s : kDbSuffixes) fs::remove(p.string() + s, ec);
}

// The MAC key of backups made under `database_key`.
SecretBytes mac_key(const SecretBytes& database_key) {
  SecretBytes k(crypto_generichash_KEYBYTES);
  crypto_generichash(k.data(), k.size(), reinterpret_cast<const unsigned char*>(kMacContext.data()), kMacContext.size(),
                     database_key.data(), database_key.size());
  return k;
}

std::string mac_hex(const SecretBytes& key, std::string_view covered) {
  std::uint8_t mac[crypto_generichash_BYTES];
  crypto_generichash(mac, sizeof mac, reinterpret_cast<const unsigned char*>(covered.data()), covered.size(), key.data(),
                     key.size());
  return hex_encode(std::span<const std::uint8_t>(mac, sizeof mac));
}

// BLAKE2b-256 of `length` bytes of `in` from its current position, copied to `out` when given.
Result<std::string> hash_stream(std::istream& in, std::uint64_t length, std::ostream* out, const fs::path& name) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, crypto_generichash_BYTES);
  std::vector<char> buf(1 << 16);
  std::uint64_t left = length;
  while (left > 0) {
    const auto n = static_cast<std::streamsize>(std::min<std::uint64_t>(left, buf.size()));
    in.read(buf.data(), n);
    if (in.gcount() != n) return fail(Errc::corrupt, name.string() + " is truncated: the backup is damaged");
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(buf.data()), static_cast<unsigned long long>(n));
    if (out != nullptr && !out->write(buf.data(), n)) return fail(Errc::io, "cannot write the restored database");
    left -= static_cast<std::uint64_t>(n);
  }
  std::uint8_t h[crypto_generichash_BYTES];
  crypto_generichash_final(&st, h, sizeof h);
  return hex_encode(std::span<const std::uint8_t>(h, sizeof h));
}

Status fsync_path(const fs::path& p) { return files::fsync_file(p); }

// --- reading a backup ----------------------------------------------------------------------------

struct BackupFile {
  json header;
  std::string covered;  // magic + header line: what the MAC covers
  std::string mac;
  std::uint64_t db_offset = 0;
  std::uint64_t db_bytes = 0;
  std::string db_hash;
  std::int64_t taken_at = 0;
  int schema_version = 0;
  std::string shop;
  DataDirMeta meta;
};

Error not_a_backup(const fs::path& p) {
  return Error{Errc::invalid_argument, p.string() + " is not a Comptoir backup", {}};
}

// Reads and parses the header of `path` (nothing is trusted before the MAC is checked).
Result<BackupFile> read_backup_header(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::not_found, "cannot read the backup " + path.string());
  std::string magic(kBackupMagic.size(), '\0');
  in.read(magic.data(), static_cast<std::streamsize>(magic.size()));
  if (in.gcount() != static_cast<std::streamsize>(magic.size()) || magic != kBackupMagic) {
    return std::unexpected(not_a_backup(path));
  }
  BackupFile b;
  std::string line;
  char c = 0;
  while (in.get(c) && c != '\n') {
    line.push_back(c);
    if (line.size() > kMaxHeaderBytes) return fail(Errc::corrupt, path.string() + ": the backup header is damaged");
  }
  if (c != '\n') return fail(Errc::corrupt, path.string() + " is truncated: the backup is damaged");
  b.covered = std::string(kBackupMagic) + line + "\n";
  std::string mac(kMacHex + 1, '\0');
  in.read(mac.data(), static_cast<std::streamsize>(mac.size()));
  if (in.gcount() != static_cast<std::streamsize>(mac.size()) || mac.back() != '\n') {
    return fail(Errc::corrupt, path.string() + " is truncated: the backup is damaged");
  }
  b.mac = mac.substr(0, kMacHex);
  b.db_offset = b.covered.size() + mac.size();
  b.header = json::parse(line, nullptr, false);
  const json& h = b.header;
  auto str = [&](const char* k) -> std::string {
    return h.is_object() && h.contains(k) && h[k].is_string() ? h[k].get<std::string>() : std::string();
  };
  if (!h.is_object() || str("format") != kBackupFormat || !h.contains("database") || !h["database"].is_object() ||
      !h.contains("data_dir") || !h["data_dir"].is_object() || !h.contains("taken_at_unix") ||
      !h["taken_at_unix"].is_number_integer() || !h.contains("schema_version") || !h["schema_version"].is_number_integer()) {
    return fail(Errc::corrupt, path.string() + ": the backup header is damaged");
  }
  const json& d = h["database"];
  if (!d.contains("bytes") || !d["bytes"].is_number_unsigned() || !d.contains("blake2b_256") || !d["blake2b_256"].is_string()) {
    return fail(Errc::corrupt, path.string() + ": the backup header is damaged");
  }
  b.db_bytes = d["bytes"].get<std::uint64_t>();
  b.db_hash = d["blake2b_256"].get<std::string>();
  b.taken_at = h["taken_at_unix"].get<std::int64_t>();
  b.schema_version = static_cast<int>(h["schema_version"].get<std::int64_t>());
  b.shop = str("shop_id");
  auto meta = parse_meta(h["data_dir"].dump(), path);
  if (!meta) return fail(Errc::corrupt, path.string() + ": the backup header is damaged (data dir metadata)");
  b.meta = std::move(*meta);
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec || size != b.db_offset + b.db_bytes) {
    return fail(Errc::corrupt, path.string() + " has " + (ec || size < b.db_offset + b.db_bytes ? "lost" : "gained") +
                                   " bytes since it was written: the backup is damaged");
  }
  return b;
}

Result<SecretBytes> passphrase_master(const std::string& env, const privacy::Argon2Params& params) {
  const char* v = std::getenv(env.c_str());
  if (v == nullptr || *v == '\0') return fail(Errc::config, "--old-passphrase-env names " + env + ", which is not set");
  return privacy::master_from_passphrase(SecretBytes::copy_of(std::string_view(v)), params);
}

// The audit log the live database recorded after event `after`: its events and checkpoints.
struct LiveAudit {
  std::vector<storage::AuditEventRow> events;
  std::vector<storage::AuditCheckpointRow> checkpoints;
};

Result<LiveAudit> live_audit_after(const fs::path& file, const SecretBytes& key, std::int64_t after) {
  storage::OpenOptions o;
  auto db = storage::Database::open(file, key, o);
  if (!db) return std::unexpected(db.error());
  LiveAudit out;
  storage::AuditStore audit(**db);
  auto st = (*db)->read([&](storage::Tx& tx) -> Status {
    for (std::int64_t from = after;;) {
      auto page = audit.events_after(tx, from, 4096);
      if (!page) return std::unexpected(page.error());
      if (page->empty()) break;
      from = page->back().seq;
      for (auto& e : *page) out.events.push_back(std::move(e));
    }
    auto cps = audit.checkpoints_after(tx, after, 1 << 30);
    if (!cps) return std::unexpected(cps.error());
    out.checkpoints = std::move(*cps);
    return ok();
  });
  (*db)->close();
  if (!st) return std::unexpected(st.error());
  return out;
}

// The tombstones of the live database, if it opens.
Result<std::vector<storage::Tombstone>> live_tombstones(const fs::path& file, const SecretBytes& key) {
  storage::OpenOptions o;
  auto db = storage::Database::open(file, key, o);
  if (!db) return std::unexpected(db.error());
  std::vector<storage::Tombstone> out;
  auto st = (*db)->read([&](storage::Tx& tx) -> Status {
    auto t = storage::list_tombstones(tx);
    if (!t) return std::unexpected(t.error());
    out = std::move(*t);
    return ok();
  });
  (*db)->close();
  if (!st) return std::unexpected(st.error());
  return out;
}

std::string compact_stamp(std::int64_t t) {
  std::string s = rfc3339(t);  // 2026-11-29T01:55:00Z
  std::string out;
  for (char c : s) {
    if (c != '-' && c != ':') out.push_back(c);
  }
  return out;
}

}  // namespace

std::string shop_id(const SecretBytes& blind_index_key) {
  static constexpr unsigned char kPersonal[crypto_generichash_blake2b_PERSONALBYTES] = {
      'c', 'o', 'm', 'p', 't', 'o', 'i', 'r', 's', 'h', 'o', 'p', 'i', 'd', '0', '1'};
  std::uint8_t out[16];
  crypto_generichash_blake2b_salt_personal(out, sizeof out, nullptr, 0, blind_index_key.data(), blind_index_key.size(),
                                           nullptr, kPersonal);
  return hex_encode(std::span<const std::uint8_t>(out, sizeof out));
}

// --- backup --------------------------------------------------------------------------------------

Result<BackupResult> backup_data_dir(const config::Config& cfg, const fs::path& out, const RecorderFactory& recorder) {
  std::error_code ec;
  if (fs::exists(out, ec) || fs::is_symlink(out, ec)) {
    return fail(Errc::conflict, out.string() + " exists; a backup never overwrites a file");
  }
  const fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  if (!fs::is_directory(dir, ec)) return fail(Errc::not_found, "no directory " + dir.string() + " for the backup");

  OpenDataDirOptions opts;
  opts.migrate = false;  // a serving server has migrated; a backup never changes the schema
  auto dd = open_data_dir(cfg, opts);
  if (!dd) return std::unexpected(dd.error());
  storage::Database& db = *dd->db;
  const int latest = db.latest_schema_version();
  if (db.schema_version() > latest) {
    return fail(Errc::conflict, "the database's schema is newer than this comptoir knows; back it up with the newer binary");
  }
  auto meta = read_meta(dd->paths.meta_file);
  if (!meta) return std::unexpected(meta.error());

  BackupResult result;
  rights::ErasureJournal journal(dd->paths.root / rights::kJournalFileName);
  auto journaled = journal.sync_from(db, true);
  if (!journaled) return std::unexpected(journaled.error());
  result.journaled = *journaled;

  const std::string tag = random_hex(8);
  const fs::path tmp_db = dir / ("." + out.filename().string() + ".db-" + tag);
  const fs::path tmp_out = dir / ("." + out.filename().string() + ".tmp-" + tag);
  auto cleanup = [&] {
    remove_db_files(tmp_db);
    std::error_code rm;
    fs::remove(tmp_out, rm);
  };
  result.taken_at = now_seconds();
  if (auto st = db.export_copy(tmp_db, dd->keys->database(), storage::Database::CopyMode::snapshot); !st) {
    cleanup();
    return std::unexpected(st.error());
  }
  // What the copy holds (read from the copy itself, so the header describes exactly it).
  {
    auto copy = storage::Database::open(tmp_db, dd->keys->database(), {});
    if (!copy) {
      cleanup();
      return std::unexpected(copy.error());
    }
    result.schema_version = (*copy)->schema_version();
    auto st = (*copy)->read([&](storage::Tx& tx) -> Status {
      auto c = storage::backup_counts(tx);
      if (!c) return std::unexpected(c.error());
      result.counts = *c;
      return ok();
    });
    (*copy)->close();
    if (!st) {
      cleanup();
      return std::unexpected(st.error());
    }
  }
  const auto db_bytes = fs::file_size(tmp_db, ec);
  if (ec) {
    cleanup();
    return fail(Errc::io, "cannot read the size of " + tmp_db.string());
  }
  std::ifstream db_in(tmp_db, std::ios::binary);
  auto hash = hash_stream(db_in, db_bytes, nullptr, tmp_db);
  if (!hash) {
    cleanup();
    return std::unexpected(hash.error());
  }
  json header;
  header["format"] = kBackupFormat;
  header["taken_at"] = rfc3339(result.taken_at);
  header["taken_at_unix"] = result.taken_at;
  header["comptoir_version"] = COMPTOIR_VERSION;
  header["schema_version"] = result.schema_version;
  header["shop_id"] = shop_id(dd->keys->blind_index());
  header["data_dir"] = json::parse(meta_text(*meta));
  header["database"] = {{"bytes", static_cast<std::uint64_t>(db_bytes)},
                        {"blake2b_256", *hash},
                        {"encryption", "SQLCipher, raw key: the database sub-key of the master key in use"}};
  header["counts"] = {{"customers", result.counts.customers},
                      {"orders", result.counts.orders},
                      {"subject_keys", result.counts.subject_keys},
                      {"erased_subjects", result.counts.tombstones}};
  const std::string covered = std::string(kBackupMagic) + header.dump() + "\n";
  const std::string mac = mac_hex(mac_key(dd->keys->database()), covered) + "\n";
  {
    const int fd = ::open(tmp_out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      cleanup();
      return fail(Errc::io, "cannot create " + tmp_out.string() + ": " + std::strerror(errno));
    }
    ::close(fd);
    std::ofstream o(tmp_out, std::ios::binary | std::ios::trunc);
    o << covered << mac;
    db_in.clear();
    db_in.seekg(0);
    auto copied = hash_stream(db_in, db_bytes, &o, tmp_db);
    o.flush();
    if (!copied || !o || *copied != *hash) {
      cleanup();
      return fail(Errc::io, "cannot write the backup " + tmp_out.string());
    }
  }
  if (auto st = fsync_path(tmp_out); !st) {
    cleanup();
    return std::unexpected(st.error());
  }
  // link(2) never replaces an existing file: a backup that appeared meanwhile is kept.
  if (::link(tmp_out.c_str(), out.c_str()) != 0) {
    const int e = errno;
    cleanup();
    if (e == EEXIST) return fail(Errc::conflict, out.string() + " exists; a backup never overwrites a file");
    return fail(Errc::io, "cannot create " + out.string() + ": " + std::strerror(e));
  }
  cleanup();
  if (auto st = files::fsync_dir(dir); !st) return std::unexpected(st.error());
  result.file = out;
  result.bytes = fs::file_size(out, ec);

  audit::Event event;
  event.action = "backup.created";
  event.purpose = "security";  // availability and resilience (Art. 32(1)(c))
  event.counts = {{"customers", result.counts.customers},
                  {"orders", result.counts.orders},
                  {"subject_keys", result.counts.subject_keys},
                  {"erased_subjects", result.counts.tombstones},
                  {"bytes", static_cast<std::int64_t>(result.bytes)}};
  event.details = {{"taken_at", rfc3339(result.taken_at)}, {"schema_version", std::to_string(result.schema_version)}};
  auto rec = recorder(cfg, db, *dd->keys);
  if (!rec) return std::unexpected(rec.error());
  if (auto st = (*rec)->record(event); !st) {
    log::warn("backup.audit_failed", {{"error", st.error().message}});
    return fail(Errc::io, "the backup " + out.string() + " was written, but its audit event could not be recorded: " +
                              st.error().message);
  }
  return result;
}

// --- restore -------------------------------------------------------------------------------------

Result<RestoreResult> restore_data_dir(const config::Config& cfg, const privacy::Inventory& inventory,
                                       const RestoreOptions& options, const RecorderFactory& recorder) {
  const DataDirPaths paths = DataDirPaths::of(cfg.data_dir);
  RestoreResult result;

  // 1. The backup file: a Comptoir backup, whole (the MAC is checked once the key is known).
  auto backup = read_backup_header(options.from);
  if (!backup) return std::unexpected(backup.error());
  result.taken_at = backup->taken_at;
  result.backup_schema_version = backup->schema_version;

  // 2. Nobody else may have the data dir open.
  std::error_code ec;
  const bool had_dir = fs::is_directory(paths.root, ec);
  std::unique_ptr<std::optional<ServeLock>> serve_lock;  // held until the end
  DataDirLock lock;
  if (had_dir) {
    auto sl = ServeLock::acquire_existing(paths);
    if (!sl) return std::unexpected(sl.error());
    serve_lock = std::make_unique<std::optional<ServeLock>>(std::move(*sl));
    auto l = DataDirLock::exclusive(paths);
    if (!l) return std::unexpected(l.error());
    lock = std::move(*l);
    if (rotation_pending(paths)) {
      auto r = recover_rotation(paths, log_rotation_event);
      if (!r) return std::unexpected(r.error());
    }
  }
  const bool had_meta = had_dir && fs::exists(paths.meta_file, ec);
  const bool had_db = had_dir && fs::exists(paths.database, ec);

  // 3. The current master key and key ring (from the data dir's metadata; in the disaster case,
  //    from the copy of it in the backup).
  DataDirMeta current_meta;
  if (had_meta) {
    auto m = read_meta(paths.meta_file);
    if (!m) return std::unexpected(m.error());
    current_meta = std::move(*m);
  } else {
    current_meta = backup->meta;
  }
  auto master = master_key_for(cfg, paths, current_meta);
  if (!master) {
    if (!had_meta && current_meta.source == "key_file" && master.error().code == Errc::wrong_key) {
      return fail(Errc::wrong_key, "the data dir " + paths.root.string() +
                                       " has no master key: put the master key file that was in use when the backup was "
                                       "taken (kept apart from the data) at " + paths.key_file.string() + " (mode 0600)");
    }
    return std::unexpected(master.error());
  }
  auto current = unlock(*master, current_meta, paths);
  if (!current) return std::unexpected(current.error());
  const std::string my_shop = shop_id(current->blind_index());
  if (!constant_time_equal(backup->shop, my_shop)) {
    return fail(Errc::conflict, options.from.string() + " is a backup of another shop, not of " + paths.root.string());
  }

  // 4. The backup's key ring: the current one, or the one of the earlier master given.
  std::optional<privacy::KeyRing> old_ring;
  const bool same_master = constant_time_equal(backup->meta.key_check, current_meta.key_check);
  if (!same_master) {
    if (!options.old_key_file && !options.old_passphrase_env) {
      return fail(Errc::wrong_key, options.from.string() + " was taken under an earlier master key (before a comptoir rekey): "
                                   "give that key with --old-key-file FILE or --old-passphrase-env VAR");
    }
    Result<SecretBytes> old_master = options.old_key_file ? files::read_secret(*options.old_key_file, 64)
                                                          : passphrase_master(*options.old_passphrase_env, backup->meta.argon2);
    if (!old_master) {
      if (old_master.error().code == Errc::config) return std::unexpected(old_master.error());
      return fail(Errc::wrong_key, "cannot read the old master key: " + old_master.error().message);
    }
    auto ring = unlock(*old_master, backup->meta, paths);
    if (!ring) return fail(Errc::wrong_key, "the old master key given does not open " + options.from.string());
    if (!constant_time_equal(shop_id(ring->blind_index()), my_shop)) {
      return fail(Errc::conflict, options.from.string() + " is a backup of another shop, not of " + paths.root.string());
    }
    old_ring = std::move(*ring);
  }
  const privacy::KeyRing& backup_ring = old_ring ? *old_ring : *current;

  // 5. Undamaged: the MAC over the header, then the database's hash.
  if (!constant_time_equal(mac_hex(mac_key(backup_ring.database()), backup->covered), backup->mac)) {
    return fail(Errc::corrupt, options.from.string() + ": the backup header does not match its MAC: the backup is damaged "
                                                       "or was altered");
  }
  {
    std::ifstream in(options.from, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(backup->db_offset));
    auto h = hash_stream(in, backup->db_bytes, nullptr, options.from);
    if (!h) return std::unexpected(h.error());
    if (!constant_time_equal(*h, backup->db_hash)) {
      return fail(Errc::corrupt, options.from.string() + ": the database in the backup does not match its checksum: the "
                                                         "backup is damaged");
    }
  }
  // 6. The erasure journal: every source there is. Nothing is written before this is settled.
  std::map<std::string, std::int64_t> erased;  // subject id → when
  auto add = [&](const std::string& id, std::int64_t at) {
    if (!rights::valid_subject_id(id)) return;
    auto [it, inserted] = erased.emplace(id, at);
    if (!inserted) it->second = std::min(it->second, at);
  };
  if (had_db) {
    auto t = live_tombstones(paths.database, current->database());
    if (t) {
      result.live_database_read = true;
      for (const auto& x : *t) add(x.subject_id, x.shredded_at);
    } else {
      log::warn("restore.live_database_unreadable", {{"error", t.error().message}});
    }
  }
  const fs::path journal_file = paths.root / rights::kJournalFileName;
  if (had_dir) {
    auto j = rights::read_journal(journal_file);
    if (j) {
      result.journal_read = true;
      for (const auto& e : *j) add(e.subject_id, e.erased_at);
    } else if (j.error().code != Errc::not_found) {
      return fail(j.error().code, "the erasure journal cannot be read (" + j.error().message +
                                      "); repair it or move it away and give a copy with --journal");
    }
  }
  for (const auto& extra : options.journals) {
    auto j = rights::read_journal(extra);
    if (!j) return std::unexpected(j.error());
    for (const auto& e : *j) add(e.subject_id, e.erased_at);
  }
  if (!result.live_database_read && !result.journal_read && options.journals.empty() && !options.without_journal) {
    return fail(Errc::conflict,
                "neither the live database nor " + journal_file.string() +
                    " can be read, so the erasures made after the backup was taken are unknown here. Give a copy of the "
                    "erasure journal with --journal FILE, or, if there is none, --without-journal (then erasures made "
                    "after " + rfc3339(backup->taken_at) + " are not re-applied: see docs/operations.md)");
  }
  result.erasures_known = erased.size();

  // 7. Build the restored database beside the live one, under the current key.
  if (!had_dir) {
    if (!paths.root.parent_path().empty()) fs::create_directories(paths.root.parent_path(), ec);
    if (auto st = files::make_dir(paths.root, 0700); !st) return std::unexpected(st.error());
    auto l = DataDirLock::exclusive(paths);
    if (!l) return std::unexpected(l.error());
    lock = std::move(*l);
  }
  const fs::path extracted = paths.root / "comptoir.db.restore";
  const fs::path reencrypted = paths.root / "comptoir.db.restore2";
  remove_db_files(extracted);  // leftovers of an interrupted restore
  remove_db_files(reencrypted);
  auto cleanup = [&] {
    remove_db_files(extracted);
    remove_db_files(reencrypted);
  };
  {
    const int fd = ::open(extracted.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return fail(Errc::io, "cannot create " + extracted.string() + ": " + std::strerror(errno));
    ::close(fd);
    std::ifstream in(options.from, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(backup->db_offset));
    std::ofstream o(extracted, std::ios::binary | std::ios::trunc);
    auto h = hash_stream(in, backup->db_bytes, &o, options.from);
    o.flush();
    if (!h || !o || !constant_time_equal(*h, backup->db_hash)) {
      cleanup();
      return fail(Errc::corrupt, options.from.string() + " changed while it was read: the backup is damaged");
    }
  }
  fs::path restored = extracted;
  {
    storage::OpenOptions o;
    o.integrity_check = true;
    auto db = storage::Database::open(extracted, backup_ring.database(), o);
    if (!db) {
      cleanup();
      return fail(db.error().code == Errc::wrong_key ? Errc::corrupt : db.error().code,
                  options.from.string() + ": the database in the backup does not open: " + db.error().message);
    }
    if ((*db)->schema_version() > (*db)->latest_schema_version()) {
      cleanup();
      return fail(Errc::conflict, options.from.string() + " was made by a newer comptoir (schema " +
                                      std::to_string((*db)->schema_version()) + "); restore it with that version");
    }
    if (old_ring) {
      // Made under an earlier master key: copy it under the current database key, then rewrap
      // its subject keys from the old key-wrapping key to the current one.
      if (auto st = (*db)->export_copy(reencrypted, current->database()); !st) {
        cleanup();
        return std::unexpected(st.error());
      }
      (*db)->close();
      remove_db_files(extracted);
      restored = reencrypted;
      result.reencrypted = true;
    }
  }
  storage::OpenOptions ro;
  auto rdb = storage::Database::open(restored, current->database(), ro);
  if (!rdb) {
    cleanup();
    return std::unexpected(rdb.error());
  }
  storage::Database& db = **rdb;
  auto fail_with = [&](const Error& e) -> Result<RestoreResult> {
    db.close();
    cleanup();
    return std::unexpected(e);
  };
  storage::SubjectKeyStore store(db);
  if (old_ring) {
    auto st = db.write([&](storage::Tx& tx) -> Status {
      auto n = privacy::rewrap_subject_keys(tx, store, old_ring->key_wrapping(), current->key_wrapping());
      if (!n) return std::unexpected(n.error());
      return ok();
    });
    if (!st) return fail_with(st.error());
  }
  if (auto st = db.migrate(); !st) return fail_with(st.error());
  result.schema_version = db.schema_version();

  // 8. The journal first gets everything known (so that it still says so if this restore is
  //    interrupted), then everyone in it is erased again in the restored database.
  std::vector<rights::JournalEntry> entries;
  for (const auto& [id, at] : erased) entries.push_back({id, at});
  rights::ErasureJournal journal(journal_file);
  if (auto n = journal.append(entries); !n) return fail_with(n.error());

  // The audit log is in the database: the events the live one recorded after the backup was
  // taken continue the backup's chain, so they are carried over as they are (the chain and its
  // signed checkpoints still verify) before anything new is recorded. If the live chain does not
  // continue this backup's (it was itself restored from another since), they are left in the
  // kept database.
  storage::AuditStore audit(db);
  storage::AuditHead head;
  if (auto st = db.read([&](storage::Tx& tx) -> Status {
        auto h = audit.head(tx);
        if (!h) return std::unexpected(h.error());
        head = std::move(*h);
        return ok();
      });
      !st) {
    return fail_with(st.error());
  }
  LiveAudit carried;
  if (had_db && result.live_database_read) {
    auto live = live_audit_after(paths.database, current->database(), head.seq);
    if (!live) {
      log::warn("restore.live_audit_unreadable", {{"error", live.error().message}});
    } else if (!live->events.empty()) {
      bool continues = live->events.front().prev_hash == head.hash || (head.seq == 0 && live->events.front().seq == 1);
      for (std::size_t i = 0; continues && i < live->events.size(); ++i) {
        continues = live->events[i].seq == head.seq + 1 + static_cast<std::int64_t>(i) &&
                    (i == 0 || live->events[i].prev_hash == live->events[i - 1].hash);
      }
      if (continues) carried = std::move(*live);
      else result.audit_events_left = live->events.size();
    }
  }

  const Clock& clock = system_clock();
  privacy::Vault vault(store, current->key_wrapping(), clock);
  auto rec = recorder(cfg, db, *current);
  if (!rec) return fail_with(rec.error());
  auto st = db.write([&](storage::Tx& tx) -> Status {
    result.customers_erased = 0;
    result.keys_shredded = 0;
    result.erasures_after_backup = 0;
    for (const auto& e : carried.events) {
      if (auto s = audit.append(tx, e); !s) return s;
    }
    for (const auto& c : carried.checkpoints) {
      if (auto s = audit.add_checkpoint(tx, c); !s) return s;
    }
    result.audit_events_carried = carried.events.size();
    for (const auto& [id, at] : erased) {
      auto dead = store.is_shredded(tx, id);
      if (!dead) return std::unexpected(dead.error());
      if (!*dead) ++result.erasures_after_backup;
      auto customer = storage::customer_of_subject(tx, id);
      if (!customer) return std::unexpected(customer.error());
      if (*customer) {
        auto receipt = rights::erase_subject(tx, inventory, vault, {**customer, id}, clock);
        if (!receipt) return std::unexpected(receipt.error());
        ++result.customers_erased;
        ++result.keys_shredded;
      } else {
        auto shredded = store.shred(tx, id, at);  // no customer row: the key (if any) and a tombstone
        if (!shredded) return std::unexpected(shredded.error());
        if (*shredded) ++result.keys_shredded;
      }
    }
    auto counts = storage::backup_counts(tx);
    if (!counts) return std::unexpected(counts.error());
    result.counts = *counts;
    audit::Event event;
    event.action = "backup.restored";
    event.purpose = "security";
    event.counts = {{"erasures_known", static_cast<std::int64_t>(result.erasures_known)},
                    {"erasures_after_backup", static_cast<std::int64_t>(result.erasures_after_backup)},
                    {"customers_erased", static_cast<std::int64_t>(result.customers_erased)},
                    {"keys_shredded", static_cast<std::int64_t>(result.keys_shredded)},
                    {"customers", result.counts.customers},
                    {"orders", result.counts.orders},
                    {"audit_events_carried", static_cast<std::int64_t>(result.audit_events_carried)},
                    {"audit_events_left", static_cast<std::int64_t>(result.audit_events_left)}};
    event.details = {{"taken_at", rfc3339(result.taken_at)},
                     {"backup_schema_version", std::to_string(result.backup_schema_version)},
                     {"reencrypted", result.reencrypted ? "true" : "false"}};
    return (*rec)->record(tx, event);
  });
  if (!st) return fail_with(st.error());
  db.close();
  if (auto s = fsync_path(restored); !s) return fail_with(s.error());

  // 9. Swap: the live database (if any) is kept under another name, the restored one takes its
  //    place with one rename.
  if (!had_meta) {
    if (auto s = files::write_new(paths.meta_file, meta_text(backup->meta), 0600); !s) return fail_with(s.error());
    result.data_dir_meta_restored = true;
  }
  if (had_db) {
    fs::path keep = paths.root / ("comptoir.db.pre-restore-" + compact_stamp(now_seconds()));
    for (int i = 1; fs::exists(keep, ec); ++i) keep = paths.root / ("comptoir.db.pre-restore-" + compact_stamp(now_seconds()) + "-" + std::to_string(i));
    if (::link(paths.database.c_str(), keep.c_str()) != 0) {
      return fail_with(Error{Errc::io, "cannot keep the live database as " + keep.string() + ": " + std::strerror(errno), {}});
    }
    for (const char* suffix : {"-wal"}) {
      const fs::path side = paths.database.string() + suffix;
      if (fs::exists(side, ec)) fs::rename(side, keep.string() + suffix, ec);
    }
    fs::remove(paths.database.string() + "-shm", ec);
    result.previous_database = keep;
  }
  if (auto s = files::rename_durably(restored, paths.database); !s) return fail_with(s.error());
  cleanup();
  return result;
}

}  // namespace comptoir::app

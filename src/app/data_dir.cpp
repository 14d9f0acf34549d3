#include "src/app/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

#include "src/app/rekey.h"
#include "src/common/encoding.h"
#include "src/common/env.h"
#include "src/common/files.h"
#include "src/common/log.h"

namespace comptoir::app {

using nlohmann::json;

namespace {

constexpr int kFormat = 1;         // written by init
constexpr int kRotatedFormat = 2;  // may hold carried keys and the last rotation

// The passphrase from the config: inline/file, or the named environment variable.
Result<SecretBytes> passphrase_from(const config::Config& cfg) {
  if (cfg.key.passphrase) return SecretBytes::copy_of(cfg.key.passphrase->span());
  const char* v = std::getenv(cfg.key.passphrase_env.c_str());
  if (v == nullptr || *v == '\0') {
    return fail(Errc::config, "key.passphrase_env names " + cfg.key.passphrase_env +
                                  ", which is not set in the environment");
  }
  return SecretBytes::copy_of(std::string_view(v));
}

// The member `name` of the object `o`, or nullptr. Never throws: data-dir.json is read back from
// disk and treated as untrusted.
const json* member(const json& o, const char* name) {
  if (!o.is_object()) return nullptr;
  auto it = o.find(name);
  return it == o.end() ? nullptr : &*it;
}

bool dir_is_empty(const fs::path& p) {
  std::error_code ec;
  return fs::is_empty(p, ec) && !ec;
}

std::string wrong_key(const std::string& what) { return "wrong key or not a Comptoir database: " + what; }

}  // namespace

privacy::Argon2Level argon2_level(config::Argon2Strength s) {
  switch (s) {
    case config::Argon2Strength::interactive: return privacy::Argon2Level::interactive;
    case config::Argon2Strength::moderate: return privacy::Argon2Level::moderate;
    case config::Argon2Strength::sensitive: return privacy::Argon2Level::sensitive;
  }
  return privacy::Argon2Level::moderate;
}

DataDirPaths DataDirPaths::of(const fs::path& root) {
  DataDirPaths p;
  p.root = root;
  p.key_file = root / "master.key";
  p.meta_file = root / "data-dir.json";
  p.database = root / "comptoir.db";
  p.lock_file = root / "serve.lock";
  p.new_key_file = root / "master.key.new";
  p.new_meta_file = root / "data-dir.json.new";
  p.new_database = root / "comptoir.db.rekey";
  return p;
}

// --- DataDirLock --------------------------------------------------------------------------------

namespace {

Result<int> open_dir_fd(const DataDirPaths& paths) {
  const int fd = ::open(paths.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(Errc::io, "cannot open the data dir " + paths.root.string() + ": " + std::strerror(errno));
  return fd;
}

Error rotation_running(const fs::path& root) {
  return Error{Errc::unavailable,
               "a master key rotation (comptoir rekey) is in progress in " + root.string() +
                   "; try again when it has finished",
               {}};
}

}  // namespace

Result<DataDirLock> DataDirLock::shared(const DataDirPaths& paths) {
  auto fd = open_dir_fd(paths);
  if (!fd) return std::unexpected(fd.error());
  if (::flock(*fd, LOCK_SH | LOCK_NB) != 0) {
    ::close(*fd);
    return std::unexpected(rotation_running(paths.root));
  }
  return DataDirLock(*fd, paths.root);
}

Result<DataDirLock> DataDirLock::exclusive(const DataDirPaths& paths) {
  auto fd = open_dir_fd(paths);
  if (!fd) return std::unexpected(fd.error());
  if (::flock(*fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(*fd);
    return fail(Errc::conflict, "the data dir " + paths.root.string() +
                                    " is in use by another comptoir process (a server, a token command or a rekey); "
                                    "wait for it to finish or stop it, then try again");
  }
  return DataDirLock(*fd, paths.root);
}

Status DataDirLock::downgrade() {
  if (fd_ < 0) return fail(Errc::internal, "no data dir lock held");
  if (::flock(fd_, LOCK_SH | LOCK_NB) != 0) return std::unexpected(rotation_running(root_));
  return ok();
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_), root_(std::move(other.root_)) { other.fd_ = -1; }

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    root_ = std::move(other.root_);
    other.fd_ = -1;
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

// --- data-dir.json ------------------------------------------------------------------------------

Result<DataDirMeta> read_meta(const fs::path& file) {
  auto text = files::read(file, 64 * 1024);
  if (!text) return fail(Errc::wrong_key, wrong_key(file.parent_path().string() + " has no readable data-dir.json"));
  return parse_meta(*text, file);
}

Result<DataDirMeta> parse_meta(std::string_view text, const fs::path& file) {
  const json meta = json::parse(text, nullptr, false);
  const json* format = member(meta, "comptoir_data_dir");
  const json* mk_member = member(meta, "master_key");
  const json* key_check = member(meta, "key_check");
  if (meta.is_discarded() || format == nullptr || !format->is_number_integer() ||
      (format->get<std::int64_t>() != kFormat && format->get<std::int64_t>() != kRotatedFormat) ||
      mk_member == nullptr || !mk_member->is_object() || key_check == nullptr || !key_check->is_string()) {
    return fail(Errc::wrong_key, wrong_key(file.string() + " is not a Comptoir data-dir file"));
  }
  DataDirMeta out;
  out.format = static_cast<int>(format->get<std::int64_t>());
  out.key_check = key_check->get<std::string>();
  if (const json* created = member(meta, "created_at"); created != nullptr && created->is_string()) {
    out.created_at = created->get<std::string>();
  }
  const json& mk = *mk_member;
  const json* source_member = member(mk, "source");
  out.source = source_member != nullptr && source_member->is_string() ? source_member->get<std::string>() : "";
  if (out.source == "passphrase") {
    const json* salt_hex = member(mk, "salt");
    const json* opslimit = member(mk, "opslimit");
    const json* memlimit = member(mk, "memlimit");
    std::optional<std::vector<std::uint8_t>> salt;
    if (salt_hex != nullptr && salt_hex->is_string()) salt = hex_decode(salt_hex->get<std::string>());
    if (!salt || opslimit == nullptr || !opslimit->is_number_unsigned() || memlimit == nullptr ||
        !memlimit->is_number_unsigned()) {
      return fail(Errc::corrupt, file.string() + ": malformed Argon2id parameters");
    }
    out.argon2.salt = *salt;
    out.argon2.opslimit = opslimit->get<std::uint64_t>();
    out.argon2.memlimit = memlimit->get<std::size_t>();
  } else if (out.source != "key_file") {
    return fail(Errc::wrong_key, wrong_key("unknown key source in " + file.string()));
  }
  if (const json* carried = member(meta, "carried_keys"); carried != nullptr) {
    if (!carried->is_object()) return fail(Errc::corrupt, file.string() + ": malformed carried_keys");
    for (const auto& [name, value] : carried->items()) {
      std::optional<std::vector<std::uint8_t>> bytes;
      if (value.is_string()) bytes = hex_decode(value.get<std::string>());
      if (!bytes) return fail(Errc::corrupt, file.string() + ": malformed carried key " + name);
      out.carried[name] = std::move(*bytes);
    }
  }
  if (const json* r = member(meta, "last_rotation"); r != nullptr && r->is_object()) {
    DataDirMeta::Rotation rot;
    if (const json* v = member(*r, "id"); v != nullptr && v->is_string()) rot.id = v->get<std::string>();
    if (const json* v = member(*r, "started_at"); v != nullptr && v->is_string()) {
      if (auto t = parse_rfc3339(v->get<std::string>())) rot.started_at = unix_seconds(*t);
    }
    if (const json* v = member(*r, "from"); v != nullptr && v->is_string()) rot.from_source = v->get<std::string>();
    if (const json* v = member(*r, "subject_keys_rewrapped"); v != nullptr && v->is_number_integer()) {
      rot.subject_keys_rewrapped = v->get<std::int64_t>();
    }
    if (const json* v = member(*r, "old_key_file_kept"); v != nullptr && v->is_boolean()) {
      rot.old_key_file_kept = v->get<bool>();
    }
    out.last_rotation = std::move(rot);
  }
  return out;
}

std::string meta_text(const DataDirMeta& meta) {
  json j = {{"comptoir_data_dir", meta.carried.empty() && !meta.last_rotation ? kFormat : kRotatedFormat}};
  if (!meta.created_at.empty()) j["created_at"] = meta.created_at;
  if (meta.source == "passphrase") {
    j["master_key"] = {{"source", "passphrase"},
                       {"kdf", "argon2id13"},
                       {"opslimit", meta.argon2.opslimit},
                       {"memlimit", meta.argon2.memlimit},
                       {"salt", hex_encode(meta.argon2.salt)}};
  } else {
    j["master_key"] = {{"source", "key_file"}, {"file", "master.key"}};
  }
  j["key_check"] = meta.key_check;
  if (!meta.carried.empty()) {
    json carried = json::object();
    for (const auto& [name, bytes] : meta.carried) carried[name] = hex_encode(bytes);
    j["carried_keys"] = carried;
  }
  if (meta.last_rotation) {
    const auto& r = *meta.last_rotation;
    j["last_rotation"] = {{"id", r.id},
                          {"started_at", format_rfc3339(TimePoint(std::chrono::seconds(r.started_at)))},
                          {"from", r.from_source},
                          {"subject_keys_rewrapped", r.subject_keys_rewrapped},
                          {"old_key_file_kept", r.old_key_file_kept}};
  }
  return j.dump(2) + "\n";
}

Result<SecretBytes> master_key_for(const config::Config& cfg, const DataDirPaths& paths, const DataDirMeta& meta) {
  if (meta.source == "key_file") {
    if (cfg.key.uses_passphrase()) {
      return fail(Errc::config, "this data dir's master key is the key file " + paths.key_file.string() +
                                    ", but the config asks for a passphrase; remove the key.passphrase* setting");
    }
    auto mode = files::permissions(paths.key_file);
    if (!mode) return fail(Errc::wrong_key, wrong_key("cannot read the key file " + paths.key_file.string()));
    if ((*mode & 077) != 0) {
      return fail(Errc::config, "the key file " + paths.key_file.string() + " is readable by others; run chmod 600 on it");
    }
    auto key = files::read_secret(paths.key_file, 64);
    if (!key) return fail(Errc::wrong_key, wrong_key(key.error().message));
    return std::move(*key);
  }
  if (!cfg.key.uses_passphrase()) {
    return fail(Errc::config, "this data dir's master key comes from a passphrase; set key.passphrase_env (or key.passphrase_file) in the config");
  }
  auto pass = passphrase_from(cfg);
  if (!pass) return std::unexpected(pass.error());
  return privacy::master_from_passphrase(*pass, meta.argon2);
}

Result<privacy::KeyRing> unlock(const SecretBytes& master, const DataDirMeta& meta, const DataDirPaths& paths) {
  if (master.size() != privacy::kKeyBytes) {
    return fail(Errc::wrong_key, wrong_key("master key must be " + std::to_string(privacy::kKeyBytes) +
                                           " bytes, found " + std::to_string(master.size())));
  }
  if (!constant_time_equal(privacy::key_check_value(master), meta.key_check)) {
    return fail(Errc::wrong_key, wrong_key("the master key does not match " + paths.root.string()));
  }
  auto ring = privacy::KeyRing::from_master(master, meta.carried);
  if (!ring) {
    if (ring.error().code == Errc::corrupt) {
      return fail(Errc::corrupt, paths.meta_file.string() + ": " + ring.error().message);
    }
    return fail(Errc::wrong_key, wrong_key(ring.error().message));
  }
  return ring;
}

Status init_data_dir(const config::Config& cfg) {
  const DataDirPaths paths = DataDirPaths::of(cfg.data_dir);
  std::error_code ec;
  bool created_dir = false;
  if (fs::exists(paths.root, ec)) {
    if (!fs::is_directory(paths.root, ec) || !dir_is_empty(paths.root)) {
      return fail(Errc::conflict, "refusing to overwrite the existing data dir " + paths.root.string());
    }
    if (::chmod(paths.root.c_str(), 0700) != 0) {
      return fail(Errc::io, "chmod " + paths.root.string() + ": " + std::strerror(errno));
    }
  } else {
    if (!paths.root.parent_path().empty()) fs::create_directories(paths.root.parent_path(), ec);
    if (auto st = files::make_dir(paths.root, 0700); !st) return st;
    created_dir = true;
  }
  auto cleanup = [&](Error e) -> Status {
    // Leave nothing half-made behind, so `init` can simply be run again.
    std::error_code rm;
    if (created_dir) {
      fs::remove_all(paths.root, rm);
    } else {
      for (const auto& p : {paths.key_file, paths.meta_file, paths.database}) fs::remove(p, rm);
      fs::remove(paths.database.string() + "-wal", rm);
      fs::remove(paths.database.string() + "-shm", rm);
    }
    return std::unexpected(std::move(e));
  };

  SecretBytes master;
  DataDirMeta meta;
  meta.created_at = format_rfc3339(system_clock().now());
  if (cfg.key.uses_passphrase()) {
    auto pass = passphrase_from(cfg);
    if (!pass) return cleanup(pass.error());
    if (auto st = privacy::check_passphrase_strength(*pass); !st) return cleanup(st.error());
    const auto params = privacy::argon2_params(argon2_level(cfg.key.argon2));
    auto m = privacy::master_from_passphrase(*pass, params);
    if (!m) return cleanup(m.error());
    master = std::move(*m);
    meta.source = "passphrase";
    meta.argon2 = params;
  } else {
    master = privacy::generate_master_key();
    if (auto st = files::write_new(paths.key_file, master.view(), 0600); !st) return cleanup(st.error());
    meta.source = "key_file";
  }
  auto ring = privacy::KeyRing::from_master(master);
  if (!ring) return cleanup(ring.error());
  meta.key_check = ring->check_value();
  if (auto st = files::write_new(paths.meta_file, meta_text(meta), 0600); !st) return cleanup(st.error());

  storage::OpenOptions opts;
  opts.create = true;
  auto db = storage::Database::open(paths.database, ring->database(), opts);
  if (!db) return cleanup(db.error());
  if (auto st = (*db)->migrate(); !st) return cleanup(st.error());
  (*db)->close();
  return ok();
}

Result<OpenedDataDir> open_data_dir(const config::Config& cfg, const OpenDataDirOptions& options) {
  const DataDirPaths paths = DataDirPaths::of(cfg.data_dir);
  std::error_code ec;
  if (!fs::is_directory(paths.root, ec)) {
    return fail(Errc::not_found, "no data dir at " + paths.root.string() + " (run `comptoir init -c CONFIG` first)");
  }
  if (rotation_pending(paths)) {
    // A rotation was interrupted (or is running: then the exclusive lock is refused).
    auto lock = DataDirLock::exclusive(paths);
    if (!lock) return std::unexpected(rotation_running(paths.root));
    auto recovered = recover_rotation(paths, options.on_rotation);
    if (!recovered) return std::unexpected(recovered.error());
    if (auto st = lock->downgrade(); !st) return std::unexpected(st.error());
    return open_locked(cfg, options, std::move(*lock));
  }
  auto lock = DataDirLock::shared(paths);
  if (!lock) return std::unexpected(lock.error());
  if (rotation_pending(paths)) {
    // A rotation started and was interrupted between the check above and the lock: recover it.
    lock = DataDirLock();
    return open_data_dir(cfg, options);
  }
  return open_locked(cfg, options, std::move(*lock));
}

Result<OpenedDataDir> open_locked(const config::Config& cfg, const OpenDataDirOptions& options, DataDirLock lock) {
  OpenedDataDir out;
  out.lock = std::move(lock);
  out.paths = DataDirPaths::of(cfg.data_dir);
  auto meta = read_meta(out.paths.meta_file);
  if (!meta) return std::unexpected(meta.error());
  auto master = master_key_for(cfg, out.paths, *meta);
  if (!master) return std::unexpected(master.error());
  auto ring = unlock(*master, *meta, out.paths);
  if (!ring) return std::unexpected(ring.error());
  storage::OpenOptions opts;
  opts.integrity_check = options.integrity_check;
  auto db = storage::Database::open(out.paths.database, ring->database(), opts);
  if (!db) return std::unexpected(db.error());
  if (options.migrate) {
    if (auto st = (*db)->migrate(); !st) return std::unexpected(st.error());
  }
  out.keys = std::move(*ring);
  out.db = std::move(*db);
  return out;
}

Result<ServeLock> ServeLock::acquire(const DataDirPaths& paths) {
  const int fd = ::open(paths.lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(Errc::io, "cannot open " + paths.lock_file.string() + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return fail(Errc::conflict, "another comptoir server is already serving " + paths.root.string() +
                                    " (or a comptoir rekey is running on it)");
  }
  return ServeLock(fd);
}

Result<std::optional<ServeLock>> ServeLock::acquire_existing(const DataDirPaths& paths) {
  const int fd = ::open(paths.lock_file.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<ServeLock>();
    return fail(Errc::io, "cannot open " + paths.lock_file.string() + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return fail(Errc::conflict, "a comptoir server is running on " + paths.root.string() + " (it holds " +
                                    paths.lock_file.filename().string() + "); stop it first");
  }
  return std::optional<ServeLock>(ServeLock(fd));
}

ServeLock::ServeLock(ServeLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

ServeLock::~ServeLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace comptoir::app

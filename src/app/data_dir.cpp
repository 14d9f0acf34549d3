#include "src/app/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

#include "src/common/encoding.h"
#include "src/common/env.h"
#include "src/common/files.h"
#include "src/common/log.h"

namespace comptoir::app {

using nlohmann::json;

namespace {

constexpr int kFormat = 1;

privacy::Argon2Level level_of(config::Argon2Strength s) {
  switch (s) {
    case config::Argon2Strength::interactive: return privacy::Argon2Level::interactive;
    case config::Argon2Strength::moderate: return privacy::Argon2Level::moderate;
    case config::Argon2Strength::sensitive: return privacy::Argon2Level::sensitive;
  }
  return privacy::Argon2Level::moderate;
}

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

}  // namespace

DataDirPaths DataDirPaths::of(const fs::path& root) {
  DataDirPaths p;
  p.root = root;
  p.key_file = root / "master.key";
  p.meta_file = root / "data-dir.json";
  p.database = root / "comptoir.db";
  p.lock_file = root / "serve.lock";
  return p;
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
  json meta = {{"comptoir_data_dir", kFormat}, {"created_at", format_rfc3339(system_clock().now())}};
  if (cfg.key.uses_passphrase()) {
    auto pass = passphrase_from(cfg);
    if (!pass) return cleanup(pass.error());
    if (auto st = privacy::check_passphrase_strength(*pass); !st) return cleanup(st.error());
    const auto params = privacy::argon2_params(level_of(cfg.key.argon2));
    auto m = privacy::master_from_passphrase(*pass, params);
    if (!m) return cleanup(m.error());
    master = std::move(*m);
    meta["master_key"] = {{"source", "passphrase"},
                          {"kdf", "argon2id13"},
                          {"opslimit", params.opslimit},
                          {"memlimit", params.memlimit},
                          {"salt", hex_encode(params.salt)}};
  } else {
    master = privacy::generate_master_key();
    if (auto st = files::write_new(paths.key_file, master.view(), 0600); !st) return cleanup(st.error());
    meta["master_key"] = {{"source", "key_file"}, {"file", paths.key_file.filename().string()}};
  }
  auto ring = privacy::KeyRing::from_master(master);
  if (!ring) return cleanup(ring.error());
  meta["key_check"] = ring->check_value();
  if (auto st = files::write_new(paths.meta_file, meta.dump(2) + "\n", 0600); !st) return cleanup(st.error());

  storage::OpenOptions opts;
  opts.create = true;
  auto db = storage::Database::open(paths.database, ring->database(), opts);
  if (!db) return cleanup(db.error());
  if (auto st = (*db)->migrate(); !st) return cleanup(st.error());
  (*db)->close();
  return ok();
}

Result<OpenedDataDir> open_data_dir(const config::Config& cfg, const OpenDataDirOptions& options) {
  OpenedDataDir out;
  out.paths = DataDirPaths::of(cfg.data_dir);
  std::error_code ec;
  if (!fs::is_directory(out.paths.root, ec)) {
    return fail(Errc::not_found, "no data dir at " + out.paths.root.string() + " (run `comptoir init -c CONFIG` first)");
  }
  auto text = files::read(out.paths.meta_file, 64 * 1024);
  if (!text) {
    return fail(Errc::wrong_key, "wrong key or not a Comptoir database: " + out.paths.root.string() +
                                     " has no readable data-dir.json");
  }
  const json meta = json::parse(*text, nullptr, false);
  const json* format = member(meta, "comptoir_data_dir");
  const json* mk_member = member(meta, "master_key");
  const json* key_check = member(meta, "key_check");
  if (meta.is_discarded() || format == nullptr || !format->is_number_integer() ||
      format->get<std::int64_t>() != kFormat || mk_member == nullptr || !mk_member->is_object() ||
      key_check == nullptr || !key_check->is_string()) {
    return fail(Errc::wrong_key, "wrong key or not a Comptoir database: " + out.paths.meta_file.string() +
                                     " is not a Comptoir data-dir file");
  }
  const json& mk = *mk_member;
  const json* source_member = member(mk, "source");
  const std::string source =
      source_member != nullptr && source_member->is_string() ? source_member->get<std::string>() : "";
  SecretBytes master;
  if (source == "key_file") {
    if (cfg.key.uses_passphrase()) {
      return fail(Errc::config, "this data dir's master key is the key file " + out.paths.key_file.string() +
                                    ", but the config asks for a passphrase; remove the key.passphrase* setting");
    }
    auto mode = files::permissions(out.paths.key_file);
    if (!mode) return fail(Errc::wrong_key, "wrong key or not a Comptoir database: cannot read the key file " + out.paths.key_file.string());
    if ((*mode & 077) != 0) {
      return fail(Errc::config, "the key file " + out.paths.key_file.string() +
                                    " is readable by others; run chmod 600 on it");
    }
    auto key = files::read_secret(out.paths.key_file, 64);
    if (!key) return fail(Errc::wrong_key, "wrong key or not a Comptoir database: " + key.error().message);
    master = std::move(*key);
  } else if (source == "passphrase") {
    if (!cfg.key.uses_passphrase()) {
      return fail(Errc::config, "this data dir's master key comes from a passphrase; set key.passphrase_env (or key.passphrase_file) in the config");
    }
    privacy::Argon2Params params;
    const json* salt_hex = member(mk, "salt");
    const json* opslimit = member(mk, "opslimit");
    const json* memlimit = member(mk, "memlimit");
    std::optional<std::vector<std::uint8_t>> salt;
    if (salt_hex != nullptr && salt_hex->is_string()) salt = hex_decode(salt_hex->get<std::string>());
    if (!salt || opslimit == nullptr || !opslimit->is_number_unsigned() || memlimit == nullptr ||
        !memlimit->is_number_unsigned()) {
      return fail(Errc::corrupt, out.paths.meta_file.string() + ": malformed Argon2id parameters");
    }
    params.salt = *salt;
    params.opslimit = opslimit->get<std::uint64_t>();
    params.memlimit = memlimit->get<std::size_t>();
    auto pass = passphrase_from(cfg);
    if (!pass) return std::unexpected(pass.error());
    auto m = privacy::master_from_passphrase(*pass, params);
    if (!m) return std::unexpected(m.error());
    master = std::move(*m);
  } else {
    return fail(Errc::wrong_key, "wrong key or not a Comptoir database: unknown key source in " + out.paths.meta_file.string());
  }
  auto ring = privacy::KeyRing::from_master(master);
  if (!ring) return fail(Errc::wrong_key, "wrong key or not a Comptoir database: " + ring.error().message);
  if (!constant_time_equal(ring->check_value(), key_check->get<std::string>())) {
    return fail(Errc::wrong_key, "wrong key or not a Comptoir database: the master key does not match " +
                                     out.paths.root.string());
  }
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
    return fail(Errc::conflict, "another comptoir server is already serving " + paths.root.string());
  }
  return ServeLock(fd);
}

ServeLock::ServeLock(ServeLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

ServeLock::~ServeLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace comptoir::app

#include "src/config/config.h"

#include <sys/stat.h>

#include "src/common/files.h"
#include "src/config/json_reader.h"

namespace comptoir::config {

namespace {

constexpr std::size_t kMaxConfigBytes = 1u << 20;

void read_server(ObjectReader& r, ServerConfig& s) {
  r.string("host", s.host, 253);
  std::int64_t v;
  if (r.integer("port", v, 0, 65535)) s.port = static_cast<int>(v);
  if (r.integer("threads", v, 1, 256)) s.threads = static_cast<int>(v);
  if (r.integer("max_queued", v, 1, 65536)) s.max_queued = static_cast<int>(v);
  if (r.integer("max_body_bytes", v, 1024, 64ll << 20)) s.max_body_bytes = static_cast<std::size_t>(v);
  if (auto t = r.object("timeouts")) {
    if (t->integer("read_seconds", v, 1, 300)) s.timeouts.read_seconds = static_cast<int>(v);
    if (t->integer("write_seconds", v, 1, 300)) s.timeouts.write_seconds = static_cast<int>(v);
    if (t->integer("keep_alive_seconds", v, 1, 300)) s.timeouts.keep_alive_seconds = static_cast<int>(v);
    t->finish();
  }
  r.finish();
}

void read_key(ObjectReader& r, KeyConfig& k) {
  if (r.string("passphrase_env", k.passphrase_env, 128)) {
    for (char c : k.passphrase_env) {
      const bool okc = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      if (!okc) {
        r.error("passphrase_env", "must be an environment variable name (letters, digits, _)");
        break;
      }
    }
  }
  k.passphrase = r.secret("passphrase", 1024);
  if (!k.passphrase_env.empty() && k.passphrase.has_value()) {
    r.error("passphrase_env", "give only one of passphrase_env, passphrase, passphrase_file");
  }
  std::string strength;
  if (r.choice("argon2", strength, {"interactive", "moderate", "sensitive"})) {
    k.argon2 = strength == "interactive" ? Argon2Strength::interactive
               : strength == "sensitive" ? Argon2Strength::sensitive
                                         : Argon2Strength::moderate;
  }
  r.finish();
}

void read_shop(ObjectReader& r, ShopConfig& s) {
  r.string("name", s.name, 80);
  if (r.string("public_url", s.public_url, 300)) {
    if (!(s.public_url.starts_with("https://") || s.public_url.starts_with("http://"))) {
      r.error("public_url", "must start with https:// (or http:// for a local test)");
    }
  }
  r.choice("default_language", s.default_language, {"en", "fr", "de"});
  r.string("contact", s.contact, 300);
  r.finish();
}

void read_commerce(ObjectReader& r, CommerceConfig& c) {
  if (r.string("currency", c.currency, 3)) {
    bool okc = c.currency.size() == 3;
    for (char ch : c.currency) okc = okc && ch >= 'A' && ch <= 'Z';
    if (!okc) r.error("currency", "must be a three-letter upper-case ISO 4217 code, e.g. EUR");
  }
  r.boolean("pickup", c.pickup);
  r.boolean("delivery", c.delivery);
  std::int64_t v;
  if (r.integer("delivery_fee", v, 0, 100000)) c.delivery_fee = v;
  if (r.integer("delivery_vat_rate", v, 0, 100)) c.delivery_vat_rate = static_cast<int>(v * 100);
  if (r.integer("free_delivery_from", v, 0, 100000000)) c.free_delivery_from = v;
  if (r.integer("max_line_quantity", v, 1, 999)) c.max_line_quantity = static_cast<int>(v);
  if (!c.pickup && !c.delivery) r.error("pickup", "at least one of pickup and delivery must be offered");
  r.finish();
}

void read_chat(ObjectReader& r, ChatConfig& c) {
  std::int64_t v;
  if (r.integer("inactivity_minutes", v, 1, 7 * 24 * 60)) c.inactivity_minutes = static_cast<int>(v);
  if (r.integer("page_size", v, 3, 9)) c.page_size = static_cast<int>(v);
  r.path("messages_dir", c.messages_dir);
  r.finish();
}

void read_webchat(ObjectReader& r, WebchatConfig& w) {
  std::int64_t v;
  if (r.integer("sessions_per_minute", v, 1, 1000000)) w.sessions_per_minute = static_cast<int>(v);
  if (r.integer("messages_per_minute", v, 1, 1000000)) w.messages_per_minute = static_cast<int>(v);
  r.finish();
}

}  // namespace

std::string_view to_string(Argon2Strength s) {
  switch (s) {
    case Argon2Strength::interactive: return "interactive";
    case Argon2Strength::moderate: return "moderate";
    case Argon2Strength::sensitive: return "sensitive";
  }
  return "moderate";
}

Result<Config> parse(std::string_view text, std::string_view source_name,
                     const std::filesystem::path& base_dir) {
  auto json = parse_json_with_comments(text, source_name);
  if (!json) return std::unexpected(json.error());
  if (!json->is_object()) return fail(Errc::config, std::string(source_name) + ": the top level must be a JSON object");

  ErrorList errors;
  ObjectReader root(*json, "", errors, base_dir);
  Config cfg;
  root.require("data_dir");
  root.path("data_dir", cfg.data_dir);
  if (auto s = root.object("server")) read_server(*s, cfg.server);
  bool inline_secret = false;
  if (auto k = root.object("key")) {
    read_key(*k, cfg.key);
    inline_secret = k->secret_was_inline();
  }
  if (auto l = root.object("log")) {
    std::string level;
    if (l->choice("level", level, {"debug", "info", "warn", "error"})) {
      log::parse_level(level, cfg.log.level);
    }
    l->finish();
  }
  if (auto s = root.object("shop")) read_shop(*s, cfg.shop);
  if (auto c = root.object("commerce")) read_commerce(*c, cfg.commerce);
  if (auto c = root.object("chat")) read_chat(*c, cfg.chat);
  if (auto w = root.object("webchat")) read_webchat(*w, cfg.webchat);
  std::string schema_hint;  // "$schema" lets editors validate the file; its value is not used
  root.string("$schema", schema_hint, 1024);
  root.finish();

  if (inline_secret && !source_name.empty()) {
    // An inline secret in a file others can read is a weak setting: refuse it.
    auto mode = files::permissions(std::filesystem::path(std::string(source_name)));
    if (mode && (*mode & 077) != 0) {
      errors.add("key.passphrase", "an inline secret needs a config file that only its owner can read (chmod 600), or use passphrase_file / passphrase_env");
    }
  }
  if (!errors.empty()) return fail(Errc::config, errors.joined());
  return cfg;
}

Result<Config> load(const std::filesystem::path& path) {
  auto text = files::read(path, kMaxConfigBytes);
  if (!text) return fail(Errc::config, text.error().message);
  auto base = std::filesystem::absolute(path).parent_path();
  auto cfg = parse(*text, path.string(), base);
  if (cfg) cfg->source = path;
  return cfg;
}

}  // namespace comptoir::config

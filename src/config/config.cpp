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

void read_audit(ObjectReader& r, AuditConfig& a) {
  std::int64_t v;
  if (r.integer("checkpoint_every_events", v, 1, 1000000)) a.checkpoint_every_events = static_cast<int>(v);
  if (r.integer("checkpoint_every_seconds", v, 1, 86400)) a.checkpoint_every_seconds = static_cast<int>(v);
  r.finish();
}

// https://…, or http:// to this machine (stand-ins in tests); never plain HTTP over a network.
bool acceptable_api_url(const std::string& url) {
  if (url.starts_with("https://")) return url.size() > 8;
  for (const char* local : {"http://127.", "http://localhost", "http://[::1]"}) {
    if (url.starts_with(local)) return true;
  }
  return false;
}

SecretBytes required_secret(ObjectReader& r, std::string_view key, std::size_t min_len) {
  auto s = r.secret(key, 1024);
  if (!s) {
    if (!r.has(key) && !r.has(std::string(key) + "_file")) r.error(key, "is required (or " + std::string(key) + "_file)");
    return SecretBytes();
  }
  if (s->size() < min_len) {
    r.error(key, "is too short: use at least " + std::to_string(min_len) + " characters");
    return SecretBytes();
  }
  return std::move(*s);
}

void read_channels(ObjectReader& r, ChannelsConfig& c, std::vector<std::string>& inline_secrets) {
  if (auto w = r.object("whatsapp")) {
    WhatsAppConfig wa;
    wa.app_secret = required_secret(*w, "app_secret", 16);
    wa.verify_token = required_secret(*w, "verify_token", 16);
    wa.access_token = required_secret(*w, "access_token", 16);
    w->require("phone_number_id");
    if (w->string("phone_number_id", wa.phone_number_id, 32)) {
      for (char ch : wa.phone_number_id) {
        if (ch < '0' || ch > '9') {
          w->error("phone_number_id", "must be the numeric phone number ID from the WhatsApp Manager");
          break;
        }
      }
    }
    if (w->string("graph_base_url", wa.graph_base_url, 300) && !acceptable_api_url(wa.graph_base_url)) {
      w->error("graph_base_url", "must start with https:// (http:// only to this machine)");
    }
    if (std::int64_t hours = 0; w->integer("max_message_age_hours", hours, 1, 168)) wa.max_message_age_hours = static_cast<int>(hours);
    if (auto t = w->object("template")) {
      t->require("name");
      t->string("name", wa.template_name, 512);
      t->string("language", wa.template_language, 16);
      t->finish();
    }
    w->finish();
    if (w->secret_was_inline()) inline_secrets.push_back("channels.whatsapp");
    c.whatsapp = std::move(wa);
  }
  if (auto t = r.object("telegram")) {
    TelegramConfig tg;
    tg.bot_token = required_secret(*t, "bot_token", 20);
    tg.secret_token = required_secret(*t, "secret_token", 16);
    for (std::size_t i = 0; i < tg.secret_token.size(); ++i) {
      const char ch = static_cast<char>(tg.secret_token.data()[i]);
      const bool okc = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
      if (!okc || tg.secret_token.size() > 256) {
        t->error("secret_token", "may contain only A-Z, a-z, 0-9, _ and - (at most 256), as Telegram requires");
        break;
      }
    }
    if (t->string("api_base_url", tg.api_base_url, 300) && !acceptable_api_url(tg.api_base_url)) {
      t->error("api_base_url", "must start with https:// (http:// only to this machine)");
    }
    t->finish();
    if (t->secret_was_inline()) inline_secrets.push_back("channels.telegram");
    c.telegram = std::move(tg);
  }
  if (auto o = r.object("outbox")) {
    std::int64_t v;
    if (o->integer("senders", v, 1, 64)) c.outbox.senders = static_cast<int>(v);
    if (o->integer("max_attempts", v, 1, 100)) c.outbox.max_attempts = static_cast<int>(v);
    o->finish();
  }
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
  std::vector<std::string> inline_secrets;
  if (auto c = root.object("channels")) read_channels(*c, cfg.channels, inline_secrets);
  if (auto p = root.object("privacy")) {
    p->path("inventory_file", cfg.privacy.inventory_file);
    p->path("notice_dir", cfg.privacy.notice_dir);
    p->finish();
  }
  if (auto a = root.object("audit")) read_audit(*a, cfg.audit);
  if (auto r = root.object("retention")) {
    std::int64_t v;
    if (r->integer("sweep_interval_seconds", v, 1, 7 * 86400)) cfg.retention.sweep_interval_seconds = static_cast<int>(v);
    if (r->integer("batch_size", v, 1, 100000)) cfg.retention.batch_size = static_cast<int>(v);
    r->finish();
  }
  std::string schema_hint;  // "$schema" lets editors validate the file; its value is not used
  root.string("$schema", schema_hint, 1024);
  root.finish();

  if ((inline_secret || !inline_secrets.empty()) && !source_name.empty()) {
    // An inline secret in a file others can read is a weak setting: refuse it.
    auto mode = files::permissions(std::filesystem::path(std::string(source_name)));
    if (mode && (*mode & 077) != 0) {
      if (inline_secret) {
        errors.add("key.passphrase", "an inline secret needs a config file that only its owner can read (chmod 600), or use passphrase_file / passphrase_env");
      }
      for (const auto& where : inline_secrets) {
        errors.add(where, "inline secrets need a config file that only its owner can read (chmod 600), or use the *_file keys");
      }
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

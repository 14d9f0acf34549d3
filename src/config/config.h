// The merchant's configuration: one JSON file (comments allowed), read strictly.
// load() is the only way in; the result is immutable afterwards and may be read from any thread.
// Every key is documented in docs/configuration.md and config/comptoir.example.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "src/common/error.h"
#include "src/common/log.h"
#include "src/common/secret.h"

namespace comptoir::config {

struct Timeouts {
  int read_seconds = 10;        // receiving a request (headers and body)
  int write_seconds = 10;       // sending a response
  int keep_alive_seconds = 5;   // an idle keep-alive connection is closed after this
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;              // 0 = any free port (printed in the "listening" log line)
  int threads = 64;             // worker threads: one per open connection (keep-alive included)
  int max_queued = 256;         // accepted connections waiting for a worker; beyond: 503
  std::size_t max_body_bytes = 4u << 20;
  Timeouts timeouts;
};

enum class Argon2Strength { interactive, moderate, sensitive };

struct KeyConfig {
  // Where the master key comes from: the key file in the data dir (default), or a passphrase
  // given through an environment variable, a file, or (discouraged) inline.
  std::string passphrase_env;
  std::optional<SecretBytes> passphrase;  // from key.passphrase or key.passphrase_file
  Argon2Strength argon2 = Argon2Strength::moderate;

  bool uses_passphrase() const { return !passphrase_env.empty() || passphrase.has_value(); }
};

struct LogConfig {
  log::Level level = log::Level::info;
};

// The shop as customers see it.
struct ShopConfig {
  std::string name = "Comptoir demo shop";
  std::string public_url;              // base of links sent to customers; default http://host:port
  std::string default_language = "en";
  std::string contact;                 // how to reach the controller (shown in the privacy notice)
};

struct CommerceConfig {
  std::string currency = "EUR";
  bool pickup = true;
  bool delivery = true;
  std::int64_t delivery_fee = 490;     // minor units, VAT included
  int delivery_vat_rate = 2000;        // basis points (config gives percent: 20)
  std::int64_t free_delivery_from = 0; // items total from which delivery is free; 0 = never
  int max_line_quantity = 99;
};

struct WebchatConfig {
  // New sessions per client address per minute. Behind a reverse proxy every customer has the
  // proxy's address, so this is a shop-wide ceiling there; sessions cost no storage until used.
  int sessions_per_minute = 600;
  int messages_per_minute = 120;  // per session
};

struct ChatConfig {
  int inactivity_minutes = 30;         // after this, a conversation restarts at the main menu
  int page_size = 8;                   // products per page in menus
  std::filesystem::path messages_dir;  // empty = the catalogs built into the binary
};

struct WhatsAppConfig {
  SecretBytes app_secret, verify_token, access_token;
  std::string phone_number_id;
  std::string graph_base_url = "https://graph.facebook.com/v21.0";
  std::string template_name;  // optional: sent outside the 24-hour customer-service window
  std::string template_language = "en";
  int max_message_age_hours = 24;  // older messages are acknowledged, not acted upon
};

struct TelegramConfig {
  SecretBytes bot_token, secret_token;
  std::string api_base_url = "https://api.telegram.org";
};

struct OutboxConfig {
  int senders = 8;
  int max_attempts = 12;
};

// The data inventory and the merchant-written part of the privacy notice (docs/privacy.md).
struct PrivacyConfig {
  std::filesystem::path inventory_file;  // empty = the inventory built into the binary
  std::filesystem::path notice_dir;      // folder of <lang>.html; empty = the built-in ones
};

// The retention sweeper inside `serve` (docs/operations.md#retention): every interval it removes
// what the data inventory's retention rules say has expired, in transactions of at most
// batch_size records so that serving goes on meanwhile.
struct RetentionConfig {
  int sweep_interval_seconds = 3600;
  int batch_size = 100;
};

// A channel that is not configured is off.
struct ChannelsConfig {
  std::optional<WhatsAppConfig> whatsapp;
  std::optional<TelegramConfig> telegram;
  OutboxConfig outbox;
};

// The audit log (docs/audit-log.md): a signed checkpoint every N events, T seconds after the first
// event not yet covered, and at shutdown.
struct AuditConfig {
  int checkpoint_every_events = 1000;
  int checkpoint_every_seconds = 300;
};

struct Config {
  std::filesystem::path source;    // the file it was read from (empty if built in memory)
  std::filesystem::path data_dir;  // absolute or relative to the working directory
  ServerConfig server;
  KeyConfig key;
  LogConfig log;
  ShopConfig shop;
  CommerceConfig commerce;
  ChatConfig chat;
  WebchatConfig webchat;
  ChannelsConfig channels;
  PrivacyConfig privacy;
  AuditConfig audit;
  RetentionConfig retention;
};

// Reads and validates `path`. Errors (Errc::config) list every problem, one per line, each naming
// its JSON path or the file's line and column.
Result<Config> load(const std::filesystem::path& path);
// Same for text already in memory; relative paths resolve against `base_dir`.
Result<Config> parse(std::string_view text, std::string_view source_name,
                     const std::filesystem::path& base_dir);

std::string_view to_string(Argon2Strength s);

}  // namespace comptoir::config

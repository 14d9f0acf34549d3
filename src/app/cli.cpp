#include "src/app/cli.h"

#include <sodium.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "src/app/audit_cli.h"
#include "src/app/audit_setup.h"
#include "src/app/backup_cli.h"
#include "src/app/cli_support.h"
#include "src/app/data_dir.h"
#include "src/app/rekey.h"
#include "src/app/retention_cli.h"
#include "src/app/serve.h"
#include "src/app/shop_setup.h"
#include "src/common/env.h"
#include "src/common/files.h"
#include "src/common/log.h"
#include "storage/token_store.h"

namespace comptoir::app {

namespace {

int report(const Error& e) {
  if (e.code == Errc::corrupt && !e.message.starts_with("database is corrupted")) {
    std::fprintf(stderr, "comptoir: database is corrupted (%s); restore a backup\n", e.message.c_str());
    return kExitFailure;
  }
  return report_error(e);
}

std::string when(std::optional<std::int64_t> t) {
  return t ? format_rfc3339(TimePoint(std::chrono::seconds(*t))) : "-";
}

int cmd_token_create(const std::string& config_path, const std::string& role_text, const std::string& label) {
  access::Role role;
  if (!access::parse_role(role_text, role)) {
    std::fprintf(stderr, "comptoir: --role must be owner, operator or auditor\n");
    return kExitUsage;
  }
  auto cfg = load_config(config_path);
  if (!cfg) return report(cfg.error());
  auto opened = open_audited(*cfg, {}, system_clock());
  if (!opened) return report(opened.error());
  storage::TokenStore store(*opened->dd.db);
  access::TokenService tokens(store, opened->dd.keys->api_tokens(), system_clock());
  tokens.set_audit(opened->log.get());
  auto t = tokens.create(role, label);
  if (!t) return report(t.error());
  log::info("token.created", {{"token_id", t->info.id}, {"role", std::string(access::to_string(role))}});
  // The token alone on stdout, so scripts can capture it: TOKEN=$(comptoir token create …)
  std::cout << t->secret << std::endl;
  return kExitOk;
}

int cmd_token_list(const std::string& config_path, bool as_json) {
  auto cfg = load_config(config_path);
  if (!cfg) return report(cfg.error());
  auto dd = open_data_dir(*cfg, {});
  if (!dd) return report(dd.error());
  storage::TokenStore store(*dd->db);
  access::TokenService tokens(store, dd->keys->api_tokens(), system_clock());
  auto list = tokens.list();
  if (!list) return report(list.error());
  if (as_json) {
    std::cout << "[";
    bool first = true;
    for (const auto& t : *list) {
      std::cout << (first ? "" : ",") << "\n  {\"id\":\"" << t.id << "\",\"role\":\"" << access::to_string(t.role)
                << "\",\"label\":\"" << log::json_escape(t.label) << "\",\"created_at\":\"" << when(t.created_at)
                << "\",\"last_used_at\":" << (t.last_used_at ? "\"" + when(t.last_used_at) + "\"" : "null")
                << ",\"revoked_at\":" << (t.revoked_at ? "\"" + when(t.revoked_at) + "\"" : "null") << "}";
      first = false;
    }
    std::cout << (list->empty() ? "]" : "\n]") << std::endl;
    return kExitOk;
  }
  std::printf("%-22s %-9s %-8s %-21s %-21s %s\n", "ID", "ROLE", "STATUS", "CREATED", "LAST USED", "LABEL");
  for (const auto& t : *list) {
    std::printf("%-22s %-9s %-8s %-21s %-21s %s\n", t.id.c_str(), std::string(access::to_string(t.role)).c_str(),
                t.revoked_at ? "revoked" : "active", when(t.created_at).c_str(), when(t.last_used_at).c_str(),
                t.label.c_str());
  }
  return kExitOk;
}

int cmd_token_revoke(const std::string& config_path, const std::string& id) {
  auto cfg = load_config(config_path);
  if (!cfg) return report(cfg.error());
  auto opened = open_audited(*cfg, {}, system_clock());
  if (!opened) return report(opened.error());
  storage::TokenStore store(*opened->dd.db);
  access::TokenService tokens(store, opened->dd.keys->api_tokens(), system_clock());
  tokens.set_audit(opened->log.get());
  auto r = tokens.revoke(id);
  if (!r) return report(r.error());
  if (*r) log::info("token.revoked", {{"token_id", id}});
  std::printf(*r ? "revoked %s\n" : "%s was already revoked\n", id.c_str());
  return kExitOk;
}

// Creates the data dir and loads the catalog (checked before anything is created, so a bad
// catalog file leaves nothing behind).
Status create_shop(const config::Config& cfg, const std::optional<fs::path>& catalog_file, bool empty_catalog,
                   std::size_t& products) {
  std::optional<commerce::CatalogData> catalog;
  if (!empty_catalog) {
    auto c = load_catalog(cfg, catalog_file);
    if (!c) return std::unexpected(c.error());
    catalog = std::move(*c);
  }
  std::error_code exists_ec;
  const bool existed = fs::exists(cfg.data_dir, exists_ec);  // an empty dir (e.g. a mount point) is kept
  if (auto st = init_data_dir(cfg); !st) return st;
  products = 0;
  if (!catalog) return ok();
  auto imported = [&]() -> Status {
    auto dd = open_data_dir(cfg, {});
    if (!dd) return std::unexpected(dd.error());
    return commerce::import_catalog(*dd->db, *catalog, unix_seconds(system_clock().now()));
  }();
  if (!imported) {
    // Leave nothing half-made, so `init` can simply be run again.
    std::error_code ec;
    if (existed) {
      for (const auto& e : fs::directory_iterator(cfg.data_dir, ec)) fs::remove_all(e.path(), ec);
    } else {
      fs::remove_all(cfg.data_dir, ec);
    }
    return imported;
  }
  products = catalog->products.size();
  return ok();
}

int cmd_init(const std::string& config_path, const std::string& catalog_path, bool empty_catalog) {
  auto cfg = load_config(config_path);
  if (!cfg) return report(cfg.error());
  std::size_t products = 0;
  std::optional<fs::path> file;
  if (!catalog_path.empty()) file = fs::path(catalog_path);
  if (auto st = create_shop(*cfg, file, empty_catalog, products); !st) return report(st.error());
  std::printf("created data dir %s with %zu products\n", cfg->data_dir.c_str(), products);
  return kExitOk;
}

int cmd_check_config(const std::string& config_path) {
  auto cfg = config::load(config_path);
  if (!cfg) {
    std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
    return kExitUsage;
  }
  auto privacy = load_privacy(*cfg);
  if (!privacy) {
    std::fprintf(stderr, "%s\n", privacy.error().message.c_str());
    return kExitUsage;
  }
  std::printf("%s: ok\n", config_path.c_str());
  return kExitOk;
}

int cmd_serve(const std::string& config_path) {
  auto cfg = load_config(config_path);
  if (!cfg) return report(cfg.error());
  return serve(*cfg);
}

// The demo's config, written once into the demo data dir so the CLI can be pointed at it later.
std::string demo_config_text(int port) {
  return "// Written by `comptoir demo`. Edit freely; see docs/configuration.md.\n"
         "{\n"
         "  \"data_dir\": \".\",\n"
         "  \"server\": { \"host\": \"127.0.0.1\", \"port\": " + std::to_string(port) + " },\n"
         "  \"shop\": { \"name\": \"Épicerie du Marché (demo)\", \"contact\": \"bonjour@epicerie-demo.example\" },\n"
         "  \"log\": { \"level\": \"info\" }\n"
         "}\n";
}

int cmd_demo(const std::string& data_dir_arg, std::optional<int> port_override) {
  const fs::path dir = fs::absolute(data_dir_arg).lexically_normal();
  const fs::path config_path = dir / "comptoir.json";
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    auto cfg = config::parse(demo_config_text(port_override.value_or(8080)), "demo", dir);
    if (!cfg) return report(cfg.error());
    std::size_t products = 0;
    if (auto st = create_shop(*cfg, std::nullopt, false, products); !st) return report(st.error());
    if (auto st = files::write_new(config_path, demo_config_text(port_override.value_or(8080)), 0600); !st) {
      return report(st.error());
    }
    std::fprintf(stderr, "comptoir: created demo data dir %s\n", dir.c_str());
  } else if (!fs::exists(config_path, ec)) {
    std::fprintf(stderr, "comptoir: %s exists but is not a demo data dir (no comptoir.json); choose another --data-dir\n",
                 dir.c_str());
    return kExitUsage;
  }
  auto cfg = load_config(config_path.string());
  if (!cfg) return report(cfg.error());
  if (port_override) cfg->server.port = *port_override;

  ServeHooks hooks;
  hooks.on_listening = [&](int port, access::TokenService& tokens) {
    auto token = tokens.create(access::Role::owner, "demo owner token");
    const std::string base = "http://" + cfg->server.host + ":" + std::to_string(port);
    std::printf("\nComptoir demo is running.\n\n");
    std::printf("  Web chat:     %s/\n", base.c_str());
    std::printf("  Health:       %s/healthz   readiness: %s/readyz\n", base.c_str(), base.c_str());
    std::printf("  Admin API:    %s/api/v1/\n", base.c_str());
    if (token) {
      std::printf("  Owner token:  %s\n\n", token->secret.c_str());
      std::printf("  Try:  curl -H 'Authorization: Bearer %s' %s/api/v1/whoami\n", token->secret.c_str(), base.c_str());
    } else {
      std::printf("  (could not create an owner token: %s)\n", token.error().message.c_str());
    }
    std::printf("  More tokens:  comptoir token create -c %s --role operator\n\n", config_path.c_str());
    std::printf("Press Ctrl-C to stop.\n");
    std::fflush(stdout);
  };
  return serve(*cfg, hooks);
}

// Registers the webhook URL and the secret Telegram will send back in every call.
int cmd_telegram_set_webhook(const std::string& config_path, const std::string& url) {
  auto cfg = load_config(config_path);
  if (!cfg) return report(cfg.error());
  if (!cfg->channels.telegram) {
    std::fprintf(stderr, "comptoir: channels.telegram is not configured in %s\n", config_path.c_str());
    return kExitUsage;
  }
  if (!url.starts_with("https://") || url.size() > 2048) {
    std::fprintf(stderr, "comptoir: --url must be an https:// URL (Telegram only calls HTTPS webhooks)\n");
    return kExitUsage;
  }
  const auto tg = telegram_settings(*cfg);
  const std::string body = nlohmann::json{{"url", url},
                                          {"secret_token", std::string(tg.secret_token.view())},
                                          {"allowed_updates", {"message", "callback_query"}}}
                               .dump();
  auto transport = channels::make_http_transport(30);
  const auto res = transport->post_json(tg.api_base_url, "/bot" + std::string(tg.bot_token.view()) + "/setWebhook", "", body);
  auto j = nlohmann::json::parse(res.body, nullptr, false);
  if (res.status == 200 && j.is_object() && j.contains("ok") && j["ok"].is_boolean() && j["ok"].get<bool>()) {
    std::printf("webhook set: Telegram will call %s\n", url.c_str());
    return kExitOk;
  }
  const std::string why = !j.is_object()                                                   ? std::string("no answer")
                          : j.contains("description") && j["description"].is_string() ? j["description"].get<std::string>()
                                                                                      : std::string("no description");
  std::fprintf(stderr, "comptoir: Telegram refused the webhook (HTTP %d): %s\n", res.status, why.c_str());
  return kExitFailure;
}

int cmd_rekey(const std::string& config_path, const std::string& new_passphrase_env, bool new_key_file,
              const std::string& keep_old_key) {
  auto cfg = load_config(config_path);
  if (!cfg) return report(cfg.error());
  RekeyOptions options;
  if (!new_passphrase_env.empty()) options.new_passphrase_env = new_passphrase_env;
  options.new_key_file = new_key_file;
  if (!keep_old_key.empty()) options.keep_old_key = fs::path(keep_old_key);
  auto r = rekey_data_dir(*cfg, options);
  if (!r) return report(r.error());
  {
    // The rotation goes into the audit log once the data dir opens again (with the key now in use).
    auto opened = open_audited(*cfg, {}, system_clock(), &r->event);
    if (!opened) {
      std::fprintf(stderr, "comptoir: warning: the rotation could not be recorded in the audit log (%s); a "
                           "completed rotation is recorded when the data dir is next opened\n", opened.error().message.c_str());
    }
  }
  const DataDirPaths paths = DataDirPaths::of(cfg->data_dir);
  const RotationEvent& e = r->event;
  switch (r->kind) {
    case RekeyResult::Kind::undid_interrupted:
      std::printf("found rotation %s of %s interrupted before it was committed, and undid it:\n"
                  "  the old master key is still in use; nothing else was done. Run comptoir rekey again to rotate.\n",
                  e.rotation_id.c_str(), paths.root.c_str());
      return kExitOk;
    case RekeyResult::Kind::finished_interrupted:
      std::printf("found rotation %s of %s interrupted after it was committed, and finished it:\n"
                  "  the new master key (%s) is in use; nothing else was done.\n",
                  e.rotation_id.c_str(), paths.root.c_str(), e.to_source == "key_file" ? "key file" : "passphrase");
      break;
    case RekeyResult::Kind::rotated:
      std::printf("rotated the master key of %s (rotation %s)\n", paths.root.c_str(), e.rotation_id.c_str());
      std::printf("  the database is re-encrypted and %lld subject keys are rewrapped under the new key\n",
                  static_cast<long long>(e.subject_keys_rewrapped));
      std::printf("  carried over unchanged: the blind-index, audit-signing, API-token and web-chat-session keys\n");
      if (e.to_source == "key_file") {
        std::printf("  new master key: the key file %s; back it up now, separately from the data\n",
                    paths.key_file.c_str());
      } else {
        std::printf("  new master key: the passphrase from %s (Argon2id, key.argon2 = %s); keep it safe\n",
                    new_passphrase_env.c_str(), std::string(config::to_string(cfg->key.argon2)).c_str());
      }
      if (e.from_source == "key_file") {
        if (e.old_key_file_kept) {
          std::printf("  old key file: kept at %s (it opens backups made before this rotation)\n", keep_old_key.c_str());
        } else {
          std::printf("  old key file: overwritten and removed\n");
        }
      }
      std::printf("  the old master key no longer opens this data dir\n");
      break;
  }
  if (r->config_changes.empty()) {
    std::printf("  config %s: nothing to change\n", config_path.c_str());
  } else {
    std::printf("  config %s: change it before the next start:\n", config_path.c_str());
    for (const auto& c : r->config_changes) std::printf("    - %s\n", c.c_str());
  }
  return kExitOk;
}

int cmd_version() {
  const auto v = storage::library_versions();
  std::printf("comptoir %s\n", COMPTOIR_VERSION);
  std::printf("SQLCipher %s\n", v.sqlcipher.c_str());
  std::printf("SQLite %s\n", v.sqlite.c_str());
  std::printf("libsodium %s\n", sodium_version_string());
  return kExitOk;
}

}  // namespace

int run_cli(int argc, char** argv) {
  ::umask(077);  // every file Comptoir creates is private to its user
  ensure_sodium();

  CLI::App app{"Comptoir: privacy-first chat commerce for European shops"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("comptoir ") + COMPTOIR_VERSION);

  std::string config_path;
  auto add_config = [&](CLI::App* sub) {
    sub->add_option("-c,--config", config_path, "configuration file (JSON, comments allowed)")->required();
  };

  auto* init = app.add_subcommand("init", "create the data dir, master key and encrypted database, and load a catalog");
  add_config(init);
  std::string catalog_path;
  bool empty_catalog = false;
  auto* catalog_opt = init->add_option("--catalog", catalog_path, "catalog JSON file (default: the built-in example catalog)");
  init->add_flag("--empty-catalog", empty_catalog, "start with no products")->excludes(catalog_opt);
  auto* serve_cmd = app.add_subcommand("serve", "run the server");
  add_config(serve_cmd);
  auto* check = app.add_subcommand("check-config", "validate a configuration file (exit 0 or 2)");
  add_config(check);

  std::string demo_dir = "./demo-data";
  int demo_port = 8080;
  auto* demo = app.add_subcommand("demo", "create a demo data dir on first run and serve it");
  demo->add_option("--data-dir", demo_dir, "demo data dir (default ./demo-data)");
  auto* demo_port_opt = demo->add_option("--port", demo_port, "port (default 8080; 0 = any free port)")
                            ->check(CLI::Range(0, 65535));

  auto* token = app.add_subcommand("token", "manage admin API tokens");
  token->require_subcommand(1);
  std::string role, label;
  bool list_json = false;
  std::string revoke_id;
  auto* tcreate = token->add_subcommand("create", "create a token and print it (once) on stdout");
  add_config(tcreate);
  tcreate->add_option("--role", role, "owner | operator | auditor")->required();
  tcreate->add_option("--label", label, "a note to recognise the token by");
  auto* tlist = token->add_subcommand("list", "list tokens (never their secrets)");
  add_config(tlist);
  tlist->add_flag("--json", list_json, "JSON output");
  auto* trevoke = token->add_subcommand("revoke", "revoke a token by id");
  add_config(trevoke);
  trevoke->add_option("id", revoke_id, "token id (tok_…)")->required();

  auto* rekey = app.add_subcommand(
      "rekey", "rotate the master key: a new key file or passphrase, the database re-encrypted, subject keys rewrapped");
  add_config(rekey);
  std::string new_passphrase_env, keep_old_key;
  bool new_key_file = false;
  auto* new_pass_opt = rekey->add_option("--new-passphrase-env", new_passphrase_env,
                                         "take the new passphrase from this environment variable");
  rekey->add_flag("--new-key-file", new_key_file,
                  "make the new master key a random key file (DATA_DIR/master.key); the default for a key-file data dir")
      ->excludes(new_pass_opt);
  rekey->add_option("--keep-old-key", keep_old_key,
                    "keep a copy of the old key file at this path (mode 0600) instead of destroying it");

  auto audit_commands = add_audit_commands(app);
  const auto run_backup_commands = register_backup_commands(app);

  auto* version = app.add_subcommand("version", "print the version and linked library versions");

  auto* telegram = app.add_subcommand("telegram", "Telegram bot set-up");
  telegram->require_subcommand(1);
  std::string webhook_url;
  auto* set_webhook = telegram->add_subcommand("set-webhook", "register this server's webhook URL and secret with Telegram");
  add_config(set_webhook);
  set_webhook->add_option("--url", webhook_url, "public HTTPS URL of /webhooks/telegram")->required();

  const AccountabilityCommands accountability = register_accountability_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }

  try {
    if (init->parsed()) return cmd_init(config_path, catalog_path, empty_catalog);
    if (serve_cmd->parsed()) return cmd_serve(config_path);
    if (check->parsed()) return cmd_check_config(config_path);
    if (demo->parsed()) {
      return cmd_demo(demo_dir, demo_port_opt->count() > 0 ? std::optional<int>(demo_port) : std::nullopt);
    }
    if (tcreate->parsed()) return cmd_token_create(config_path, role, label);
    if (tlist->parsed()) return cmd_token_list(config_path, list_json);
    if (trevoke->parsed()) return cmd_token_revoke(config_path, revoke_id);
    if (rekey->parsed()) return cmd_rekey(config_path, new_passphrase_env, new_key_file, keep_old_key);
    if (auto rc = run_backup_commands()) return *rc;
    if (version->parsed()) return cmd_version();
    if (auto code = run_audit_commands(*audit_commands)) return *code;
    if (set_webhook->parsed()) return cmd_telegram_set_webhook(config_path, webhook_url);
    if (accountability.parsed()) return accountability.run();
  } catch (const std::exception& e) {
    // A bug, not an expected failure: one line, no stack trace.
    std::fprintf(stderr, "comptoir: internal error: %s\n", e.what());
    return kExitFailure;
  }
  return kExitUsage;
}

}  // namespace comptoir::app

#include "src/app/serve.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "privacy/blind_index.h"
#include "privacy/vault.h"
#include "src/app/audit_setup.h"
#include "src/app/data_dir.h"
#include "src/app/shop_setup.h"
#include "src/channels/hub.h"
#include "src/channels/outbox.h"
#include "src/chat/engine.h"
#include "src/chat/inbox.h"
#include "src/chat/marketing.h"
#include "src/commerce/customers.h"
#include "src/commerce/shop.h"
#include "src/http/webchat_session.h"
#include "src/retention/engine.h"
#include "src/retention/sweeper.h"
#include "src/rights/requests.h"
#include "storage/maintenance_store.h"
#include "storage/subject_key_store.h"
#include "src/common/log.h"
#include "src/http/server.h"
#include "src/rights/erasure_journal.h"
#include "storage/token_store.h"

namespace comptoir::app {

void block_termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

namespace {

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.starts_with("127.");
}

}  // namespace

int serve(const config::Config& cfg, const ServeHooks& hooks) {
  block_termination_signals();
  const DataDirPaths paths = DataDirPaths::of(cfg.data_dir);
  std::error_code ec;
  if (!std::filesystem::is_directory(paths.root, ec)) {
    std::fprintf(stderr, "comptoir: no data dir at %s (run `comptoir init -c CONFIG` first)\n",
                 paths.root.c_str());
    return 1;
  }
  auto messages = load_messages(cfg);
  if (!messages) {
    std::fprintf(stderr, "comptoir: %s\n", messages.error().message.c_str());
    return 2;
  }
  auto privacy_setup = load_privacy(cfg);
  if (!privacy_setup) {
    std::fprintf(stderr, "comptoir: %s\n", privacy_setup.error().message.c_str());
    return 2;
  }
  auto lock = ServeLock::acquire(paths);
  if (!lock) {
    std::fprintf(stderr, "comptoir: %s\n", lock.error().message.c_str());
    return 1;
  }
  OpenDataDirOptions open_opts;
  open_opts.integrity_check = true;
  auto opened = open_audited(cfg, open_opts, system_clock());
  if (!opened) {
    std::fprintf(stderr, "comptoir: %s\n", opened.error().message.c_str());
    return opened.error().code == Errc::config ? 2 : 1;
  }
  OpenedDataDir* dd = &opened->dd;
  storage::Database& db = *dd->db;
  // The tamper-evident audit log (docs/audit-log.md).
  audit::AuditLog& audit_log = *opened->log;
  audit::AuthFailures auth_failures(audit_log, system_clock());
  // The erasure journal beside the database (src/rights/erasure_journal.h): brought in step with
  // the tombstones now and at every housekeeping round, so a restore never misses an erasure.
  rights::ErasureJournal erasure_journal(paths.root / rights::kJournalFileName);
  if (auto n = erasure_journal.sync_from(db, true); !n) {
    log::warn("erasure_journal.sync_failed", {{"error", n.error().message}});
  }
  storage::TokenStore token_store(db);
  access::TokenService tokens(token_store, dd->keys->api_tokens(), system_clock());
  tokens.set_audit(&audit_log);

  http::ServerOptions o;
  o.host = cfg.server.host;
  o.port = cfg.server.port;
  o.threads = cfg.server.threads;
  o.max_queued = cfg.server.max_queued;
  o.max_body_bytes = cfg.server.max_body_bytes;
  o.read_timeout_seconds = cfg.server.timeouts.read_seconds;
  o.write_timeout_seconds = cfg.server.timeouts.write_seconds;
  o.keep_alive_seconds = cfg.server.timeouts.keep_alive_seconds;
  o.webchat_sessions_per_minute = cfg.webchat.sessions_per_minute;
  o.webchat_messages_per_minute = cfg.webchat.messages_per_minute;

  const Clock& clock = system_clock();
  storage::SubjectKeyStore subject_keys(db);
  privacy::Vault vault(subject_keys, dd->keys->key_wrapping(), clock);
  privacy::BlindIndex blind_index(dd->keys->blind_index());
  commerce::CustomerDirectory customers(db, vault, blind_index, clock);
  commerce::Shop shop(db, customers, shop_settings(cfg), clock);
  chat::EngineSettings chat_settings = engine_settings(cfg, cfg.server.port);
  channels::WhatsAppSettings whatsapp = whatsapp_settings(cfg);
  channels::TelegramSettings telegram = telegram_settings(cfg);
  apply_inventory(privacy_setup->inventory, chat_settings, whatsapp, telegram);
  // The version of the privacy notice served at /privacy (a hash of exactly what is served in a
  // language) goes into the consent ledger with every acknowledgement and marketing choice.
  const privacy::Notice& notice = privacy_setup->notice;
  chat_settings.notice_version = [&notice](const std::string& language) { return notice.version(language); };
  chat::Engine engine(db, customers, shop, *messages, chat_settings, clock);
  chat::Inbox inbox(db, customers, clock);
  channels::Outbox outbox(db, customers, *messages, clock);
  auto transport = channels::make_http_transport(15);
  channels::OutboxSettings outbox_settings;
  outbox_settings.senders = cfg.channels.outbox.senders;
  outbox_settings.max_attempts = cfg.channels.outbox.max_attempts;
  channels::OutboxWorker worker(db, customers, whatsapp, telegram, outbox_settings, *transport, clock);
  outbox.set_notifier([&worker] { worker.wake(); });
  channels::ChannelHub hub(db, engine, outbox, whatsapp, telegram, clock);
  if (auto keyed = hub.key_recorded_inbound_ids(); !keyed) {
    std::fprintf(stderr, "comptoir: %s\n", keyed.error().message.c_str());
    return 1;
  } else if (*keyed > 0) {
    log::info("channels.inbound_ids_keyed", {{"count", *keyed}});
  }
  // Messages the shop sends on its own reach the customer in the transaction that caused them:
  // pulled by the web chat, pushed through the outbox on WhatsApp and Telegram.
  const chat::Marketing::Deliver deliver = [&](storage::Tx& tx, const commerce::Customer& c, const chat::Reply& r) -> Status {
    if (c.channel == privacy::Channel::webchat) return inbox.deliver(tx, c, r);
    return outbox.enqueue(tx, c, {r});
  };
  // Order status news, in the same transaction as the change.
  shop.set_status_listener([&](storage::Tx& tx, const storage::OrderRecord& order, const commerce::Customer& c) -> Status {
    return deliver(tx, c, engine.status_notice(order, c.language));
  });
  // Marketing messages, only to customers whose latest marketing record is a live consent.
  chat::Marketing marketing(db, customers, engine, deliver, [&outbox] { outbox.notify(); });
  http::WebchatSessions webchat(dd->keys->webchat_sessions());

  // Data-subject requests: codes and confirmations reach the customer's chat the way status
  // notices do; receipts are signed with the audit key.
  rights::RequestSettings request_settings;
  request_settings.export_context.shop_name = cfg.shop.name;
  request_settings.export_context.shop_contact = cfg.shop.contact;
  request_settings.languages = messages->languages();
  request_settings.notice_version = chat_settings.notice_version;
  request_settings.after_commit = [&outbox, &erasure_journal, &db] {
    outbox.notify();
    // An erasure is in the journal at once, not only at the next housekeeping round, so that
    // even losing the database minutes later cannot bring the person back from a backup.
    if (auto n = erasure_journal.sync_from(db, false); !n) {
      log::warn("erasure_journal.sync_failed", {{"error", n.error().message}});
    }
  };
  rights::RequestService requests(
      db, customers, engine.consent(), privacy_setup->inventory, blind_index, audit_log, dd->keys->api_tokens(),
      dd->keys->audit_signing_seed(),
      [&](storage::Tx& tx, const commerce::Customer& c, const std::string& key,
          const std::vector<std::pair<std::string, std::string>>& values) -> Status {
        chat::Reply r;
        r.text = messages->get(c.language).text(key, values);
        return deliver(tx, c, r);
      },
      request_settings, clock);
  // Requests from inside the chat: the chat proves who is writing.
  engine.set_rights_handler([&](storage::Tx& tx, const commerce::Customer& c, const std::string& type) -> Result<chat::RightsOutcome> {
    rights::RequestType t = rights::RequestType::access;
    if (!rights::parse_request_type(type, t)) return fail(Errc::internal, "unknown request type from the chat");
    auto done = requests.execute_in_chat(tx, c, t);
    if (!done) return std::unexpected(done.error());
    chat::RightsOutcome out;
    out.code = done->code;
    if (!done->export_token.empty()) out.export_path = "/privacy/v1/exports/" + done->export_token;
    out.export_minutes = static_cast<int>(request_settings.export_validity.count() / 60);
    return out;
  });
  requests.set_notify_erased([&](storage::Tx& tx, privacy::Channel channel, const std::string& address,
                                 const std::string& language, const std::string& key,
                                 const std::vector<std::pair<std::string, std::string>>& values) -> Status {
    chat::Reply r;
    r.text = messages->get(language).text(key, values);
    return outbox.enqueue_detached(tx, channel, address, language, {r});
  });

  http::Services services;
  services.audit = &audit_log;
  services.audit_log = &audit_log;
  services.auth_failures = &auth_failures;
  services.requests = &requests;
  services.tokens = &tokens;
  services.clock = &clock;
  services.ready = [&db] { return db.ping(); };
  services.engine = &engine;
  services.inbox = &inbox;
  services.shop = &shop;
  services.webchat = &webchat;
  services.hub = &hub;
  services.consent = &engine.consent();
  services.marketing = &marketing;
  services.default_language = cfg.shop.default_language;
  services.notice = &privacy_setup->notice;
  services.inventory = &privacy_setup->inventory;
  services.shop_name = cfg.shop.name;
  services.shop_contact = cfg.shop.contact;

  // Retention (docs/operations.md#retention): the inventory's rules applied at once and then
  // every retention.sweep_interval_seconds, in transactions of retention.batch_size records.
  retention::Engine retention_engine(db, privacy_setup->inventory, vault, audit_log,
                                     retention::Settings{.batch_size = cfg.retention.batch_size, .record_empty_runs = false});
  retention::Sweeper sweeper(retention_engine, clock, std::chrono::seconds(cfg.retention.sweep_interval_seconds));

  http::Server server(o, services);
  auto port = server.bind();
  if (!port) {
    std::fprintf(stderr, "comptoir: %s\n", port.error().message.c_str());
    return 1;
  }
  if (cfg.shop.public_url.empty()) engine.set_public_url(default_public_url(cfg, *port));
  log::info("startup", {{"version", COMPTOIR_VERSION},
                        {"host", cfg.server.host},
                        {"port", *port},
                        {"threads", cfg.server.threads},
                        {"max_queued", cfg.server.max_queued},
                        {"max_body_bytes", static_cast<std::uint64_t>(cfg.server.max_body_bytes)},
                        {"master_source", cfg.key.uses_passphrase() ? "passphrase" : "key_file"},
                        {"schema_version", db.schema_version()},
                        {"inventory", cfg.privacy.inventory_file.empty() ? std::string("built-in") : std::string("file")},
                        {"profile_names", chat_settings.keep_profile_name},
                        {"transcripts", chat_settings.keep_transcript},
                        {"log_level", std::string(log::to_string(cfg.log.level))}});
  {
    // Startup with its effective configuration: settings only, never a secret, a path or
    // anything about a person.
    audit::Event e;
    e.action = "server.started";
    e.resource = "server";
    e.purpose = "security";
    e.details = {{"version", COMPTOIR_VERSION},
                 {"host", cfg.server.host},
                 {"port", std::to_string(*port)},
                 {"threads", std::to_string(cfg.server.threads)},
                 {"max_queued", std::to_string(cfg.server.max_queued)},
                 {"max_body_bytes", std::to_string(cfg.server.max_body_bytes)},
                 {"master_source", cfg.key.uses_passphrase() ? "passphrase" : "key_file"},
                 {"argon2", std::string(config::to_string(cfg.key.argon2))},
                 {"schema_version", std::to_string(db.schema_version())},
                 {"inventory", cfg.privacy.inventory_file.empty() ? "built-in" : "file"},
                 {"notice", cfg.privacy.notice_dir.empty() ? "built-in" : "file"},
                 {"profile_names", chat_settings.keep_profile_name ? "kept" : "not kept"},
                 {"transcripts", chat_settings.keep_transcript ? "kept" : "not kept"},
                 {"whatsapp", whatsapp.enabled ? "on" : "off"},
                 {"telegram", telegram.enabled ? "on" : "off"},
                 {"webchat_sessions_per_minute", std::to_string(cfg.webchat.sessions_per_minute)},
                 {"webchat_messages_per_minute", std::to_string(cfg.webchat.messages_per_minute)},
                 {"auth_failures_per_minute", std::to_string(o.auth_failures_per_minute)},
                 {"audit_checkpoint_every_events", std::to_string(cfg.audit.checkpoint_every_events)},
                 {"audit_checkpoint_every_seconds", std::to_string(cfg.audit.checkpoint_every_seconds)},
                 {"log_level", std::string(log::to_string(cfg.log.level))}};
    if (auto st = audit_log.record(e); !st) {
      std::fprintf(stderr, "comptoir: cannot write the audit log: %s\n", st.error().message.c_str());
      return 1;
    }
  }
  const auto& controller = privacy_setup->inventory.controller;
  if (controller.email.empty() && cfg.shop.contact.empty()) {
    log::warn("privacy.no_contact", {{"advice", "the privacy notice must say how to reach the shop: set shop.contact in the "
                                                "config or controller.email in the data inventory (docs/privacy.md)"}});
  }
  if (controller.address.empty() && !is_loopback(cfg.server.host)) {
    log::warn("privacy.no_controller_address",
              {{"advice", "the privacy notice should give the controller's legal name and postal address: set "
                          "controller.name and controller.address in the data inventory (docs/privacy.md)"}});
  }
  if (!is_loopback(cfg.server.host)) {
    log::warn("server.exposed", {{"host", cfg.server.host},
                                 {"advice", "serve the Internet through a TLS reverse proxy; see docs/operations.md"}});
  }
  worker.start();  // sends whatever a previous run left in the outbox, then new replies
  sweeper.start();
  log::info("listening", {{"host", cfg.server.host},
                          {"port", *port},
                          {"whatsapp", whatsapp.enabled},
                          {"telegram", telegram.enabled}});
  if (hooks.on_listening) hooks.on_listening(*port, tokens);

  std::atomic<bool> done{false};
  // Housekeeping every ten minutes: platform message ids past Meta's 7-day retry period,
  // finished outbox entries after 30 days, conversation states (which may hold a half-typed
  // delivery address) once they have expired.
  std::thread housekeeping([&] {
    storage::MaintenanceStore maintenance(db);
    const auto expiry = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::minutes(cfg.chat.inactivity_minutes)).count();
    auto next = std::chrono::steady_clock::now();
    auto next_audit = std::chrono::steady_clock::now();
    while (!done.load()) {
      // The audit log: failed authentications counted in a window that has passed, and a signed
      // checkpoint when audit.checkpoint_every_seconds have passed since the last one.
      if (std::chrono::steady_clock::now() >= next_audit) {
        auth_failures.flush();
        if (auto c = audit_log.checkpoint_if_due(); !c) log::warn("audit.checkpoint_failed", {{"error", c.error().message}});
        next_audit = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      }
      if (std::chrono::steady_clock::now() >= next) {
        const std::int64_t now = unix_seconds(clock.now());
        auto pruned = maintenance.prune(now - 8 * 86400, now - 30 * 86400, now - expiry);
        if (!pruned) log::warn("maintenance.failed", {{"error", pruned.error().message}});
        else if (pruned->inbound_ids + pruned->outbox_entries + pruned->conversations > 0)
          log::info("maintenance.pruned", {{"inbound_ids", pruned->inbound_ids},
                                           {"outbox_entries", pruned->outbox_entries},
                                           {"conversations", pruned->conversations}});
        if (auto n = erasure_journal.sync_from(db, false); !n) {
          log::warn("erasure_journal.sync_failed", {{"error", n.error().message}});
        } else if (*n > 0) {
          log::info("erasure_journal.synced", {{"added", static_cast<std::uint64_t>(*n)}});
        }
        next = std::chrono::steady_clock::now() + std::chrono::minutes(10);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  std::thread signals([&] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    const timespec tick{0, 200 * 1000 * 1000};
    while (!done.load()) {
      const int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig == SIGINT || sig == SIGTERM) {
        log::info("shutdown.requested", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
        server.stop();
        return;
      }
    }
  });
  auto st = server.run();
  done = true;
  signals.join();
  housekeeping.join();
  sweeper.stop();
  server.stop();
  worker.stop();
  {
    // The last events of this run, and a checkpoint that signs them.
    auth_failures.flush(true);
    audit::Event e;
    e.action = "server.stopped";
    e.resource = "server";
    e.purpose = "security";
    e.outcome = st ? "success" : "failure";
    if (auto r = audit_log.record(e); !r) log::error("audit.record_failed", {{"action", e.action}, {"error", r.error().message}});
    if (auto c = audit_log.checkpoint(); !c) log::error("audit.checkpoint_failed", {{"error", c.error().message}});
  }
  db.close();
  if (!st) {
    std::fprintf(stderr, "comptoir: %s\n", st.error().message.c_str());
    return 1;
  }
  log::info("shutdown.complete");
  return 0;
}

}  // namespace comptoir::app

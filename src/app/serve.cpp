#include "src/app/serve.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "src/app/data_dir.h"
#include "src/common/log.h"
#include "src/http/server.h"
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
  auto lock = ServeLock::acquire(paths);
  if (!lock) {
    std::fprintf(stderr, "comptoir: %s\n", lock.error().message.c_str());
    return 1;
  }
  OpenDataDirOptions open_opts;
  open_opts.integrity_check = true;
  auto dd = open_data_dir(cfg, open_opts);
  if (!dd) {
    std::fprintf(stderr, "comptoir: %s\n", dd.error().message.c_str());
    return dd.error().code == Errc::config ? 2 : 1;
  }
  storage::Database& db = *dd->db;
  storage::TokenStore token_store(db);
  access::TokenService tokens(token_store, dd->keys->api_tokens(), system_clock());

  http::ServerOptions o;
  o.host = cfg.server.host;
  o.port = cfg.server.port;
  o.threads = cfg.server.threads;
  o.max_queued = cfg.server.max_queued;
  o.max_body_bytes = cfg.server.max_body_bytes;
  o.read_timeout_seconds = cfg.server.timeouts.read_seconds;
  o.write_timeout_seconds = cfg.server.timeouts.write_seconds;
  o.keep_alive_seconds = cfg.server.timeouts.keep_alive_seconds;

  http::Services services;
  services.tokens = &tokens;
  services.clock = &system_clock();
  services.ready = [&db] { return db.ping(); };

  http::Server server(o, services);
  auto port = server.bind();
  if (!port) {
    std::fprintf(stderr, "comptoir: %s\n", port.error().message.c_str());
    return 1;
  }
  log::info("startup", {{"version", COMPTOIR_VERSION},
                        {"host", cfg.server.host},
                        {"port", *port},
                        {"threads", cfg.server.threads},
                        {"max_queued", cfg.server.max_queued},
                        {"max_body_bytes", static_cast<std::uint64_t>(cfg.server.max_body_bytes)},
                        {"master_source", cfg.key.uses_passphrase() ? "passphrase" : "key_file"},
                        {"schema_version", db.schema_version()},
                        {"log_level", std::string(log::to_string(cfg.log.level))}});
  if (!is_loopback(cfg.server.host)) {
    log::warn("server.exposed", {{"host", cfg.server.host},
                                 {"advice", "serve the Internet through a TLS reverse proxy; see docs/operations.md"}});
  }
  log::info("listening", {{"host", cfg.server.host}, {"port", *port}});
  if (hooks.on_listening) hooks.on_listening(*port, tokens);

  std::atomic<bool> done{false};
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
  server.stop();
  db.close();
  if (!st) {
    std::fprintf(stderr, "comptoir: %s\n", st.error().message.c_str());
    return 1;
  }
  log::info("shutdown.complete");
  return 0;
}

}  // namespace comptoir::app

// retention_bench: web chat latency while the retention sweeper inside `comptoir serve` removes a
// large backlog of expired records. It creates a data dir in a temp folder (`comptoir init`),
// seeds --records expired records in one transaction of raw inserts (70% unlinked consent records
// past their five years, 30% orders kept for the books whose legal hold has ended, each order with
// one line and one VAT line), starts `comptoir serve` (whose sweeper starts at once), and while the
// sweep runs keeps --clients web chat sessions busy (closed loop, one message after the other),
// recording the latency of every message. It stops when the server logs "retention.swept" and
// prints the seeding time, the sweep's duration and counts, and the latency percentiles of the
// messages answered during the sweep. Figures and the command: docs/performance.md.
//
// A program that prints figures, not a test. Exit codes: 0 the sweep removed every seeded record
// and every message was answered 200; 1 otherwise; 2 usage or setup problem.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlcipher/sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "src/app/data_dir.h"
#include "src/common/env.h"
#include "src/common/log.h"
#include "src/config/config.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Steady = std::chrono::steady_clock;

struct Options {
  std::string binary;
  long records = 1000000;
  int clients = 4;
  int batch = 500;
  std::string tmpdir = "/var/tmp";
  bool keep = false;
  int baseline = 0;  // seconds of the same load with nothing to sweep (no seeding)
};

void usage() {
  std::fprintf(stderr,
               "usage: retention_bench --binary PATH/comptoir [--records N] [--clients N] [--batch N] [--tmpdir DIR] "
               "[--keep] [--baseline SECONDS]\n");
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

pid_t spawn(const std::vector<std::string>& argv, const fs::path& log) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  std::vector<char*> cargs;
  for (const auto& a : argv) cargs.push_back(const_cast<char*>(a.c_str()));
  cargs.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, cargs[0], &fa, &attr, cargs.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc == 0 ? pid : -1;
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The first log line (JSON) with "event":`event`, parsed; null when none yet.
json log_event(const fs::path& log, const std::string& event) {
  std::istringstream in(read_file(log));
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("\"event\":\"" + event + "\"") == std::string::npos) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_object()) return j;
  }
  return nullptr;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::min<double>(static_cast<double>(v.size() - 1), p / 100.0 * static_cast<double>(v.size())));
  return v[i];
}

// One transaction of raw inserts: the fastest way to get a backlog on disk.
bool seed(comptoir::storage::Database& db, long records, std::int64_t now) {
  const long orders = records * 3 / 10 / 3;         // each order is three records
  const long consents = records - orders * 3;
  const std::int64_t six_years_ago = now - 6 * 366 * 86400LL, twelve_years_ago = now - 12 * 366 * 86400LL;
  const std::string version(64, 'e');
  bool good = true;
  db.run([&](sqlite3* h) {
    auto exec = [&](const char* sql) {
      if (sqlite3_exec(h, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
        std::fprintf(stderr, "seed: %s: %s\n", sql, sqlite3_errmsg(h));
        good = false;
      }
    };
    auto prepare = [&](const char* sql) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v2(h, sql, -1, &s, nullptr) != SQLITE_OK) {
        std::fprintf(stderr, "seed: %s\n", sqlite3_errmsg(h));
        good = false;
      }
      return s;
    };
    auto step = [&](sqlite3_stmt* s) {
      if (sqlite3_step(s) != SQLITE_DONE) {
        std::fprintf(stderr, "seed: %s\n", sqlite3_errmsg(h));
        good = false;
      }
      sqlite3_reset(s);
    };
    exec("BEGIN");
    sqlite3_stmt* c = prepare(
        "INSERT INTO consent_records (customer_id, kind, notice_version, language, channel, created_at) "
        "VALUES (NULL, 'notice_acknowledged', ?1, 'en', 'webchat', ?2)");
    for (long i = 0; good && i < consents; ++i) {
      sqlite3_bind_text(c, 1, version.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_int64(c, 2, six_years_ago + i % 86400);
      step(c);
    }
    sqlite3_finalize(c);
    sqlite3_stmt* o = prepare(
        "INSERT INTO orders (id, number, customer_id, status, fulfilment, currency, language, items_total, delivery_fee, "
        "total, vat_total, created_at, updated_at, restricted_until) VALUES (?1, ?2, NULL, 'completed', 'pickup', 'EUR', "
        "'en', 420, 0, 420, 22, ?3, ?3, ?4)");
    sqlite3_stmt* l = prepare(
        "INSERT INTO order_lines (order_id, line_no, sku, name, unit_price, quantity, vat_rate, line_total) "
        "VALUES (?1, 1, 'BRD-BAGUETTE', 'Baguette', 210, 2, 550, 420)");
    sqlite3_stmt* v = prepare("INSERT INTO order_vat (order_id, vat_rate, net, vat, gross) VALUES (?1, 550, 398, 22, 420)");
    for (long i = 1; good && i <= orders; ++i) {
      char number[32];
      std::snprintf(number, sizeof number, "C-%09ld", i);
      sqlite3_bind_int64(o, 1, i);
      sqlite3_bind_text(o, 2, number, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(o, 3, twelve_years_ago);
      sqlite3_bind_int64(o, 4, now - 86400);
      step(o);
      sqlite3_bind_int64(l, 1, i);
      step(l);
      sqlite3_bind_int64(v, 1, i);
      step(v);
    }
    sqlite3_finalize(o);
    sqlite3_finalize(l);
    sqlite3_finalize(v);
    exec(good ? "COMMIT" : "ROLLBACK");
    return 0;
  });
  return good;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--binary") o.binary = next();
    else if (a == "--records") o.records = std::atol(next().c_str());
    else if (a == "--clients") o.clients = std::atoi(next().c_str());
    else if (a == "--batch") o.batch = std::atoi(next().c_str());
    else if (a == "--tmpdir") o.tmpdir = next();
    else if (a == "--keep") o.keep = true;
    else if (a == "--baseline") o.baseline = std::atoi(next().c_str());
    else {
      usage();
      return 2;
    }
  }
  if (o.binary.empty() || o.records < 10 || o.clients < 1 || o.batch < 1) {
    usage();
    return 2;
  }
  o.binary = fs::absolute(o.binary).string();
  comptoir::log::set_level(comptoir::log::Level::warn);
  char tmpl[4096];
  std::snprintf(tmpl, sizeof tmpl, "%s/retention-bench-XXXXXX", o.tmpdir.c_str());
  if (mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    return 2;
  }
  const fs::path dir = tmpl;
  const fs::path config = dir / "comptoir.json", log = dir / "server.log";
  {
    std::ofstream(config) << "{\"data_dir\": \"" << (dir / "data").string() << "\",\n"
                          << " \"server\": {\"host\": \"127.0.0.1\", \"port\": 0},\n"
                          << " \"webchat\": {\"messages_per_minute\": 1000000, \"sessions_per_minute\": 100000},\n"
                          << " \"retention\": {\"sweep_interval_seconds\": 604800, \"batch_size\": " << o.batch << "},\n"
                          << " \"log\": {\"level\": \"info\"}}\n";
  }
  if (wait_exit(spawn({o.binary, "init", "-c", config.string()}, dir / "init.log")) != 0) {
    std::fprintf(stderr, "comptoir init failed: %s\n", read_file(dir / "init.log").c_str());
    return 2;
  }
  auto cfg = comptoir::config::load(config);
  if (!cfg) return 2;
  const std::int64_t now = comptoir::unix_seconds(comptoir::system_clock().now());
  const auto seed_start = Steady::now();
  if (o.baseline == 0) {
    auto dd = comptoir::app::open_data_dir(*cfg, {});
    if (!dd) {
      std::fprintf(stderr, "open: %s\n", dd.error().message.c_str());
      return 2;
    }
    if (!seed(*dd->db, o.records, now)) return 2;
    dd->db->close();
  }
  const double seed_s = std::chrono::duration<double>(Steady::now() - seed_start).count();
  if (o.baseline == 0) std::printf("seeded %ld expired records in one transaction in %.1f s (%.0f records/s); database %.0f MB\n", o.records,
              seed_s, static_cast<double>(o.records) / seed_s,
              static_cast<double>(fs::file_size(dir / "data" / "comptoir.db")) / 1e6);

  const pid_t server = spawn({o.binary, "serve", "-c", config.string()}, log);
  if (server < 0) return 2;
  int port = 0;
  for (int i = 0; i < 3000 && port == 0; ++i) {
    const json l = log_event(log, "listening");
    if (l.is_object()) port = l.value("port", 0);
    else std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (port == 0) {
    std::fprintf(stderr, "the server did not start: %s\n", read_file(log).c_str());
    kill(server, SIGTERM);
    wait_exit(server);
    return 2;
  }

  std::atomic<bool> stop{false};
  std::atomic<long> errors{0};
  std::mutex mutex;
  std::vector<double> latencies_ms;
  std::vector<std::thread> clients;
  const auto load_start = Steady::now();
  for (int c = 0; c < o.clients; ++c) {
    clients.emplace_back([&] {
      httplib::Client http("127.0.0.1", port);
      http.set_keep_alive(true);
      http.set_tcp_nodelay(true);  // without it, every answer waits ~40 ms for a delayed ACK
      http.set_read_timeout(30, 0);
      auto s = http.Post("/webchat/v1/sessions", "", "application/json");
      if (!s || s->status != 201) {
        if (!s || s->status != 200) {
          errors++;
          return;
        }
      }
      const json sj = json::parse(s->body, nullptr, false);
      const std::string session = sj.value("session", "");
      const httplib::Headers auth = {{"Authorization", "Bearer " + session}};
      std::vector<double> mine;
      const char* texts[] = {"hello", "menu", "bonjour"};
      for (long i = 0; !stop.load(); ++i) {
        const auto t = Steady::now();
        auto r = http.Post("/webchat/v1/messages", auth, json{{"text", texts[i % 3]}}.dump(), "application/json");
        mine.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t).count());
        if (!r || r->status != 200) errors++;
      }
      std::lock_guard lock(mutex);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  json swept;
  if (o.baseline > 0) {
    std::this_thread::sleep_for(std::chrono::seconds(o.baseline));
  } else while (!(swept = log_event(log, "retention.swept")).is_object()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (std::chrono::duration<double>(Steady::now() - load_start).count() > 3600) break;
  }
  stop = true;
  for (auto& t : clients) t.join();
  const double load_s = std::chrono::duration<double>(Steady::now() - load_start).count();
  kill(server, SIGTERM);
  const int server_exit = wait_exit(server);

  if (o.baseline > 0) {
    std::vector<double> v = latencies_ms;
    std::sort(v.begin(), v.end());
    const double p50 = percentile(v, 50), p90 = percentile(v, 90), p99 = percentile(v, 99), p999 = percentile(v, 99.9);
    std::printf("baseline, nothing to sweep: %zu messages from %d sessions in %.1f s (%.0f/s), %ld errors\n",
                latencies_ms.size(), o.clients, load_s, static_cast<double>(latencies_ms.size()) / load_s, errors.load());
    std::printf("latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n", p50, p90, p99, p999,
                v.empty() ? 0.0 : v.back());
    if (!o.keep) fs::remove_all(dir);
    return errors.load() == 0 && server_exit == 0 ? 0 : 1;
  }
  if (!swept.is_object()) {
    std::fprintf(stderr, "no retention.swept line within an hour\n");
    return 1;
  }
  const long removed = swept.value("erased", 0L) + swept.value("released", 0L);
  std::printf("sweep: %ld records removed (%ld erased, %ld released) in %.1f s, %ld transactions of <= %d records\n",
              removed, swept.value("erased", 0L), swept.value("released", 0L), static_cast<double>(swept.value("ms", 0L)) / 1000.0,
              swept.value("transactions", 0L), o.batch);
  std::printf("web chat during the sweep: %zu messages from %d sessions in %.1f s (%.0f/s), %ld errors\n",
              latencies_ms.size(), o.clients, load_s, static_cast<double>(latencies_ms.size()) / load_s, errors.load());
  std::vector<double> v = latencies_ms;
  std::sort(v.begin(), v.end());
  const double p50 = percentile(v, 50), p90 = percentile(v, 90), p99 = percentile(v, 99), p999 = percentile(v, 99.9);
  std::printf("latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n", p50, p90, p99, p999,
              v.empty() ? 0.0 : v.back());
  std::printf("server exit code %d; data in %s%s\n", server_exit, dir.c_str(), o.keep ? " (kept)" : " (removed)");
  if (!o.keep) fs::remove_all(dir);
  return removed == o.records && errors.load() == 0 && server_exit == 0 ? 0 : 1;
}

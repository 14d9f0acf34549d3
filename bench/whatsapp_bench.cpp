// whatsapp_bench: signed WhatsApp webhooks for N simulated customers doing full checkouts
// against a Comptoir server it starts itself (--spawn), with a built-in Graph API sink that
// accepts every reply, and — in the same run — a bare cpp-httplib echo server as the ceiling.
// Prints inbound messages/s, acknowledgement latency (p50/p99), replies delivered, and the ratio
// to the ceiling. With --rate R it offers R messages/s open-loop instead of as fast as possible.
// A program that prints figures, not a test. Exit codes: 0 all acknowledged and every reply
// delivered; 1 something was lost or refused; 2 usage or setup problem.
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

extern char** environ;

namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
namespace fs = std::filesystem;

const std::string kSecret = "bench-app-secret-0123456789";
const std::string kPhoneId = "106540352242922";

std::string hmac_header(const std::string& body) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(kSecret.data()), kSecret.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(body.data()), body.size());
  crypto_auth_hmacsha256_final(&st, mac);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned char c : mac) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

std::string webhook(const std::string& from, const std::string& id, const json& message_part) {
  json m = message_part;
  m["from"] = from;
  m["id"] = id;
  m["timestamp"] = std::to_string(std::time(nullptr));
  json body = {{"object", "whatsapp_business_account"},
               {"entry", json::array({{{"id", "0"},
                                       {"changes", json::array({{{"field", "messages"},
                                                                 {"value", {{"messaging_product", "whatsapp"},
                                                                            {"metadata", {{"display_phone_number", "15550000000"},
                                                                                          {"phone_number_id", kPhoneId}}},
                                                                            {"contacts", json::array({{{"wa_id", from}}})},
                                                                            {"messages", json::array({m})}}}}})}}})}};
  return body.dump();
}

// The eight messages of one full checkout.
std::vector<json> checkout_script() {
  auto opt = [](const std::string& id) {
    return json{{"type", "interactive"}, {"interactive", {{"type", "button_reply"}, {"button_reply", {{"id", id}, {"title", id}}}}}};
  };
  return {json{{"type", "text"}, {"text", {{"body", "Hello"}}}}, opt("browse"), opt("cat:bakery"), opt("prod:BRD-BAGUETTE"),
          opt("add:BRD-BAGUETTE:1"), opt("checkout"), opt("ful:pickup"), opt("confirm")};
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1));
  return v[i];
}

struct Args {
  std::string binary;
  int customers = 200;
  int threads = 16;
  int rate = 0;       // messages/s offered, 0 = as fast as possible
  int seconds = 10;   // with --rate
  bool yield = true;  // the load generator and the sink run as SCHED_BATCH (see main)
  bool keep = false;  // keep the data dir and the server's log (serve.err) for a look afterwards
};

// One webhook delivery as Meta sends it: the body and its X-Hub-Signature-256, signed once when
// the scripts are built (Meta signs on its side; this program's CPU is not the server's).
struct Delivery {
  std::string body, signature;
};
using Scripts = std::vector<std::vector<Delivery>>;

// A message id as Meta makes them ("wamid." and base64 of an opaque value): random, so that the
// server's indexes on message ids see what they would see in production, not ascending keys.
std::string meta_like_id() {
  // A per-thread generator seeded once: the sink answers thousands of these a second, and the
  // ids only need to look random to the server's indexes.
  thread_local std::mt19937_64 rng([] {
    std::uint64_t seed = 0;
    randombytes_buf(&seed, sizeof seed);
    return seed;
  }());
  unsigned char raw[36];
  for (std::size_t i = 0; i < sizeof raw; i += 8) {
    const std::uint64_t r = rng();
    std::memcpy(raw + i, &r, std::min<std::size_t>(8, sizeof raw - i));
  }
  char b64[64];
  sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
  return std::string("wamid.HBgL") + b64;
}

struct Server {
  pid_t pid = -1;
  int port = 0;
  fs::path dir;
  std::string owner_token;
};

// Comptoir runs with the default scheduling policy even when this program does not (--yield).
struct DefaultPolicy {
  posix_spawnattr_t attr;
  DefaultPolicy() {
    posix_spawnattr_init(&attr);
    sched_param p{};
    posix_spawnattr_setschedpolicy(&attr, SCHED_OTHER);
    posix_spawnattr_setschedparam(&attr, &p);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSCHEDULER);
  }
  ~DefaultPolicy() { posix_spawnattr_destroy(&attr); }
};

int run(const std::vector<std::string>& args, const fs::path& out) {
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, (out.string() + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  DefaultPolicy policy;
  if (posix_spawn(&pid, argv[0], &fa, &policy.attr, argv.data(), environ) != 0) return -1;
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<Server> start_comptoir(const Args& a, int sink_port) {
  Server s;
  char tmpl[] = "/tmp/comptoir-wabench-XXXXXX";
  if (!mkdtemp(tmpl)) return std::nullopt;
  s.dir = tmpl;
  const fs::path cfg = s.dir / "comptoir.json";
  {
    std::ofstream c(cfg);
    c << json{{"data_dir", "data"},
              {"server", {{"host", "127.0.0.1"}, {"port", 0}, {"threads", 128}, {"max_queued", 1024}}},
              {"log", {{"level", "warn"}}},
              {"channels", {{"whatsapp", {{"app_secret", kSecret}, {"verify_token", "bench-verify-token-123"},
                                          {"access_token", "bench-access-token-123"}, {"phone_number_id", kPhoneId},
                                          {"graph_base_url", "http://127.0.0.1:" + std::to_string(sink_port) + "/v21.0"}}},
                            {"outbox", {{"senders", 16}}}}}}
             .dump(2);
  }
  fs::permissions(cfg, fs::perms::owner_read | fs::perms::owner_write);
  if (run({a.binary, "init", "-c", cfg.string()}, s.dir / "init.out") != 0) return std::nullopt;
  if (run({a.binary, "token", "create", "-c", cfg.string(), "--role", "owner"}, s.dir / "token.out") != 0) return std::nullopt;
  s.owner_token = slurp(s.dir / "token.out");
  while (!s.owner_token.empty() && (s.owner_token.back() == '\n')) s.owner_token.pop_back();
  std::string log_level = "info";
  {
    // The listening line is logged at info: start with info so the port can be read.
    json c = json::parse(slurp(cfg));
    c["log"]["level"] = "info";
    std::ofstream(cfg) << c.dump(2);
  }
  std::vector<std::string> args = {a.binary, "serve", "-c", cfg.string()};
  std::vector<char*> argv;
  for (auto& x : args) argv.push_back(x.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, (s.dir / "serve.err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  DefaultPolicy policy;
  if (posix_spawn(&s.pid, argv[0], &fa, &policy.attr, argv.data(), environ) != 0) return std::nullopt;
  posix_spawn_file_actions_destroy(&fa);
  const std::regex re(R"("event":"listening"[^\n]*"port":([0-9]+))");
  for (int i = 0; i < 3000; ++i) {
    std::smatch m;
    const std::string err = slurp(s.dir / "serve.err");
    if (std::regex_search(err, m, re)) {
      s.port = std::stoi(m[1]);
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

struct Stats {
  std::vector<double> ms;
  long errors = 0;
};

// Sends `bodies[i]` for every i assigned to this thread, recording latency; open-loop pacing
// when `interval` > 0.
void drive(const std::string& host, int port, const Scripts& per_customer,
           int thread_index, int threads, Stats& st, double interval_s) {
  httplib::Client cli(host, port);
  cli.set_keep_alive(true);
  cli.set_tcp_nodelay(true);
  cli.set_read_timeout(30, 0);
  const auto start = SteadyClock::now();
  long sent = 0;
  // Customers of this thread, one message each in turn (a customer's messages stay in order).
  std::vector<std::size_t> mine;
  for (std::size_t c = static_cast<std::size_t>(thread_index); c < per_customer.size(); c += static_cast<std::size_t>(threads)) mine.push_back(c);
  for (std::size_t step = 0; !mine.empty() && step < per_customer[mine[0]].size(); ++step) {
    for (std::size_t c : mine) {
      if (interval_s > 0) {
        const auto due = start + std::chrono::duration<double>(interval_s * static_cast<double>(sent));
        std::this_thread::sleep_until(due);
      }
      const Delivery& d = per_customer[c][step];
      const auto t0 = SteadyClock::now();
      auto res = cli.Post("/webhooks/whatsapp", {{"X-Hub-Signature-256", d.signature}}, d.body, "application/json");
      st.ms.push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
      if (!res || res->status != 200) ++st.errors;
      ++sent;
    }
  }
}

struct Phase {
  long messages = 0;
  double seconds = 0;
  SteadyClock::time_point start;
  std::vector<double> ms;
  long errors = 0;
};

Phase load(const std::string& host, int port, const Scripts& scripts, int threads,
           int rate) {
  std::vector<Stats> stats(static_cast<std::size_t>(threads));
  std::vector<std::thread> ts;
  const double interval = rate > 0 ? static_cast<double>(threads) / rate : 0.0;
  const auto t0 = SteadyClock::now();
  Phase p;
  p.start = t0;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] { drive(host, port, scripts, t, threads, stats[static_cast<std::size_t>(t)], interval); });
  }
  for (auto& t : ts) t.join();
  p.seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  for (auto& s : stats) {
    p.ms.insert(p.ms.end(), s.ms.begin(), s.ms.end());
    p.errors += s.errors;
  }
  p.messages = static_cast<long>(p.ms.size());
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
    if (k == "--spawn") a.binary = next();
    else if (k == "--customers") a.customers = std::stoi(next());
    else if (k == "--threads") a.threads = std::stoi(next());
    else if (k == "--rate") a.rate = std::stoi(next());
    else if (k == "--seconds") a.seconds = std::stoi(next());
    else if (k == "--no-yield") a.yield = false;
    else if (k == "--keep") a.keep = true;
    else {
      std::fprintf(stderr, "usage: whatsapp_bench --spawn build/comptoir [--customers N] [--threads T] [--rate R --seconds S] [--no-yield] [--keep]\n");
      return 2;
    }
  }
  if (a.binary.empty() || sodium_init() < 0) {
    std::fprintf(stderr, "whatsapp_bench: --spawn PATH_TO_COMPTOIR is required\n");
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  // This program stands in for Meta: its webhook senders and its Graph API, which do not run on
  // the merchant's machine. Here they share its two cores with Comptoir, so by default they run
  // as SCHED_BATCH (inherited by every thread started below, not by Comptoir): they get their
  // share of the CPU, but a woken client or sink thread does not preempt Comptoir's database
  // writer in the middle of a commit. --no-yield runs them with the default policy.
  if (a.yield) {
    sched_param p{};
    if (sched_setscheduler(0, SCHED_BATCH, &p) != 0) a.yield = false;
  }

  // The Graph API sink: accepts every message like Meta does.
  httplib::Server sink;
  std::atomic<long> delivered{0};
  std::atomic<SteadyClock::rep> last_delivery{0};  // steady clock ticks
  sink.Post(R"(/v21\.0/[0-9]+/messages)", [&](const httplib::Request&, httplib::Response& res) {
    ++delivered;
    last_delivery = SteadyClock::now().time_since_epoch().count();
    res.set_content(R"({"messaging_product":"whatsapp","messages":[{"id":")" + meta_like_id() + "\"}]}", "application/json");
  });
  sink.set_tcp_nodelay(true);
  // httplib's default pool (8 threads) holds a thread per keep-alive connection: with more
  // senders than threads, the rest would wait for idle timeouts and measure that instead.
  sink.new_task_queue = [] { return new httplib::ThreadPool(128); };
  // Its listen backlog of 5 would also drop bursts of new connections (1 s SYN retransmits).
  int sink_fd = -1, echo_fd = -1;
  sink.set_socket_options([&](int fd) { sink_fd = fd; });
  const int sink_port = sink.bind_to_any_port("127.0.0.1");
  if (sink_fd >= 0) ::listen(sink_fd, SOMAXCONN);
  std::thread sink_thread([&] { sink.listen_after_bind(); });

  // The ceiling: a bare cpp-httplib server answering every POST at once.
  httplib::Server echo;
  echo.Post("/webhooks/whatsapp", [](const httplib::Request&, httplib::Response& res) { res.set_content("{}", "application/json"); });
  echo.set_tcp_nodelay(true);
  echo.new_task_queue = [] { return new httplib::ThreadPool(128); };
  echo.set_socket_options([&](int fd) { echo_fd = fd; });
  const int echo_port = echo.bind_to_any_port("127.0.0.1");
  if (echo_fd >= 0) ::listen(echo_fd, SOMAXCONN);
  std::thread echo_thread([&] { echo.listen_after_bind(); });

  auto server = start_comptoir(a, sink_port);
  if (!server) {
    std::fprintf(stderr, "whatsapp_bench: could not start comptoir\n");
    return 2;
  }
  httplib::Client admin("127.0.0.1", server->port);
  admin.set_bearer_token_auth(server->owner_token);
  admin.Patch("/api/v1/products/BRD-BAGUETTE", R"({"stock": 100000000})", "application/json");

  // Scripts: for open-loop runs, enough customers to fill rate × seconds messages.
  int customers = a.customers;
  if (a.rate > 0) customers = std::max(1, a.rate * a.seconds / 8);
  const auto script = checkout_script();
  Scripts scripts(static_cast<std::size_t>(customers));
  for (int c = 0; c < customers; ++c) {
    const std::string from = "3361" + std::to_string(1000000 + c);
    for (std::size_t i = 0; i < script.size(); ++i) {
      std::string body = webhook(from, meta_like_id(), script[i]);
      std::string signature = hmac_header(body);
      scripts[static_cast<std::size_t>(c)].push_back({std::move(body), std::move(signature)});
    }
  }

  Phase p = load("127.0.0.1", server->port, scripts, a.threads, a.rate);
  // Wait until the outbox is empty: every reply handed to the sink.
  long pending = -1, failed = 0, sent = 0;
  const auto wait_start = SteadyClock::now();
  while (SteadyClock::now() - wait_start < std::chrono::seconds(120)) {
    auto r = admin.Get("/api/v1/outbox?limit=1");
    if (r && r->status == 200) {
      auto j = json::parse(r->body);
      pending = j["counts"]["pending"];
      failed = j["counts"]["failed"];
      sent = static_cast<long>(j["counts"]["sent"]) + static_cast<long>(j["counts"]["delivered"]) + static_cast<long>(j["counts"]["read"]);
      if (pending == 0) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto orders = admin.Get("/api/v1/orders?limit=1");
  std::string newest = "none";
  if (orders && orders->status == 200) {
    auto j = json::parse(orders->body);
    if (!j["orders"].empty()) newest = j["orders"][0]["number"];
  }

  Phase ceiling = load("127.0.0.1", echo_port, scripts, a.threads, a.rate);

  kill(server->pid, SIGTERM);
  int status = 0;
  waitpid(server->pid, &status, 0);
  sink.stop();
  echo.stop();
  sink_thread.join();
  echo_thread.join();
  std::error_code ec;
  if (!a.keep) fs::remove_all(server->dir, ec);

  const double rate = static_cast<double>(p.messages) / p.seconds;
  // End to end: from the first webhook sent to the last reply received by the sink.
  const double e2e_seconds =
      std::chrono::duration<double>(SteadyClock::time_point(SteadyClock::duration(last_delivery.load())) - p.start).count();
  const double ceiling_rate = static_cast<double>(ceiling.messages) / ceiling.seconds;
  std::printf("whatsapp_bench: %d customers x %zu messages, %d client threads%s, load generator %s\n", customers,
              script.size(), a.threads, a.rate > 0 ? (", offered " + std::to_string(a.rate) + " msg/s").c_str() : ", closed loop",
              a.yield ? "SCHED_BATCH" : "default policy");
  std::printf("  inbound acknowledged: %ld in %.2f s = %.0f msg/s (errors %ld)\n", p.messages, p.seconds, rate, p.errors);
  std::printf("  ack latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", pct(p.ms, 50), pct(p.ms, 90), pct(p.ms, 99), pct(p.ms, 100));
  std::printf("  replies delivered to the Graph sink: %ld (outbox sent %ld, failed %ld, pending %ld); the last %.3f s after the last ack\n",
              delivered.load(), sent, failed, pending, e2e_seconds - p.seconds);
  std::printf("  end to end: %ld messages in and every reply out in %.2f s = %.0f msg/s\n", p.messages, e2e_seconds,
              static_cast<double>(p.messages) / e2e_seconds);
  std::printf("  orders placed: newest %s (expected C-%06d)\n", newest.c_str(), customers);
  if (a.keep) std::printf("  data dir and server log kept in %s\n", server->dir.c_str());
  std::printf("  ceiling (bare cpp-httplib echo, same bodies and threads): %.0f req/s, p99 %.2f ms; ratio %.2f\n", ceiling_rate,
              pct(ceiling.ms, 99), rate / ceiling_rate);
  char expected[32];
  std::snprintf(expected, sizeof expected, "C-%06d", customers);
  const bool ok = p.errors == 0 && pending == 0 && failed == 0 && newest == expected;
  if (!ok) std::printf("  LOST OR REFUSED: see the figures above\n");
  return ok ? 0 : 1;
}

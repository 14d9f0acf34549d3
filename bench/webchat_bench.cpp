// webchat_bench: simulated customers doing full checkouts over the web chat API against a running
// Comptoir server (--url), or against one it starts itself in a temp dir (--spawn). Prints
// messages/s, checkouts/s, latency percentiles, errors and the server settings; the figures and
// how to read them are in docs/performance.md.
//
// It is a program that prints figures, not a test: slowness never makes it fail. Exit codes:
// 0 every checkout placed an order and the order count matches; 1 the server answered wrongly
// (an error status, a reply without the expected option, a missing, lost or duplicated order);
// 2 a usage or setup problem.
//
// Threads: the main thread sets up, starts the workers together and reports. Each of the
// --threads workers owns a disjoint set of customers (each customer has its own keep-alive
// connection) and its own statistics; nothing is shared while the clock runs.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <latch>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr std::size_t kMessagesPerCheckout = 11;
constexpr int kShippedMessagesPerMinute = 120;  // webchat.messages_per_minute (per session)
constexpr int kShippedSessionsPerMinute = 600;  // webchat.sessions_per_minute (per client address)

// ---------------------------------------------------------------------------------------------
// Command line

struct Options {
  std::string url;
  std::string spawn;            // path of the comptoir binary
  int customers = 50;
  int checkouts = 5;            // per customer
  int threads = 4;
  double rate = 0;              // messages/s offered (open loop); 0 = closed loop
  std::string owner_token;
  int server_threads = 0;       // --spawn: server.threads; 0 = the shipped default
  std::string log_level;        // --spawn: log.level; empty = the shipped default
  std::string config_extra;     // --spawn: JSON object merged into the generated config
  std::string tmpdir;           // --spawn: parent of the temp dir (must be a real disk)
  bool keep = false;            // --spawn: keep the temp dir
  // The server's web chat limits (webchat.messages_per_minute, webchat.sessions_per_minute).
  // 0 = as configured for --spawn, the shipped defaults for --url.
  int session_budget = 0;        // messages one session may send per minute
  int sessions_per_address = 0;  // new sessions per client address per minute
  bool spread = true;           // create sessions from several loopback source addresses
  int timeout_seconds = 30;
  long server_pid = 0;          // --url: read this process's CPU time from /proc
  bool cold = false;            // do not open the customers' connections before the clock starts
};

void usage(std::FILE* out) {
  std::fputs(
      "usage: webchat_bench (--url http://HOST:PORT [--owner-token TOKEN] | --spawn PATH/TO/comptoir)\n"
      "                     [--customers N] [--checkouts M] [--threads T] [--rate R]\n"
      "\n"
      "Simulated customers do full checkouts over the web chat API (11 messages each: greeting,\n"
      "browse, category, product, add, second category, product, add, checkout, pickup, confirm).\n"
      "\n"
      "  --url URL              a running server (loopback or not)\n"
      "  --owner-token TOKEN    owner API token for --url: raises stock and verifies the order count\n"
      "  --spawn PATH           start PATH (the comptoir binary) in a temp data dir, as shipped\n"
      "  --customers N          simulated customers, each with its own keep-alive connection (50)\n"
      "  --checkouts M          full checkouts per customer (5)\n"
      "  --threads T            client worker threads; each drives its customers in turn (4)\n"
      "  --rate R               offer R messages/s, paced open loop (default: closed loop, as fast\n"
      "                         as the server answers)\n"
      "  --timeout S            client read/write timeout in seconds (30)\n"
      "  --session-budget N     the server's webchat.messages_per_minute (default: shipped 120,\n"
      "                         or as configured with --spawn); no session gets more a minute\n"
      "  --sessions-per-address N  the server's webchat.sessions_per_minute (shipped 600)\n"
      "  --no-spread            create every session from one source address (pauses on 429)\n"
      "  --server-pid PID       with --url: report that process's CPU time\n"
      "  --cold-connections     open the customers' connections on their first message, all at\n"
      "                         once (default: one after another before the clock starts)\n"
      "spawn mode only:\n"
      "  --server-threads N     server.threads in the generated config (default: shipped, 8)\n"
      "  --log-level L          log.level in the generated config (default: shipped, info)\n"
      "  --config-extra JSON    object merged (RFC 7386) into the generated config\n"
      "  --tmpdir DIR           where the temp data dir goes (default $TMPDIR or /var/tmp)\n"
      "  --keep                 keep the temp dir (config, data, server log)\n",
      out);
}

std::optional<Options> parse_args(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto bad = [](const std::string& msg) -> std::optional<Options> {
    std::fprintf(stderr, "webchat_bench: %s\n", msg.c_str());
    usage(stderr);
    return std::nullopt;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); name.starts_with("--") && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto flag = [&](const char* n) { return name == n; };
    auto take = [&]() -> std::optional<std::string> {
      if (has_value) return value;
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    auto take_int = [&](int& out, int lo, int hi) -> bool {
      auto v = take();
      if (!v) return false;
      char* end = nullptr;
      errno = 0;
      const long n = std::strtol(v->c_str(), &end, 10);
      if (errno != 0 || end == v->c_str() || *end != '\0' || n < lo || n > hi) return false;
      out = static_cast<int>(n);
      return true;
    };
    if (flag("-h") || flag("--help")) {
      usage(stdout);
      std::exit(0);
    } else if (flag("--url")) {
      auto v = take();
      if (!v) return bad("--url needs a value");
      o.url = *v;
    } else if (flag("--spawn")) {
      auto v = take();
      if (!v) return bad("--spawn needs a value");
      o.spawn = *v;
    } else if (flag("--owner-token")) {
      auto v = take();
      if (!v) return bad("--owner-token needs a value");
      o.owner_token = *v;
    } else if (flag("--customers")) {
      if (!take_int(o.customers, 1, 100000)) return bad("--customers must be 1..100000");
    } else if (flag("--checkouts")) {
      if (!take_int(o.checkouts, 1, 1000000)) return bad("--checkouts must be 1..1000000");
    } else if (flag("--threads")) {
      if (!take_int(o.threads, 1, 1024)) return bad("--threads must be 1..1024");
    } else if (flag("--rate")) {
      auto v = take();
      if (!v) return bad("--rate needs a value");
      char* end = nullptr;
      o.rate = std::strtod(v->c_str(), &end);
      if (end == v->c_str() || *end != '\0' || !(o.rate > 0) || o.rate > 1e7) return bad("--rate must be a positive number");
    } else if (flag("--timeout")) {
      if (!take_int(o.timeout_seconds, 1, 3600)) return bad("--timeout must be 1..3600");
    } else if (flag("--session-budget")) {
      if (!take_int(o.session_budget, static_cast<int>(kMessagesPerCheckout), 1000000)) {
        return bad("--session-budget must be at least 11 (one checkout)");
      }
    } else if (flag("--sessions-per-address")) {
      if (!take_int(o.sessions_per_address, 1, 1000000)) return bad("--sessions-per-address must be positive");
    } else if (flag("--cold-connections")) {
      o.cold = true;
    } else if (flag("--no-spread")) {
      o.spread = false;
    } else if (flag("--server-pid")) {
      int pid = 0;
      if (!take_int(pid, 1, 1 << 30)) return bad("--server-pid must be a process id");
      o.server_pid = pid;
    } else if (flag("--server-threads")) {
      if (!take_int(o.server_threads, 1, 256)) return bad("--server-threads must be 1..256");
    } else if (flag("--log-level")) {
      auto v = take();
      if (!v) return bad("--log-level needs a value");
      o.log_level = *v;
    } else if (flag("--config-extra")) {
      auto v = take();
      if (!v) return bad("--config-extra needs a value");
      o.config_extra = *v;
    } else if (flag("--tmpdir")) {
      auto v = take();
      if (!v) return bad("--tmpdir needs a value");
      o.tmpdir = *v;
    } else if (flag("--keep")) {
      o.keep = true;
    } else {
      return bad("unknown argument: " + args[i]);
    }
  }
  if (o.url.empty() == o.spawn.empty()) return bad("give exactly one of --url and --spawn");
  if (!o.url.empty() && (o.server_threads != 0 || !o.log_level.empty() || !o.config_extra.empty() || o.keep)) {
    return bad("--server-threads, --log-level, --config-extra and --keep need --spawn");
  }
  if (!o.config_extra.empty()) {
    auto j = json::parse(o.config_extra, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad("--config-extra must be a JSON object");
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

struct Endpoint {
  std::string host;
  int port = 0;
};

std::optional<Endpoint> parse_url(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  std::string rest = url.substr(kScheme.size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || rest.find('/') != std::string::npos) return std::nullopt;
  Endpoint e;
  e.host = rest.substr(0, colon);
  const std::string port = rest.substr(colon + 1);
  char* end = nullptr;
  const long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 1 || p > 65535) return std::nullopt;
  e.port = static_cast<int>(p);
  return e;
}

std::unique_ptr<httplib::Client> make_client(const Endpoint& ep, int timeout_seconds, const std::string& source = "") {
  auto c = std::make_unique<httplib::Client>(ep.host, ep.port);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(10, 0);
  c->set_read_timeout(timeout_seconds, 0);
  c->set_write_timeout(timeout_seconds, 0);
  if (!source.empty()) c->set_interface(source);  // an IP address works as well as an interface name
  return c;
}

httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

double seconds_since(Clock::time_point t0, Clock::time_point t1) {
  return std::chrono::duration<double>(t1 - t0).count();
}

// "C-000123" anywhere in `text` → 123.
std::optional<std::int64_t> find_order_number(std::string_view text) {
  for (std::size_t i = 0; i + 2 < text.size(); ++i) {
    if (text[i] != 'C' || text[i + 1] != '-') continue;
    std::size_t j = i + 2;
    std::int64_t n = 0;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9' && j - i - 2 < 15) {
      n = n * 10 + (text[j] - '0');
      ++j;
    }
    if (j - i - 2 >= 6) return n;
  }
  return std::nullopt;
}

double cpu_seconds_self() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// utime + stime of another process, from /proc/PID/stat; nullopt if unreadable.
std::optional<double> cpu_seconds_of(long pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  if (!std::getline(f, s)) return std::nullopt;
  const auto close = s.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(s.substr(close + 2));
  std::vector<std::string> fields;
  for (std::string x; rest >> x;) fields.push_back(x);
  // After "pid (comm) ", field 3 (state) is index 0; utime and stime are fields 14 and 15.
  if (fields.size() < 13) return std::nullopt;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
}

std::string filesystem_of(const fs::path& p) {
  struct statfs s{};
  if (statfs(p.c_str(), &s) != 0) return "unknown";
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x794c7630: return "overlayfs";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(s.f_type));
      return buf;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// --spawn: a server of our own in a temp dir

struct ProcessResult {
  int exit_code = -1;
  std::string out;
};

// What an interrupt (SIGINT, SIGTERM) must clean up: the spawned server and its temp dir.
struct Cleanup {
  std::mutex mutex;
  pid_t server = -1;
  fs::path dir;
  bool keep = false;
};
Cleanup g_cleanup;

pid_t spawn_process(const std::vector<std::string>& argv, int out_fd, int err_fd) {
  // Children start with no signals blocked (this process blocks SIGINT/SIGTERM for sigwait).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
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

// Runs argv to completion; stdout is captured, stderr appended to `log`.
ProcessResult run_process(const std::vector<std::string>& argv, const fs::path& log) {
  ProcessResult r;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return r;
  const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const pid_t pid = spawn_process(argv, pipefd[1], err < 0 ? 2 : err);
  ::close(pipefd[1]);
  if (err >= 0) ::close(err);
  if (pid < 0) {
    ::close(pipefd[0]);
    return r;
  }
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n > 0) r.out.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  ::close(pipefd[0]);
  r.exit_code = wait_exit(pid);
  return r;
}

// A port that was free a moment ago (the server binds it right after; a race is unlikely).
int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

bool accepts_connections(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

class SpawnedServer {
 public:
  ~SpawnedServer() {
    stop();
    std::lock_guard lock(g_cleanup.mutex);
    g_cleanup.dir.clear();
    if (!dir_.empty()) {
      if (keep_) {
        std::fprintf(stderr, "kept %s\n", dir_.c_str());
      } else {
        std::error_code ec;
        fs::remove_all(dir_, ec);
      }
    }
  }

  // Creates the temp dir and config, runs init and token create, starts serve; false + message.
  bool start(const Options& o, std::string& error) {
    keep_ = o.keep;
    std::string parent = o.tmpdir;
    if (parent.empty()) {
      const char* t = std::getenv("TMPDIR");
      parent = t != nullptr && *t != '\0' ? t : "/var/tmp";
    }
    std::string tmpl = (fs::path(parent) / "comptoir-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      error = "cannot create a temp dir under " + parent + ": " + std::strerror(errno);
      return false;
    }
    dir_ = tmpl;
    {
      std::lock_guard lock(g_cleanup.mutex);
      g_cleanup.dir = dir_;
      g_cleanup.keep = keep_;
    }
    config_ = dir_ / "comptoir.json";
    log_ = dir_ / "server.log";
    binary_ = fs::absolute(o.spawn).string();

    config_json_ = {{"data_dir", "data"}, {"server", {{"port", 0}}}};
    if (o.server_threads > 0) config_json_["server"]["threads"] = o.server_threads;
    if (!o.log_level.empty()) config_json_["log"] = {{"level", o.log_level}};
    if (!o.config_extra.empty()) config_json_.merge_patch(json::parse(o.config_extra));
    config_json_["data_dir"] = "data";
    config_json_["server"]["port"] = 0;
    // Below info the "listening" line is not logged: then pick a free port here instead.
    std::string level = "info";
    if (config_json_.contains("log") && config_json_["log"].is_object()) level = config_json_["log"].value("level", "info");
    const bool quiet = level == "warn" || level == "error";
    if (quiet) {
      const int port = free_loopback_port();
      if (port <= 0) {
        error = "cannot find a free port";
        return false;
      }
      config_json_["server"]["port"] = port;
    }
    {
      std::ofstream f(config_);
      f << config_json_.dump(2) << "\n";
      if (!f) {
        error = "cannot write " + config_.string();
        return false;
      }
    }
    ::chmod(config_.c_str(), 0600);

    const fs::path setup_log = dir_ / "setup.log";
    auto init = run_process({binary_, "init", "-c", config_.string()}, setup_log);
    if (init.exit_code != 0) {
      error = "`comptoir init` failed (exit " + std::to_string(init.exit_code) + "); see " + setup_log.string();
      keep_ = true;
      return false;
    }
    auto token = run_process({binary_, "token", "create", "-c", config_.string(), "--role", "owner", "--label", "webchat_bench"},
                             setup_log);
    while (!token.out.empty() && (token.out.back() == '\n' || token.out.back() == '\r')) token.out.pop_back();
    if (token.exit_code != 0 || token.out.empty()) {
      error = "`comptoir token create` failed (exit " + std::to_string(token.exit_code) + "); see " + setup_log.string();
      keep_ = true;
      return false;
    }
    token_ = token.out;

    const int logfd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0) {
      error = "cannot open " + log_.string();
      return false;
    }
    {
      std::lock_guard lock(g_cleanup.mutex);
      pid_ = spawn_process({binary_, "serve", "-c", config_.string()}, logfd, logfd);
      g_cleanup.server = pid_;
    }
    ::close(logfd);
    if (pid_ < 0) {
      error = "cannot start " + binary_;
      return false;
    }
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        std::lock_guard lock(g_cleanup.mutex);
        g_cleanup.server = -1;
        error = "the server exited during startup; see " + log_.string();
        keep_ = true;
        return false;
      }
      if (quiet) {
        if (accepts_connections(config_json_["server"]["port"].get<int>())) {
          port_ = config_json_["server"]["port"].get<int>();
          return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      std::ifstream f(log_);
      for (std::string line; std::getline(f, line);) {
        auto j = json::parse(line, nullptr, false);
        if (!j.is_object()) continue;
        if (j.value("event", "") == "listening" && j.contains("port") && j["port"].is_number_integer()) {
          port_ = j["port"].get<int>();
          return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    error = "the server did not log \"listening\" within 60 s; see " + log_.string();
    keep_ = true;
    return false;
  }

  // SIGTERM, then wait (SIGKILL after 20 s). Returns the exit code.
  int stop() {
    std::lock_guard lock(g_cleanup.mutex);
    g_cleanup.server = -1;
    if (pid_ <= 0) return exit_code_;
    ::kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    int status = 0;
    for (;;) {
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (r < 0 && errno != EINTR) break;
      if (Clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code_;
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& token() const { return token_; }
  const fs::path& dir() const { return dir_; }
  const fs::path& log() const { return log_; }
  // A setting as the server uses it: the generated config's value, else the shipped default.
  std::string setting(std::initializer_list<const char*> path, const json& shipped) const {
    const json* j = &config_json_;
    for (const char* k : path) {
      if (!j->is_object() || !j->contains(k)) return shipped.is_string() ? shipped.get<std::string>() : shipped.dump();
      j = &(*j)[k];
    }
    return j->is_string() ? j->get<std::string>() : j->dump();
  }
  const json& config() const { return config_json_; }

  // Log lines at warn or error level (other than the expected shutdown lines).
  std::vector<std::string> problems() const {
    std::vector<std::string> out;
    std::ifstream f(log_);
    for (std::string line; std::getline(f, line);) {
      auto j = json::parse(line, nullptr, false);
      if (!j.is_object()) continue;
      const std::string level = j.value("level", "");
      if (level == "warn" || level == "error") out.push_back(line);
    }
    return out;
  }

 private:
  fs::path dir_, config_, log_;
  std::string binary_;
  json config_json_;
  std::string token_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_code_ = -1;
  bool keep_ = false;
};

// ---------------------------------------------------------------------------------------------
// The shop as the benchmark sees it

struct Product {
  std::string sku;
  std::string category;
};

// Active products through the admin API.
std::optional<std::vector<Product>> products_via_api(httplib::Client& admin, const std::string& token, std::string& error) {
  auto r = admin.Get("/api/v1/products?limit=1000", bearer(token));
  if (!r || r->status != 200) {
    error = "GET /api/v1/products: " + (r ? "HTTP " + std::to_string(r->status) : httplib::to_string(r.error()));
    return std::nullopt;
  }
  auto j = json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("products") || !j["products"].is_array()) {
    error = "GET /api/v1/products: unexpected body";
    return std::nullopt;
  }
  std::vector<Product> out;
  for (const auto& p : j["products"]) {
    if (!p.is_object() || !p.value("active", false)) continue;
    out.push_back({p.value("sku", ""), p.value("category", "")});
  }
  return out;
}

std::vector<std::string> option_ids(const json& body) {
  std::vector<std::string> ids;
  if (!body.is_object() || !body.contains("replies") || !body["replies"].is_array()) return ids;
  for (const auto& r : body["replies"]) {
    if (!r.is_object() || !r.contains("options") || !r["options"].is_array()) continue;
    for (const auto& o : r["options"]) {
      if (o.is_object() && o.contains("id") && o["id"].is_string()) ids.push_back(o["id"].get<std::string>());
    }
  }
  return ids;
}

// Without a token: discover the catalog through the chat itself (greeting, browse, each category).
std::optional<std::vector<Product>> products_via_chat(httplib::Client& c, std::string& error) {
  auto s = c.Post("/webchat/v1/sessions");
  if (!s || s->status != 201) {
    error = "POST /webchat/v1/sessions: " + (s ? "HTTP " + std::to_string(s->status) : httplib::to_string(s.error()));
    return std::nullopt;
  }
  const std::string session = json::parse(s->body, nullptr, false).value("session", "");
  auto say = [&](const json& msg) -> std::optional<json> {
    auto r = c.Post("/webchat/v1/messages", bearer(session), msg.dump(), "application/json");
    if (!r || r->status != 200) return std::nullopt;
    return json::parse(r->body, nullptr, false);
  };
  if (!say({{"text", "hello"}})) {
    error = "the greeting failed";
    return std::nullopt;
  }
  auto cats = say({{"option", "browse"}});
  if (!cats) {
    error = "browse failed";
    return std::nullopt;
  }
  std::vector<Product> out;
  for (const auto& id : option_ids(*cats)) {
    if (!id.starts_with("cat:") || std::count(id.begin(), id.end(), ':') != 1) continue;
    auto page = say({{"option", id}});
    if (!page) continue;
    for (const auto& p : option_ids(*page)) {
      if (p.starts_with("prod:")) out.push_back({p.substr(5), id.substr(4)});
    }
  }
  return out;
}

// The newest order's number (0 when there is none); nullopt on failure.
std::optional<std::int64_t> newest_order(httplib::Client& admin, const std::string& token) {
  auto r = admin.Get("/api/v1/orders?limit=1", bearer(token));
  if (!r || r->status != 200) return std::nullopt;
  auto j = json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("orders") || !j["orders"].is_array()) return std::nullopt;
  if (j["orders"].empty()) return 0;
  return find_order_number(j["orders"][0].value("number", ""));
}

// ---------------------------------------------------------------------------------------------
// Customers and workers

struct Step {
  json message;        // {"text": …} or {"option": …}
  std::string expect;  // an option id the reply must offer ("" = none); the last step: an order number
};

std::vector<Step> checkout_plan(const std::vector<Product>& products, std::size_t customer, std::size_t round) {
  const std::size_t n = products.size();
  const std::size_t a = (customer * 7 + round * 3) % n;
  std::size_t b = (a + n / 2) % n;
  for (std::size_t k = 0; k < n && products[b].category == products[a].category; ++k) b = (b + 1) % n;
  const Product& pa = products[a];
  const Product& pb = products[b];
  auto option = [](const std::string& id) { return json{{"option", id}}; };
  return {
      {{{"text", "hello"}}, "browse"},
      {option("browse"), "cat:" + pa.category},
      {option("cat:" + pa.category), "prod:" + pa.sku},
      {option("prod:" + pa.sku), "add:" + pa.sku + ":1"},
      {option("add:" + pa.sku + ":1"), "checkout"},
      // Straight to another category: option ids are stable, a web page may link to them.
      {option("cat:" + pb.category), "prod:" + pb.sku},
      {option("prod:" + pb.sku), "add:" + pb.sku + ":1"},
      {option("add:" + pb.sku + ":1"), "checkout"},
      {option("checkout"), "ful:pickup"},
      {option("ful:pickup"), "confirm"},
      {option("confirm"), "order:C-"},
  };
}

struct Customer {
  std::size_t index = 0;
  std::unique_ptr<httplib::Client> client;
  std::vector<std::string> sessions;
  std::size_t session = 0;
  std::size_t used = 0;  // messages sent in the current session
  int round = 0;         // checkouts attempted
  std::size_t step = 0;
  std::vector<Step> plan;
};

struct Stats {
  std::vector<std::int64_t> latency_ns;  // closed loop: send → reply; open loop: scheduled time → reply
  std::vector<std::int64_t> service_ns;  // send → reply (open loop only)
  std::uint64_t messages = 0, messages_ok = 0, checkouts_ok = 0, checkouts_failed = 0, unexpected = 0;
  std::map<int, std::uint64_t> by_status;           // non-2xx answers
  std::map<std::string, std::uint64_t> transport;   // no answer at all
  std::vector<std::int64_t> orders;
  std::string example_problem;
  Clock::time_point end{};
  double behind_max_s = 0;  // open loop: worst lag of a send behind its schedule

  void problem(std::string what) {
    if (example_problem.empty()) example_problem = std::move(what);
  }
};

class Worker {
 public:
  Worker(const Options& o, const std::vector<Product>& products, std::vector<Customer*> customers)
      : o_(o), products_(products), customers_(std::move(customers)) {
    const std::size_t total = customers_.size() * static_cast<std::size_t>(o_.checkouts) * kMessagesPerCheckout;
    stats_.latency_ns.reserve(total);
    if (o_.rate > 0) stats_.service_ns.reserve(total);
  }

  // Closed loop: the customers take turns, one message each, until all are done.
  void run_closed() {
    std::vector<Customer*> active = customers_;
    while (!active.empty()) {
      for (std::size_t i = 0; i < active.size();) {
        const auto t0 = Clock::now();
        send_next(*active[i], t0);
        if (active[i]->round >= o_.checkouts) {
          active.erase(active.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
          ++i;
        }
      }
    }
    stats_.end = Clock::now();
  }

  // Open loop: send slot k is due at start + k/rate, whether or not the server kept up. The
  // slots are shared by all workers: a free worker takes the next one, so the offered rate holds
  // while any worker is free. Latency counts from the slot's time, so a slow answer (or a late
  // send because every worker was waiting) is not hidden (no coordinated omission).
  void run_open(Clock::time_point start, std::atomic<std::uint64_t>& slots) {
    std::vector<Customer*> active = customers_;
    std::size_t next = 0;
    while (!active.empty()) {
      const std::uint64_t k = slots.fetch_add(1);
      const double at = static_cast<double>(k) / o_.rate;
      const auto scheduled = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at));
      std::this_thread::sleep_until(scheduled);
      stats_.behind_max_s = std::max(stats_.behind_max_s, seconds_since(scheduled, Clock::now()));
      if (next >= active.size()) next = 0;
      Customer& c = *active[next];
      send_next(c, scheduled);
      if (c.round >= o_.checkouts) active.erase(active.begin() + static_cast<std::ptrdiff_t>(next));
      else ++next;
    }
    stats_.end = Clock::now();
  }

  Stats& stats() { return stats_; }

 private:
  void finish_checkout(Customer& c, bool ok) {
    if (ok) ++stats_.checkouts_ok;
    else ++stats_.checkouts_failed;
    ++c.round;
    c.step = 0;
  }

  void send_next(Customer& c, Clock::time_point scheduled) {
    if (c.step == 0) {
      c.plan = checkout_plan(products_, c.index, static_cast<std::size_t>(c.round));
      // A session may send only so many messages a minute: start the next checkout in a fresh
      // session (a new conversation, as from another browser tab) rather than be refused.
      if (c.used + c.plan.size() > static_cast<std::size_t>(o_.session_budget) && c.session + 1 < c.sessions.size()) {
        ++c.session;
        c.used = 0;
      }
    }
    const Step& step = c.plan[c.step];
    const std::string body = step.message.dump();
    ++c.used;
    ++stats_.messages;
    const auto sent = Clock::now();
    auto r = c.client->Post("/webchat/v1/messages", bearer(c.sessions[c.session]), body, "application/json");
    const auto done = Clock::now();
    stats_.latency_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(done - scheduled).count());
    if (o_.rate > 0) stats_.service_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(done - sent).count());
    if (!r) {
      ++stats_.transport[httplib::to_string(r.error())];
      stats_.problem("customer " + std::to_string(c.index) + ": " + body + " → " + httplib::to_string(r.error()));
      return finish_checkout(c, false);
    }
    if (r->status < 200 || r->status > 299) {
      ++stats_.by_status[r->status];
      stats_.problem("customer " + std::to_string(c.index) + ": " + body + " → HTTP " + std::to_string(r->status) + " " +
                     r->body.substr(0, 200));
      return finish_checkout(c, false);
    }
    ++stats_.messages_ok;
    const json reply = json::parse(r->body, nullptr, false);
    const auto ids = option_ids(reply);
    const bool last = c.step + 1 == c.plan.size();
    bool ok = false;
    if (last) {
      std::optional<std::int64_t> number;
      static const json kNone = json::array();
      const json& replies = reply.is_object() && reply.contains("replies") && reply["replies"].is_array() ? reply["replies"] : kNone;
      for (const auto& rep : replies) {
        if (rep.is_object() && rep.contains("text") && rep["text"].is_string()) {
          number = find_order_number(rep["text"].get<std::string>());
          if (number) break;
        }
      }
      ok = number.has_value();
      if (ok) stats_.orders.push_back(*number);
    } else {
      ok = std::find(ids.begin(), ids.end(), step.expect) != ids.end();
    }
    if (!ok) {
      ++stats_.unexpected;
      stats_.problem("customer " + std::to_string(c.index) + ": " + body + " → a reply without " +
                     (last ? std::string("an order number") : "option " + step.expect) + ": " + r->body.substr(0, 300));
      return finish_checkout(c, false);
    }
    if (last) return finish_checkout(c, true);
    ++c.step;
  }

  const Options& o_;
  const std::vector<Product>& products_;
  std::vector<Customer*> customers_;
  Stats stats_;
};

// ---------------------------------------------------------------------------------------------
// Session creation (setup, not timed)

struct SessionSetup {
  std::vector<std::string> sessions;
  bool spread_used = false;
  std::size_t addresses = 1;
  double waited_s = 0;  // time spent waiting for the per-address limit
  std::string error;
};

// Creates `count` sessions. The server allows only so many new sessions per client address per
// minute; with a loopback server and `spread`, they come from several loopback source addresses
// (like customers on different machines), `per_address` each; otherwise the pace follows the
// server's Retry-After.
SessionSetup create_sessions(const Endpoint& ep, const Options& o, std::size_t count) {
  SessionSetup out;
  const bool loopback = ep.host.starts_with("127.") || ep.host == "localhost";
  out.spread_used = o.spread && loopback;
  const std::size_t per = static_cast<std::size_t>(o.sessions_per_address);
  out.addresses = out.spread_used ? (count + per - 1) / per : 1;
  // A random second octet keeps back-to-back runs against the same server on fresh addresses.
  std::random_device rd;
  const unsigned base = 16 + rd() % 200;
  auto address = [&](std::size_t k) {
    return "127." + std::to_string(base) + "." + std::to_string(k / 250) + "." + std::to_string(k % 250 + 1);
  };
  std::vector<std::vector<std::string>> made(out.addresses);
  std::vector<std::string> errors(out.addresses);
  std::vector<double> waited(out.addresses, 0);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (;;) {
      const std::size_t a = next.fetch_add(1);
      if (a >= out.addresses) return;
      const std::size_t want = out.spread_used ? std::min(per, count - a * per) : count;
      auto client = make_client(ep, o.timeout_seconds, out.spread_used ? address(a) : "");
      while (made[a].size() < want) {
        auto r = client->Post("/webchat/v1/sessions");
        if (!r) {
          errors[a] = "POST /webchat/v1/sessions" + (out.spread_used ? " from " + address(a) : "") + ": " +
                      httplib::to_string(r.error());
          return;
        }
        if (r->status == 429) {
          int wait = std::atoi(r->get_header_value("Retry-After").c_str());
          wait = std::clamp(wait, 1, 61);
          waited[a] += wait;
          std::this_thread::sleep_for(std::chrono::seconds(wait));
          continue;
        }
        auto j = json::parse(r->body, nullptr, false);
        if (r->status != 201 || !j.is_object() || !j.contains("session") || !j["session"].is_string()) {
          errors[a] = "POST /webchat/v1/sessions: HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 200);
          return;
        }
        made[a].push_back(j["session"].get<std::string>());
      }
    }
  };
  std::vector<std::thread> ts;
  const std::size_t nthreads = std::min<std::size_t>(out.addresses, 16);
  for (std::size_t i = 0; i < nthreads; ++i) ts.emplace_back(work);
  for (auto& t : ts) t.join();
  for (std::size_t a = 0; a < out.addresses; ++a) {
    if (!errors[a].empty()) {
      out.error = errors[a];
      return out;
    }
    out.waited_s = std::max(out.waited_s, waited[a]);
    for (auto& s : made[a]) out.sessions.push_back(std::move(s));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report

double percentile_ms(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  const std::size_t i = std::clamp<std::size_t>(rank, 1, sorted.size()) - 1;
  return static_cast<double>(sorted[i]) / 1e6;
}

void print_latency(const char* label, std::vector<std::int64_t>& v) {
  std::sort(v.begin(), v.end());
  std::printf("%-22s p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f ms\n", label, percentile_ms(v, 50),
              percentile_ms(v, 90), percentile_ms(v, 99), percentile_ms(v, 99.9),
              v.empty() ? 0.0 : static_cast<double>(v.back()) / 1e6);
}

int run(Options o) {
  std::signal(SIGPIPE, SIG_IGN);
  SpawnedServer spawned;
  Endpoint ep;
  std::string token = o.owner_token;
  long server_pid = o.server_pid;
  if (!o.spawn.empty()) {
    std::string error;
    if (!spawned.start(o, error)) {
      std::fprintf(stderr, "webchat_bench: %s\n", error.c_str());
      return 2;
    }
    ep = {"127.0.0.1", spawned.port()};
    if (o.session_budget == 0) o.session_budget = std::atoi(spawned.setting({"webchat", "messages_per_minute"}, 120).c_str());
    if (o.sessions_per_address == 0) {
      o.sessions_per_address = std::atoi(spawned.setting({"webchat", "sessions_per_minute"}, 600).c_str());
    }
    const int server_threads = std::atoi(spawned.setting({"server", "threads"}, 64).c_str());
    if (o.customers > server_threads) {
      std::fprintf(stderr,
                   "webchat_bench: note: %d customers (keep-alive connections) but %d server threads; a server thread "
                   "stays with one connection until it has been idle for keep_alive_seconds, so customers may wait "
                   "that long (see docs/performance.md)\n",
                   o.customers, server_threads);
    }
    token = spawned.token();
    server_pid = spawned.pid();
  } else {
    auto e = parse_url(o.url);
    if (!e) {
      std::fprintf(stderr, "webchat_bench: --url must look like http://127.0.0.1:8080\n");
      return 2;
    }
    ep = *e;
    if (o.session_budget == 0) o.session_budget = kShippedMessagesPerMinute;
    if (o.sessions_per_address == 0) o.sessions_per_address = kShippedSessionsPerMinute;
  }
  if (o.session_budget < static_cast<int>(kMessagesPerCheckout)) {
    std::fprintf(stderr, "webchat_bench: a session may send only %d messages a minute, fewer than one checkout\n", o.session_budget);
    return 2;
  }

  // The catalog, and stock high enough for every checkout.
  auto admin = make_client(ep, o.timeout_seconds);
  std::string error;
  std::optional<std::vector<Product>> products;
  if (!token.empty()) products = products_via_api(*admin, token, error);
  else products = products_via_chat(*admin, error);
  if (!products) {
    std::fprintf(stderr, "webchat_bench: cannot read the catalog: %s\n", error.c_str());
    return 2;
  }
  std::set<std::string> categories;
  for (const auto& p : *products) categories.insert(p.category);
  if (products->empty() || categories.size() < 2) {
    std::fprintf(stderr, "webchat_bench: the shop needs active products in at least two categories\n");
    return 2;
  }
  std::optional<std::int64_t> orders_before;
  if (!token.empty()) {
    for (const auto& p : *products) {
      auto r = admin->Patch("/api/v1/products/" + p.sku, bearer(token), R"({"stock": 1000000})", "application/json");
      if (!r || r->status != 200) {
        std::fprintf(stderr, "webchat_bench: PATCH /api/v1/products/%s failed: %s\n", p.sku.c_str(),
                     r ? ("HTTP " + std::to_string(r->status) + " " + r->body).c_str() : httplib::to_string(r.error()).c_str());
        return 2;
      }
    }
    orders_before = newest_order(*admin, token);
    if (!orders_before) {
      std::fprintf(stderr, "webchat_bench: GET /api/v1/orders?limit=1 failed\n");
      return 2;
    }
  } else {
    std::fprintf(stderr, "webchat_bench: no --owner-token: stock is not raised and the order count is not checked\n");
  }
  admin->stop();

  // Sessions: enough that no session exceeds its message budget.
  const std::size_t per_session = static_cast<std::size_t>(o.session_budget) / kMessagesPerCheckout;
  const std::size_t sessions_each = (static_cast<std::size_t>(o.checkouts) + per_session - 1) / per_session;
  const std::size_t customers_n = static_cast<std::size_t>(o.customers);
  const auto setup_start = Clock::now();
  SessionSetup setup = create_sessions(ep, o, customers_n * sessions_each);
  if (!setup.error.empty()) {
    std::fprintf(stderr, "webchat_bench: %s\n", setup.error.c_str());
    return 2;
  }
  const double setup_s = seconds_since(setup_start, Clock::now());

  std::vector<Customer> customers(customers_n);
  for (std::size_t i = 0; i < customers_n; ++i) {
    customers[i].index = i;
    customers[i].client = make_client(ep, o.timeout_seconds);
    for (std::size_t s = 0; s < sessions_each; ++s) customers[i].sessions.push_back(setup.sessions[i * sessions_each + s]);
  }
  // Open the connections one after another before the clock starts (GET /healthz), so that the
  // figures are about messages, not about a burst of hundreds of simultaneous connects.
  if (!o.cold) {
    for (auto& c : customers) {
      auto r = c.client->Get("/healthz");
      if (!r) {
        std::fprintf(stderr, "webchat_bench: cannot connect: %s\n", httplib::to_string(r.error()).c_str());
        return 2;
      }
    }
  }
  const std::size_t nthreads = std::min<std::size_t>(static_cast<std::size_t>(o.threads), customers_n);
  std::vector<std::unique_ptr<Worker>> workers;
  for (std::size_t t = 0; t < nthreads; ++t) {
    std::vector<Customer*> mine;
    for (std::size_t i = t; i < customers_n; i += nthreads) mine.push_back(&customers[i]);
    workers.push_back(std::make_unique<Worker>(o, *products, std::move(mine)));
  }

  const double client_cpu0 = cpu_seconds_self();
  const double server_cpu0 = server_pid > 0 ? cpu_seconds_of(server_pid).value_or(-1) : -1;
  std::latch ready(static_cast<std::ptrdiff_t>(nthreads) + 1);
  std::atomic<Clock::rep> start_rep{0};
  std::atomic<std::uint64_t> slots{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < nthreads; ++t) {
    threads.emplace_back([&, t] {
      ready.arrive_and_wait();
      const Clock::time_point start{Clock::duration(start_rep.load())};
      if (o.rate > 0) workers[t]->run_open(start, slots);
      else workers[t]->run_closed();
    });
  }
  const auto start = Clock::now() + std::chrono::milliseconds(20);
  start_rep = start.time_since_epoch().count();
  ready.arrive_and_wait();
  for (auto& t : threads) t.join();
  const double client_cpu = cpu_seconds_self() - client_cpu0;
  const double server_cpu1 = server_pid > 0 ? cpu_seconds_of(server_pid).value_or(-1) : -1;

  // Merge.
  Stats all;
  Clock::time_point end = start;
  for (auto& w : workers) {
    Stats& s = w->stats();
    all.messages += s.messages;
    all.messages_ok += s.messages_ok;
    all.checkouts_ok += s.checkouts_ok;
    all.checkouts_failed += s.checkouts_failed;
    all.unexpected += s.unexpected;
    for (auto& [k, v] : s.by_status) all.by_status[k] += v;
    for (auto& [k, v] : s.transport) all.transport[k] += v;
    all.latency_ns.insert(all.latency_ns.end(), s.latency_ns.begin(), s.latency_ns.end());
    all.service_ns.insert(all.service_ns.end(), s.service_ns.begin(), s.service_ns.end());
    all.orders.insert(all.orders.end(), s.orders.begin(), s.orders.end());
    if (all.example_problem.empty()) all.example_problem = s.example_problem;
    all.behind_max_s = std::max(all.behind_max_s, s.behind_max_s);
    end = std::max(end, s.end);
  }
  const double wall = seconds_since(start, end);

  // Verify the orders through the admin API.
  std::optional<std::int64_t> orders_after;
  if (!token.empty()) {
    auto admin2 = make_client(ep, o.timeout_seconds);
    orders_after = newest_order(*admin2, token);
  }
  std::set<std::int64_t> unique(all.orders.begin(), all.orders.end());

  // Report.
  std::printf("webchat_bench: %d customers x %d checkouts (%zu messages each), %zu client threads, %s\n", o.customers,
              o.checkouts, kMessagesPerCheckout, nthreads,
              o.rate > 0 ? ("open loop at " + std::to_string(static_cast<long>(o.rate)) + " messages/s offered").c_str()
                         : "closed loop");
  if (!o.spawn.empty()) {
    const json& cfg = spawned.config();
    std::printf("server: spawned %s, pid %ld, port %d, data dir on %s (%s)\n", o.spawn.c_str(), server_pid, ep.port,
                filesystem_of(spawned.dir()).c_str(), spawned.dir().c_str());
    std::printf("server settings: threads %s, max_queued %s, keep_alive %s s, log.level %s, durable commits (WAL synced before each ack, as shipped), "
                "webchat.sessions_per_minute %d, webchat.messages_per_minute %d\n",
                spawned.setting({"server", "threads"}, 64).c_str(), spawned.setting({"server", "max_queued"}, 256).c_str(),
                spawned.setting({"server", "timeouts", "keep_alive_seconds"}, 5).c_str(),
                spawned.setting({"log", "level"}, "info").c_str(), o.sessions_per_address, o.session_budget);
    std::printf("server config: %s\n", cfg.dump().c_str());
    if (filesystem_of(spawned.dir()) == "tmpfs") {
      std::printf("WARNING: the data dir is on tmpfs, where fsync costs nothing: these are not durable-commit figures\n");
    }
  } else {
    std::printf("server: %s (external; its settings are in its startup log line); assumed web chat limits: "
                "%d sessions per address and %d messages per session per minute\n",
                o.url.c_str(), o.sessions_per_address, o.session_budget);
  }
  std::printf("setup: %s; %zu sessions (%zu per customer) in %.2f s from %zu source address%s%s\n",
              o.cold ? "connections opened on first message" : "connections opened before the clock started",
              setup.sessions.size(),
              sessions_each, setup_s, setup.addresses, setup.addresses == 1 ? "" : "es",
              setup.waited_s > 0 ? (", " + std::to_string(static_cast<int>(setup.waited_s)) + " s waiting for the per-address limit").c_str() : "");
  std::printf("\n");
  std::printf("messages:              %llu sent, %llu answered 2xx\n", static_cast<unsigned long long>(all.messages),
              static_cast<unsigned long long>(all.messages_ok));
  std::printf("checkouts:             %llu placed, %llu failed\n", static_cast<unsigned long long>(all.checkouts_ok),
              static_cast<unsigned long long>(all.checkouts_failed));
  std::printf("wall time:             %.3f s\n", wall);
  std::printf("throughput:            %.0f messages/s, %.1f checkouts/s\n", static_cast<double>(all.messages_ok) / wall,
              static_cast<double>(all.checkouts_ok) / wall);
  if (o.rate > 0) {
    std::printf("offered:               %.0f messages/s; achieved %.0f; worst send lag behind schedule %.1f ms\n", o.rate,
                static_cast<double>(all.messages) / wall, all.behind_max_s * 1000);
    if (static_cast<double>(all.messages) / wall < 0.95 * o.rate) {
      std::printf("note:                  below the offered rate: the server is saturated, or the client is (at most "
                  "--threads messages are in flight; compare the response time with --threads / rate)\n");
    }
    print_latency("latency (from schedule)", all.latency_ns);
    print_latency("response time", all.service_ns);
  } else {
    print_latency("latency", all.latency_ns);
  }
  std::printf("cpu:                   client %.2f s (%.2f cores)", client_cpu, client_cpu / wall);
  if (server_cpu0 >= 0 && server_cpu1 >= 0) {
    const double server_cpu = server_cpu1 - server_cpu0;
    std::printf(", server %.2f s (%.2f cores, %.0f us per message)", server_cpu, server_cpu / wall,
                all.messages ? server_cpu * 1e6 / static_cast<double>(all.messages) : 0.0);
  }
  std::printf("\n");
  std::string errors;
  for (auto& [k, v] : all.by_status) errors += " HTTP " + std::to_string(k) + ": " + std::to_string(v) + ";";
  for (auto& [k, v] : all.transport) errors += " " + k + ": " + std::to_string(v) + ";";
  if (all.unexpected) errors += " unexpected replies: " + std::to_string(all.unexpected) + ";";
  std::printf("errors:               %s\n", errors.empty() ? " none" : errors.c_str());
  if (!all.example_problem.empty()) std::printf("first problem:          %s\n", all.example_problem.c_str());

  bool correct = all.by_status.empty() && all.transport.empty() && all.unexpected == 0 &&
                 all.checkouts_ok == customers_n * static_cast<std::size_t>(o.checkouts) &&
                 unique.size() == all.orders.size();
  if (unique.size() != all.orders.size()) {
    std::printf("orders:                DUPLICATE order numbers: %zu replies, %zu distinct numbers\n", all.orders.size(), unique.size());
  }
  if (orders_before && orders_after) {
    const std::int64_t placed = *orders_after - *orders_before;
    const bool match = placed == static_cast<std::int64_t>(all.checkouts_ok);
    correct = correct && match;
    std::printf("orders:                newest C-%06lld before, C-%06lld after: %lld placed, %s the %llu confirmed in chat\n",
                static_cast<long long>(*orders_before), static_cast<long long>(*orders_after), static_cast<long long>(placed),
                match ? "matching" : "NOT matching", static_cast<unsigned long long>(all.checkouts_ok));
  } else if (!token.empty()) {
    std::printf("orders:                could not read the newest order after the run\n");
    correct = false;
  }

  if (!o.spawn.empty()) {
    const int code = spawned.stop();
    auto problems = spawned.problems();
    std::printf("server stopped with SIGTERM: exit %d; %zu warn/error log lines\n", code, problems.size());
    for (std::size_t i = 0; i < problems.size() && i < 5; ++i) std::printf("  %s\n", problems[i].c_str());
    if (code != 0) correct = false;
  }
  std::printf("result:                %s\n", correct ? "correct" : "ERRORS (see above)");
  std::fflush(stdout);
  return correct ? 0 : 1;
}

// On SIGINT/SIGTERM: stop the spawned server, remove the temp dir, exit 130.
void start_interrupt_handler() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    sigwait(&set, &sig);
    std::lock_guard lock(g_cleanup.mutex);
    if (g_cleanup.server > 0) {
      ::kill(g_cleanup.server, SIGTERM);
      int status = 0;
      waitpid(g_cleanup.server, &status, 0);
    }
    if (!g_cleanup.dir.empty()) {
      std::error_code ec;
      if (g_cleanup.keep) std::fprintf(stderr, "kept %s\n", g_cleanup.dir.c_str());
      else fs::remove_all(g_cleanup.dir, ec);
    }
    std::fprintf(stderr, "webchat_bench: interrupted\n");
    std::_Exit(130);
  }).detach();
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse_args(argc, argv);
  if (!o) return 2;
  start_interrupt_handler();
  try {
    return run(*o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "webchat_bench: %s\n", e.what());
    return 2;
  }
}

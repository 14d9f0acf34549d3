// Helpers shared by the end-to-end tests: a data dir + config + running `comptoir serve` in a
// temp dir (ServerInstance), a raw TCP connection for requests httplib::Client cannot shape
// (RawConn), and awaiting conditions with a deadline instead of sleeping.
// Single-threaded test code; header-only so that no CMake edit is needed.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace comptoir::testing::e2e {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A test that writes to a connection the server has closed (e.g. the rest of a refused body)
// must see EPIPE, not die of SIGPIPE. Set once for every test program including this header.
[[maybe_unused]] inline const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

// Polls `cond` every 10 ms until it is true or `timeout` passes. The sleep is only the polling
// interval; the test waits for the condition, not for a guessed duration.
inline bool await(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

// A config file text: `server_extra` is spliced into the "server" object, `top_extra` into the
// top-level object (both without leading commas).
inline std::string config_text(const fs::path& data_dir, const std::string& server_extra = "",
                               const std::string& top_extra = "") {
  std::string s = "{\n  \"data_dir\": \"" + data_dir.string() + "\",\n  \"server\": {\"host\": \"127.0.0.1\", \"port\": 0";
  if (!server_extra.empty()) s += ", " + server_extra;
  s += "}";
  if (!top_extra.empty()) s += ",\n  " + top_extra;
  s += "\n}\n";
  return s;
}

inline std::size_t count_lines(const std::string& text) {
  std::size_t n = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    if (nl > start) ++n;  // non-empty lines only
    start = nl + 1;
  }
  return n;
}

// Every file present in `before` is byte-for-byte the same in `after`, and no file appeared
// except an empty serve.lock (the advisory lock file `serve` takes before it opens anything).
inline void expect_unchanged(const std::map<std::string, std::string>& before,
                             const std::map<std::string, std::string>& after) {
  for (const auto& [path, bytes] : before) {
    auto it = after.find(path);
    if (it == after.end()) {
      ADD_FAILURE() << path << " disappeared";
    } else if (it->second != bytes) {
      ADD_FAILURE() << path << " changed";
    }
  }
  for (const auto& [path, bytes] : after) {
    if (before.count(path) != 0) continue;
    if (fs::path(path).filename() == "serve.lock" && bytes.empty()) continue;
    ADD_FAILURE() << path << " appeared";
  }
}

// A raw loopback TCP connection with deadline-bounded reads.
class RawConn {
 public:
  explicit RawConn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) close();
  }
  ~RawConn() { close(); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool connected() const { return fd_ >= 0; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads until `done(buffer)` holds, the peer closes, or the deadline passes.
  bool read_until(const std::function<bool(const std::string&)>& done, std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(buffer_)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r <= 0) return false;
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return done(buffer_);
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads one complete response with a Content-Length body; returns it and removes it from the
  // buffer.
  std::optional<std::string> read_response(std::chrono::milliseconds timeout = 20s) {
    auto complete = [](const std::string& b) -> std::size_t {
      const auto end = b.find("\r\n\r\n");
      if (end == std::string::npos) return 0;
      std::size_t length = 0;
      std::string lower = b.substr(0, end);
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const auto cl = lower.find("\r\ncontent-length:");
      if (cl != std::string::npos) length = std::stoul(lower.substr(cl + 17));
      return b.size() >= end + 4 + length ? end + 4 + length : 0;
    };
    if (!read_until([&](const std::string& b) { return complete(b) > 0; }, timeout)) return std::nullopt;
    const std::size_t n = complete(buffer_);
    std::string r = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return r;
  }

  const std::string& buffer() const { return buffer_; }
  // Drops everything up to and including the first `marker` from the read buffer.
  bool consume_through(const std::string& marker) {
    const auto at = buffer_.find(marker);
    if (at == std::string::npos) return false;
    buffer_.erase(0, at + marker.size());
    return true;
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

// True when nothing accepts connections on the port any more.
inline bool port_closed(int port) { return !RawConn(port).connected(); }

// A data dir, its config and (optionally) a running `comptoir serve`, all under one temp dir.
// Records every secret the test creates or sends so that check_no_secrets() can search the
// server's output for them.
class ServerInstance {
 public:
  explicit ServerInstance(const std::string& server_extra = "", const std::string& top_extra = "",
                          std::map<std::string, std::string> env = {})
      : env_(std::move(env)) {
    data_ = tmp_ / "data";
    config_ = tmp_ / "comptoir.json";
    write_text(config_, config_text(data_, server_extra, top_extra));
  }
  ~ServerInstance() {
    if (proc_ && proc_->running()) {
      proc_->signal(SIGTERM);
      proc_->wait(30s);
    }
  }

  const fs::path& dir() const { return tmp_.path(); }
  const fs::path& data() const { return data_; }
  const fs::path& config() const { return config_; }
  const std::map<std::string, std::string>& env() const { return env_; }
  int port() const { return port_; }
  Process& process() { return *proc_; }

  RunResult cli(std::vector<std::string> args) { return run_comptoir(args, env_); }

  // `comptoir init`; returns true on exit 0.
  bool init() {
    auto r = run_comptoir({"init", "-c", config_.string()}, env_);
    if (r.exit_code != 0) ADD_FAILURE() << "init failed (" << r.exit_code << "): " << r.err;
    return r.exit_code == 0;
  }

  // Starts `serve` and waits for its port; false (with the server's stderr reported) otherwise.
  bool start() {
    proc_ = std::make_unique<Process>(std::vector<std::string>{"serve", "-c", config_.string()}, tmp_.path(), env_);
    auto port = proc_->wait_for_port();
    if (!port) {
      ADD_FAILURE() << "serve did not start: " << proc_->err();
      return false;
    }
    port_ = *port;
    return true;
  }

  // `token create`; returns the secret (remembered) or "" on failure.
  std::string create_token(const std::string& role, const std::string& label = "e2e") {
    auto r = run_comptoir({"token", "create", "-c", config_.string(), "--role", role, "--label", label}, env_);
    if (r.exit_code != 0 || r.out.size() < 2) {
      ADD_FAILURE() << "token create failed (" << r.exit_code << "): " << r.err;
      return "";
    }
    std::string secret = r.out.substr(0, r.out.find('\n'));
    remember(secret);
    return secret;
  }

  void remember(const std::string& secret) { secrets_.push_back(secret); }
  const std::vector<std::string>& secrets() const { return secrets_; }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(10, 0);
    c.set_read_timeout(20, 0);
    c.set_write_timeout(20, 0);
    return c;
  }

  // SIGTERM, then the exit code; checks "shutdown.complete" and that no secret reached stderr.
  int stop() {
    proc_->signal(SIGTERM);
    return wait_exit();
  }
  // The same without sending the signal (when the test has sent it already).
  int wait_exit() {
    const int code = proc_->wait(60s);
    const std::string err = proc_->err();
    EXPECT_NE(err.find("\"event\":\"shutdown.complete\""), std::string::npos) << err;
    check_no_secrets(err, "server stderr");
    return code;
  }

  // No recorded secret (nor a long piece of one) occurs in `text`.
  void check_no_secrets(const std::string& text, const std::string& where) const {
    for (const auto& s : secrets_) {
      if (s.empty()) continue;
      EXPECT_EQ(text.find(s), std::string::npos) << where << " contains a secret the test used";
      // The random part alone, in case a prefix was stripped before logging.
      if (s.size() > 20) {
        EXPECT_EQ(text.find(s.substr(s.size() - 16)), std::string::npos) << where << " contains part of a secret";
      }
    }
  }

 private:
  TempDir tmp_;
  fs::path data_, config_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<Process> proc_;
  int port_ = 0;
  std::vector<std::string> secrets_;
};

}  // namespace comptoir::testing::e2e

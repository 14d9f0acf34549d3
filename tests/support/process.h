// Test support for end-to-end tests: run the real `comptoir` binary as a child process with
// captured stdout/stderr, wait for it with a deadline, signal it; and wait for the server's
// "listening" log line to learn its ephemeral port.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace comptoir::testing {

struct RunResult {
  int exit_code = -1;   // -1 if killed by a signal or timed out
  int term_signal = 0;
  std::string out;
  std::string err;
};

// Runs the comptoir binary with `args` to completion (killed after `timeout`).
RunResult run_comptoir(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& extra_env = {},
                       std::chrono::seconds timeout = std::chrono::seconds(60));

// A running comptoir process (e.g. `serve`). Output goes to files in `log_dir`.
class Process {
 public:
  Process(const std::vector<std::string>& args, const std::filesystem::path& log_dir,
          const std::map<std::string, std::string>& extra_env = {});
  ~Process();  // SIGKILLs the process if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Waits until stderr shows the "listening" line; returns the port, or nullopt if the process
  // exited or the deadline passed.
  std::optional<int> wait_for_port(std::chrono::seconds timeout = std::chrono::seconds(30));
  void signal(int sig);
  // Waits for exit; returns the exit code (or -1 on signal/timeout, which kills it).
  int wait(std::chrono::seconds timeout = std::chrono::seconds(30));
  bool running();
  std::string out() const;
  std::string err() const;

 private:
  pid_t pid_ = -1;
  std::filesystem::path out_path_, err_path_;
  std::optional<int> exit_code_;
};

}  // namespace comptoir::testing

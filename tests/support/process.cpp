#include "tests/support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <stdexcept>
#include <thread>

#include "tests/support/temp_dir.h"

extern char** environ;

namespace comptoir::testing {

namespace {

std::vector<std::string> child_env(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

pid_t spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& extra_env,
            const std::filesystem::path& out_path, const std::filesystem::path& err_path) {
  std::vector<std::string> argv_s;
  argv_s.emplace_back(COMPTOIR_BINARY);
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto env_s = child_env(extra_env);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  // The child must not inherit the test's blocked signals.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  // Nor its ignored signals (a test may ignore SIGPIPE): the child starts with default actions.
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("posix_spawn failed");
  return pid;
}

std::filesystem::path log_dir_for_run() {
  static TempDir dir;  // lives for the whole test process
  return dir.path();
}

int decode_status(int status, int* term_signal) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status) && term_signal) *term_signal = WTERMSIG(status);
  return -1;
}

}  // namespace

RunResult run_comptoir(const std::vector<std::string>& args, const std::map<std::string, std::string>& extra_env,
                       std::chrono::seconds timeout) {
  static int counter = 0;
  const auto dir = log_dir_for_run();
  const auto out_path = dir / ("run-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".out");
  const auto err_path = dir / ("run-" + std::to_string(::getpid()) + "-" + std::to_string(counter) + ".err");
  const pid_t pid = spawn(args, extra_env, out_path, err_path);
  RunResult r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      r.exit_code = decode_status(status, &r.term_signal);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.exit_code = -1;
      r.term_signal = SIGKILL;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  return r;
}

Process::Process(const std::vector<std::string>& args, const std::filesystem::path& log_dir,
                 const std::map<std::string, std::string>& extra_env)
    : out_path_(log_dir / "stdout.log"), err_path_(log_dir / "stderr.log") {
  static int counter = 0;
  ++counter;
  out_path_ = log_dir / ("proc-" + std::to_string(counter) + ".out");
  err_path_ = log_dir / ("proc-" + std::to_string(counter) + ".err");
  pid_ = spawn(args, extra_env, out_path_, err_path_);
}

Process::~Process() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

bool Process::running() {
  if (exit_code_) return false;
  int status = 0;
  const pid_t w = ::waitpid(pid_, &status, WNOHANG);
  if (w == pid_) {
    exit_code_ = decode_status(status, nullptr);
    return false;
  }
  return true;
}

std::optional<int> Process::wait_for_port(std::chrono::seconds timeout) {
  static const std::regex kListening(R"re("event":"listening"[^\n]*"port":([0-9]+))re");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string err = read_text(err_path_);
    std::smatch m;
    if (std::regex_search(err, m, kListening)) return std::stoi(m[1].str());
    if (!running()) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

void Process::signal(int sig) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, sig);
}

int Process::wait(std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      exit_code_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return *exit_code_;
}

std::string Process::out() const { return read_text(out_path_); }
std::string Process::err() const { return read_text(err_path_); }

}  // namespace comptoir::testing

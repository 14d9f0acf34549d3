// Failed authentications, recorded without letting an attacker flood the audit log: at most one
// "auth.failed" event per window (default a minute) for the whole server. The first failure of a
// window is recorded at once (counts: failures 1, clients 1); the failures that follow within the
// window are counted and recorded as one event when the window has passed (flush(), called by
// serve's housekeeping and at shutdown, or by the next failure). The client address is used only
// to count distinct clients in memory; no address, token or path reaches the log.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_set>

#include "src/audit/recorder.h"
#include "src/common/env.h"

namespace comptoir::audit {

class AuthFailures {
 public:
  AuthFailures(Recorder& recorder, const Clock& clock, std::chrono::seconds window = std::chrono::seconds(60));
  // One failed authentication from `client` (an address, used in memory only). `reason`:
  // "missing" | "invalid" (a short code, never the presented token).
  void failed(const std::string& client, const std::string& reason);
  // Records the failures counted in a window that has passed. `force`: also the current window's
  // (at shutdown).
  void flush(bool force = false);

  // Distinct clients counted per window at most (memory bound); beyond, "clients" saturates.
  static constexpr std::size_t kMaxClients = 10000;

 private:
  void record_locked(std::int64_t failures, std::int64_t clients, std::int64_t missing, std::int64_t invalid);
  Recorder& recorder_;
  const Clock& clock_;
  std::chrono::seconds window_;
  std::mutex mutex_;
  bool open_ = false;  // a window is running
  TimePoint window_start_{};
  std::int64_t pending_ = 0, pending_missing_ = 0, pending_invalid_ = 0;
  std::unordered_set<std::string> clients_;  // distinct clients of the pending failures
};

}  // namespace comptoir::audit

// FailureLimiter: counts failures (e.g. bad bearer tokens) per key (a client address) in a fixed
// one-minute window and says when a key has used up its allowance. Memory is bounded: at most
// `max_keys` keys are tracked; expired windows are pruned first. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "src/common/env.h"

namespace comptoir::http {

class FailureLimiter {
 public:
  FailureLimiter(int max_failures, std::chrono::seconds window, std::size_t max_keys = 10000);
  // Seconds until `key` may try again, or 0 if it is not limited now.
  int retry_after(const std::string& key, TimePoint now);
  void record_failure(const std::string& key, TimePoint now);

 private:
  struct Entry {
    TimePoint window_start;
    int failures = 0;
  };
  void prune(TimePoint now);

  int max_failures_;
  std::chrono::seconds window_;
  std::size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace comptoir::http

#include "src/http/rate_limiter.h"

namespace comptoir::http {

FailureLimiter::FailureLimiter(int max_failures, std::chrono::seconds window, std::size_t max_keys)
    : max_failures_(max_failures), window_(window), max_keys_(max_keys) {}

int FailureLimiter::retry_after(const std::string& key, TimePoint now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return 0;
  const auto end = it->second.window_start + window_;
  if (now >= end) {
    entries_.erase(it);
    return 0;
  }
  if (it->second.failures < max_failures_) return 0;
  // Rounded up: a client that waits exactly this long must find the window over.
  const auto left = std::chrono::ceil<std::chrono::seconds>(end - now).count();
  return static_cast<int>(left < 1 ? 1 : left);
}

void FailureLimiter::record_failure(const std::string& key, TimePoint now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || now >= it->second.window_start + window_) {
    if (it == entries_.end() && entries_.size() >= max_keys_) {
      prune(now);
      if (entries_.size() >= max_keys_) entries_.clear();  // under a flood, forget rather than grow
    }
    entries_[key] = Entry{now, 1};
    return;
  }
  ++it->second.failures;
}

void FailureLimiter::prune(TimePoint now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (now >= it->second.window_start + window_) it = entries_.erase(it);
    else ++it;
  }
}

}  // namespace comptoir::http

#include "src/audit/auth_failures.h"

#include "src/common/log.h"

namespace comptoir::audit {

AuthFailures::AuthFailures(Recorder& recorder, const Clock& clock, std::chrono::seconds window)
    : recorder_(recorder), clock_(clock), window_(window) {}

void AuthFailures::record_locked(std::int64_t failures, std::int64_t clients, std::int64_t missing, std::int64_t invalid) {
  Event e;
  e.actor = Actor::system_actor();
  e.action = "auth.failed";
  e.resource = "api";
  e.purpose = "security";
  e.outcome = "denied";
  e.counts = {{"failures", failures}, {"clients", clients}, {"missing_token", missing}, {"invalid_token", invalid}};
  e.details = {{"window_seconds", std::to_string(window_.count())}};
  if (auto st = recorder_.record(e); !st) {
    log::error("audit.record_failed", {{"action", e.action}, {"error", st.error().message}});
  }
}

void AuthFailures::failed(const std::string& client, const std::string& reason) {
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_.now();
  if (open_ && now - window_start_ >= window_) {
    if (pending_ > 0) {
      record_locked(pending_, static_cast<std::int64_t>(clients_.size()), pending_missing_, pending_invalid_);
    }
    open_ = false;
  }
  const bool missing = reason == "missing";
  if (!open_) {
    // The first failure of a window is recorded at once.
    open_ = true;
    window_start_ = now;
    pending_ = pending_missing_ = pending_invalid_ = 0;
    clients_.clear();
    record_locked(1, 1, missing ? 1 : 0, missing ? 0 : 1);
    return;
  }
  ++pending_;
  ++(missing ? pending_missing_ : pending_invalid_);
  if (clients_.size() < kMaxClients) clients_.insert(client);
}

void AuthFailures::flush(bool force) {
  std::lock_guard lock(mutex_);
  if (!open_) return;
  if (!force && clock_.now() - window_start_ < window_) return;
  if (pending_ > 0) {
    record_locked(pending_, static_cast<std::int64_t>(clients_.size()), pending_missing_, pending_invalid_);
  }
  open_ = false;
  pending_ = pending_missing_ = pending_invalid_ = 0;
  clients_.clear();
}

}  // namespace comptoir::audit

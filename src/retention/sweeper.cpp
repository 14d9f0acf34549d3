#include "src/retention/sweeper.h"

#include "src/common/log.h"

namespace comptoir::retention {

Sweeper::Sweeper(Engine& engine, const Clock& clock, std::chrono::seconds interval)
    : engine_(engine), clock_(clock), interval_(interval) {}

Sweeper::~Sweeper() { stop(); }

void Sweeper::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  stop_flag_ = false;
  thread_ = std::thread([this] { loop(); });
}

void Sweeper::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_flag_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Sweeper::loop() {
  for (;;) {
    sweep_once();
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, interval_, [this] { return stopping_; })) return;
  }
}

void Sweeper::sweep_once() {
  const auto started = std::chrono::steady_clock::now();
  auto report = engine_.run(clock_.now(), false, [this] { return stop_flag_.load(); });
  sweeps_.fetch_add(1);
  if (!report) {
    log::warn("retention.failed", {{"error", report.error().message}});
    return;
  }
  std::int64_t expired = 0, erased = 0, cleared = 0, detached = 0, unlinked = 0, released = 0;
  for (const auto& c : report->categories) {
    expired += c.counts.expired;
    erased += c.counts.erased;
    cleared += c.counts.cleared;
    detached += c.counts.detached;
    unlinked += c.counts.unlinked;
    released += c.counts.released;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  log::info("retention.swept", {{"expired", expired},
                                {"erased", erased},
                                {"cleared", cleared},
                                {"detached", detached},
                                {"unlinked", unlinked},
                                {"released", released},
                                {"customers_erased", report->customers_erased},
                                {"transactions", report->transactions},
                                {"interrupted", report->interrupted},
                                {"ms", static_cast<std::int64_t>(ms)}});
  for (const auto& note : report->notes) log::warn("retention.rule_not_applicable", {{"note", note}});
}

}  // namespace comptoir::retention

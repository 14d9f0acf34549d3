#include "src/http/bounded_queue.h"

#include "src/common/threads.h"

namespace comptoir::http {

namespace {
thread_local bool t_overflow = false;

struct OverflowScope {
  explicit OverflowScope(bool on) : previous(t_overflow) { t_overflow = on; }
  ~OverflowScope() { t_overflow = previous; }
  bool previous;
};
}  // namespace

bool in_overflow_lane() { return t_overflow; }

BoundedTaskQueue::BoundedTaskQueue(std::size_t threads, std::size_t max_queued, std::size_t max_overflow) {
  main_.limit = max_queued;
  overflow_.limit = max_overflow;
  overflow_.overflow = true;
  for (std::size_t i = 0; i < threads; ++i) main_.threads.emplace_back([this] { work(main_); });
  overflow_.threads.emplace_back([this] { work(overflow_); });
}

BoundedTaskQueue::~BoundedTaskQueue() { shutdown(); }

void BoundedTaskQueue::enqueue(std::function<void()> fn) {
  {
    std::unique_lock lock(mutex_);
    if (!shutdown_) {
      if (main_.jobs.size() < main_.limit) {
        main_.jobs.push_back(std::move(fn));
        lock.unlock();
        main_.cv.notify_one();
        return;
      }
      ++rejected_;
      if (overflow_.jobs.size() < overflow_.limit) {
        overflow_.jobs.push_back(std::move(fn));
        lock.unlock();
        overflow_.cv.notify_one();
        return;
      }
    }
  }
  // Both lanes full (or shutting down): answer 503 on the accepting thread.
  OverflowScope scope(true);
  fn();
}

void BoundedTaskQueue::work(Lane& lane) {
  lower_thread_priority(kRequestThreadNice);
  OverflowScope scope(lane.overflow);
  for (;;) {
    std::function<void()> fn;
    {
      std::unique_lock lock(mutex_);
      lane.cv.wait(lock, [&] { return shutdown_ || !lane.jobs.empty(); });
      if (lane.jobs.empty()) return;  // shutdown and drained
      fn = std::move(lane.jobs.front());
      lane.jobs.pop_front();
    }
    fn();
  }
}

void BoundedTaskQueue::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (shutdown_ && main_.threads.empty()) return;
    shutdown_ = true;
  }
  main_.cv.notify_all();
  overflow_.cv.notify_all();
  for (auto* lane : {&main_, &overflow_}) {
    for (auto& t : lane->threads) {
      if (t.joinable()) t.join();
    }
    lane->threads.clear();
  }
}

std::size_t BoundedTaskQueue::rejected() const {
  std::lock_guard lock(const_cast<std::mutex&>(mutex_));
  return rejected_;
}

}  // namespace comptoir::http

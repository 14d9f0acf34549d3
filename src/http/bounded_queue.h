// A bounded task queue for cpp-httplib: `threads` workers take connections from a queue of at
// most `max_queued`. When the queue is full the connection is not dropped silently: it goes to a
// one-thread overflow lane whose requests are answered 503 with Retry-After (the route layer
// checks in_overflow_lane()). If even that lane is full, the accepting thread answers the 503
// itself, which slows accepting down: back-pressure instead of unbounded memory.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace comptoir::http {

class BoundedTaskQueue final : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(std::size_t threads, std::size_t max_queued, std::size_t max_overflow);
  ~BoundedTaskQueue() override;

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

  std::size_t rejected() const;

 private:
  struct Lane {
    std::deque<std::function<void()>> jobs;
    std::size_t limit = 0;
    bool overflow = false;
    std::vector<std::thread> threads;
    std::condition_variable cv;
  };
  void work(Lane& lane);

  std::mutex mutex_;
  Lane main_;
  Lane overflow_;
  bool shutdown_ = false;
  std::size_t rejected_ = 0;
};

// True while the current thread is answering a connection that did not fit in the queue.
bool in_overflow_lane();

}  // namespace comptoir::http

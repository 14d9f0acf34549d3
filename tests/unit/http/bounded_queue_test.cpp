// BoundedTaskQueue: jobs run on the workers; a job that does not fit in the queue runs in the
// overflow lane (in_overflow_lane() true, so the request layer answers 503); when even that lane
// is full the caller runs it itself, still flagged; shutdown drains every accepted job.
// Workers are held with promises, never with sleeps.
#include "src/http/bounded_queue.h"

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace comptoir::http {
namespace {

using namespace std::chrono_literals;

struct Seen {
  std::thread::id thread;
  bool overflow = false;
};

// A job that reports that it started, then blocks until released.
struct Gate {
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released{release.get_future().share()};
  Seen seen;
  std::function<void()> job() {
    return [this] {
      seen = {std::this_thread::get_id(), in_overflow_lane()};
      started.set_value();
      released.wait();
    };
  }
};

TEST(BoundedTaskQueue, RunsJobsOnItsWorkers) {
  BoundedTaskQueue q(2, 16, 16);
  std::mutex m;
  std::vector<Seen> seen;
  std::vector<std::promise<void>> done(10);
  for (int i = 0; i < 10; ++i) {
    q.enqueue([&, i] {
      {
        std::lock_guard lock(m);
        seen.push_back({std::this_thread::get_id(), in_overflow_lane()});
      }
      done[static_cast<std::size_t>(i)].set_value();
    });
  }
  for (auto& d : done) ASSERT_EQ(d.get_future().wait_for(30s), std::future_status::ready);
  q.shutdown();
  ASSERT_EQ(seen.size(), 10u);
  std::set<std::thread::id> threads;
  for (const auto& s : seen) {
    EXPECT_NE(s.thread, std::this_thread::get_id());
    EXPECT_FALSE(s.overflow);
    threads.insert(s.thread);
  }
  EXPECT_LE(threads.size(), 2u);
  EXPECT_EQ(q.rejected(), 0u);
  EXPECT_FALSE(in_overflow_lane());
}

TEST(BoundedTaskQueue, JobsBeyondTheQueueGoToTheOverflowLaneThenToTheCaller) {
  BoundedTaskQueue q(1, 1, 1);
  Gate worker, overflow;
  q.enqueue(worker.job());
  ASSERT_EQ(worker.started.get_future().wait_for(30s), std::future_status::ready);  // worker busy

  std::promise<Seen> queued_seen;
  q.enqueue([&] { queued_seen.set_value({std::this_thread::get_id(), in_overflow_lane()}); });  // queue: 1/1

  q.enqueue(overflow.job());  // does not fit: overflow lane
  ASSERT_EQ(overflow.started.get_future().wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(overflow.seen.overflow);
  EXPECT_NE(overflow.seen.thread, std::this_thread::get_id());
  EXPECT_NE(overflow.seen.thread, worker.seen.thread);

  std::promise<Seen> overflow_queued_seen;
  q.enqueue([&] { overflow_queued_seen.set_value({std::this_thread::get_id(), in_overflow_lane()}); });

  // Both lanes full: the caller (httplib's accepting thread) runs the job itself, flagged.
  Seen inline_seen;
  bool ran = false;
  q.enqueue([&] {
    inline_seen = {std::this_thread::get_id(), in_overflow_lane()};
    ran = true;
  });
  EXPECT_TRUE(ran) << "must have run synchronously";
  EXPECT_EQ(inline_seen.thread, std::this_thread::get_id());
  EXPECT_TRUE(inline_seen.overflow);
  EXPECT_FALSE(in_overflow_lane()) << "the flag is restored on the caller's thread";
  EXPECT_EQ(q.rejected(), 3u);

  worker.release.set_value();
  overflow.release.set_value();
  auto qs = queued_seen.get_future();
  auto oqs = overflow_queued_seen.get_future();
  ASSERT_EQ(qs.wait_for(30s), std::future_status::ready);
  ASSERT_EQ(oqs.wait_for(30s), std::future_status::ready);
  const Seen a = qs.get();
  const Seen b = oqs.get();
  EXPECT_FALSE(a.overflow);
  EXPECT_EQ(a.thread, worker.seen.thread);
  EXPECT_TRUE(b.overflow);
  EXPECT_EQ(b.thread, overflow.seen.thread);
  q.shutdown();
}

TEST(BoundedTaskQueue, ShutdownDrainsAcceptedJobs) {
  BoundedTaskQueue q(1, 100, 1);
  Gate worker;
  q.enqueue(worker.job());
  ASSERT_EQ(worker.started.get_future().wait_for(30s), std::future_status::ready);
  std::atomic<int> ran{0};
  for (int i = 0; i < 50; ++i) q.enqueue([&] { ran.fetch_add(1); });
  EXPECT_EQ(ran.load(), 0);
  std::thread stopper([&] { q.shutdown(); });  // blocks until the queue is drained
  worker.release.set_value();
  stopper.join();
  EXPECT_EQ(ran.load(), 50);
  EXPECT_EQ(q.rejected(), 0u);
}

TEST(BoundedTaskQueue, AfterShutdownJobsRunOnTheCallerAsOverflow) {
  BoundedTaskQueue q(2, 4, 4);
  q.shutdown();
  q.shutdown();  // idempotent
  bool overflow = false;
  std::thread::id thread;
  q.enqueue([&] {
    overflow = in_overflow_lane();
    thread = std::this_thread::get_id();
  });
  EXPECT_TRUE(overflow) << "a connection arriving during shutdown is answered 503, not dropped";
  EXPECT_EQ(thread, std::this_thread::get_id());
}

TEST(BoundedTaskQueue, DestructorJoinsWorkers) {
  std::atomic<int> ran{0};
  {
    BoundedTaskQueue q(3, 64, 4);
    for (int i = 0; i < 32; ++i) q.enqueue([&] { ran.fetch_add(1); });
  }
  EXPECT_EQ(ran.load(), 32);
}

}  // namespace
}  // namespace comptoir::http

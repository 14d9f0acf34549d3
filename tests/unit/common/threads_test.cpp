// Unit tests of lower_thread_priority: a request thread becomes SCHED_BATCH (a woken one does not
// preempt the database writer) with its nice value raised by the increment, and only that thread
// changes.
#include "src/common/threads.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

namespace comptoir {
namespace {

int nice_of_this_thread() { return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid))); }

TEST(ThreadPriority, ARequestThreadYieldsAndOnlyThatThread) {
  const int main_nice = nice_of_this_thread();
  const int main_policy = ::sched_getscheduler(0);
  int policy = -1, before = 0, after = 0;
  std::thread t([&] {
    before = nice_of_this_thread();
    lower_thread_priority(kRequestThreadNice);
    after = nice_of_this_thread();
    policy = ::sched_getscheduler(0);
  });
  t.join();
  EXPECT_EQ(policy, SCHED_BATCH);
  EXPECT_EQ(after, std::min(19, before + kRequestThreadNice));
  EXPECT_EQ(nice_of_this_thread(), main_nice);
  EXPECT_EQ(::sched_getscheduler(0), main_policy);
}

TEST(ThreadPriority, NothingChangesForAnIncrementOfZero) {
  int policy = -1, before = 0, after = 0;
  std::thread t([&] {
    before = nice_of_this_thread();
    const int start_policy = ::sched_getscheduler(0);
    lower_thread_priority(0);
    after = nice_of_this_thread();
    policy = ::sched_getscheduler(0) == start_policy ? 0 : 1;
  });
  t.join();
  EXPECT_EQ(after, before);
  EXPECT_EQ(policy, 0);
}

}  // namespace
}  // namespace comptoir

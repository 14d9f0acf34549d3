// FailureLimiter: the fixed window, Retry-After values, per-key independence and the bound on
// tracked keys. Time comes from a FakeClock.
#include "src/http/rate_limiter.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "src/common/env.h"

namespace comptoir::http {
namespace {

using namespace std::chrono_literals;

class FailureLimiterTest : public ::testing::Test {
 protected:
  FakeClock clock{TimePoint(std::chrono::seconds(1'800'000'000))};
  TimePoint now() const { return clock.now(); }
};

TEST_F(FailureLimiterTest, AllowsUpToTheLimitThenAsksToWaitForTheRestOfTheWindow) {
  FailureLimiter limiter(3, 60s);
  EXPECT_EQ(limiter.retry_after("a", now()), 0);
  limiter.record_failure("a", now());
  limiter.record_failure("a", now());
  EXPECT_EQ(limiter.retry_after("a", now()), 0);
  limiter.record_failure("a", now());
  EXPECT_EQ(limiter.retry_after("a", now()), 60);
  clock.advance(10s);
  EXPECT_EQ(limiter.retry_after("a", now()), 50);
  clock.advance(49s);
  EXPECT_EQ(limiter.retry_after("a", now()), 1);
  clock.advance(1s);  // the window is over
  EXPECT_EQ(limiter.retry_after("a", now()), 0);
}

TEST_F(FailureLimiterTest, RetryAfterRoundsUpSoThatARetryAtThatTimeIsAllowed) {
  FailureLimiter limiter(1, 60s);
  limiter.record_failure("a", now());
  clock.advance(10500ms);  // 49.5 s left
  const int wait = limiter.retry_after("a", now());
  EXPECT_EQ(wait, 50);
  clock.advance(std::chrono::seconds(wait - 1));
  EXPECT_GT(limiter.retry_after("a", now()), 0);
  clock.advance(1s);  // exactly after the advertised wait
  EXPECT_EQ(limiter.retry_after("a", now()), 0);
  limiter.record_failure("b", now());
  clock.advance(59999ms);
  EXPECT_EQ(limiter.retry_after("b", now()), 1) << "never 0 while still limited";
}

TEST_F(FailureLimiterTest, TheWindowIsFixedFromTheFirstFailure) {
  FailureLimiter limiter(3, 60s);
  limiter.record_failure("a", now());
  clock.advance(50s);
  limiter.record_failure("a", now());
  limiter.record_failure("a", now());
  EXPECT_EQ(limiter.retry_after("a", now()), 10);
  clock.advance(10s);
  EXPECT_EQ(limiter.retry_after("a", now()), 0);
  // A failure after the window starts a new count.
  limiter.record_failure("a", now());
  limiter.record_failure("a", now());
  EXPECT_EQ(limiter.retry_after("a", now()), 0);
  limiter.record_failure("a", now());
  EXPECT_EQ(limiter.retry_after("a", now()), 60);
}

TEST_F(FailureLimiterTest, KeysAreIndependent) {
  FailureLimiter limiter(2, 60s);
  limiter.record_failure("10.0.0.1", now());
  limiter.record_failure("10.0.0.1", now());
  limiter.record_failure("10.0.0.2", now());
  EXPECT_GT(limiter.retry_after("10.0.0.1", now()), 0);
  EXPECT_EQ(limiter.retry_after("10.0.0.2", now()), 0);
  EXPECT_EQ(limiter.retry_after("10.0.0.3", now()), 0);
}

TEST_F(FailureLimiterTest, ExpiredKeysArePrunedBeforeLiveOnesWhenFull) {
  FailureLimiter limiter(1, 60s, /*max_keys=*/2);
  limiter.record_failure("old", now());
  clock.advance(30s);
  limiter.record_failure("live", now());
  clock.advance(31s);  // "old" has expired, "live" has 29 s left
  limiter.record_failure("new", now());
  EXPECT_EQ(limiter.retry_after("live", now()), 29);
  EXPECT_EQ(limiter.retry_after("new", now()), 60);
  EXPECT_EQ(limiter.retry_after("old", now()), 0);
}

TEST_F(FailureLimiterTest, MemoryStaysBoundedUnderAFloodOfKeys) {
  FailureLimiter limiter(1, 60s, /*max_keys=*/100);
  for (int i = 0; i < 10000; ++i) limiter.record_failure("k" + std::to_string(i), now());
  // At most 100 keys are remembered: most of the flood has been forgotten, the latest is not.
  int limited = 0;
  for (int i = 0; i < 10000; ++i) limited += limiter.retry_after("k" + std::to_string(i), now()) > 0 ? 1 : 0;
  EXPECT_LE(limited, 100);
  EXPECT_GT(limiter.retry_after("k9999", now()), 0);
}

TEST_F(FailureLimiterTest, ConcurrentFailuresAreAllCounted) {
  FailureLimiter limiter(400, 60s);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) limiter.record_failure("shared", now());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GT(limiter.retry_after("shared", now()), 0);
}

}  // namespace
}  // namespace comptoir::http

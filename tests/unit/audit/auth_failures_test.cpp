// Failed authentications reach the audit log at most once per window, with counts, and never
// with the client's address.
#include <gtest/gtest.h>

#include "src/audit/auth_failures.h"

namespace comptoir::audit {
namespace {

TEST(AuthFailures, OneEventPerWindowWithCounts) {
  MemoryRecorder rec;
  FakeClock clock{TimePoint(std::chrono::seconds(1800000000))};
  AuthFailures f(rec, clock, std::chrono::seconds(60));
  f.failed("198.51.100.7", "invalid");
  ASSERT_EQ(rec.events().size(), 1u);  // the first at once
  EXPECT_EQ(rec.events()[0].counts.at("failures"), 1);
  for (int i = 0; i < 500; ++i) f.failed(i % 2 ? "198.51.100.7" : "203.0.113." + std::to_string(i % 50), i % 5 ? "invalid" : "missing");
  EXPECT_EQ(rec.events().size(), 1u);  // a flood adds nothing within the window
  f.flush();
  EXPECT_EQ(rec.events().size(), 1u);  // the window has not passed
  clock.advance(std::chrono::seconds(60));
  f.flush();
  const auto events = rec.events();
  ASSERT_EQ(events.size(), 2u);
  const Event& e = events[1];
  EXPECT_EQ(e.action, "auth.failed");
  EXPECT_EQ(e.outcome, "denied");
  EXPECT_EQ(e.counts.at("failures"), 500);
  EXPECT_EQ(e.counts.at("missing_token"), 100);
  EXPECT_EQ(e.counts.at("invalid_token"), 400);
  EXPECT_EQ(e.counts.at("clients"), 26);
  for (const auto& ev : rec.events()) {
    for (const auto& [k, v] : ev.details) EXPECT_EQ(v.find("198.51"), std::string::npos);
    EXPECT_EQ(ev.resource.find("198.51"), std::string::npos);
  }
  f.flush(true);
  EXPECT_EQ(rec.events().size(), 2u);  // nothing pending
  // A new window starts with an event of its own; at shutdown the pending ones are flushed.
  f.failed("198.51.100.7", "invalid");
  f.failed("198.51.100.7", "invalid");
  EXPECT_EQ(rec.events().size(), 3u);
  f.flush(true);
  ASSERT_EQ(rec.events().size(), 4u);
  EXPECT_EQ(rec.events()[3].counts.at("failures"), 1);
}

TEST(AuthFailures, TheNextFailureAfterAWindowRecordsThePendingOnes) {
  MemoryRecorder rec;
  FakeClock clock{TimePoint(std::chrono::seconds(1800000000))};
  AuthFailures f(rec, clock, std::chrono::seconds(60));
  f.failed("a", "invalid");
  f.failed("a", "invalid");
  f.failed("b", "invalid");
  clock.advance(std::chrono::seconds(61));
  f.failed("c", "missing");
  ASSERT_EQ(rec.events().size(), 3u);
  EXPECT_EQ(rec.events()[1].counts.at("failures"), 2);
  EXPECT_EQ(rec.events()[1].counts.at("clients"), 2);
  EXPECT_EQ(rec.events()[2].counts.at("missing_token"), 1);
}

}  // namespace
}  // namespace comptoir::audit

// Tests for src/common/env: the fake clock and RFC 3339 formatting / parsing.
#include "src/common/env.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace comptoir {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TimePoint at(std::int64_t unix_secs) { return TimePoint(seconds(unix_secs)); }

TEST(EnvClock, FakeClockStartsWhereToldAndMovesOnlyByHand) {
  FakeClock clock(at(1700000000));
  EXPECT_EQ(clock.now(), at(1700000000));
  EXPECT_EQ(clock.now(), at(1700000000));
  clock.advance(90s);
  EXPECT_EQ(clock.now(), at(1700000090));
  clock.advance(1500ms);
  EXPECT_EQ(clock.now(), at(1700000091) + 500ms);
  clock.advance(nanoseconds(-500'000'000));
  EXPECT_EQ(clock.now(), at(1700000091));
  clock.set(at(42));
  EXPECT_EQ(clock.now(), at(42));
  const Clock& as_base = clock;
  EXPECT_EQ(as_base.now(), at(42));
}

TEST(EnvClock, SystemClockIsCloseToRealTime) {
  const auto before = std::chrono::system_clock::now();
  const auto t = system_clock().now();
  const auto after = std::chrono::system_clock::now();
  EXPECT_LE(before, t);
  EXPECT_LE(t, after);
}

TEST(EnvClock, UnixSecondsTruncatesTowardZero) {
  EXPECT_EQ(unix_seconds(at(0)), 0);
  EXPECT_EQ(unix_seconds(at(1700000000) + 999ms), 1700000000);
  EXPECT_EQ(unix_seconds(at(-10)), -10);
}

TEST(EnvRfc3339, FormatsKnownInstantsInUtc) {
  EXPECT_EQ(format_rfc3339(at(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(at(1700000000)), "2023-11-14T22:13:20Z");
  EXPECT_EQ(format_rfc3339(at(2000000000)), "2033-05-18T03:33:20Z");
  EXPECT_EQ(format_rfc3339(at(951782400)), "2000-02-29T00:00:00Z");  // leap day
  EXPECT_EQ(format_rfc3339(at(-1)), "1969-12-31T23:59:59Z");
}

TEST(EnvRfc3339, FormatsMillisecondsWhenAsked) {
  EXPECT_EQ(format_rfc3339(at(1700000000) + 123ms, true), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(format_rfc3339(at(1700000000) + 7ms, true), "2023-11-14T22:13:20.007Z");
  EXPECT_EQ(format_rfc3339(at(1700000000), true), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(format_rfc3339(at(1700000000) + 999999us, true), "2023-11-14T22:13:20.999Z");
  EXPECT_EQ(format_rfc3339(at(1700000000) + 999ms, false), "2023-11-14T22:13:20Z");  // truncates
  EXPECT_EQ(format_rfc3339(at(0) - 1ms, true), "1969-12-31T23:59:59.999Z");
}

TEST(EnvRfc3339, ParsesUtcAndOffsets) {
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20Z"), at(1700000000));
  EXPECT_EQ(parse_rfc3339("2023-11-14t22:13:20z"), at(1700000000));
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20+00:00"), at(1700000000));
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20-00:00"), at(1700000000));
  EXPECT_EQ(parse_rfc3339("2023-11-15T00:13:20+02:00"), at(1700000000));
  EXPECT_EQ(parse_rfc3339("2023-11-14T17:13:20-05:00"), at(1700000000));
  EXPECT_EQ(parse_rfc3339("2023-11-15T03:43:20+05:30"), at(1700000000));
  EXPECT_EQ(parse_rfc3339("2023-11-14T00:00:00-23:59"), at(1699920000 + 23 * 3600 + 59 * 60));
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), at(0));
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59Z"), at(-1));
}

TEST(EnvRfc3339, ParsesFractionalSeconds) {
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20.5Z"), at(1700000000) + 500ms);
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20.123Z"), at(1700000000) + 123ms);
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20.000001+01:00"), at(1700000000 - 3600) + 1us);
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20.123456789Z"), at(1700000000) + 123456789ns);
  // Digits beyond nanoseconds are accepted and ignored.
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20.1234567899999Z"), at(1700000000) + 123456789ns);
}

TEST(EnvRfc3339, LeapSecondIsClampedIntoTheMinute) {
  EXPECT_EQ(parse_rfc3339("2016-12-31T23:59:60Z"), parse_rfc3339("2016-12-31T23:59:59Z"));
  EXPECT_TRUE(parse_rfc3339("2016-12-31T23:59:60Z").has_value());
}

TEST(EnvRfc3339, LeapYearsFollowTheGregorianRules) {
  EXPECT_TRUE(parse_rfc3339("2024-02-29T00:00:00Z").has_value());
  EXPECT_TRUE(parse_rfc3339("2000-02-29T00:00:00Z").has_value());
  EXPECT_EQ(parse_rfc3339("2000-02-29T00:00:00Z"), at(951782400));
  EXPECT_FALSE(parse_rfc3339("2023-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2100-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("1900-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2024-02-30T00:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2024-02-31T00:00:00Z").has_value());
}

TEST(EnvRfc3339, RejectsImpossibleFieldValues) {
  for (const char* bad : {"2023-00-10T00:00:00Z", "2023-13-10T00:00:00Z", "2023-01-00T00:00:00Z",
                          "2023-01-32T00:00:00Z", "2023-04-31T00:00:00Z", "2023-06-31T00:00:00Z",
                          "2023-09-31T00:00:00Z", "2023-11-31T00:00:00Z", "2023-01-01T24:00:00Z",
                          "2023-01-01T00:60:00Z", "2023-01-01T00:00:61Z", "2023-01-01T00:00:00+24:00",
                          "2023-01-01T00:00:00+01:60"}) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  }
}

TEST(EnvRfc3339, RejectsMalformedText) {
  for (const char* bad : {"", "2023", "2023-11-14", "2023-11-14T22:13:20",  // no zone
                          "2023-11-14T22:13:20.123",                         // no zone after fraction
                          "2023-11-14 22:13:20Z", "2023-11-14T22:13:20Z ", " 2023-11-14T22:13:20Z",
                          "2023-11-14T22:13:20ZZ", "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20,5Z",
                          "2023-11-14T22:13:20+0200", "2023-11-14T22:13:20+02", "2023-11-14T22:13:20+02:",
                          "2023-11-14T22:13:20+2:00", "2023-11-14T22:13:20+02:00:00", "2023-11-14T22:13:20UTC",
                          "2O23-11-14T22:13:20Z", "2023/11/14T22:13:20Z", "2023-1-14T22:13:20Z",
                          "2023-11-14T2:13:20Z", "+2023-11-14T22:13:20Z", "2023-11-14T22:13:20-",
                          "2023-11-14T22:13:2aZ"}) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(EnvRfc3339, RejectsEmbeddedNul) {
  const std::string with_nul("2023-11-14T22:13:20Z\0", 21);
  EXPECT_FALSE(parse_rfc3339(with_nul).has_value());
}

TEST(EnvRfc3339, YearsOutsideTheClockRangeAreRejectedNotOverflowed) {
  // The system clock counts nanoseconds in 64 bits (about 1677..2262); anything outside must be
  // refused rather than silently wrapping (signed overflow is undefined behaviour).
  EXPECT_FALSE(parse_rfc3339("9999-12-31T23:59:59Z").has_value());
  EXPECT_FALSE(parse_rfc3339("0000-01-01T00:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("0001-01-01T00:00:00+23:59").has_value());
  EXPECT_FALSE(parse_rfc3339("2263-01-01T00:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("1677-01-01T00:00:00Z").has_value());
  EXPECT_TRUE(parse_rfc3339("2262-01-01T00:00:00Z").has_value());
  EXPECT_TRUE(parse_rfc3339("1678-01-01T00:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2999-01-01T00:00:00Z").has_value());
}

TEST(EnvRfc3339, FormatThenParseRoundTrips) {
  for (std::int64_t s : {std::int64_t{0}, std::int64_t{1}, std::int64_t{86399}, std::int64_t{951782400},
                         std::int64_t{1700000000}, std::int64_t{4102444799}, std::int64_t{-86400},
                         std::int64_t{-315619200}, std::int64_t{9000000000}}) {
    const TimePoint t = at(s);
    EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t) << format_rfc3339(t);
    const TimePoint tm = t + 321ms;
    EXPECT_EQ(parse_rfc3339(format_rfc3339(tm, true)), tm) << format_rfc3339(tm, true);
  }
  // Sub-millisecond detail is dropped by the formatter, never rounded up.
  const TimePoint fine = at(1700000000) + 123456789ns;
  EXPECT_EQ(parse_rfc3339(format_rfc3339(fine, true)), at(1700000000) + 123ms);
}

TEST(EnvRfc3339, ParseThenFormatNormalisesToUtc) {
  const auto t = parse_rfc3339("2024-03-01T01:30:00+02:00");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(format_rfc3339(*t), "2024-02-29T23:30:00Z");
  const auto u = parse_rfc3339("2023-12-31T22:00:00.250-03:00");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(format_rfc3339(*u, true), "2024-01-01T01:00:00.250Z");
}

}  // namespace
}  // namespace comptoir

// The environment a component runs in, injected (LevelDB's Env idea): the clock for now.
// SystemClock reads the real time; FakeClock lets tests move time by hand.
// Clocks are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace comptoir {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start) : now_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(TimePoint::duration(now_.load())); }
  void advance(std::chrono::nanoseconds by) {
    now_ += std::chrono::duration_cast<TimePoint::duration>(by).count();
  }
  void set(TimePoint t) { now_ = t.time_since_epoch().count(); }

 private:
  std::atomic<TimePoint::rep> now_;
};

// The process-wide default clock (a SystemClock).
const Clock& system_clock();

// "2026-11-28T20:24:29Z" (or with milliseconds, "…29.123Z"), always UTC.
std::string format_rfc3339(TimePoint t, bool millis = false);
// Accepts "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"; nullopt for anything else.
std::optional<TimePoint> parse_rfc3339(std::string_view text);
std::int64_t unix_seconds(TimePoint t);

}  // namespace comptoir

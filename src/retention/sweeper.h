// The retention sweeper inside `serve`: one background thread that runs the retention engine
// (engine.h) at once and then every `interval`, on the real clock. stop() makes a sweep in
// progress end after its current transaction (the rest is done next time) and joins the thread.
// Each sweep logs one line with its totals (counts only, never personal data).
// start()/stop() from one thread (serve's); sweeps() from any.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "src/common/env.h"
#include "src/retention/engine.h"

namespace comptoir::retention {

class Sweeper {
 public:
  Sweeper(Engine& engine, const Clock& clock, std::chrono::seconds interval);
  ~Sweeper();
  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;

  void start();
  void stop();
  // Sweeps finished so far (successful or not).
  std::uint64_t sweeps() const { return sweeps_.load(); }

 private:
  void loop();
  void sweep_once();

  Engine& engine_;
  const Clock& clock_;
  std::chrono::seconds interval_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;  // under mutex_
  std::atomic<bool> stop_flag_{false};
  std::atomic<std::uint64_t> sweeps_{0};
  std::thread thread_;
};

}  // namespace comptoir::retention

// Test support: makes several Database::write calls commit as one group-commit batch, in a known
// order, without relying on timing. A "gate" write is started first and holds the writer thread
// (its callback blocks); each action (which must call Database::write exactly once) is started
// on its own thread and the helper waits until its write is queued before starting the next;
// then the gate opens: the gate's batch commits alone, and the queued writes are taken together,
// in the order they were started, as the writer's next batch. Header-only.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <thread>
#include <vector>

#include "storage/database.h"

namespace comptoir::testing {

inline void run_as_one_batch(storage::Database& db, const std::vector<std::function<void()>>& actions) {
  std::promise<void> open;
  std::shared_future<void> opened = open.get_future().share();
  std::promise<void> entered;
  std::thread gate([&] {
    auto st = db.write([&](storage::Tx&) -> Status {
      entered.set_value();
      opened.wait();
      return ok();
    });
    EXPECT_TRUE(st.has_value());
  });
  entered.get_future().wait();  // the gate's write holds the connection now
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < actions.size(); ++i) {
    threads.emplace_back(actions[i]);
    while (db.writes_waiting() < i + 1) std::this_thread::yield();
  }
  open.set_value();
  gate.join();
  for (auto& t : threads) t.join();
}

}  // namespace comptoir::testing

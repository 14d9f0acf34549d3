// Integration tests of Database::write's group commit on a real SQLCipher file: a batch commits
// without savepoints; when one write fails, the transaction is rolled back and the other writes
// of the batch run again, each in its own savepoint, so the failing write alone is rolled back,
// the others commit, and their callbacks' last run is the one that counts. Batches are formed
// deterministically with tests/support/group_commit.h (no timing). DurableCommitTest, at the
// end, covers how commits are made durable (the syncer thread).
#include <gtest/gtest.h>
#include <sqlcipher/sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "src/common/secret.h"
#include "storage/database.h"
#include "storage/sqlite.h"
#include "tests/support/group_commit.h"
#include "tests/support/temp_dir.h"

namespace comptoir::storage {
namespace {

namespace fs = std::filesystem;
using comptoir::testing::run_as_one_batch;
using comptoir::testing::TempDir;

class GroupCommitTest : public ::testing::Test {
 protected:
  TempDir dir;
  SecretBytes key = SecretBytes::random(32);
  std::unique_ptr<Database> db;

  void SetUp() override {
    OpenOptions o;
    o.create = true;
    auto d = Database::open(dir / "comptoir.db", key, o);
    ASSERT_TRUE(d.has_value()) << d.error().message;
    db = std::move(*d);
    ASSERT_TRUE(db->migrate().has_value());
    ASSERT_TRUE(db->transaction([](sqlite3* h) { return exec(h, "CREATE TABLE t (name TEXT PRIMARY KEY, n INTEGER);"); })
                    .has_value());
  }

  static Status insert(Tx& tx, const std::string& name, std::int64_t n) {
    Stmt s(tx, "INSERT INTO t (name, n) VALUES (?, ?)");
    s.bind(1, name).bind(2, n);
    return s.run();
  }

  std::vector<std::string> names() {
    std::vector<std::string> out;
    EXPECT_TRUE(db->read([&](Tx& tx) -> Status {
      Stmt s(tx, "SELECT name FROM t ORDER BY name");
      for (;;) {
        auto r = s.step();
        if (!r) return std::unexpected(r.error());
        if (!*r) return ok();
        out.push_back(s.text(0));
      }
    }).has_value());
    return out;
  }

  bool in_transaction() {
    return db->run([](sqlite3* h) { return sqlite3_get_autocommit(h) == 0; });
  }
};

// One write of a batch: inserts its row, computes an out-parameter from what it read inside the
// transaction, and counts its runs. Callbacks run under the connection mutex, one at a time.
struct Writer {
  std::string name;
  bool fails = false;
  int runs = 0;
  std::int64_t seen = -1;  // out-parameter: rows in t when this write ran, set afresh each run
  Status result = ok();

  std::function<Status(Tx&)> callback() {
    return [this](Tx& tx) -> Status {
      ++runs;
      seen = -1;
      Stmt c(tx, "SELECT count(*) FROM t");
      auto r = c.step();
      if (!r) return std::unexpected(r.error());
      seen = c.int64(0);
      if (auto st = insert_row(tx); !st) return st;
      if (fails) return fail(Errc::conflict, "this write fails after changing the database");
      return ok();
    };
  }
  Status insert_row(Tx& tx) const {
    Stmt s(tx, "INSERT INTO t (name, n) VALUES (?, ?)");
    s.bind(1, name).bind(2, std::int64_t{runs});
    return s.run();
  }
};

std::vector<std::function<void()>> actions(Database& db, std::vector<Writer>& writers) {
  std::vector<std::function<void()>> out;
  for (auto& w : writers) {
    out.push_back([&db, &w] { w.result = db.write(w.callback()); });
  }
  return out;
}

TEST_F(GroupCommitTest, ABatchWithoutFailuresRunsEachWriteOnceAndCommitsAll) {
  std::vector<Writer> writers(4);
  for (std::size_t i = 0; i < writers.size(); ++i) writers[i].name = "w" + std::to_string(i);
  run_as_one_batch(*db, actions(*db, writers));
  for (std::size_t i = 0; i < writers.size(); ++i) {
    EXPECT_TRUE(writers[i].result.has_value()) << writers[i].name;
    EXPECT_EQ(writers[i].runs, 1) << writers[i].name;
    EXPECT_EQ(writers[i].seen, static_cast<std::int64_t>(i)) << "each write sees the ones before it in the batch";
  }
  EXPECT_EQ(names(), (std::vector<std::string>{"w0", "w1", "w2", "w3"}));
  EXPECT_EQ(db->stats().batch_replays, 0u);
  EXPECT_FALSE(in_transaction());
}

class FailingWriteTest : public GroupCommitTest, public ::testing::WithParamInterface<int> {};

TEST_P(FailingWriteTest, OnlyTheFailingWriteIsRolledBackAndTheOthersRunAgainCleanly) {
  const int failing = GetParam();
  std::vector<Writer> writers(4);
  for (std::size_t i = 0; i < writers.size(); ++i) writers[i].name = "w" + std::to_string(i);
  writers[static_cast<std::size_t>(failing)].fails = true;
  run_as_one_batch(*db, actions(*db, writers));

  std::vector<std::string> expected;
  std::int64_t committed_before = 0;
  for (int i = 0; i < static_cast<int>(writers.size()); ++i) {
    const auto& w = writers[static_cast<std::size_t>(i)];
    if (i == failing) {
      ASSERT_FALSE(w.result.has_value()) << w.name;
      EXPECT_EQ(w.result.error().code, Errc::conflict);
      EXPECT_EQ(w.runs, 1) << "the failing write is not run again";
      continue;
    }
    EXPECT_TRUE(w.result.has_value()) << w.name << ": " << w.result.error().message;
    // Writes before the failing one ran in the first attempt and again in the replay; the
    // others ran once, in the replay.
    EXPECT_EQ(w.runs, i < failing ? 2 : 1) << w.name;
    // The out-parameter is from the last run, which saw only the writes that commit.
    EXPECT_EQ(w.seen, committed_before) << w.name;
    ++committed_before;
    expected.push_back(w.name);
  }
  EXPECT_EQ(names(), expected);
  // Each committed row was written by its write's last run (n = runs at that time).
  auto last_runs = db->run([](sqlite3* h) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(h, "SELECT group_concat(name || '=' || n, ',') FROM (SELECT * FROM t ORDER BY name)", -1, &s, nullptr);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return out;
  });
  std::string want;
  for (const auto& w : writers) {
    if (w.fails) continue;
    want += (want.empty() ? "" : ",") + w.name + "=" + std::to_string(w.runs);
  }
  EXPECT_EQ(last_runs, want);
  EXPECT_EQ(db->stats().batch_replays, 1u);
  EXPECT_FALSE(in_transaction());
  // The connection is in a clean state: the next write commits.
  EXPECT_TRUE(db->write([&](Tx& tx) { return insert(tx, "after", 0); }).has_value());
  expected.push_back("after");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(names(), expected);
}

INSTANTIATE_TEST_SUITE_P(Positions, FailingWriteTest, ::testing::Values(0, 1, 3),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return p.param == 0 ? std::string("First") : p.param == 1 ? std::string("Middle") : std::string("Last");
                         });

TEST_F(GroupCommitTest, AWriteFailingAgainDuringTheReplayIsRolledBackAloneToo) {
  std::vector<Writer> writers(4);
  for (std::size_t i = 0; i < writers.size(); ++i) writers[i].name = "w" + std::to_string(i);
  writers[1].fails = true;  // fails in the first attempt, which stops there
  writers[2].fails = true;  // first runs in the replay, and fails there, inside its savepoint
  run_as_one_batch(*db, actions(*db, writers));
  EXPECT_TRUE(writers[0].result.has_value());
  EXPECT_FALSE(writers[1].result.has_value());
  EXPECT_FALSE(writers[2].result.has_value());
  EXPECT_TRUE(writers[3].result.has_value());
  EXPECT_EQ(writers[0].runs, 2);
  EXPECT_EQ(writers[1].runs, 1);
  EXPECT_EQ(writers[2].runs, 1);
  EXPECT_EQ(writers[3].runs, 1);
  EXPECT_EQ(writers[3].seen, 1);
  EXPECT_EQ(names(), (std::vector<std::string>{"w0", "w3"}));
  EXPECT_FALSE(in_transaction());
}

TEST_F(GroupCommitTest, ALoneFailingWriteIsRolledBackWithoutAReplay) {
  Writer w;
  w.name = "alone";
  w.fails = true;
  w.result = db->write(w.callback());
  ASSERT_FALSE(w.result.has_value());
  EXPECT_EQ(w.runs, 1);
  EXPECT_TRUE(names().empty());
  EXPECT_EQ(db->stats().batch_replays, 0u);
  EXPECT_FALSE(in_transaction());
}

TEST_F(GroupCommitTest, NestedSavepointsInsideABatchWork) {
  // A write that undoes part of its own work with storage::savepoint (as checkout does when the
  // stock ran out), next to ordinary writes.
  std::vector<std::function<void()>> acts;
  Status a = ok(), b = ok(), c = ok();
  acts.push_back([&] { a = db->write([&](Tx& tx) { return insert(tx, "a", 1); }); });
  acts.push_back([&] {
    b = db->write([&](Tx& tx) -> Status {
      if (auto st = insert(tx, "b", 1); !st) return st;
      auto inner = savepoint(tx, [&]() -> Status {
        if (auto st = insert(tx, "b-undone", 1); !st) return st;
        return fail(Errc::conflict, "undo the inner part");
      });
      EXPECT_FALSE(inner.has_value());
      return ok();
    });
  });
  acts.push_back([&] { c = db->write([&](Tx& tx) { return insert(tx, "c", 1); }); });
  run_as_one_batch(*db, acts);
  EXPECT_TRUE(a.has_value());
  EXPECT_TRUE(b.has_value());
  EXPECT_TRUE(c.has_value());
  EXPECT_EQ(names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(db->stats().batch_replays, 0u);
}

TEST_F(GroupCommitTest, ManyConcurrentWritersAllCommitAndReturn) {
  // Leadership passes from batch to batch; every writer must be woken exactly when its batch
  // committed (a lost wake-up would hang here until the test's timeout).
  constexpr int kThreads = 12;
  constexpr int kEach = 60;
  std::atomic<int> failures{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kEach; ++i) {
        const std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!db->write([&](Tx& tx) { return insert(tx, name, i); })) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(names().size(), static_cast<std::size_t>(kThreads * kEach));
  EXPECT_EQ(db->writes_waiting(), 0u);
  EXPECT_FALSE(in_transaction());
}

// Durability: the connection runs with synchronous = NORMAL and Comptoir syncs the WAL itself
// (the syncer thread) before a write returns, before a read returns what it saw, and after every
// raw transaction; one fdatasync may cover several batches; a failed sync fails the writes that
// waited for it and every write after it, instead of pretending they are on disk.
class DurableCommitTest : public GroupCommitTest {
 protected:
  static Status insert_n(Tx& tx, std::int64_t n) { return insert(tx, "row" + std::to_string(n), n); }

  std::int64_t rows() { return static_cast<std::int64_t>(names().size()); }

  static int count_rows(sqlite3* h) {
    sqlite3_stmt* st = nullptr;
    int v = -1;
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM t", -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      v = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return v;
  }
};

TEST_F(DurableCommitTest, AWriteReturnsOnlyOnceItsBatchIsSynced) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(db->write([&](Tx& tx) { return insert_n(tx, i); }).has_value());
    const auto stats = db->stats();
    EXPECT_EQ(stats.batches_durable, stats.batches_committed) << "write " << i << " returned before its sync";
    EXPECT_FALSE(stats.sync_failed);
  }
  EXPECT_EQ(rows(), 20);
  EXPECT_GE(db->stats().wal_syncs, 20u);
}

TEST_F(DurableCommitTest, WritesCommittedTogetherShareOneSync) {
  std::vector<Status> results(8, ok());
  std::vector<std::function<void()>> actions;
  for (std::size_t i = 0; i < results.size(); ++i) {
    actions.push_back([&, i] { results[i] = db->write([&, i](Tx& tx) { return insert_n(tx, static_cast<std::int64_t>(i)); }); });
  }
  const auto before = db->stats();
  run_as_one_batch(*db, actions);
  for (const auto& r : results) EXPECT_TRUE(r.has_value());
  const auto after = db->stats();
  // The gate's batch and the batch of eight: two commits, at most two syncs, all durable.
  EXPECT_EQ(after.batches_committed - before.batches_committed, 2u);
  EXPECT_LE(after.wal_syncs - before.wal_syncs, 2u);
  EXPECT_EQ(after.batches_durable, after.batches_committed);
  EXPECT_EQ(rows(), 8);
}

TEST_F(DurableCommitTest, AReadReturnsOnlyOnceWhatItSawIsDurable) {
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop && i < 2000; ++i) ASSERT_TRUE(db->write([&](Tx& tx) { return insert_n(tx, i); }).has_value());
  });
  for (int i = 0; i < 200; ++i) {
    std::uint64_t seen = 0;
    ASSERT_TRUE(db->read([&](Tx&) -> Status {
      seen = db->batches_committed();
      return ok();
    }).has_value());
    EXPECT_GE(db->stats().batches_durable, seen) << "a read returned data not yet on disk";
  }
  stop = true;
  writer.join();
}

TEST_F(DurableCommitTest, RawTransactionsAndRawStatementsAreSynced) {
  const auto before = db->stats().wal_syncs;
  ASSERT_TRUE(db->transaction([](sqlite3* h) { return exec(h, "INSERT INTO t (name, n) VALUES ('raw1', 1);"); }).has_value());
  EXPECT_EQ(db->stats().wal_syncs, before + 1);
  db->run([](sqlite3* h) { return exec(h, "INSERT INTO t (name, n) VALUES ('raw2', 2);"); });
  EXPECT_EQ(db->stats().wal_syncs, before + 2);
  EXPECT_EQ(db->run([](sqlite3* h) { return count_rows(h); }), 2);  // changes nothing: no sync
  EXPECT_EQ(db->stats().wal_syncs, before + 2);
  EXPECT_EQ(rows(), 2);
}

TEST_F(DurableCommitTest, AFailedSyncFailsTheWritesWaitingForItAndEveryLaterWrite) {
  ASSERT_TRUE(db->write([](Tx& tx) { return insert_n(tx, 1); }).has_value());
  // Take the WAL away from under the connection: SQLite keeps appending to its open file, but
  // Comptoir can no longer make it durable where it belongs.
  const fs::path wal = dir / "comptoir.db-wal";
  ASSERT_TRUE(fs::exists(wal));
  fs::rename(wal, dir / "moved-wal");
  auto failed = db->write([](Tx& tx) { return insert_n(tx, 2); });
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, Errc::io);
  EXPECT_NE(failed.error().message.find("the disk failed to store the commit"), std::string::npos) << failed.error().message;
  EXPECT_TRUE(db->stats().sync_failed);
  auto later = db->write([](Tx& tx) { return insert_n(tx, 3); });
  ASSERT_FALSE(later.has_value());
  EXPECT_EQ(later.error().code, Errc::io);
  EXPECT_NE(later.error().message.find("restart the server"), std::string::npos) << later.error().message;
  fs::rename(dir / "moved-wal", wal);
}

}  // namespace
}  // namespace comptoir::storage

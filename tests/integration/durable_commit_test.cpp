// Integration tests of how Database makes commits durable on a real SQLCipher file: the
// connection runs with synchronous = NORMAL and Comptoir syncs the WAL itself (the syncer
// thread) before a write returns, before a read returns what it saw, and after every raw
// transaction; one fdatasync may cover several batches; a failed sync fails the writes that
// waited for it and every write after it, instead of pretending they are on disk.
#include <gtest/gtest.h>
#include <sqlcipher/sqlite3.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
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

class DurableCommitTest : public ::testing::Test {
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
    ASSERT_TRUE(db->transaction([](sqlite3* h) { return exec(h, "CREATE TABLE t (n INTEGER);"); }).has_value());
  }

  static Status insert(Tx& tx, std::int64_t n) {
    Stmt s(tx, "INSERT INTO t (n) VALUES (?)");
    s.bind(1, n);
    return s.run();
  }

  static int count_rows(sqlite3* h) {
    sqlite3_stmt* st = nullptr;
    int v = -1;
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM t", -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      v = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return v;
  }

  std::int64_t rows() {
    std::int64_t n = -1;
    EXPECT_TRUE(db->read([&](Tx& tx) -> Status {
      Stmt s(tx, "SELECT count(*) FROM t");
      auto r = s.step();
      if (!r) return std::unexpected(r.error());
      n = s.int64(0);
      return ok();
    }).has_value());
    return n;
  }
};

TEST_F(DurableCommitTest, AWriteReturnsOnlyOnceItsBatchIsSynced) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(db->write([&](Tx& tx) { return insert(tx, i); }).has_value());
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
    actions.push_back([&, i] { results[i] = db->write([&, i](Tx& tx) { return insert(tx, static_cast<std::int64_t>(i)); }); });
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
    for (int i = 0; !stop && i < 2000; ++i) ASSERT_TRUE(db->write([&](Tx& tx) { return insert(tx, i); }).has_value());
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
  ASSERT_TRUE(db->transaction([](sqlite3* h) { return exec(h, "INSERT INTO t (n) VALUES (1);"); }).has_value());
  EXPECT_EQ(db->stats().wal_syncs, before + 1);
  db->run([](sqlite3* h) { return exec(h, "INSERT INTO t (n) VALUES (2);"); });
  EXPECT_EQ(db->stats().wal_syncs, before + 2);
  EXPECT_EQ(db->run([](sqlite3* h) { return count_rows(h); }), 2);  // changes nothing: no sync
  EXPECT_EQ(db->stats().wal_syncs, before + 2);
  EXPECT_EQ(rows(), 2);
}

TEST_F(DurableCommitTest, AFailedSyncFailsTheWritesWaitingForItAndEveryLaterWrite) {
  ASSERT_TRUE(db->write([](Tx& tx) { return insert(tx, 1); }).has_value());
  // Take the WAL away from under the connection: SQLite keeps appending to its open file, but
  // Comptoir can no longer make it durable where it belongs.
  const fs::path wal = dir / "comptoir.db-wal";
  ASSERT_TRUE(fs::exists(wal));
  fs::rename(wal, dir / "moved-wal");
  auto failed = db->write([](Tx& tx) { return insert(tx, 2); });
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, Errc::io);
  EXPECT_NE(failed.error().message.find("the disk failed to store the commit"), std::string::npos) << failed.error().message;
  EXPECT_TRUE(db->stats().sync_failed);
  auto later = db->write([](Tx& tx) { return insert(tx, 3); });
  ASSERT_FALSE(later.has_value());
  EXPECT_EQ(later.error().code, Errc::io);
  EXPECT_NE(later.error().message.find("restart the server"), std::string::npos) << later.error().message;
  fs::rename(dir / "moved-wal", wal);
}

}  // namespace
}  // namespace comptoir::storage

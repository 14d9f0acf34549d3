// The audit log on a real SQLCipher file: events appended inside the caller's transactions under
// group commit — with a write of the batch failing, so that the others are replayed — form one
// gapless chain of exactly the events that committed; many threads appending at once; two
// connections (serve and a CLI command) appending to the same file; checkpoints every N events,
// after T seconds and on demand; the tables refuse changes.
#include <gtest/gtest.h>
#include <sqlcipher/sqlite3.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "src/audit/log.h"
#include "storage/database.h"
#include "storage/sqlite.h"
#include "tests/support/group_commit.h"
#include "tests/support/temp_dir.h"

namespace comptoir::audit {
namespace {

using comptoir::testing::run_as_one_batch;
using comptoir::testing::TempDir;

Event event(const std::string& resource) {
  Event e;
  e.actor = Actor::token("tok_0123456789abcdef", "owner");
  e.action = "order.read";
  e.resource = resource;
  e.purpose = "contract";
  return e;
}

class AuditLogTest : public ::testing::Test {
 protected:
  TempDir dir;
  SecretBytes key = SecretBytes::random(32);
  Signer signer = *Signer::from_seed(SecretBytes::random(32));
  FakeClock clock{TimePoint(std::chrono::seconds(1800000000))};
  std::unique_ptr<storage::Database> db;

  void SetUp() override {
    storage::OpenOptions o;
    o.create = true;
    auto d = storage::Database::open(dir / "comptoir.db", key, o);
    ASSERT_TRUE(d.has_value()) << d.error().message;
    db = std::move(*d);
    ASSERT_TRUE(db->migrate().has_value());
    ASSERT_TRUE(db->transaction([](sqlite3* h) { return storage::exec(h, "CREATE TABLE t (name TEXT PRIMARY KEY);"); })
                    .has_value());
  }

  // Verifies the whole log; returns the summary.
  Verifier::Summary verified(AuditLog& log, bool sealed = false) {
    Verifier v(signer.public_key());
    auto st = log.walk([&](const Record& r) { return v.event(r, "event " + std::to_string(r.seq)); },
                       [&](const Checkpoint& c) { return v.checkpoint(c, "checkpoint " + std::to_string(c.seq)); });
    EXPECT_TRUE(st.has_value()) << st.error().message;
    auto fin = v.finish(sealed);
    EXPECT_TRUE(fin.has_value()) << fin.error().message;
    return v.summary();
  }

  std::vector<std::string> resources(AuditLog& log) {
    std::vector<std::string> out;
    auto events = log.events_after(0, 100000);
    EXPECT_TRUE(events.has_value());
    for (const auto& r : *events) out.push_back(r.event.resource);
    return out;
  }
};

TEST_F(AuditLogTest, AFailingWriteInAGroupCommitBatchLeavesAGaplessChainOfWhatCommitted) {
  AuditLog log(*db, signer, clock, {3, 300});
  ASSERT_TRUE(log.record(event("before")).has_value());
  auto action = [&](const std::string& name, bool fail_after) {
    return [&, name, fail_after] {
      auto st = db->write([&](storage::Tx& tx) -> Status {
        storage::Stmt s(tx, "INSERT INTO t (name) VALUES (?)");
        s.bind(1, name);
        if (auto r = s.run(); !r) return r;
        if (auto r = log.record(tx, event(name)); !r) return r;
        if (fail_after) return fail(Errc::conflict, "this write fails after recording its event");
        return ok();
      });
      EXPECT_EQ(st.has_value(), !fail_after) << name;
    };
  };
  run_as_one_batch(*db, {action("a", false), action("b", false), action("bad", true), action("c", false)});
  EXPECT_EQ(db->stats().batch_replays, 1u);
  // The failed write's event is gone with it; the others hold seq 2, 3, 4 in batch order.
  EXPECT_EQ(resources(log), (std::vector<std::string>{"before", "a", "b", "c"}));
  auto s = verified(log);
  EXPECT_EQ(s.events, 4);
  // The checkpoint of every 3rd event was made in the replayed transaction and covers event 3.
  auto cps = log.checkpoints_after(0, 10);
  ASSERT_TRUE(cps.has_value());
  ASSERT_EQ(cps->size(), 1u);
  EXPECT_EQ((*cps)[0].seq, 3);
  EXPECT_EQ(s.checkpoints, 1);
  // And the next event continues the chain.
  ASSERT_TRUE(log.record(event("after")).has_value());
  EXPECT_EQ(verified(log).events, 5);
}

TEST_F(AuditLogTest, ARolledBackWriteTakesItsEventWithIt) {
  AuditLog log(*db, signer, clock, {1000, 300});
  auto st = db->write([&](storage::Tx& tx) -> Status {
    if (auto r = log.record(tx, event("undone")); !r) return r;
    return fail(Errc::conflict, "no");
  });
  EXPECT_FALSE(st.has_value());
  ASSERT_TRUE(log.record(event("kept")).has_value());
  EXPECT_EQ(resources(log), (std::vector<std::string>{"kept"}));
  EXPECT_EQ(verified(log).events, 1);
}

TEST_F(AuditLogTest, ManyThreadsAppendOneChain) {
  AuditLog log(*db, signer, clock, {50, 300});
  constexpr int kThreads = 8, kEach = 60;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        EXPECT_TRUE(log.record(event("t" + std::to_string(t) + "-" + std::to_string(i))).has_value());
      }
    });
  }
  for (auto& th : threads) th.join();
  auto s = verified(log);
  EXPECT_EQ(s.events, kThreads * kEach);
  EXPECT_EQ(s.checkpoints, kThreads * kEach / 50);
}

TEST_F(AuditLogTest, TwoConnectionsToTheSameFileKeepOneChain) {
  // `serve` and a CLI command (token create) append to the same database from two processes.
  auto other = storage::Database::open(dir / "comptoir.db", key, {});
  ASSERT_TRUE(other.has_value()) << other.error().message;
  AuditLog a(*db, signer, clock, {1000, 300});
  AuditLog b(**other, signer, clock, {1000, 300});
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE((i % 3 == 0 ? b : a).record(event("e" + std::to_string(i))).has_value());
  }
  EXPECT_EQ(verified(a).events, 20);
}

TEST_F(AuditLogTest, CheckpointsOnDemandAndWhenDue) {
  AuditLog log(*db, signer, clock, {1000, 60});
  auto none = log.checkpoint();
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());  // an empty log has nothing to sign
  EXPECT_FALSE(*log.checkpoint_if_due());  // nothing to sign
  ASSERT_TRUE(log.record(event("one")).has_value());
  auto due = log.checkpoint_if_due();
  ASSERT_TRUE(due.has_value());
  EXPECT_FALSE(*due);  // the event is not a period old yet
  clock.advance(std::chrono::seconds(60));
  EXPECT_TRUE(*log.checkpoint_if_due());
  // A period after the first unsigned event, not after the last one.
  ASSERT_TRUE(log.record(event("two")).has_value());
  clock.advance(std::chrono::seconds(59));
  ASSERT_TRUE(log.record(event("three")).has_value());
  EXPECT_FALSE(*log.checkpoint_if_due());
  clock.advance(std::chrono::seconds(1));
  EXPECT_TRUE(*log.checkpoint_if_due());
  clock.advance(std::chrono::seconds(600));
  EXPECT_FALSE(*log.checkpoint_if_due());  // nothing new to sign
  auto again = log.checkpoint();
  ASSERT_TRUE(again.has_value() && again->has_value());
  EXPECT_EQ((*again)->seq, 3);
  auto cps = log.checkpoints_after(0, 10);
  ASSERT_TRUE(cps.has_value());
  EXPECT_EQ(cps->size(), 2u);  // checkpoint() at a covered head returns the existing one
  EXPECT_TRUE(checkpoint_signature_valid(signer.public_key(), (*cps)[1]));
  EXPECT_EQ(verified(log, true).last_checkpoint->seq, 3);
  // An unsigned tail left by an earlier run (a crash) is signed a period after the log is opened.
  ASSERT_TRUE(log.record(event("four")).has_value());
  AuditLog reopened(*db, signer, clock, {1000, 60});
  EXPECT_FALSE(*reopened.checkpoint_if_due());
  clock.advance(std::chrono::seconds(60));
  EXPECT_TRUE(*reopened.checkpoint_if_due());
  EXPECT_EQ(verified(reopened, true).last_checkpoint->seq, 4);
}

TEST_F(AuditLogTest, TheTablesRefuseChangesAndInvalidEventsAreRefused) {
  AuditLog log(*db, signer, clock, {1, 300});
  ASSERT_TRUE(log.record(event("x")).has_value());
  for (const char* sql : {"UPDATE audit_events SET purpose = 'other'", "DELETE FROM audit_events",
                          "UPDATE audit_checkpoints SET time = 'x'", "DELETE FROM audit_checkpoints"}) {
    auto st = db->transaction([&](sqlite3* h) { return storage::exec(h, sql); });
    EXPECT_FALSE(st.has_value()) << sql;
  }
  Event bad = event("x");
  bad.details["note"] = "a\nb";
  EXPECT_EQ(log.record(bad).error().code, Errc::invalid_argument);
  EXPECT_EQ(verified(log).events, 1);
}

TEST_F(AuditLogTest, RecordedFindsAnEarlierEvent) {
  AuditLog log(*db, signer, clock);
  Event e;
  e.action = "key.rotation";
  e.resource = "rotation:rot_0011223344556677";
  e.outcome = "completed";
  EXPECT_FALSE(*log.recorded(e.action, e.resource));
  ASSERT_TRUE(log.record(e).has_value());
  EXPECT_TRUE(*log.recorded(e.action, e.resource));
  EXPECT_FALSE(*log.recorded(e.action, "rotation:rot_other"));
}

}  // namespace
}  // namespace comptoir::audit

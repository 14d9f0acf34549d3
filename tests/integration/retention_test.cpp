// Retention on real SQLCipher files: the consent ledger stays append-only after migration 7 (no
// update, no delete but of a record the sweep has named in a permit), a dry run leaves the
// database file byte for byte as it was, and a sweep over thousands of records interleaved with
// ones that must stay, in small batches, removes exactly the expired ones.
#include <gtest/gtest.h>
#include <sqlcipher/sqlite3.h>

#include <fstream>
#include <sstream>

#include "src/retention/engine.h"
#include "storage/retention_store.h"
#include "tests/unit/chat/engine_fixture.h"

namespace comptoir::testing {
namespace {

std::int64_t count(ShopWorld& w, const std::string& sql) {
  std::int64_t n = -1;
  w.db->run([&](sqlite3* h) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr);
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
  });
  return n;
}

// The SQLite result of running `sql` and its error message ("" on success).
std::string attempt(ShopWorld& w, const std::string& sql) {
  std::string error;
  w.db->run([&](sqlite3* h) {
    char* err = nullptr;
    if (sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) error = err ? err : "failed";
    sqlite3_free(err);
    return 0;
  });
  return error;
}

std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::int64_t at(const std::string& rfc3339) { return unix_seconds(*parse_rfc3339(rfc3339)); }

const std::string kVersion(64, 'a');

class RetentionFileTest : public ::testing::Test {
 protected:
  ChatWorld chat;
  privacy::Inventory inventory = *privacy::default_inventory();
  audit::MemoryRecorder audit;

  void SetUp() override { chat.open(); }

  void consent(std::int64_t id, const std::string& customer, std::int64_t created_at) {
    ASSERT_EQ(attempt(chat.w, "INSERT INTO consent_records (id, customer_id, kind, notice_version, language, channel, "
                              "created_at) VALUES (" + std::to_string(id) + ", " + customer + ", 'notice_acknowledged', '" +
                              kVersion + "', 'en', 'webchat', " + std::to_string(created_at) + ")"),
              "");
  }
};

TEST_F(RetentionFileTest, ConsentRecordsStayAppendOnlyExceptForPermittedDeletions) {
  consent(1, "NULL", 1000);
  consent(2, "NULL", 2000);
  const std::string refused = "consent_records is append-only";
  // No delete without a permit, no update of any column but the unlinking.
  EXPECT_EQ(attempt(chat.w, "DELETE FROM consent_records WHERE id = 1"), refused);
  EXPECT_EQ(attempt(chat.w, "DELETE FROM consent_records"), refused);
  EXPECT_EQ(attempt(chat.w, "UPDATE consent_records SET created_at = 5 WHERE id = 1"), refused);
  EXPECT_EQ(attempt(chat.w, "UPDATE consent_records SET kind = 'marketing_given' WHERE id = 1"), refused);
  EXPECT_EQ(attempt(chat.w, "UPDATE consent_records SET customer_id = 7 WHERE id = 1"), refused);
  // A permit for record 1 allows deleting record 1, and only it.
  EXPECT_EQ(attempt(chat.w, "INSERT INTO consent_deletion_permits VALUES (1)"), "");
  EXPECT_EQ(attempt(chat.w, "DELETE FROM consent_records WHERE id = 2"), refused);
  EXPECT_EQ(attempt(chat.w, "DELETE FROM consent_records"), refused) << "all or nothing: record 2 has no permit";
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM consent_records"), 2);
  EXPECT_EQ(attempt(chat.w, "UPDATE consent_records SET created_at = 5 WHERE id = 1"), refused) << "a permit allows no update";
  EXPECT_EQ(attempt(chat.w, "DELETE FROM consent_records WHERE id = 1"), "");
  EXPECT_EQ(attempt(chat.w, "DELETE FROM consent_deletion_permits"), "");
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM consent_records"), 1);

  // The sweep uses exactly that path and leaves no permit behind.
  retention::Engine engine(*chat.w.db, inventory, *chat.w.vault, audit, retention::Settings{10});
  auto r = engine.run(TimePoint(std::chrono::seconds(at("2000-01-01T00:00:00Z"))), false);
  ASSERT_TRUE(r.has_value()) << why(r);
  EXPECT_EQ(r->category("consent_records")->counts.erased, 1);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM consent_records"), 0);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM consent_deletion_permits"), 0);
}

TEST_F(RetentionFileTest, ADryRunLeavesTheDatabaseFileAsItWas) {
  chat.run("wcs_retention_file_000000001", {say("hello"), tap("add:BRD-BAGUETTE:2"), tap("checkout"), tap("ful:delivery"),
                                            say("Zoé Martin"), say("3 rue du Four, Paris"), tap("confirm"),
                                            tap("add:DAI-COMTE:1")});
  // Closed, the WAL is folded into the file: the file is all there is.
  chat.w.close();
  const std::string before = file_bytes(chat.w.db_file());
  chat.w.open();
  {
    retention::Engine engine(*chat.w.db, inventory, *chat.w.vault, audit, retention::Settings{2});
    // Far enough ahead that every category has something to do: the customer is erased.
    auto r = engine.run(TimePoint(std::chrono::seconds(at("2045-01-01T00:00:00Z"))), true);
    ASSERT_TRUE(r.has_value()) << why(r);
    EXPECT_EQ(r->customers_erased, 1);
    EXPECT_GT(r->category("order_records")->counts.erased, 0);
  }
  chat.w.close();
  EXPECT_TRUE(file_bytes(chat.w.db_file()) == before) << "a dry run changed the database file";
  chat.w.open();
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM customers"), 1);
  EXPECT_TRUE(audit.events().empty());
}

TEST_F(RetentionFileTest, ThousandsOfInterleavedRecordsInSmallBatches) {
  // 3000 outgoing messages, every third one recent: two thirds expire.
  std::string sql = "BEGIN;";
  const std::int64_t old_time = at("2027-01-01T00:00:00Z"), recent = at("2027-03-01T00:00:00Z");
  auto c = chat.w.customer("wcs_retention_file_000000002");
  for (int i = 0; i < 3000; ++i) {
    sql += "INSERT INTO chat_messages (customer_id, body_sealed, created_at) VALUES (" + std::to_string(c.id) + ", x'00', " +
           std::to_string(i % 3 == 2 ? recent : old_time) + ");";
  }
  sql += "COMMIT;";
  ASSERT_EQ(attempt(chat.w, sql), "");
  ASSERT_EQ(attempt(chat.w, "UPDATE customers SET last_active_at = " + std::to_string(recent)), "");
  retention::Engine engine(*chat.w.db, inventory, *chat.w.vault, audit, retention::Settings{64});
  auto r = engine.run(TimePoint(std::chrono::seconds(at("2027-03-10T00:00:00Z"))), false);
  ASSERT_TRUE(r.has_value()) << why(r);
  EXPECT_EQ(r->category("outgoing_messages")->counts.erased, 2000);
  EXPECT_GE(r->transactions, 2000 / 64) << "bounded batches";
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM chat_messages"), 1000);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM chat_messages WHERE created_at <> " + std::to_string(recent)), 0);
}

}  // namespace
}  // namespace comptoir::testing

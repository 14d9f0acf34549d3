// Integration tests of the per-connection prepared-statement cache (storage/sqlite.h) on real
// SQLCipher files: statements are compiled once and reused, come back reset and without their
// bindings, stay correct when the schema changes (on this connection, on another one, or by a
// migration), and are all finalized when the database closes, so that the connection really
// closes (its -wal and -shm files go away; LeakSanitizer sees no zombie connection).
#include <gtest/gtest.h>
#include <sqlcipher/sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "src/common/secret.h"
#include "storage/database.h"
#include "storage/sqlite.h"
#include "storage/subject_key_store.h"
#include "tests/support/temp_dir.h"

namespace comptoir::storage {
namespace {

namespace fs = std::filesystem;
using comptoir::testing::TempDir;

class StatementCacheTest : public ::testing::Test {
 protected:
  TempDir dir;
  fs::path file = dir / "comptoir.db";
  SecretBytes key = SecretBytes::random(32);

  std::unique_ptr<Database> open(bool create, bool migrate = true) {
    OpenOptions o;
    o.create = create;
    auto d = Database::open(file, key, o);
    EXPECT_TRUE(d.has_value()) << (d ? "" : d.error().message);
    if (!d) return nullptr;
    if (migrate) {
      EXPECT_TRUE((*d)->migrate().has_value());
    }
    return std::move(*d);
  }

  // Runs `sql` in a read through the cache and returns the first column of every row as text.
  static std::vector<std::string> rows(Database& db, const std::string& sql) {
    std::vector<std::string> out;
    auto st = db.read([&](Tx& tx) -> Status {
      Stmt s(tx, sql);
      if (!s.valid()) return std::unexpected(s.prepare_error());
      for (;;) {
        auto r = s.step();
        if (!r) return std::unexpected(r.error());
        if (!*r) return ok();
        out.push_back(s.text(0));
      }
    });
    EXPECT_TRUE(st.has_value()) << (st ? "" : st.error().message);
    return out;
  }

  std::vector<std::string> file_names() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename().string());
    return names;
  }
};

TEST_F(StatementCacheTest, AStatementIsCompiledOnceAndReused) {
  auto db = open(true);
  ASSERT_NE(db, nullptr);
  const auto before = db->stats();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(rows(*db, "SELECT count(*) FROM subject_keys"), std::vector<std::string>{"0"});
  const auto after = db->stats();
  EXPECT_EQ(after.statements_compiled, before.statements_compiled + 1);
  EXPECT_EQ(after.statements_idle, before.statements_idle + 1);

  // The same through a store, in writes and reads: compiled on first use only.
  SubjectKeyStore store(*db);
  auto insert = [&](int i) {
    WrappedSubjectKey k;
    k.subject_id = "sub_cache_" + std::to_string(i);
    k.wrapped_key = std::vector<std::uint8_t>(73, static_cast<std::uint8_t>(i));
    k.created_at = i;
    ASSERT_TRUE(store.insert(k).has_value());
    auto found = store.find(k.subject_id);
    ASSERT_TRUE(found.has_value() && found->has_value());
    EXPECT_EQ((*found)->wrapped_key, k.wrapped_key);
  };
  insert(0);
  const auto warm = db->stats();
  for (int i = 1; i < 10; ++i) insert(i);
  EXPECT_EQ(db->stats().statements_compiled, warm.statements_compiled);
  auto n = store.count();
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 10);
}

TEST_F(StatementCacheTest, StatementsComeBackResetAndWithoutTheirBindings) {
  auto db = open(true);
  ASSERT_NE(db, nullptr);
  const std::string sql = "SELECT ?1 IS NULL, ?1";
  ASSERT_TRUE(db->read([&](Tx& tx) -> Status {
    Stmt s(tx, sql);
    s.bind(1, std::string_view("personal data"));
    auto r = s.step();  // left in the middle of its rows
    EXPECT_TRUE(r.has_value() && *r);
    EXPECT_EQ(s.int64(0), 0);
    return ok();
  }).has_value());
  const auto compiled = db->stats().statements_compiled;
  ASSERT_TRUE(db->read([&](Tx& tx) -> Status {
    Stmt s(tx, sql);  // the same statement again: from the start, parameter unbound (NULL)
    auto r = s.step();
    EXPECT_TRUE(r.has_value() && *r);
    EXPECT_EQ(s.int64(0), 1);
    EXPECT_TRUE(s.is_null(1));
    return ok();
  }).has_value());
  EXPECT_EQ(db->stats().statements_compiled, compiled);
}

TEST_F(StatementCacheTest, NestedUseOfOneSqlTextGetsIndependentStatements) {
  auto db = open(true);
  ASSERT_NE(db, nullptr);
  const std::string sql = "SELECT value FROM (SELECT 1 AS value UNION ALL SELECT 2 UNION ALL SELECT 3) WHERE value >= ? ORDER BY value";
  std::vector<std::string> pairs;
  ASSERT_TRUE(db->read([&](Tx& tx) -> Status {
    Stmt outer(tx, sql);
    outer.bind(1, std::int64_t{2});
    for (;;) {
      auto r = outer.step();
      if (!r) return std::unexpected(r.error());
      if (!*r) break;
      Stmt inner(tx, sql);  // while `outer` is still running
      inner.bind(1, outer.int64(0));
      for (;;) {
        auto q = inner.step();
        if (!q) return std::unexpected(q.error());
        if (!*q) break;
        pairs.push_back(outer.text(0) + "-" + inner.text(0));
      }
    }
    return ok();
  }).has_value());
  EXPECT_EQ(pairs, (std::vector<std::string>{"2-2", "2-3", "3-3"}));
  // Both statements were kept; using the text again compiles nothing.
  const auto compiled = db->stats().statements_compiled;
  ASSERT_TRUE(db->read([&](Tx& tx) -> Status {
    Stmt a(tx, sql), b(tx, sql);
    a.bind(1, std::int64_t{1});
    b.bind(1, std::int64_t{3});
    EXPECT_TRUE(a.step().value_or(false));
    EXPECT_TRUE(b.step().value_or(false));
    EXPECT_EQ(a.int64(0), 1);
    EXPECT_EQ(b.int64(0), 3);
    return ok();
  }).has_value());
  EXPECT_EQ(db->stats().statements_compiled, compiled);
}

TEST_F(StatementCacheTest, SqlThatDoesNotCompileIsReportedAndNotKept) {
  auto db = open(true);
  ASSERT_NE(db, nullptr);
  const auto before = db->stats();
  auto st = db->read([&](Tx& tx) -> Status {
    Stmt s(tx, "SELECT * FROM no_such_table");
    EXPECT_FALSE(s.valid());
    auto r = s.step();
    EXPECT_FALSE(r.has_value());
    if (!r) {
      EXPECT_NE(r.error().message.find("no such table"), std::string::npos) << r.error().message;
    }
    return ok();
  });
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(db->stats().statements_idle, before.statements_idle);
}

TEST_F(StatementCacheTest, CachedStatementSeesASchemaChangeOnItsOwnConnection) {
  auto db = open(true);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->transaction([](sqlite3* h) { return exec(h, "CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1);"); })
                  .has_value());
  const std::string sql = "SELECT * FROM t";
  auto columns = [&] {
    int n = -1;
    EXPECT_TRUE(db->read([&](Tx& tx) -> Status {
      Stmt s(tx, sql);
      auto r = s.step();
      if (!r) return std::unexpected(r.error());
      n = s.column_count();
      return ok();
    }).has_value());
    return n;
  };
  EXPECT_EQ(columns(), 1);
  const auto compiled = db->stats().statements_compiled;
  ASSERT_TRUE(db->transaction([](sqlite3* h) { return exec(h, "ALTER TABLE t ADD COLUMN b INTEGER DEFAULT 7;"); })
                  .has_value());
  EXPECT_EQ(columns(), 2);  // SQLite recompiled the cached statement by itself
  EXPECT_EQ(rows(*db, "SELECT b FROM t"), std::vector<std::string>{"7"});
  EXPECT_EQ(db->stats().statements_compiled, compiled + 1);  // only the new text
  ASSERT_TRUE(db->transaction([](sqlite3* h) { return exec(h, "DROP TABLE t; CREATE TABLE t (z TEXT); INSERT INTO t VALUES ('new');"); })
                  .has_value());
  EXPECT_EQ(rows(*db, sql), std::vector<std::string>{"new"});
}

TEST_F(StatementCacheTest, CachedStatementSeesASchemaChangeMadeByAnotherConnection) {
  auto server = open(true);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(server->transaction([](sqlite3* h) { return exec(h, "CREATE TABLE t (a TEXT); INSERT INTO t VALUES ('x');"); })
                  .has_value());
  const std::string sql = "SELECT * FROM t ORDER BY 1";
  EXPECT_EQ(rows(*server, sql), std::vector<std::string>{"x"});
  {
    auto other = open(false, false);
    ASSERT_NE(other, nullptr);
    ASSERT_TRUE(other->transaction([](sqlite3* h) {
      return exec(h, "DROP TABLE t; CREATE TABLE t (b TEXT, a TEXT); INSERT INTO t VALUES ('b1', 'a1');");
    }).has_value());
  }
  EXPECT_EQ(rows(*server, sql), std::vector<std::string>{"b1"});
}

TEST_F(StatementCacheTest, CachedStatementIsCorrectAcrossMigrations) {
  auto db = open(true, /*migrate=*/false);
  ASSERT_NE(db, nullptr);
  const std::string sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'subject_keys'";
  EXPECT_TRUE(rows(*db, sql).empty());
  ASSERT_TRUE(db->migrate().has_value());
  EXPECT_EQ(rows(*db, sql), std::vector<std::string>{"subject_keys"});
  EXPECT_EQ(rows(*db, "SELECT count(*) FROM subject_keys"), std::vector<std::string>{"0"});
}

TEST_F(StatementCacheTest, CloseFinalizesEveryCachedStatementSoTheConnectionReallyCloses) {
  auto db = open(true);
  ASSERT_NE(db, nullptr);
  SubjectKeyStore store(*db);
  for (int i = 0; i < 5; ++i) {
    WrappedSubjectKey k;
    k.subject_id = "sub_close_" + std::to_string(i);
    k.wrapped_key = std::vector<std::uint8_t>(73, 2);
    ASSERT_TRUE(store.insert(k).has_value());
    ASSERT_TRUE(store.find(k.subject_id).has_value());
    ASSERT_TRUE(store.is_shredded(k.subject_id).has_value());
  }
  EXPECT_GT(db->stats().statements_idle, 3u);
  EXPECT_GE(file_names().size(), 3u) << "expected the database, its WAL and shared-memory files";
  db->close();
  // The -wal and -shm files are removed only when the last connection really closes, which
  // sqlite3_close_v2 does not do while any statement is left unfinalized.
  EXPECT_EQ(file_names(), std::vector<std::string>{"comptoir.db"});
  EXPECT_EQ(db->stats().statements_idle, 0u);
  EXPECT_FALSE(db->read([](Tx&) { return ok(); }).has_value());  // closed: refused, no crash
  auto again = open(false);
  ASSERT_NE(again, nullptr);
  SubjectKeyStore s2(*again);
  auto n = s2.count();
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 5);
}

TEST_F(StatementCacheTest, TheCacheIsBoundedAndStillClosesCleanly) {
  auto db = open(true);
  ASSERT_NE(db, nullptr);
  const std::size_t texts = StatementCache::kMaxTexts + 40;
  for (std::size_t i = 0; i < texts; ++i) {
    EXPECT_EQ(rows(*db, "SELECT " + std::to_string(i)), std::vector<std::string>{std::to_string(i)});
  }
  EXPECT_LE(db->stats().statements_idle, StatementCache::kMaxTexts);
  db->close();
  EXPECT_EQ(file_names(), std::vector<std::string>{"comptoir.db"});
}

}  // namespace
}  // namespace comptoir::storage

// Integration tests of storage::Database on real SQLCipher files in temp dirs: create/reopen,
// refusal of wrong keys and foreign or damaged files without touching them, migrations, the
// connection settings really in effect, file privacy, two connections writing at once, and the
// re-encrypted copy made for a master key rotation (export_copy).
#include "storage/database.h"

#include <gtest/gtest.h>
#include <sqlcipher/sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "src/common/encoding.h"
#include "src/common/secret.h"
#include "storage/maintenance_store.h"
#include "storage/outbox_store.h"
#include "storage/subject_key_store.h"
#include "storage/token_store.h"
#include "tests/integration/file_checks.h"
#include "tests/support/temp_dir.h"

namespace comptoir::storage {
namespace {

namespace fs = std::filesystem;
using comptoir::testing::damage_page;
using comptoir::testing::mode_of;
using comptoir::testing::same_files;
using comptoir::testing::ScopedUmask;
using comptoir::testing::snapshot;
using comptoir::testing::TempDir;
using comptoir::testing::write_bytes;

constexpr std::string_view kWrongKeyPrefix = "wrong key or not a Comptoir database";
constexpr std::size_t kPage = 4096;

// --- raw SQLite helpers (test side only) -----------------------------------------------------

struct RawDb {
  sqlite3* db = nullptr;
  RawDb() = default;
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  ~RawDb() {
    if (db != nullptr) sqlite3_close_v2(db);
  }
};

bool raw_exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  if (err != nullptr) sqlite3_free(err);
  return rc == SQLITE_OK;
}

// First column of the first row as text; nullopt on any error.
std::optional<std::string> raw_text(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    sqlite3_finalize(st);
    return std::nullopt;
  }
  std::optional<std::string> out;
  const int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const auto* t = sqlite3_column_text(st, 0);
    out = t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t));
  } else if (rc == SQLITE_DONE) {
    out = std::string();
  }
  sqlite3_finalize(st);
  return out;
}

std::optional<std::int64_t> raw_int(sqlite3* db, const std::string& sql) {
  auto t = raw_text(db, sql);
  if (!t || t->empty()) return std::nullopt;
  return std::stoll(*t);
}

std::string key_hex(const SecretBytes& key) { return hex_encode(key.span()); }

// Opens `file` with the SQLCipher raw-key syntax, the way Comptoir does, but on a separate raw
// connection. `page_size` 0 leaves SQLCipher's default.
void raw_open_keyed(RawDb& raw, const fs::path& file, const SecretBytes& key, int page_size, bool create) {
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
  ASSERT_EQ(sqlite3_open_v2(file.c_str(), &raw.db, flags, nullptr), SQLITE_OK);
  ASSERT_TRUE(raw_exec(raw.db, "PRAGMA key = \"x'" + key_hex(key) + "'\";"));
  auto version = raw_text(raw.db, "PRAGMA cipher_version;");
  ASSERT_TRUE(version.has_value());
  ASSERT_FALSE(version->empty()) << "linked SQLite is not SQLCipher";
  if ((*version)[0] >= '4') {
    ASSERT_TRUE(raw_exec(raw.db, "PRAGMA cipher_compatibility = 3;"));
  }
  if (page_size > 0) {
    ASSERT_TRUE(raw_exec(raw.db, "PRAGMA cipher_page_size = " + std::to_string(page_size) + ";"));
  }
}

std::string read_bytes(const fs::path& p) { return comptoir::testing::read_text(p); }

std::string random_bytes(std::size_t n) {
  SecretBytes b = SecretBytes::random(n);
  return std::string(b.view());
}

// --- fixture ---------------------------------------------------------------------------------

class DatabaseTest : public ::testing::Test {
 protected:
  TempDir dir;
  fs::path file = dir / "comptoir.db";
  SecretBytes key = SecretBytes::random(32);

  std::unique_ptr<Database> open_db(const SecretBytes& k, bool create, bool integrity = false) {
    OpenOptions o;
    o.create = create;
    o.integrity_check = integrity;
    auto db = Database::open(file, k, o);
    EXPECT_TRUE(db.has_value()) << (db ? "" : db.error().message);
    return db ? std::move(*db) : nullptr;
  }

  std::unique_ptr<Database> create_migrated() {
    auto db = open_db(key, true);
    if (!db) return nullptr;
    auto st = db->migrate();
    EXPECT_TRUE(st.has_value()) << (st ? "" : st.error().message);
    return db;
  }

  // A closed database with a few hundred rows, so that it spans many pages.
  void make_database_with_data() {
    auto db = create_migrated();
    ASSERT_NE(db, nullptr);
    auto st = db->transaction([](sqlite3* h) -> Status {
      const char* sql =
          "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 600) "
          "INSERT INTO subject_keys (subject_id, wrapped_key, wrap_version, created_at) "
          "SELECT printf('sub_%032d', x), randomblob(73), 1, 1700000000 + x FROM n;";
      if (!raw_exec(h, sql)) return fail(Errc::internal, sqlite3_errmsg(h));
      return ok();
    });
    ASSERT_TRUE(st.has_value()) << st.error().message;
    TokenStore tokens(*db);
    TokenRecord r;
    r.id = "tok_0000000000000001";
    r.hash = std::vector<std::uint8_t>(32, 7);
    r.role = "owner";
    r.label = "ci";
    r.created_at = 1700000000;
    ASSERT_TRUE(tokens.insert(r).has_value());
    db->close();
  }

  Result<std::unique_ptr<Database>> try_open(const SecretBytes& k, bool integrity = false) {
    OpenOptions o;
    o.integrity_check = integrity;
    return Database::open(file, k, o);
  }

  // Expects Errc::wrong_key with the documented message, and every file unchanged.
  void expect_refused_unchanged(const SecretBytes& k, Errc expected = Errc::wrong_key, bool integrity = false) {
    const auto before = snapshot(dir.path());
    auto db = try_open(k, integrity);
    ASSERT_FALSE(db.has_value()) << "opened a database that should have been refused";
    EXPECT_EQ(db.error().code, expected) << to_string(db.error().code) << ": " << db.error().message;
    if (expected == Errc::wrong_key) {
      EXPECT_TRUE(db.error().message.starts_with(kWrongKeyPrefix)) << db.error().message;
    }
    EXPECT_TRUE(same_files(before, snapshot(dir.path()))) << "a refused open changed the files";
  }
};

// --- create / reopen -------------------------------------------------------------------------

TEST_F(DatabaseTest, CreateThenReopenKeepsDataAndSchema) {
  {
    auto db = create_migrated();
    ASSERT_NE(db, nullptr);
    TokenStore tokens(*db);
    TokenRecord r{"tok_1", std::vector<std::uint8_t>(32, 1), "auditor", "reopen", 42, {}, {}};
    ASSERT_TRUE(tokens.insert(r).has_value());
  }
  auto db = open_db(key, false, true);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->schema_version(), db->latest_schema_version());
  TokenStore tokens(*db);
  auto found = tokens.find_by_hash(std::vector<std::uint8_t>(32, 1));
  ASSERT_TRUE(found.has_value());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, "tok_1");
  EXPECT_EQ((*found)->label, "reopen");
  EXPECT_EQ(db->path(), file);
}

TEST_F(DatabaseTest, OpeningAMissingFileIsNotFoundAndCreatesNothing) {
  auto db = try_open(key);
  ASSERT_FALSE(db.has_value());
  EXPECT_EQ(db.error().code, Errc::not_found);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST_F(DatabaseTest, CreatingOverAnExistingFileIsAConflictAndLeavesItAlone) {
  make_database_with_data();
  const auto before = snapshot(dir.path());
  OpenOptions o;
  o.create = true;
  auto db = Database::open(file, key, o);
  ASSERT_FALSE(db.has_value());
  EXPECT_EQ(db.error().code, Errc::conflict);
  EXPECT_TRUE(same_files(before, snapshot(dir.path())));
}

TEST_F(DatabaseTest, CloseFoldsTheWalBackIntoOneFile) {
  make_database_with_data();
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"comptoir.db"});
  EXPECT_EQ(fs::file_size(file) % kPage, 0u);
}

TEST_F(DatabaseTest, PingIsTrueWhileOpenAndFalseAfterClose) {
  auto db = create_migrated();
  ASSERT_NE(db, nullptr);
  EXPECT_TRUE(db->ping());
  db->close();
  EXPECT_FALSE(db->ping());
  db->close();  // idempotent
}

TEST_F(DatabaseTest, TransactionRollsBackWhenTheCallbackFails) {
  auto db = create_migrated();
  ASSERT_NE(db, nullptr);
  auto st = db->transaction([](sqlite3* h) -> Status {
    if (!raw_exec(h, "INSERT INTO shredded_subjects VALUES ('sub_x', 1);")) return fail(Errc::internal, "insert");
    return fail(Errc::invalid_argument, "changed my mind");
  });
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Errc::invalid_argument);
  auto n = db->run([](sqlite3* h) { return raw_int(h, "SELECT count(*) FROM shredded_subjects;"); });
  EXPECT_EQ(n, std::optional<std::int64_t>(0));
  // The connection is usable afterwards (no transaction left open).
  EXPECT_TRUE(db->transaction([](sqlite3* h) -> Status {
    return raw_exec(h, "INSERT INTO shredded_subjects VALUES ('sub_y', 2);") ? ok() : fail(Errc::internal, "x");
  }).has_value());
}

TEST_F(DatabaseTest, KeyOfTheWrongLengthIsRefused) {
  make_database_with_data();
  const auto before = snapshot(dir.path());
  SecretBytes short_key = SecretBytes::random(16);
  auto db = try_open(short_key);
  ASSERT_FALSE(db.has_value());
  EXPECT_TRUE(same_files(before, snapshot(dir.path())));
}

TEST(LibraryVersions, ReportsSqlcipherAndSqlite) {
  const LibraryVersions v = library_versions();
  ASSERT_FALSE(v.sqlcipher.empty());
  EXPECT_NE(v.sqlcipher, "unknown");
  EXPECT_TRUE(v.sqlcipher[0] == '3' || v.sqlcipher[0] == '4') << v.sqlcipher;
  EXPECT_TRUE(v.sqlite.starts_with("3.")) << v.sqlite;
}

// --- refusing what is not ours, without writing ----------------------------------------------

TEST_F(DatabaseTest, WrongKeyIsRefusedAndNothingChanges) {
  make_database_with_data();
  SecretBytes other = SecretBytes::random(32);
  expect_refused_unchanged(other);
  expect_refused_unchanged(other, Errc::wrong_key, /*integrity=*/true);
  // The message names the file and never the keys.
  auto db = try_open(other);
  ASSERT_FALSE(db.has_value());
  EXPECT_NE(db.error().message.find(file.string()), std::string::npos);
  EXPECT_EQ(db.error().message.find(key_hex(other)), std::string::npos);
  EXPECT_EQ(db.error().message.find(key_hex(key)), std::string::npos);
  // The right key still opens it: the refused attempts damaged nothing.
  auto good = open_db(key, false, true);
  ASSERT_NE(good, nullptr);
  EXPECT_EQ(good->schema_version(), good->latest_schema_version());
}

TEST_F(DatabaseTest, KeyDifferingInOneBitIsRefused) {
  make_database_with_data();
  SecretBytes other = SecretBytes::copy_of(key.span());
  other.data()[31] ^= 0x01;
  expect_refused_unchanged(other);
}

TEST_F(DatabaseTest, PlaintextSqliteFileIsRefusedAndUnchanged) {
  {
    RawDb raw;
    ASSERT_EQ(sqlite3_open_v2(file.c_str(), &raw.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
              SQLITE_OK);
    ASSERT_TRUE(raw_exec(raw.db,
                         "PRAGMA journal_mode = WAL; CREATE TABLE notes (t TEXT);"
                         " INSERT INTO notes VALUES ('hello'), ('world');"));
  }
  ASSERT_TRUE(read_bytes(file).starts_with(std::string("SQLite format 3\0", 16)));
  expect_refused_unchanged(key);
  expect_refused_unchanged(key, Errc::wrong_key, true);
}

TEST_F(DatabaseTest, PlaintextSqliteFileWithComptoirApplicationIdIsRefused) {
  {
    RawDb raw;
    ASSERT_EQ(sqlite3_open_v2(file.c_str(), &raw.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
              SQLITE_OK);
    ASSERT_TRUE(raw_exec(raw.db, "PRAGMA application_id = " + std::to_string(kApplicationId) +
                                     "; CREATE TABLE api_tokens (id TEXT);"));
  }
  expect_refused_unchanged(key);
}

class ForeignSqlcipherTest : public DatabaseTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ForeignSqlcipherTest, SameKeyButNoApplicationIdIsRefusedAndUnchanged) {
  {
    RawDb raw;
    raw_open_keyed(raw, file, key, 4096, /*create=*/true);
    ASSERT_TRUE(raw_exec(raw.db, std::string("PRAGMA journal_mode = ") + GetParam() +
                                     "; CREATE TABLE other_app (id INTEGER PRIMARY KEY, v TEXT);"
                                     " INSERT INTO other_app (v) VALUES ('a'), ('b');"));
  }
  ASSERT_FALSE(read_bytes(file).starts_with("SQLite format 3"));
  const auto before = snapshot(dir.path());
  auto db = try_open(key);
  ASSERT_FALSE(db.has_value());
  EXPECT_EQ(db.error().code, Errc::wrong_key);
  EXPECT_TRUE(db.error().message.starts_with(kWrongKeyPrefix)) << db.error().message;
  EXPECT_NE(db.error().message.find("another application"), std::string::npos) << db.error().message;
  EXPECT_TRUE(same_files(before, snapshot(dir.path())));
  // The other application's data is intact.
  RawDb raw;
  raw_open_keyed(raw, file, key, 4096, false);
  EXPECT_EQ(raw_int(raw.db, "SELECT count(*) FROM other_app;"), std::optional<std::int64_t>(2));
}

INSTANTIATE_TEST_SUITE_P(JournalModes, ForeignSqlcipherTest, ::testing::Values("DELETE", "WAL"));

TEST_F(DatabaseTest, SqlcipherFileWithAnotherPageSizeIsRefused) {
  {
    RawDb raw;
    raw_open_keyed(raw, file, key, 1024, true);
    ASSERT_TRUE(raw_exec(raw.db, "PRAGMA application_id = " + std::to_string(kApplicationId) +
                                     "; CREATE TABLE t (x); INSERT INTO t VALUES (1);"));
  }
  expect_refused_unchanged(key);
}

TEST_F(DatabaseTest, SqlcipherFileKeyedWithThePassphraseKdfIsRefused) {
  // Same 64 hex characters, but given as a passphrase (PBKDF2) instead of a raw key.
  {
    RawDb raw;
    ASSERT_EQ(sqlite3_open_v2(file.c_str(), &raw.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
              SQLITE_OK);
    ASSERT_TRUE(raw_exec(raw.db, "PRAGMA key = '" + key_hex(key) + "'; PRAGMA cipher_page_size = 4096;"));
    ASSERT_TRUE(raw_exec(raw.db, "PRAGMA application_id = " + std::to_string(kApplicationId) +
                                     "; CREATE TABLE t (x);"));
  }
  expect_refused_unchanged(key);
}

TEST_F(DatabaseTest, FileOfRandomBytesIsRefusedAndUnchanged) {
  for (std::size_t size : {std::size_t{100}, std::size_t{511}, kPage, 5 * kPage}) {
    SCOPED_TRACE(size);
    write_bytes(file, random_bytes(size));
    expect_refused_unchanged(key);
    expect_refused_unchanged(key, Errc::wrong_key, true);
  }
}

TEST_F(DatabaseTest, EmptyButPresentFileIsRefusedAndStaysEmpty) {
  write_bytes(file, "");
  expect_refused_unchanged(key);
  expect_refused_unchanged(key, Errc::wrong_key, true);
  EXPECT_EQ(fs::file_size(file), 0u);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u) << "no journal or WAL file may be left behind";
}

TEST_F(DatabaseTest, DirectoryInsteadOfAFileIsRefused) {
  fs::create_directory(file);
  expect_refused_unchanged(key);
}

TEST_F(DatabaseTest, DatabaseWithADamagedFirstPageIsRefusedUnchanged) {
  make_database_with_data();
  damage_page(file, 1, 8);
  expect_refused_unchanged(key);
}

// Flips bytes in the middle of one page of a cleanly closed database: the second, one in the
// middle, the last.
class CorruptPageTest : public DatabaseTest, public ::testing::WithParamInterface<int> {};

TEST_P(CorruptPageTest, IntegrityCheckReportsCorruptAndLeavesTheFileAlone) {
  make_database_with_data();
  const std::string clean = read_bytes(file);
  const std::size_t pages = clean.size() / kPage;
  ASSERT_GE(pages, 8u) << "the test database should span many pages";
  // Control: the undamaged database passes the check, and checking it writes nothing.
  {
    auto db = open_db(key, false, true);
    ASSERT_NE(db, nullptr);
  }
  ASSERT_TRUE(read_bytes(file) == clean);

  const std::size_t page = GetParam() == 0 ? 2 : GetParam() == 1 ? pages / 2 : pages;
  damage_page(file, page);
  ASSERT_FALSE(read_bytes(file) == clean);

  expect_refused_unchanged(key, Errc::corrupt, /*integrity=*/true);
  auto db = try_open(key, true);
  ASSERT_FALSE(db.has_value());
  EXPECT_TRUE(db.error().message.starts_with("database is corrupted")) << db.error().message;
  EXPECT_EQ(db.error().message.find(key_hex(key)), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Pages, CorruptPageTest, ::testing::Values(0, 1, 2),
                         [](const ::testing::TestParamInfo<int>& i) {
                           return i.param == 0 ? std::string("Second") : i.param == 1 ? "Middle" : "Last";
                         });

// A data dir copied while the server ran (or left by a crash): the main file plus a WAL holding
// committed transactions. Another key is refused, and nothing committed is lost. (SQLite's own
// WAL recovery may fold the WAL into the main file when the refused connection closes: it copies
// the already-encrypted frames verbatim, as any later open would. open_data_dir never gets that
// far with a wrong master key: the key check value stops it first — see data_dir_test.cpp.)
TEST_F(DatabaseTest, CrashImageWithAWalIsRefusedWithAnotherKeyAndLosesNothing) {
  TempDir copy;
  {
    auto db = create_migrated();
    ASSERT_NE(db, nullptr);
    TokenStore tokens(*db);
    TokenRecord r{"tok_crash", std::vector<std::uint8_t>(32, 9), "operator", "in the wal", 5, {}, {}};
    ASSERT_TRUE(tokens.insert(r).has_value());
    ASSERT_TRUE(fs::exists(dir / "comptoir.db-wal"));
    ASSERT_GT(fs::file_size(dir / "comptoir.db-wal"), 0u);
    fs::copy_file(file, copy / "comptoir.db");
    fs::copy_file(dir / "comptoir.db-wal", copy / "comptoir.db-wal");
  }
  file = copy / "comptoir.db";
  SecretBytes other = SecretBytes::random(32);
  OpenOptions o;
  auto bad = Database::open(file, other, o);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Errc::wrong_key);
  EXPECT_TRUE(bad.error().message.starts_with(kWrongKeyPrefix)) << bad.error().message;

  o.integrity_check = true;
  auto db = Database::open(file, key, o);
  ASSERT_TRUE(db.has_value()) << db.error().message;
  EXPECT_EQ((*db)->schema_version(), (*db)->latest_schema_version());
  TokenStore tokens(**db);
  auto found = tokens.find_by_hash(std::vector<std::uint8_t>(32, 9));
  ASSERT_TRUE(found.has_value());
  ASSERT_TRUE(found->has_value()) << "a row committed to the WAL was lost";
  EXPECT_EQ((*found)->label, "in the wal");
}

// --- migrations ------------------------------------------------------------------------------

TEST_F(DatabaseTest, MigrationsFromEmptyReachTheLatestVersion) {
  auto db = open_db(key, true);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->schema_version(), 0);
  ASSERT_GE(db->latest_schema_version(), 1);
  ASSERT_TRUE(db->migrate().has_value());
  EXPECT_EQ(db->schema_version(), db->latest_schema_version());
  for (const char* table : {"api_tokens", "subject_keys", "shredded_subjects"}) {
    auto n = db->run([&](sqlite3* h) {
      return raw_int(h, std::string("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '") +
                            table + "';");
    });
    EXPECT_EQ(n, std::optional<std::int64_t>(1)) << table;
  }
  // Running again is a no-op.
  ASSERT_TRUE(db->migrate().has_value());
  EXPECT_EQ(db->schema_version(), db->latest_schema_version());
}

TEST_F(DatabaseTest, NewerSchemaThanKnownIsRefusedByMigrate) {
  const int newer = [&] {
    auto db = create_migrated();
    const int v = db->latest_schema_version() + 5;
    EXPECT_TRUE(db->run([&](sqlite3* h) { return raw_exec(h, "PRAGMA user_version = " + std::to_string(v) + ";"); }));
    auto st = db->migrate();
    EXPECT_FALSE(st.has_value());
    if (!st) {
      EXPECT_EQ(st.error().code, Errc::conflict);
      EXPECT_NE(st.error().message.find("newer"), std::string::npos) << st.error().message;
    }
    return v;
  }();
  // Also after a reopen; and the refusal changes nothing.
  const auto before = snapshot(dir.path());
  {
    auto db = open_db(key, false);
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(db->schema_version(), newer);
    auto st = db->migrate();
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().code, Errc::conflict);
    EXPECT_EQ(db->schema_version(), newer);
  }
  EXPECT_TRUE(same_files(before, snapshot(dir.path())));
}

TEST_F(DatabaseTest, OlderSchemaIsMigratedForwardOnReopen) {
  {
    auto db = open_db(key, true);
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(db->schema_version(), 0);
  }
  auto db = open_db(key, false);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->schema_version(), 0);
  ASSERT_TRUE(db->migrate().has_value());
  EXPECT_EQ(db->schema_version(), db->latest_schema_version());
}

// Migration 13 rebuilds inbound_messages in arrival order: the records of a version-12 database
// survive, redeliveries stay duplicates, and only the unique index on (channel, key) remains.
TEST_F(DatabaseTest, Migration13KeepsTheInboundRecordsAndTheirUniqueness) {
  {
    auto db = create_migrated();
    ASSERT_NE(db, nullptr);
    // Back to the version-12 shape, with records in it.
    db->run([&](sqlite3* h) {
      ASSERT_TRUE(raw_exec(h, "DROP TABLE inbound_messages;"
                              " CREATE TABLE inbound_messages (channel TEXT NOT NULL, external_id TEXT NOT NULL,"
                              " received_at INTEGER NOT NULL, PRIMARY KEY (channel, external_id)) WITHOUT ROWID;"
                              " CREATE INDEX inbound_messages_received ON inbound_messages(received_at);"
                              " INSERT INTO inbound_messages VALUES ('whatsapp', 'h:b', 20), ('whatsapp', 'h:a', 10),"
                              " ('telegram', 'h:a', 30); PRAGMA user_version = 12;"));
    });
  }
  auto db = open_db(key, false);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->schema_version(), 12);
  ASSERT_TRUE(db->migrate().has_value());
  EXPECT_EQ(db->schema_version(), db->latest_schema_version());
  db->run([&](sqlite3* h) {
    // In arrival order, every record kept.
    EXPECT_EQ(raw_text(h, "SELECT group_concat(channel || ':' || external_id, ' ') FROM (SELECT * FROM inbound_messages"
                          " ORDER BY rowid);"),
              std::optional<std::string>("whatsapp:h:a whatsapp:h:b telegram:h:a"));
    EXPECT_EQ(raw_int(h, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'inbound_messages';"), 1);
    EXPECT_EQ(raw_int(h, "SELECT count(*) FROM sqlite_master WHERE name = 'inbound_messages_received';"), 0);
  });
  OutboxStore store(*db);
  for (const auto& [channel, key, fresh] : std::vector<std::tuple<std::string, std::string, bool>>{
           {"whatsapp", "h:a", false}, {"telegram", "h:a", false}, {"telegram", "h:b", true}, {"telegram", "h:b", false}}) {
    bool recorded = false;
    ASSERT_TRUE(db->write([&](Tx& tx) -> Status {
                    auto r = store.record_inbound(tx, channel, key, 40);
                    if (!r) return std::unexpected(r.error());
                    recorded = *r;
                    return ok();
                  }).has_value());
    EXPECT_EQ(recorded, fresh) << channel << " " << key;
  }
}

// Housekeeping expires inbound records from the oldest (the first rows) without an index on
// received_at, and only those older than the cut-off, even after the clock went back.
TEST_F(DatabaseTest, HousekeepingExpiresOnlyOldInboundRecords) {
  auto db = create_migrated();
  ASSERT_NE(db, nullptr);
  db->run([&](sqlite3* h) {
    ASSERT_TRUE(raw_exec(h, "INSERT INTO inbound_messages VALUES ('whatsapp', 'h:1', 100), ('whatsapp', 'h:2', 200),"
                            " ('whatsapp', 'h:3', 150), ('whatsapp', 'h:4', 300), ('whatsapp', 'h:5', 120);"));
  });
  MaintenanceStore m(*db);
  auto counts = m.prune(180, 0, 0);
  ASSERT_TRUE(counts.has_value()) << counts.error().message;
  // 100 goes; 150 stays behind 200 (the clock went back), 120 behind 300: kept for a later run or
  // the retention sweep, never an entry younger than the cut-off deleted.
  EXPECT_EQ(counts->inbound_ids, 1);
  db->run([&](sqlite3* h) {
    EXPECT_EQ(raw_text(h, "SELECT group_concat(external_id, ' ') FROM (SELECT * FROM inbound_messages ORDER BY rowid);"),
              std::optional<std::string>("h:2 h:3 h:4 h:5"));
  });
  counts = m.prune(1000, 0, 0);
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->inbound_ids, 4);
  counts = m.prune(1000, 0, 0);
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->inbound_ids, 0);
}

// Housekeeping deletes a backlog in batches of MaintenanceStore::kPruneBatch rows, each its own
// write, until nothing old is left; everything young stays.
TEST_F(DatabaseTest, HousekeepingDeletesABacklogInBatches) {
  auto db = create_migrated();
  ASSERT_NE(db, nullptr);
  const std::int64_t old_rows = 2 * MaintenanceStore::kPruneBatch + 500;
  db->run([&](sqlite3* h) {
    ASSERT_TRUE(raw_exec(h, "CREATE TEMP TABLE n (i INTEGER PRIMARY KEY);"
                            " WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < " +
                                std::to_string(old_rows + 100) + ") INSERT INTO n SELECT i FROM c;"
                                " INSERT INTO inbound_messages SELECT 'whatsapp', 'h:' || i, CASE WHEN i <= " +
                                std::to_string(old_rows) + " THEN 10 ELSE 500 END FROM n;"
                                " INSERT INTO customers (subject_id, channel, address_index, address_sealed, created_at, last_active_at)"
                                " SELECT 'sub_' || i, 'webchat', 'idx' || i, x'00', 1, 1 FROM n;"
                                " INSERT INTO outbox (customer_id, channel, kind, status, next_attempt_at, created_at, updated_at)"
                                " SELECT i, 'whatsapp', 'message', CASE WHEN i % 7 = 0 THEN 'pending' ELSE 'sent' END, 1, 1,"
                                " CASE WHEN i <= " + std::to_string(old_rows) + " THEN 10 ELSE 500 END FROM n;"
                                " INSERT INTO conversations SELECT i, x'00', CASE WHEN i <= " + std::to_string(old_rows) +
                                " THEN 10 ELSE 500 END FROM n;"));
  });
  MaintenanceStore m(*db);
  auto counts = m.prune(100, 100, 100);
  ASSERT_TRUE(counts.has_value()) << counts.error().message;
  EXPECT_EQ(counts->inbound_ids, old_rows);
  EXPECT_EQ(counts->conversations, old_rows);
  std::int64_t pending_old = 0;
  for (std::int64_t i = 1; i <= old_rows; ++i) pending_old += i % 7 == 0;
  EXPECT_EQ(counts->outbox_entries, old_rows - pending_old) << "pending entries are never pruned";
  db->run([&](sqlite3* h) {
    EXPECT_EQ(raw_int(h, "SELECT count(*) FROM inbound_messages;"), 100);
    EXPECT_EQ(raw_int(h, "SELECT count(*) FROM conversations;"), 100);
    EXPECT_EQ(raw_int(h, "SELECT count(*) FROM outbox WHERE updated_at = 10;"), pending_old);
  });
}

// --- settings really in effect ----------------------------------------------------------------

TEST_F(DatabaseTest, ConnectionSettingsAreInEffect) {
  auto db = create_migrated();
  ASSERT_NE(db, nullptr);
  db->run([&](sqlite3* h) {
    EXPECT_EQ(raw_text(h, "PRAGMA journal_mode;"), std::optional<std::string>("wal"));
    // NORMAL: COMMIT does not wait for the disk; Comptoir syncs the WAL itself before a write
    // returns (tests/integration/group_commit_test.cpp, DurableCommitTest).
    EXPECT_EQ(raw_int(h, "PRAGMA synchronous;"), std::optional<std::int64_t>(1));
    EXPECT_EQ(raw_int(h, "PRAGMA foreign_keys;"), std::optional<std::int64_t>(1));
    EXPECT_EQ(raw_int(h, "PRAGMA secure_delete;"), std::optional<std::int64_t>(1));
    EXPECT_EQ(raw_int(h, "PRAGMA cache_size;"), std::optional<std::int64_t>(-32768));  // 32 MiB
    EXPECT_EQ(raw_int(h, "PRAGMA wal_autocheckpoint;"), std::optional<std::int64_t>(4000));
    EXPECT_EQ(raw_int(h, "PRAGMA application_id;"), std::optional<std::int64_t>(kApplicationId));
    EXPECT_EQ(raw_int(h, "PRAGMA cipher_page_size;"), std::optional<std::int64_t>(4096));
    EXPECT_EQ(raw_int(h, "PRAGMA page_size;"), std::optional<std::int64_t>(4096));
    EXPECT_EQ(raw_int(h, "PRAGMA busy_timeout;"), std::optional<std::int64_t>(5000));
    // Foreign keys are enforced, not just switched on.
    EXPECT_TRUE(raw_exec(h, "CREATE TEMP TABLE p (id INTEGER PRIMARY KEY);"
                            " CREATE TEMP TABLE c (pid INTEGER REFERENCES p(id));"));
    EXPECT_FALSE(raw_exec(h, "INSERT INTO c VALUES (42);"));
    EXPECT_TRUE(raw_exec(h, "INSERT INTO p VALUES (42); INSERT INTO c VALUES (42);"));
  });
}

TEST_F(DatabaseTest, SecondRawConnectionWithTheRawKeySeesTheStampedSettings) {
  auto db = create_migrated();
  ASSERT_NE(db, nullptr);
  const int latest = db->latest_schema_version();
  for (bool while_open : {true, false}) {
    SCOPED_TRACE(while_open ? "while open" : "after close");
    if (!while_open) db->close();
    RawDb raw;
    raw_open_keyed(raw, file, key, 4096, false);
    EXPECT_EQ(raw_int(raw.db, "PRAGMA application_id;"), std::optional<std::int64_t>(kApplicationId));
    EXPECT_EQ(raw_int(raw.db, "PRAGMA user_version;"), std::optional<std::int64_t>(latest));
    EXPECT_EQ(raw_int(raw.db, "PRAGMA page_size;"), std::optional<std::int64_t>(4096));
    EXPECT_EQ(raw_text(raw.db, "PRAGMA journal_mode;"), std::optional<std::string>("wal"));
  }
  // The same key with another page size, or given as a passphrase, does not open the file:
  // the database really uses the raw key and 4096-byte pages.
  {
    RawDb raw;
    raw_open_keyed(raw, file, key, 1024, false);
    EXPECT_EQ(raw_text(raw.db, "SELECT count(*) FROM sqlite_master;"), std::nullopt);
  }
  {
    RawDb raw;
    ASSERT_EQ(sqlite3_open_v2(file.c_str(), &raw.db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    ASSERT_TRUE(raw_exec(raw.db, "PRAGMA key = '" + key_hex(key) + "'; PRAGMA cipher_page_size = 4096;"));
    EXPECT_EQ(raw_text(raw.db, "SELECT count(*) FROM sqlite_master;"), std::nullopt);
  }
}

// --- what reaches the disk --------------------------------------------------------------------

void expect_no_plaintext(const fs::path& dir, const std::string& marker) {
  std::size_t files = 0;
  for (const auto& [path, bytes] : snapshot(dir)) {
    ++files;
    EXPECT_FALSE(bytes.starts_with("SQLite format 3")) << path << " has a plaintext SQLite header";
    EXPECT_EQ(bytes.find(marker), std::string::npos) << path << " contains plaintext row data";
  }
  EXPECT_GT(files, 0u);
}

TEST_F(DatabaseTest, NoFileHoldsAPlaintextHeaderOrPlaintextRows) {
  const std::string marker = "MARKER-Epicerie-du-Coin-7f3a9c";
  auto db = create_migrated();
  ASSERT_NE(db, nullptr);
  TokenStore tokens(*db);
  for (int i = 0; i < 20; ++i) {
    TokenRecord r{"tok_" + std::to_string(i), std::vector<std::uint8_t>(32, static_cast<std::uint8_t>(i)),
                  "operator", marker, i, {}, {}};
    ASSERT_TRUE(tokens.insert(r).has_value());
  }
  ASSERT_TRUE(fs::exists(dir / "comptoir.db-wal"));
  expect_no_plaintext(dir.path(), marker);  // main file and WAL while open
  db->close();
  expect_no_plaintext(dir.path(), marker);
}

TEST_F(DatabaseTest, FilesHaveNoGroupOrOtherPermissions) {
  ScopedUmask umask(022);  // a common default; the database must not depend on a strict umask
  auto db = create_migrated();
  ASSERT_NE(db, nullptr);
  TokenStore tokens(*db);
  ASSERT_TRUE(tokens.insert(TokenRecord{"tok_p", std::vector<std::uint8_t>(32, 3), "owner", "", 1, {}, {}}).has_value());
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    ++files;
    EXPECT_EQ(mode_of(e.path()) & 077, 0u) << e.path() << " mode " << std::oct << mode_of(e.path());
  }
  EXPECT_GE(files, 3u) << "expected the database, its WAL and shared-memory files";
  db->close();
  EXPECT_EQ(mode_of(file) & 077, 0u);
}

// --- two connections ---------------------------------------------------------------------------

TEST_F(DatabaseTest, TwoConnectionsOnOneFileCanBothWrite) {
  auto server = create_migrated();
  ASSERT_NE(server, nullptr);
  auto cli = open_db(key, false);
  ASSERT_NE(cli, nullptr);
  ASSERT_TRUE(cli->migrate().has_value());  // already migrated: no-op
  TokenStore server_tokens(*server);
  TokenStore cli_tokens(*cli);

  auto rec = [](const std::string& id, std::uint8_t b) {
    return TokenRecord{id, std::vector<std::uint8_t>(32, b), "owner", id, 1, {}, {}};
  };
  ASSERT_TRUE(cli_tokens.insert(rec("tok_cli", 1)).has_value());
  ASSERT_TRUE(server_tokens.insert(rec("tok_server", 2)).has_value());
  auto seen = server_tokens.find_by_hash(std::vector<std::uint8_t>(32, 1));
  ASSERT_TRUE(seen.has_value());
  ASSERT_TRUE(seen->has_value()) << "the server does not see the CLI's token";
  ASSERT_TRUE(cli_tokens.revoke("tok_server", 10).has_value());

  // Now both write at the same time from two threads.
  constexpr int kEach = 40;
  std::atomic<int> failures{0};
  auto writer = [&](Database& db, const std::string& prefix) {
    SubjectKeyStore store(db);
    for (int i = 0; i < kEach; ++i) {
      WrappedSubjectKey k;
      k.subject_id = prefix + std::to_string(i);
      k.wrapped_key = std::vector<std::uint8_t>(73, 1);
      k.created_at = i;
      if (!store.insert(k)) ++failures;
    }
  };
  std::thread a(writer, std::ref(*server), "sub_server_");
  std::thread b(writer, std::ref(*cli), "sub_cli_");
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  SubjectKeyStore s1(*server), s2(*cli);
  for (SubjectKeyStore* s : {&s1, &s2}) {
    auto n = s->count();
    ASSERT_TRUE(n.has_value());
    EXPECT_EQ(*n, 2 * kEach);
  }

  cli->close();  // the CLI exits while the server runs
  auto list = server_tokens.list();
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 2u);
  server->close();
  auto again = open_db(key, false, true);
  ASSERT_NE(again, nullptr);
  SubjectKeyStore s3(*again);
  auto n = s3.count();
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 2 * kEach);
}

// --- export_copy (master key rotation) ---------------------------------------------------------

TEST_F(DatabaseTest, ExportCopyIsTheSameDatabaseUnderTheNewKey) {
  make_database_with_data();
  const fs::path copy = dir / "comptoir.db.rekey";
  const SecretBytes new_key = SecretBytes::random(32);
  {
    auto db = open_db(key, false);
    ASSERT_NE(db, nullptr);
    // Uncheckpointed writes in the WAL are part of the copy too.
    TokenStore tokens(*db);
    TokenRecord r;
    r.id = "tok_00000000000000aa";
    r.hash = std::vector<std::uint8_t>(32, 9);
    r.role = "operator";
    r.label = "in the wal";
    r.created_at = 1700000001;
    ASSERT_TRUE(tokens.insert(r).has_value());
    ScopedUmask umask(022);
    auto st = db->export_copy(copy, new_key);
    ASSERT_TRUE(st.has_value()) << st.error().message;
    EXPECT_TRUE(db->ping()) << "the source stays usable";
  }
  EXPECT_EQ(mode_of(copy), 0600u);
  for (const char* suffix : {"-journal", "-wal", "-shm"}) EXPECT_FALSE(fs::exists(copy.string() + suffix)) << suffix;
  EXPECT_FALSE(read_bytes(copy).starts_with("SQLite format 3"));

  // The old key does not open the copy; the new one does, with the same schema version, the
  // application id and every row.
  {
    auto refused = Database::open(copy, key, {});
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, Errc::wrong_key);
  }
  OpenOptions o;
  o.integrity_check = true;
  auto c = Database::open(copy, new_key, o);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ((*c)->schema_version(), (*c)->latest_schema_version());
  SubjectKeyStore subjects(**c);
  EXPECT_EQ(subjects.count().value(), 600);
  TokenStore tokens(**c);
  auto all = tokens.list();
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 2u);
  (*c)->close();
  RawDb raw;
  raw_open_keyed(raw, copy, new_key, static_cast<int>(kPage), false);
  EXPECT_EQ(raw_int(raw.db, "PRAGMA application_id;"), kApplicationId);
  EXPECT_EQ(raw_text(raw.db, "PRAGMA journal_mode;"), "wal");
  EXPECT_EQ(raw_int(raw.db, "SELECT count(*) FROM outbox;"), 0);
  // The partial indexes and the inbound message keys' unique constraint came along.
  EXPECT_EQ(raw_int(raw.db, "SELECT count(*) FROM sqlite_master WHERE name IN ('outbox_pending', 'outbox_failed', 'inbound_messages');"), 3);
  EXPECT_EQ(raw_int(raw.db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'inbound_messages';"), 1);
  EXPECT_EQ(raw_text(raw.db, "SELECT sql FROM sqlite_master WHERE name = 'outbox_failed';"),
            "CREATE INDEX outbox_failed ON outbox(id) WHERE status = 'failed'");
}

TEST_F(DatabaseTest, ExportCopyRefusesAnExistingTargetAndLeavesItAlone) {
  make_database_with_data();
  const fs::path copy = dir / "comptoir.db.rekey";
  comptoir::testing::write_text(copy, "someone else's file");
  auto db = open_db(key, false);
  ASSERT_NE(db, nullptr);
  auto st = db->export_copy(copy, SecretBytes::random(32));
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Errc::conflict);
  EXPECT_EQ(comptoir::testing::read_text(copy), "someone else's file");
}

TEST_F(DatabaseTest, ExportCopyFailureLeavesNothingBehind) {
  make_database_with_data();
  auto db = open_db(key, false);
  ASSERT_NE(db, nullptr);
  // A target in a directory that does not exist cannot be created.
  auto st = db->export_copy(dir / "missing" / "copy.db", SecretBytes::random(32));
  ASSERT_FALSE(st.has_value());
  // A key of the wrong size is refused before anything is created.
  const fs::path copy = dir / "copy.db";
  st = db->export_copy(copy, SecretBytes::random(16));
  ASSERT_FALSE(st.has_value());
  EXPECT_FALSE(fs::exists(copy));
  // The connection is unharmed: a later copy works.
  st = db->export_copy(copy, SecretBytes::random(32));
  EXPECT_TRUE(st.has_value()) << st.error().message;
}

}  // namespace
}  // namespace comptoir::storage

// The registry of personal fields against the real schema: every column of every table of a
// fully migrated database is either registered as personal data (and so must be declared in the
// data inventory) or listed as not personal with a reason. A new column that is in neither list
// fails here, before it can hold data nobody declared.
#include <gtest/gtest.h>
#include <sqlcipher/sqlite3.h>

#include <set>
#include <string>

#include "privacy/registry.h"
#include "src/common/secret.h"
#include "storage/database.h"
#include "tests/support/temp_dir.h"

namespace comptoir {
namespace {

std::set<std::string> schema_columns(storage::Database& db) {
  std::set<std::string> out;
  db.run([&](sqlite3* h) {
    std::vector<std::string> tables;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", -1, &st, nullptr);
    while (sqlite3_step(st) == SQLITE_ROW) tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    for (const auto& t : tables) {
      sqlite3_prepare_v2(h, ("PRAGMA table_info(\"" + t + "\")").c_str(), -1, &st, nullptr);
      while (sqlite3_step(st) == SQLITE_ROW) out.insert(t + "." + reinterpret_cast<const char*>(sqlite3_column_text(st, 1)));
      sqlite3_finalize(st);
    }
    return 0;
  });
  return out;
}

TEST(RegistrySchema, EveryColumnIsClassifiedAndEveryEntryExists) {
  testing::TempDir dir;
  const auto key = SecretBytes::random(32);
  storage::OpenOptions o;
  o.create = true;
  auto db = storage::Database::open(dir.path() / "c.db", key, o);
  ASSERT_TRUE(db.has_value()) << db.error().message;
  ASSERT_TRUE((*db)->migrate().has_value());
  const auto columns = schema_columns(**db);
  ASSERT_GT(columns.size(), 50u);

  std::set<std::string> classified;
  for (const auto& f : privacy::registered_fields()) classified.insert(std::string(f.name));
  for (const auto& c : privacy::non_personal_columns()) {
    EXPECT_FALSE(c.why.empty()) << c.name;
    classified.insert(std::string(c.name));
  }
  // The migration bookkeeping table, if any, is the software's own.
  for (const auto& col : columns) {
    if (col.starts_with("schema_migrations.")) continue;
    EXPECT_TRUE(classified.contains(col)) << col
        << " is neither a registered personal field (privacy/registry.cpp, then the data inventory) nor listed as "
           "not personal";
  }
  for (const auto& name : classified) {
    EXPECT_TRUE(columns.contains(name)) << name << " is classified in privacy/registry.cpp but not in the schema";
  }
}

TEST(RegistrySchema, SealedFieldsAreBlobs) {
  // A field registered as sealed must be a BLOB column: plaintext there would be a bug.
  testing::TempDir dir;
  storage::OpenOptions o;
  o.create = true;
  auto db = storage::Database::open(dir.path() / "c.db", SecretBytes::random(32), o);
  ASSERT_TRUE(db.has_value());
  ASSERT_TRUE((*db)->migrate().has_value());
  std::set<std::string> blobs;
  (*db)->run([&](sqlite3* h) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", -1, &st, nullptr);
    std::vector<std::string> tables;
    while (sqlite3_step(st) == SQLITE_ROW) tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    for (const auto& t : tables) {
      sqlite3_prepare_v2(h, ("PRAGMA table_info(\"" + t + "\")").c_str(), -1, &st, nullptr);
      while (sqlite3_step(st) == SQLITE_ROW) {
        if (std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 2))) == "BLOB") {
          blobs.insert(t + "." + reinterpret_cast<const char*>(sqlite3_column_text(st, 1)));
        }
      }
      sqlite3_finalize(st);
    }
    return 0;
  });
  for (const auto& f : privacy::registered_fields()) {
    if (f.protection == privacy::Protection::sealed) {
      EXPECT_TRUE(blobs.contains(std::string(f.name))) << f.name;
    }
  }
}

}  // namespace
}  // namespace comptoir

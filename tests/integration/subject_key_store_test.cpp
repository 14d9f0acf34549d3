// Integration tests of storage::SubjectKeyStore and storage::TokenStore on a real SQLCipher file:
// round trips, uniqueness, shredding with tombstones that survive a reopen, and ids never reused.
#include "storage/subject_key_store.h"

#include <gtest/gtest.h>
#include <sqlcipher/sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "src/common/secret.h"
#include "storage/database.h"
#include "storage/token_store.h"
#include "tests/integration/file_checks.h"
#include "tests/support/temp_dir.h"

namespace comptoir::storage {
namespace {

using comptoir::testing::TempDir;

class StoreTest : public ::testing::Test {
 protected:
  TempDir dir;
  SecretBytes key = SecretBytes::random(32);
  std::unique_ptr<Database> db;

  void SetUp() override { db = open(true); }

  std::unique_ptr<Database> open(bool create) {
    OpenOptions o;
    o.create = create;
    auto d = Database::open(dir / "comptoir.db", key, o);
    EXPECT_TRUE(d.has_value()) << (d ? "" : d.error().message);
    if (!d) return nullptr;
    auto st = (*d)->migrate();
    EXPECT_TRUE(st.has_value());
    return std::move(*d);
  }

  void reopen() {
    db.reset();
    db = open(false);
    ASSERT_NE(db, nullptr);
  }
};

WrappedSubjectKey wrapped(const std::string& id, std::uint8_t fill = 0xab, std::int64_t at = 1700000000) {
  WrappedSubjectKey k;
  k.subject_id = id;
  k.wrapped_key = std::vector<std::uint8_t>(73, fill);
  k.wrap_version = 1;
  k.created_at = at;
  return k;
}

std::int64_t count_of(SubjectKeyStore& s) {
  auto n = s.count();
  EXPECT_TRUE(n.has_value());
  return n ? *n : -1;
}

TEST_F(StoreTest, SubjectKeyRoundTripsAcrossAReopen) {
  {
    SubjectKeyStore store(*db);
    auto k = wrapped("sub_aaaa", 0x11, 1234);
    k.wrap_version = 3;
    ASSERT_TRUE(store.insert(k).has_value());
  }
  reopen();
  SubjectKeyStore store(*db);
  auto found = store.find("sub_aaaa");
  ASSERT_TRUE(found.has_value());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->subject_id, "sub_aaaa");
  EXPECT_EQ((*found)->wrapped_key, std::vector<std::uint8_t>(73, 0x11));
  EXPECT_EQ((*found)->wrap_version, 3);
  EXPECT_EQ((*found)->created_at, 1234);
  EXPECT_EQ(count_of(store), 1);
}

TEST_F(StoreTest, UnknownSubjectIsAbsentAndNotShredded) {
  SubjectKeyStore store(*db);
  auto found = store.find("sub_nobody");
  ASSERT_TRUE(found.has_value());
  EXPECT_FALSE(found->has_value());
  auto shredded = store.is_shredded("sub_nobody");
  ASSERT_TRUE(shredded.has_value());
  EXPECT_FALSE(*shredded);
  EXPECT_EQ(count_of(store), 0);
}

TEST_F(StoreTest, DuplicateSubjectIsAConflictAndKeepsTheFirstKey) {
  SubjectKeyStore store(*db);
  ASSERT_TRUE(store.insert(wrapped("sub_dup", 0x01)).has_value());
  auto st = store.insert(wrapped("sub_dup", 0x02));
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Errc::conflict);
  auto found = store.find("sub_dup");
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->wrapped_key, std::vector<std::uint8_t>(73, 0x01));
  EXPECT_EQ(count_of(store), 1);
}

TEST_F(StoreTest, ShredDeletesTheKeyLeavesATombstoneAndIsIdempotent) {
  SubjectKeyStore store(*db);
  ASSERT_TRUE(store.insert(wrapped("sub_gone")).has_value());
  ASSERT_TRUE(store.insert(wrapped("sub_stays")).has_value());
  auto first = store.shred("sub_gone", 1800000000);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(*first);
  auto second = store.shred("sub_gone", 1800000100);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(*second);

  auto found = store.find("sub_gone");
  ASSERT_TRUE(found.has_value());
  EXPECT_FALSE(found->has_value());
  auto shredded = store.is_shredded("sub_gone");
  ASSERT_TRUE(shredded.has_value());
  EXPECT_TRUE(*shredded);
  EXPECT_EQ(count_of(store), 1);
  // The other subject is untouched.
  auto other = store.find("sub_stays");
  ASSERT_TRUE(other.has_value());
  EXPECT_TRUE(other->has_value());
  auto other_shredded = store.is_shredded("sub_stays");
  ASSERT_TRUE(other_shredded.has_value());
  EXPECT_FALSE(*other_shredded);
  // The first shred time is kept.
  auto at = db->run([](sqlite3* h) -> std::int64_t {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, "SELECT shredded_at FROM shredded_subjects WHERE subject_id = 'sub_gone'", -1, &st, nullptr);
    std::int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  });
  EXPECT_EQ(at, 1800000000);
}

TEST_F(StoreTest, ShreddedIdIsNeverReusedEvenAfterAReopen) {
  {
    SubjectKeyStore store(*db);
    ASSERT_TRUE(store.insert(wrapped("sub_erased")).has_value());
    ASSERT_TRUE(store.shred("sub_erased", 5).has_value());
  }
  reopen();
  SubjectKeyStore store(*db);
  auto shredded = store.is_shredded("sub_erased");
  ASSERT_TRUE(shredded.has_value());
  EXPECT_TRUE(*shredded);
  auto st = store.insert(wrapped("sub_erased", 0x22));
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Errc::conflict);
  auto found = store.find("sub_erased");
  ASSERT_TRUE(found.has_value());
  EXPECT_FALSE(found->has_value()) << "a shredded subject came back";
}

TEST_F(StoreTest, ManySubjectsCountCorrectly) {
  SubjectKeyStore store(*db);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(store.insert(wrapped("sub_" + std::to_string(i))).has_value());
  for (int i = 0; i < 50; i += 5) ASSERT_TRUE(store.shred("sub_" + std::to_string(i), 9).has_value());
  EXPECT_EQ(count_of(store), 40);
}

// --- TokenStore ---------------------------------------------------------------------------------

TokenRecord token(const std::string& id, std::uint8_t fill, std::int64_t at = 100) {
  return TokenRecord{id, std::vector<std::uint8_t>(32, fill), "operator", "label " + id, at, {}, {}};
}

TEST_F(StoreTest, TokenRecordRoundTripsAndHashesAreUnique) {
  TokenStore store(*db);
  ASSERT_TRUE(store.insert(token("tok_a", 1, 100)).has_value());
  ASSERT_TRUE(store.insert(token("tok_b", 2, 50)).has_value());
  auto dup_hash = store.insert(token("tok_c", 1));
  ASSERT_FALSE(dup_hash.has_value());
  EXPECT_EQ(dup_hash.error().code, Errc::conflict);
  auto dup_id = store.insert(token("tok_a", 3));
  ASSERT_FALSE(dup_id.has_value());
  EXPECT_EQ(dup_id.error().code, Errc::conflict);

  auto list = store.list();
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "tok_b") << "ordered by creation time";
  EXPECT_EQ((*list)[1].id, "tok_a");

  auto found = store.find_by_hash(std::vector<std::uint8_t>(32, 1));
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->id, "tok_a");
  EXPECT_EQ((*found)->role, "operator");
  EXPECT_EQ((*found)->label, "label tok_a");
  EXPECT_EQ((*found)->created_at, 100);
  EXPECT_FALSE((*found)->last_used_at.has_value());
  EXPECT_FALSE((*found)->revoked_at.has_value());
  auto none = store.find_by_hash(std::vector<std::uint8_t>(32, 9));
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
}

TEST_F(StoreTest, UnknownRoleIsRejectedBySchema) {
  TokenStore store(*db);
  auto r = token("tok_x", 5);
  r.role = "superuser";
  auto st = store.insert(r);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Errc::conflict);  // CHECK constraint
}

TEST_F(StoreTest, TokenRevokeAndTouch) {
  TokenStore store(*db);
  ASSERT_TRUE(store.insert(token("tok_r", 4)).has_value());
  ASSERT_TRUE(store.touch("tok_r", 150).has_value());
  auto revoked = store.revoke("tok_r", 200);
  ASSERT_TRUE(revoked.has_value());
  EXPECT_TRUE(*revoked);
  auto again = store.revoke("tok_r", 300);
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(*again);
  auto unknown = store.revoke("tok_unknown", 300);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_FALSE(*unknown);
  reopen();
  TokenStore reopened(*db);
  auto found = reopened.find_by_hash(std::vector<std::uint8_t>(32, 4));
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->last_used_at, std::optional<std::int64_t>(150));
  EXPECT_EQ((*found)->revoked_at, std::optional<std::int64_t>(200)) << "the first revocation time is kept";
}

}  // namespace
}  // namespace comptoir::storage

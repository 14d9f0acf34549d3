// Unit tests of admin API tokens (src/access/tokens.h): shape, authentication, revocation, labels,
// and that only a keyed hash of a token ever reaches the database.
#include "src/access/tokens.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sqlcipher/sqlite3.h>

#include <chrono>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "src/common/encoding.h"
#include "storage/database.h"
#include "storage/token_store.h"
#include "tests/support/temp_dir.h"

namespace comptoir {
[[maybe_unused]] static void PrintTo(Errc code, std::ostream* os) { *os << to_string(code); }
}  // namespace comptoir

namespace comptoir::access {
namespace {

using comptoir::testing::TempDir;

constexpr std::int64_t kStart = 1800000000;

class TokensTest : public ::testing::Test {
 protected:
  TempDir dir;
  SecretBytes db_key = SecretBytes::random(32);
  SecretBytes hash_key = SecretBytes::random(32);
  FakeClock clock{TimePoint(std::chrono::seconds(kStart))};
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<storage::TokenStore> store;
  std::unique_ptr<TokenService> tokens;

  void SetUp() override {
    storage::OpenOptions o;
    o.create = true;
    auto d = storage::Database::open(dir / "comptoir.db", db_key, o);
    ASSERT_TRUE(d.has_value()) << d.error().message;
    db = std::move(*d);
    ASSERT_TRUE(db->migrate().has_value());
    store = std::make_unique<storage::TokenStore>(*db);
    tokens = std::make_unique<TokenService>(*store, hash_key, clock);
  }

  NewToken create(Role role, std::string_view label) {
    auto t = tokens->create(role, label);
    EXPECT_TRUE(t.has_value()) << (t ? "" : t.error().message);
    return t ? std::move(*t) : NewToken{};
  }

  void expect_denied(std::string_view token) {
    auto p = tokens->authenticate(token);
    ASSERT_FALSE(p.has_value()) << "accepted \"" << token << "\"";
    EXPECT_EQ(p.error().code, Errc::unauthorized);
    // One answer for every kind of bad token, so a caller learns nothing from it.
    EXPECT_EQ(p.error().message, "invalid or revoked token");
    EXPECT_EQ(p.error().public_message, "a valid bearer token is required");
  }
};

TEST(Roles, NamesRoundTrip) {
  for (Role r : {Role::owner, Role::operator_, Role::auditor}) {
    Role parsed = Role::owner;
    ASSERT_TRUE(parse_role(to_string(r), parsed));
    EXPECT_EQ(parsed, r);
  }
  EXPECT_EQ(to_string(Role::operator_), "operator");
  Role out = Role::auditor;
  EXPECT_FALSE(parse_role("admin", out));
  EXPECT_FALSE(parse_role("Owner", out));
  EXPECT_FALSE(parse_role("", out));
  EXPECT_EQ(out, Role::auditor);
}

TEST_F(TokensTest, CreatedTokenHasTheDocumentedShape) {
  const std::regex secret_shape("cpt_[A-Za-z0-9_-]{43}");
  const std::regex id_shape("tok_[0-9a-f]{16}");
  std::set<std::string> secrets, ids;
  for (int i = 0; i < 30; ++i) {
    const NewToken t = create(Role::operator_, "shop laptop");
    EXPECT_EQ(t.secret.size(), 47u);
    EXPECT_TRUE(std::regex_match(t.secret, secret_shape)) << t.secret;
    EXPECT_TRUE(std::regex_match(t.info.id, id_shape)) << t.info.id;
    EXPECT_EQ(t.secret.find(t.info.id), std::string::npos);
    EXPECT_EQ(t.info.role, Role::operator_);
    EXPECT_EQ(t.info.label, "shop laptop");
    EXPECT_EQ(t.info.created_at, kStart);
    EXPECT_FALSE(t.info.last_used_at.has_value());
    EXPECT_FALSE(t.info.revoked_at.has_value());
    secrets.insert(t.secret);
    ids.insert(t.info.id);
  }
  EXPECT_EQ(secrets.size(), 30u);
  EXPECT_EQ(ids.size(), 30u);
}

TEST_F(TokensTest, AuthenticateReturnsRoleAndLabel) {
  const NewToken owner = create(Role::owner, "Marie (owner)");
  const NewToken auditor = create(Role::auditor, "DPO");
  auto p = tokens->authenticate(owner.secret);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->token_id, owner.info.id);
  EXPECT_EQ(p->role, Role::owner);
  EXPECT_EQ(p->label, "Marie (owner)");
  auto q = tokens->authenticate(auditor.secret);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->token_id, auditor.info.id);
  EXPECT_EQ(q->role, Role::auditor);
  EXPECT_EQ(q->label, "DPO");
}

TEST_F(TokensTest, WrongTruncatedPrefixlessAndMalformedTokensAreUnauthorized) {
  const NewToken t = create(Role::owner, "x");
  const std::string& s = t.secret;
  const std::string body = s.substr(4);
  std::string wrong = s;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  std::string wrong_first = s;
  wrong_first[4] = wrong_first[4] == 'A' ? 'B' : 'A';
  std::string other_prefix = "cpx_" + body;
  std::string upper_prefix = "CPT_" + body;
  expect_denied(wrong);
  expect_denied(wrong_first);
  expect_denied(s.substr(0, s.size() - 1));
  expect_denied(s.substr(0, 4));
  expect_denied(s + "A");
  expect_denied(body);
  expect_denied(other_prefix);
  expect_denied(upper_prefix);
  expect_denied("");
  expect_denied("cpt_");
  expect_denied("Bearer " + s);
  expect_denied(" " + s);
  expect_denied(std::string(47, '\0'));
  // A token made under another hash key (another data dir) is unknown here.
  SecretBytes other_key = SecretBytes::random(32);
  TokenService other(*store, other_key, clock);
  auto foreign = other.create(Role::owner, "foreign");
  ASSERT_TRUE(foreign.has_value());
  expect_denied(foreign->secret);
  // And the genuine one still works.
  EXPECT_TRUE(tokens->authenticate(s).has_value());
}

TEST_F(TokensTest, RevokedTokenIsUnauthorizedAndRevokeIsIdempotent) {
  const NewToken t = create(Role::operator_, "till");
  const NewToken keep = create(Role::operator_, "kept");
  clock.advance(std::chrono::seconds(90));
  auto r = tokens->revoke(t.info.id);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(*r);
  expect_denied(t.secret);
  auto again = tokens->revoke(t.info.id);
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(*again);
  expect_denied(t.secret);
  EXPECT_TRUE(tokens->authenticate(keep.secret).has_value());

  auto list = tokens->list();
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 2u);
  for (const TokenInfo& info : *list) {
    if (info.id == t.info.id) {
      EXPECT_EQ(info.revoked_at, std::optional<std::int64_t>(kStart + 90));
    } else {
      EXPECT_FALSE(info.revoked_at.has_value());
    }
  }
}

TEST_F(TokensTest, RevokingAnUnknownTokenIsNotFound) {
  create(Role::owner, "x");
  for (const char* id : {"tok_0000000000000000", "", "cpt_whatever"}) {
    auto r = tokens->revoke(id);
    ASSERT_FALSE(r.has_value()) << id;
    EXPECT_EQ(r.error().code, Errc::not_found);
  }
  // A well-formed unknown id is named in the message, to help the operator.
  auto r = tokens->revoke("tok_0123456789abcdef");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("tok_0123456789abcdef"), std::string::npos) << r.error().message;
}

TEST_F(TokensTest, RevokingBySecretDoesNothing) {
  const NewToken t = create(Role::owner, "x");
  auto r = tokens->revoke(t.secret);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(r.error().message.find(t.secret), std::string::npos) << "an error message repeated a secret";
  EXPECT_TRUE(tokens->authenticate(t.secret).has_value());
}

TEST_F(TokensTest, LabelsAreValidated) {
  for (const std::string& bad : {std::string("line\nbreak"), std::string("tab\there"), std::string("nul\0x", 5),
                                 std::string("bell\a"), std::string("del\x7f"), std::string("esc\x1b[31m"),
                                 std::string("\r"), std::string(101, 'a')}) {
    auto t = tokens->create(Role::owner, bad);
    ASSERT_FALSE(t.has_value()) << "accepted label of " << bad.size() << " bytes";
    EXPECT_EQ(t.error().code, Errc::invalid_argument);
    EXPECT_FALSE(validate_label(bad).has_value());
  }
  auto list = tokens->list();
  ASSERT_TRUE(list.has_value());
  EXPECT_TRUE(list->empty()) << "a refused label still created a token";

  for (const std::string& good : {std::string(), std::string(100, 'a'), std::string("Boutique Café — caisse 2"),
                                  std::string("ops@example.org (laptop)")}) {
    auto t = tokens->create(Role::auditor, good);
    ASSERT_TRUE(t.has_value()) << good;
    EXPECT_EQ(t->info.label, good);
    auto p = tokens->authenticate(t->secret);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->label, good);
  }
}

TEST_F(TokensTest, OnlyAKeyedHashIsStored) {
  const NewToken t = create(Role::owner, "hash check");
  auto rec = store->list();
  ASSERT_TRUE(rec.has_value());
  ASSERT_EQ(rec->size(), 1u);
  const std::vector<std::uint8_t>& stored = (*rec)[0].hash;
  ASSERT_EQ(stored.size(), 32u);
  EXPECT_NE(as_chars(stored), t.secret);
  EXPECT_EQ(std::string(as_chars(stored)).find("cpt_"), std::string::npos);

  // Not a plain hash of the token...
  std::vector<std::uint8_t> unkeyed(32);
  crypto_generichash(unkeyed.data(), unkeyed.size(), reinterpret_cast<const unsigned char*>(t.secret.data()),
                     t.secret.size(), nullptr, 0);
  EXPECT_NE(stored, unkeyed);
  // ...but BLAKE2b-256 keyed with the api_tokens key, as documented.
  std::vector<std::uint8_t> keyed(32);
  crypto_generichash(keyed.data(), keyed.size(), reinterpret_cast<const unsigned char*>(t.secret.data()),
                     t.secret.size(), hash_key.data(), hash_key.size());
  EXPECT_EQ(stored, keyed);
}

// Every value of every row of every table, as text and as bytes.
std::string dump_all_rows(storage::Database& db) {
  return db.run([](sqlite3* h) {
    std::string out;
    std::vector<std::string> tables;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &st, nullptr);
    while (sqlite3_step(st) == SQLITE_ROW) tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    for (const std::string& table : tables) {
      sqlite3_stmt* rows = nullptr;
      if (sqlite3_prepare_v2(h, ("SELECT * FROM \"" + table + "\"").c_str(), -1, &rows, nullptr) != SQLITE_OK) continue;
      while (sqlite3_step(rows) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(rows); ++c) {
          const void* blob = sqlite3_column_blob(rows, c);
          const int n = sqlite3_column_bytes(rows, c);
          if (blob != nullptr && n > 0) out.append(static_cast<const char*>(blob), static_cast<std::size_t>(n));
          out.push_back('\x1f');
        }
      }
      sqlite3_finalize(rows);
    }
    return out;
  });
}

TEST_F(TokensTest, TheSecretAppearsNowhereInTheDatabase) {
  std::vector<NewToken> made;
  for (int i = 0; i < 5; ++i) made.push_back(create(Role::operator_, "token " + std::to_string(i)));
  for (const NewToken& t : made) ASSERT_TRUE(tokens->authenticate(t.secret).has_value());

  // In the decrypted rows: neither the token nor its random part.
  const std::string rows = dump_all_rows(*db);
  ASSERT_NE(rows.find("token 3"), std::string::npos) << "the row dump does not see the data";
  for (const NewToken& t : made) {
    EXPECT_EQ(rows.find(t.secret), std::string::npos);
    EXPECT_EQ(rows.find(t.secret.substr(4)), std::string::npos);
    EXPECT_EQ(rows.find(t.secret.substr(4, 16)), std::string::npos);
  }
  // In the files on disk, after a clean close.
  tokens.reset();
  store.reset();
  db.reset();
  std::size_t files = 0;
  for (const auto& [path, bytes] : comptoir::testing::snapshot(dir.path())) {
    ++files;
    for (const NewToken& t : made) {
      EXPECT_EQ(bytes.find(t.secret), std::string::npos) << path;
      EXPECT_EQ(bytes.find(t.secret.substr(4)), std::string::npos) << path;
    }
  }
  EXPECT_GE(files, 1u);
}

TEST_F(TokensTest, ListNeverIncludesSecrets) {
  std::vector<NewToken> made;
  for (int i = 0; i < 3; ++i) {
    made.push_back(create(i == 0 ? Role::owner : Role::operator_, "device " + std::to_string(i)));
    clock.advance(std::chrono::seconds(1));
  }
  auto list = tokens->list();
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const TokenInfo& info = (*list)[i];
    EXPECT_EQ(info.id, made[i].info.id) << "listed in creation order";
    EXPECT_EQ(info.label, "device " + std::to_string(i));
    EXPECT_EQ(info.created_at, kStart + static_cast<std::int64_t>(i));
    for (const NewToken& t : made) {
      EXPECT_EQ(info.id.find(t.secret.substr(4, 8)), std::string::npos);
      EXPECT_EQ(info.label.find(t.secret.substr(4, 8)), std::string::npos);
    }
  }
  EXPECT_EQ((*list)[0].role, Role::owner);
  EXPECT_EQ((*list)[1].role, Role::operator_);
}

TEST_F(TokensTest, LastUseIsRecordedAtMostOncePerMinute) {
  const NewToken t = create(Role::operator_, "x");
  auto last_used = [&]() -> std::optional<std::int64_t> {
    auto list = tokens->list();
    EXPECT_TRUE(list.has_value() && list->size() == 1);
    return list && !list->empty() ? (*list)[0].last_used_at : std::nullopt;
  };
  EXPECT_EQ(last_used(), std::nullopt);
  clock.advance(std::chrono::seconds(10));
  ASSERT_TRUE(tokens->authenticate(t.secret).has_value());
  EXPECT_EQ(last_used(), std::optional<std::int64_t>(kStart + 10));
  clock.advance(std::chrono::seconds(30));
  ASSERT_TRUE(tokens->authenticate(t.secret).has_value());
  EXPECT_EQ(last_used(), std::optional<std::int64_t>(kStart + 10)) << "written again within a minute";
  clock.advance(std::chrono::seconds(31));
  ASSERT_TRUE(tokens->authenticate(t.secret).has_value());
  EXPECT_EQ(last_used(), std::optional<std::int64_t>(kStart + 71));
}

TEST_F(TokensTest, TokensSurviveAReopenWithTheSameKeys) {
  const NewToken t = create(Role::owner, "persist");
  tokens.reset();
  store.reset();
  db.reset();
  storage::OpenOptions o;
  auto d = storage::Database::open(dir / "comptoir.db", db_key, o);
  ASSERT_TRUE(d.has_value());
  db = std::move(*d);
  store = std::make_unique<storage::TokenStore>(*db);
  tokens = std::make_unique<TokenService>(*store, hash_key, clock);
  auto p = tokens->authenticate(t.secret);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->role, Role::owner);
}

}  // namespace
}  // namespace comptoir::access

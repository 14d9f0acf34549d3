// Unit tests of the vault (privacy/vault.h): per-subject keys, sealing bound to a place, tamper
// detection, and crypto-shredding. The subject keys live in a real SQLCipher file in a temp dir.
#include "privacy/vault.h"

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
#include "storage/subject_key_store.h"
#include "tests/support/temp_dir.h"

namespace comptoir {
[[maybe_unused]] static void PrintTo(Errc code, std::ostream* os) { *os << to_string(code); }
}  // namespace comptoir

namespace comptoir::privacy {
namespace {

using comptoir::testing::TempDir;
using Bytes = std::vector<std::uint8_t>;

class VaultTest : public ::testing::Test {
 protected:
  TempDir dir;
  SecretBytes db_key = SecretBytes::random(32);
  SecretBytes wrapping_key = SecretBytes::random(32);
  FakeClock clock{TimePoint(std::chrono::seconds(1800000000))};
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<storage::SubjectKeyStore> store;
  std::unique_ptr<Vault> vault;

  void SetUp() override { open(true); }

  void open(bool create) {
    vault.reset();
    store.reset();
    db.reset();
    storage::OpenOptions o;
    o.create = create;
    auto d = storage::Database::open(dir / "comptoir.db", db_key, o);
    ASSERT_TRUE(d.has_value()) << d.error().message;
    db = std::move(*d);
    ASSERT_TRUE(db->migrate().has_value());
    store = std::make_unique<storage::SubjectKeyStore>(*db);
    vault = std::make_unique<Vault>(*store, wrapping_key, clock);
  }

  std::string new_subject() {
    auto id = vault->create_subject();
    EXPECT_TRUE(id.has_value()) << (id ? "" : id.error().message);
    return id ? *id : std::string();
  }

  Bytes seal(const std::string& subject, const FieldPlace& place, std::string_view text) {
    auto e = vault->seal(subject, place, text);
    EXPECT_TRUE(e.has_value()) << (e ? "" : e.error().message);
    return e ? *e : Bytes();
  }
};

const FieldPlace kPlace{"customers", "phone", "cus_0001"};

void expect_error(const Result<std::string>& r, Errc code) {
  ASSERT_FALSE(r.has_value()) << "opened: " << *r;
  EXPECT_EQ(r.error().code, code) << r.error().message;
}

// --- subjects -----------------------------------------------------------------------------------

TEST_F(VaultTest, SubjectIdsAreUniqueAndShaped) {
  const std::regex shape("sub_[0-9a-f]{32}");
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    const std::string id = new_subject();
    EXPECT_TRUE(std::regex_match(id, shape)) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 200u);
  auto n = store->count();
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 200);
}

TEST_F(VaultTest, SubjectKeyIsStoredOnlyWrapped) {
  const std::string id = new_subject();
  auto row = store->find(id);
  ASSERT_TRUE(row.has_value() && row->has_value());
  const auto& k = **row;
  EXPECT_EQ(k.wrapped_key.size(), Vault::kOverhead + 32);
  EXPECT_EQ(k.wrapped_key[0], 1);
  EXPECT_EQ(k.created_at, 1800000000);
  // The stored bytes are not usable as the data key: a field sealed with the subject's key does
  // not open with any 32-byte window of the stored blob.
  const Bytes env = seal(id, kPlace, "secret");
  const Bytes ad = field_associated_data(id, kPlace);
  for (std::size_t off = 0; off + 32 <= k.wrapped_key.size(); ++off) {
    Bytes out(env.size());
    unsigned long long n = 0;
    EXPECT_NE(crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &n, nullptr, env.data() + 25, env.size() - 25,
                                                         ad.data(), ad.size(), env.data() + 1,
                                                         k.wrapped_key.data() + off),
              0);
  }
}

// --- sealing ------------------------------------------------------------------------------------

TEST_F(VaultTest, SealOpenRoundTrips) {
  const std::string id = new_subject();
  const std::string big(Vault::kMaxPlaintext, 'x');
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  for (const std::string& text : {std::string(), std::string("+33 6 12 34 56 78"),
                                  std::string("Zoë Ødegård — 12 rue de l'Église, 75004 Paris ☕ 北京"), binary, big}) {
    SCOPED_TRACE(text.size());
    const Bytes env = seal(id, kPlace, text);
    EXPECT_EQ(env.size(), text.size() + Vault::kOverhead);
    EXPECT_EQ(env[0], 1) << "envelope version";
    auto back = vault->open(id, kPlace, env);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_TRUE(*back == text);
  }
}

TEST_F(VaultTest, PlaintextTooLargeIsRefused) {
  const std::string id = new_subject();
  auto env = vault->seal(id, kPlace, std::string(Vault::kMaxPlaintext + 1, 'x'));
  ASSERT_FALSE(env.has_value());
  EXPECT_EQ(env.error().code, Errc::invalid_argument);
}

TEST_F(VaultTest, EnvelopesDifferEachTimeAndHideThePlaintext) {
  const std::string id = new_subject();
  const std::string text = "alice@example.org alice@example.org alice@example.org";
  std::set<Bytes> seen;
  for (int i = 0; i < 50; ++i) {
    const Bytes env = seal(id, kPlace, text);
    EXPECT_EQ(as_chars(env).find("alice"), std::string::npos);
    seen.insert(env);
  }
  EXPECT_EQ(seen.size(), 50u) << "a nonce was reused";
  // Distinct nonces specifically.
  std::set<Bytes> nonces;
  for (const Bytes& e : seen) nonces.insert(Bytes(e.begin() + 1, e.begin() + 25));
  EXPECT_EQ(nonces.size(), 50u);
}

TEST_F(VaultTest, EnvelopeOpensOnlyAtItsOwnPlaceAndSubject) {
  const std::string id = new_subject();
  const std::string other_subject = new_subject();
  const Bytes env = seal(id, kPlace, "+33 6 12 34 56 78");
  expect_error(vault->open(id, FieldPlace{"customers", "phone", "cus_0002"}, env), Errc::crypto);
  expect_error(vault->open(id, FieldPlace{"customers", "email", "cus_0001"}, env), Errc::crypto);
  expect_error(vault->open(id, FieldPlace{"orders", "phone", "cus_0001"}, env), Errc::crypto);
  expect_error(vault->open(other_subject, kPlace, env), Errc::crypto);
  // Components cannot be shifted between fields either (the associated data is length-prefixed).
  const FieldPlace a{"ab", "c", "d"};
  const FieldPlace b{"a", "bc", "d"};
  EXPECT_NE(field_associated_data(id, a), field_associated_data(id, b));
  const Bytes env_a = seal(id, a, "x");
  expect_error(vault->open(id, b, env_a), Errc::crypto);
  // And it still opens where it belongs.
  auto ok_open = vault->open(id, kPlace, env);
  ASSERT_TRUE(ok_open.has_value());
  EXPECT_EQ(*ok_open, "+33 6 12 34 56 78");
}

TEST_F(VaultTest, FlippingAnyBitOfTheEnvelopeIsDetected) {
  const std::string id = new_subject();
  const Bytes env = seal(id, kPlace, "Rue de Rivoli 1");
  for (std::size_t i = 0; i < env.size(); ++i) {
    for (std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
      Bytes bad = env;
      bad[i] = static_cast<std::uint8_t>(bad[i] ^ mask);
      auto r = vault->open(id, kPlace, bad);
      ASSERT_FALSE(r.has_value()) << "flipping byte " << i << " went unnoticed";
      EXPECT_EQ(r.error().code, Errc::crypto) << "byte " << i;
    }
  }
}

TEST_F(VaultTest, TruncatedOrExtendedEnvelopesAreRefused) {
  const std::string id = new_subject();
  const Bytes env = seal(id, kPlace, "Rue de Rivoli 1");
  for (std::size_t n = 0; n < env.size(); ++n) {
    SCOPED_TRACE(n);
    expect_error(vault->open(id, kPlace, std::span<const std::uint8_t>(env.data(), n)), Errc::crypto);
  }
  Bytes longer = env;
  longer.push_back(0);
  expect_error(vault->open(id, kPlace, longer), Errc::crypto);
  // An empty-plaintext envelope truncated by one byte, too.
  const Bytes empty_env = seal(id, kPlace, "");
  expect_error(vault->open(id, kPlace, std::span<const std::uint8_t>(empty_env.data(), empty_env.size() - 1)),
               Errc::crypto);
}

TEST_F(VaultTest, EnvelopeOfAnotherVersionIsRefused) {
  const std::string id = new_subject();
  Bytes env = seal(id, kPlace, "x");
  env[0] = 2;
  expect_error(vault->open(id, kPlace, env), Errc::crypto);
}

TEST_F(VaultTest, PlaceComponentsMustNotBeEmpty) {
  const std::string id = new_subject();
  for (const FieldPlace& p : {FieldPlace{"", "c", "r"}, FieldPlace{"t", "", "r"}, FieldPlace{"t", "c", ""}}) {
    auto env = vault->seal(id, p, "x");
    EXPECT_FALSE(env.has_value());
  }
}

TEST_F(VaultTest, UnknownSubjectIsNotFound) {
  const std::string id = new_subject();
  const Bytes env = seal(id, kPlace, "x");
  const std::string unknown = "sub_00000000000000000000000000000000";
  auto s = vault->seal(unknown, kPlace, "x");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Errc::not_found);
  expect_error(vault->open(unknown, kPlace, env), Errc::not_found);
}

TEST_F(VaultTest, EnvelopesSurviveAReopen) {
  const std::string id = new_subject();
  const Bytes env = seal(id, kPlace, "persisted");
  open(false);
  auto back = vault->open(id, kPlace, env);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, "persisted");
}

// --- shredding ----------------------------------------------------------------------------------

TEST_F(VaultTest, ShreddingMakesEveryFieldGoneForGood) {
  const std::string id = new_subject();
  const std::string bystander = new_subject();
  const Bytes env = seal(id, kPlace, "+33 6 12 34 56 78");
  const Bytes bystander_env = seal(bystander, kPlace, "kept");

  auto shredded = vault->shred(id);
  ASSERT_TRUE(shredded.has_value());
  EXPECT_TRUE(*shredded);
  expect_error(vault->open(id, kPlace, env), Errc::gone);
  auto s = vault->seal(id, kPlace, "new data");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Errc::gone);
  // Idempotent.
  auto again = vault->shred(id);
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(*again);
  expect_error(vault->open(id, kPlace, env), Errc::gone);
  // The wrapped key is gone from storage; other subjects are unaffected.
  auto row = store->find(id);
  ASSERT_TRUE(row.has_value());
  EXPECT_FALSE(row->has_value());
  auto b = vault->open(bystander, kPlace, bystander_env);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, "kept");
  // Still gone after a reopen.
  open(false);
  expect_error(vault->open(id, kPlace, env), Errc::gone);
}

// --- the wrapping key ---------------------------------------------------------------------------

TEST_F(VaultTest, AWrappedKeyReadEarlierOpensTheFieldWithoutTheDatabase) {
  const std::string id = new_subject();
  const std::string other = new_subject();
  const Bytes env = seal(id, kPlace, "+33 6 12 34 56 78");
  auto row = store->find(id);
  ASSERT_TRUE(row.has_value() && row->has_value());
  const Bytes wrapped = (*row)->wrapped_key;
  const auto before = vault->unwraps();
  auto opened = vault->open_with_wrapped_key(id, wrapped, kPlace, env);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_EQ(*opened, "+33 6 12 34 56 78");
  EXPECT_EQ(vault->unwraps(), before + 1);
  EXPECT_FALSE(vault->holds_key());
  // Bound like open(): the place, the subject the key was wrapped for, the envelope's bytes.
  expect_error(vault->open_with_wrapped_key(id, wrapped, {"customers", "address", "2"}, env), Errc::crypto);
  expect_error(vault->open_with_wrapped_key(other, wrapped, kPlace, env), Errc::corrupt);
  Bytes altered = env;
  altered.back() ^= 1;
  expect_error(vault->open_with_wrapped_key(id, wrapped, kPlace, altered), Errc::crypto);
  expect_error(vault->open_with_wrapped_key(id, wrapped, kPlace, Bytes(env.begin(), env.begin() + 10)), Errc::crypto);
  // No key (shredded) is gone; a key of the wrong size or altered is corrupt.
  expect_error(vault->open_with_wrapped_key(id, {}, kPlace, env), Errc::gone);
  expect_error(vault->open_with_wrapped_key(id, Bytes(wrapped.begin(), wrapped.end() - 1), kPlace, env), Errc::corrupt);
  Bytes bad_key = wrapped;
  bad_key[30] ^= 0x40;
  expect_error(vault->open_with_wrapped_key(id, bad_key, kPlace, env), Errc::corrupt);
  // The database is not needed: it still opens once the database is closed.
  db->close();
  opened = vault->open_with_wrapped_key(id, wrapped, kPlace, env);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, "+33 6 12 34 56 78");
}

TEST_F(VaultTest, AnotherWrappingKeyCannotOpenSubjectKeys) {
  const std::string id = new_subject();
  const Bytes env = seal(id, kPlace, "x");
  SecretBytes other = SecretBytes::random(32);
  Vault foreign(*store, other, clock);
  expect_error(foreign.open(id, kPlace, env), Errc::corrupt);
  auto s = foreign.seal(id, kPlace, "y");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Errc::corrupt);
}

TEST_F(VaultTest, WrappedKeyMovedToAnotherSubjectDoesNotOpen) {
  const std::string a = new_subject();
  const std::string b = new_subject();
  const Bytes env_a = seal(a, kPlace, "x");
  auto row_a = store->find(a);
  ASSERT_TRUE(row_a.has_value() && row_a->has_value());
  // Put a's wrapped key under b's id (as a tampered row would).
  ASSERT_TRUE(db->transaction([&](sqlite3* h) -> Status {
    const std::string sql = "UPDATE subject_keys SET wrapped_key = x'" + hex_encode((*row_a)->wrapped_key) +
                            "' WHERE subject_id = '" + b + "'";
    char* err = nullptr;
    const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);
    return rc == 0 ? ok() : fail(Errc::internal, "update");
  }).has_value());
  expect_error(vault->open(b, kPlace, env_a), Errc::corrupt);
}

TEST_F(VaultTest, WrappedKeyOfTheWrongSizeIsCorrupt) {
  const std::string id = new_subject();
  const Bytes env = seal(id, kPlace, "x");
  ASSERT_TRUE(db->transaction([&](sqlite3* h) -> Status {
    const std::string sql = "UPDATE subject_keys SET wrapped_key = x'0102' WHERE subject_id = '" + id + "'";
    char* err = nullptr;
    const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);
    return rc == 0 ? ok() : fail(Errc::internal, "update");
  }).has_value());
  expect_error(vault->open(id, kPlace, env), Errc::corrupt);
}

// --- rewrapping (master key rotation) -----------------------------------------------------------

Result<std::int64_t> rewrap(storage::Database& db, storage::SubjectKeyStore& store, const SecretBytes& from,
                            const SecretBytes& to) {
  Result<std::int64_t> n = std::int64_t{0};
  auto st = db.write([&](storage::Tx& tx) -> Status {
    n = rewrap_subject_keys(tx, store, from, to);
    if (!n) return std::unexpected(n.error());
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return n;
}

TEST_F(VaultTest, RewrappingMovesEverySubjectKeyToTheNewWrappingKey) {
  // More subjects than one page of the store's rewrap loop.
  std::vector<std::string> ids;
  std::vector<Bytes> envelopes;
  for (int i = 0; i < 1203; ++i) {
    ids.push_back(new_subject());
    envelopes.push_back(seal(ids.back(), kPlace, "field " + std::to_string(i)));
  }
  const std::string shredded = new_subject();
  const Bytes shredded_env = seal(shredded, kPlace, "gone");
  ASSERT_TRUE(vault->shred(shredded).value());
  std::vector<Bytes> before;
  for (const auto& id : ids) before.push_back((*store->find(id))->wrapped_key);

  const SecretBytes new_wrapping = SecretBytes::random(32);
  auto n = rewrap(*db, *store, wrapping_key, new_wrapping);
  ASSERT_TRUE(n.has_value()) << n.error().message;
  EXPECT_EQ(*n, 1203);

  Vault rewrapped(*store, new_wrapping, clock);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto text = rewrapped.open(ids[i], kPlace, envelopes[i]);
    ASSERT_TRUE(text.has_value()) << i << ": " << text.error().message;
    EXPECT_EQ(*text, "field " + std::to_string(i));
    // A fresh envelope (new nonce), not the old bytes.
    EXPECT_NE((*store->find(ids[i]))->wrapped_key, before[i]);
  }
  // The old wrapping key opens none of them any more; the shredded subject stays gone.
  expect_error(vault->open(ids[0], kPlace, envelopes[0]), Errc::corrupt);
  expect_error(vault->open(ids.back(), kPlace, envelopes.back()), Errc::corrupt);
  expect_error(rewrapped.open(shredded, kPlace, shredded_env), Errc::gone);
}

TEST_F(VaultTest, RewrappingStopsAtAKeyThatDoesNotOpenAndChangesNothing) {
  const std::string a = new_subject();
  const std::string b = new_subject();
  const Bytes env_a = seal(a, kPlace, "a");
  // b's key wrapped under another key (as after tampering).
  {
    SecretBytes stray = SecretBytes::random(32);
    Vault foreign(*store, stray, clock);
    ASSERT_TRUE(db->transaction([&](sqlite3* h) -> Status {
      const std::string sql = "DELETE FROM subject_keys WHERE subject_id = '" + b + "'";
      return sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr) == 0 ? ok() : fail(Errc::internal, "delete");
    }).has_value());
    auto c = foreign.create_subject();
    ASSERT_TRUE(c.has_value());
  }
  const SecretBytes new_wrapping = SecretBytes::random(32);
  auto n = rewrap(*db, *store, wrapping_key, new_wrapping);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.error().code, Errc::corrupt);
  EXPECT_NE(n.error().message.find("sub_"), std::string::npos) << "names the pseudonymous subject";
  // Rolled back: the old wrapping key still opens a's field.
  auto text = vault->open(a, kPlace, env_a);
  ASSERT_TRUE(text.has_value()) << text.error().message;
  EXPECT_EQ(*text, "a");
}

TEST_F(VaultTest, RewrappingAnEmptyStoreIsZero) {
  auto n = rewrap(*db, *store, wrapping_key, SecretBytes::random(32));
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 0);
}

// --- the per-transaction key cache -------------------------------------------------------------

TEST_F(VaultTest, OneTransactionUnwrapsASubjectsKeyOnceAndNeverKeepsItAfterwards) {
  const std::string a = new_subject();
  const std::string b = new_subject();
  const auto before = vault->unwraps();
  Bytes env;
  ASSERT_TRUE(db->write([&](storage::Tx& tx) -> Status {
    env.clear();
    auto sealed = vault->seal(tx, a, kPlace, "first");
    if (!sealed) return std::unexpected(sealed.error());
    env = *sealed;
    auto opened = vault->open(tx, a, kPlace, env);
    EXPECT_TRUE(opened.has_value() && *opened == "first");
    EXPECT_TRUE(vault->seal(tx, a, {"orders", "name", "C-1"}, "second").has_value());
    EXPECT_TRUE(vault->holds_key());
    return ok();
  }).has_value());
  EXPECT_EQ(vault->unwraps(), before + 1) << "one unwrap for three uses of one subject's key";
  EXPECT_FALSE(vault->holds_key()) << "the unwrapped key outlived its transaction";
  // The next transaction unwraps again; another subject in between needs its own key.
  ASSERT_TRUE(db->read([&](storage::Tx& tx) -> Status {
    EXPECT_EQ(vault->open(tx, a, kPlace, env).value_or(""), "first");
    EXPECT_TRUE(vault->seal(tx, b, kPlace, "b").has_value());
    EXPECT_EQ(vault->open(tx, a, kPlace, env).value_or(""), "first");
    return ok();
  }).has_value());
  EXPECT_EQ(vault->unwraps(), before + 4);
  EXPECT_FALSE(vault->holds_key());
  // Also when the transaction fails.
  auto failed = db->write([&](storage::Tx& tx) -> Status {
    EXPECT_TRUE(vault->open(tx, a, kPlace, env).has_value());
    return fail(Errc::conflict, "rolled back");
  });
  EXPECT_FALSE(failed.has_value());
  EXPECT_FALSE(vault->holds_key());
}

TEST_F(VaultTest, ShreddingInTheSameTransactionInvalidatesTheCachedKey) {
  const std::string id = new_subject();
  const Bytes env = seal(id, kPlace, "x");
  ASSERT_TRUE(db->write([&](storage::Tx& tx) -> Status {
    EXPECT_EQ(vault->open(tx, id, kPlace, env).value_or(""), "x");  // the key is now cached
    auto shredded = vault->shred(tx, id);
    EXPECT_TRUE(shredded.has_value() && *shredded);
    EXPECT_FALSE(vault->holds_key());
    expect_error(vault->open(tx, id, kPlace, env), Errc::gone);
    auto s = vault->seal(tx, id, kPlace, "y");
    EXPECT_FALSE(s.has_value());
    if (!s) {
      EXPECT_EQ(s.error().code, Errc::gone);
    }
    return ok();
  }).has_value());
  expect_error(vault->open(id, kPlace, env), Errc::gone);
}

TEST_F(VaultTest, ShreddingBehindTheVaultsBackIsNoticedInTheSameTransaction) {
  const std::string id = new_subject();
  const Bytes env = seal(id, kPlace, "x");
  ASSERT_TRUE(db->write([&](storage::Tx& tx) -> Status {
    EXPECT_EQ(vault->open(tx, id, kPlace, env).value_or(""), "x");
    auto shredded = store->shred(tx, id, 1800000000);  // not through the vault
    EXPECT_TRUE(shredded.has_value() && *shredded);
    expect_error(vault->open(tx, id, kPlace, env), Errc::gone);
    EXPECT_FALSE(vault->seal(tx, id, kPlace, "y").has_value());
    return ok();
  }).has_value());
}

TEST_F(VaultTest, AShredThatIsRolledBackLeavesTheKeyUsable) {
  const std::string id = new_subject();
  const Bytes env = seal(id, kPlace, "x");
  auto st = db->write([&](storage::Tx& tx) -> Status {
    EXPECT_EQ(vault->open(tx, id, kPlace, env).value_or(""), "x");
    EXPECT_TRUE(vault->shred(tx, id).has_value());
    return fail(Errc::conflict, "changed my mind");
  });
  EXPECT_FALSE(st.has_value());
  auto opened = vault->open(id, kPlace, env);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_EQ(*opened, "x");
}

}  // namespace
}  // namespace comptoir::privacy

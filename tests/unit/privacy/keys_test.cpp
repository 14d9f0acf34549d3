// Unit tests of the key hierarchy (privacy/keys.h): sub-key derivation, check values, carried
// keys across a master key rotation, and Argon2id passphrase stretching with its parameter and
// strength checks.
#include "privacy/keys.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "src/common/encoding.h"

namespace comptoir {
[[maybe_unused]] static void PrintTo(Errc code, std::ostream* os) { *os << to_string(code); }
}  // namespace comptoir

namespace comptoir::privacy {
namespace {

SecretBytes counting_master() {
  SecretBytes m(kKeyBytes);
  for (std::size_t i = 0; i < kKeyBytes; ++i) m.data()[i] = static_cast<std::uint8_t>(i);
  return m;
}

std::string hex(const SecretBytes& s) { return hex_encode(s.span()); }

// crypto_kdf_derive_from_key as documented by libsodium (BLAKE2b with the sub-key id as salt and
// the context as personalization), re-implemented here so a change of derivation cannot go
// unnoticed: every stored byte depends on it.
std::string reference_subkey(const SecretBytes& master, std::uint64_t id) {
  std::array<unsigned char, crypto_generichash_blake2b_SALTBYTES> salt{};
  for (std::size_t i = 0; i < 8; ++i) salt[i] = static_cast<unsigned char>(id >> (8 * i));
  std::array<unsigned char, crypto_generichash_blake2b_PERSONALBYTES> personal{};
  std::memcpy(personal.data(), "comptoir", 8);
  std::array<unsigned char, 32> out{};
  crypto_generichash_blake2b_salt_personal(out.data(), out.size(), nullptr, 0, master.data(), master.size(),
                                           salt.data(), personal.data());
  return hex_encode(std::span<const std::uint8_t>(out.data(), out.size()));
}

TEST(KeyRing, SubKeysFollowTheDocumentedDerivation) {
  ensure_sodium();
  const SecretBytes master = counting_master();
  auto ring = KeyRing::from_master(master);
  ASSERT_TRUE(ring.has_value());
  EXPECT_EQ(hex(ring->database()), reference_subkey(master, 1));
  EXPECT_EQ(hex(ring->blind_index()), reference_subkey(master, 2));
  EXPECT_EQ(hex(ring->key_wrapping()), reference_subkey(master, 3));
  EXPECT_EQ(hex(ring->audit_signing_seed()), reference_subkey(master, 4));
  EXPECT_EQ(hex(ring->api_tokens()), reference_subkey(master, 5));
  EXPECT_EQ(hex(derive_subkey(master, KeyPurpose::key_check)), reference_subkey(master, 6));
}

TEST(KeyRing, CheckValueIsAKeyedHashUnderTheKeyCheckSubKey) {
  const SecretBytes master = counting_master();
  auto ring = KeyRing::from_master(master);
  ASSERT_TRUE(ring.has_value());
  const SecretBytes check_key = derive_subkey(master, KeyPurpose::key_check);
  const std::string message = "comptoir key check v1";
  std::array<unsigned char, 16> mac{};
  crypto_generichash(mac.data(), mac.size(), reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                     check_key.data(), check_key.size());
  EXPECT_EQ(ring->check_value(), hex_encode(std::span<const std::uint8_t>(mac.data(), mac.size())));
  EXPECT_EQ(ring->check_value().size(), 32u);
}

TEST(KeyRing, DerivationIsDeterministicPerMaster) {
  const SecretBytes master = generate_master_key();
  const SecretBytes same = SecretBytes::copy_of(master.span());
  auto a = KeyRing::from_master(master);
  auto b = KeyRing::from_master(same);
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(a->database().equals(b->database().span()));
  EXPECT_TRUE(a->blind_index().equals(b->blind_index().span()));
  EXPECT_TRUE(a->key_wrapping().equals(b->key_wrapping().span()));
  EXPECT_TRUE(a->audit_signing_seed().equals(b->audit_signing_seed().span()));
  EXPECT_TRUE(a->api_tokens().equals(b->api_tokens().span()));
  EXPECT_EQ(a->check_value(), b->check_value());
  for (std::uint64_t id = 1; id <= 7; ++id) {
    EXPECT_TRUE(derive_subkey(master, static_cast<KeyPurpose>(id)).equals(
        derive_subkey(same, static_cast<KeyPurpose>(id)).span()));
  }
}

TEST(KeyRing, SubKeysAreDistinctPerPurposeAndFromTheMaster) {
  const SecretBytes master = generate_master_key();
  auto ring = KeyRing::from_master(master);
  ASSERT_TRUE(ring.has_value());
  std::set<std::string> seen = {hex(master)};
  for (const SecretBytes* k : {&ring->database(), &ring->blind_index(), &ring->key_wrapping(),
                               &ring->audit_signing_seed(), &ring->api_tokens()}) {
    EXPECT_EQ(k->size(), kKeyBytes);
    EXPECT_TRUE(seen.insert(hex(*k)).second) << "two purposes share a key";
  }
  for (std::uint64_t id = 1; id <= 7; ++id) {
    const std::string k = hex(derive_subkey(master, static_cast<KeyPurpose>(id)));
    if (id <= 5) {
      EXPECT_TRUE(seen.contains(k)) << id;
    } else {
      EXPECT_TRUE(seen.insert(k).second) << id;
    }
  }
  EXPECT_EQ(ring->check_value().find(hex(master).substr(0, 16)), std::string::npos);
}

TEST(KeyRing, DifferentMastersGiveDifferentKeysAndCheckValues) {
  std::set<std::string> checks;
  std::set<std::string> database_keys;
  for (int i = 0; i < 20; ++i) {
    auto ring = KeyRing::from_master(generate_master_key());
    ASSERT_TRUE(ring.has_value());
    checks.insert(ring->check_value());
    database_keys.insert(hex(ring->database()));
  }
  EXPECT_EQ(checks.size(), 20u);
  EXPECT_EQ(database_keys.size(), 20u);
  // One flipped bit is enough.
  SecretBytes a = generate_master_key();
  SecretBytes b = SecretBytes::copy_of(a.span());
  b.data()[0] ^= 0x80;
  EXPECT_NE(KeyRing::from_master(a)->check_value(), KeyRing::from_master(b)->check_value());
}

TEST(KeyRing, MasterKeyOfTheWrongSizeIsRefused) {
  for (std::size_t n : {std::size_t{0}, std::size_t{16}, std::size_t{31}, std::size_t{33}, std::size_t{64}}) {
    SCOPED_TRACE(n);
    auto ring = KeyRing::from_master(SecretBytes::random(n));
    ASSERT_FALSE(ring.has_value());
    EXPECT_EQ(ring.error().code, Errc::wrong_key);
  }
}

TEST(KeyRing, GeneratedMasterKeysAreRandom) {
  const SecretBytes a = generate_master_key();
  const SecretBytes b = generate_master_key();
  EXPECT_EQ(a.size(), kKeyBytes);
  EXPECT_FALSE(a.equals(b.span()));
}

// --- Argon2id -----------------------------------------------------------------------------------

SecretBytes pass(std::string_view s) { return SecretBytes::copy_of(s); }

TEST(Argon2, ParamsForEachLevelHaveFreshSalts) {
  const auto i = argon2_params(Argon2Level::interactive);
  EXPECT_EQ(i.opslimit, static_cast<std::uint64_t>(crypto_pwhash_OPSLIMIT_INTERACTIVE));
  EXPECT_EQ(i.memlimit, static_cast<std::size_t>(crypto_pwhash_MEMLIMIT_INTERACTIVE));
  EXPECT_EQ(i.salt.size(), static_cast<std::size_t>(crypto_pwhash_SALTBYTES));
  const auto m = argon2_params(Argon2Level::moderate);
  EXPECT_EQ(m.opslimit, static_cast<std::uint64_t>(crypto_pwhash_OPSLIMIT_MODERATE));
  EXPECT_EQ(m.memlimit, static_cast<std::size_t>(crypto_pwhash_MEMLIMIT_MODERATE));
  const auto s = argon2_params(Argon2Level::sensitive);
  EXPECT_EQ(s.opslimit, static_cast<std::uint64_t>(crypto_pwhash_OPSLIMIT_SENSITIVE));
  EXPECT_EQ(s.memlimit, static_cast<std::size_t>(crypto_pwhash_MEMLIMIT_SENSITIVE));
  EXPECT_NE(i.salt, argon2_params(Argon2Level::interactive).salt);
}

TEST(Argon2, SamePassphraseAndParamsGiveTheSameMasterKey) {
  const auto params = argon2_params(Argon2Level::interactive);
  auto a = master_from_passphrase(pass("correct horse battery staple"), params);
  auto b = master_from_passphrase(pass("correct horse battery staple"), params);
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(a->size(), kKeyBytes);
  EXPECT_TRUE(a->equals(b->span()));
  // The passphrase is stretched, not used as the key.
  EXPECT_EQ(hex(*a).find(hex_encode(std::string_view("correct horse"))), std::string::npos);
}

TEST(Argon2, SaltAndPassphraseBothMatter) {
  const auto params = argon2_params(Argon2Level::interactive);
  auto base = master_from_passphrase(pass("correct horse battery staple"), params);
  auto other_pass = master_from_passphrase(pass("correct horse battery stapler"), params);
  auto other_params = params;
  other_params.salt[0] ^= 1;
  auto other_salt = master_from_passphrase(pass("correct horse battery staple"), other_params);
  ASSERT_TRUE(base && other_pass && other_salt);
  EXPECT_FALSE(base->equals(other_pass->span()));
  EXPECT_FALSE(base->equals(other_salt->span()));
}

TEST(Argon2, MatchesLibsodiumArgon2id) {
  const auto params = argon2_params(Argon2Level::interactive);
  const std::string phrase = "a passphrase of several words";
  auto key = master_from_passphrase(pass(phrase), params);
  ASSERT_TRUE(key.has_value());
  std::array<unsigned char, 32> expected{};
  ASSERT_EQ(crypto_pwhash(expected.data(), expected.size(), phrase.data(), phrase.size(), params.salt.data(),
                          params.opslimit, params.memlimit, crypto_pwhash_ALG_ARGON2ID13),
            0);
  EXPECT_TRUE(key->equals(std::span<const std::uint8_t>(expected.data(), expected.size())));
}

TEST(Argon2, RefusesParametersWeakerThanInteractive) {
  const auto good = argon2_params(Argon2Level::interactive);
  auto weak_ops = good;
  weak_ops.opslimit = good.opslimit - 1;
  auto weak_mem = good;
  weak_mem.memlimit = good.memlimit - 1;
  auto zero = good;
  zero.opslimit = 0;
  zero.memlimit = 0;
  auto huge_ops = good;
  huge_ops.opslimit = static_cast<std::uint64_t>(crypto_pwhash_OPSLIMIT_MAX) + 1;
  auto huge_mem = good;
  huge_mem.memlimit = std::size_t{64} << 30;
  for (const Argon2Params* p : {&weak_ops, &weak_mem, &zero, &huge_ops, &huge_mem}) {
    auto key = master_from_passphrase(pass("correct horse battery staple"), *p);
    ASSERT_FALSE(key.has_value());
    EXPECT_EQ(key.error().code, Errc::corrupt);
  }
}

TEST(Argon2, RefusesASaltOfTheWrongLength) {
  for (std::size_t n : {std::size_t{0}, std::size_t{8}, std::size_t{15}, std::size_t{17}, std::size_t{32}}) {
    SCOPED_TRACE(n);
    auto p = argon2_params(Argon2Level::interactive);
    p.salt.resize(n);
    auto key = master_from_passphrase(pass("correct horse battery staple"), p);
    ASSERT_FALSE(key.has_value());
    EXPECT_EQ(key.error().code, Errc::corrupt);
  }
}

TEST(Argon2, RefusesAnEmptyPassphrase) {
  auto key = master_from_passphrase(SecretBytes(), argon2_params(Argon2Level::interactive));
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, Errc::wrong_key);
}

TEST(Argon2, PassphraseStrengthNeedsTwelveCharacters) {
  EXPECT_FALSE(check_passphrase_strength(pass("")).has_value());
  auto short_one = check_passphrase_strength(pass("elevenchars"));
  ASSERT_FALSE(short_one.has_value());
  EXPECT_EQ(short_one.error().code, Errc::config);
  EXPECT_EQ(short_one.error().message.find("elevenchars"), std::string::npos) << "the passphrase leaked";
  EXPECT_TRUE(check_passphrase_strength(pass("twelve chars")).has_value());
  EXPECT_TRUE(check_passphrase_strength(pass("correct horse battery staple")).has_value());
}

// --- rotation and carried keys -------------------------------------------------------------------

TEST(CarriedKeys, PurposeNamesAreStable) {
  EXPECT_EQ(purpose_name(KeyPurpose::database), "database");
  EXPECT_EQ(purpose_name(KeyPurpose::blind_index), "blind_index");
  EXPECT_EQ(purpose_name(KeyPurpose::key_wrapping), "key_wrapping");
  EXPECT_EQ(purpose_name(KeyPurpose::audit_signing), "audit_signing");
  EXPECT_EQ(purpose_name(KeyPurpose::api_tokens), "api_tokens");
  EXPECT_EQ(purpose_name(KeyPurpose::key_check), "key_check");
  EXPECT_EQ(purpose_name(KeyPurpose::webchat_sessions), "webchat_sessions");
  EXPECT_EQ(purpose_name(KeyPurpose::carried_keys), "carried_keys");
}

TEST(CarriedKeys, CheckValueFunctionMatchesTheRing) {
  const SecretBytes master = generate_master_key();
  auto ring = KeyRing::from_master(master);
  ASSERT_TRUE(ring.has_value());
  EXPECT_EQ(key_check_value(master), ring->check_value());
}

TEST(CarriedKeys, RotationRederivesDataAtRestKeysAndCarriesTheOthers) {
  const SecretBytes old_master = generate_master_key();
  const SecretBytes new_master = generate_master_key();
  auto old_ring = KeyRing::from_master(old_master);
  ASSERT_TRUE(old_ring.has_value());
  auto rotated = old_ring->rotate_to(new_master);
  ASSERT_TRUE(rotated.has_value()) << rotated.error().message;
  const KeyRing& r = rotated->ring;
  // Re-derived from the new master.
  EXPECT_EQ(hex(r.database()), hex(derive_subkey(new_master, KeyPurpose::database)));
  EXPECT_EQ(hex(r.key_wrapping()), hex(derive_subkey(new_master, KeyPurpose::key_wrapping)));
  EXPECT_EQ(r.check_value(), key_check_value(new_master));
  EXPECT_NE(hex(r.database()), hex(old_ring->database()));
  EXPECT_NE(hex(r.key_wrapping()), hex(old_ring->key_wrapping()));
  EXPECT_NE(r.check_value(), old_ring->check_value());
  // Carried over unchanged.
  EXPECT_EQ(hex(r.blind_index()), hex(old_ring->blind_index()));
  EXPECT_EQ(hex(r.audit_signing_seed()), hex(old_ring->audit_signing_seed()));
  EXPECT_EQ(hex(r.api_tokens()), hex(old_ring->api_tokens()));
  EXPECT_EQ(hex(r.webchat_sessions()), hex(old_ring->webchat_sessions()));
  // Sealed: one envelope per carried purpose, none containing the key itself.
  ASSERT_EQ(rotated->sealed.size(), kCarriedPurposes.size());
  for (KeyPurpose p : kCarriedPurposes) {
    auto it = rotated->sealed.find(std::string(purpose_name(p)));
    ASSERT_NE(it, rotated->sealed.end()) << purpose_name(p);
    EXPECT_EQ(it->second.size(), 1u + 24u + 32u + 16u);
    EXPECT_EQ(hex_encode(it->second).find(hex(derive_subkey(old_master, p))), std::string::npos);
  }
}

TEST(CarriedKeys, ReopeningWithTheNewMasterGivesTheSameRing) {
  const SecretBytes old_master = generate_master_key();
  const SecretBytes new_master = generate_master_key();
  auto old_ring = KeyRing::from_master(old_master);
  auto rotated = old_ring->rotate_to(new_master);
  ASSERT_TRUE(rotated.has_value());
  auto reopened = KeyRing::from_master(new_master, rotated->sealed);
  ASSERT_TRUE(reopened.has_value()) << reopened.error().message;
  EXPECT_EQ(hex(reopened->database()), hex(rotated->ring.database()));
  EXPECT_EQ(hex(reopened->key_wrapping()), hex(rotated->ring.key_wrapping()));
  EXPECT_EQ(hex(reopened->blind_index()), hex(old_ring->blind_index()));
  EXPECT_EQ(hex(reopened->audit_signing_seed()), hex(old_ring->audit_signing_seed()));
  EXPECT_EQ(hex(reopened->api_tokens()), hex(old_ring->api_tokens()));
  EXPECT_EQ(hex(reopened->webchat_sessions()), hex(old_ring->webchat_sessions()));
  EXPECT_EQ(reopened->check_value(), key_check_value(new_master));
}

TEST(CarriedKeys, SurviveASecondRotation) {
  const SecretBytes m1 = generate_master_key(), m2 = generate_master_key(), m3 = generate_master_key();
  auto r1 = KeyRing::from_master(m1);
  auto r2 = r1->rotate_to(m2);
  ASSERT_TRUE(r2.has_value());
  auto r2_reopened = KeyRing::from_master(m2, r2->sealed);
  ASSERT_TRUE(r2_reopened.has_value());
  auto r3 = r2_reopened->rotate_to(m3);
  ASSERT_TRUE(r3.has_value());
  auto r3_reopened = KeyRing::from_master(m3, r3->sealed);
  ASSERT_TRUE(r3_reopened.has_value());
  EXPECT_EQ(hex(r3_reopened->api_tokens()), hex(r1->api_tokens()));
  EXPECT_EQ(hex(r3_reopened->blind_index()), hex(r1->blind_index()));
  EXPECT_EQ(hex(r3_reopened->database()), hex(derive_subkey(m3, KeyPurpose::database)));
}

TEST(CarriedKeys, DoNotOpenWithAnotherMaster) {
  const SecretBytes old_master = generate_master_key();
  const SecretBytes new_master = generate_master_key();
  auto rotated = KeyRing::from_master(old_master)->rotate_to(new_master);
  ASSERT_TRUE(rotated.has_value());
  for (const SecretBytes* m : {&old_master, static_cast<const SecretBytes*>(nullptr)}) {
    const SecretBytes other = generate_master_key();
    auto r = KeyRing::from_master(m != nullptr ? *m : other, rotated->sealed);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::corrupt);
  }
}

TEST(CarriedKeys, TamperedSwappedMissingOrUnknownEntriesAreRefused) {
  const SecretBytes new_master = generate_master_key();
  auto rotated = KeyRing::from_master(generate_master_key())->rotate_to(new_master);
  ASSERT_TRUE(rotated.has_value());
  const SealedKeys good = rotated->sealed;
  std::vector<SealedKeys> bad;
  {
    SealedKeys s = good;
    s["api_tokens"][30] ^= 1;  // a flipped ciphertext bit
    bad.push_back(s);
  }
  {
    SealedKeys s = good;
    std::swap(s["api_tokens"], s["blind_index"]);  // moved to another purpose
    bad.push_back(s);
  }
  {
    SealedKeys s = good;
    s.erase("webchat_sessions");
    bad.push_back(s);
  }
  {
    SealedKeys s = good;
    s["database"] = good.at("api_tokens");  // a purpose that is never carried
    bad.push_back(s);
  }
  {
    SealedKeys s = good;
    s["audit_signing"].resize(20);
    bad.push_back(s);
  }
  {
    SealedKeys s = good;
    s["audit_signing"][0] = 2;  // unknown envelope version
    bad.push_back(s);
  }
  for (std::size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE(i);
    auto r = KeyRing::from_master(new_master, bad[i]);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::corrupt);
  }
  EXPECT_TRUE(KeyRing::from_master(new_master, good).has_value());
}

TEST(CarriedKeys, EmptySetMeansEverythingDerived) {
  const SecretBytes master = generate_master_key();
  auto a = KeyRing::from_master(master, SealedKeys{});
  auto b = KeyRing::from_master(master);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(hex(a->api_tokens()), hex(b->api_tokens()));
  EXPECT_EQ(hex(a->blind_index()), hex(b->blind_index()));
}

}  // namespace
}  // namespace comptoir::privacy

// Unit tests of the key hierarchy (privacy/keys.h): sub-key derivation, check values, and
// Argon2id passphrase stretching with its parameter and strength checks.
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

}  // namespace
}  // namespace comptoir::privacy

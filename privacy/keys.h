// The key hierarchy. A 32-byte master key (random, kept in a 0600 key file; or stretched from a
// passphrase with Argon2id) yields every working key through crypto_kdf_derive_from_key with the
// context "comptoir" and a fixed id per purpose. Derived keys live in SecretBytes.
// A KeyRing is immutable after construction; share it freely between threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/common/error.h"
#include "src/common/secret.h"

namespace comptoir::privacy {

inline constexpr std::size_t kKeyBytes = 32;

// Sub-key ids. Never renumber: each id is part of the stored data's meaning.
enum class KeyPurpose : std::uint64_t {
  database = 1,      // SQLCipher raw key
  blind_index = 2,   // keyed BLAKE2b of normalized channel addresses
  key_wrapping = 3,  // seals per-subject data keys
  audit_signing = 4, // Ed25519 seed for audit checkpoints and receipts
  api_tokens = 5,    // keyed hash of admin API tokens
  key_check = 6,     // a check value telling "wrong key" from "damaged data"
  webchat_sessions = 7,  // MAC of stateless web chat session tokens
};

class KeyRing {
 public:
  // `master` must be kKeyBytes long.
  static Result<KeyRing> from_master(const SecretBytes& master);

  const SecretBytes& database() const { return database_; }
  const SecretBytes& blind_index() const { return blind_index_; }
  const SecretBytes& key_wrapping() const { return key_wrapping_; }
  const SecretBytes& audit_signing_seed() const { return audit_seed_; }
  const SecretBytes& api_tokens() const { return api_tokens_; }
  const SecretBytes& webchat_sessions() const { return webchat_sessions_; }
  // Hex check value of this master key (safe to store next to the data: it reveals nothing
  // about the key, it only tells whether a later key is the same one).
  const std::string& check_value() const { return check_value_; }

 private:
  KeyRing() = default;
  SecretBytes database_, blind_index_, key_wrapping_, audit_seed_, api_tokens_, webchat_sessions_;
  std::string check_value_;
};

SecretBytes derive_subkey(const SecretBytes& master, KeyPurpose purpose);
SecretBytes generate_master_key();

struct Argon2Params {
  std::uint64_t opslimit = 0;
  std::size_t memlimit = 0;
  std::vector<std::uint8_t> salt;  // crypto_pwhash_SALTBYTES
};

enum class Argon2Level { interactive, moderate, sensitive };
// Fresh parameters with a random salt.
Argon2Params argon2_params(Argon2Level level);
// Refuses parameters weaker than libsodium's INTERACTIVE limits (e.g. edited metadata) and
// passphrases shorter than 12 bytes when `new_passphrase` is set.
Result<SecretBytes> master_from_passphrase(const SecretBytes& passphrase, const Argon2Params& params);
Status check_passphrase_strength(const SecretBytes& passphrase);

}  // namespace comptoir::privacy

// The key hierarchy. A 32-byte master key (random, kept in a 0600 key file; or stretched from a
// passphrase with Argon2id) yields every working key through crypto_kdf_derive_from_key with the
// context "comptoir" and a fixed id per purpose. Derived keys live in SecretBytes.
// After a rotation of the master key (`comptoir rekey`), the keys of the "carried" purposes keep
// their earlier values: they are stored sealed under the new master (SealedKeys, kept in the
// data dir's metadata) instead of being derived from it. See docs/security.md.
// A KeyRing is immutable after construction; share it freely between threads.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
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
  carried_keys = 8,  // seals the carried keys (below) in the data dir's metadata after a rotation
};

// Purposes whose keys keep their value when the master key is rotated, because what they
// protect is bound to something outside the data dir or cannot be recomputed: blind-index hashes
// of addresses that are not kept in the clear, the auditor's public key, hashes of admin tokens
// that are not stored, web chat session tokens held by browsers. The other purposes (database,
// key_wrapping, key_check) are always derived from the current master.
inline constexpr std::array<KeyPurpose, 4> kCarriedPurposes = {
    KeyPurpose::blind_index, KeyPurpose::audit_signing, KeyPurpose::api_tokens, KeyPurpose::webchat_sessions};

// Stable lower-case name of a purpose ("database", "blind_index", …), used in stored data.
std::string_view purpose_name(KeyPurpose purpose);

// Carried keys sealed under a master key: purpose name -> envelope
// (0x01 | nonce (24) | ciphertext (32) | tag (16), XChaCha20-Poly1305 under the master's
// carried_keys sub-key, associated data naming the purpose). Not secret without the master.
using SealedKeys = std::map<std::string, std::vector<std::uint8_t>>;

// Hex check value of a master key (see KeyRing::check_value).
std::string key_check_value(const SecretBytes& master);

class KeyRing {
 public:
  // Every key derived from `master`, which must be kKeyBytes long (Errc::wrong_key otherwise).
  static Result<KeyRing> from_master(const SecretBytes& master);
  // The carried purposes' keys opened from `carried` with `master`; the others derived. An empty
  // `carried` is the same as from_master(master). Errc::corrupt when a carried key is missing,
  // unknown or does not open (tampered metadata, or a master that is not the one they were
  // sealed for: check the check value first).
  static Result<KeyRing> from_master(const SecretBytes& master, const SealedKeys& carried);

  // The ring of `new_master` that keeps this ring's carried keys, and those keys sealed under
  // `new_master` for the metadata. database, key_wrapping and the check value change.
  struct Rotation;
  Result<Rotation> rotate_to(const SecretBytes& new_master) const;

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
  SecretBytes& slot(KeyPurpose purpose);
  const SecretBytes& slot(KeyPurpose purpose) const;
  SecretBytes database_, blind_index_, key_wrapping_, audit_seed_, api_tokens_, webchat_sessions_;
  std::string check_value_;
};

struct KeyRing::Rotation {
  KeyRing ring;
  SealedKeys sealed;
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

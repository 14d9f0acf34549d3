// Vault: per-data-subject keys and the sealing of personal fields (crypto-shredding).
// Each subject gets a random 32-byte data key, stored only wrapped (XChaCha20-Poly1305 under the
// key-wrapping key, bound to the subject id). Every personal field is sealed with the subject's
// key and associated data naming its place (subject, table, column, row), so a ciphertext moved
// to another row, column or person does not open. Shredding deletes the wrapped key: every
// field sealed under it becomes unreadable for good (Errc::gone).
// Thread-safe: all state is in the database.
//
// Envelope format (version 1): 0x01 | nonce (24 bytes) | ciphertext | tag (16 bytes).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/env.h"
#include "src/common/error.h"
#include "src/common/secret.h"
#include "storage/subject_key_store.h"

namespace comptoir::privacy {

// Where a sealed value lives. Components must not be empty.
struct FieldPlace {
  std::string_view table;
  std::string_view column;
  std::string_view row;
};

class Vault {
 public:
  Vault(storage::SubjectKeyStore& store, const SecretBytes& wrapping_key, const Clock& clock);

  // Creates a subject with a fresh data key; returns its pseudonymous id ("sub_" + 32 hex).
  Result<std::string> create_subject();
  Result<std::string> create_subject(storage::Tx& tx);

  // Errc::not_found: unknown subject; Errc::gone: the subject's key was shredded.
  Result<std::vector<std::uint8_t>> seal(const std::string& subject_id, const FieldPlace& place,
                                         std::string_view plaintext);
  Result<std::vector<std::uint8_t>> seal(storage::Tx& tx, const std::string& subject_id,
                                         const FieldPlace& place, std::string_view plaintext);
  // As seal, plus Errc::crypto when the envelope was altered, moved, or sealed for another place.
  Result<std::string> open(const std::string& subject_id, const FieldPlace& place,
                           std::span<const std::uint8_t> envelope);
  Result<std::string> open(storage::Tx& tx, const std::string& subject_id, const FieldPlace& place,
                           std::span<const std::uint8_t> envelope);

  // Destroys the subject's key. Idempotent: returns false when there was no key left.
  Result<bool> shred(const std::string& subject_id);
  Result<bool> shred(storage::Tx& tx, const std::string& subject_id);

  static constexpr std::size_t kOverhead = 1 + 24 + 16;
  static constexpr std::size_t kMaxPlaintext = 1u << 20;

 private:
  Result<SecretBytes> subject_key(storage::Tx& tx, const std::string& subject_id);
  storage::Database& database();

  storage::SubjectKeyStore& store_;
  SecretBytes wrapping_key_;
  const Clock& clock_;
};

// Rewraps every stored subject key from the key-wrapping key `from` to `to`, inside `tx`: each
// data key is opened with `from` (Errc::corrupt naming the pseudonymous subject id when one does
// not open) and sealed again under `to` with a fresh nonce and the same associated data. The data
// keys themselves, and so every sealed field, stay as they are. Returns how many were rewrapped.
// Used by the master key rotation (`comptoir rekey`).
Result<std::int64_t> rewrap_subject_keys(storage::Tx& tx, storage::SubjectKeyStore& store, const SecretBytes& from,
                                         const SecretBytes& to);

// Associated data binding a value to its place; exposed for tests and re-implementers.
std::vector<std::uint8_t> field_associated_data(std::string_view subject_id, const FieldPlace& place);

}  // namespace comptoir::privacy

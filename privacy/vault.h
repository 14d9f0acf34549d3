// Vault: per-data-subject keys and the sealing of personal fields (crypto-shredding).
// Each subject gets a random 32-byte data key, stored only wrapped (XChaCha20-Poly1305 under the
// key-wrapping key, bound to the subject id). Every personal field is sealed with the subject's
// key and associated data naming its place (subject, table, column, row), so a ciphertext moved
// to another row, column or person does not open. Shredding deletes the wrapped key: every
// field sealed under it becomes unreadable for good (Errc::gone).
// Thread-safe: all lasting state is in the database. Within one transaction (one storage::Tx) the
// subject key last unwrapped is kept in guarded memory (sodium_malloc, allocated once) and used
// again for the same subject, so a message that opens and seals several fields of one customer
// unwraps the key once. It is zeroed when the Tx ends and never used in another Tx. The wrapped
// key is still read each time, so a key shredded by any path in the same transaction is never
// used; shred() also forgets it. (Every Tx runs under its database's connection mutex, which
// therefore also guards this cache.)
//
// Envelope format (version 1): 0x01 | nonce (24 bytes) | ciphertext | tag (16 bytes).
#pragma once

#include <atomic>

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

  // As open, with the subject's data key given in its wrapped form as read in an earlier
  // transaction (joined into a query, say), without touching the database: so that a reader can
  // decrypt after giving the connection back. Errc::gone when `wrapped_key` is empty (the key
  // was shredded), Errc::corrupt when it does not unwrap. Safe to call from any thread.
  Result<std::string> open_with_wrapped_key(const std::string& subject_id, std::span<const std::uint8_t> wrapped_key,
                                            const FieldPlace& place, std::span<const std::uint8_t> envelope);

  // Destroys the subject's key. Idempotent: returns false when there was no key left.
  Result<bool> shred(const std::string& subject_id);
  Result<bool> shred(storage::Tx& tx, const std::string& subject_id);

  static constexpr std::size_t kOverhead = 1 + 24 + 16;
  static constexpr std::size_t kMaxPlaintext = 1u << 20;

  // For tests: how many subject keys were unwrapped so far, and whether an unwrapped key is held
  // now (only ever while a transaction is running). Call only while no transaction runs.
  std::uint64_t unwraps() const { return unwraps_.load(); }
  bool holds_key() const { return key_tx_ != nullptr; }

 private:
  // The subject's data key, in the cache above; valid until the next call or the end of `tx`.
  Result<const std::uint8_t*> subject_key(storage::Tx& tx, const std::string& subject_id);
  void forget_key();
  storage::Database& database();

  storage::SubjectKeyStore& store_;
  SecretBytes wrapping_key_;
  const Clock& clock_;
  // The per-transaction key cache (see above).
  SecretBytes key_;                          // 32 bytes, allocated once
  const storage::Tx* key_tx_ = nullptr;      // the Tx it belongs to; nullptr when empty
  std::string key_subject_;
  std::vector<std::uint8_t> key_wrapped_;    // the wrapped form it was unwrapped from
  std::atomic<std::uint64_t> unwraps_{0};
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

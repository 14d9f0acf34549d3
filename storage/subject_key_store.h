// SubjectKeyStore: persistence of per-data-subject keys, stored only wrapped (sealed under the
// key-wrapping key by privacy/vault.h), and of the tombstones left when a key is shredded.
// Thread-safe through Database.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::storage {

struct WrappedSubjectKey {
  std::string subject_id;
  std::vector<std::uint8_t> wrapped_key;
  int wrap_version = 1;
  std::int64_t created_at = 0;
};

class SubjectKeyStore {
 public:
  explicit SubjectKeyStore(Database& db) : db_(db) {}
  // Errc::conflict if the subject exists or was shredded before (ids are never reused).
  Status insert(const WrappedSubjectKey& key);
  Status insert(Tx& tx, const WrappedSubjectKey& key);
  Result<std::optional<WrappedSubjectKey>> find(const std::string& subject_id);
  Result<std::optional<WrappedSubjectKey>> find(Tx& tx, const std::string& subject_id);
  // Deletes the wrapped key (secure_delete overwrites the freed bytes) and records a tombstone,
  // atomically. Returns false if the subject had no key (unknown or already shredded).
  Result<bool> shred(const std::string& subject_id, std::int64_t at);
  Result<bool> shred(Tx& tx, const std::string& subject_id, std::int64_t at);
  Result<bool> is_shredded(const std::string& subject_id);
  Result<bool> is_shredded(Tx& tx, const std::string& subject_id);
  Result<std::int64_t> count();
  // Replaces every wrapped key by `rewrap(row)` (used when the key-wrapping key changes), in
  // pages of a bounded size, inside the caller's transaction; the first error stops it and is
  // returned. Returns the number of keys replaced.
  using Rewrap = std::function<Result<std::vector<std::uint8_t>>(const WrappedSubjectKey&)>;
  Result<std::int64_t> rewrap_all(Tx& tx, const Rewrap& rewrap);
  Database& database() { return db_; }

 private:
  Database& db_;
};

}  // namespace comptoir::storage

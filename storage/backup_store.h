// The SQL behind backups and restores (src/app/backup.h): the tombstones of shredded subject keys
// (the erasure journal inside the database), a few counts for the backup's header and audit
// event, and finding a customer row by its pseudonymous subject id. Free functions on the
// caller's Tx; thread-safety as for every Tx.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::storage {

struct Tombstone {
  std::string subject_id;
  std::int64_t shredded_at = 0;
};

// Every tombstone (shredded_subjects), oldest first.
Result<std::vector<Tombstone>> list_tombstones(Tx& tx);
// Tombstones shredded at or after `since`, oldest first (indexed: migration 9).
Result<std::vector<Tombstone>> tombstones_since(Tx& tx, std::int64_t since);

struct BackupCounts {
  std::int64_t customers = 0;
  std::int64_t orders = 0;
  std::int64_t subject_keys = 0;
  std::int64_t tombstones = 0;
};
Result<BackupCounts> backup_counts(Tx& tx);

// The id of the customer row of `subject_id`, nullopt when there is none.
Result<std::optional<std::int64_t>> customer_of_subject(Tx& tx, const std::string& subject_id);

}  // namespace comptoir::storage

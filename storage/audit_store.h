// AuditStore: the rows of the audit log (audit_events, audit_checkpoints). Append and read only:
// triggers refuse every UPDATE and DELETE. The hashing, signing and verification are
// src/audit's business; here the values are stored exactly as given. Thread-safe through
// Database; the Tx forms run inside the caller's transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::storage {

struct AuditEventRow {
  std::int64_t seq = 0;
  std::string time;
  std::string actor_kind, actor_token_id, actor_role;
  std::string action, resource, subject_ref, purpose, outcome;
  std::string counts_json = "{}";
  std::string details_json = "{}";
  std::vector<std::uint8_t> prev_hash, hash;
};

struct AuditCheckpointRow {
  std::int64_t id = 0;  // order of the checkpoints
  std::int64_t seq = 0;
  std::vector<std::uint8_t> head_hash;
  std::string time;
  std::vector<std::uint8_t> signature;
};

struct AuditHead {
  std::int64_t seq = 0;  // 0: the log is empty
  std::vector<std::uint8_t> hash;
};

class AuditStore {
 public:
  explicit AuditStore(Database& db) : db_(db) {}
  Database& database() { return db_; }

  // The last event's seq and hash as this transaction sees them ({0, {}} when empty).
  Result<AuditHead> head(Tx& tx);
  // Errc::conflict if the seq exists already.
  Status append(Tx& tx, const AuditEventRow& row);
  Status add_checkpoint(Tx& tx, const AuditCheckpointRow& row);
  Result<std::optional<AuditCheckpointRow>> last_checkpoint(Tx& tx);
  // Whether an event with this action and resource exists (uses an index only for
  // action 'key.rotation'; a full scan otherwise).
  Result<bool> has_event(Tx& tx, const std::string& action, const std::string& resource);

  // Up to `limit` events with seq > after, in order.
  Result<std::vector<AuditEventRow>> events_after(Tx& tx, std::int64_t after, int limit);
  // Up to `limit` checkpoints with seq > after (ordered by seq, then id).
  Result<std::vector<AuditCheckpointRow>> checkpoints_after(Tx& tx, std::int64_t after, int limit);

  // Every event with seq <= until and every checkpoint of those events, in export order (each
  // checkpoint right after the event it covers), read in pages so writers are not held up for
  // long. `on_event` / `on_checkpoint` returning an error stops the walk with it.
  Status walk(const std::function<Status(const AuditEventRow&)>& on_event,
              const std::function<Status(const AuditCheckpointRow&)>& on_checkpoint,
              std::int64_t until = INT64_MAX, int page = 4096);

 private:
  Database& db_;
};

}  // namespace comptoir::storage

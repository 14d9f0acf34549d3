// The tamper-evident audit log: the Recorder behind every audit event in `serve` and the CLI.
// Events are appended to audit_events inside the caller's transaction, each hash-chained to the
// one before it; a checkpoint (seq, head hash, time) signed with the audit key is added every N
// events (in the transaction of the N-th), T seconds after the first event this process appended
// that no checkpoint covers yet (checkpoint_if_due(), called by serve's housekeeping; it touches
// the database only then), and at shutdown and export (checkpoint()).
//
// The chain head is not cached: each append reads the last event inside its own transaction.
// A Database::write callback may run twice and a failed write of a group-commit batch is rolled
// back alone, so only the database knows which events committed; other processes (the CLI's
// token commands) append to the same file too. Reading the head under the write lock is exact
// in every case and costs one b-tree descent to the last row.
// Thread-safe (the Database serializes).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "src/audit/chain.h"
#include "src/audit/recorder.h"
#include "src/audit/signing.h"
#include "src/common/env.h"
#include "storage/audit_store.h"

namespace comptoir::audit {

struct LogSettings {
  int checkpoint_every_events = 1000;   // a checkpoint in the transaction of every N-th event
  int checkpoint_every_seconds = 300;   // checkpoint_if_due(): this long after the last one
};

class AuditLog final : public Recorder {
 public:
  AuditLog(storage::Database& db, const Signer& signer, const Clock& clock, LogSettings settings = {});

  // Appends inside `tx` (Errc::invalid_argument for an event that fails validate(); storage
  // errors otherwise — the caller's transaction should then fail too).
  Status record(storage::Tx& tx, const Event& event) override;
  // Appends in a write of its own.
  Status record(const Event& event) override;
  // The same, returning the new event's seq (for callers that report it).
  Result<std::int64_t> append(storage::Tx& tx, const Event& event);

  // Signs a checkpoint at the current head unless the head is already covered (or the log is
  // empty): returns the head's checkpoint either way, nullopt for an empty log.
  Result<std::optional<Checkpoint>> checkpoint();
  // checkpoint() when the first event appended since the last checkpoint (by this process, or
  // found unsigned when the log was constructed) is at least checkpoint_every_seconds old (by the
  // injected clock). Reads nothing from the database otherwise. True when one was made.
  Result<bool> checkpoint_if_due();

  // Whether an event with this action and resource was recorded (deduplication of events that
  // are delivered at least once, e.g. key rotations).
  Result<bool> recorded(const std::string& action, const std::string& resource);

  // Reading (the auditor's API, export, verification). Rows read back are checked for shape
  // (Errc::corrupt) but not verified: use Verifier for that.
  Result<std::vector<Record>> events_after(std::int64_t after, int limit);
  Result<std::vector<Checkpoint>> checkpoints_after(std::int64_t after, int limit);
  // Every event with seq <= until and its checkpoints, in export order.
  Status walk(const std::function<Status(const Record&)>& on_event,
              const std::function<Status(const Checkpoint&)>& on_checkpoint, std::int64_t until = INT64_MAX);

  const Signer& signer() const { return signer_; }
  const LogSettings& settings() const { return settings_; }

 private:
  Result<Checkpoint> checkpoint_in(storage::Tx& tx, std::int64_t seq, const Hash& head);

  void mark_unsigned();

  storage::AuditStore store_;
  const Signer& signer_;
  const Clock& clock_;
  LogSettings settings_;
  // When the oldest event not yet covered by a checkpoint was appended (clock ticks; 0: none
  // known). A hint for checkpoint_if_due(): an append or checkpoint that rolls back leaves it
  // early or late by at most one period, and checkpoint() checks the database itself.
  std::atomic<TimePoint::rep> unsigned_since_{0};
};

// Conversions between the stored rows and the format's values (Errc::corrupt for a row of the
// wrong shape).
Result<Record> record_from_row(const storage::AuditEventRow& row);
Result<Checkpoint> checkpoint_from_row(const storage::AuditCheckpointRow& row);

}  // namespace comptoir::audit

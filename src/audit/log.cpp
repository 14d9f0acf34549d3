#include "src/audit/log.h"

#include <algorithm>

namespace comptoir::audit {

namespace {

bool to_hash(const std::vector<std::uint8_t>& bytes, Hash& out) {
  if (bytes.size() != out.size()) return false;
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return true;
}

}  // namespace

Result<Record> record_from_row(const storage::AuditEventRow& row) {
  Record r;
  r.seq = row.seq;
  r.time = row.time;
  if (row.actor_kind == "system") r.event.actor.kind = Actor::Kind::system;
  else if (row.actor_kind == "token") r.event.actor.kind = Actor::Kind::token;
  else if (row.actor_kind == "data_subject") r.event.actor.kind = Actor::Kind::data_subject;
  else return fail(Errc::corrupt, "audit event " + std::to_string(row.seq) + ": unknown actor kind");
  r.event.actor.token_id = row.actor_token_id;
  r.event.actor.role = row.actor_role;
  r.event.action = row.action;
  r.event.resource = row.resource;
  r.event.subject = row.subject_ref;
  r.event.purpose = row.purpose;
  r.event.outcome = row.outcome;
  if (auto st = parse_counts_details(row.counts_json, row.details_json, r.event); !st) {
    return fail(Errc::corrupt, "audit event " + std::to_string(row.seq) + ": " + st.error().message);
  }
  if (!to_hash(row.prev_hash, r.prev_hash) || !to_hash(row.hash, r.hash)) {
    return fail(Errc::corrupt, "audit event " + std::to_string(row.seq) + ": a hash is not 32 bytes");
  }
  return r;
}

Result<Checkpoint> checkpoint_from_row(const storage::AuditCheckpointRow& row) {
  Checkpoint c;
  c.seq = row.seq;
  c.time = row.time;
  if (!to_hash(row.head_hash, c.head_hash) || row.signature.size() != c.signature.size()) {
    return fail(Errc::corrupt, "audit checkpoint of seq " + std::to_string(row.seq) + ": malformed hash or signature");
  }
  std::copy(row.signature.begin(), row.signature.end(), c.signature.begin());
  return c;
}

AuditLog::AuditLog(storage::Database& db, const Signer& signer, const Clock& clock, LogSettings settings)
    : store_(db), signer_(signer), clock_(clock), settings_(settings) {
  settings_.checkpoint_every_events = std::max(1, settings_.checkpoint_every_events);
  settings_.checkpoint_every_seconds = std::max(1, settings_.checkpoint_every_seconds);
  // Events left unsigned by an earlier run (a crash) are signed a period from now.
  bool unsigned_tail = false;
  (void)store_.database().read([&](storage::Tx& tx) -> Status {
    auto head = store_.head(tx);
    if (!head) return std::unexpected(head.error());
    auto last = store_.last_checkpoint(tx);
    if (!last) return std::unexpected(last.error());
    unsigned_tail = head->seq > (*last ? (*last)->seq : 0);
    return ok();
  });
  if (unsigned_tail) mark_unsigned();
}

void AuditLog::mark_unsigned() {
  TimePoint::rep none = 0;
  unsigned_since_.compare_exchange_strong(none, clock_.now().time_since_epoch().count());
}

Result<Checkpoint> AuditLog::checkpoint_in(storage::Tx& tx, std::int64_t seq, const Hash& head) {
  Checkpoint c = make_checkpoint(signer_, seq, head, format_rfc3339(clock_.now(), true));
  storage::AuditCheckpointRow row;
  row.seq = c.seq;
  row.head_hash.assign(c.head_hash.begin(), c.head_hash.end());
  row.time = c.time;
  row.signature.assign(c.signature.begin(), c.signature.end());
  if (auto st = store_.add_checkpoint(tx, row); !st) return std::unexpected(st.error());
  unsigned_since_ = 0;
  return c;
}

Result<std::int64_t> AuditLog::append(storage::Tx& tx, const Event& event) {
  if (auto st = validate(event); !st) return std::unexpected(st.error());
  auto head = store_.head(tx);
  if (!head) return std::unexpected(head.error());
  Hash prev{};
  if (head->seq > 0 && !to_hash(head->hash, prev)) {
    return fail(Errc::corrupt, "audit event " + std::to_string(head->seq) + ": the stored hash is not 32 bytes");
  }
  const std::int64_t seq = head->seq + 1;
  storage::AuditEventRow row;
  row.seq = seq;
  row.time = format_rfc3339(clock_.now(), true);
  row.actor_kind = std::string(to_string(event.actor.kind));
  row.actor_token_id = event.actor.token_id;
  row.actor_role = event.actor.role;
  row.action = event.action;
  row.resource = event.resource;
  row.subject_ref = event.subject;
  row.purpose = event.purpose;
  row.outcome = event.outcome;
  row.counts_json = counts_json(event);
  row.details_json = details_json(event);
  const Hash hash = event_hash(seq, row.time, event, prev);
  row.prev_hash.assign(prev.begin(), prev.end());
  row.hash.assign(hash.begin(), hash.end());
  if (auto st = store_.append(tx, row); !st) return std::unexpected(st.error());
  mark_unsigned();
  if (seq % settings_.checkpoint_every_events == 0) {
    if (auto c = checkpoint_in(tx, seq, hash); !c) return std::unexpected(c.error());
  }
  return seq;
}

Status AuditLog::record(storage::Tx& tx, const Event& event) {
  auto seq = append(tx, event);
  if (!seq) return std::unexpected(seq.error());
  return ok();
}

Status AuditLog::record(const Event& event) {
  return store_.database().write([&](storage::Tx& tx) { return record(tx, event); });
}

Result<std::optional<Checkpoint>> AuditLog::checkpoint() {
  std::optional<Checkpoint> out;
  auto st = store_.database().write([&](storage::Tx& tx) -> Status {
    out.reset();
    auto head = store_.head(tx);
    if (!head) return std::unexpected(head.error());
    if (head->seq == 0) return ok();
    auto last = store_.last_checkpoint(tx);
    if (!last) return std::unexpected(last.error());
    if (*last && (*last)->seq == head->seq) {
      auto c = checkpoint_from_row(**last);
      if (!c) return std::unexpected(c.error());
      out = *c;
      return ok();
    }
    Hash h{};
    if (!to_hash(head->hash, h)) return fail(Errc::corrupt, "audit event " + std::to_string(head->seq) + ": the stored hash is not 32 bytes");
    auto c = checkpoint_in(tx, head->seq, h);
    if (!c) return std::unexpected(c.error());
    out = *c;
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Result<bool> AuditLog::checkpoint_if_due() {
  const TimePoint::rep since = unsigned_since_.load();
  if (since == 0) return false;
  if (clock_.now() - TimePoint(TimePoint::duration(since)) < std::chrono::seconds(settings_.checkpoint_every_seconds)) {
    return false;
  }
  auto c = checkpoint();
  if (!c) return std::unexpected(c.error());
  unsigned_since_ = 0;  // covered now (or the log is empty)
  return true;
}

Result<bool> AuditLog::recorded(const std::string& action, const std::string& resource) {
  Result<bool> out = false;
  auto st = store_.database().read([&](storage::Tx& tx) -> Status {
    out = store_.has_event(tx, action, resource);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Result<std::vector<Record>> AuditLog::events_after(std::int64_t after, int limit) {
  std::vector<Record> out;
  auto st = store_.database().read([&](storage::Tx& tx) -> Status {
    out.clear();
    auto rows = store_.events_after(tx, after, limit);
    if (!rows) return std::unexpected(rows.error());
    for (const auto& row : *rows) {
      auto r = record_from_row(row);
      if (!r) return std::unexpected(r.error());
      out.push_back(std::move(*r));
    }
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Result<std::vector<Checkpoint>> AuditLog::checkpoints_after(std::int64_t after, int limit) {
  std::vector<Checkpoint> out;
  auto st = store_.database().read([&](storage::Tx& tx) -> Status {
    out.clear();
    auto rows = store_.checkpoints_after(tx, after, limit);
    if (!rows) return std::unexpected(rows.error());
    for (const auto& row : *rows) {
      auto c = checkpoint_from_row(row);
      if (!c) return std::unexpected(c.error());
      out.push_back(*c);
    }
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Status AuditLog::walk(const std::function<Status(const Record&)>& on_event,
                      const std::function<Status(const Checkpoint&)>& on_checkpoint, std::int64_t until) {
  return store_.walk(
      [&](const storage::AuditEventRow& row) -> Status {
        auto r = record_from_row(row);
        if (!r) return std::unexpected(r.error());
        return on_event(*r);
      },
      [&](const storage::AuditCheckpointRow& row) -> Status {
        auto c = checkpoint_from_row(row);
        if (!c) return std::unexpected(c.error());
        return on_checkpoint(*c);
      },
      until);
}

}  // namespace comptoir::audit

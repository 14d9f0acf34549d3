#include "storage/audit_store.h"

#include "storage/sqlite.h"

namespace comptoir::storage {

namespace {

constexpr const char* kEventColumns =
    "seq, time, actor_kind, actor_token_id, actor_role, action, resource, subject_ref, purpose, outcome, counts,"
    " details, prev_hash, hash";
constexpr const char* kCheckpointColumns = "id, seq, head_hash, time, signature";

AuditEventRow read_event(const Stmt& s) {
  AuditEventRow r;
  r.seq = s.int64(0);
  r.time = s.text(1);
  r.actor_kind = s.text(2);
  r.actor_token_id = s.text(3);
  r.actor_role = s.text(4);
  r.action = s.text(5);
  r.resource = s.text(6);
  r.subject_ref = s.text(7);
  r.purpose = s.text(8);
  r.outcome = s.text(9);
  r.counts_json = s.text(10);
  r.details_json = s.text(11);
  r.prev_hash = s.blob(12);
  r.hash = s.blob(13);
  return r;
}

AuditCheckpointRow read_checkpoint(const Stmt& s) {
  AuditCheckpointRow r;
  r.id = s.int64(0);
  r.seq = s.int64(1);
  r.head_hash = s.blob(2);
  r.time = s.text(3);
  r.signature = s.blob(4);
  return r;
}

}  // namespace

Result<AuditHead> AuditStore::head(Tx& tx) {
  Stmt s(tx, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1");
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  AuditHead h;
  if (*row) {
    h.seq = s.int64(0);
    h.hash = s.blob(1);
  }
  return h;
}

Status AuditStore::append(Tx& tx, const AuditEventRow& r) {
  Stmt s(tx,
         "INSERT INTO audit_events (seq, time, actor_kind, actor_token_id, actor_role, action, resource, subject_ref,"
         " purpose, outcome, counts, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  s.bind(1, r.seq).bind(2, r.time).bind(3, r.actor_kind).bind(4, r.actor_token_id).bind(5, r.actor_role);
  s.bind(6, r.action).bind(7, r.resource).bind(8, r.subject_ref).bind(9, r.purpose).bind(10, r.outcome);
  s.bind(11, r.counts_json).bind(12, r.details_json).bind_blob(13, r.prev_hash).bind_blob(14, r.hash);
  return s.run();
}

Status AuditStore::add_checkpoint(Tx& tx, const AuditCheckpointRow& r) {
  Stmt s(tx, "INSERT INTO audit_checkpoints (seq, head_hash, time, signature) VALUES (?,?,?,?)");
  s.bind(1, r.seq).bind_blob(2, r.head_hash).bind(3, r.time).bind_blob(4, r.signature);
  return s.run();
}

Result<std::optional<AuditCheckpointRow>> AuditStore::last_checkpoint(Tx& tx) {
  Stmt s(tx, std::string("SELECT ") + kCheckpointColumns + " FROM audit_checkpoints ORDER BY id DESC LIMIT 1");
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<AuditCheckpointRow>();
  return std::optional<AuditCheckpointRow>(read_checkpoint(s));
}

Result<bool> AuditStore::has_event(Tx& tx, const std::string& action, const std::string& resource) {
  Stmt s(tx, "SELECT 1 FROM audit_events WHERE action = ? AND resource = ? LIMIT 1");
  s.bind(1, action).bind(2, resource);
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  return *row;
}

Result<std::vector<AuditEventRow>> AuditStore::events_after(Tx& tx, std::int64_t after, int limit) {
  std::vector<AuditEventRow> out;
  Stmt s(tx, std::string("SELECT ") + kEventColumns + " FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?");
  s.bind(1, after).bind(2, static_cast<std::int64_t>(limit));
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read_event(s));
  }
  return out;
}

Result<std::vector<AuditCheckpointRow>> AuditStore::checkpoints_after(Tx& tx, std::int64_t after, int limit) {
  std::vector<AuditCheckpointRow> out;
  Stmt s(tx, std::string("SELECT ") + kCheckpointColumns +
                 " FROM audit_checkpoints WHERE seq > ? ORDER BY seq, id LIMIT ?");
  s.bind(1, after).bind(2, static_cast<std::int64_t>(limit));
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read_checkpoint(s));
  }
  return out;
}

Status AuditStore::walk(const std::function<Status(const AuditEventRow&)>& on_event,
                        const std::function<Status(const AuditCheckpointRow&)>& on_checkpoint, std::int64_t until,
                        int page) {
  std::int64_t after = 0;
  for (;;) {
    std::vector<AuditEventRow> events;
    std::vector<AuditCheckpointRow> checkpoints;
    auto st = db_.read([&](Tx& tx) -> Status {
      Stmt e(tx, std::string("SELECT ") + kEventColumns +
                     " FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?");
      e.bind(1, after).bind(2, until).bind(3, static_cast<std::int64_t>(page));
      for (;;) {
        auto row = e.step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        events.push_back(read_event(e));
      }
      if (events.empty()) return ok();
      Stmt c(tx, std::string("SELECT ") + kCheckpointColumns +
                     " FROM audit_checkpoints WHERE seq > ? AND seq <= ? ORDER BY seq, id");
      c.bind(1, after).bind(2, events.back().seq);
      for (;;) {
        auto row = c.step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        checkpoints.push_back(read_checkpoint(c));
      }
      return ok();
    });
    if (!st) return st;
    if (events.empty()) return ok();
    std::size_t next_cp = 0;
    for (const auto& ev : events) {
      if (auto s = on_event(ev); !s) return s;
      while (next_cp < checkpoints.size() && checkpoints[next_cp].seq <= ev.seq) {
        if (auto s = on_checkpoint(checkpoints[next_cp]); !s) return s;
        ++next_cp;
      }
    }
    after = events.back().seq;
  }
}

}  // namespace comptoir::storage

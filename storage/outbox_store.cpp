#include "storage/outbox_store.h"

#include "storage/sqlite.h"

#include <unordered_set>

namespace comptoir::storage {

namespace {

constexpr const char* kColumns =
    "id, customer_id, channel, kind, body_sealed, status, attempts, next_attempt_at, last_error, external_id,"
    " created_at, updated_at, detached_subject";

OutboxRecord read_row(const Stmt& s) {
  OutboxRecord r;
  r.id = s.int64(0);
  if (!s.is_null(1)) r.customer_id = s.int64(1);
  r.channel = s.text(2);
  r.kind = s.text(3);
  if (!s.is_null(4)) r.body_sealed = s.blob(4);
  r.status = s.text(5);
  r.attempts = s.int64(6);
  r.next_attempt_at = s.int64(7);
  r.last_error = s.text(8);
  r.external_id = s.text(9);
  r.created_at = s.int64(10);
  r.updated_at = s.int64(11);
  if (!s.is_null(12)) r.detached_subject = s.text(12);
  return r;
}

// How many of the oldest pending messages one due() reads (see there).
constexpr int kDueWindow = 4096;

constexpr std::int64_t kEarlyStatusSeconds = 24 * 3600;  // how long an unclaimed status waits

int rank(const std::string& status) {
  if (status == "pending") return 0;
  if (status == "sent") return 1;
  if (status == "delivered") return 2;
  if (status == "read") return 3;
  return -1;
}

}  // namespace

Result<bool> OutboxStore::record_inbound(Tx& tx, const std::string& channel, const std::string& external_id,
                                         std::int64_t at) {
  Stmt s(tx, "INSERT OR IGNORE INTO inbound_messages (channel, external_id, received_at) VALUES (?,?,?)");
  s.bind(1, channel).bind(2, external_id).bind(3, at);
  if (auto st = s.run(); !st) return std::unexpected(st.error());
  return sqlite3_changes(tx.handle()) == 1;
}

Result<std::int64_t> OutboxStore::key_recorded_inbound_ids(
    Tx& tx, const std::function<std::string(const std::string& channel, const std::string& id)>& key_of) {
  struct Row {
    std::string channel, id;
    std::int64_t at;
  };
  std::vector<Row> raw;
  {
    Stmt s(tx, "SELECT channel, external_id, received_at FROM inbound_messages WHERE substr(external_id, 1, 2) <> 'h:'");
    for (;;) {
      auto row = s.step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      raw.push_back({s.text(0), s.text(1), s.int64(2)});
    }
  }
  std::int64_t keyed = 0;
  for (const auto& r : raw) {
    const std::string key = key_of(r.channel, r.id);
    if (key.empty()) continue;  // not a channel this version knows: left as it is
    Stmt ins(tx, "INSERT OR IGNORE INTO inbound_messages (channel, external_id, received_at) VALUES (?,?,?)");
    ins.bind(1, r.channel).bind(2, key).bind(3, r.at);
    if (auto st = ins.run(); !st) return std::unexpected(st.error());
    Stmt del(tx, "DELETE FROM inbound_messages WHERE channel = ? AND external_id = ?");
    del.bind(1, r.channel).bind(2, r.id);
    if (auto st = del.run(); !st) return std::unexpected(st.error());
    ++keyed;
  }
  return keyed;
}

Result<std::int64_t> OutboxStore::enqueue(Tx& tx, const OutboxRecord& r) {
  Stmt s(tx,
         "INSERT INTO outbox (customer_id, channel, kind, body_sealed, status, attempts, next_attempt_at, created_at,"
         " updated_at, detached_subject) VALUES (?,?,?,?,'pending',0,?,?,?,?)");
  s.bind(1, r.customer_id).bind(2, r.channel).bind(3, r.kind).bind_blob(4, r.body_sealed).bind(5, r.next_attempt_at)
      .bind(6, r.created_at).bind(7, r.created_at);
  if (r.detached_subject.empty()) s.bind_null(8);
  else s.bind(8, r.detached_subject);
  if (auto st = s.run(); !st) return std::unexpected(st.error());
  return sqlite3_last_insert_rowid(tx.handle());
}

Result<std::vector<OutboxRecord>> OutboxStore::due(Tx& tx, std::int64_t now, int limit) {
  // The oldest pending messages in id order, due or not, and per customer only the first of
  // them. Reading in id order makes a limit safe: every pending message older than one picked is
  // in the same read, so a customer's message is only picked when nothing older of theirs is
  // pending (not even one waiting for a retry). A message without a customer (the last message
  // to an erased customer) waits for nobody.
  std::vector<OutboxRecord> out;
  std::unordered_set<std::int64_t> seen;
  Stmt s(tx, std::string("SELECT ") + kColumns +
                 " FROM outbox INDEXED BY outbox_pending WHERE status = 'pending' ORDER BY id LIMIT ?");
  s.bind(1, std::int64_t{kDueWindow});
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row || out.size() >= static_cast<std::size_t>(limit)) return out;
    const bool has_customer = !s.is_null(1);
    if (has_customer && !seen.insert(s.int64(1)).second) continue;  // an older one of theirs is pending
    if (s.int64(7) > now) continue;                                  // waiting for a retry
    out.push_back(read_row(s));
  }
}

Result<std::vector<DueMessage>> OutboxStore::due_with_keys(Tx& tx, std::int64_t now, int limit) {
  auto due_rows = due(tx, now, limit);
  if (!due_rows) return std::unexpected(due_rows.error());
  std::vector<DueMessage> out;
  out.reserve(due_rows->size());
  for (auto& r : *due_rows) {
    DueMessage m;
    m.record = std::move(r);
    if (m.record.customer_id) {
      Stmt s(tx,
             "SELECT c.subject_id, c.last_inbound_at, k.wrapped_key FROM customers c"
             " LEFT JOIN subject_keys k ON k.subject_id = c.subject_id WHERE c.id = ?");
      s.bind(1, *m.record.customer_id);
      auto row = s.step();
      if (!row) return std::unexpected(row.error());
      if (*row) {
        m.customer_found = true;
        m.subject_id = s.text(0);
        if (!s.is_null(1)) m.last_inbound_at = s.int64(1);
        if (!s.is_null(2)) m.wrapped_key = s.blob(2);
      }
    } else if (!m.record.detached_subject.empty()) {
      m.subject_id = m.record.detached_subject;
      Stmt s(tx, "SELECT wrapped_key FROM subject_keys WHERE subject_id = ?");
      s.bind(1, m.subject_id);
      auto row = s.step();
      if (!row) return std::unexpected(row.error());
      if (*row && !s.is_null(0)) m.wrapped_key = s.blob(0);
    }
    out.push_back(std::move(m));
  }
  return out;
}

Status OutboxStore::mark_sent(Tx& tx, std::int64_t id, const std::string& channel, const std::string& external_id,
                              std::int64_t at) {
  // The body is personal data: drop it as soon as the platform has the message.
  Stmt s(tx,
         "UPDATE OR FAIL outbox SET status = 'sent', body_sealed = NULL, external_id = ?, attempts = attempts + 1,"
         " last_error = NULL, updated_at = ? WHERE id = ? AND status = 'pending'");
  if (external_id.empty()) s.bind_null(1);
  else s.bind(1, external_id);
  s.bind(2, at).bind(3, id);
  if (auto st = s.run(); !st || external_id.empty()) return st;
  // Statuses of this message that arrived before this answer.
  struct Early {
    std::string status, error;
  };
  std::vector<Early> early;
  {
    Stmt q(tx, "SELECT status, error FROM early_statuses WHERE channel = ? AND external_id = ?");
    q.bind(1, channel).bind(2, external_id);
    for (;;) {
      auto row = q.step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      early.push_back({q.text(0), q.text(1)});
    }
  }
  if (early.empty()) return ok();
  for (const auto& e : early) {
    if (auto applied = apply_status(tx, channel, external_id, {.outbox_id = id}, e.status, e.error, at); !applied) {
      return std::unexpected(applied.error());
    }
  }
  Stmt d(tx, "DELETE FROM early_statuses WHERE channel = ? AND external_id = ?");
  d.bind(1, channel).bind(2, external_id);
  return d.run();
}

Status OutboxStore::supersede_pending(Tx& tx, std::int64_t customer_id, const std::string& channel, std::int64_t after_id,
                                      std::int64_t created_until, const std::string& reason, std::int64_t at) {
  Stmt s(tx,
         "UPDATE OR FAIL outbox SET status = 'failed', body_sealed = NULL, last_error = ?, updated_at = ?"
         " WHERE customer_id = ? AND channel = ? AND status = 'pending' AND id > ? AND created_at <= ?");
  s.bind(1, reason).bind(2, at).bind(3, customer_id).bind(4, channel).bind(5, after_id).bind(6, created_until);
  return s.run();
}

Status OutboxStore::remember_early_status(Tx& tx, const std::string& channel, const std::string& external_id,
                                          const std::string& status, const std::string& error, std::int64_t at) {
  Stmt purge(tx, "DELETE FROM early_statuses WHERE received_at < ?");
  purge.bind(1, at - kEarlyStatusSeconds);
  if (auto st = purge.run(); !st) return st;
  Stmt s(tx, "INSERT OR IGNORE INTO early_statuses (channel, external_id, status, error, received_at) VALUES (?,?,?,?,?)");
  s.bind(1, channel).bind(2, external_id).bind(3, status).bind(4, error).bind(5, at);
  return s.run();
}

Status OutboxStore::mark_retry(Tx& tx, std::int64_t id, std::int64_t next_attempt_at, const std::string& error,
                               std::int64_t at) {
  Stmt s(tx,
         "UPDATE OR FAIL outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, updated_at = ?"
         " WHERE id = ? AND status = 'pending'");
  s.bind(1, next_attempt_at).bind(2, error).bind(3, at).bind(4, id);
  return s.run();
}

Status OutboxStore::mark_failed(Tx& tx, std::int64_t id, const std::string& error, std::int64_t at) {
  Stmt s(tx,
         "UPDATE OR FAIL outbox SET status = 'failed', body_sealed = NULL, attempts = attempts + 1, last_error = ?,"
         " updated_at = ? WHERE id = ? AND status = 'pending'");
  s.bind(1, error).bind(2, at).bind(3, id);
  return s.run();
}

Result<bool> OutboxStore::apply_status(Tx& tx, const std::string& channel, const std::string& external_id,
                                       const StatusTarget& target, const std::string& status, const std::string& error,
                                       std::int64_t at) {
  std::optional<std::int64_t> found;
  std::string current;
  if (!external_id.empty() && (target.outbox_id || target.customer_id)) {
    // By the entry's key, checked against the message id (a tracker naming another message is
    // not believed); else among the customer's latest entries, newest first.
    Stmt q(tx, target.outbox_id
                   ? "SELECT id, status FROM outbox WHERE id = ? AND channel = ? AND external_id = ?"
                   : "SELECT id, status FROM (SELECT id, status, external_id FROM outbox WHERE customer_id = ? AND"
                     " channel = ? ORDER BY id DESC LIMIT ?) WHERE external_id = ? LIMIT 1");
    if (target.outbox_id) {
      q.bind(1, *target.outbox_id).bind(2, channel).bind(3, external_id);
    } else {
      q.bind(1, *target.customer_id).bind(2, channel).bind(3, std::int64_t{kStatusLookback}).bind(4, external_id);
    }
    auto row = q.step();
    if (!row) return std::unexpected(row.error());
    if (*row) {
      found = q.int64(0);
      current = q.text(1);
    }
  }
  if (!found) {
    // Not (yet) ours: it may have overtaken the answer to our send, which names the message.
    if (auto st = remember_early_status(tx, channel, external_id, status, error, at); !st) return std::unexpected(st.error());
    return false;
  }
  const std::int64_t id = *found;
  if (current == "failed") return true;  // final
  const bool to_failed = status == "failed";
  if (!to_failed && rank(status) <= rank(current)) return true;  // late or repeated: keep the furthest state
  Stmt u(tx, "UPDATE OR FAIL outbox SET status = ?, last_error = CASE WHEN ? = '' THEN last_error ELSE ? END,"
                      " body_sealed = NULL, updated_at = ? WHERE id = ?");
  u.bind(1, status).bind(2, error).bind(3, error).bind(4, at).bind(5, id);
  if (auto st = u.run(); !st) return std::unexpected(st.error());
  return true;
}

Result<std::vector<OutboxRecord>> OutboxStore::list(const std::optional<std::string>& status, std::int64_t before_id,
                                                    int limit) {
  std::vector<OutboxRecord> out;
  auto st = db_.read([&](Tx& tx) -> Status {
    std::string sql = std::string("SELECT ") + kColumns + " FROM outbox WHERE id < :before";
    // Pending and failed entries have their own (partial) indexes, which SQLite uses only when the
    // status is written into the statement.
    if (status && *status == "pending") sql += " AND status = 'pending'";
    else if (status && *status == "failed") sql += " AND status = 'failed'";
    else if (status) sql += " AND status = :status";
    sql += " ORDER BY id DESC LIMIT :limit";
    Stmt s(tx, sql);
    if (!s.valid()) return std::unexpected(s.prepare_error());
    s.bind(s.index_of(":before"), before_id);
    if (const int i = s.index_of(":status"); i > 0) s.bind(i, *status);
    s.bind(s.index_of(":limit"), std::int64_t{limit});
    for (;;) {
      auto row = s.step();
      if (!row) return std::unexpected(row.error());
      if (!*row) return ok();
      out.push_back(read_row(s));
    }
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Result<OutboxCounts> OutboxStore::counts() {
  OutboxCounts c;
  auto st = db_.read([&](Tx& tx) -> Status {
    Stmt s(tx, "SELECT status, count(*) FROM outbox GROUP BY status");
    for (;;) {
      auto row = s.step();
      if (!row) return std::unexpected(row.error());
      if (!*row) return ok();
      const std::string k = s.text(0);
      const std::int64_t n = s.int64(1);
      if (k == "pending") c.pending = n;
      else if (k == "sent") c.sent = n;
      else if (k == "delivered") c.delivered = n;
      else if (k == "read") c.read = n;
      else if (k == "failed") c.failed = n;
    }
  });
  if (!st) return std::unexpected(st.error());
  return c;
}

Result<std::optional<OutboxRecord>> OutboxStore::by_id(std::int64_t id) {
  std::optional<OutboxRecord> out;
  auto st = db_.read([&](Tx& tx) -> Status {
    Stmt s(tx, std::string("SELECT ") + kColumns + " FROM outbox WHERE id = ?");
    s.bind(1, id);
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (*row) out = read_row(s);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Status OutboxStore::set_last_inbound(Tx& tx, std::int64_t customer_id, std::int64_t at) {
  // Kept to the minute (see the header): a customer chatting does not rewrite their row, one more
  // page for SQLCipher to encrypt, on every message.
  Stmt s(tx,
         "UPDATE OR FAIL customers SET last_inbound_at = ? WHERE id = ? AND (last_inbound_at IS NULL OR last_inbound_at <= ?)");
  s.bind(1, at).bind(2, customer_id).bind(3, at - kLastInboundStep);
  return s.run();
}

}  // namespace comptoir::storage

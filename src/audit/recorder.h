// The audit log's write side as the rest of the code sees it: a Recorder takes events describing
// an action on personal data or a security-relevant event. The tamper-evident log behind it
// (hash chain, signed checkpoints: docs/audit-log.md) is one implementation; tests use
// MemoryRecorder. An event never holds personal data: no names, addresses, phone numbers, chat
// texts, channel addresses or free text typed by a customer — only ids, roles, counts, codes.
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::audit {

// Who acted.
struct Actor {
  enum class Kind { system, token, data_subject };
  Kind kind = Kind::system;
  std::string token_id;  // Kind::token: the admin API token's id (never its secret)
  std::string role;      // Kind::token: "owner" | "operator" | "auditor"

  static Actor system_actor() { return {}; }
  static Actor data_subject() { return {Kind::data_subject, {}, {}}; }
  static Actor token(std::string id, std::string role_name) { return {Kind::token, std::move(id), std::move(role_name)}; }
};

std::string_view to_string(Actor::Kind kind);

struct Event {
  Actor actor;
  std::string action;    // dotted verb, e.g. "customer.read", "request.verified", "retention.run"
  std::string resource;  // what was acted on, e.g. "order:2026-000123", "token:tok_…", "" for none
  std::string subject;   // pseudonymous subject reference (the customer's subject id), "" for none
  std::string purpose;   // purpose or legal basis, e.g. "Art. 15 access", "contract", "security"
  std::string outcome = "success";  // "success" | "failure" | "denied" | another short code
  std::map<std::string, std::int64_t> counts;     // e.g. {"orders": 3}
  std::map<std::string, std::string> details;     // short non-personal facts (config summary, reason codes)
};

class Recorder {
 public:
  virtual ~Recorder() = default;
  // Appends `event` inside the caller's transaction, so the event commits (or rolls back) with the
  // action it records. Like every Database::write callback, this may run more than once.
  virtual Status record(storage::Tx& tx, const Event& event) = 0;
  // Appends `event` in a write of its own (events not tied to a transaction: startup, failed
  // authentication, backups).
  virtual Status record(const Event& event) = 0;
};

// Keeps events in memory (tests). record(Tx&, …) keeps the event even if the Tx rolls back.
class MemoryRecorder final : public Recorder {
 public:
  Status record(storage::Tx& tx, const Event& event) override;
  Status record(const Event& event) override;
  std::vector<Event> events() const;
  // Events whose action equals `action`.
  std::vector<Event> with_action(std::string_view action) const;

 private:
  mutable std::mutex mutex_;
  std::vector<Event> events_;
};

}  // namespace comptoir::audit

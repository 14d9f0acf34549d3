// OutboxStore: the durable outbox of messages owed to customers on push channels, and the
// de-duplication of inbound platform messages. Thread-safe through Database; Tx overloads join
// the caller's transaction (an inbound message, its effects and its replies commit together).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::storage {

struct OutboxRecord {
  std::int64_t id = 0;
  std::optional<std::int64_t> customer_id;
  std::string channel;
  std::string kind = "message";
  std::vector<std::uint8_t> body_sealed;
  std::string status = "pending";
  std::int64_t attempts = 0;
  std::int64_t next_attempt_at = 0;
  std::string last_error;
  std::string external_id;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  // Set (and customer_id empty) for a message to a customer erased since: the subject whose
  // throw-away key seals the body.
  std::string detached_subject;
};

struct OutboxCounts {
  std::int64_t pending = 0, sent = 0, delivered = 0, read = 0, failed = 0;
};

// A message due to be sent, with what sending it needs from its customer's row and subject key,
// read in the same transaction: its body can then be opened after the connection is given back.
struct DueMessage {
  OutboxRecord record;
  bool customer_found = false;            // record.customer_id names a customer that still exists
  std::string subject_id;                 // the customer's, or record.detached_subject
  std::vector<std::uint8_t> wrapped_key;  // that subject's wrapped data key; empty once shredded
  std::optional<std::int64_t> last_inbound_at;  // the customer's, for WhatsApp's 24-hour window
};

class OutboxStore {
 public:
  explicit OutboxStore(Database& db) : db_(db) {}

  // True if (channel, key) was new and is now recorded; false for a duplicate. `key` stands for
  // the platform's message id (privacy::BlindIndex::message_key), never the id itself.
  Result<bool> record_inbound(Tx& tx, const std::string& channel, const std::string& key, std::int64_t at);
  // Rewrites the message ids recorded before they were kept as keys (Comptoir up to session 5
  // stored them as they came) into their keys; returns how many. Run once at start.
  Result<std::int64_t> key_recorded_inbound_ids(
      Tx& tx, const std::function<std::string(const std::string& channel, const std::string& id)>& key_of);

  Result<std::int64_t> enqueue(Tx& tx, const OutboxRecord& r);
  // Pending messages due at `now`, at most one per customer: the oldest pending one, so each
  // customer's messages go out in order.
  Result<std::vector<OutboxRecord>> due(Tx& tx, std::int64_t now, int limit);
  // The same messages, each with its customer's subject, key and last message time.
  Result<std::vector<DueMessage>> due_with_keys(Tx& tx, std::int64_t now, int limit);
  // Also applies the statuses of `external_id` that arrived before this answer (see apply_status).
  Status mark_sent(Tx& tx, std::int64_t id, const std::string& channel, const std::string& external_id, std::int64_t at);
  Status mark_retry(Tx& tx, std::int64_t id, std::int64_t next_attempt_at, const std::string& error, std::int64_t at);
  Status mark_failed(Tx& tx, std::int64_t id, const std::string& error, std::int64_t at);
  // Where to look for the message a status is about. Message ids are not indexed (WhatsApp's are
  // random: an index on them would cost a page write per message sent): a status names its entry
  // by the outbox id we sent along with the message (whatsapp::with_tracker), or failing that it
  // is looked for among its customer's latest kStatusLookback entries.
  struct StatusTarget {
    std::optional<std::int64_t> outbox_id;
    std::optional<std::int64_t> customer_id;
  };
  static constexpr int kStatusLookback = 1000;
  // Applies a platform status (delivered, read, failed) to the message with `external_id`;
  // never moves backwards (sent < delivered < read; failed wins). Returns false if unknown: the
  // status is then kept for a day (table early_statuses) in case it overtook the answer to our
  // send, and applied by mark_sent when that answer is recorded.
  Result<bool> apply_status(Tx& tx, const std::string& channel, const std::string& external_id,
                            const StatusTarget& target, const std::string& status, const std::string& error,
                            std::int64_t at);
  // Fails the customer's other pending messages on `channel` queued after `after_id` and no later
  // than `created_until`, with `reason` (a template sent outside WhatsApp's window stands for them).
  Status supersede_pending(Tx& tx, std::int64_t customer_id, const std::string& channel, std::int64_t after_id,
                           std::int64_t created_until, const std::string& reason, std::int64_t at);
  Result<std::vector<OutboxRecord>> list(const std::optional<std::string>& status, std::int64_t before_id, int limit);
  Result<OutboxCounts> counts();
  Result<std::optional<OutboxRecord>> by_id(std::int64_t id);

  // When the customer last wrote (their message's timestamp), for WhatsApp's 24-hour window. It
  // moves only forward, and only once it is kLastInboundStep seconds behind: the window is then
  // taken to close up to a minute early, never late.
  static constexpr std::int64_t kLastInboundStep = 60;
  Status set_last_inbound(Tx& tx, std::int64_t customer_id, std::int64_t at);

 private:
  Status remember_early_status(Tx& tx, const std::string& channel, const std::string& external_id,
                               const std::string& status, const std::string& error, std::int64_t at);
  Database& db_;
};

}  // namespace comptoir::storage

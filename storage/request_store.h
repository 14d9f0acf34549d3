// RequestStore: data-subject requests (table privacy_requests, migration 8) and restrictions of
// processing (processing_restrictions). Stores only what it is given: the verification code and
// the download token arrive as keyed hashes, rectification values as a sealed envelope.
// Thread-safe through Database; every call joins the caller's Tx.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::storage {

struct RequestRecord {
  std::string id;
  std::string type;     // access | erasure | rectification | restriction | objection
  std::string channel;  // whatsapp | telegram | webchat
  std::string origin;   // web | chat | operator
  std::optional<std::int64_t> customer_id;
  std::string actor;    // "data_subject" | "token:tok_…"
  std::int64_t received_at = 0;
  std::int64_t due_at = 0;
  std::optional<std::int64_t> extended_until;
  std::string extension_reason;
  std::optional<std::int64_t> verified_at, completed_at;
  std::string outcome;
  std::vector<std::uint8_t> code_hash;
  std::optional<std::int64_t> code_expires_at;
  std::int64_t attempts = 0;
  std::optional<std::int64_t> locked_at;
  std::vector<std::uint8_t> changes_sealed;
  std::string receipt;
  std::optional<std::int64_t> export_expires_at, export_used_at, lifted_at;
};

class RequestStore {
 public:
  explicit RequestStore(Database& db) : db_(db) {}

  Status insert(Tx& tx, const RequestRecord& r);
  Result<std::optional<RequestRecord>> by_id(Tx& tx, const std::string& id);
  Result<std::optional<RequestRecord>> by_export_hash(Tx& tx, std::span<const std::uint8_t> hash);
  // Newest first (in the order they were opened), at most `limit`.
  Result<std::vector<RequestRecord>> list(Tx& tx, int limit);

  // One wrong code: attempts + 1, and locked_at = `lock_at` when given.
  Status record_failed_attempt(Tx& tx, const std::string& id, std::optional<std::int64_t> lock_at);
  // The code is used up (cleared) and the request verified.
  Status mark_verified(Tx& tx, const std::string& id, std::int64_t at);
  Status complete(Tx& tx, const std::string& id, std::int64_t at, const std::string& outcome,
                  const std::string& receipt);
  Status clear_changes(Tx& tx, const std::string& id);
  Status set_export(Tx& tx, const std::string& id, std::span<const std::uint8_t> hash, std::int64_t expires_at);
  // Marks the download token used; false when it was already used (a concurrent download).
  Result<bool> use_export(Tx& tx, const std::string& id, std::int64_t at);
  Status extend(Tx& tx, const std::string& id, std::int64_t until, const std::string& reason);
  Status set_lifted(Tx& tx, const std::string& id, std::int64_t at);

  // Restrictions of processing (Art. 18).
  Status restrict(Tx& tx, std::int64_t customer_id, const std::string& request_id, std::int64_t since);
  // Returns whether a restriction was lifted.
  Result<bool> lift(Tx& tx, std::int64_t customer_id);
  Result<bool> restricted(Tx& tx, std::int64_t customer_id);

 private:
  Database& db_;
};

}  // namespace comptoir::storage

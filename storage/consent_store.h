// ConsentStore: the consent ledger (table consent_records, migration 4). Append-only: rows are
// added and read, never changed or deleted (triggers in the schema refuse it, so no other code
// can either). A customer's current marketing state is their latest marketing_given /
// marketing_withdrawn row, by id. Holds no personal data beyond the customer id.
// Thread-safe through Database; the Tx overloads join a caller's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::storage {

struct ConsentRecord {
  std::int64_t id = 0;
  std::optional<std::int64_t> customer_id;  // null once the customer row was deleted
  std::string kind;                         // notice_acknowledged | marketing_given | marketing_withdrawn
  std::string notice_version;               // 64 lower-case hex digits
  std::string language;                     // two letters: the customer's, in which the notice was linked
  std::string channel;                      // whatsapp | telegram | webchat
  std::string order_number;                 // "" when not about an order
  std::int64_t created_at = 0;
};

class ConsentStore {
 public:
  explicit ConsentStore(Database& db) : db_(db) {}

  // Appends one record (its id is ignored) and returns the new id. The schema's checks refuse a
  // malformed kind, version, language or channel (Errc::conflict).
  Result<std::int64_t> append(Tx& tx, const ConsentRecord& r);
  // Every record of the customer, oldest first.
  Result<std::vector<ConsentRecord>> for_customer(Tx& tx, std::int64_t customer_id);
  Result<std::vector<ConsentRecord>> for_customer(std::int64_t customer_id);
  // The customer's latest marketing_given / marketing_withdrawn record, if any.
  Result<std::optional<ConsentRecord>> latest_marketing(Tx& tx, std::int64_t customer_id);
  // Ids of the customers whose latest marketing record is marketing_given, ascending, except
  // customers whose processing is restricted (Art. 18, storage/request_store.h).
  Result<std::vector<std::int64_t>> marketing_audience(Tx& tx);

 private:
  Database& db_;
};

}  // namespace comptoir::storage

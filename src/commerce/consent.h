// ConsentLedger: the domain API over the consent ledger (storage/consent_store.h). Records, per
// customer, that they acknowledged the privacy notice when placing an order, and that they gave
// or withdrew consent to marketing messages; each record names the notice version (a hash of the
// exact notice text served at /privacy in their language), the channel and the time. History is
// kept: nothing is ever changed or removed, and the current marketing state is the latest
// give / withdraw. The default, with no record, is no consent.
// Stateless apart from the database; thread-safe. Tx-taking calls join the caller's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/commerce/customers.h"
#include "src/common/env.h"
#include "src/common/error.h"
#include "storage/consent_store.h"

namespace comptoir::commerce {

enum class ConsentKind { notice_acknowledged, marketing_given, marketing_withdrawn };
std::string_view to_string(ConsentKind kind);
bool parse_consent_kind(std::string_view text, ConsentKind& out);

enum class MarketingState { none, given, withdrawn };  // none: never answered (= no consent)
std::string_view to_string(MarketingState state);

struct ConsentEntry {
  std::int64_t id = 0;
  ConsentKind kind = ConsentKind::notice_acknowledged;
  std::string notice_version;
  std::string language;
  privacy::Channel channel = privacy::Channel::webchat;
  std::string order_number;  // "" unless the record is about an order
  std::int64_t at = 0;       // unix seconds
};

struct MarketingStatus {
  MarketingState state = MarketingState::none;
  std::int64_t since = 0;  // time of the latest give / withdraw (0 for none)
  bool live() const { return state == MarketingState::given; }
};

// True for 64 lower-case hex digits (a SHA-256 or BLAKE2b-256 in hex).
bool valid_notice_version(std::string_view v);

class ConsentLedger {
 public:
  ConsentLedger(storage::Database& db, const Clock& clock);

  // Appends a record for `customer` on their channel, now. Errc::invalid_argument for a malformed
  // notice version or language, or an order number on a marketing record.
  Status record(storage::Tx& tx, const Customer& customer, ConsentKind kind, const std::string& notice_version,
                const std::string& language, const std::string& order_number = "");

  Result<MarketingStatus> marketing(storage::Tx& tx, std::int64_t customer_id);
  // Records marketing_given unless consent is already live. Returns true if a record was added.
  Result<bool> give_marketing(storage::Tx& tx, const Customer& customer, const std::string& notice_version,
                              const std::string& language);
  // Records marketing_withdrawn if consent is live (there is nothing to withdraw otherwise).
  // Returns true if a record was added.
  Result<bool> withdraw_marketing(storage::Tx& tx, const Customer& customer, const std::string& notice_version,
                                  const std::string& language);

  // Oldest first.
  Result<std::vector<ConsentEntry>> history(storage::Tx& tx, std::int64_t customer_id);
  Result<std::vector<ConsentEntry>> history(std::int64_t customer_id);
  // Customers whose latest marketing record is a live consent, by id.
  Result<std::vector<std::int64_t>> marketing_audience(storage::Tx& tx);

  storage::Database& database() { return db_; }

 private:
  storage::Database& db_;
  storage::ConsentStore store_;
  const Clock& clock_;
};

}  // namespace comptoir::commerce

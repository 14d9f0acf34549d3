// CustomerStore: customers (found by the blind index of their channel address; the address itself
// is sealed), their conversation state (sealed) and the messages queued for pull channels.
// Thread-safe through Database; Tx overloads join a caller's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::storage {

struct CustomerRecord {
  std::int64_t id = 0;
  std::string subject_id;
  std::string channel;
  std::string address_index;
  std::vector<std::uint8_t> address_sealed;
  std::string language = "en";
  std::int64_t created_at = 0;
  std::int64_t last_active_at = 0;
};

struct ConversationRecord {
  std::vector<std::uint8_t> state_sealed;
  std::int64_t updated_at = 0;
};

struct ChatMessageRecord {
  std::int64_t id = 0;
  std::int64_t customer_id = 0;
  std::vector<std::uint8_t> body_sealed;
  std::int64_t created_at = 0;
};

class CustomerStore {
 public:
  explicit CustomerStore(Database& db) : db_(db) {}

  Result<std::optional<CustomerRecord>> by_index(Tx& tx, const std::string& address_index);
  Result<std::optional<CustomerRecord>> by_id(Tx& tx, std::int64_t id);
  Result<std::optional<CustomerRecord>> by_id(std::int64_t id);
  // The customer another id of whom has this blind index (customer_aliases).
  Result<std::optional<CustomerRecord>> by_alias(Tx& tx, const std::string& alias_index);
  // Records `alias_index` for the customer unless the index already finds someone (as an address
  // or an alias). Returns whether it was added.
  Result<bool> add_alias(Tx& tx, std::int64_t customer_id, const std::string& alias_index, std::int64_t at);
  // The customer's address changed (WhatsApp "user_changed_number"): a new index and sealed form.
  Status set_address(Tx& tx, std::int64_t id, const std::string& address_index, const std::vector<std::uint8_t>& sealed);
  // Inserts and returns the new id. Errc::conflict if the address index exists.
  Result<std::int64_t> insert(Tx& tx, const CustomerRecord& c);
  Status set_language(Tx& tx, std::int64_t id, const std::string& language);
  Status touch(Tx& tx, std::int64_t id, std::int64_t at);
  // Declared-only data (docs/privacy.md): the platform profile name, the chat transcript.
  Status set_profile_name(Tx& tx, std::int64_t id, const std::vector<std::uint8_t>& sealed);
  Result<std::int64_t> add_transcript(Tx& tx, std::int64_t customer_id, std::string_view direction,
                                      const std::vector<std::uint8_t>& body_sealed, std::int64_t at);

  Result<std::optional<ConversationRecord>> conversation(Tx& tx, std::int64_t customer_id);
  Status save_conversation(Tx& tx, std::int64_t customer_id, const ConversationRecord& c);

  Result<std::int64_t> add_chat_message(Tx& tx, const ChatMessageRecord& m);
  Result<std::vector<ChatMessageRecord>> chat_messages_after(Tx& tx, std::int64_t customer_id, std::int64_t after,
                                                             int limit);

 private:
  Database& db_;
};

}  // namespace comptoir::storage

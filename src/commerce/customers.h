// CustomerDirectory: who is writing to the shop. A customer is one channel address; it gets a
// privacy subject (its own data key) on first contact, the address is stored sealed under that
// key, and found again through its blind index. Thread-safe (state lives in the database); the
// Tx-taking calls join the caller's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "privacy/blind_index.h"
#include "privacy/vault.h"
#include "src/common/env.h"
#include "src/common/error.h"
#include "storage/customer_store.h"

namespace comptoir::commerce {

struct Customer {
  std::int64_t id = 0;
  std::string subject_id;
  privacy::Channel channel = privacy::Channel::webchat;
  std::string language = "en";
  std::int64_t last_active_at = 0;  // the customer's last message, to the minute (Engine)
  bool created = false;  // true when this call created it
  // find_or_create only: the normalized address it was found by, when that is the customer's own
  // (not a second id such as a WhatsApp user id), so address_of() need not open the sealed one.
  // Empty otherwise. Personal data: lives as long as this object, like the caller's copy.
  std::string known_address;
};

inline constexpr std::size_t kMaxProfileNameChars = 128;

class CustomerDirectory {
 public:
  CustomerDirectory(storage::Database& db, privacy::Vault& vault, const privacy::BlindIndex& index,
                    const Clock& clock);

  // Errc::invalid_argument for a malformed address.
  Result<Customer> find_or_create(storage::Tx& tx, privacy::Channel channel, std::string_view address,
                                  std::string_view language);
  // Both find a customer by their address or by another id of theirs recorded with add_alias.
  Result<std::optional<Customer>> find(storage::Tx& tx, privacy::Channel channel, std::string_view address);
  // Records `alias`, another id of the same person on the customer's channel (WhatsApp's
  // business-scoped user id next to the wa_id), as a blind index only, so that a message carrying
  // only that id finds this customer. Nothing happens when the id already finds someone.
  // Errc::invalid_argument for a malformed id.
  Status add_alias(storage::Tx& tx, const Customer& c, std::string_view alias);
  // The customer at `from` now uses `to` (WhatsApp "user_changed_number"): the address is moved,
  // resealed under the customer's key. Returns false (nothing changed) when nobody has `from`,
  // or `to` already belongs to a customer.
  Result<bool> change_address(storage::Tx& tx, privacy::Channel channel, std::string_view from, std::string_view to);
  Result<std::optional<Customer>> by_id(storage::Tx& tx, std::int64_t id);
  // The customer's channel address, opened from its sealed form (to send them a message).
  Result<std::string> address_of(storage::Tx& tx, const Customer& c);
  Status set_language(storage::Tx& tx, std::int64_t id, const std::string& language);
  Status touch(storage::Tx& tx, std::int64_t id);
  // Declared-only data (the data inventory decides; callers check it). The profile name is
  // cleaned (control characters dropped, at most kMaxProfileNameChars) and sealed; an empty or
  // invalid one is ignored. Transcript lines are sealed, one row each.
  Status set_profile_name(storage::Tx& tx, const Customer& c, std::string_view name);
  Status add_transcript(storage::Tx& tx, const Customer& c, std::string_view direction, std::string_view text);

  privacy::Vault& vault() { return vault_; }
  const privacy::BlindIndex& index() const { return index_; }

 private:
  storage::CustomerStore store_;
  privacy::Vault& vault_;
  const privacy::BlindIndex& index_;
  const Clock& clock_;
};

}  // namespace comptoir::commerce

// Inbox: messages the shop sends on its own (order status news) to customers of pull channels
// (the web chat fetches them with GET /webchat/v1/messages?after=N). Bodies are sealed under the
// customer's key. Push channels (WhatsApp, Telegram) get their own delivery path.
// Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/chat/engine.h"
#include "src/commerce/customers.h"
#include "storage/customer_store.h"

namespace comptoir::chat {

struct InboxMessage {
  std::int64_t id = 0;
  std::int64_t created_at = 0;
  Reply reply;
};

class Inbox {
 public:
  Inbox(storage::Database& db, commerce::CustomerDirectory& customers, const Clock& clock);

  // Queues `reply` for `customer` inside the caller's transaction.
  Status deliver(storage::Tx& tx, const commerce::Customer& customer, const Reply& reply);
  // Messages for the customer at `address` with an id above `after` (oldest first, at most
  // `limit`). An address we have never seen has no messages.
  Result<std::vector<InboxMessage>> fetch(privacy::Channel channel, const std::string& address, std::int64_t after,
                                          int limit);

 private:
  storage::Database& db_;
  commerce::CustomerDirectory& customers_;
  storage::CustomerStore store_;
  const Clock& clock_;
};

}  // namespace comptoir::chat

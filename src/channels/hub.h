// ChannelHub: inbound traffic from WhatsApp and Telegram. Each platform message is handled in
// one transaction that records its id (so a retried webhook is processed once), runs the
// conversation engine and queues the replies in the outbox; the webhook is answered 200 only
// after every message of it is committed. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "src/channels/outbox.h"
#include "src/chat/engine.h"
#include "src/common/env.h"
#include "src/common/error.h"

namespace comptoir::channels {

struct WebhookResult {
  int processed = 0;   // new messages handled
  int duplicates = 0;  // already seen, ignored
  int statuses = 0;    // delivery statuses applied
  int skipped = 0;     // malformed or not for us: logged and acknowledged
  int stale = 0;       // older than WhatsAppSettings::max_message_age_seconds: recorded, not acted upon
};

class ChannelHub {
 public:
  ChannelHub(storage::Database& db, chat::Engine& engine, Outbox& outbox, const WhatsAppSettings& whatsapp,
             const TelegramSettings& telegram, const Clock& clock);

  const WhatsAppSettings& whatsapp() const { return whatsapp_; }
  const TelegramSettings& telegram() const { return telegram_; }

  // GET handshake: returns true when mode is "subscribe" and the token matches (constant time).
  bool whatsapp_verify(std::string_view mode, std::string_view token) const;
  bool whatsapp_signature_ok(std::string_view body, std::string_view header) const;
  // Errc::invalid_argument for a body that is not a WhatsApp notification (→ 400); other errors
  // are internal (→ 500, Meta retries, nothing was acknowledged).
  Result<WebhookResult> whatsapp_webhook(std::string_view body);

  bool telegram_secret_ok(std::string_view header) const;
  Result<WebhookResult> telegram_update(std::string_view body);

  // Message ids are remembered by key, never as they came (storage::OutboxStore::record_inbound);
  // rewrites those recorded by an older Comptoir. Run at start, before webhooks are served.
  Result<std::int64_t> key_recorded_inbound_ids();

 private:
  storage::Database& db_;
  chat::Engine& engine_;
  Outbox& outbox_;
  const WhatsAppSettings& whatsapp_;
  const TelegramSettings& telegram_;
  const Clock& clock_;
  storage::OutboxStore store_;
};

}  // namespace comptoir::channels

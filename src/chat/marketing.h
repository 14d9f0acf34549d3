// Marketing: sends a shop's news or offer to every customer whose latest marketing record in the
// consent ledger is a live consent, and to nobody else. Each customer gets the text in their
// language (else the shop's default language), followed by the catalog's note on how to stop
// such messages and the option to do so (Engine::marketing_message). Delivery goes the way
// status notices go, through the `deliver` function the app wires: the web chat inbox for the
// web chat, the channels' outbox for WhatsApp and Telegram (whose template rule applies outside
// WhatsApp's 24-hour window). The consent check and every queued message commit in one
// transaction. Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>

#include "src/chat/engine.h"
#include "src/commerce/consent.h"
#include "src/commerce/customers.h"
#include "src/common/error.h"

namespace comptoir::chat {

class Marketing {
 public:
  // Queues `reply` for `customer` inside the caller's transaction.
  using Deliver = std::function<Status(storage::Tx&, const commerce::Customer&, const Reply&)>;

  // `after_commit` (optional) runs once the messages are committed (e.g. wakes the outbox).
  Marketing(storage::Database& db, commerce::CustomerDirectory& customers, Engine& engine, Deliver deliver,
            std::function<void()> after_commit = {});

  static constexpr std::size_t kMaxTextChars = 1000;

  // Errc::invalid_argument (with a public message) unless `text` maps supported languages to
  // texts of 1–1000 characters (valid UTF-8, no control characters but line breaks) and has one
  // for the default language. Returns how many customers a message was queued for.
  // `also`, when given, runs at the end of the same transaction with the number queued (the
  // audit event of the send).
  Result<int> queue(const std::map<std::string, std::string>& text,
                    const std::function<Status(storage::Tx&, int queued)>& also = {});
  Status validate(const std::map<std::string, std::string>& text) const;

 private:
  storage::Database& db_;
  commerce::CustomerDirectory& customers_;
  Engine& engine_;
  Deliver deliver_;
  std::function<void()> after_commit_;
};

}  // namespace comptoir::chat

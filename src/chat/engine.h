// The conversation engine: channel-agnostic chat commerce. One inbound message (typed text or a
// tapped option) from one channel address becomes a list of replies, each a text with options
// (stable ids and short titles) that a channel renders as buttons, lists or numbered lines.
// Every message is handled in one database transaction: the customer, their cart, their
// conversation state (sealed under their key) and any order change commit together or not at
// all, and messages are applied strictly one after another.
// Thread-safe: call handle() from any number of threads.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "privacy/blind_index.h"
#include "src/chat/messages.h"
#include "src/commerce/consent.h"
#include "src/commerce/customers.h"
#include "src/commerce/shop.h"
#include "src/common/env.h"
#include "src/common/error.h"

namespace comptoir::chat {

struct Option {
  std::string id;
  std::string title;
  std::string description;  // optional, short
};

struct Reply {
  std::string text;
  std::vector<Option> options;
};

struct OrderLine {
  std::string sku;
  std::int64_t quantity = 0;
};

// Exactly one of text, option, order, location or unsupported is given.
struct Inbound {
  privacy::Channel channel = privacy::Channel::webchat;
  std::string address;  // wa_id, Telegram chat id, or web chat session id
  std::string alias;    // another id of the same customer on the channel (WhatsApp's BSUID next to a wa_id)
  std::string text;     // what the customer typed (empty if an option was tapped)
  std::string option;   // the id of a tapped option (empty if text was typed)
  std::vector<OrderLine> order;  // a cart sent from the platform's catalog (WhatsApp "order")
  std::string location;          // a shared location, as text (used where an address is asked)
  bool unsupported = false;      // a kind of message we do not read (photo, voice, …)
  // The platform's profile name, set by a channel only when the data inventory declares the
  // "platform_profile" category collected; stored sealed, never logged.
  std::string profile_name;
};

struct EngineSettings {
  std::string shop_name = "our shop";
  std::string public_url = "http://127.0.0.1:8080";  // links (privacy notice) start here
  int page_size = 8;
  std::chrono::minutes inactivity{30};  // a conversation older than this starts again at the menu
  // From the data inventory: what may be kept beyond what the conversation needs.
  bool keep_profile_name = false;  // "platform_profile" collected
  bool keep_transcript = false;    // "chat_transcript" collected
  // The version of the privacy notice a customer writing in `language` is shown (a link to
  // /privacy?lang=<language>): 64 lower-case hex digits, the hash of exactly what that page serves
  // (privacy/notice.h). Recorded in the consent ledger when an order is placed and when
  // marketing consent is given or withdrawn. Required: without it those steps fail (Errc::internal).
  std::function<std::string(const std::string& language)> notice_version;
};

// A data-subject request made in the chat (the chat itself proves who is writing), carried out
// by the rights service the app wires in (rights::RequestService::execute_in_chat).
struct RightsOutcome {
  std::string code;         // exported | erased | nothing_held | restricted | objected
  std::string export_path;  // access: "/privacy/v1/exports/…" (one-time)
  int export_minutes = 0;
};
using RightsHandler =
    std::function<Result<RightsOutcome>(storage::Tx&, const commerce::Customer&, const std::string& type)>;

// Limits on what a customer may send: 4096 characters (at most 4 bytes each in UTF-8).
inline constexpr std::size_t kMaxTextChars = 4096;
inline constexpr std::size_t kMaxTextBytes = 4 * kMaxTextChars;
inline constexpr std::size_t kMaxOptionBytes = 128;

class Engine {
 public:
  Engine(storage::Database& db, commerce::CustomerDirectory& customers, commerce::Shop& shop,
         const Messages& messages, EngineSettings settings, const Clock& clock);

  // Errc::invalid_argument for malformed input (empty or oversized text, a malformed option id,
  // an invalid address); the state is then unchanged. Unknown but well-formed input gets a
  // polite reply and the current options.
  Result<std::vector<Reply>> handle(const Inbound& in);

  struct Handled {
    commerce::Customer customer;
    std::vector<Reply> replies;
    // The customer asked for and got the erasure of their data in this message: they and their
    // key are gone, so the replies must reach them without them (Outbox::enqueue_detached).
    bool erased = false;
  };
  // The same inside the caller's transaction, so a channel can record the inbound message and
  // queue the replies in the same commit.
  Result<Handled> handle(storage::Tx& tx, const Inbound& in);

  // The text telling a customer about their order's new status, in their language.
  Reply status_notice(const storage::OrderRecord& order, const std::string& language) const;
  // A marketing message as a customer writing in `language` gets it: the shop's `text`, then the
  // catalog's note on how to stop such messages, with the options "Stop news & offers" and
  // "Main menu" (in `language`).
  Reply marketing_message(const std::string& text, const std::string& language) const;
  // The consent ledger the engine records notice acknowledgements and marketing choices in.
  commerce::ConsentLedger& consent() { return consent_; }
  commerce::CustomerDirectory& customers() { return customers_; }

  const Messages& messages() const { return messages_; }
  const EngineSettings& settings() const { return settings_; }
  std::string privacy_url(const std::string& language) const;
  // Before serving starts only (not thread-safe): requests about one's data from the chat
  // ("my data", "delete my data", the privacy menu). Without it the chat offers none.
  void set_rights_handler(RightsHandler handler) { rights_ = std::move(handler); }
  // Before serving starts only (not thread-safe): the base URL once the port is known.
  void set_public_url(std::string url) { settings_.public_url = std::move(url); }

 private:
  friend class Turn;
  storage::Database& db_;
  commerce::CustomerDirectory& customers_;
  commerce::Shop& shop_;
  const Messages& messages_;
  EngineSettings settings_;
  const Clock& clock_;
  commerce::ConsentLedger consent_;
  RightsHandler rights_;
};

// Validates the shape of inbound input (used by channels before calling handle()).
Status validate_inbound(const Inbound& in);

}  // namespace comptoir::chat

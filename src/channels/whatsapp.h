// WhatsApp Cloud API, spoken as documented: webhook signature (X-Hub-Signature-256, HMAC-SHA256
// of the raw body with the app secret), the notification envelope (entry → changes → value →
// messages / statuses), and the outbound message bodies (text, reply buttons, lists).
// Pure functions over bytes and plain structs; thread-safe. nlohmann/json stays inside.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/chat/engine.h"
#include "src/common/error.h"
#include "src/common/secret.h"

namespace comptoir::channels::whatsapp {

// "sha256=<64 lowercase hex>" over exactly `body`, compared in constant time. False for a
// missing, malformed or wrong header.
bool signature_valid(std::string_view body, std::string_view header, const SecretBytes& app_secret);
// The header value for `body` (used by tests, the benchmark and the stand-in servers).
std::string sign(std::string_view body, const SecretBytes& app_secret);

struct OrderItem {
  std::string sku;       // product_retailer_id
  std::int64_t quantity = 0;
};

struct Message {
  std::string id;               // wamid
  std::string from;             // wa_id, or the business-scoped user id when wa_id is absent
  std::string user_id;          // the business-scoped user id (BSUID) when it comes with a wa_id
  std::int64_t timestamp = 0;   // Unix seconds, as sent
  std::string phone_number_id;  // which of our numbers it was sent to
  std::string type;             // text, interactive, button, order, location, or anything else
  std::string text;             // text body; button text
  std::string option;           // interactive reply id, or a template button payload
  std::vector<OrderItem> order;
  std::string location;         // a readable location (address / name / "lat, lon")
  std::string profile_name;     // contacts[].profile.name, only when ParseOptions asks for it
  std::string new_wa_id;        // type "system", system.type "user_changed_number": the new number
};

struct Status {
  std::string id;          // wamid of our outbound message
  std::string status;      // sent | delivered | read | failed
  std::string phone_number_id;
  std::int64_t timestamp = 0;
  std::string error;       // "131047 Re-engagement message" for failed statuses
  std::string recipient;   // recipient_id: the customer's wa_id
  std::string tracker;     // biz_opaque_callback_data, as we sent it (see with_tracker)
};

struct Webhook {
  std::vector<Message> messages;
  std::vector<Status> statuses;
  int skipped = 0;  // malformed parts left out (logged by the caller, never retried by Meta)
};

struct ParseOptions {
  // The data inventory declares the "platform_profile" category collected. Otherwise the
  // profile name in contacts[] is never read (minimization).
  bool read_profile_name = false;
};

// Errc::invalid_argument when the body is not a WhatsApp Business Account notification at all
// (not JSON, or "object" is not "whatsapp_business_account"); otherwise every well-formed
// message and status, with malformed ones counted in `skipped`.
Result<Webhook> parse_webhook(std::string_view body, const ParseOptions& options = {});

struct RenderOptions {
  std::size_t max_text = 4096;
  std::string list_button;  // the list's button label, from the message catalog (≤ 20 characters)
};
// The JSON bodies (for POST /{phone_number_id}/messages) that show `reply` to `to`: text longer
// than 4096 characters is split; up to 3 options become reply buttons (titles ≤ 20), up to 10
// a list (titles ≤ 24, descriptions ≤ 72), more are paged into several lists.
std::vector<std::string> render(const chat::Reply& reply, std::string_view to, const RenderOptions& options = {});
// A template message (outside the 24-hour window).
std::string render_template(std::string_view to, std::string_view name, std::string_view language);

// The body with "biz_opaque_callback_data" naming outbox entry `outbox_id`: Meta echoes it in the
// message's statuses, which then find their entry by its key instead of by WhatsApp's message id.
// `body` is one of the objects render() or render_template() wrote; anything else comes back as is.
std::string with_tracker(std::string body, std::int64_t outbox_id);
// The outbox id a status's tracker names, if it is one of ours.
std::optional<std::int64_t> outbox_id_of(std::string_view tracker);

// Outcome of a send, from the HTTP status and the response body.
struct SendOutcome {
  enum class Kind { sent, retry, permanent } kind = Kind::retry;
  std::string external_id;  // wamid on success
  std::string error;        // "code title", no message content
  int retry_after_seconds = 0;
};
SendOutcome classify_response(int http_status, std::string_view body);

}  // namespace comptoir::channels::whatsapp

// Telegram Bot API in webhook mode: the secret-token header check, Update parsing (message and
// callback_query), and outbound bodies (sendMessage with an inline keyboard, answerCallbackQuery).
// Pure functions; thread-safe. nlohmann/json stays inside.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/chat/engine.h"
#include "src/common/error.h"
#include "src/common/secret.h"

namespace comptoir::channels::telegram {

// Constant-time comparison of X-Telegram-Bot-Api-Secret-Token with the configured secret.
bool secret_valid(std::string_view header, const SecretBytes& secret);

struct Update {
  std::int64_t update_id = 0;
  std::string kind;            // "message", "callback_query", or other (ignored)
  std::string chat_id;         // where to reply (decimal)
  std::int64_t date = 0;
  std::string text;            // message text
  std::string callback_id;     // callback_query.id (must always be answered)
  std::string callback_data;   // the option id we put in the button
  bool unsupported = false;    // a message without text (photo, sticker, …)
  std::string profile_name;    // "first last" of the sender, only when ParseOptions asks for it
};

struct ParseOptions {
  // The data inventory declares the "platform_profile" category collected. Otherwise the
  // sender's names and username are never read (minimization).
  bool read_profile_name = false;
};

// Errc::invalid_argument if the body is not a JSON object with an integer update_id.
Result<Update> parse_update(std::string_view body, const ParseOptions& options = {});

// {"method": "sendMessage" | "answerCallbackQuery", "payload": {…}} documents, one per API call.
// Text over 4096 characters is split; options become an inline keyboard (one button per row,
// callback_data ≤ 64 bytes: longer ids are dropped from the keyboard).
std::vector<std::string> render(const chat::Reply& reply, std::string_view chat_id);
std::string render_callback_answer(std::string_view callback_id);

struct SendOutcome {
  enum class Kind { sent, retry, permanent } kind = Kind::retry;
  std::string external_id;
  std::string error;
  int retry_after_seconds = 0;
};
SendOutcome classify_response(int http_status, std::string_view body);

}  // namespace comptoir::channels::telegram

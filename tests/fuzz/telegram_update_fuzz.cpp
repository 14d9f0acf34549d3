// Fuzz target: the Telegram Update parser (parse_update) and, on the same bytes, the
// classification of Bot API answers (classify_response). Any input must give an Update of a
// known kind whose chat id is empty or a decimal integer, or an Errc::invalid_argument error —
// never a crash, an exception, a hang or a sanitizer report.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "src/channels/telegram.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace comptoir::channels::telegram;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto u = parse_update(body);
  if (!u) {
    if (u.error().code != comptoir::Errc::invalid_argument) std::abort();
  } else {
    if (u->kind != "message" && u->kind != "callback_query" && u->kind != "other") std::abort();
    const std::string& id = u->chat_id;
    for (std::size_t i = 0; i < id.size(); ++i) {
      const bool ok = (id[i] >= '0' && id[i] <= '9') || (i == 0 && id[i] == '-' && id.size() > 1);
      if (!ok) std::abort();
    }
    if (u->kind != "callback_query" && (!u->callback_id.empty() || !u->callback_data.empty())) std::abort();
    if (!u->profile_name.empty()) std::abort();  // never read unless the inventory declares it
  }
  auto named = parse_update(body, {.read_profile_name = true});
  if (named.has_value() != u.has_value()) std::abort();
  if (named && (named->chat_id != u->chat_id || named->text != u->text)) std::abort();
  for (int status : {0, 200, 400, 429, 502}) {
    const auto o = classify_response(status, body);
    if (status == 0 && o.kind != SendOutcome::Kind::retry) std::abort();
    if (o.retry_after_seconds < 0 || o.retry_after_seconds > 86400) std::abort();
  }
  return 0;
}

// Fuzz target: the WhatsApp notification parser (parse_webhook) and, on the same bytes, the
// classification of Graph API answers (classify_response). Any input must give a Webhook whose
// parts respect the parser's bounds, or an Errc::invalid_argument error — never a crash, an
// exception, a hang or a sanitizer report.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "src/channels/whatsapp.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace comptoir::channels::whatsapp;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto hook = parse_webhook(body);
  if (!hook) {
    if (hook.error().code != comptoir::Errc::invalid_argument || hook.error().message.empty()) std::abort();
  } else {
    if (hook->skipped < 0) std::abort();
    for (const auto& m : hook->messages) {
      if (!m.profile_name.empty()) std::abort();  // never read unless the inventory declares it
      if (m.id.empty() || m.id.size() > 256 || m.from.empty() || m.from.size() > 64 || m.type.empty()) std::abort();
      for (const auto& item : m.order) {
        if (item.sku.empty() || item.sku.size() > 64 || item.quantity < 1 || item.quantity > 1000) std::abort();
      }
      if (m.type == "order" && m.order.empty()) std::abort();
    }
    for (const auto& s : hook->statuses) {
      if (s.id.empty() || s.id.size() > 256) std::abort();
      if (s.status != "sent" && s.status != "delivered" && s.status != "read" && s.status != "failed") std::abort();
    }
  }
  // With the profile name declared collected, the same bytes give the same messages, plus names.
  auto named = parse_webhook(body, {.read_profile_name = true});
  if (named.has_value() != hook.has_value()) std::abort();
  if (named && named->messages.size() != hook->messages.size()) std::abort();
  for (int status : {0, 200, 400, 429, 500}) {
    const auto o = classify_response(status, body);
    if (status >= 200 && status < 300 && o.kind != SendOutcome::Kind::sent) std::abort();
    if (status == 0 && o.kind != SendOutcome::Kind::retry) std::abort();
  }
  return 0;
}

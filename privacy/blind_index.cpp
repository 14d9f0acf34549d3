#include "privacy/blind_index.h"

#include <sodium.h>

#include <cctype>

#include "src/common/encoding.h"

namespace comptoir::privacy {

std::string_view to_string(Channel channel) {
  switch (channel) {
    case Channel::whatsapp: return "whatsapp";
    case Channel::telegram: return "telegram";
    case Channel::webchat: return "webchat";
  }
  return "webchat";
}

bool parse_channel(std::string_view text, Channel& out) {
  if (text == "whatsapp") out = Channel::whatsapp;
  else if (text == "telegram") out = Channel::telegram;
  else if (text == "webchat") out = Channel::webchat;
  else return false;
  return true;
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

Result<std::string> normalize_phone_or_bsuid(std::string_view a) {
  // Business-scoped user id: two upper-case letters, a dot, digits.
  if (a.size() >= 4 && a.size() <= 64 && std::isupper(static_cast<unsigned char>(a[0])) &&
      std::isupper(static_cast<unsigned char>(a[1])) && a[2] == '.') {
    bool all_digits = true;
    for (std::size_t i = 3; i < a.size(); ++i) all_digits = all_digits && is_digit(a[i]);
    if (all_digits) return std::string(a);
    return fail(Errc::invalid_argument, "malformed WhatsApp user id");
  }
  std::string digits;
  std::size_t i = 0;
  while (i < a.size() && a[i] == ' ') ++i;
  if (i < a.size() && a[i] == '+') ++i;
  for (; i < a.size(); ++i) {
    const char c = a[i];
    if (is_digit(c)) digits.push_back(c);
    else if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') continue;
    else return fail(Errc::invalid_argument, "a WhatsApp address must be a phone number");
  }
  if (digits.starts_with("00")) digits.erase(0, 2);
  if (digits.size() < 6 || digits.size() > 20) {
    return fail(Errc::invalid_argument, "a WhatsApp phone number has 6 to 20 digits");
  }
  return digits;
}

}  // namespace

Result<std::string> normalize_address(Channel channel, std::string_view a) {
  switch (channel) {
    case Channel::whatsapp:
      return normalize_phone_or_bsuid(a);
    case Channel::telegram: {
      std::size_t i = (!a.empty() && a[0] == '-') ? 1 : 0;
      if (a.size() == i || a.size() > 21) return fail(Errc::invalid_argument, "a Telegram chat id is an integer");
      for (std::size_t j = i; j < a.size(); ++j) {
        if (!is_digit(a[j])) return fail(Errc::invalid_argument, "a Telegram chat id is an integer");
      }
      if (a.size() > i + 1 && a[i] == '0') return fail(Errc::invalid_argument, "a Telegram chat id has no leading zeros");
      return std::string(a);
    }
    case Channel::webchat: {
      if (a.size() < 16 || a.size() > 128) return fail(Errc::invalid_argument, "malformed web chat session");
      for (char c : a) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
          return fail(Errc::invalid_argument, "malformed web chat session");
        }
      }
      return std::string(a);
    }
  }
  return fail(Errc::invalid_argument, "unknown channel");
}

BlindIndex::BlindIndex(const SecretBytes& key) : key_(SecretBytes::copy_of(key.span())) {
  ensure_sodium();
}

Result<std::string> BlindIndex::of(Channel channel, std::string_view address) const {
  auto normalized = normalize_address(channel, address);
  if (!normalized) return std::unexpected(normalized.error());
  crypto_generichash_state st;
  crypto_generichash_init(&st, key_.data(), key_.size(), 32);
  const std::string_view ch = to_string(channel);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(ch.data()), ch.size());
  const unsigned char sep = 0;
  crypto_generichash_update(&st, &sep, 1);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(normalized->data()),
                            normalized->size());
  std::uint8_t out[32];
  crypto_generichash_final(&st, out, sizeof out);
  sodium_memzero(&st, sizeof st);
  return hex_encode(std::span<const std::uint8_t>(out, sizeof out));
}

std::string BlindIndex::message_key(Channel channel, std::string_view external_id) const {
  crypto_generichash_state st;
  crypto_generichash_init(&st, key_.data(), key_.size(), 16);
  const unsigned char sep = 0;
  for (std::string_view part : {std::string_view("message-id"), to_string(channel)}) {
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(part.data()), part.size());
    crypto_generichash_update(&st, &sep, 1);
  }
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(external_id.data()), external_id.size());
  std::uint8_t out[16];
  crypto_generichash_final(&st, out, sizeof out);
  sodium_memzero(&st, sizeof st);
  return "h:" + base64url_encode(std::span<const std::uint8_t>(out, sizeof out));
}

}  // namespace comptoir::privacy

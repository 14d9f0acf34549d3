#include "src/http/privacy_notice.h"

#include <sodium.h>

#include <cstdint>
#include <utility>

#include "src/assets/assets.h"
#include "src/common/encoding.h"

namespace comptoir::http {

namespace {

bool supported(const std::string& l) { return l == "en" || l == "fr" || l == "de"; }

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace

PrivacyNotice::PrivacyNotice(std::string shop_name, std::string shop_contact, std::string default_language)
    : shop_name_(std::move(shop_name)), shop_contact_(std::move(shop_contact)), default_language_(std::move(default_language)) {
  if (!supported(default_language_)) default_language_ = "en";
}

std::string PrivacyNotice::language_for(const std::string& lang) const { return supported(lang) ? lang : default_language_; }

std::string PrivacyNotice::html(const std::string& requested) const {
  const std::string lang = language_for(requested);
  auto body = assets::find("privacy/" + lang + ".html");
  if (!body) body = assets::find("privacy/en.html");
  std::string notice = body ? std::string(*body) : std::string();
  const std::string shop = html_escape(shop_name_.empty() ? "this shop" : shop_name_);
  const std::string contact = html_escape(shop_contact_.empty() ? shop_name_ : shop_contact_);
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"{shop}", shop}, {"{contact}", contact}}) {
    for (auto pos = notice.find(key); pos != std::string::npos; pos = notice.find(key, pos + value.size())) {
      notice.replace(pos, key.size(), value);
    }
  }
  return "<!doctype html>\n<html lang=\"" + lang +
         "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, "
         "initial-scale=1\"><title>Privacy</title><link rel=\"stylesheet\" href=\"/static/chat.css\">"
         "</head><body><main class=\"notice\">\n" +
         notice + "</main></body></html>\n";
}

std::string PrivacyNotice::version(const std::string& lang) const { return version_of(html(lang)); }

std::string PrivacyNotice::version_of(std::string_view page) {
  std::uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(page.data()), page.size());
  return hex_encode(std::span<const std::uint8_t>(digest, sizeof digest));
}

}  // namespace comptoir::http

// The privacy notice served at GET /privacy, and its version. The version is the lower-case hex
// SHA-256 of exactly the bytes that GET /privacy serves for a language (also sent as the page's
// ETag), so anyone can check it with `curl -s …/privacy?lang=fr | sha256sum`. The consent ledger
// records it with every acknowledgement and marketing choice (src/commerce/consent.h), through
// chat::EngineSettings::notice_version, which the app wires to version().
// The notice's source may change (today config/privacy/<lang>.html, built into the binary, with
// {shop} and {contact} filled in); html() and version() are the one place that knows it.
// Immutable after construction; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace comptoir::http {

class PrivacyNotice {
 public:
  // `default_language` is shop.default_language (en, fr or de).
  PrivacyNotice(std::string shop_name, std::string shop_contact, std::string default_language);

  // The language whose notice is served for a requested `lang`: en, fr or de as asked, anything
  // else the default language.
  std::string language_for(const std::string& lang) const;
  // The exact HTML page GET /privacy serves for language_for(lang).
  std::string html(const std::string& lang) const;
  // Lower-case hex SHA-256 of html(lang) (64 digits).
  std::string version(const std::string& lang) const;
  // Lower-case hex SHA-256 of `page` (what version() computes over html()).
  static std::string version_of(std::string_view page);

 private:
  std::string shop_name_, shop_contact_, default_language_;
};

}  // namespace comptoir::http

// The privacy notice (Art. 13 GDPR), per language: the merchant-written part
// (config/privacy/<lang>.html, or privacy.notice_dir) followed by sections generated from the
// data inventory — the controller, every category with its purposes, legal basis, source,
// recipients, retention and erasure outcome, what is not collected, the rights and the right to
// complain. Rendered once at startup into complete HTML documents. The version of a notice is the
// SHA-256 of exactly the page served (GET /privacy sends it as the ETag), so a consent record
// names the exact text a customer was shown and anyone can check it with sha256sum.
// Immutable after build(); share freely between threads.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "privacy/inventory.h"
#include "src/common/error.h"

namespace comptoir::privacy {

struct NoticeSettings {
  std::string shop_name;
  std::string shop_contact;
  std::string default_language = "en";
  // Folder with <lang>.html merchant-written parts; empty = the ones built into the binary.
  std::filesystem::path merchant_dir;
};

class Notice {
 public:
  // Errc::config when a merchant part or the notice strings are missing or invalid.
  static Result<Notice> build(const Inventory& inventory, const NoticeSettings& settings);

  // The full HTML document for `language` ("en", "fr", "de"; others give the default language's).
  const std::string& page(std::string_view language) const;
  // Lower-case hex SHA-256 of page(language) (64 characters).
  const std::string& version(std::string_view language) const;
  const std::string& resolve(std::string_view language) const;  // the language actually served

 private:
  std::map<std::string, std::string, std::less<>> pages_, versions_;
  std::string default_language_;
};

// Escapes & < > " ' for HTML text and attribute values (the notice, the export page).
std::string html_escape(std::string_view s);

}  // namespace comptoir::privacy

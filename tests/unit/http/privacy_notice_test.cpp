// Unit tests of http::PrivacyNotice: the page per language (unsupported languages get the default
// language's), {shop} and {contact} filled in and escaped, and the version = SHA-256 of exactly
// that page, different per language and per shop.
#include "src/http/privacy_notice.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>

#include "src/common/encoding.h"

namespace comptoir::http {
namespace {

std::string sha256_hex(const std::string& s) {
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(d, reinterpret_cast<const unsigned char*>(s.data()), s.size());
  return hex_encode(std::span<const std::uint8_t>(d, sizeof d));
}

TEST(PrivacyNotice, VersionIsTheSha256OfThePage) {
  const PrivacyNotice n("Épicerie <Test> & Fils", "dpo@example.eu", "fr");
  for (const std::string lang : {"en", "fr", "de"}) {
    const std::string page = n.html(lang);
    EXPECT_NE(page.find("<html lang=\"" + lang + "\">"), std::string::npos) << lang;
    EXPECT_EQ(n.version(lang), sha256_hex(page)) << lang;
    EXPECT_EQ(PrivacyNotice::version_of(page), sha256_hex(page));
    EXPECT_EQ(n.version(lang).size(), 64u);
    EXPECT_EQ(page.find("{shop}"), std::string::npos);
    EXPECT_EQ(page.find("{contact}"), std::string::npos);
  }
  EXPECT_NE(n.html("en").find("Épicerie &lt;Test&gt; &amp; Fils"), std::string::npos);
  EXPECT_NE(n.version("en"), n.version("fr"));
  EXPECT_NE(n.version("fr"), n.version("de"));
  // A language without a notice gets the default language's page and version.
  EXPECT_EQ(n.language_for("it"), "fr");
  EXPECT_EQ(n.language_for("de"), "de");
  EXPECT_EQ(n.html("it"), n.html("fr"));
  EXPECT_EQ(n.version("it"), n.version("fr"));
  // The shop's details are part of the page, so of the version.
  EXPECT_NE(PrivacyNotice("Another shop", "dpo@example.eu", "fr").version("fr"), n.version("fr"));
  EXPECT_NE(PrivacyNotice("Épicerie <Test> & Fils", "other@example.eu", "fr").version("fr"), n.version("fr"));
  EXPECT_EQ(PrivacyNotice("Épicerie <Test> & Fils", "dpo@example.eu", "en").version("fr"), n.version("fr"));
}

}  // namespace
}  // namespace comptoir::http

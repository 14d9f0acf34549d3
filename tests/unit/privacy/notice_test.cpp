// The privacy notice generated from the data inventory.
#include "privacy/notice.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <map>

#include "src/common/files.h"
#include "tests/support/temp_dir.h"

namespace comptoir::privacy {
namespace {

Inventory inventory() {
  auto inv = default_inventory();
  EXPECT_TRUE(inv.has_value());
  return *inv;
}

NoticeSettings settings() {
  NoticeSettings s;
  s.shop_name = "Fromagerie <Dupont> & Fils";
  s.shop_contact = "privacy@dupont.example";
  return s;
}

bool has(const std::string& page, std::string_view s) { return page.find(s) != std::string::npos; }

std::string sha256_hex(const std::string& s) {
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(d, reinterpret_cast<const unsigned char*>(s.data()), s.size());
  std::string hex;
  for (unsigned char c : d) {
    static const char* k = "0123456789abcdef";
    hex += k[c >> 4];
    hex += k[c & 15];
  }
  return hex;
}

TEST(Notice, EveryLanguageShowsEveryCollectedCategoryAndTheRights) {
  const Inventory inv = inventory();
  auto n = Notice::build(inv, settings());
  ASSERT_TRUE(n.has_value()) << n.error().message;
  for (const char* lang : {"en", "fr", "de"}) {
    const std::string& page = n->page(lang);
    EXPECT_TRUE(has(page, std::string("<html lang=\"") + lang + "\"")) << lang;
    for (const auto& c : inv.categories) {
      EXPECT_TRUE(has(page, html_escape(c.name.in(lang)))) << lang << " " << c.id;
      EXPECT_EQ(has(page, "id=\"" + c.id + "\""), c.collected) << lang << " " << c.id;
    }
    for (const auto& [id, text] : inv.recipients) EXPECT_TRUE(has(page, html_escape(text.in(lang)))) << lang << " " << id;
    EXPECT_TRUE(has(page, "privacy@dupont.example")) << lang;
    EXPECT_TRUE(has(page, "https://edpb.europa.eu/")) << lang;  // the complaint section
    EXPECT_EQ(n->version(lang), sha256_hex(page)) << "the version is the hash of the page served";
  }
  EXPECT_TRUE(has(n->page("en"), "Art. 6(1)(c) GDPR"));
  EXPECT_TRUE(has(n->page("en"), "10 years after the end of the financial year in which you ordered"));
  EXPECT_TRUE(has(n->page("fr"), "art. 6, par. 1, b) du RGPD"));
  EXPECT_TRUE(has(n->page("de"), "Art. 6 Abs. 1 lit. f DSGVO"));
  EXPECT_TRUE(has(n->page("de"), "90 Tage nach Ihrer letzten Nachricht"));
  EXPECT_NE(n->version("en"), n->version("fr"));
}

// Art. 13(1)(f): the notice names every transfer outside the EEA from the inventory, with its
// safeguard, in each language; an inventory without transfers says there are none.
TEST(Notice, TransfersOutsideTheEeaAreNamedWithTheirSafeguards) {
  Inventory inv = inventory();
  ASSERT_FALSE(inv.transfers.empty());
  auto n = Notice::build(inv, settings());
  ASSERT_TRUE(n.has_value()) << n.error().message;
  const std::map<std::string, std::string> heading = {{"en", "Transfers outside the European Economic Area"},
                                                      {"fr", "Transferts hors de l'Espace économique européen"},
                                                      {"de", "Übermittlungen außerhalb des Europäischen Wirtschaftsraums"}};
  for (const char* lang : {"en", "fr", "de"}) {
    const std::string& page = n->page(lang);
    EXPECT_TRUE(has(page, html_escape(heading.at(lang)))) << lang;
    for (const auto& t : inv.transfers) {
      EXPECT_TRUE(has(page, html_escape(t.destination.in(lang)))) << lang;
      EXPECT_TRUE(has(page, html_escape(t.safeguard.in(lang)))) << lang;
    }
  }
  EXPECT_TRUE(has(n->page("en"), "Meta Platforms, Inc., United States"));
  EXPECT_TRUE(has(n->page("en"), "(Art. 49(1)(b))"));
  inv.transfers.clear();
  auto none = Notice::build(inv, settings());
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(has(none->page("en"), "We do not transfer your personal data outside the European Economic Area."));
  EXPECT_FALSE(has(none->page("en"), "Meta Platforms, Inc."));
  EXPECT_NE(none->version("en"), n->version("en"));
}

TEST(Notice, MerchantTextIsEscaped) {
  auto n = Notice::build(inventory(), settings());
  ASSERT_TRUE(n.has_value());
  EXPECT_TRUE(has(n->page("en"), "Fromagerie &lt;Dupont&gt; &amp; Fils"));
  EXPECT_FALSE(has(n->page("en"), "<Dupont>"));
}

TEST(Notice, UnknownLanguagesGetTheDefault) {
  NoticeSettings s = settings();
  s.default_language = "de";
  auto n = Notice::build(inventory(), s);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->resolve("it"), "de");
  EXPECT_EQ(&n->page("it"), &n->page("de"));
  EXPECT_EQ(n->resolve("fr"), "fr");
}

TEST(Notice, TheVersionFollowsTheText) {
  Inventory inv = inventory();
  auto a = Notice::build(inv, settings());
  auto b = Notice::build(inv, settings());
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->version("en"), b->version("en"));  // deterministic
  inv.categories[3].retention.duration = *parse_duration("P60D");
  auto c = Notice::build(inv, settings());
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(a->version("en"), c->version("en"));
  EXPECT_TRUE(has(c->page("en"), "60 days after your last message"));
}

TEST(Notice, NotCollectedCategoriesAreListedAsSuch) {
  Inventory inv = inventory();
  auto n = Notice::build(inv, settings());
  ASSERT_TRUE(n.has_value());
  const std::string& page = n->page("en");
  const auto not_collected = page.find("What we do not collect");
  ASSERT_NE(not_collected, std::string::npos);
  EXPECT_GT(page.find("Messaging profile name"), not_collected);
  EXPECT_GT(page.find("Chat transcript"), not_collected);
  for (auto& c : inv.categories) {
    if (c.id == "platform_profile") c.collected = true;
  }
  auto m = Notice::build(inv, settings());
  ASSERT_TRUE(m.has_value());
  EXPECT_LT(m->page("en").find("Messaging profile name"), m->page("en").find("What we do not collect"));
}

TEST(Notice, MerchantPartsFromAFolder) {
  testing::TempDir dir;
  for (const char* lang : {"en", "fr", "de"}) {
    ASSERT_TRUE(files::write_new(dir.path() / (std::string(lang) + ".html"),
                                 std::string("<!-- note to self -->\n<p>Our own words (") + lang + ") for {shop}.</p>", 0600));
  }
  NoticeSettings s = settings();
  s.merchant_dir = dir.path();
  auto n = Notice::build(inventory(), s);
  ASSERT_TRUE(n.has_value()) << n.error().message;
  EXPECT_TRUE(has(n->page("fr"), "<p>Our own words (fr) for Fromagerie &lt;Dupont&gt; &amp; Fils.</p>"));
  EXPECT_FALSE(has(n->page("fr"), "note to self"));  // HTML comments are the merchant's, not the customer's
  std::filesystem::remove(dir.path() / "de.html");
  auto missing = Notice::build(inventory(), s);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::config);
  EXPECT_NE(missing.error().message.find("privacy.notice_dir"), std::string::npos);
  EXPECT_NE(missing.error().message.find("de.html"), std::string::npos);
}

}  // namespace
}  // namespace comptoir::privacy

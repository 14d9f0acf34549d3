// The export as an HTML page: self-contained, every category (collected or not) present, headings
// in the asked language, and every value escaped — hostile names, addresses, texts and even
// hostile inventory texts are shown, never interpreted.
#include "src/rights/export_page.h"
#include "privacy/notice.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "src/rights/export.h"
#include "tests/unit/chat/engine_fixture.h"

namespace comptoir::testing {
namespace {

using nlohmann::json;

constexpr const char* kHostileName = "<script>alert('x')</script>";
constexpr const char* kHostileAddress = "\"><img src=x onerror=alert(1)> & Co";

class ExportPageTest : public ::testing::Test {
 protected:
  ChatWorld chat;
  privacy::Inventory inventory = *privacy::default_inventory();
  std::string doc;

  void SetUp() override {
    chat.open();
    const std::string me = "wcs_page_customer_00000001";
    chat.run(me, {say("hello"), tap("add:BRD-BAGUETTE:2"), tap("checkout"), tap("ful:delivery"), say(kHostileName),
                  say(kHostileAddress), tap("confirm")});
    auto c = chat.customer(me);
    ASSERT_TRUE(c.has_value());
    auto d = chat.w.in_tx<std::string>([&](storage::Tx& tx) {
      return rights::export_subject(tx, inventory, *chat.w.vault, {c->id, c->subject_id}, {"en", "Shop <&>", "shop@x.example"},
                                    chat.w.clock);
    });
    ASSERT_TRUE(d.has_value());
    doc = *d;
  }
};

TEST_F(ExportPageTest, HostileValuesAreEscaped) {
  auto page = rights::export_page(doc, "en");
  ASSERT_TRUE(page.has_value()) << page.error().message;
  EXPECT_EQ(page->find("<script"), std::string::npos);
  EXPECT_EQ(page->find("<img"), std::string::npos);
  EXPECT_EQ(page->find("onerror=alert(1)>"), std::string::npos);
  EXPECT_NE(page->find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page->find("&quot;&gt;&lt;img src=x onerror=alert(1)&gt; &amp; Co"), std::string::npos);
  EXPECT_NE(page->find("Shop &lt;&amp;&gt;"), std::string::npos);
}

TEST_F(ExportPageTest, HostileTextsInTheDocumentItselfAreEscapedToo) {
  json d = json::parse(doc);
  d["categories"][0]["name"] = "</h3><script>x()</script>";
  d["categories"][0]["id"] = "a\" onclick=\"x()";
  d["supervisory_authority"]["url"] = "javascript:alert(1)";
  d["rights"].push_back("<iframe src=//evil>");
  auto page = rights::export_page(d.dump(), "en");
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->find("<script"), std::string::npos);
  EXPECT_EQ(page->find("<iframe"), std::string::npos);
  EXPECT_EQ(page->find("onclick=\"x()"), std::string::npos);
  EXPECT_EQ(page->find("href=\"javascript:"), std::string::npos);
}

TEST_F(ExportPageTest, EveryCategoryAppearsAndThePageIsSelfContained) {
  auto page = rights::export_page(doc, "en");
  ASSERT_TRUE(page.has_value());
  const json d = json::parse(doc);
  for (const auto& c : d["categories"]) {
    EXPECT_NE(page->find("id=\"" + c["id"].get<std::string>() + "\""), std::string::npos) << c["id"];
    EXPECT_NE(page->find(privacy::html_escape(c["name"].get<std::string>())), std::string::npos) << c["id"];
  }
  for (const auto& c : d["not_collected"]) {
    EXPECT_NE(page->find("id=\"" + c["id"].get<std::string>() + "\""), std::string::npos) << c["id"];
  }
  for (const auto& c : inventory.categories) {
    EXPECT_NE(page->find("id=\"" + c.id + "\""), std::string::npos) << "category " << c.id << " missing from the page";
  }
  EXPECT_NE(page->find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_EQ(page->find("<link"), std::string::npos);
  EXPECT_EQ(page->find("<script"), std::string::npos);
  EXPECT_EQ(page->find(" src=\""), std::string::npos);  // no embedded resource (the hostile address shows as text)
  EXPECT_NE(page->find("Art. 77"), std::string::npos);
  EXPECT_NE(page->find("C-000001"), std::string::npos) << "the order number is shown";
}

TEST_F(ExportPageTest, HeadingsInTheAskedLanguage) {
  EXPECT_NE(rights::export_page(doc, "en")->find("<h1>Your personal data</h1>"), std::string::npos);
  EXPECT_NE(rights::export_page(doc, "fr")->find("<h1>Vos données personnelles</h1>"), std::string::npos);
  EXPECT_NE(rights::export_page(doc, "de")->find("<h1>Ihre personenbezogenen Daten</h1>"), std::string::npos);
  EXPECT_NE(rights::export_page(doc, "de")->find("<html lang=\"de\">"), std::string::npos);
  EXPECT_NE(rights::export_page(doc, "it")->find("<h1>Your personal data</h1>"), std::string::npos);
}

TEST(ExportPage, RefusesWhatIsNotAnExport) {
  EXPECT_EQ(rights::export_page("not json", "en").error().code, Errc::invalid_argument);
  EXPECT_EQ(rights::export_page("{\"format\": \"other\", \"categories\": []}", "en").error().code, Errc::invalid_argument);
  EXPECT_EQ(rights::export_page("[]", "en").error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace comptoir::testing

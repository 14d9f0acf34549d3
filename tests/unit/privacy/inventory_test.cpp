// The data inventory: the built-in one is valid and matches the code; bad files are refused
// with errors that name the place; the registry check catches drift both ways.
#include "privacy/inventory.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "privacy/registry.h"
#include "src/assets/assets.h"
#include "src/config/json_reader.h"

namespace comptoir::privacy {
namespace {

using nlohmann::json;

// The built-in inventory as a JSON tree, for tests that break one thing in it.
json builtin() {
  auto text = assets::find("privacy/inventory.json");
  EXPECT_TRUE(text.has_value());
  auto j = config::parse_json_with_comments(*text, "inventory.json");
  EXPECT_TRUE(j.has_value());
  return *j;
}

json& category(json& inv, std::string_view id) {
  for (auto& c : inv["categories"]) {
    if (c["id"] == id) return c;
  }
  ADD_FAILURE() << "no category " << id;
  return inv;
}

std::string parse_error(const json& inv) {
  auto r = parse_inventory(inv.dump(2), "inv.json");
  if (r) return "";
  EXPECT_EQ(r.error().code, Errc::config);
  return r.error().message;
}

std::string check_error(const json& inv) {
  auto r = parse_inventory(inv.dump(2), "inv.json");
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  if (!r) return "";
  auto st = check_inventory(*r);
  return st ? "" : st.error().message;
}

TEST(Inventory, BuiltInParsesAndMatchesTheCode) {
  auto inv = default_inventory();
  ASSERT_TRUE(inv.has_value()) << inv.error().message;
  auto st = check_inventory(*inv);
  EXPECT_TRUE(st.has_value()) << st.error().message;
  // The defaults the product promises.
  EXPECT_TRUE(inv->collects("channel_address"));
  EXPECT_TRUE(inv->collects("delivery_details"));
  EXPECT_FALSE(inv->collects(kPlatformProfileCategory));
  EXPECT_FALSE(inv->collects(kChatTranscriptCategory));
  const Category* orders = inv->category("order_records");
  ASSERT_NE(orders, nullptr);
  EXPECT_EQ(orders->erasure.outcome, ErasureOutcome::keep_restricted);
  ASSERT_TRUE(orders->erasure.basis.has_value());
  EXPECT_EQ(orders->erasure.basis->basis, LegalBasis::legal_obligation);
  EXPECT_FALSE(orders->erasure.basis->detail.in("en").empty());
  EXPECT_EQ(orders->retention.from, RetentionStart::end_of_fiscal_year_of_order);
  EXPECT_EQ(orders->retention.duration.years, 10);
  // Every category has texts in all three languages.
  for (const auto& c : inv->categories) {
    for (const char* lang : {"en", "fr", "de"}) {
      EXPECT_TRUE(c.name.by_language.contains(lang)) << c.id << " name " << lang;
      EXPECT_TRUE(c.description.by_language.contains(lang)) << c.id << " description " << lang;
    }
  }
  EXPECT_EQ(inv->category_of_field("cart_items.quantity")->id, "cart");  // through "cart_items.*"
  EXPECT_EQ(inv->category_of_field("customers.address_sealed")->id, "channel_address");
  EXPECT_EQ(inv->category_of_field("nowhere.nothing"), nullptr);
}

TEST(Inventory, SyntaxErrorsNameLineAndColumn) {
  auto r = parse_inventory("{\n  \"format\": 1,\n  \"controller\": {,\n}", "inv.json");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("inv.json:3:"), std::string::npos) << r.error().message;
}

TEST(Inventory, ErrorsNameTheJsonPath) {
  {
    json inv = builtin();
    category(inv, "cart")["retention"]["duration"] = "ninety days";
    const auto e = parse_error(inv);
    EXPECT_NE(e.find("inv.json: categories[3].retention.duration: must be an ISO 8601 duration"), std::string::npos) << e;
  }
  {
    json inv = builtin();
    category(inv, "cart")["retention"]["from"] = "whenever";
    EXPECT_NE(parse_error(inv).find("categories[3].retention.from: must be one of"), std::string::npos);
  }
  {
    json inv = builtin();
    category(inv, "cart")["colour"] = "blue";
    EXPECT_NE(parse_error(inv).find("categories[3].colour: unknown key"), std::string::npos);
  }
  {
    json inv = builtin();
    category(inv, "cart")["purposes"] = json::array({"world_domination"});
    EXPECT_NE(parse_error(inv).find("categories[3].purposes[0]: unknown purpose \"world_domination\""), std::string::npos);
  }
  {
    json inv = builtin();
    category(inv, "cart")["recipients"] = json::array({"data_broker"});
    EXPECT_NE(parse_error(inv).find("categories[3].recipients[0]: unknown recipient"), std::string::npos);
  }
  {
    json inv = builtin();
    category(inv, "cart")["legal_basis"] = json{{"article", "c"}};
    EXPECT_NE(parse_error(inv).find("categories[3].legal_basis.obligation: is required for Art. 6(1)(c)"), std::string::npos);
  }
  {
    json inv = builtin();
    category(inv, "cart")["legal_basis"] = json{{"article", "f"}};
    EXPECT_NE(parse_error(inv).find("legal_basis.interest: is required for Art. 6(1)(f)"), std::string::npos);
  }
  {
    json inv = builtin();
    category(inv, "cart")["legal_basis"] = json{{"article", "g"}};
    EXPECT_NE(parse_error(inv).find("legal_basis.article: must be one of"), std::string::npos);
  }
  {
    json inv = builtin();
    category(inv, "order_records")["erasure"].erase("until");
    EXPECT_NE(parse_error(inv).find("categories[5].erasure.until: is required when the outcome is keep_restricted"),
              std::string::npos);
  }
  {
    json inv = builtin();
    category(inv, "cart")["erasure"] = json{{"outcome", "erase"}, {"until", {{"duration", "P1Y"}, {"from", "collection"}}}};
    EXPECT_NE(parse_error(inv).find("erasure.until: applies only to the outcome keep_restricted"), std::string::npos);
  }
  {
    json inv = builtin();
    category(inv, "cart")["description"] = json{{"fr", "Panier"}};
    EXPECT_NE(parse_error(inv).find("categories[3].description: needs at least the English text"), std::string::npos);
  }
  {
    json inv = builtin();
    category(inv, "cart")["description"]["it"] = "Carrello";
    EXPECT_NE(parse_error(inv).find("categories[3].description.it: unknown language"), std::string::npos);
  }
  {
    json inv = builtin();
    category(inv, "cart")["fields"] = json::array({"cart_items"});
    EXPECT_NE(parse_error(inv).find("categories[3].fields[0]: must be a stored field"), std::string::npos);
  }
  {
    json inv = builtin();
    category(inv, "cart")["id"] = "channel_address";
    EXPECT_NE(parse_error(inv).find("the id is declared twice"), std::string::npos);
  }
  {
    json inv = builtin();
    category(inv, "cart")["fields"].push_back("customers.address_sealed");
    EXPECT_NE(parse_error(inv).find("\"customers.address_sealed\" is already declared in category channel_address"),
              std::string::npos);
  }
  {
    json inv = builtin();
    inv["fiscal_year_end"] = "02-30";
    EXPECT_NE(parse_error(inv).find("fiscal_year_end: must be a month and day"), std::string::npos);
  }
  {
    json inv = builtin();
    inv["format"] = 2;
    EXPECT_NE(parse_error(inv).find("format: must be 1"), std::string::npos);
  }
  {
    json inv = builtin();
    inv.erase("categories");
    EXPECT_NE(parse_error(inv).find("categories: is required"), std::string::npos);
  }
}

TEST(Inventory, ReportsEveryProblemAtOnce) {
  json inv = builtin();
  category(inv, "cart")["retention"]["duration"] = "P";
  category(inv, "delivery_details")["source"] = "rumour";
  const auto e = parse_error(inv);
  EXPECT_NE(e.find("categories[3].retention.duration"), std::string::npos) << e;
  EXPECT_NE(e.find("categories[4].source"), std::string::npos) << e;
}

TEST(Registry, AStoredFieldMissingFromTheInventoryIsRefused) {
  json inv = builtin();
  auto& fields = category(inv, "delivery_details")["fields"];
  fields = json::array({"orders.recipient_name_sealed"});
  const auto e = check_error(inv);
  EXPECT_NE(e.find("the code stores the personal field \"orders.delivery_address_sealed\""), std::string::npos) << e;
}

TEST(Registry, AnInventoryFieldTheCodeDoesNotKnowIsRefused) {
  json inv = builtin();
  category(inv, "delivery_details")["fields"].push_back("orders.birth_date");
  category(inv, "cart")["fields"] = json::array({"cart_items.*", "wishlist.*"});
  const auto e = check_error(inv);
  EXPECT_NE(e.find("declares the field \"orders.birth_date\", which the code does not store"), std::string::npos) << e;
  EXPECT_NE(e.find("declares \"wishlist.*\", but the code stores no personal field"), std::string::npos) << e;
}

TEST(Registry, NeededDataCannotBeDeclaredNotCollected) {
  json inv = builtin();
  category(inv, "channel_address")["collected"] = false;
  const auto e = check_error(inv);
  EXPECT_NE(e.find("category channel_address is declared \"collected\": false, but the shop cannot work without"),
            std::string::npos) << e;
}

TEST(Registry, OptionalDataMayBeDeclaredCollected) {
  json inv = builtin();
  category(inv, "platform_profile")["collected"] = true;
  category(inv, "chat_transcript")["collected"] = true;
  EXPECT_EQ(check_error(inv), "");
}

TEST(Registry, AFieldInTwoCategoriesThroughAWildcardIsRefused) {
  json inv = builtin();
  category(inv, "customer_record")["fields"].push_back("cart_items.sku");
  const auto e = check_error(inv);
  EXPECT_NE(e.find("\"cart_items.sku\" is declared in several categories: cart, customer_record"), std::string::npos) << e;
}

TEST(Registry, EveryRegisteredFieldIsUniqueAndNotAlsoNonPersonal) {
  std::set<std::string_view> seen;
  for (const auto& f : registered_fields()) EXPECT_TRUE(seen.insert(f.name).second) << f.name;
  for (const auto& c : non_personal_columns()) EXPECT_TRUE(seen.insert(c.name).second) << c.name;
}

TEST(Duration, ParsesWholeUnits) {
  auto d = parse_duration("P1Y6M");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->years, 1);
  EXPECT_EQ(d->months, 6);
  d = parse_duration("P2W3D");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->days, 17);
  d = parse_duration("PT12H30M");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->hours, 12);
  EXPECT_EQ(d->minutes, 30);
  for (const char* bad : {"", "P", "PT", "10Y", "P1.5Y", "P-1D", "P1Y1Y", "P1H", "PT1D", "P1YT", "P1Y2", "P99999999999Y"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(Duration, CalendarArithmetic) {
  // 2024-01-31T00:00:00Z + P1M = 2024-02-29 (clamped, leap year).
  auto d = parse_duration("P1M");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->after(1706659200), 1709164800);
  // 2020-02-29 + P1Y = 2021-02-28.
  d = parse_duration("P1Y");
  EXPECT_EQ(d->after(1582934400), 1614470400);
  // 2026-12-31 + P10Y = 2036-12-31; + PT1H = one hour more.
  d = parse_duration("P10YT1H");
  EXPECT_EQ(d->after(1798675200), 2114294400 + 3600);
}

}  // namespace
}  // namespace comptoir::privacy

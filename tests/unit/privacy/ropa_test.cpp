// The records of processing (Art. 30(1)) generated from the data inventory: every element the
// article asks for is there, taken from the inventory (a changed retention shows), the shop's
// details stand in for an empty controller, categories not collected are listed apart, transfers
// are declared data (an inventory without them has none, an unknown recipient is refused), and
// the Markdown form carries the same facts.
#include "privacy/ropa.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace comptoir::privacy {
namespace {

using nlohmann::json;

RopaContext context() {
  RopaContext c;
  c.shop_name = "Épicerie Test";
  c.shop_contact = "contact@epicerie.example";
  c.generated_at = 1800000000;
  return c;
}

TEST(RecordsOfProcessing, EveryElementOfArticle30ComesFromTheInventory) {
  auto inv = *default_inventory();
  inv.controller.dpo = "dpo@epicerie.example";
  for (auto& c : inv.categories) {
    if (c.id == "cart") c.retention.duration = *parse_duration("P45D");
  }
  const json j = json::parse(ropa_json(inv, context()));
  EXPECT_EQ(j["format"], "comptoir.ropa.v1");
  EXPECT_EQ(j["generated_at"], "2027-01-15T08:00:00Z");
  EXPECT_EQ(j["controller"]["name"], "Épicerie Test");
  EXPECT_EQ(j["controller"]["email"], "contact@epicerie.example");
  EXPECT_EQ(j["data_protection_officer"], "dpo@epicerie.example");
  ASSERT_EQ(j["data_subjects"].size(), 1u);
  EXPECT_EQ(j["data_subjects"][0]["id"], "customers");
  // (b) purposes, (c) categories: a processing activity per purpose of collected data.
  std::set<std::string> purposes;
  for (const auto& a : j["processing_activities"]) purposes.insert(a["purpose"]);
  EXPECT_TRUE(purposes.contains("bookkeeping"));
  EXPECT_FALSE(purposes.contains("service_quality")) << "only the transcript (not collected) serves it";
  std::set<std::string> collected, not_collected;
  for (const auto& c : j["categories_of_data"]) collected.insert(c["id"]);
  for (const auto& c : j["not_collected"]) not_collected.insert(c["id"]);
  std::set<std::string> declared_collected;
  for (const auto& c : inv.categories) {
    if (c.collected) declared_collected.insert(c.id);
  }
  EXPECT_EQ(collected, declared_collected);
  EXPECT_GE(collected.size(), 9u);
  EXPECT_EQ(not_collected, (std::set<std::string>{"platform_profile", "chat_transcript"}));
  // (f) time limits, as declared.
  for (const auto& c : j["categories_of_data"]) {
    if (c["id"] == "cart") {
      EXPECT_EQ(c["retention"]["duration"], "P45D");
      EXPECT_EQ(c["retention"]["text"], "45 days after the customer's last message");
    }
    if (c["id"] == "order_records") {
      EXPECT_EQ(c["erasure"]["outcome"], "keep_restricted");
      EXPECT_EQ(c["erasure"]["legal_basis"]["article"], "Art. 6(1)(c)");
    }
  }
  // (d) recipients, (e) transfers to third countries, (g) security measures.
  EXPECT_EQ(j["recipients"].size(), 3u);
  ASSERT_EQ(j["third_country_transfers"].size(), 2u);
  EXPECT_EQ(j["third_country_transfers"][0]["recipient"], "messaging_platform");
  EXPECT_NE(j["third_country_transfers"][0]["safeguard"].get<std::string>().find("Art. 45"), std::string::npos);
  EXPECT_EQ(j["security_measures"].size(), security_measures().size());

  const std::string md = ropa_markdown(inv, context());
  EXPECT_NE(md.find("dpo@epicerie.example"), std::string::npos);
  EXPECT_NE(md.find("45 days after the customer's last message"), std::string::npos);
  EXPECT_NE(md.find("## Transfers to third countries"), std::string::npos);
  EXPECT_NE(md.find("Meta Platforms"), std::string::npos);
}

TEST(RecordsOfProcessing, TransfersAreDeclaredNotAssumed) {
  auto text = [](const std::string& transfers) {
    return std::string(R"({"format": 1, "controller": {}, "supervisory_authority": {"name": {"en": "x"}},
      "purposes": {"p": {"en": "P"}}, "recipients": {"r": {"en": "R"}},)") + transfers + R"(
      "categories": [{"id": "c", "name": {"en": "C"}, "description": {"en": "D"}, "fields": ["cart_items.*"],
        "collected": true, "purposes": ["p"], "legal_basis": {"article": "b"}, "source": "customer",
        "recipients": ["r"], "retention": {"duration": "P1D", "from": "collection"}, "erasure": {"outcome": "erase"}}]})";
  };
  auto none = parse_inventory(text(""), "inventory.json");
  ASSERT_TRUE(none.has_value()) << none.error().message;
  EXPECT_TRUE(none->transfers.empty());
  EXPECT_EQ(json::parse(ropa_json(*none, context()))["third_country_transfers"].size(), 0u);
  auto one = parse_inventory(text(R"("transfers": [{"recipient": "r", "destination": {"en": "Elsewhere"},
      "safeguard": {"en": "SCCs"}}],)"), "inventory.json");
  ASSERT_TRUE(one.has_value()) << one.error().message;
  ASSERT_EQ(one->transfers.size(), 1u);
  EXPECT_EQ(one->transfers[0].destination.in("fr"), "Elsewhere");
  auto unknown = parse_inventory(text(R"("transfers": [{"recipient": "nobody", "destination": {"en": "X"},
      "safeguard": {"en": "Y"}}],)"), "inventory.json");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message.find("transfers[0].recipient: unknown recipient \"nobody\""), std::string::npos)
      << unknown.error().message;
}

}  // namespace
}  // namespace comptoir::privacy

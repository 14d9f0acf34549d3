// Unit tests of the catalog's JSON form (src/commerce/catalog_json.h): product validation with
// field-naming errors, VAT rates in percent ↔ basis points, PATCH semantics, the round trip
// product_to_json → product_from_json, catalog files, and the built-in example catalog.
#include "src/commerce/catalog_json.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "src/app/shop_setup.h"
#include "tests/unit/commerce/shop_fixture.h"

namespace comptoir::commerce {
namespace {

using nlohmann::json;
using testing::why;

json valid_product() {
  return json::parse(R"({"sku": "BRD-001", "category": "bakery", "price": 320, "vat_rate": 5.5, "stock": 40,
                         "name": {"en": "Baguette", "fr": "Baguette tradition"},
                         "description": {"en": "Baked this morning.", "fr": "Cuite ce matin."}})");
}

// Expects `j` to be rejected with invalid_argument and a message that names `field`.
void expect_rejected(const json& j, const std::string& field) {
  auto p = product_from_json(j, "en", "EUR", "products[7]");
  ASSERT_FALSE(p.has_value()) << j.dump();
  EXPECT_EQ(p.error().code, Errc::invalid_argument);
  EXPECT_NE(p.error().message.find("products[7]." + field), std::string::npos) << p.error().message;
  EXPECT_FALSE(p.error().public_message.empty());
}

TEST(ProductJson, ValidProductParses) {
  auto p = product_from_json(valid_product(), "en", "EUR");
  ASSERT_TRUE(p.has_value()) << why(p);
  EXPECT_EQ(p->sku, "BRD-001");
  EXPECT_EQ(p->category, "bakery");
  EXPECT_EQ(p->price, 320);
  EXPECT_EQ(p->currency, "EUR");
  EXPECT_EQ(p->vat_rate, 550);
  EXPECT_EQ(p->stock, 40);
  EXPECT_TRUE(p->active);
  ASSERT_EQ(p->texts.size(), 2u);
}

TEST(ProductJson, RejectsBadSkus) {
  for (const json& sku : {json(""), json("has space"), json("semi;colon"), json("slash/es"), json("é-accent"),
                          json(std::string(41, 'A')), json(42), json(nullptr)}) {
    json j = valid_product();
    j["sku"] = sku;
    expect_rejected(j, "sku");
  }
  json ok = valid_product();
  ok["sku"] = std::string(40, 'A');
  EXPECT_TRUE(product_from_json(ok, "en", "EUR").has_value());
  ok["sku"] = "a.b_c-D9";
  EXPECT_TRUE(product_from_json(ok, "en", "EUR").has_value());
}

TEST(ProductJson, PriceMustBeANonNegativeIntegerOfMinorUnits) {
  for (const json& price : {json(-1), json(3.2), json(320.0), json("320"), json(100000001), json(nullptr)}) {
    json j = valid_product();
    j["price"] = price;
    expect_rejected(j, "price");
  }
  json zero = valid_product();
  zero["price"] = 0;
  EXPECT_TRUE(product_from_json(zero, "en", "EUR").has_value());
}

TEST(ProductJson, VatRateInPercentWithAtMostTwoDecimals) {
  struct Case {
    json value;
    int bp;
  };
  for (const auto& c : {Case{json(5.5), 550}, Case{json(20), 2000}, Case{json(0), 0}, Case{json(2.1), 210},
                        Case{json(7.7), 770}, Case{json(100), 10000}, Case{json(0.01), 1}, Case{json(19.99), 1999}}) {
    json j = valid_product();
    j["vat_rate"] = c.value;
    auto p = product_from_json(j, "en", "EUR");
    ASSERT_TRUE(p.has_value()) << c.value.dump() << ": " << why(p);
    EXPECT_EQ(p->vat_rate, c.bp) << c.value.dump();
  }
  for (const json& bad : {json(5.555), json(-1), json(100.5), json("5.5"), json(0.001), json(nullptr)}) {
    json j = valid_product();
    j["vat_rate"] = bad;
    expect_rejected(j, "vat_rate");
  }
}

TEST(ProductJson, VatRateBasisPointsSurviveTheJsonRoundTrip) {
  for (int bp = 0; bp <= 10000; ++bp) {
    const json as_json = json::parse(vat_rate_to_json(bp).dump());  // through text, as a client sees it
    auto back = vat_rate_from_json(as_json);
    ASSERT_TRUE(back.has_value()) << bp << " → " << as_json.dump();
    ASSERT_EQ(*back, bp) << as_json.dump();
  }
  EXPECT_EQ(vat_rate_to_json(550), json(5.5));
  EXPECT_EQ(vat_rate_to_json(2000), json(20));
  EXPECT_TRUE(vat_rate_to_json(2000).is_number_integer());
}

TEST(ProductJson, UnknownFieldIsRejectedByName) {
  json j = valid_product();
  j["colour"] = "red";
  expect_rejected(j, "colour");
  auto p = product_from_json(j, "en", "EUR");
  ASSERT_FALSE(p.has_value());
  EXPECT_NE(p.error().message.find("unknown field"), std::string::npos) << p.error().message;
}

TEST(ProductJson, RequiredFieldsAndTextRules) {
  for (const char* field : {"sku", "category", "price", "vat_rate", "name"}) {
    json j = valid_product();
    j.erase(field);
    expect_rejected(j, field);
  }
  json empty_name = valid_product();
  empty_name["name"]["fr"] = "   ";
  expect_rejected(empty_name, "name.fr");
  json long_name = valid_product();
  long_name["name"]["en"] = std::string(81, 'x');
  expect_rejected(long_name, "name.en");
  json bad_lang = valid_product();
  bad_lang["name"] = {{"english", "Bread"}};
  expect_rejected(bad_lang, "name.english");
  json control = valid_product();
  control["name"]["en"] = "Bread\x01";
  expect_rejected(control, "name.en");
  json orphan_description = valid_product();
  orphan_description["description"]["de"] = "Nur eine Beschreibung.";
  expect_rejected(orphan_description, "name.de");
  json negative_stock = valid_product();
  negative_stock["stock"] = -3;
  expect_rejected(negative_stock, "stock");
  json bad_currency = valid_product();
  bad_currency["currency"] = "EURO";
  expect_rejected(bad_currency, "currency");
  json active_string = valid_product();
  active_string["active"] = "yes";
  expect_rejected(active_string, "active");
  EXPECT_FALSE(product_from_json(json::array(), "en", "EUR").has_value());
}

TEST(ProductJson, PlainStringNameIsTheDefaultLanguageAndCurrencyIsUpperCased) {
  json j = valid_product();
  j["name"] = "Pain";
  j.erase("description");
  j["currency"] = "chf";
  auto p = product_from_json(j, "fr", "EUR");
  ASSERT_TRUE(p.has_value()) << why(p);
  ASSERT_EQ(p->texts.size(), 1u);
  EXPECT_EQ(p->texts[0].lang, "fr");
  EXPECT_EQ(p->texts[0].name, "Pain");
  EXPECT_EQ(p->currency, "CHF");
}

TEST(ProductJson, NamesAndDescriptionsRoundTrip) {
  json in = valid_product();
  in["name"]["de"] = "Baguette (Stangenbrot)";
  in["description"]["de"] = "Heute früh gebacken.\nMit Sauerteig.";
  in["active"] = false;
  in["position"] = 7;
  in["currency"] = "EUR";
  auto p = product_from_json(in, "en", "EUR");
  ASSERT_TRUE(p.has_value()) << why(p);

  const json out = product_to_json(*p, "en");
  EXPECT_EQ(out["name"], "Baguette");
  EXPECT_EQ(out["names"]["fr"], "Baguette tradition");
  EXPECT_EQ(out["descriptions"]["de"], "Heute früh gebacken.\nMit Sauerteig.");
  EXPECT_EQ(out["vat_rate"], json(5.5));
  for (const char* k : {"sku", "name", "price", "currency", "vat_rate", "stock", "active"}) {
    EXPECT_TRUE(out.contains(k)) << k;
  }

  // What GET answers can be PUT back unchanged.
  auto again = product_from_json(json::parse(out.dump()), "en", "EUR");
  ASSERT_TRUE(again.has_value()) << why(again) << "\n" << out.dump();
  EXPECT_EQ(product_to_json(*again, "en"), out);
  EXPECT_EQ(again->sku, p->sku);
  EXPECT_EQ(again->price, p->price);
  EXPECT_EQ(again->vat_rate, p->vat_rate);
  EXPECT_EQ(again->active, false);
  EXPECT_EQ(again->position, 7);
  ASSERT_EQ(again->texts.size(), p->texts.size());
  for (const auto& t : p->texts) {
    bool found = false;
    for (const auto& u : again->texts) {
      if (u.lang != t.lang) continue;
      found = true;
      EXPECT_EQ(u.name, t.name) << t.lang;
      EXPECT_EQ(u.description, t.description) << t.lang;
    }
    EXPECT_TRUE(found) << t.lang;
  }
}

TEST(ProductJson, PatchChangesOnlyWhatIsGivenAndNeverTheSku) {
  auto base = product_from_json(valid_product(), "en", "EUR");
  ASSERT_TRUE(base.has_value());
  auto p = patch_product(*base, json{{"stock", 3}, {"price", 350}}, "en");
  ASSERT_TRUE(p.has_value()) << why(p);
  EXPECT_EQ(p->stock, 3);
  EXPECT_EQ(p->price, 350);
  EXPECT_EQ(p->vat_rate, 550);
  EXPECT_EQ(p->texts.size(), base->texts.size());

  auto renamed = patch_product(*base, json{{"name", {{"fr", "Flûte"}}}}, "en");
  ASSERT_TRUE(renamed.has_value()) << why(renamed);
  for (const auto& t : renamed->texts) {
    if (t.lang == "fr") {
      EXPECT_EQ(t.name, "Flûte");
    } else if (t.lang == "en") {
      EXPECT_EQ(t.name, "Baguette");
    }
  }

  auto sku = patch_product(*base, json{{"sku", "OTHER"}}, "en");
  ASSERT_FALSE(sku.has_value());
  EXPECT_EQ(sku.error().code, Errc::invalid_argument);
  auto unknown = patch_product(*base, json{{"stok", 3}}, "en");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message.find("stok"), std::string::npos);
  auto floaty = patch_product(*base, json{{"price", 3.5}}, "en");
  EXPECT_FALSE(floaty.has_value());
}

TEST(CatalogFile, NamesTheFileAndEntryInErrors) {
  const std::string cats = R"("categories": [{"id": "bakery", "name": {"en": "Bakery"}}])";
  auto dup = parse_catalog("{" + cats + R"(, "products": [
      {"sku": "A", "category": "bakery", "price": 1, "vat_rate": 5.5, "name": "a"},
      {"sku": "A", "category": "bakery", "price": 1, "vat_rate": 5.5, "name": "b"}]})",
                           "shop.json", "en", "EUR");
  ASSERT_FALSE(dup.has_value());
  EXPECT_NE(dup.error().message.find("shop.json: products[1].sku"), std::string::npos) << dup.error().message;

  auto unknown_cat = parse_catalog("{" + cats + R"(, "products": [
      {"sku": "A", "category": "dairy", "price": 1, "vat_rate": 5.5, "name": "a"}]})",
                                   "shop.json", "en", "EUR");
  ASSERT_FALSE(unknown_cat.has_value());
  EXPECT_NE(unknown_cat.error().message.find("products[0].category"), std::string::npos);

  auto floaty = parse_catalog("{" + cats + R"(, "products": [
      {"sku": "A", "category": "bakery", "price": 1.5, "vat_rate": 5.5, "name": "a"}]})",
                              "shop.json", "en", "EUR");
  ASSERT_FALSE(floaty.has_value());
  EXPECT_NE(floaty.error().message.find("products[0].price"), std::string::npos);

  EXPECT_FALSE(parse_catalog("{not json", "shop.json", "en", "EUR").has_value());
  EXPECT_FALSE(parse_catalog(R"({"categories": []})", "shop.json", "en", "EUR").has_value());
}

TEST(CatalogFile, BuiltInExampleCatalogIsARealisticShop) {
  config::Config cfg;
  auto data = app::load_catalog(cfg, std::nullopt);
  ASSERT_TRUE(data.has_value()) << why(data);
  EXPECT_EQ(data->categories.size(), 5u);
  EXPECT_GE(data->products.size(), 25u);
  std::set<int> rates;
  std::set<std::string> skus;
  for (const auto& p : data->products) {
    rates.insert(p.vat_rate);
    EXPECT_TRUE(skus.insert(p.sku).second) << p.sku;
    EXPECT_GT(p.price, 0) << p.sku;
    EXPECT_EQ(p.currency, "EUR") << p.sku;
    std::set<std::string> langs;
    for (const auto& t : p.texts) langs.insert(t.lang);
    EXPECT_EQ(langs, (std::set<std::string>{"de", "en", "fr"})) << p.sku;
  }
  EXPECT_EQ(rates.size(), 2u);
}

}  // namespace
}  // namespace comptoir::commerce

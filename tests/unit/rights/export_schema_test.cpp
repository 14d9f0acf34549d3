// docs/export.schema.json against real exports: the documents export_subject produces for real
// conversations (every language, with and without the optional categories) are valid; the
// validator rejects documents that break the schema (so this test can fail); and the Art. 15(1)
// information is all there (purposes, categories, recipients, retention, source, rights,
// complaint, automated decisions).
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "src/rights/export.h"
#include "tests/support/json_schema.h"
#include "tests/unit/chat/engine_fixture.h"

namespace comptoir::testing {
namespace {

using nlohmann::json;

json load_schema() {
  std::ifstream in(std::string(COMPTOIR_SOURCE_DIR) + "/docs/export.schema.json");
  return json::parse(in);
}

std::string joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += e + "\n";
  return out;
}

class ExportSchemaTest : public ::testing::Test {
 protected:
  ChatWorld chat;
  privacy::Inventory inventory = *privacy::default_inventory();
  SchemaValidator validator{load_schema()};

  json export_of(const std::string& me, const std::string& lang) {
    auto c = chat.customer(me);
    EXPECT_TRUE(c.has_value());
    auto doc = chat.w.in_tx<std::string>([&](storage::Tx& tx) {
      return rights::export_subject(tx, inventory, *chat.w.vault, {c->id, c->subject_id}, {lang, "Shop", "shop@x.example"},
                                    chat.w.clock);
    });
    EXPECT_TRUE(doc.has_value());
    return doc ? json::parse(*doc) : json();
  }
};

TEST_F(ExportSchemaTest, RealExportsAreValidInEveryLanguage) {
  for (auto& c : inventory.categories) c.collected = true;  // the optional categories too
  auto s = ChatWorld::default_settings();
  s.keep_profile_name = true;
  s.keep_transcript = true;
  chat.open(s);
  const std::string me = "wcs_schema_customer_0000001";
  chat.run(me, {say("bonjour"), tap("add:BRD-BAGUETTE:2"), tap("checkout"), tap("ful:delivery"), say("Yvette <b>\"Dupont\"</b>"),
                say("1 rue \\u0000 de la Paix"), tap("confirm"), tap("add:DAI-COMTE:1")});
  for (const std::string lang : {"en", "fr", "de"}) {
    SCOPED_TRACE(lang);
    const json doc = export_of(me, lang);
    const auto errors = validator.validate(doc);
    EXPECT_TRUE(errors.empty()) << joined(errors);
    // Art. 15(1): every element is present and filled.
    std::set<std::string> ids;
    for (const auto& c : doc["categories"]) {
      ids.insert(c["id"]);
      EXPECT_FALSE(c["purposes"].empty());
      EXPECT_TRUE(c["retention"].contains("duration"));
      EXPECT_TRUE(c.contains("source") && c.contains("recipients") && c.contains("legal_basis"));
    }
    for (const auto& c : inventory.categories) EXPECT_TRUE(ids.contains(c.id)) << c.id;
    EXPECT_FALSE(doc["supervisory_authority"]["right_to_complain"].get<std::string>().empty());
    EXPECT_FALSE(doc["automated_decision_making"]["used"].get<bool>());
    EXPECT_GE(doc["rights"].size(), 7u);
  }
  EXPECT_NE(export_of(me, "de")["supervisory_authority"]["right_to_complain"].get<std::string>().find("Aufsichtsbehörde"),
            std::string::npos);
}

TEST_F(ExportSchemaTest, TheDefaultInventorysExportIsValidAndListsWhatIsNotCollected) {
  chat.open();
  const std::string me = "wcs_schema_customer_0000002";
  chat.run(me, {say("hello"), tap("add:BRD-CROISSANT:1")});
  const json doc = export_of(me, "en");
  EXPECT_TRUE(validator.validate(doc).empty()) << joined(validator.validate(doc));
  EXPECT_FALSE(doc["not_collected"].empty());
}

TEST_F(ExportSchemaTest, DocumentsThatBreakTheSchemaAreRejected) {
  chat.open();
  const std::string me = "wcs_schema_customer_0000003";
  chat.run(me, {say("hello"), tap("add:BRD-CROISSANT:1")});
  const json good = export_of(me, "en");
  ASSERT_TRUE(validator.validate(good).empty());
  auto broken = [&](const std::function<void(json&)>& edit, const std::string& expected) {
    json d = good;
    edit(d);
    const std::string errors = joined(validator.validate(d));
    EXPECT_NE(errors.find(expected), std::string::npos) << "expected \"" << expected << "\" in:\n" << errors;
  };
  broken([](json& d) { d.erase("rights"); }, ": lacks \"rights\"");
  broken([](json& d) { d["extra"] = 1; }, "/extra: is not allowed here");
  broken([](json& d) { d["format"] = "comptoir.export.v2"; }, "/format: must be");
  broken([](json& d) { d["subject"]["reference"] = "cust_12"; }, "/subject/reference: \"cust_12\" does not match");
  broken([](json& d) { d["categories"][0]["source"] = "guessed"; }, "/categories/0/source: \"guessed\" is not one of");
  broken([](json& d) { d["categories"][0]["retention"]["duration"] = "forever"; }, "/categories/0/retention/duration");
  broken([](json& d) { d["categories"][0]["purposes"] = json::array(); }, "/categories/0/purposes: too few items");
  broken([](json& d) { d["categories"][0]["legal_basis"]["article"] = "Art. 9"; }, "legal_basis/article");
  broken([](json& d) { d["automated_decision_making"]["used"] = "no"; }, "/automated_decision_making/used: is string");
  broken([](json& d) { d["categories"][0]["records"] = json::array({{{"table", "customers"}, {"fields", {{"Name", "x"}}}}}); },
         "(name)");
  // The validator refuses schema keywords it does not implement, rather than ignoring them.
  SchemaValidator strict(json{{"type", "object"}, {"maxProperties", 1}});
  EXPECT_FALSE(strict.validate(json::object()).empty());
}

}  // namespace
}  // namespace comptoir::testing

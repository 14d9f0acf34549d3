// The data-subject export against a real conversation: complete with respect to the inventory
// (every registered field that holds data for the customer appears, sealed ones opened), nothing
// of other customers, nothing of categories not collected, and "gone" once the key is shredded.
#include "src/rights/export.h"

#include <gtest/gtest.h>
#include <sqlcipher/sqlite3.h>

#include <nlohmann/json.hpp>

#include "privacy/registry.h"
#include "storage/row_reader.h"
#include "tests/unit/chat/engine_fixture.h"

namespace comptoir::testing {
namespace {

using nlohmann::json;

constexpr const char* kName = "Zéphyrine Quartz-Oyelaran";
constexpr const char* kAddress = "42 allée des Mirabelles Improbables, 69004 Lyon";

class ExportTest : public ::testing::Test {
 protected:
  ChatWorld chat;
  privacy::Inventory inventory = *privacy::default_inventory();

  void checkout(const std::string& me, bool keep_extras) {
    auto s = ChatWorld::default_settings();
    s.keep_profile_name = keep_extras;
    s.keep_transcript = keep_extras;
    chat.open(s);
    chat.run(me, {say("bonjour"), tap("add:BRD-BAGUETTE:2"), tap("checkout"), tap("ful:delivery"), say(kName), say(kAddress),
                  tap("confirm"), tap("add:DAI-COMTE:1")});
    // Someone else shops too: nothing of theirs may appear.
    chat.run("wcs_someone_else_entirely_01", {say("hello"), tap("add:BRD-CROISSANT:3"), tap("checkout"), tap("ful:delivery"),
                                              say("Otto Andersperson"), say("1 Elsewhere Road"), tap("confirm")});
  }

  json exported(const std::string& me) {
    auto c = chat.customer(me);
    EXPECT_TRUE(c.has_value());
    auto doc = chat.w.in_tx<std::string>([&](storage::Tx& tx) {
      return rights::export_subject(tx, inventory, *chat.w.vault, {c->id, c->subject_id}, {"fr", "Shop", "shop@x.example"},
                                    chat.w.clock);
    });
    EXPECT_TRUE(doc.has_value()) << (doc ? "" : doc.error().message);
    return doc ? json::parse(*doc) : json();
  }

  // Every registered field that holds data for this customer, read table by table.
  std::set<std::string> fields_with_data(std::int64_t customer_id) {
    std::set<std::string> out;
    for (const auto& f : privacy::registered_fields()) {
      const std::string table(f.name.substr(0, f.name.find('.')));
      const std::string column(f.name.substr(f.name.find('.') + 1));
      const auto* t = storage::customer_table(table);
      EXPECT_NE(t, nullptr) << table << " has personal fields but no customer link in storage/row_reader.cpp";
      if (t == nullptr || !t->linked) continue;
      auto rows = chat.w.in_tx<storage::Rows>([&](storage::Tx& tx) { return storage::customer_rows(tx, table, {{column}}, customer_id); });
      EXPECT_TRUE(rows.has_value()) << f.name;
      if (!rows) continue;
      for (const auto& r : rows->rows) {
        if (!std::holds_alternative<std::monostate>(r[0])) out.insert(std::string(f.name));
      }
    }
    return out;
  }
};

TEST_F(ExportTest, EveryFieldWithDataAppearsWithItsCategory) {
  const std::string me = "wcs_export_customer_000001";
  checkout(me, false);
  const json doc = exported(me);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["format"], "comptoir.export.v1");
  EXPECT_EQ(doc["language"], "fr");
  EXPECT_EQ(doc["controller"]["contact"], "shop@x.example");
  EXPECT_TRUE(doc["subject"]["reference"].get<std::string>().starts_with("sub_"));

  std::set<std::string> exported_fields;
  std::map<std::string, std::string> category_of;
  for (const auto& c : doc["categories"]) {
    EXPECT_FALSE(c["purposes"].empty()) << c["id"];
    EXPECT_TRUE(c["legal_basis"]["article"].get<std::string>().starts_with("Art. 6(1)(")) << c["id"];
    EXPECT_TRUE(c.contains("retention") && c.contains("erasure") && c.contains("source") && c.contains("recipients"));
    for (const auto& r : c["records"]) {
      for (const auto& [field, value] : r["fields"].items()) {
        if (!value.is_null()) exported_fields.insert(field);
        category_of[field] = c["id"];
      }
    }
  }
  const auto customer = chat.customer(me);
  const auto in_db = fields_with_data(customer->id);
  EXPECT_GT(in_db.size(), 20u);
  for (const auto& f : in_db) {
    EXPECT_TRUE(exported_fields.contains(f)) << f << " holds data for the customer but is not in the export";
    const auto* cat = inventory.category_of_field(f);
    ASSERT_NE(cat, nullptr);
    EXPECT_EQ(category_of[f], cat->id) << f;
  }
  const std::string text = doc.dump();
  EXPECT_NE(text.find(kName), std::string::npos);
  EXPECT_NE(text.find(kAddress), std::string::npos);
  EXPECT_NE(text.find(me), std::string::npos) << "the chat address, opened";
  EXPECT_EQ(text.find("Otto Andersperson"), std::string::npos);
  EXPECT_EQ(text.find("wcs_someone_else_entirely_01"), std::string::npos);
  EXPECT_EQ(text.find("BRD-CROISSANT"), std::string::npos);
  // Not collected by default: listed as such, never as data.
  std::set<std::string> not_collected;
  for (const auto& c : doc["not_collected"]) not_collected.insert(c["id"]);
  EXPECT_TRUE(not_collected.contains("platform_profile"));
  EXPECT_TRUE(not_collected.contains("chat_transcript"));
  // Platform message ids are not linked to anyone.
  for (const auto& c : doc["categories"]) {
    if (c["id"] == "inbound_message_ids") {
      EXPECT_TRUE(c.contains("note"));
    }
  }
}

TEST_F(ExportTest, DeclaredOptionalDataIsExportedToo) {
  for (auto& c : inventory.categories) {
    if (c.id == "platform_profile" || c.id == "chat_transcript") c.collected = true;
  }
  const std::string me = "wcs_export_customer_000002";
  checkout(me, true);
  const json doc = exported(me);
  bool transcript = false;
  for (const auto& c : doc["categories"]) {
    if (c["id"] == "chat_transcript") {
      for (const auto& r : c["records"]) transcript = transcript || r["fields"]["chat_transcript.body_sealed"] == kAddress;
    }
  }
  EXPECT_TRUE(transcript) << "the typed address is in the transcript export";
}

TEST_F(ExportTest, AnErasedSubjectHasNothingToExport) {
  const std::string me = "wcs_export_customer_000003";
  checkout(me, false);
  const auto c = chat.customer(me);
  ASSERT_TRUE(chat.w.vault->shred(c->subject_id).has_value());
  auto doc = chat.w.in_tx<std::string>([&](storage::Tx& tx) {
    return rights::export_subject(tx, inventory, *chat.w.vault, {c->id, c->subject_id}, {}, chat.w.clock);
  });
  ASSERT_FALSE(doc.has_value());
  EXPECT_EQ(doc.error().code, Errc::gone);
}

}  // namespace
}  // namespace comptoir::testing

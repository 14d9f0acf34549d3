// Erasure of a data subject against a real conversation: everything of the customer is gone
// except the orders the books require, which are detached, stripped of delivery details and
// restricted until the end of their retention; the key is shredded; other customers untouched;
// a second erasure finds nothing.
#include "src/rights/erasure.h"

#include <gtest/gtest.h>
#include <sqlcipher/sqlite3.h>

#include "privacy/registry.h"
#include "tests/unit/chat/engine_fixture.h"

namespace comptoir::testing {
namespace {

std::int64_t count(ChatWorld& chat, const std::string& sql, std::int64_t param = 0) {
  std::int64_t n = -1;
  chat.w.db->run([&](sqlite3* h) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr);
    if (sqlite3_bind_parameter_count(st) > 0) sqlite3_bind_int64(st, 1, param);
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
  });
  return n;
}

class ErasureTest : public ::testing::Test {
 protected:
  ChatWorld chat;
  privacy::Inventory inventory = *privacy::default_inventory();

  void SetUp() override {
    auto s = ChatWorld::default_settings();
    s.keep_transcript = true;
    chat.open(s);
  }

  Result<rights::ErasureReceipt> erase(const commerce::Customer& c) {
    return chat.w.in_tx<rights::ErasureReceipt>([&](storage::Tx& tx) {
      return rights::erase_subject(tx, inventory, *chat.w.vault, {c.id, c.subject_id}, chat.w.clock);
    });
  }
};

TEST_F(ErasureTest, EverythingGoesButTheBooksWhichAreDetachedAndRestricted) {
  const std::string me = "wcs_erasure_customer_00001", other = "wcs_erasure_other_000000001";
  chat.run(me, {say("hello"), tap("add:BRD-BAGUETTE:2"), tap("checkout"), tap("ful:delivery"), say("Zoé Martin"),
                say("3 rue du Four, Paris"), tap("confirm"), tap("add:DAI-COMTE:1")});
  chat.run(other, {say("hello"), tap("add:BRD-CROISSANT:1"), tap("checkout"), tap("ful:delivery"), say("Otto Other"),
                   say("1 Elsewhere Road"), tap("confirm")});
  const auto c = *chat.customer(me);
  const auto o = *chat.customer(other);
  ASSERT_EQ(count(chat, "SELECT COUNT(*) FROM orders WHERE customer_id = ?", c.id), 1);
  ASSERT_GT(count(chat, "SELECT COUNT(*) FROM chat_transcript WHERE customer_id = ?", c.id), 0);
  const auto consents = count(chat, "SELECT COUNT(*) FROM consent_records WHERE customer_id = ?", c.id);
  ASSERT_GT(consents, 0) << "the checkout recorded the notice acknowledgement";
  const auto all_consents = count(chat, "SELECT COUNT(*) FROM consent_records");

  auto receipt = erase(c);
  ASSERT_TRUE(receipt.has_value()) << receipt.error().message;
  EXPECT_EQ(receipt->subject_reference, c.subject_id);
  ASSERT_EQ(receipt->orders_kept.size(), 1u);
  EXPECT_EQ(receipt->orders_kept[0], "C-000001");

  // Gone: the customer row and everything hanging on it.
  EXPECT_FALSE(chat.customer(me).has_value());
  for (const char* t : {"conversations", "cart_items", "outbox", "chat_messages", "chat_transcript"}) {
    EXPECT_EQ(count(chat, std::string("SELECT COUNT(*) FROM ") + t + " WHERE customer_id = ?", c.id), 0) << t;
  }
  // Kept for the books: the order, its lines and VAT, detached, without delivery details.
  EXPECT_EQ(count(chat, "SELECT COUNT(*) FROM orders WHERE number = 'C-000001' AND customer_id IS NULL AND "
                        "recipient_name_sealed IS NULL AND delivery_address_sealed IS NULL AND restricted_until IS NOT NULL"),
            1);
  EXPECT_EQ(count(chat, "SELECT COUNT(*) FROM order_lines WHERE order_id = (SELECT id FROM orders WHERE number = 'C-000001')"), 1);
  // Restricted until 10 years after the end of the fiscal year of the order.
  const std::int64_t placed = count(chat, "SELECT created_at FROM orders WHERE number = 'C-000001'");
  privacy::RetentionEvents e;
  e.order_placed = placed;
  const auto expected = privacy::retention_end(*inventory.category("order_records")->erasure.until, e, "12-31");
  EXPECT_EQ(count(chat, "SELECT restricted_until FROM orders WHERE number = 'C-000001'"), *expected);
  // Proof of consent stays, without its link to the person.
  EXPECT_EQ(count(chat, "SELECT COUNT(*) FROM consent_records WHERE customer_id = ?", c.id), 0);
  EXPECT_EQ(count(chat, "SELECT COUNT(*) FROM consent_records"), all_consents);
  // The key is shredded.
  auto opened = chat.w.vault->seal(c.subject_id, {"t", "c", "r"}, "x");
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, Errc::gone);

  // The receipt: each collected category and its outcome.
  std::map<std::string, const rights::ErasureLine*> by;
  for (const auto& l : receipt->categories) by[l.category] = &l;
  ASSERT_TRUE(by.contains("order_records"));
  EXPECT_EQ(by["order_records"]->outcome, privacy::ErasureOutcome::keep_restricted);
  EXPECT_EQ(by["order_records"]->until, expected);
  ASSERT_TRUE(by["order_records"]->legal_basis.has_value());
  EXPECT_EQ(by["order_records"]->legal_basis->basis, privacy::LegalBasis::legal_obligation);
  EXPECT_EQ(by["delivery_details"]->outcome, privacy::ErasureOutcome::erase);
  EXPECT_EQ(by["delivery_details"]->records, 1);
  EXPECT_EQ(by["channel_address"]->outcome, privacy::ErasureOutcome::erase);
  EXPECT_TRUE(by.contains("chat_transcript")) << "held data of a category not collected (any more) is erased too";
  EXPECT_EQ(by["consent_records"]->outcome, privacy::ErasureOutcome::unlink);
  EXPECT_EQ(by["consent_records"]->records, consents);

  // The other customer is untouched.
  EXPECT_TRUE(chat.customer(other).has_value());
  EXPECT_EQ(count(chat, "SELECT COUNT(*) FROM orders WHERE customer_id = ? AND recipient_name_sealed IS NOT NULL", o.id), 1);

  // Again: nothing left.
  auto again = erase(c);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, Errc::not_found);
}

TEST_F(ErasureTest, ACustomerWithoutOrdersKeepsNothing) {
  const std::string me = "wcs_erasure_customer_00002";
  chat.run(me, {say("hello"), tap("add:BRD-BAGUETTE:1")});
  const auto c = *chat.customer(me);
  auto receipt = erase(c);
  ASSERT_TRUE(receipt.has_value()) << receipt.error().message;
  EXPECT_TRUE(receipt->orders_kept.empty());
  for (const auto& l : receipt->categories) {
    EXPECT_NE(l.outcome, privacy::ErasureOutcome::keep_restricted) << l.category;
  }
  EXPECT_EQ(count(chat, "SELECT COUNT(*) FROM customers"), 0);
}

TEST(ErasureInventory, OnlyOrdersCanBeKeptAndKeptRowsLoseOnlySealedFields) {
  auto inv = *privacy::default_inventory();
  for (auto& c : inv.categories) {
    if (c.id == "cart") c.erasure = inv.category("order_records")->erasure;
  }
  auto st = privacy::check_inventory(inv);
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("category cart keeps \"cart_items.sku\" after an erasure, but rows of cart_items cannot be kept"),
            std::string::npos) << st.error().message;

  inv = *privacy::default_inventory();
  for (auto& c : inv.categories) {
    if (c.id == "delivery_details") c.fields.push_back("orders.total");
    if (c.id == "order_records") std::erase(c.fields, "orders.total");
  }
  st = privacy::check_inventory(inv);
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("erases \"orders.total\", but the rest of its row is kept"), std::string::npos)
      << st.error().message;
}

TEST(RetentionEnd, FiscalYearsAndMissingEvents) {
  privacy::Retention r{*privacy::parse_duration("P10Y"), privacy::RetentionStart::end_of_fiscal_year_of_order};
  privacy::RetentionEvents e;
  EXPECT_FALSE(privacy::retention_end(r, e, "12-31").has_value());
  e.order_placed = 1772668800;  // 2026-03-05T00:00:00Z
  EXPECT_EQ(privacy::retention_end(r, e, "12-31"), 2114380800);  // 2037-01-01T00:00:00Z
  EXPECT_EQ(privacy::retention_end(r, e, "06-30"), 2098483200);  // 2036-07-01T00:00:00Z
  EXPECT_EQ(privacy::retention_end(r, e, "03-04"), 2119824000);  // fiscal year ends 2027-03-04: 2037-03-05
  r.from = privacy::RetentionStart::order_completion;
  EXPECT_FALSE(privacy::retention_end(r, e, "12-31").has_value());
}

}  // namespace
}  // namespace comptoir::testing

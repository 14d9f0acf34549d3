// The retention engine against real conversations on a real SQLCipher database, with a fake
// clock: the cutoff agrees with the inventory's retention_end for every rule (fiscal year ends
// included), and each category's outcome is applied when — and only when — its period has ended:
// conversation states, carts, outgoing messages and inbound ids deleted, delivery details cleared,
// an inactive customer erased (key shredded, order detached, consent unlinked), the legal hold on
// the detached order released at the end of the fiscal year plus ten years, consent records
// deleted after five years, a linked order deleted after its own retention. Before every real
// run a dry run reports exactly the same counts and changes nothing.
#include "src/retention/engine.h"

#include <gtest/gtest.h>
#include <sqlcipher/sqlite3.h>

#include "src/audit/recorder.h"
#include "tests/unit/chat/engine_fixture.h"

namespace comptoir::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kDay = 86400;

std::int64_t count(ShopWorld& w, const std::string& sql) {
  std::int64_t n = -1;
  w.db->run([&](sqlite3* h) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr);
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
  });
  return n;
}

void exec(ShopWorld& w, const std::string& sql) {
  w.db->run([&](sqlite3* h) {
    char* err = nullptr;
    const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << "\n" << sql;
    sqlite3_free(err);
    return 0;
  });
}

// Every row count of every table: what a dry run must leave as it was.
std::string snapshot(ShopWorld& w) {
  std::string out;
  for (const char* t : {"customers", "conversations", "cart_items", "orders", "order_lines", "order_vat", "outbox",
                        "chat_messages", "inbound_messages", "chat_transcript", "consent_records", "subject_keys",
                        "shredded_subjects"}) {
    out += std::string(t) + "=" + std::to_string(count(w, std::string("SELECT COUNT(*) FROM ") + t)) + " ";
  }
  out += "delivery=" + std::to_string(count(w, "SELECT COUNT(*) FROM orders WHERE recipient_name_sealed IS NOT NULL"));
  out += " detached=" + std::to_string(count(w, "SELECT COUNT(*) FROM orders WHERE customer_id IS NULL"));
  out += " unlinked=" + std::to_string(count(w, "SELECT COUNT(*) FROM consent_records WHERE customer_id IS NULL"));
  return out;
}

std::int64_t at(const std::string& rfc3339) { return unix_seconds(*parse_rfc3339(rfc3339)); }

TEST(RetentionCutoff, AgreesWithRetentionEndForEveryRule) {
  struct Case {
    const char* duration;
    privacy::RetentionStart from;
    const char* fiscal_year_end;
  };
  const Case cases[] = {
      {"P2Y", privacy::RetentionStart::last_activity, "12-31"},
      {"P1D", privacy::RetentionStart::last_activity, "12-31"},
      {"P1M", privacy::RetentionStart::collection, "12-31"},  // month ends clamp: Jan 31 + P1M = Feb 28
      {"PT12H", privacy::RetentionStart::collection, "12-31"},
      {"P10Y", privacy::RetentionStart::end_of_fiscal_year_of_order, "12-31"},
      {"P8Y", privacy::RetentionStart::end_of_fiscal_year_of_order, "03-31"},
      {"P6M", privacy::RetentionStart::end_of_fiscal_year_of_order, "02-29"},
      {"P90D", privacy::RetentionStart::order_completion, "12-31"},
      {"P0D", privacy::RetentionStart::collection, "12-31"},
  };
  const std::int64_t nows[] = {at("2030-03-01T00:00:00Z"), at("2036-12-31T23:59:59Z"), at("2038-01-01T00:00:00Z"),
                               at("2029-02-28T12:00:00Z")};
  for (const auto& c : cases) {
    privacy::Retention r;
    r.duration = *privacy::parse_duration(c.duration);
    r.from = c.from;
    for (const std::int64_t now : nows) {
      const std::int64_t cutoff = retention::cutoff_for(r, c.fiscal_year_end, now);
      auto ended = [&](std::int64_t start) {
        privacy::RetentionEvents e;
        e.collection = e.last_activity = e.order_placed = e.order_completion = e.consent_withdrawal = start;
        return *privacy::retention_end(r, e, c.fiscal_year_end) <= now;
      };
      EXPECT_TRUE(ended(cutoff)) << c.duration << " " << c.fiscal_year_end << " now " << now;
      EXPECT_FALSE(ended(cutoff + 1)) << c.duration << " " << c.fiscal_year_end << " now " << now;
      // And everywhere around it: a start expires exactly when it is at or before the cutoff.
      for (std::int64_t d : {-400 * kDay, -40 * kDay, -kDay, -3600L, -1L, 1L, 60L, kDay, 31 * kDay, 400 * kDay}) {
        EXPECT_EQ(ended(cutoff + d), cutoff + d <= cutoff) << c.duration << " offset " << d;
      }
    }
  }
}

TEST(RetentionCutoff, AnOrderPlacedInAFiscalYearIsKeptTenYearsAfterItsEnd) {
  privacy::Retention r;
  r.duration = *privacy::parse_duration("P10Y");
  r.from = privacy::RetentionStart::end_of_fiscal_year_of_order;
  // Fiscal year ending 31 December: an order of 2027-01-15 is kept until 2038-01-01T00:00:00Z.
  const std::int64_t placed = at("2027-01-15T10:00:00Z");
  EXPECT_LT(retention::cutoff_for(r, "12-31", at("2037-12-31T23:59:59Z")), placed);
  EXPECT_GE(retention::cutoff_for(r, "12-31", at("2038-01-01T00:00:00Z")), placed);
  // Fiscal year ending 31 March: the same order's year ends 2027-04-01, kept until 2037-04-01.
  EXPECT_LT(retention::cutoff_for(r, "03-31", at("2037-03-31T23:59:59Z")), placed);
  EXPECT_GE(retention::cutoff_for(r, "03-31", at("2037-04-01T00:00:00Z")), placed);
}

class RetentionEngineTest : public ::testing::Test {
 protected:
  ChatWorld chat;
  privacy::Inventory inventory = *privacy::default_inventory();
  audit::MemoryRecorder audit;
  std::unique_ptr<retention::Engine> engine;

  void SetUp() override {
    chat.open();
    engine = std::make_unique<retention::Engine>(*chat.w.db, inventory, *chat.w.vault, audit, retention::Settings{3});
  }

  // A dry run and then the real run at `now`: the dry run changes nothing and announces exactly
  // what the real run then does.
  retention::Report sweep(std::int64_t now) {
    const std::string before = snapshot(chat.w);
    auto dry = engine->run(TimePoint(std::chrono::seconds(now)), true);
    EXPECT_TRUE(dry.has_value()) << why(dry);
    EXPECT_EQ(snapshot(chat.w), before) << "a dry run changed stored data";
    auto real = engine->run(TimePoint(std::chrono::seconds(now)), false);
    EXPECT_TRUE(real.has_value()) << why(real);
    if (!dry || !real) return {};
    EXPECT_EQ(dry->customers_erased, real->customers_erased);
    for (const auto& c : real->categories) {
      const auto* d = dry->category(c.category);
      EXPECT_TRUE(d != nullptr);
      if (d == nullptr) continue;
      EXPECT_EQ(d->counts.expired, c.counts.expired) << c.category;
      EXPECT_EQ(d->counts.erased, c.counts.erased) << c.category;
      EXPECT_EQ(d->counts.cleared, c.counts.cleared) << c.category;
      EXPECT_EQ(d->counts.detached, c.counts.detached) << c.category;
      EXPECT_EQ(d->counts.unlinked, c.counts.unlinked) << c.category;
      EXPECT_EQ(d->counts.released, c.counts.released) << c.category;
    }
    return *real;
  }

  static retention::CategoryCounts of(const retention::Report& r, const std::string& category) {
    const auto* c = r.category(category);
    EXPECT_NE(c, nullptr) << category;
    return c ? c->counts : retention::CategoryCounts{};
  }

  void order_with_delivery(const std::string& address) {
    chat.run(address, {say("hello"), tap("add:BRD-BAGUETTE:2"), tap("checkout"), tap("ful:delivery"), say("Zoé Martin"),
                       say("3 rue du Four, Paris"), tap("confirm")});
  }
};

TEST_F(RetentionEngineTest, EachCategoryEndsWithItsOwnRuleAndOutcome) {
  const std::int64_t t0 = unix_seconds(chat.w.clock.now());  // 2027-01-15T08:00:00Z
  const std::string a = "wcs_retention_customer_a0001", b = "wcs_retention_customer_b0001";
  order_with_delivery(a);  // order C-000001, delivery details, notice acknowledged
  chat.run(a, {tap("add:DAI-COMTE:1")});
  const auto ca = *chat.customer(a);
  ASSERT_TRUE(chat.w.shop->change_status("C-000001", commerce::OrderStatus::accepted).has_value());
  ASSERT_TRUE(chat.w.shop->change_status("C-000001", commerce::OrderStatus::shipped).has_value());
  chat.w.clock.advance(std::chrono::hours(24));  // completed a day later
  ASSERT_TRUE(chat.w.shop->change_status("C-000001", commerce::OrderStatus::completed).has_value());
  // Records of other tables, as the channels write them.
  exec(chat.w, "INSERT INTO inbound_messages VALUES ('whatsapp', 'wamid.1', " + std::to_string(t0) + "), "
               "('whatsapp', 'wamid.2', " + std::to_string(t0 + 20 * kDay) + ")");
  exec(chat.w, "INSERT INTO chat_messages (customer_id, body_sealed, created_at) VALUES (" + std::to_string(ca.id) +
                   ", x'00', " + std::to_string(t0) + ")");
  // Customer B is active a year later: their record outlives A's.
  chat.w.clock.set(TimePoint(std::chrono::seconds(t0 + 365 * kDay)));
  order_with_delivery(b);
  const auto cb = *chat.customer(b);
  ASSERT_EQ(count(chat.w, "SELECT COUNT(*) FROM consent_records"), 2);
  const std::int64_t consents_a = count(chat.w, "SELECT COUNT(*) FROM consent_records WHERE customer_id = " + std::to_string(ca.id));
  const std::int64_t lines_a = count(chat.w, "SELECT COUNT(*) FROM order_lines WHERE order_id = 1") +
                               count(chat.w, "SELECT COUNT(*) FROM order_vat WHERE order_id = 1");

  // Nothing has expired yet for B, 12 hours on; A's conversation (1 day) and inbound id (8 days) have.
  auto r = sweep(t0 + 365 * kDay + 12 * 3600);
  EXPECT_EQ(of(r, "conversation_state").erased, 1);
  EXPECT_EQ(of(r, "inbound_message_ids").erased, 2);
  EXPECT_EQ(of(r, "outgoing_messages").erased, 1);
  EXPECT_EQ(of(r, "cart").erased, 1) << "A's cart, 90 days after their last message";
  EXPECT_EQ(of(r, "delivery_details").cleared, 1) << "A's completed order, 90 days after completion";
  EXPECT_EQ(of(r, "delivery_details").expired, 1);
  EXPECT_EQ(r.customers_erased, 0);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM orders WHERE number = 'C-000001' AND recipient_name_sealed IS NULL AND "
                          "delivery_address_sealed IS NULL AND customer_id IS NOT NULL"), 1);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM orders WHERE number = 'C-000002' AND recipient_name_sealed IS NOT NULL"), 1)
      << "B's open order keeps its delivery details";
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM conversations WHERE customer_id = " + std::to_string(cb.id)), 1);
  // Run again at the same time: nothing left to do.
  r = sweep(t0 + 365 * kDay + 12 * 3600);
  for (const auto& c : r.categories) EXPECT_FALSE(c.counts.any()) << c.category;

  // Two years after A's last message: A is erased like on request.
  const std::int64_t a_inactive = count(chat.w, "SELECT last_active_at FROM customers WHERE id = " + std::to_string(ca.id));
  privacy::Retention two_years{*privacy::parse_duration("P2Y"), privacy::RetentionStart::last_activity};
  const std::int64_t a_end = two_years.duration.after(a_inactive);
  r = sweep(a_end - 1);
  EXPECT_EQ(r.customers_erased, 0);
  r = sweep(a_end);
  EXPECT_EQ(r.customers_erased, 1);
  EXPECT_EQ(of(r, "customer_record").expired, 1);
  EXPECT_EQ(of(r, "customer_record").erased, 1);
  EXPECT_EQ(of(r, "channel_address").erased, 1);
  EXPECT_EQ(of(r, "order_records").detached, 1 + lines_a) << "the order kept for the books, with its lines and VAT";
  EXPECT_EQ(of(r, "consent_records").unlinked, consents_a);
  EXPECT_FALSE(chat.customer(a).has_value());
  auto sealed = chat.w.vault->seal(ca.subject_id, {"t", "c", "r"}, "x");
  ASSERT_FALSE(sealed.has_value());
  EXPECT_EQ(sealed.error().code, Errc::gone) << "the key is shredded";
  EXPECT_TRUE(chat.customer(b).has_value());
  const auto erasures = audit.with_action("retention.erase");
  ASSERT_EQ(erasures.size(), 1u);
  EXPECT_EQ(erasures[0].subject, ca.subject_id);
  // Restricted until the end of the fiscal year of the order (2027-12-31) plus ten years.
  EXPECT_EQ(count(chat.w, "SELECT restricted_until FROM orders WHERE number = 'C-000001' AND customer_id IS NULL"),
            at("2038-01-01T00:00:00Z"));

  // Five years after collection, A's unlinked consent record goes; B's (a year younger, B still
  // writing) stays.
  const std::int64_t consent_a_at = count(chat.w, "SELECT MIN(created_at) FROM consent_records");
  const std::int64_t five_years = privacy::parse_duration("P5Y")->after(consent_a_at);
  exec(chat.w, "UPDATE customers SET last_active_at = " + std::to_string(five_years - 10 * kDay));
  r = sweep(five_years);
  EXPECT_EQ(of(r, "consent_records").erased, consents_a);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM consent_records"), 1);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM consent_records WHERE customer_id = " + std::to_string(cb.id)), 1);

  // The legal hold ends by itself: not a second before 2038-01-01.
  r = sweep(at("2037-12-31T23:59:59Z"));
  EXPECT_EQ(of(r, "order_records").released, 0);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM orders WHERE number = 'C-000001'"), 1);
  r = sweep(at("2038-01-01T00:00:00Z"));
  EXPECT_EQ(of(r, "order_records").released, 1 + lines_a);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM orders WHERE number = 'C-000001'"), 0);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM order_lines WHERE order_id = 1"), 0);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM order_vat WHERE order_id = 1"), 0);

  // Every real run recorded its counts, without personal data.
  const auto runs = audit.with_action("retention.run");
  ASSERT_FALSE(runs.empty());
  EXPECT_EQ(runs.back().counts.at("order_records.released"), 1 + lines_a);
  EXPECT_EQ(runs.back().subject, "");
}

TEST_F(RetentionEngineTest, AnActiveCustomersOrderIsDeletedAfterItsOwnRetention) {
  const std::string a = "wcs_retention_customer_c0001";
  order_with_delivery(a);
  const auto ca = *chat.customer(a);
  // The customer keeps writing (their record never expires); the order's ten years pass.
  exec(chat.w, "UPDATE customers SET last_active_at = " + std::to_string(at("2037-12-30T00:00:00Z")));
  const std::int64_t rows = 1 + count(chat.w, "SELECT COUNT(*) FROM order_lines") + count(chat.w, "SELECT COUNT(*) FROM order_vat");
  auto r = sweep(at("2038-01-01T00:00:00Z"));
  EXPECT_EQ(r.customers_erased, 0);
  EXPECT_EQ(of(r, "order_records").expired, rows);
  EXPECT_EQ(of(r, "order_records").erased, rows);
  EXPECT_EQ(of(r, "order_records").released, 0);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM orders"), 0);
  EXPECT_TRUE(chat.customer(a).has_value());
  EXPECT_EQ(ca.id, chat.customer(a)->id);
}

TEST_F(RetentionEngineTest, AnInactiveCustomersExpiredOrderIsDeletedNotDetached) {
  const std::string a = "wcs_retention_customer_d0001";
  order_with_delivery(a);
  // Nobody hears from them for eleven years: the order's and the customer's periods have both ended.
  auto r = sweep(at("2038-06-01T00:00:00Z"));
  EXPECT_EQ(r.customers_erased, 1);
  EXPECT_EQ(of(r, "order_records").detached, 0);
  EXPECT_GT(of(r, "order_records").erased, 0);
  EXPECT_EQ(of(r, "consent_records").erased, 1) << "past its five years: deleted, not unlinked";
  EXPECT_EQ(of(r, "consent_records").unlinked, 0);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM orders"), 0);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM consent_records"), 0);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM customers"), 0);
}

TEST_F(RetentionEngineTest, AStopRequestEndsARunBetweenTransactions) {
  for (int i = 0; i < 10; ++i) {
    exec(chat.w, "INSERT INTO inbound_messages VALUES ('telegram', 'u" + std::to_string(i) + "', 1800000000)");
  }
  // Stop as soon as a first batch (of three) is gone: the run ends before the next transaction.
  auto r = engine->run(TimePoint(std::chrono::seconds(at("2030-01-01T00:00:00Z"))), false,
                       [&] { return count(chat.w, "SELECT COUNT(*) FROM inbound_messages") < 10; });
  ASSERT_TRUE(r.has_value()) << why(r);
  EXPECT_TRUE(r->interrupted);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM inbound_messages"), 7);
  EXPECT_EQ(audit.with_action("retention.run").back().outcome, "interrupted");
  r = engine->run(TimePoint(std::chrono::seconds(at("2030-01-01T00:00:00Z"))), false);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->interrupted);
  EXPECT_EQ(count(chat.w, "SELECT COUNT(*) FROM inbound_messages"), 0);
}

TEST(RetentionRules, ARetentionStartATableDoesNotRecordIsReported) {
  ChatWorld chat;
  chat.open();
  auto inventory = *privacy::default_inventory();
  for (auto& c : inventory.categories) {
    if (c.id == "cart") c.retention.from = privacy::RetentionStart::order_completion;
  }
  audit::MemoryRecorder audit;
  retention::Engine engine(*chat.w.db, inventory, *chat.w.vault, audit, {});
  auto r = engine.run(chat.w.clock.now(), true);
  ASSERT_TRUE(r.has_value()) << why(r);
  bool noted = false;
  for (const auto& n : r->notes) noted = noted || n.find("category cart: cart_items does not record order_completion") != std::string::npos;
  EXPECT_TRUE(noted);
  EXPECT_TRUE(audit.events().empty()) << "a dry run records nothing";
}

}  // namespace
}  // namespace comptoir::testing

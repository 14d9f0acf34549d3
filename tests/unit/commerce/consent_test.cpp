// Unit tests of the consent ledger (storage/consent_store.h, src/commerce/consent.h) on a real
// SQLCipher database: the history is append-only and kept in order, the current marketing state
// is the latest give / withdraw (withdraw after give, give after withdraw, repeated answers add
// nothing), the audience of a marketing message is exactly the customers with live consent, the
// schema itself refuses changes and deletions (but lets a deleted customer's rows be unlinked),
// and malformed records are refused.
#include "src/commerce/consent.h"

#include <gtest/gtest.h>

#include <sqlcipher/sqlite3.h>

#include <string>
#include <vector>

#include "storage/consent_store.h"
#include "tests/unit/commerce/shop_fixture.h"

namespace comptoir::testing {
namespace {

using commerce::ConsentKind;
using commerce::MarketingState;

const std::string kV1(64, 'a');
const std::string kV2 = std::string(32, '0') + std::string(32, 'f');

class ConsentLedgerTest : public ::testing::Test {
 protected:
  ShopWorld w;
  std::unique_ptr<commerce::ConsentLedger> ledger;

  void SetUp() override {
    w.open();
    ledger = std::make_unique<commerce::ConsentLedger>(*w.db, w.clock);
  }
  void TearDown() override {
    ledger.reset();
    w.close();
  }

  commerce::MarketingStatus state(std::int64_t id) {
    auto s = w.in_tx<commerce::MarketingStatus>([&](storage::Tx& tx) { return ledger->marketing(tx, id); });
    EXPECT_TRUE(s.has_value()) << why(s);
    return s.value_or(commerce::MarketingStatus{});
  }
  bool give(const commerce::Customer& c, const std::string& v = kV1, const std::string& lang = "en") {
    auto r = w.in_tx<bool>([&](storage::Tx& tx) { return ledger->give_marketing(tx, c, v, lang); });
    EXPECT_TRUE(r.has_value()) << why(r);
    return r.value_or(false);
  }
  bool withdraw(const commerce::Customer& c, const std::string& v = kV1, const std::string& lang = "en") {
    auto r = w.in_tx<bool>([&](storage::Tx& tx) { return ledger->withdraw_marketing(tx, c, v, lang); });
    EXPECT_TRUE(r.has_value()) << why(r);
    return r.value_or(false);
  }
  Status record(const commerce::Customer& c, ConsentKind kind, const std::string& v, const std::string& lang,
                const std::string& order = "") {
    return w.db->write([&](storage::Tx& tx) { return ledger->record(tx, c, kind, v, lang, order); });
  }
  std::vector<ConsentKind> kinds(std::int64_t id) {
    auto h = ledger->history(id);
    EXPECT_TRUE(h.has_value()) << why(h);
    std::vector<ConsentKind> out;
    if (h) {
      for (const auto& e : *h) out.push_back(e.kind);
    }
    return out;
  }
  std::vector<std::int64_t> audience() {
    auto a = w.in_tx<std::vector<std::int64_t>>([&](storage::Tx& tx) { return ledger->marketing_audience(tx); });
    EXPECT_TRUE(a.has_value()) << why(a);
    return a.value_or(std::vector<std::int64_t>{});
  }
  // Runs raw SQL on the database, bypassing the store (what a bug or a careless script could do).
  int raw(const std::string& sql) {
    return w.db->run([&](sqlite3* h) { return sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr); });
  }
};

TEST_F(ConsentLedgerTest, NoRecordMeansNoConsent) {
  const auto c = w.customer("wcs_consent_customer_0001");
  EXPECT_EQ(state(c.id).state, MarketingState::none);
  EXPECT_FALSE(state(c.id).live());
  EXPECT_EQ(state(c.id).since, 0);
  EXPECT_TRUE(kinds(c.id).empty());
  EXPECT_TRUE(audience().empty());
  // Withdrawing what was never given records nothing.
  EXPECT_FALSE(withdraw(c));
  EXPECT_TRUE(kinds(c.id).empty());
  EXPECT_EQ(state(c.id).state, MarketingState::none);
}

TEST_F(ConsentLedgerTest, NoticeAcknowledgementIsRecordedWithEverything) {
  auto c = w.customer("wcs_consent_customer_0002", "fr");
  c.channel = privacy::Channel::webchat;
  ASSERT_TRUE(record(c, ConsentKind::notice_acknowledged, kV2, "fr", "C-000042").has_value());
  auto h = ledger->history(c.id);
  ASSERT_TRUE(h.has_value()) << why(h);
  ASSERT_EQ(h->size(), 1u);
  const auto& e = h->front();
  EXPECT_GT(e.id, 0);
  EXPECT_EQ(e.kind, ConsentKind::notice_acknowledged);
  EXPECT_EQ(e.notice_version, kV2);
  EXPECT_EQ(e.language, "fr");
  EXPECT_EQ(e.channel, privacy::Channel::webchat);
  EXPECT_EQ(e.order_number, "C-000042");
  EXPECT_EQ(e.at, 1800000000);
  // A notice acknowledgement is not marketing consent.
  EXPECT_EQ(state(c.id).state, MarketingState::none);
  EXPECT_TRUE(audience().empty());
}

TEST_F(ConsentLedgerTest, WithdrawAfterGiveAndGiveAfterWithdrawKeepTheWholeHistory) {
  const auto c = w.customer("wcs_consent_customer_0003");
  EXPECT_TRUE(give(c));
  EXPECT_EQ(state(c.id).state, MarketingState::given);
  EXPECT_TRUE(state(c.id).live());
  EXPECT_EQ(state(c.id).since, 1800000000);
  EXPECT_EQ(audience(), std::vector<std::int64_t>{c.id});
  // Saying yes again while consent is live adds nothing.
  EXPECT_FALSE(give(c));

  w.clock.advance(std::chrono::hours(24));
  EXPECT_TRUE(withdraw(c));
  EXPECT_EQ(state(c.id).state, MarketingState::withdrawn);
  EXPECT_FALSE(state(c.id).live());
  EXPECT_EQ(state(c.id).since, 1800000000 + 86400);
  EXPECT_TRUE(audience().empty());
  EXPECT_FALSE(withdraw(c));  // nothing left to withdraw

  w.clock.advance(std::chrono::hours(24));
  EXPECT_TRUE(give(c, kV2, "de"));
  EXPECT_EQ(state(c.id).state, MarketingState::given);
  EXPECT_EQ(audience(), std::vector<std::int64_t>{c.id});
  EXPECT_EQ(kinds(c.id), (std::vector<ConsentKind>{ConsentKind::marketing_given, ConsentKind::marketing_withdrawn,
                                                   ConsentKind::marketing_given}));
  auto h = ledger->history(c.id);
  ASSERT_TRUE(h.has_value() && h->size() == 3u);
  EXPECT_LT((*h)[0].id, (*h)[1].id);
  EXPECT_LT((*h)[1].id, (*h)[2].id);
  EXPECT_EQ((*h)[0].notice_version, kV1);
  EXPECT_EQ((*h)[2].notice_version, kV2);
  EXPECT_EQ((*h)[2].language, "de");
  EXPECT_EQ((*h)[2].at, 1800000000 + 2 * 86400);
}

TEST_F(ConsentLedgerTest, TheLatestRecordDecidesEvenWhenTheClockGoesBack) {
  const auto c = w.customer("wcs_consent_customer_0004");
  EXPECT_TRUE(give(c));
  w.clock.advance(-std::chrono::hours(1));  // a clock step back must not resurrect the consent
  EXPECT_TRUE(withdraw(c));
  EXPECT_EQ(state(c.id).state, MarketingState::withdrawn);
  EXPECT_TRUE(audience().empty());
}

TEST_F(ConsentLedgerTest, AudienceIsExactlyTheCustomersWithLiveConsent) {
  const auto never = w.customer("wcs_consent_customer_0010");
  const auto yes = w.customer("wcs_consent_customer_0011");
  const auto gone = w.customer("wcs_consent_customer_0012");
  const auto back = w.customer("wcs_consent_customer_0013");
  const auto only_notice = w.customer("wcs_consent_customer_0014");
  EXPECT_TRUE(give(yes));
  EXPECT_TRUE(give(gone));
  EXPECT_TRUE(withdraw(gone));
  EXPECT_TRUE(give(back));
  EXPECT_TRUE(withdraw(back));
  EXPECT_TRUE(give(back));
  ASSERT_TRUE(record(only_notice, ConsentKind::notice_acknowledged, kV1, "en", "C-000001").has_value());
  EXPECT_EQ(audience(), (std::vector<std::int64_t>{yes.id, back.id}));
  EXPECT_TRUE(kinds(never.id).empty());
}

TEST_F(ConsentLedgerTest, MalformedRecordsAreRefused) {
  const auto c = w.customer("wcs_consent_customer_0020");
  for (const std::string& v : std::vector<std::string>{std::string(), std::string(63, 'a'), std::string(65, 'a'), std::string(64, 'A'),
                               std::string(63, 'a') + "g"}) {
    auto st = record(c, ConsentKind::marketing_given, v, "en");
    ASSERT_FALSE(st.has_value()) << v;
    EXPECT_EQ(st.error().code, Errc::invalid_argument);
  }
  for (const std::string l : {"", "e", "eng", "EN"}) {
    EXPECT_FALSE(record(c, ConsentKind::marketing_given, kV1, l).has_value()) << l;
  }
  EXPECT_FALSE(record(c, ConsentKind::marketing_given, kV1, "en", "C-000001").has_value());
  EXPECT_TRUE(kinds(c.id).empty());
  // The schema refuses what the domain would refuse, for anyone writing through the store.
  storage::ConsentStore store(*w.db);
  storage::ConsentRecord r;
  r.customer_id = c.id;
  r.kind = "marketing_maybe";
  r.notice_version = kV1;
  r.language = "en";
  r.channel = "webchat";
  auto bad_kind = w.in_tx<std::int64_t>([&](storage::Tx& tx) { return store.append(tx, r); });
  EXPECT_FALSE(bad_kind.has_value());
  r.kind = "marketing_given";
  r.channel = "carrier-pigeon";
  EXPECT_FALSE((w.in_tx<std::int64_t>([&](storage::Tx& tx) { return store.append(tx, r); })).has_value());
  r.channel = "webchat";
  r.notice_version = std::string(64, 'G');
  EXPECT_FALSE((w.in_tx<std::int64_t>([&](storage::Tx& tx) { return store.append(tx, r); })).has_value());
  r.notice_version = kV1;
  EXPECT_TRUE((w.in_tx<std::int64_t>([&](storage::Tx& tx) { return store.append(tx, r); })).has_value());
}

TEST_F(ConsentLedgerTest, TheSchemaRefusesChangesAndDeletions) {
  const auto c = w.customer("wcs_consent_customer_0030");
  EXPECT_TRUE(give(c));
  EXPECT_TRUE(withdraw(c));
  for (const std::string& sql : std::vector<std::string>{
           "UPDATE consent_records SET kind = 'marketing_given'",
           "UPDATE consent_records SET notice_version = '" + kV2 + "'",
           "UPDATE consent_records SET created_at = 0",
           "UPDATE consent_records SET channel = 'whatsapp'",
           "UPDATE consent_records SET order_number = 'C-000001'",
           "UPDATE consent_records SET language = 'fr'",
           "UPDATE consent_records SET id = id + 100",
           "UPDATE consent_records SET customer_id = customer_id + 1",
           "DELETE FROM consent_records",
           "DELETE FROM consent_records WHERE kind = 'marketing_withdrawn'",
       }) {
    EXPECT_NE(raw(sql), SQLITE_OK) << sql;
  }
  EXPECT_EQ(state(c.id).state, MarketingState::withdrawn);
  EXPECT_EQ(kinds(c.id), (std::vector<ConsentKind>{ConsentKind::marketing_given, ConsentKind::marketing_withdrawn}));
}

TEST_F(ConsentLedgerTest, ADeletedCustomersRecordsStayUnlinked) {
  const auto c = w.customer("wcs_consent_customer_0040");
  EXPECT_TRUE(give(c));
  ASSERT_EQ(raw("DELETE FROM customers WHERE id = " + std::to_string(c.id)), SQLITE_OK);
  EXPECT_TRUE(kinds(c.id).empty());
  EXPECT_TRUE(audience().empty());
  std::int64_t unlinked = -1;
  ASSERT_EQ(w.db->run([&](sqlite3* h) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(h, "SELECT count(*) FROM consent_records WHERE customer_id IS NULL", -1, &s, nullptr);
    if (sqlite3_step(s) == SQLITE_ROW) unlinked = sqlite3_column_int64(s, 0);
    return sqlite3_finalize(s);
  }),
            SQLITE_OK);
  EXPECT_EQ(unlinked, 1);
}

}  // namespace
}  // namespace comptoir::testing

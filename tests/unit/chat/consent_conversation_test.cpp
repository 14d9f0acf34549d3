// Conversation scripts for consent, table-driven in English, French and German: placing an order
// records the privacy notice acknowledgement (version of that language's notice, channel, order
// number) in the order's transaction; the marketing question that follows pre-selects nothing
// and a number never answers it; giving consent by tapping or by typing the option's title;
// "No thanks"; withdrawing with every stop word of every language and through the privacy menu,
// which shows the current state; giving again after withdrawing; "stop" in the middle of a
// checkout withdraws consent and leaves the checkout where it was ("stop checkout" still cancels
// it); and the marketing send (chat::Marketing) reaching exactly the customers with live consent.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "src/chat/marketing.h"
#include "tests/unit/chat/engine_fixture.h"

namespace comptoir::testing {
namespace {

using commerce::ConsentKind;
using commerce::MarketingState;

struct Lang {
  std::string code;
  std::string greeting;
  std::string checkout_word;
  std::string cancel_phrase;  // the checkout's own cancel command, which must not be taken for "stop"
};

const std::vector<Lang>& languages() {
  static const std::vector<Lang> all = {
      {"en", "hello", "checkout", "stop checkout"},
      {"fr", "bonjour", "commander", "annuler"},
      {"de", "guten tag", "kasse", "kauf abbrechen"},
  };
  return all;
}

class Consent : public ::testing::TestWithParam<Lang> {
 protected:
  ChatWorld chat;
  const Lang& L = GetParam();
  const std::string me = "wcs_consent_script_0001";

  void SetUp() override { chat.open(); }

  std::string T(const std::string& key, std::initializer_list<std::pair<std::string_view, std::string>> v = {}) {
    return chat.T(L.code, key, v);
  }
  std::string shop_T(const std::string& key) { return T(key, {{"shop", kShopName}}); }

  std::int64_t id_of(const std::string& address) {
    auto c = chat.customer(address);
    EXPECT_TRUE(c.has_value()) << address;
    return c ? c->id : 0;
  }
  std::vector<commerce::ConsentEntry> ledger(const std::string& address) {
    auto h = chat.engine->consent().history(id_of(address));
    EXPECT_TRUE(h.has_value()) << why(h);
    return h.value_or(std::vector<commerce::ConsentEntry>{});
  }
  std::vector<ConsentKind> kinds(const std::string& address) {
    std::vector<ConsentKind> out;
    for (const auto& e : ledger(address)) out.push_back(e.kind);
    return out;
  }
  MarketingState state(const std::string& address) {
    const std::int64_t id = id_of(address);  // (not inside the transaction: the connection is taken)
    auto s = chat.w.in_tx<commerce::MarketingStatus>([&](storage::Tx& tx) { return chat.engine->consent().marketing(tx, id); });
    EXPECT_TRUE(s.has_value()) << why(s);
    return s ? s->state : MarketingState::none;
  }

  // Greets, puts a baguette in the cart and checks out for pickup up to the summary.
  std::vector<Step> to_summary() {
    return {say(L.greeting), tap("add:BRD-BAGUETTE:1").Cart(1), tap("checkout"), tap("ful:pickup").Offers({"confirm"})};
  }
  std::vector<Step> order_and_answer(const std::string& answer) {
    auto s = to_summary();
    s.push_back(tap("confirm").Offers({"mkt:yes", "mkt:no"}));
    s.push_back(tap(answer));
    return s;
  }
};

TEST_P(Consent, PlacingAnOrderRecordsTheNoticeAcknowledgementAndAsksAboutMarketing) {
  auto steps = to_summary();
  steps.push_back(tap("confirm")
                      .Has(T("checkout.placed", {{"number", "C-000001"},
                                                 {"total", chat.money(L.code, 120)},
                                                 {"payment", T("checkout.payment_pickup")}}))
                      .AnyOffers({"order:C-000001", "orders", "menu"})
                      .Has(shop_T("marketing.offer"))
                      .Offers({"mkt:yes", "mkt:no"})
                      .Titled("mkt:yes", T("marketing.yes"))
                      .Titled("mkt:no", T("marketing.no")));
  const auto replies = chat.run(me, steps);
  // Two messages: the confirmation, then the question on its own.
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[1].options.size(), 2u);
  EXPECT_EQ(replies[1].text, shop_T("marketing.offer"));

  const auto h = ledger(me);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].kind, ConsentKind::notice_acknowledged);
  EXPECT_EQ(h[0].notice_version, ChatWorld::notice().version(L.code));
  EXPECT_EQ(h[0].language, L.code);
  EXPECT_EQ(h[0].channel, privacy::Channel::webchat);
  EXPECT_EQ(h[0].order_number, "C-000001");
  EXPECT_EQ(h[0].at, 1800000000);
  // No answer is no consent.
  EXPECT_EQ(state(me), MarketingState::none);
  // The versions differ per language: each is the hash of that language's notice.
  EXPECT_NE(ChatWorld::notice().version("en"), ChatWorld::notice().version("fr"));
  EXPECT_NE(ChatWorld::notice().version("fr"), ChatWorld::notice().version("de"));
}

TEST_P(Consent, ANumberNeverGivesConsentButTheOptionsTitleDoes) {
  auto steps = to_summary();
  steps.push_back(tap("confirm").Offers({"mkt:yes", "mkt:no"}));
  // "1" is the first option of the question, but could be meant for the confirmation above it.
  steps.push_back(say("1").Has(T("unknown")).Offers({"mkt:yes", "mkt:no"}));
  chat.run(me, steps);
  EXPECT_EQ(state(me), MarketingState::none);
  chat.run(me, {say(T("marketing.yes")).Has(shop_T("marketing.given")).Offers({"browse"})});
  EXPECT_EQ(state(me), MarketingState::given);
  EXPECT_EQ(kinds(me), (std::vector<ConsentKind>{ConsentKind::notice_acknowledged, ConsentKind::marketing_given}));
}

TEST_P(Consent, GivingConsentAfterAnOrderAndNotBeingAskedAgain) {
  chat.run(me, order_and_answer("mkt:yes"));
  EXPECT_EQ(state(me), MarketingState::given);
  const auto h = ledger(me);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].kind, ConsentKind::marketing_given);
  EXPECT_EQ(h[1].notice_version, ChatWorld::notice().version(L.code));
  EXPECT_EQ(h[1].language, L.code);
  EXPECT_EQ(h[1].order_number, "");
  // The next order does not ask again; the ledger gets its acknowledgement only.
  chat.run(me, {tap("add:BRD-BAGUETTE:1"), tap("checkout"), tap("ful:pickup"),
                tap("confirm").Has("C-000002").Offers({"order:C-000002", "orders", "menu"}).NoneOffers({"mkt:yes", "mkt:no"})});
  EXPECT_EQ(kinds(me), (std::vector<ConsentKind>{ConsentKind::notice_acknowledged, ConsentKind::marketing_given,
                                                 ConsentKind::notice_acknowledged}));
  EXPECT_EQ(ledger(me).back().order_number, "C-000002");
}

TEST_P(Consent, NoThanksRecordsNothingAndIsAskedAgainAfterTheNextOrder) {
  auto steps = to_summary();
  steps.push_back(tap("confirm").Offers({"mkt:yes", "mkt:no"}));
  steps.push_back(tap("mkt:no").Has(shop_T("marketing.off")).Offers({"browse", "orders"}));
  chat.run(me, steps);
  EXPECT_EQ(state(me), MarketingState::none);
  EXPECT_EQ(kinds(me), std::vector<ConsentKind>{ConsentKind::notice_acknowledged});
  chat.run(me, {tap("add:BRD-BAGUETTE:1"), tap("checkout"), tap("ful:pickup"), tap("confirm").Offers({"mkt:yes", "mkt:no"})});
}

TEST_P(Consent, PrivacyMenuShowsTheStateAndGivesAndWithdraws) {
  chat.run(me, {
      say(L.greeting),
      tap("privacy")
          .Has(T("privacy.info", {{"url", std::string(kPublicUrl) + "/privacy?lang=" + L.code}}))
          .Has(shop_T("privacy.marketing_off"))
          .Offers({"mkt:yes", "menu"})
          .NotOffers({"mkt:no"})
          .Titled("mkt:yes", T("marketing.start")),
      tap("mkt:yes").Has(shop_T("marketing.given")).Offers({"browse", "privacy"}),
      tap("privacy")
          .Has(T("privacy.marketing_on", {{"shop", kShopName}, {"date", "2027-01-15"}}))
          .Offers({"mkt:no", "menu"})
          .NotOffers({"mkt:yes"})
          .Titled("mkt:no", T("marketing.stop")),
      tap("mkt:no").Has(shop_T("marketing.off")).Offers({"browse"}),
      tap("privacy").Has(shop_T("privacy.marketing_off")).Offers({"mkt:yes"}),
  });
  EXPECT_EQ(kinds(me), (std::vector<ConsentKind>{ConsentKind::marketing_given, ConsentKind::marketing_withdrawn}));
  EXPECT_EQ(state(me), MarketingState::withdrawn);
  // Giving again after withdrawing: the history keeps all three.
  chat.run(me, {tap("mkt:yes").Has(shop_T("marketing.given"))});
  EXPECT_EQ(kinds(me), (std::vector<ConsentKind>{ConsentKind::marketing_given, ConsentKind::marketing_withdrawn,
                                                 ConsentKind::marketing_given}));
  EXPECT_EQ(state(me), MarketingState::given);
  // Typed "stop" on the privacy screen shows it again with the new state.
  chat.run(me, {tap("privacy").Offers({"mkt:no"}),
                say("stop").Has(shop_T("marketing.off")).Has(shop_T("privacy.marketing_off")).Offers({"mkt:yes"})});
  EXPECT_EQ(state(me), MarketingState::withdrawn);
}

TEST_P(Consent, EveryStopWordWithdrawsAndTheAnswerIsInTheCustomersLanguage) {
  const std::vector<std::string> words = {"stop",  "STOP",        "Stop!",      "/stop",       "unsubscribe", "Unsubscribe.",
                                          "abmelden", "Abmelden", "désabonner", "desabonner", "DÉSABONNER",  "stopp",
                                          "abbestellen", "se désabonner", "  stop  "};
  int i = 0;
  for (const auto& word : words) {
    SCOPED_TRACE(word);
    const std::string who = "wcs_consent_stopword_" + std::to_string(1000 + i++);
    chat.run(who, {say(L.greeting), tap("mkt:yes").Has(shop_T("marketing.given")),
                   say(word).Has(shop_T("marketing.off")).Lacks(T("marketing.still_checking_out")).Offers({"browse"})});
    EXPECT_EQ(state(who), MarketingState::withdrawn);
    const auto h = ledger(who);
    ASSERT_EQ(h.size(), 2u);
    EXPECT_EQ(h[1].kind, ConsentKind::marketing_withdrawn);
    EXPECT_EQ(h[1].language, L.code);
    auto c = chat.customer(who);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->language, L.code);  // a stop word of another language does not switch language
  }
  // Without consent, "stop" records nothing and still answers.
  chat.run("wcs_consent_stopword_none", {say(L.greeting), say("stop").Has(shop_T("marketing.off")).Offers({"browse"})});
  EXPECT_EQ(state("wcs_consent_stopword_none"), MarketingState::none);
  EXPECT_TRUE(kinds("wcs_consent_stopword_none").empty());
  // As the very first message of a new customer: the answer and the main menu.
  chat.run("wcs_consent_stopword_first", {say("stop").Has(chat.T("en", "marketing.off", {{"shop", kShopName}})).Offers({"browse"})});
}

TEST_P(Consent, StopMidCheckoutWithdrawsAndLeavesTheCheckoutWhereItWas) {
  const std::string name = "Zoé Quintessa", address = "17 rue des Tulipes, 75011 Paris";
  chat.run(me, {
      say(L.greeting),
      tap("mkt:yes"),
      tap("add:BRD-BAGUETTE:2").Cart(2),
      say(L.checkout_word).Offers({"ful:pickup", "ful:delivery"}),
      // At the choice of fulfilment.
      say("stop")
          .Has(shop_T("marketing.off"))
          .Has(T("marketing.still_checking_out"))
          .Offers({"ful:pickup", "ful:delivery"})
          .Cart(2),
      tap("ful:delivery").Has(T("checkout.ask_name")),
      // Where a name is expected, "stop" is not taken for one.
      say("STOP").Has(shop_T("marketing.off")).Has(T("marketing.still_checking_out")).Lacks(T("checkout.ask_address")),
      say(name).Has(T("checkout.ask_address")),
      say("stop").Has(T("marketing.still_checking_out")).Lacks(T("checkout.bad_address", {{"max", "300"}})),
      say(address).Has(T("checkout.summary")).Has(name).Offers({"confirm"}),
      // On the summary: the order can still be placed right after.
      say("désabonner").Has(T("marketing.still_checking_out")).Offers({"confirm", "cart"}).Cart(2),
      tap("confirm").Has("C-000001").Cart(0),
  });
  EXPECT_EQ(kinds(me), (std::vector<ConsentKind>{ConsentKind::marketing_given, ConsentKind::marketing_withdrawn,
                                                 ConsentKind::notice_acknowledged}));
  auto o = chat.w.shop->orders().by_number("C-000001");
  ASSERT_TRUE(o.has_value() && o->has_value());
  auto d = chat.w.in_tx<commerce::OrderDetails>([&](storage::Tx& tx) { return chat.w.shop->details(tx, **o); });
  ASSERT_TRUE(d.has_value()) << why(d);
  EXPECT_EQ(d->recipient_name, name);
  EXPECT_EQ(d->delivery_address, address);
}

TEST_P(Consent, TheCheckoutsOwnCancelCommandStillCancelsAndKeepsConsent) {
  chat.run(me, {
      say(L.greeting),
      tap("mkt:yes"),
      tap("add:BRD-BAGUETTE:1"),
      tap("checkout"),
      tap("ful:delivery").Has(T("checkout.ask_name")),
      say("Zoé Quintessa").Has(T("checkout.ask_address")),
      say(L.cancel_phrase).Lacks(shop_T("marketing.off")).Offers({"browse", "checkout"}).Cart(1),
      // The name typed before is forgotten: confirming starts the checkout again.
      tap("confirm").Has(T("checkout.fulfilment")),
  });
  EXPECT_EQ(state(me), MarketingState::given);
}

INSTANTIATE_TEST_SUITE_P(AllLanguages, Consent, ::testing::ValuesIn(languages()),
                         [](const ::testing::TestParamInfo<Lang>& p) { return p.param.code; });

TEST(ConsentEngine, WithoutANoticeVersionNoOrderIsPlaced) {
  ChatWorld chat;
  auto settings = ChatWorld::default_settings();
  settings.notice_version = nullptr;
  chat.open(settings);
  const std::string me = "wcs_consent_noversion_01";
  chat.run(me, {say("hi"), tap("add:BRD-BAGUETTE:1"), tap("checkout"), tap("ful:pickup")});
  auto r = chat.send(me, "", "confirm");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::internal);
  // The order, its stock and its acknowledgement commit together or not at all.
  EXPECT_FALSE(chat.w.shop->orders().by_number("C-000001")->has_value());
  EXPECT_EQ(chat.w.stock_of("BRD-BAGUETTE"), 60);
  EXPECT_EQ(chat.cart_count(me), 1);
  // A version that is not a hash is refused the same way.
  settings.notice_version = [](const std::string&) { return std::string("not a hash"); };
  chat::Engine other(*chat.w.db, *chat.w.customers, *chat.w.shop, *chat.messages, settings, chat.w.clock);
  r = other.handle(inbound(me, "", "confirm"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::internal);
  EXPECT_FALSE(chat.w.shop->orders().by_number("C-000001")->has_value());
}

// chat::Marketing: queued to every customer whose latest marketing record is a live consent, in
// their language (else the default language), with the way to stop; nobody else gets anything.
TEST(ConsentMarketing, ReachesOnlyCustomersWithLiveConsent) {
  ChatWorld chat;
  chat.open();
  std::vector<std::pair<std::int64_t, chat::Reply>> delivered;
  chat::Marketing marketing(*chat.w.db, *chat.w.customers, *chat.engine,
                            [&](storage::Tx& tx, const commerce::Customer& c, const chat::Reply& r) -> Status {
                              delivered.emplace_back(c.id, r);
                              return chat.inbox->deliver(tx, c, r);
                            });
  const std::string ann = "wcs_marketing_ann_00001", bea = "wcs_marketing_bea_00001", carl = "wcs_marketing_carl_0001",
                    dora = "wcs_marketing_dora_0001", emil = "wcs_marketing_emil_0001";
  chat.run(ann, {say("hello"), tap("mkt:yes")});                         // en, consents
  chat.run(bea, {say("bonjour"), tap("mkt:yes")});                       // fr, consents
  chat.run(carl, {say("hallo"), tap("mkt:yes"), say("abmelden")});       // de, withdrew
  chat.run(dora, {say("hallo")});                                        // de, never asked
  chat.run(emil, {say("guten tag"), tap("mkt:yes")});                    // de, consents, no German text

  const std::map<std::string, std::string> text = {{"en", "New: rye bread every Friday!"},
                                                   {"fr", "Nouveau : pain de seigle chaque vendredi !"}};
  auto n = marketing.queue(text);
  ASSERT_TRUE(n.has_value()) << why(n);
  EXPECT_EQ(*n, 3);
  ASSERT_EQ(delivered.size(), 3u);
  auto news_of = [&](const std::string& who) {
    auto got = chat.inbox->fetch(privacy::Channel::webchat, who, 0, 100);
    EXPECT_TRUE(got.has_value()) << why(got);
    return got.value_or(std::vector<chat::InboxMessage>{});
  };
  auto one = [&](const std::string& who, const std::string& lang, const std::string& body) {
    SCOPED_TRACE(who);
    const auto got = news_of(who);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].reply.text, body + "\n\n" + chat.T(lang, "marketing.footer", {{"shop", kShopName}}));
    ASSERT_EQ(got[0].reply.options.size(), 2u);
    EXPECT_EQ(got[0].reply.options[0].id, "mkt:no");
    EXPECT_EQ(got[0].reply.options[0].title, chat.T(lang, "marketing.stop"));
    EXPECT_EQ(got[0].reply.options[1].id, "menu");
  };
  one(ann, "en", text.at("en"));
  one(bea, "fr", text.at("fr"));
  one(emil, "en", text.at("en"));  // no German text: the default language's, with its footer
  EXPECT_TRUE(news_of(carl).empty());
  EXPECT_TRUE(news_of(dora).empty());

  // The option in the message withdraws consent; the next message skips that customer.
  chat.run(bea, {tap("mkt:no").Has(chat.T("fr", "marketing.off", {{"shop", kShopName}}))});
  delivered.clear();
  n = marketing.queue({{"en", "Second news"}});
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(news_of(bea).size(), 1u);
  EXPECT_EQ(news_of(ann).size(), 2u);

  // A consenting customer whose data was erased (key shredded) is skipped, not an error.
  auto emil_c = chat.customer(emil);
  ASSERT_TRUE(emil_c.has_value());
  ASSERT_TRUE(chat.w.vault->shred(emil_c->subject_id).has_value());
  n = marketing.queue({{"en", "Third news"}});
  ASSERT_TRUE(n.has_value()) << why(n);
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(news_of(ann).size(), 3u);
}

TEST(ConsentMarketing, ValidatesTheTexts) {
  ChatWorld chat;
  chat.open();
  int calls = 0;
  chat::Marketing marketing(*chat.w.db, *chat.w.customers, *chat.engine,
                            [&](storage::Tx&, const commerce::Customer&, const chat::Reply&) -> Status {
                              ++calls;
                              return ok();
                            });
  chat.run("wcs_marketing_valid_0001", {say("hello"), tap("mkt:yes")});
  const std::vector<std::pair<const char*, std::map<std::string, std::string>>> bad = {
      {"nothing", {}},
      {"no default language", {{"fr", "Bonjour"}}},
      {"unknown language", {{"en", "Hi"}, {"it", "Ciao"}}},
      {"not a language", {{"en", "Hi"}, {"english", "Hi"}}},
      {"empty", {{"en", ""}}},
      {"blank", {{"en", "  \n "}}},
      {"too long", {{"en", std::string(1001, 'a')}}},
      {"control character", {{"en", "Hi\x07"}}},
      {"invalid UTF-8", {{"en", "caf\xc3"}}},
  };
  for (const auto& [what, text] : bad) {
    auto n = marketing.queue(text);
    ASSERT_FALSE(n.has_value()) << what;
    EXPECT_EQ(n.error().code, Errc::invalid_argument) << what;
    EXPECT_FALSE(n.error().public_message.empty()) << what;
  }
  EXPECT_EQ(calls, 0);
  auto n = marketing.queue({{"en", std::string(1000, 'a')}, {"de", "Zeile 1\nZeile 2"}});
  ASSERT_TRUE(n.has_value()) << why(n);
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace comptoir::testing

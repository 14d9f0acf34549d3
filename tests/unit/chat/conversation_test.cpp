// Conversation scripts through chat::Engine, table-driven and run in English, French and German:
// greeting → menu, browsing by option, number and title, adding (also by text command), search,
// cart changes, checkout by pickup and by delivery (with the summary's VAT lines, fee, total and
// privacy link), my orders with cancellation, language switching and unknown input. Each script
// step says what the customer sends and what the replies must contain or offer; every reply of
// every step must offer at least one option (no dead ends).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/chat/engine_fixture.h"

namespace comptoir::testing {
namespace {

// What differs between the languages. Money, VAT and totals are spelled out literally so that a
// broken number format or a wrong amount fails the test; the other texts come from the catalogs.
struct Lang {
  std::string code;
  std::string greeting;
  std::string welcome;      // the reply to the greeting of a new customer
  std::string menu_word;
  std::string typed_title;  // the baguette's title as someone might type it in the category list
  std::string price_line;   // the baguette's product page: price and VAT
  std::string stock_line;
  std::string add_command;  // "add <name> <qty>" in this language
  std::string add_sku;
  int add_qty;
  std::string search_word;
  std::string search_query;
  std::string search_sku;
  std::string cart_word, remove_word, checkout_word, orders_word;
  // 2 × baguette (2.40 at 5.5 %) + 1 × dry cider (5.90 at 20 %), picked up:
  std::string vat_low, vat_high, total_pickup;
  // the same delivered (fee 4.90 at 20 %):
  std::string fee_line, vat_high_delivery, total_delivery;
};

const std::vector<Lang>& languages() {
  static const std::vector<Lang> all = {
      {"en", "hello", "Welcome to Comptoir test shop! What would you like to do?", "menu", "baguette",
       "Price: €1.20 (incl. €0.06 / 5.5 % VAT)", "In stock: 60", "add butter croissant 2", "BRD-CROISSANT", 2,
       "search", "tomato", "VEG-TOMATO", "cart", "remove", "checkout", "my orders",
       "VAT 5.5 %: €0.13 (net €2.27)", "VAT 20 %: €0.98 (net €4.92)", "Total to pay: €8.30",
       "Delivery: €4.90", "VAT 20 %: €1.80 (net €9.00)", "Total to pay: €13.20"},
      {"fr", "bonjour", "Bienvenue chez Comptoir test shop\u00a0! Que souhaitez-vous faire\u00a0?", "menu",
       "baguette tradition", "Prix\u00a0: 1,20 € (dont 0,06 € / 5,5 % de TVA)", "En stock\u00a0: 60",
       "ajouter comté 3", "DAI-COMTE", 3, "rechercher", "miel", "PAN-HONEY", "panier", "retirer", "commander",
       "mes commandes", "TVA 5,5 %\u00a0: 0,13 € (sur 2,27 € HT)", "TVA 20 %\u00a0: 0,98 € (sur 4,92 € HT)",
       "Total à payer\u00a0: 8,30 €", "Livraison\u00a0: 4,90 €", "TVA 20 %\u00a0: 1,80 € (sur 9,00 € HT)",
       "Total à payer\u00a0: 13,20 €"},
      {"de", "guten tag", "Willkommen bei Comptoir test shop! Was möchten Sie tun?", "menü", "BAGUETTE",
       "Preis: 1,20 € (inkl. 0,06 € / 5,5 % MwSt.)", "Auf Lager: 60", "hinzufügen baguette 2", "BRD-BAGUETTE", 2,
       "suchen", "honig", "PAN-HONEY", "warenkorb", "entfernen", "kasse", "meine bestellungen",
       "MwSt. 5,5 %: 0,13 € (netto 2,27 €)", "MwSt. 20 %: 0,98 € (netto 4,92 €)", "Zu zahlen: 8,30 €",
       "Lieferung: 4,90 €", "MwSt. 20 %: 1,80 € (netto 9,00 €)", "Zu zahlen: 13,20 €"},
  };
  return all;
}

class Conversation : public ::testing::TestWithParam<Lang> {
 protected:
  ChatWorld chat;
  const Lang& L = GetParam();
  const std::string me = "wcs_script_customer_0001";

  void SetUp() override { chat.open(); }

  std::string T(const std::string& key, std::initializer_list<std::pair<std::string_view, std::string>> v = {}) {
    return chat.T(L.code, key, v);
  }
  std::string N(const std::string& sku) { return chat.name_of(sku, L.code); }
  std::string M(std::int64_t minor) { return chat.money(L.code, minor); }
  std::string bakery() const { return L.code == "en" ? "Bakery" : L.code == "fr" ? "Boulangerie" : "Bäckerei"; }
  std::string privacy_link() { return std::string(kPublicUrl) + "/privacy?lang=" + L.code; }

  // Greets (or greets again), then puts 2 baguettes and 1 dry cider in the cart.
  std::vector<Step> greet_and_fill() {
    return {say(L.greeting).Cart(0), tap("add:BRD-BAGUETTE:2").Cart(2), tap("add:DRK-CIDER:1").Cart(3)};
  }
  std::vector<Step> then(std::vector<Step> a, std::vector<Step> b) {
    for (auto& s : b) a.push_back(std::move(s));
    return a;
  }
};

TEST_P(Conversation, GreetingOpensTheMenuInThatLanguage) {
  chat.run(me, {
      say(L.greeting)
          .Has(L.welcome)
          .Offers({"browse", "search", "cart", "orders", "privacy", "help", "language"})
          .NotOffers({"checkout"})  // nothing to check out yet
          .Titled("browse", T("menu.browse"))
          .Titled("cart", T("menu.cart", {{"count", "0"}}))
          .Cart(0),
      say(L.menu_word).Has(T("main.prompt", {{"shop", kShopName}})).Offers({"browse", "cart"}),
      tap("help").Has(T("help.text")).Offers({"browse", "cart", "menu"}),
      tap("privacy").Has(T("privacy.info", {{"url", privacy_link()}})).Has(privacy_link()).Offers({"menu"}),
  });
  auto c = chat.customer(me);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->language, L.code);
  // A later greeting welcomes them back.
  chat.run(me, {say(L.greeting).Has(T("welcome_back", {{"shop", kShopName}}))});
}

TEST_P(Conversation, BrowseCategoryProductAndAddByOptionNumberTitleAndCommand) {
  const std::string croissant = N("BRD-CROISSANT");
  chat.run(me, {
      say(L.greeting).Has(L.welcome),
      tap("browse")
          .Has(T("categories.prompt"))
          .Offers({"cat:bakery", "cat:dairy", "cat:produce", "cat:pantry", "cat:drinks", "menu"}),
      // Typing an option's number picks it: 1 = the first category.
      say("1")
          .Has(T("category.prompt", {{"category", bakery()}, {"page", "1"}, {"pages", "1"}}))
          .Offers({"prod:BRD-BAGUETTE", "prod:BRD-CROISSANT", "prod:BRD-BRIOCHE", "browse"})
          .NotOffers({"prod:DAI-COMTE"}),
      // Typing an option's title picks it too (case and accents do not matter).
      say(L.typed_title)
          .Has(N("BRD-BAGUETTE"))
          .Has(L.price_line)
          .Has(L.stock_line)
          .Offers({"add:BRD-BAGUETTE:1", "add:BRD-BAGUETTE:2", "qty:BRD-BAGUETTE", "cart", "menu"})
          .Titled("add:BRD-BAGUETTE:2", T("product.add", {{"qty", "2"}})),
      tap("add:BRD-BAGUETTE:2")
          .Has(T("cart.added", {{"qty", "2"}, {"name", N("BRD-BAGUETTE")}}))
          .Has(T("cart.total", {{"total", M(240)}, {"vat", M(13)}}))
          .Offers({"checkout", "cart", "menu"})
          .Titled("cart", T("menu.cart", {{"count", "2"}}))
          .Cart(2),
      say(L.menu_word).Offers({"checkout"}).Titled("cart", T("menu.cart", {{"count", "2"}})),
      // Another quantity: asked, validated, added.
      tap("prod:BRD-CROISSANT").Has(croissant).Offers({"qty:BRD-CROISSANT"}),
      tap("qty:BRD-CROISSANT").Has(T("ask.quantity", {{"name", croissant}, {"max", "80"}})).Offers({"prod:BRD-CROISSANT"}),
      say("0").Has(T("bad.quantity", {{"max", "99"}})).Offers({"prod:BRD-CROISSANT"}).Cart(2),
      say("lots").Has(T("bad.quantity", {{"max", "99"}})).Cart(2),
      say("3").Has(T("cart.added", {{"qty", "3"}, {"name", croissant}})).Cart(5),
      // The power user's text command with a quantity.
      say(L.add_command)
          .Has(T("cart.added", {{"qty", std::to_string(L.add_qty)}, {"name", N(L.add_sku)}}))
          .Offers({"checkout"})
          .Cart(5 + L.add_qty),
  });
}

TEST_P(Conversation, CategoryPageShowsItsNameAndPageCount) {
  chat.run(me, {
      say(L.greeting),
      tap("cat:bakery").Has(T("category.prompt", {{"category", bakery()}, {"page", "1"}, {"pages", "1"}})),
      tap("prod:BRD-BAGUETTE").Offers({"cat:bakery:0"}),
      tap("cat:bakery:0").Offers({"prod:BRD-BAGUETTE"}),
  });
}

TEST_P(Conversation, Search) {
  const std::string found = N(L.search_sku);
  chat.run(me, {
      say(L.greeting),
      say(L.search_word).Has(T("search.prompt")).Offers({"browse", "menu"}),
      say(L.search_query)
          .Has(T("search.results", {{"query", L.search_query}}))
          .Offers({"prod:" + L.search_sku, "search", "menu"})
          .Titled("prod:" + L.search_sku, found),
      say("1").Has(found).Offers({"add:" + L.search_sku + ":1"}),
      // In one line, and a search that finds nothing still offers a way on.
      say(L.search_word + " " + L.search_query).Offers({"prod:" + L.search_sku}),
      say(L.search_word + " xyzzyq").Has(T("search.none", {{"query", "xyzzyq"}})).Offers({"browse", "menu"}),
      // What they type at the search prompt is the query.
      tap("search"),
      say("xyzzyq").Has(T("search.none", {{"query", "xyzzyq"}})).Offers({"browse"}),
  });
}

TEST_P(Conversation, CartViewChangeRemoveAndEmpty) {
  const std::string baguette = N("BRD-BAGUETTE"), comte = N("DAI-COMTE");
  chat.run(me, {
      say(L.greeting),
      tap("add:BRD-BAGUETTE:2"),
      tap("add:DAI-COMTE:1").Cart(3),
      say(L.cart_word)
          .Has(T("cart.header"))
          .Has(T("cart.line", {{"qty", "2"}, {"name", baguette}, {"total", M(240)}}))
          .Has(T("cart.line", {{"qty", "1"}, {"name", comte}, {"total", M(690)}}))
          .Has(T("cart.total", {{"total", M(930)}, {"vat", M(48)}}))
          .Offers({"checkout", "cart:change", "cart:remove", "cart:clear", "browse", "menu"}),
      tap("cart:change").Has(T("cart.pick_change")).Offers({"setq:BRD-BAGUETTE", "setq:DAI-COMTE", "cart"}),
      tap("setq:BRD-BAGUETTE").Has(T("ask.quantity", {{"name", baguette}, {"max", "99"}})).Offers({"cart"}),
      say("-1").Has(T("bad.quantity", {{"max", "99"}})).Cart(3),
      say("5").Has(T("cart.updated", {{"name", baguette}, {"qty", "5"}})).Has(T("cart.header")).Cart(6),
      tap("cart:remove").Has(T("cart.pick_remove")).Offers({"rm:BRD-BAGUETTE", "rm:DAI-COMTE"}),
      say("2").Has(T("cart.removed", {{"name", comte}})).Cart(5),
      say(L.remove_word + " BRD-BAGUETTE").Has(T("cart.removed", {{"name", baguette}})).Has(T("cart.empty")).Cart(0),
      say(L.remove_word + " BRD-BAGUETTE").Has(T("cart.not_in_cart")).Cart(0),
      tap("add:DAI-COMTE:2").Cart(2),
      tap("cart:clear").Has(T("cart.cleared")).Offers({"browse"}).NotOffers({"checkout"}).Cart(0),
      say(L.cart_word).Has(T("cart.empty")).Offers({"browse"}),
  });
}

TEST_P(Conversation, CheckoutForPickup) {
  chat.run(me, then(
                   {say(L.greeting), tap("checkout").Has(T("checkout.cart_empty")).Offers({"browse"})},
                   then(greet_and_fill(),
                        {
                            tap("checkout")
                                .Has(T("checkout.fulfilment"))
                                .Offers({"ful:pickup", "ful:delivery", "cart"})
                                .Titled("ful:pickup", T("checkout.pickup"))
                                .Titled("ful:delivery", T("checkout.delivery", {{"fee", M(490)}})),
                            tap("ful:pickup")
                                .Has(T("checkout.summary"))
                                .Has(T("cart.line", {{"qty", "2"}, {"name", N("BRD-BAGUETTE")}, {"total", M(240)}}))
                                .Has(L.vat_low)
                                .Has(L.vat_high)
                                .Has(L.total_pickup)
                                .Has(T("checkout.summary_pickup"))
                                .Has(T("checkout.privacy", {{"url", privacy_link()}}))
                                .Lacks(L.fee_line)
                                .Offers({"confirm", "cart"})
                                .Cart(3),
                            tap("confirm")
                                .Has("C-000001")
                                .Has(T("checkout.placed", {{"number", "C-000001"},
                                                           {"total", M(830)},
                                                           {"payment", T("checkout.payment_pickup")}}))
                                .AnyOffers({"order:C-000001", "orders", "menu"})
                                // then, on its own, the marketing question (consent.md)
                                .Has(T("marketing.offer", {{"shop", kShopName}}))
                                .Offers({"mkt:yes", "mkt:no"})
                                .Cart(0),
                            // Confirming again places nothing more.
                            tap("confirm").Has(T("checkout.cart_empty")).Cart(0),
                        })));
  EXPECT_EQ(chat.w.stock_of("BRD-BAGUETTE"), 58);
  EXPECT_EQ(chat.w.stock_of("DRK-CIDER"), 23);
  auto o = chat.w.shop->orders().by_number("C-000001");
  ASSERT_TRUE(o.has_value() && o->has_value());
  EXPECT_EQ((*o)->fulfilment, "pickup");
  EXPECT_EQ((*o)->total, 830);
  EXPECT_EQ((*o)->vat_total, 13 + 98);
  EXPECT_EQ((*o)->language, L.code);
  EXPECT_EQ((*o)->lines.at(0).name, N("BRD-BAGUETTE"));  // the name as the customer saw it
  EXPECT_FALSE(chat.w.shop->orders().by_number("C-000002")->has_value());
}

TEST_P(Conversation, CheckoutForDeliveryAsksAndValidatesNameAndAddress) {
  const std::string name = "Zoé Quintessa";
  const std::string address = "17 rue des Tulipes, 75011 Paris";
  chat.run(me, then(greet_and_fill(),
                    {
                        say(L.checkout_word).Offers({"ful:pickup", "ful:delivery"}),
                        tap("ful:delivery").Has(T("checkout.ask_name")).Offers({"cart", "menu"}),
                        say("").Rejected(),
                        say("   ").Rejected(),
                        say(std::string(101, 'x'))
                            .Has(T("checkout.bad_name", {{"max", "100"}}))
                            .Lacks(T("checkout.ask_address"))
                            .Offers({"cart", "menu"}),
                        say(name).Has(T("checkout.ask_address")).Offers({"cart", "menu"}),
                        say("abc").Has(T("checkout.bad_address", {{"max", "300"}})).Offers({"cart"}),
                        say(std::string(301, 'a')).Has(T("checkout.bad_address", {{"max", "300"}})),
                        say(address)
                            .Has(T("checkout.summary"))
                            .Has(L.fee_line)
                            .Has(L.vat_low)
                            .Has(L.vat_high_delivery)
                            .Has(L.total_delivery)
                            .Has(T("checkout.summary_delivery", {{"name", name}, {"address", address}}))
                            .Has(privacy_link())
                            .Offers({"confirm", "cart"}),
                        tap("confirm")
                            .Has(T("checkout.placed", {{"number", "C-000001"},
                                                       {"total", M(1320)},
                                                       {"payment", T("checkout.payment_delivery")}}))
                            .Cart(0),
                    }));
  auto o = chat.w.shop->orders().by_number("C-000001");
  ASSERT_TRUE(o.has_value() && o->has_value());
  EXPECT_EQ((*o)->fulfilment, "delivery");
  EXPECT_EQ((*o)->delivery_fee, 490);
  EXPECT_EQ((*o)->total, 1320);
  auto d = chat.w.in_tx<commerce::OrderDetails>([&](storage::Tx& tx) { return chat.w.shop->details(tx, **o); });
  ASSERT_TRUE(d.has_value()) << why(d);
  EXPECT_EQ(d->recipient_name, name);
  EXPECT_EQ(d->delivery_address, address);
}

TEST_P(Conversation, MyOrdersAndCancellingWhilePlaced) {
  chat.run(me, then(greet_and_fill(), {tap("checkout"), tap("ful:pickup"), tap("confirm").Has("C-000001"),
                                        tap("add:DAI-COMTE:1"), tap("checkout"), tap("ful:pickup"),
                                        tap("confirm").Has("C-000002")}));
  EXPECT_EQ(chat.w.stock_of("BRD-BAGUETTE"), 58);
  auto accept_second = [&] { ASSERT_TRUE(chat.w.shop->change_status("C-000002", commerce::OrderStatus::accepted).has_value()); };
  chat.run(me, {
      say(L.orders_word)
          .Has(T("orders.header"))
          .Offers({"order:C-000001", "order:C-000002", "menu"})
          .Titled("order:C-000001", T("orders.option", {{"number", "C-000001"}, {"status", T("status.placed")}})),
      tap("order:C-000001").Has("C-000001").Has(T("status.placed")).Offers({"ocancel:C-000001", "orders"}),
      tap("ocancel:C-000001")
          .Has(T("order.confirm_cancel", {{"number", "C-000001"}}))
          .Offers({"ocancel_yes:C-000001", "order:C-000001"}),
      tap("ocancel_yes:C-000001")
          .Has(T("order.cancelled", {{"number", "C-000001"}}))
          .Titled("order:C-000001", T("orders.option", {{"number", "C-000001"}, {"status", T("status.cancelled")}})),
      // Once the shop has accepted an order, the customer can no longer cancel it.
      after(accept_second, tap("order:C-000002").Has(T("status.accepted")).NotOffers({"ocancel:C-000002"})),
      tap("ocancel:C-000002").Has(T("order.cannot_cancel", {{"number", "C-000002"}})),
      tap("ocancel_yes:C-000002").Has(T("order.cannot_cancel", {{"number", "C-000002"}})),
      tap("order:C-000404").Has(T("order.not_found")),
  });
  EXPECT_EQ(chat.w.stock_of("BRD-BAGUETTE"), 60);  // returned by the cancellation
  EXPECT_EQ(chat.w.stock_of("DRK-CIDER"), 24);
  EXPECT_EQ(chat.w.stock_of("DAI-COMTE"), 29);     // the accepted order keeps its stock
  auto second = chat.w.shop->orders().by_number("C-000002");
  ASSERT_TRUE(second.has_value() && second->has_value());
  EXPECT_EQ((*second)->status, "accepted");
  // Another customer sees none of it.
  chat.run("wcs_script_customer_0002", {
      say(L.greeting),
      tap("order:C-000002").Has(T("order.not_found")).Lacks("C-000002 "),
      tap("ocancel_yes:C-000002").Has(T("order.not_found")),
      say(L.orders_word).Has(T("orders.none")),
  });
}

TEST_P(Conversation, LanguageSwitches) {
  const std::string other = L.code == "de" ? "fr" : "de";
  chat.run(me, {
      say(L.greeting).Has(L.welcome),
      say("language " + other).Has(chat.T(other, "language.set")).Has(chat.T(other, "main.prompt")),
      tap("language").Offers({"lang:en", "lang:fr", "lang:de", "menu"}).Titled("lang:de", "Deutsch"),
      tap("lang:" + L.code).Has(T("language.set")).Offers({"browse"}).Titled("browse", T("menu.browse")),
  });
  auto c = chat.customer(me);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->language, L.code);
}

TEST_P(Conversation, UnknownInputGetsAPoliteReplyAndTheCurrentOptions) {
  chat.run(me, {
      say("qwertzuiopü").Has(chat.T("en", "unknown")).Offers({"browse", "search", "cart"}),
      say(L.greeting),
      tap("browse"),
      say("blorptastic frobnication").Has(T("unknown")).Offers({"cat:bakery", "menu"}),
      tap("no-such-option").Has(T("unknown")).Offers({"cat:bakery"}),
      say("42").Has(T("unknown")).Offers({"cat:bakery"}),
      tap("cat").Has(T("unknown")),
      tap("add:BRD-BAGUETTE:many").Has(T("unknown")).Cart(0),
      tap("add:BRD-BAGUETTE:1000").Has(T("bad.quantity", {{"max", "60"}})).Cart(0),
      tap("add:NO-SUCH-SKU:1").Has(T("product.unavailable")).Cart(0),
      tap("prod:NO-SUCH-SKU").Has(T("product.unavailable")),
      tap("cat:no-such-category").Has(T("categories.prompt")),
      tap("ful:teleport").Has(T("unknown")),
      tap("lang:xx").Has(T("language.prompt")),
      tap("setq:BRD-BAGUETTE").Has(T("cart.not_in_cart")),
      tap("rm:BRD-BAGUETTE").Has(T("cart.not_in_cart")),
      tap("confirm").Has(T("checkout.cart_empty")),
      tap("order:C-000042").Has(T("order.not_found")),
      tap("ocancel:C-000042").Has(T("order.not_found")),
      say(L.remove_word).Has(T("remove.usage")),
  });
  EXPECT_FALSE(chat.w.shop->orders().by_number("C-000001")->has_value());
}

INSTANTIATE_TEST_SUITE_P(AllLanguages, Conversation, ::testing::ValuesIn(languages()),
                         [](const ::testing::TestParamInfo<Lang>& p) { return p.param.code; });

// Greetings as people type them: any case, with punctuation (French puts a space before "!").
TEST(ConversationGreetings, CaseAndPunctuationDoNotMatter) {
  ChatWorld chat;
  chat.open();
  const std::vector<std::pair<std::string, std::string>> greetings = {
      {"Hello!", "en"}, {"HI", "en"}, {"Good morning.", "en"}, {"Bonjour !", "fr"}, {"Salut !!", "fr"},
      {"Bonjour\u00a0!", "fr"}, {"coucou\u202f?", "fr"},
      {"bonjour madame", "fr"}, {"Guten Tag!", "de"}, {"Grüß Gott", "de"}, {"hallo ?", "de"}, {"  Moin  ", "de"}};
  int i = 0;
  for (const auto& [greeting, lang] : greetings) {
    SCOPED_TRACE(greeting);
    const std::string address = "wcs_greeting_customer_" + std::to_string(100 + i++);
    chat.run(address, {say(greeting).Has(chat.T(lang, "welcome", {{"shop", kShopName}})).Offers({"browse"})});
    auto c = chat.customer(address);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->language, lang);
  }
}

// English only: "croissant" names two products in the example catalog ("Butter croissant",
// "Chocolate croissant"), so "add croissant 2" asks which one instead of guessing.
TEST(ConversationEn, AddWithAnAmbiguousNameOffersTheCandidates) {
  ChatWorld chat;
  chat.open();
  chat.run("wcs_script_customer_0003", {
      say("hi"),
      say("add croissant 2")
          .Has(chat.T("en", "add.not_found", {{"query", "croissant"}}))
          .Offers({"prod:BRD-CROISSANT", "prod:BRD-PAINCHOC"})
          .Cart(0),
      say("add BRD-CROISSANT 2").Has(chat.T("en", "cart.added", {{"qty", "2"}, {"name", "Butter croissant"}})).Cart(2),
      say("add chocolate croissant").Cart(3),
      say("add").Has(chat.T("en", "add.usage")).Cart(3),
      say("add nothing-like-this 2").Has(chat.T("en", "add.not_found", {{"query", "nothing-like-this"}})).Cart(3),
      // Typed at the search prompt that this leaves open, a word is a search, not a command.
      say("add").Has(chat.T("en", "search.none", {{"query", "add"}})).Offers({"browse"}).Cart(3),
  });
}

}  // namespace
}  // namespace comptoir::testing

// Unit tests of chat::Engine beyond the scripted conversations: validation of inbound input (and
// that a refused message changes nothing), expiry of a conversation after the configured
// inactivity (FakeClock) while the cart survives, customers isolated from each other also under
// concurrent messages, messages applied one after the other, and order status notices.
#include "src/chat/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "storage/customer_store.h"
#include "tests/support/group_commit.h"
#include "tests/unit/chat/engine_fixture.h"

namespace comptoir::testing {
namespace {

using chat::Inbound;
using privacy::Channel;

Inbound text_in(std::string text) { return inbound("wcs_validation_customer_01", std::move(text)); }
Inbound option_in(std::string option) { return inbound("wcs_validation_customer_01", "", std::move(option)); }

std::string repeat(const std::string& s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

TEST(ValidateInbound, AcceptsWellFormedInput) {
  for (const auto& in : {text_in("hi"), text_in(std::string(4096, 'a')), text_in(repeat("é", 4096)),
                         text_in(repeat("🥖", 4096)), text_in("  add baguette 2\n"), option_in("add:BRD-BAGUETTE:2"),
                         option_in(std::string(128, 'a')), option_in("cat:bakery:1"), option_in("lang:de"),
                         option_in("a.b_c-d")}) {
    auto st = chat::validate_inbound(in);
    EXPECT_TRUE(st.has_value()) << "text " << in.text.size() << " bytes, option \"" << in.option << "\"";
  }
}

TEST(ValidateInbound, RejectsMalformedInput) {
  struct Case {
    const char* what;
    Inbound in;
  };
  const std::vector<Case> cases = {
      {"neither text nor option", text_in("")},
      {"both text and option", inbound("wcs_validation_customer_01", "hi", "menu")},
      {"whitespace only", text_in(" \n\t ")},
      {"4097 characters", text_in(std::string(4097, 'a'))},
      {"4097 two-byte characters", text_in(repeat("é", 4097))},
      {"4097 four-byte characters", text_in(repeat("🥖", 4097))},
      {"invalid UTF-8", text_in("caf\xc3")},
      {"overlong UTF-8", text_in("\xc0\xaf")},
      {"option with a space", option_in("add:BRD BAGUETTE:1")},
      {"option with a slash", option_in("../etc/passwd")},
      {"option with an accent", option_in("cat:épicerie")},
      {"option with markup", option_in("<script>")},
      {"option with a quote", option_in("menu\"")},
      {"option with a NUL", option_in(std::string("menu\0x", 6))},
      {"option of 129 bytes", option_in(std::string(129, 'a'))},
      {"text and a location", [] {
         Inbound in = text_in("hi");
         in.location = "48.85,2.35";
         return in;
       }()},
      {"option and an unsupported message", [] {
         Inbound in = option_in("menu");
         in.unsupported = true;
         return in;
       }()},
  };
  for (const auto& c : cases) {
    auto st = chat::validate_inbound(c.in);
    ASSERT_FALSE(st.has_value()) << c.what;
    EXPECT_EQ(st.error().code, Errc::invalid_argument) << c.what;
    EXPECT_FALSE(st.error().public_message.empty()) << c.what;
  }
}

class EngineTest : public ::testing::Test {
 protected:
  ChatWorld chat;
  void SetUp() override { chat.open(); }
};

TEST_F(EngineTest, RefusedInputChangesNothingAndTheConversationContinues) {
  const std::string me = "wcs_refused_input_cust01";
  chat.run(me, {say("hi"), tap("add:BRD-BAGUETTE:2"), tap("checkout"), tap("ful:delivery")
                                                                          .Has(chat.T("en", "checkout.ask_name"))});
  const auto before = chat.customer(me);
  ASSERT_TRUE(before.has_value());
  chat.w.clock.advance(std::chrono::minutes(1));
  for (const auto& in : {inbound(me, ""), inbound(me, std::string(4097, 'n')), inbound(me, "Ann", "menu"),
                         inbound(me, "", "bad id!"), inbound(me, "\xff\xfe")}) {
    auto r = chat.engine->handle(in);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
  }
  // Not even the activity time moved.
  const auto after = chat.customer(me);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->last_active_at, before->last_active_at);
  // The next valid message is taken as the recipient's name, as it would have been.
  chat.run(me, {say("Ann Example").Has(chat.T("en", "checkout.ask_address")).Cart(2)});

  // An address no channel could produce is refused before anything is created.
  auto bad = chat.engine->handle(inbound("short", "hi"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
}

TEST_F(EngineTest, ConversationExpiresAfterTheConfiguredInactivityAndTheCartSurvives) {
  auto s = ChatWorld::default_settings();
  s.inactivity = std::chrono::minutes(10);
  chat.open(s);
  const std::string me = "wcs_expiry_customer_0001";
  chat.run(me, {say("hallo"), tap("add:BRD-BAGUETTE:2").Cart(2), tap("checkout"),
                tap("ful:delivery").Has(chat.T("de", "checkout.ask_name"))});
  // Within the inactivity limit the conversation goes on where it was.
  chat.w.clock.advance(std::chrono::minutes(9));
  chat.run(me, {say("Anna Beispiel").Has(chat.T("de", "checkout.ask_address"))});
  // After it, the same kind of input is no longer taken as an answer: back to the menu, politely,
  // with the cart intact and still in German.
  chat.w.clock.advance(std::chrono::minutes(10) + std::chrono::seconds(1));
  chat.run(me, {
      say("Hauptstraße 5, 10115 Berlin")
          .Has(chat.T("de", "unknown"))
          .Lacks(chat.T("de", "checkout.summary"))
          .Offers({"checkout", "browse"})
          .Titled("cart", chat.T("de", "menu.cart", {{"count", "2"}}))
          .Cart(2),
      tap("confirm").Lacks("C-000001").Cart(2),  // the expired confirmation screen cannot be used
      tap("checkout").Offers({"ful:pickup"}),
      tap("ful:pickup"),
      tap("confirm").Has("C-000001").Cart(0),
  });
  // After a long absence the customer's language is still remembered.
  chat.w.clock.advance(std::chrono::hours(24 * 30));
  chat.run(me, {say("menü").Has(chat.T("de", "main.prompt")).Offers({"browse"})});
}

TEST_F(EngineTest, ProductPagesPageThroughACategory) {
  auto s = ChatWorld::default_settings();
  s.page_size = 4;
  chat.open(s);
  chat.run("wcs_paging_customer_00001", {
      say("hi"),
      tap("cat:bakery")
          .Has("Bakery (page 1 of 2)")
          .Offers({"prod:BRD-BAGUETTE", "cat:bakery:1", "browse"})
          .NotOffers({"prod:BRD-BRIOCHE", "cat:bakery:-1"})
          .Titled("cat:bakery:1", "Next page"),
      say("next page").Has("Bakery (page 2 of 2)").Offers({"prod:BRD-BRIOCHE", "cat:bakery:0"}).NotOffers({"cat:bakery:2"}),
      tap("cat:bakery:9").Has("Bakery (page 2 of 2)"),  // past the end: the last page
      tap("prod:BRD-BRIOCHE").Offers({"cat:bakery:1"}),    // back returns to the page it came from
  });
}

TEST_F(EngineTest, StockOrAvailabilityChangingDuringCheckoutIsExplained) {
  const std::string me = "wcs_stock_change_cust001";
  chat.run(me, {say("hi"), tap("add:DRK-CHAMPAGNE:2"), tap("add:BRD-BAGUETTE:1"), tap("checkout"),
                tap("ful:pickup").Has("Champagne brut").Offers({"confirm"})});
  // Someone else buys most of the champagne while this customer reads the summary.
  chat.w.set_stock("DRK-CHAMPAGNE", 1);
  chat.run(me, {
      tap("confirm")
          .Has(chat.T("en", "checkout.unavailable", {{"items", "Champagne brut (75 cl)"}}))
          .Lacks("C-000001")
          .Offers({"cart:change", "checkout"})
          .Cart(3),
  });
  EXPECT_FALSE(chat.w.shop->orders().by_number("C-000001")->has_value());
  EXPECT_EQ(chat.w.stock_of("BRD-BAGUETTE"), 60);
  // A product withdrawn from sale shows as such in the cart and blocks the checkout.
  chat.w.set_stock("DRK-CHAMPAGNE", 8, false);
  chat.run(me, {
      tap("cart").Has(chat.T("en", "cart.line_unavailable", {{"qty", "2"}, {"name", "Champagne brut (75 cl)"}})),
      tap("checkout").Has(chat.T("en", "checkout.unavailable", {{"items", "Champagne brut (75 cl)"}})).NotOffers({"ful:pickup"}),
      tap("rm:DRK-CHAMPAGNE").Cart(1),
      tap("checkout"),
      tap("ful:pickup"),
      tap("confirm").Has("C-000001").Cart(0),
  });
}

TEST_F(EngineTest, TwoCustomersNeverSeeEachOthersCarts) {
  const std::string ann = "wcs_isolation_customer_ann", bob = "wcs_isolation_customer_bob";
  chat.run(ann, {say("hello"), tap("add:BRD-BAGUETTE:2").Cart(2)});
  chat.run(bob, {say("bonjour"), tap("add:DAI-COMTE:1").Cart(1)});
  chat.run(ann, {say("cart").Has(chat.name_of("BRD-BAGUETTE", "en")).Lacks("Comté").Cart(2)});
  chat.run(bob, {say("panier").Has("Comté").Lacks("Baguette").Cart(1),
                 tap("checkout"), tap("ful:pickup").Lacks("Baguette"), tap("confirm").Has("C-000001").Cart(0)});
  chat.run(ann, {tap("cart").Has("Baguette").Cart(2), tap("cart:clear").Cart(0)});
  auto o = chat.w.shop->orders().by_number("C-000001");
  ASSERT_TRUE(o.has_value() && o->has_value());
  ASSERT_EQ((*o)->lines.size(), 1u);
  EXPECT_EQ((*o)->lines[0].sku, "DAI-COMTE");
  EXPECT_EQ(chat.w.stock_of("BRD-BAGUETTE"), 60);
}

TEST_F(EngineTest, ConcurrentCustomersAndConcurrentMessagesOfOneCustomerAreAllApplied) {
  constexpr int kCustomers = 4;
  constexpr int kAddsEach = 6;
  const std::vector<std::string> skus = {"BRD-BAGUETTE", "DAI-COMTE", "VEG-LEMON", "DRK-WATER"};
  std::vector<std::string> addresses;
  for (int i = 0; i < kCustomers; ++i) addresses.push_back("wcs_concurrent_chatter_" + std::to_string(i));
  // Every customer sends kAddsEach messages, several of them at the same moment.
  std::latch start(kCustomers * kAddsEach);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int c = 0; c < kCustomers; ++c) {
    for (int k = 0; k < kAddsEach; ++k) {
      threads.emplace_back([&, c] {
        start.arrive_and_wait();
        const auto& sku = skus[static_cast<std::size_t>(c)];
        auto r = chat.send(addresses[static_cast<std::size_t>(c)], "", "add:" + sku + ":1");
        if (!r || r->empty() || r->back().options.empty()) failures++;
      });
    }
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int c = 0; c < kCustomers; ++c) {
    auto customer = chat.customer(addresses[static_cast<std::size_t>(c)]);
    ASSERT_TRUE(customer.has_value()) << c;
    const auto cart = chat.w.cart(customer->id);
    ASSERT_EQ(cart.lines.size(), 1u) << "customer " << c << " sees another customer's items";
    EXPECT_EQ(cart.lines[0].sku, skus[static_cast<std::size_t>(c)]);
    EXPECT_EQ(cart.lines[0].quantity, kAddsEach) << "an update was lost";
  }
}

TEST_F(EngineTest, StatusNoticeReachesTheCustomerInTheirLanguage) {
  // Wired as `serve` wires it: the notice is queued in the status change's transaction.
  chat.w.shop->set_status_listener([&](storage::Tx& tx, const storage::OrderRecord& o, const commerce::Customer& c) {
    return chat.inbox->deliver(tx, c, chat.engine->status_notice(o, c.language));
  });
  const std::string me = "wcs_status_notice_cust01";
  chat.run(me, {say("hallo"), tap("add:BRD-BAGUETTE:1"), tap("checkout"), tap("ful:pickup"), tap("confirm").Has("C-000001")});
  auto none = chat.inbox->fetch(Channel::webchat, me, 0, 100);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());

  ASSERT_TRUE(chat.w.shop->change_status("C-000001", commerce::OrderStatus::accepted).has_value());
  ASSERT_TRUE(chat.w.shop->change_status("C-000001", commerce::OrderStatus::ready).has_value());
  auto got = chat.inbox->fetch(Channel::webchat, me, 0, 100);
  ASSERT_TRUE(got.has_value()) << why(got);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].reply.text, chat.T("de", "notify.accepted", {{"number", "C-000001"}}));
  EXPECT_EQ((*got)[1].reply.text, chat.T("de", "notify.ready", {{"number", "C-000001"}}));
  ASSERT_FALSE((*got)[0].reply.options.empty());
  EXPECT_EQ((*got)[0].reply.options[0].id, "order:C-000001");
  auto later = chat.inbox->fetch(Channel::webchat, me, (*got)[0].id, 100);
  ASSERT_TRUE(later.has_value());
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ((*later)[0].id, (*got)[1].id);
  // Nobody else gets them.
  auto other = chat.inbox->fetch(Channel::webchat, "wcs_status_notice_cust02", 0, 100);
  ASSERT_TRUE(other.has_value());
  EXPECT_TRUE(other->empty());
  // The customer's own cancellation in the chat is answered in the chat, not queued again.
  chat.run(me, {tap("add:BRD-BAGUETTE:1"), tap("checkout"), tap("ful:pickup"), tap("confirm").Has("C-000002"),
                tap("ocancel_yes:C-000002").Has(chat.T("de", "order.cancelled", {{"number", "C-000002"}}))});
  auto after = chat.inbox->fetch(Channel::webchat, me, 0, 100);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->size(), 2u);
}

// Database::write may run a message's transaction twice: when another write of the same group
// commit fails, the batch is rolled back and replayed. The message must then take effect once,
// and the replies returned are those of the run that committed.
TEST_F(EngineTest, AMessageReplayedByTheGroupCommitTakesEffectOnce) {
  const std::string me = "wcs_group_commit_replay01";
  const std::string control = "wcs_group_commit_control1";
  for (const auto& who : {me, control}) chat.run(who, {say("hi"), tap("browse")});
  auto expected = chat.send(control, "", "add:BRD-BAGUETTE:1");
  ASSERT_TRUE(expected.has_value()) << why(expected);

  Result<std::vector<chat::Reply>> replies = fail(Errc::internal, "not run");
  Status failing = ok();
  run_as_one_batch(*chat.w.db, {
                                   [&] { replies = chat.send(me, "", "add:BRD-BAGUETTE:1"); },
                                   [&] {
                                     failing = chat.w.db->write([](storage::Tx&) -> Status {
                                       return fail(Errc::conflict, "a write that fails");
                                     });
                                   },
                               });
  ASSERT_FALSE(failing.has_value());
  ASSERT_EQ(chat.w.db->stats().batch_replays, 1u) << "the message's write did not run twice";
  ASSERT_TRUE(replies.has_value()) << why(replies);
  ASSERT_EQ(replies->size(), expected->size());
  for (std::size_t i = 0; i < replies->size(); ++i) {
    EXPECT_EQ((*replies)[i].text, (*expected)[i].text);
    ASSERT_EQ((*replies)[i].options.size(), (*expected)[i].options.size());
    for (std::size_t j = 0; j < (*replies)[i].options.size(); ++j) {
      EXPECT_EQ((*replies)[i].options[j].id, (*expected)[i].options[j].id);
    }
  }
  EXPECT_EQ(chat.cart_count(me), 1);  // added once, not twice
  // The conversation goes on from the state the committed run left.
  chat.run(me, {tap("checkout").Offers({"ful:pickup"}), tap("ful:pickup"), tap("confirm").Has("C-000001").Cart(0)});
}

TEST_F(EngineTest, AMessageUnwrapsTheCustomersKeyOnce) {
  const std::string me = "wcs_one_unwrap_per_message";
  chat.run(me, {say("hi")});
  for (const auto& step : {tap("browse"), tap("add:BRD-BAGUETTE:1"), say("cart"), tap("checkout")}) {
    const auto before = chat.w.vault->unwraps();
    chat.run(me, {step});  // opens the sealed state, seals the new one
    EXPECT_EQ(chat.w.vault->unwraps(), before + 1) << step.label();
  }
}

// The conversation state is sealed JSON read back without a document tree: whatever its member
// order and spacing, with unknown members ignored; and a state that is damaged, of another shape
// or with members of the wrong type never breaks a conversation, it starts afresh.
TEST_F(EngineTest, AStoredStateIsReadWhateverItsLayoutAndADamagedOneStartsAfresh) {
  const std::string me = "wcs_state_layouts_000001";
  chat.run(me, {say("hi"), tap("add:BRD-BAGUETTE:1").Cart(1)});
  const auto customer = chat.customer(me);
  ASSERT_TRUE(customer.has_value());
  const auto store_state = [&](const std::string& text) {
    ASSERT_TRUE(chat.w.db->write([&](storage::Tx& tx) -> Status {
                      auto sealed = chat.w.vault->seal(tx, customer->subject_id,
                                                       {"conversations", "state", std::to_string(customer->id)}, text);
                      if (!sealed) return std::unexpected(sealed.error());
                      storage::CustomerStore store(*chat.w.db);
                      return store.save_conversation(tx, customer->id, {std::move(*sealed), unix_seconds(chat.w.clock.now())});
                    }).has_value());
  };
  // Members in another order, spaces, an unknown member, an option pair of the wrong shape: the
  // screen and the well-formed options are read.
  store_state(R"( { "options" : [ ["prod:BRD-BAGUETTE", "Baguette"], ["x"], [1, 2], ["a", "b", "c"] ],
                    "later" : {"a": [1, {"b": null}]}, "page": 0, "screen" : "ask_name", "ful": "delivery", "v": 1 } )");
  chat.run(me, {say("Anna Beispiel").Has(chat.T("en", "checkout.ask_address"))});
  for (const std::string damaged :
       {std::string("{\"screen\": \"ask_name\", \"ful\": \"delivery\""),  // cut short
        std::string("[\"ask_name\"]"), std::string("\"ask_name\""), std::string(""), std::string("null"),
        std::string("{\"screen\": \"ask_name\"} trailing"), std::string("{\"screen\": 7, \"page\": \"x\"}"),
        std::string("{\"screen\": [\"ask_name\"], \"ful\": {\"delivery\": 1}}")}) {
    store_state(damaged);
    // Not taken as a name: the reply of a fresh conversation to unknown text, the cart intact.
    chat.run(me, {say("Anna Beispiel").Lacks(chat.T("en", "checkout.ask_address")).Cart(1)});
  }
}

TEST_F(EngineTest, TheActivityTimeIsKeptToTheMinute) {
  const std::string me = "wcs_activity_to_the_minute";
  chat.run(me, {say("hi")});
  const auto first = chat.customer(me);
  ASSERT_TRUE(first.has_value());
  chat.w.clock.advance(std::chrono::seconds(59));
  chat.run(me, {tap("browse")});
  EXPECT_EQ(chat.customer(me)->last_active_at, first->last_active_at) << "written again within the minute";
  chat.w.clock.advance(std::chrono::seconds(1));
  chat.run(me, {tap("menu")});
  EXPECT_EQ(chat.customer(me)->last_active_at, first->last_active_at + 60);
}

}  // namespace
}  // namespace comptoir::testing

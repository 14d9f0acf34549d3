// End-to-end tests of the WhatsApp Cloud API channel: the real `comptoir serve` with its Graph API
// pointed at a stand-in run by the test (channels_harness.h). Covers the verification handshake,
// signatures (including bodies with accents, emoji and '@' escaped as Meta sends them), every
// message type the shop handles, duplicates, statuses that only move forward, retries after 5xx,
// permanent errors, the 24-hour window (with and without a template), full checkouts with buttons
// and with a native catalog order, and an order status notice. Every test ends with a clean stop
// and a search of the server's output for the phone numbers, profile names and texts it was sent.
#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/channels_harness.h"

namespace comptoir::testing::e2e {
namespace {

std::string text_of(const std::vector<json>& msgs) { return wa_text_of(msgs); }

TEST(WhatsApp, VerificationHandshake) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start());
  auto c = shop.s->client();
  const std::string challenge = "1158201444";
  auto r = c.Get(("/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=" + challenge + "&hub.verify_token=" + kVerifyToken).c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, challenge);  // raw, not JSON
  EXPECT_NE(r->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  // Parameters in another order, a challenge with URL-escaped characters.
  r = c.Get(("/webhooks/whatsapp?hub.verify_token=" + kVerifyToken + "&hub.challenge=a%2Bb%20c&hub.mode=subscribe").c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "a+b c");
  for (const std::string& query : std::vector<std::string>{"hub.mode=subscribe&hub.challenge=1&hub.verify_token=" + kVerifyToken + "x",
                                  "hub.mode=subscribe&hub.challenge=1&hub.verify_token=" + kVerifyToken.substr(1),
                                  "hub.mode=subscribe&hub.challenge=1&hub.verify_token=",
                                  "hub.mode=subscribe&hub.challenge=1",
                                  "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=" + kVerifyToken,
                                  "hub.mode=SUBSCRIBE&hub.challenge=1&hub.verify_token=" + kVerifyToken,
                                  "hub.challenge=1&hub.verify_token=" + kVerifyToken,
                                  "hub.mode=subscribe&hub.verify_token=" + kVerifyToken,
                                  "hub_mode=subscribe&hub_challenge=1&hub_verify_token=" + kVerifyToken,
                                  std::string()}) {
    r = c.Get(("/webhooks/whatsapp?" + query).c_str());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << query;
    EXPECT_EQ(r->body.find("\"1\""), std::string::npos);
    EXPECT_NE(r->body, "1") << query;
  }
  shop.stop();
}

TEST(WhatsApp, SignaturesAreCheckedOverTheRawBytes) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start());
  WaCustomer zoe(shop, "33687654321", "Zoé Ferrand-Lebœuf");
  const std::string text = "Crème brûlée 🍰 pour zoé@exemple.fr <3 à 100% ?";
  shop.personal(text);
  const json notification = wa::envelope(json::array({wa::text(zoe.phone(), zoe.next_id(), text)}), nullptr, zoe.phone(), "Zoé Ferrand-Lebœuf");
  const std::string body = meta_escaped(notification);
  ASSERT_NE(body.find("\\u00e8"), std::string::npos) << body;
  ASSERT_NE(body.find("\\ud83c\\udf70"), std::string::npos) << body;
  ASSERT_NE(body.find("\\u0040"), std::string::npos) << body;
  const SecretBytes secret = SecretBytes::copy_of(kAppSecret);
  const std::string good = channels::whatsapp::sign(body, secret);
  std::string upper = good;
  for (std::size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));

  auto c = shop.s->client();
  struct Bad {
    const char* what;
    httplib::Headers headers;
    std::string body;
  };
  const std::vector<Bad> bad = {
      {"no header", {}, body},
      {"empty header", {{"X-Hub-Signature-256", ""}}, body},
      {"wrong digest", {{"X-Hub-Signature-256", "sha256=" + std::string(64, 'a')}}, body},
      {"other key", {{"X-Hub-Signature-256", channels::whatsapp::sign(body, SecretBytes::copy_of(kVerifyToken))}}, body},
      {"short", {{"X-Hub-Signature-256", good.substr(0, good.size() - 2)}}, body},
      {"upper-case prefix", {{"X-Hub-Signature-256", "SHA256=" + good.substr(7)}}, body},
      {"legacy sha1 only", {{"X-Hub-Signature", "sha1=" + good.substr(7, 40)}}, body},
      // The same message re-serialised (UTF-8, '@' unescaped) with the signature of Meta's bytes.
      {"re-serialised body", {{"X-Hub-Signature-256", good}}, notification.dump()},
      {"one byte added", {{"X-Hub-Signature-256", good}}, body + "\n"},
  };
  for (const auto& b : bad) {
    auto r = c.Post("/webhooks/whatsapp", b.headers, b.body, "application/json");
    ASSERT_TRUE(r) << b.what;
    EXPECT_EQ(r->status, 401) << b.what << ": " << r->body;
  }
  // Nothing was stored or answered.
  EXPECT_EQ(shop.outbox()["counts"], json({{"pending", 0}, {"sent", 0}, {"delivered", 0}, {"read", 0}, {"failed", 0}}));
  EXPECT_EQ(shop.graph.count(), 0u);

  // Signed right — header name in any case, hex digits in either case — it is read.
  auto r = c.Post("/webhooks/whatsapp", {{"x-hub-signature-256", good}}, body, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["processed"], 1);
  shop.settled();
  const auto replies = zoe.fresh();
  ASSERT_FALSE(replies.empty());
  r = c.Post("/webhooks/whatsapp", {{"X-HUB-SIGNATURE-256", upper}}, body, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["duplicates"], 1);
  // A signed body that is not a WhatsApp notification: 400, nothing stored.
  const std::string page = R"({"object":"page","entry":[]})";
  auto p = shop.post_whatsapp(page);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 400);
  auto junk = shop.post_whatsapp("not json at all");
  ASSERT_TRUE(junk);
  EXPECT_EQ(junk->status, 400);
  shop.settled();
  EXPECT_TRUE(zoe.fresh().empty());
  shop.stop();
}

TEST(WhatsApp, EveryMessageType) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start());
  std::vector<std::unique_ptr<WaCustomer>> customers;
  auto customer = [&](const std::string& phone, const std::string& name) -> WaCustomer& {
    customers.push_back(std::make_unique<WaCustomer>(shop, phone, name));
    return *customers.back();
  };
  const std::string sorry = "Sorry, I can only read text and buttons.";

  WaCustomer& text = customer("33611110001", "Amandine Texte");
  auto got = text.say("Bonjour, je voudrais commander");
  ASSERT_FALSE(got.empty());
  EXPECT_TRUE(offers(got, "browse")) << WaCustomer::dump(got);

  WaCustomer& button = customer("33611110002", "Baptiste Bouton");
  got = button.send(wa::button_reply(button.phone(), button.next_id(), "browse", "Browse"));
  EXPECT_TRUE(offers(got, "cat:bakery")) << WaCustomer::dump(got);

  WaCustomer& list = customer("33611110003", "Capucine Liste");
  got = list.send(wa::list_reply(list.phone(), list.next_id(), "cat:bakery", "Bakery"));
  EXPECT_TRUE(offers(got, "prod:BRD-BAGUETTE")) << WaCustomer::dump(got);

  WaCustomer& tpl = customer("33611110004", "Damien Modèle");
  got = tpl.send(wa::message(tpl.phone(), tpl.next_id(), "button", {{"payload", "browse"}, {"text", "Voir la boutique"}}));
  EXPECT_TRUE(offers(got, "cat:bakery")) << WaCustomer::dump(got);

  WaCustomer& order = customer("33611110005", "Éloïse Commande");
  got = order.send(wa::message(order.phone(), order.next_id(), "order",
                               {{"catalog_id", "194836987003835"}, {"text", ""},
                                {"product_items", json::array({{{"product_retailer_id", "BRD-BAGUETTE"}, {"quantity", 2},
                                                                {"item_price", 0.01}, {"currency", "EUR"}}})}}));
  EXPECT_NE(text_of(got).find("Added 2 × Baguette"), std::string::npos) << text_of(got);
  EXPECT_TRUE(offers(got, "ful:pickup")) << WaCustomer::dump(got);

  // A location outside of a delivery address question is politely declined…
  WaCustomer& place = customer("33611110006", "Fabrice Lieu");
  got = place.send(wa::message(place.phone(), place.next_id(), "location", {{"latitude", 48.8738}, {"longitude", 2.295}}));
  EXPECT_NE(text_of(got).find(sorry), std::string::npos) << text_of(got);
  // …and answers it when the checkout asks for the address.
  place.say("add baguette 1");
  got = place.choose("checkout");
  got = place.choose("ful:delivery");
  EXPECT_NE(text_of(got).find("recipient"), std::string::npos) << text_of(got);
  place.say("Fabrice Lieu");
  const std::string address = "8 rue des Lilas Cachées, 69003 Lyon";
  shop.personal(address);
  got = place.send(wa::message(place.phone(), place.next_id(), "location",
                               {{"latitude", 45.76}, {"longitude", 4.85}, {"name", "Chez moi"}, {"address", address}}));
  EXPECT_NE(text_of(got).find(address), std::string::npos) << text_of(got);
  EXPECT_TRUE(offers(got, "confirm")) << WaCustomer::dump(got);

  // Media, reactions, contacts and types we do not know: the same polite answer, content unread.
  const std::string caption = "Photo du bon de commande de Gaëlle";
  shop.personal(caption);
  const std::vector<std::pair<std::string, json>> unreadable = {
      {"image", {{"id", "1479537139650973"}, {"mime_type", "image/jpeg"}, {"sha256", "aGVsbG8="}, {"caption", caption}}},
      {"sticker", {{"id", "8821739219"}, {"mime_type", "image/webp"}, {"sha256", "c3RpY2s="}, {"animated", false}}},
      {"reaction", {{"message_id", "wamid.ANY"}, {"emoji", "❤️"}}},
      {"audio", {{"id", "2"}, {"mime_type", "audio/ogg; codecs=opus"}, {"voice", true}}},
      {"unsupported", nullptr},
  };
  int n = 0;
  for (const auto& [type, payload] : unreadable) {
    WaCustomer& who = customer("3361111002" + std::to_string(n++), "Gaëlle Média " + type);
    json m = wa::message(who.phone(), who.next_id(), type, payload);
    if (type == "unsupported") m["errors"] = json::array({{{"code", 131051}, {"title", "Message type unknown"}}});
    got = who.send(m);
    EXPECT_NE(text_of(got).find(sorry), std::string::npos) << type << ": " << text_of(got);
    EXPECT_FALSE(offered_ids(got.back()).empty()) << type;
  }
  // A username user with a business-scoped id and no phone number.
  const std::string bsuid = "FR.71928364500012";
  shop.personal("Hortense Pseudonyme");
  json value_msg = {{"from_user_id", bsuid}, {"id", "wamid.BSUID.1"}, {"timestamp", std::to_string(unix_now())}, {"type", "text"},
                    {"text", {{"body", "hello"}}}};
  json env = wa::envelope(json::array({value_msg}));
  env["entry"][0]["changes"][0]["value"]["contacts"] =
      json::array({{{"profile", {{"name", "Hortense Pseudonyme"}, {"username", "hortense.p"}}}, {"user_id", bsuid}}});
  EXPECT_EQ(shop.whatsapp(env)["processed"], 1);
  shop.settled();
  EXPECT_FALSE(shop.graph.sent_to(bsuid).empty());

  // Meta's dashboard "Test" payload is for another number: acknowledged, skipped, unanswered.
  const std::string test_payload = R"({"entry":[{"id":"0","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",)"
                                   R"("metadata":{"display_phone_number":"16505551111","phone_number_id":"123456123"},)"
                                   R"("contacts":[{"profile":{"name":"test user name"},"wa_id":"16315551181"}],)"
                                   R"("messages":[{"from":"16315551181","id":"ABGGFlA5Fpa","timestamp":"1504902988","type":"text",)"
                                   R"("text":{"body":"this is a text message"}}]}}]}],"object":"whatsapp_business_account"})";
  auto r = shop.post_whatsapp(test_payload);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["skipped"], 1);
  shop.settled();
  EXPECT_TRUE(shop.graph.sent_to("16315551181").empty());

  // Several messages of several customers in one notification, with a malformed one among them.
  WaCustomer& m1 = customer("33611110031", "Irène Multiple");
  WaCustomer& m2 = customer("33611110032", "Jules Multiple");
  json batch = wa::envelope(json::array({wa::text(m1.phone(), m1.next_id(), "hello"), json("garbage"),
                                         wa::text(m2.phone(), m2.next_id(), "hello")}));
  json second = wa::envelope(json::array({wa::button_reply(m1.phone(), m1.next_id(), "cart")}))["entry"][0];
  batch["entry"].push_back(second);
  const json res = shop.whatsapp(batch);
  EXPECT_EQ(res["processed"], 3) << res.dump();
  EXPECT_EQ(res["skipped"], 1) << res.dump();
  shop.settled();
  EXPECT_GE(m1.fresh().size(), 2u);
  EXPECT_GE(m2.fresh().size(), 1u);

  // Every send used the bearer token and the phone number id.
  for (const auto& req : shop.graph.requests()) {
    EXPECT_EQ(req.path, "/v21.0/" + kPhoneNumberId + "/messages");
    EXPECT_EQ(req.authorization, "Bearer " + kAccessToken);
    EXPECT_EQ(req.answered, 200) << req.body;
  }
  shop.stop();
}

TEST(WhatsApp, DuplicatesAreProcessedOnce) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start());
  WaCustomer kim(shop, "4915112345678", "Kim Doppelt");
  shop.personal("hallo zusammen");
  const json message = wa::text(kim.phone(), "wamid.DUPLICATE.1", "hallo zusammen");
  const json notification = wa::envelope(json::array({message}), nullptr, kim.phone(), "Kim Doppelt");
  EXPECT_EQ(shop.whatsapp(notification)["processed"], 1);
  shop.settled();
  const std::size_t once = kim.fresh().size();
  ASSERT_GE(once, 1u);
  // Meta retries: sequentially, and several at the same time.
  const json again = shop.whatsapp(notification);
  EXPECT_EQ(again["processed"], 0);
  EXPECT_EQ(again["duplicates"], 1);
  const json concurrent_msg = wa::text(kim.phone(), "wamid.DUPLICATE.2", "hallo zusammen");
  const std::string body = meta_escaped(wa::envelope(json::array({concurrent_msg}), nullptr, kim.phone(), "Kim Doppelt"));
  constexpr int kCopies = 6;
  std::latch go(kCopies);
  std::atomic<int> processed{0}, duplicates{0}, failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kCopies; ++i) {
    threads.emplace_back([&] {
      go.arrive_and_wait();
      auto r = shop.post_whatsapp(body);
      if (!r || r->status != 200) {
        ++failures;
        return;
      }
      const json j = json::parse(r->body);
      processed += j["processed"].get<int>();
      duplicates += j["duplicates"].get<int>();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(processed.load(), 1);
  EXPECT_EQ(duplicates.load(), kCopies - 1);
  shop.settled();
  EXPECT_EQ(kim.fresh().size(), once);  // one set of replies for the second message, none more
  EXPECT_EQ(shop.graph.sent_to(kim.phone()).size(), 2 * once);
  const json counts = shop.outbox()["counts"];
  EXPECT_EQ(counts["sent"], 2 * once);
  shop.stop();
}

TEST(WhatsApp, StatusesMoveForwardOnly) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start());
  WaCustomer lea(shop, "32470123456", "Léa Statut");
  ASSERT_FALSE(lea.say("hello").empty());
  json list = shop.outbox();
  ASSERT_GE(list["messages"].size(), 1u);
  const json row = list["messages"][0];
  EXPECT_EQ(row["status"], "sent");
  EXPECT_EQ(row["channel"], "whatsapp");
  EXPECT_EQ(row["attempts"], 1);
  const std::string wamid = row["external_id"].get<std::string>();
  ASSERT_TRUE(wamid.starts_with("wamid.STANDIN")) << row.dump();
  EXPECT_FALSE(row.contains("body"));
  auto status_now = [&] {
    const json all = shop.outbox();
    for (const auto& m : all["messages"]) {
      if (m["external_id"] == wamid) return m["status"].get<std::string>();
    }
    return std::string("missing");
  };
  // read arrives before delivered (out of order), and sent comes last: read stays.
  EXPECT_EQ(shop.whatsapp(wa::envelope(nullptr, json::array({wa::status(wamid, "read", lea.phone())})))["statuses"], 1);
  EXPECT_EQ(status_now(), "read");
  shop.whatsapp(wa::envelope(nullptr, json::array({wa::status(wamid, "delivered", lea.phone())})));
  EXPECT_EQ(status_now(), "read");
  shop.whatsapp(wa::envelope(nullptr, json::array({wa::status(wamid, "sent", lea.phone()), wa::status(wamid, "delivered", lea.phone())})));
  EXPECT_EQ(status_now(), "read");
  json read_list = shop.outbox("?status=read");
  ASSERT_EQ(read_list["messages"].size(), 1u);
  EXPECT_EQ(read_list["messages"][0]["external_id"], wamid);
  EXPECT_EQ(read_list["counts"]["read"], 1);
  // Every message went out naming its outbox entry in biz_opaque_callback_data, which Meta echoes
  // in statuses: such a status needs no recipient to find its message.
  const std::string tracker = "comptoir.outbox." + std::to_string(row["id"].get<std::int64_t>());
  bool carried = false;
  for (const auto& sent : shop.graph.sent_to(lea.phone())) carried = carried || sent.value("biz_opaque_callback_data", "") == tracker;
  EXPECT_TRUE(carried) << tracker;
  json tracked = wa::status(wamid, "failed", lea.phone());
  tracked.erase("recipient_id");
  tracked["biz_opaque_callback_data"] = tracker;
  tracked["errors"] = json::array({{{"code", 131049}, {"title", "Meta chose not to deliver"}}});
  EXPECT_EQ(shop.whatsapp(wa::envelope(nullptr, json::array({tracked})))["statuses"], 1);
  EXPECT_EQ(status_now(), "failed");

  // A second reply goes sent → delivered → read in order; then a late failure wins.
  ASSERT_FALSE(lea.choose("browse").empty());
  list = shop.outbox("?status=sent");
  ASSERT_GE(list["messages"].size(), 1u);
  const std::string second = list["messages"][0]["external_id"].get<std::string>();
  shop.whatsapp(wa::envelope(nullptr, json::array({wa::status(second, "delivered", lea.phone())})));
  EXPECT_EQ(shop.outbox("?status=delivered")["messages"][0]["external_id"], second);
  json failed = wa::status(second, "failed", lea.phone());
  failed["errors"] = json::array({{{"code", 131026}, {"title", "Message undeliverable"},
                                   {"error_data", {{"details", "Message Undeliverable."}}}}});
  shop.whatsapp(wa::envelope(nullptr, json::array({failed})));
  shop.whatsapp(wa::envelope(nullptr, json::array({wa::status(second, "read", lea.phone())})));
  const json f = shop.outbox("?status=failed");
  ASSERT_EQ(f["messages"].size(), 2u);  // newest first: the second reply, then the first
  EXPECT_EQ(f["messages"][0]["external_id"], second);
  EXPECT_EQ(f["messages"][0]["last_error"], "131026 Message undeliverable");
  EXPECT_EQ(f["messages"][1]["external_id"], wamid);
  EXPECT_EQ(f["messages"][1]["last_error"], "131049 Meta chose not to deliver");
  // Statuses for unknown messages are acknowledged and change nothing.
  const json unknown = shop.whatsapp(wa::envelope(nullptr, json::array({wa::status("wamid.NOT.OURS", "read", lea.phone())})));
  EXPECT_EQ(unknown["statuses"], 0);
  auto c = shop.s->client();
  EXPECT_EQ(c.Get("/api/v1/outbox")->status, 401);
  EXPECT_EQ(c.Get("/api/v1/outbox?status=bogus", {{"Authorization", "Bearer " + shop.op}})->status, 400);
  shop.stop();
}

TEST(WhatsApp, ServerErrorsAreRetriedAndReEngagementIsPermanent) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start());
  WaCustomer max(shop, "34612345678", "Máximo Reintento");
  // The Graph API fails twice with 500: the reply still arrives, after three attempts.
  shop.graph.fail_next(2, 500, R"({"error":{"message":"An unexpected error has occurred.","code":2,"type":"OAuthException"}})");
  auto got = max.say("hello");
  ASSERT_FALSE(got.empty());
  EXPECT_TRUE(offers(got, "browse")) << WaCustomer::dump(got);
  EXPECT_EQ(shop.graph.attempts_to(max.phone()), got.size() + 2);
  json sent = shop.outbox("?status=sent");
  ASSERT_FALSE(sent["messages"].empty());
  const json first = sent["messages"].back();  // the oldest
  EXPECT_EQ(first["attempts"], 3) << sent.dump();
  EXPECT_TRUE(first["last_error"].is_null());

  // Rate limited (130429, HTTP 400) once, then accepted.
  shop.graph.fail_next_with_code(1, 130429, "Rate limit hit");
  got = max.choose("browse");
  ASSERT_FALSE(got.empty());

  // 131047 from the Graph API is permanent: one attempt, failed, shown to the admin.
  WaCustomer nora(shop, "34698765432", "Nora Permanente");
  shop.graph.fail_next_with_code(1, 131047, "Re-engagement message");
  const json r = shop.whatsapp(wa::envelope(json::array({wa::text(nora.phone(), nora.next_id(), "hola")}), nullptr, nora.phone(),
                                            "Nora Permanente"));
  EXPECT_EQ(r["processed"], 1);
  shop.settled();
  const json failed = shop.outbox("?status=failed");
  ASSERT_EQ(failed["messages"].size(), 1u) << failed.dump();
  EXPECT_EQ(failed["messages"][0]["attempts"], 1);
  EXPECT_TRUE(failed["messages"][0]["last_error"].get<std::string>().starts_with("131047")) << failed.dump();
  EXPECT_EQ(failed["counts"]["failed"], 1);
  shop.stop();
}

// A webhook Meta retried for days (our server was down): the message is recorded, so later
// retries are duplicates, but not acted upon — no order, no reply, no customer.
TEST(WhatsApp, DaysOldMessagesAreAcknowledgedNotActedOn) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start());
  WaCustomer late(shop, "4915112345678", "Lotte Verspätet");
  shop.personal("habt ihr noch Brot?");
  const json old = wa::text(late.phone(), late.next_id(), "habt ihr noch Brot?", unix_now() - 25 * 3600);
  json r = shop.whatsapp(wa::envelope(json::array({old}), nullptr, late.phone(), "Lotte Verspätet"));
  EXPECT_EQ(r["stale"], 1) << r.dump();
  EXPECT_EQ(r["processed"], 0) << r.dump();
  r = shop.whatsapp(wa::envelope(json::array({old}), nullptr, late.phone(), "Lotte Verspätet"));
  EXPECT_EQ(r["duplicates"], 1) << r.dump();
  EXPECT_EQ(r["stale"], 0) << r.dump();
  shop.settled();
  EXPECT_EQ(shop.graph.attempts_to(late.phone()), 0u);
  EXPECT_EQ(shop.outbox()["counts"]["pending"], 0);
  // Within the limit (here 24 h), a late message is handled as usual.
  const json recent = wa::text(late.phone(), late.next_id(), "hallo", unix_now() - 23 * 3600);
  r = shop.whatsapp(wa::envelope(json::array({recent}), nullptr, late.phone(), "Lotte Verspätet"));
  EXPECT_EQ(r["processed"], 1) << r.dump();
  shop.settled();
  EXPECT_FALSE(late.fresh().empty());
  shop.stop();
}

TEST(WhatsApp, OutsideThe24HourWindowNoFreeFormReply) {
  ChannelShop shop;
  ChannelOptions o;
  o.max_message_age_hours = 48;  // the only way to be outside the window here: an old message that is still handled
  ASSERT_TRUE(shop.start(o));
  WaCustomer old(shop, "351912345678", "Olívia Antiga");
  shop.personal("olá, ainda têm pão?");
  const std::int64_t yesterday = unix_now() - 25 * 3600;
  const json r = shop.whatsapp(wa::envelope(json::array({wa::text(old.phone(), old.next_id(), "olá, ainda têm pão?", yesterday)}),
                                            nullptr, old.phone(), "Olívia Antiga"));
  EXPECT_EQ(r["processed"], 1);
  shop.settled();
  EXPECT_EQ(shop.graph.attempts_to(old.phone()), 0u);
  const json failed = shop.outbox("?status=failed");
  ASSERT_GE(failed["messages"].size(), 1u);
  for (const auto& m : failed["messages"]) {
    EXPECT_NE(m["last_error"].get<std::string>().find("131047"), std::string::npos) << m.dump();
    EXPECT_NE(m["last_error"].get<std::string>().find("24-hour"), std::string::npos) << m.dump();
  }
  EXPECT_EQ(shop.outbox()["counts"]["sent"], 0);
  // When the customer writes again, the window is open and replies flow.
  EXPECT_FALSE(old.say("olá?").empty());
  shop.stop();
}

TEST(WhatsApp, OutsideThe24HourWindowTheTemplateIsSent) {
  ChannelShop shop;
  ChannelOptions o;
  o.template_name = "retour_client";
  o.max_message_age_hours = 48;
  ASSERT_TRUE(shop.start(o));
  WaCustomer old(shop, "393471234567", "Ottavio Vecchio");
  shop.personal("c'è ancora pane?");
  const json r = shop.whatsapp(wa::envelope(
      json::array({wa::text(old.phone(), old.next_id(), "c'è ancora pane?", unix_now() - 25 * 3600)}), nullptr, old.phone(), "Ottavio Vecchio"));
  EXPECT_EQ(r["processed"], 1);
  shop.settled();
  const auto got = old.fresh();
  ASSERT_FALSE(got.empty());
  for (const auto& m : got) {
    ASSERT_EQ(m.value("type", ""), "template") << m.dump();
    EXPECT_EQ(m["template"].value("name", ""), "retour_client") << m.dump();
    EXPECT_EQ(m["template"].value("language", json::object()).value("code", ""), "fr") << m.dump();
    EXPECT_EQ(m.value("to", ""), old.phone());
  }
  EXPECT_EQ(got.size(), 1u) << "one template per closed window, not one per reply part";
  const json superseded = shop.outbox("?status=failed");
  for (const auto& m : superseded["messages"]) {
    EXPECT_NE(m["last_error"].get<std::string>().find("stands for this message"), std::string::npos) << m.dump();
  }
  // Inside the window, free-form replies as usual.
  const auto now = old.say("ciao");
  ASSERT_FALSE(now.empty());
  for (const auto& m : now) EXPECT_NE(m["type"], "template");
  shop.stop();
}

TEST(WhatsApp, CheckoutWithButtonsAndAStatusNotice) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start());
  WaCustomer pia(shop, "4367612345678", "Pia Käuferin");
  auto got = pia.say("hello");
  ASSERT_FALSE(got.empty());
  EXPECT_NE(text_of(got).find("Welcome"), std::string::npos) << text_of(got);
  got = pia.choose("browse");
  got = pia.choose("cat:bakery");
  got = pia.choose("prod:BRD-BAGUETTE");
  EXPECT_NE(text_of(got).find("€1.20"), std::string::npos) << text_of(got);
  got = pia.choose(pia.offered("add:BRD-BAGUETTE:"));
  EXPECT_NE(text_of(got).find("× Baguette"), std::string::npos) << text_of(got);
  got = pia.choose("checkout");
  got = pia.choose("ful:pickup");
  EXPECT_NE(text_of(got).find("Total to pay"), std::string::npos) << text_of(got);
  got = pia.choose("confirm");
  const std::string confirmation = text_of(got);
  EXPECT_NE(confirmation.find("Your order C-000001 has been placed"), std::string::npos) << confirmation;
  // Every interactive message respected the Cloud API limits.
  for (const auto& m : shop.graph.sent_to(pia.phone())) {
    if (m["type"] != "interactive") continue;
    EXPECT_LE(m["interactive"]["body"]["text"].get<std::string>().size(), 4 * 1024u);
    if (m["interactive"]["type"] == "button") {
      EXPECT_LE(m["interactive"]["action"]["buttons"].size(), 3u);
    }
  }

  // The shop accepts the order: the customer hears about it on WhatsApp.
  auto c = shop.s->client();
  auto accepted = c.Post("/api/v1/orders/C-000001/status", {{"Authorization", "Bearer " + shop.op}}, R"({"status": "accepted"})",
                         "application/json");
  ASSERT_TRUE(accepted);
  ASSERT_EQ(accepted->status, 200) << accepted->body;
  shop.settled();
  got = pia.fresh();
  EXPECT_NE(text_of(got).find("your order C-000001 has been accepted"), std::string::npos) << text_of(got);
  EXPECT_TRUE(offers(got, "order:C-000001")) << WaCustomer::dump(got);
  shop.stop();
}

TEST(WhatsApp, CheckoutWithANativeCatalogOrder) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start());
  WaCustomer quentin(shop, "33699887766", "Quentin Panier");
  // The cart from WhatsApp's catalog: its prices are ignored, ours apply; unknown SKUs are named.
  auto got = quentin.send(wa::message(quentin.phone(), quentin.next_id(), "order",
                                      {{"catalog_id", "194836987003835"},
                                       {"text", ""},
                                       {"product_items", json::array({
                                                             {{"product_retailer_id", "BRD-BAGUETTE"}, {"quantity", 2}, {"item_price", 0.01}, {"currency", "EUR"}},
                                                             {{"product_retailer_id", "DAI-COMTE"}, {"quantity", 1}, {"item_price", 7.99}, {"currency", "EUR"}},
                                                             {{"product_retailer_id", "NO-SUCH-SKU"}, {"quantity", 1}, {"item_price", 3.5}, {"currency", "EUR"}},
                                                         })}}));
  const std::string summary = text_of(got);
  EXPECT_NE(summary.find("Added 2 × Baguette"), std::string::npos) << summary;
  EXPECT_NE(summary.find("NO-SUCH-SKU"), std::string::npos) << summary;
  EXPECT_TRUE(offers(got, "ful:pickup")) << WaCustomer::dump(got);
  got = quentin.choose("ful:pickup");
  got = quentin.choose("confirm");
  EXPECT_NE(text_of(got).find("Your order C-000001 has been placed"), std::string::npos) << text_of(got);
  auto c = shop.s->client();
  auto order = c.Get("/api/v1/orders/C-000001", {{"Authorization", "Bearer " + shop.op}});
  ASSERT_TRUE(order);
  ASSERT_EQ(order->status, 200);
  const json o = json::parse(order->body);
  ASSERT_EQ(o["lines"].size(), 2u) << o.dump();
  std::int64_t baguette_total = 0;
  for (const auto& l : o["lines"]) {
    if (l["sku"] == "BRD-BAGUETTE") {
      EXPECT_EQ(l["quantity"], 2);
      baguette_total = l.value("line_total", l.value("total", std::int64_t{0}));
    }
  }
  EXPECT_EQ(baguette_total, 240) << o.dump();  // 2 × €1.20 from our catalog, not 2 × €0.01
  shop.stop();
}

}  // namespace
}  // namespace comptoir::testing::e2e

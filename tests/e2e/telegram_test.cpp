// End-to-end tests of the Telegram channel: the real `comptoir serve` with its Bot API pointed at
// a stand-in run by the test (channels_harness.h). The secret-token header (401 missing, 403
// wrong, nothing stored), messages and callback queries (every callback answered), update_id
// duplicates, a full checkout by inline-keyboard callbacks, 429 with retry_after, and
// `comptoir telegram set-webhook`. Ends with a clean stop and a search of the server's output for
// the chat ids, names and texts it was sent.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/channels_harness.h"

namespace comptoir::testing::e2e {
namespace {

TEST(Telegram, SecretTokenIsRequired) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start(telegram_only()));
  TgCustomer ana(shop, 5550001, "Anaïs");
  const std::string body = ana.update_message(900001, "hello").dump();
  auto r = shop.post_telegram(body, std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  // An empty header counts as missing (401) or wrong (403): refused either way.
  r = shop.post_telegram(body, std::string());
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->status == 401 || r->status == 403) << r->status;
  for (const std::string& wrong : {kTelegramSecret + "x", kTelegramSecret.substr(1), std::string("e2e_tg-secret-Q4r5S6t7U9"),
                                  kBotToken}) {
    r = shop.post_telegram(body, wrong);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << wrong;
  }
  EXPECT_EQ(shop.outbox()["counts"]["pending"], 0);
  EXPECT_EQ(shop.outbox()["messages"].size(), 0u);
  EXPECT_EQ(shop.bot.count(), 0u);
  // With the secret, the same update is read (it was not recorded as seen by the refusals).
  r = shop.post_telegram(body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["processed"], 1);
  shop.settled();
  EXPECT_FALSE(ana.fresh().empty());
  // Malformed bodies with the right secret: 400; WhatsApp is not configured here: 404.
  for (const std::string bad : {"", "[]", "{\"update_id\":\"1\"}", "not json"}) {
    r = shop.post_telegram(bad);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << bad;
  }
  auto c = shop.s->client();
  EXPECT_EQ(c.Post("/webhooks/whatsapp", "{}", "application/json")->status, 404);
  EXPECT_EQ(c.Get("/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1&hub.verify_token=x")->status, 403);
  shop.stop();
}

TEST(Telegram, MessagesCallbacksAndDuplicates) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start(telegram_only()));
  TgCustomer ben(shop, 5550002, "Bénédicte");
  auto got = ben.say("/start");
  ASSERT_FALSE(got.empty());
  EXPECT_NE(TgCustomer::text_of(got).find("Welcome"), std::string::npos) << TgCustomer::text_of(got);
  ASSERT_TRUE(got.back().contains("reply_markup")) << got.back().dump();
  for (const auto& m : got) {
    EXPECT_EQ(m["chat_id"], ben.chat());
    for (const auto& row : m.value("reply_markup", json::object()).value("inline_keyboard", json::array())) {
      for (const auto& b : row) {
        EXPECT_GE(b["callback_data"].get<std::string>().size(), 1u);
        EXPECT_LE(b["callback_data"].get<std::string>().size(), 64u);
      }
    }
  }
  // A callback query: answered (the spinner stops) and replied to.
  const std::int64_t cb_update = ben.next_update();
  got = ben.tap("browse");
  EXPECT_TRUE(ben.offered("cat:bakery")) << TgCustomer::dump(got);
  auto answers = shop.bot.calls("answerCallbackQuery");
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0]["callback_query_id"], "cbq" + std::to_string(cb_update));

  // The same update again (Telegram retries): ignored, no second answer, no second reply.
  const json dup = shop.telegram(ben.update_callback(cb_update, "browse"));
  EXPECT_EQ(dup["duplicates"], 1);
  EXPECT_EQ(dup["processed"], 0);
  const json dup_msg = shop.telegram(ben.update_message(cb_update - 1, "/start"));
  EXPECT_EQ(dup_msg["duplicates"], 1);
  shop.settled();
  EXPECT_TRUE(ben.fresh().empty());
  EXPECT_EQ(shop.bot.calls("answerCallbackQuery").size(), 1u);

  // Callbacks whose data we never offered, or that is malformed, are answered all the same.
  got = ben.send(ben.update_callback(ben.next_update(), "nosuch:thing"));
  ben.skip_update_ids(1);
  EXPECT_NE(TgCustomer::text_of(got).find("didn't understand"), std::string::npos) << TgCustomer::text_of(got);
  got = ben.send(ben.update_callback(ben.next_update(), "<script>"));
  ben.skip_update_ids(1);
  EXPECT_FALSE(got.empty());
  json game = ben.update_callback(ben.next_update(), "x");
  game["callback_query"].erase("data");
  game["callback_query"]["game_short_name"] = "tetris";
  got = ben.send(game);
  ben.skip_update_ids(1);
  EXPECT_EQ(shop.bot.calls("answerCallbackQuery").size(), 4u);

  // A photo: the polite answer; an edited message: acknowledged and ignored.
  const std::string caption = "ma carte de fidélité n° 88812";
  shop.personal(caption);
  json photo = ben.update_message(ben.next_update(), "");
  ben.skip_update_ids(1);
  photo["message"].erase("text");
  photo["message"]["photo"] = json::array({{{"file_id", "AgACAgQAAxkBAAIB"}, {"file_unique_id", "AQADx"}, {"width", 90}, {"height", 67}}});
  photo["message"]["caption"] = caption;
  got = ben.send(photo);
  EXPECT_NE(TgCustomer::text_of(got).find("only read text and buttons"), std::string::npos) << TgCustomer::text_of(got);
  json edited = {{"update_id", ben.next_update()},
                 {"edited_message", {{"message_id", 5}, {"date", unix_now()}, {"edit_date", unix_now()},
                                     {"chat", {{"id", 5550002}, {"type", "private"}}}, {"text", "edited text"}}}};
  ben.skip_update_ids(1);
  EXPECT_EQ(shop.telegram(edited)["skipped"], 1);
  shop.settled();
  EXPECT_TRUE(ben.fresh().empty());
  // Nothing was sent to anybody else, and each call used the bot token path.
  for (const auto& r : shop.bot.requests()) {
    EXPECT_TRUE(r.path.starts_with("/bot" + kBotToken + "/")) << r.path;
    EXPECT_EQ(r.answered, 200) << r.path << " " << r.body;
  }
  shop.stop();
}

TEST(Telegram, CheckoutByCallbacksWithRateLimit) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start(telegram_only()));
  TgCustomer cam(shop, 1234567890123, "Camille");  // chat ids can exceed 32 bits
  auto got = cam.say("/start");
  got = cam.tap("browse");
  got = cam.tap("cat:bakery");
  got = cam.tap("prod:BRD-BAGUETTE");
  EXPECT_NE(TgCustomer::text_of(got).find("€1.20"), std::string::npos) << TgCustomer::text_of(got);
  // Telegram says "too many requests, retry after 1 s" once: the reply comes after that.
  shop.bot.fail_next(1, 429, BotStandIn::error_body(429, "Too Many Requests: retry after 1", 1));
  got = cam.tap(cam.offered_prefix("add:BRD-BAGUETTE:"));
  EXPECT_NE(TgCustomer::text_of(got).find("× Baguette"), std::string::npos) << TgCustomer::text_of(got);
  bool retried = false;
  const json rows = shop.outbox("?limit=500");
  for (const auto& m : rows["messages"]) retried = retried || m["attempts"] == 2;
  EXPECT_TRUE(retried) << shop.outbox().dump();
  got = cam.tap("checkout");
  got = cam.tap("ful:pickup");
  got = cam.tap("confirm");
  EXPECT_NE(TgCustomer::text_of(got).find("Your order C-000001 has been placed"), std::string::npos) << TgCustomer::text_of(got);
  // Every callback was answered exactly once.
  const auto answers = shop.bot.calls("answerCallbackQuery");
  EXPECT_EQ(answers.size(), 7u);
  std::set<std::string> ids;
  for (const auto& a : answers) ids.insert(a["callback_query_id"].get<std::string>());
  EXPECT_EQ(ids.size(), answers.size());
  // The shop marks it ready: the customer is told in the chat.
  auto c = shop.s->client();
  for (const char* s : {"accepted", "ready"}) {
    auto r = c.Post("/api/v1/orders/C-000001/status", {{"Authorization", "Bearer " + shop.op}},
                    std::string(R"({"status": ")") + s + "\"}", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  }
  shop.settled();
  got = cam.fresh();
  EXPECT_NE(TgCustomer::text_of(got).find("C-000001 is ready for pickup"), std::string::npos) << TgCustomer::text_of(got);
  shop.stop();
}

TEST(Telegram, SetWebhookCommand) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start(telegram_only()));
  EXPECT_EQ(shop.outbox()["counts"]["pending"], 0);
  const std::string url = "https://shop.example.eu/webhooks/telegram";
  auto r = shop.s->cli({"telegram", "set-webhook", "-c", shop.s->config().string(), "--url", url});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(url), std::string::npos) << r.out;
  const auto calls = shop.bot.calls("setWebhook");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["url"], url);
  EXPECT_EQ(calls[0]["secret_token"], kTelegramSecret);
  EXPECT_EQ(calls[0]["allowed_updates"], json::array({"message", "callback_query"}));
  shop.s->check_no_secrets(r.out + r.err, "set-webhook output");

  // Only HTTPS URLs; a refusal from Telegram is reported with a non-zero exit.
  r = shop.s->cli({"telegram", "set-webhook", "-c", shop.s->config().string(), "--url", "http://shop.example.eu/webhooks/telegram"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(shop.bot.calls("setWebhook").size(), 1u);
  shop.bot.fail_next(1, 400, BotStandIn::error_body(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"));
  r = shop.s->cli({"telegram", "set-webhook", "-c", shop.s->config().string(), "--url", url});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad webhook"), std::string::npos) << r.err;
  shop.s->check_no_secrets(r.out + r.err, "set-webhook output");
  // An answer with fields of unexpected types is a refusal, not a crash.
  shop.bot.fail_next(1, 200, R"({"ok":"yes","description":7})");
  r = shop.s->cli({"telegram", "set-webhook", "-c", shop.s->config().string(), "--url", url});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("no description"), std::string::npos) << r.err;
  shop.stop();
}

}  // namespace
}  // namespace comptoir::testing::e2e

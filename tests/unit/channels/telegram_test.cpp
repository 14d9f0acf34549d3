// Telegram Bot API (channel reference §3): the secret-token check, Update parsing (message and
// callback_query; names never read), sendMessage bodies with inline keyboards (callback_data at
// most 64 bytes), answerCallbackQuery, and the classification of Bot API answers (429 with
// parameters.retry_after).
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "src/channels/telegram.h"
#include "src/common/text.h"

namespace comptoir::channels::telegram {
namespace {

using nlohmann::json;

Update parsed(const std::string& body) {
  auto r = parse_update(body);
  EXPECT_TRUE(r.has_value()) << body;
  return r ? *r : Update{};
}

std::string fields(const Update& u) {
  return u.kind + "|" + u.chat_id + "|" + u.text + "|" + u.callback_id + "|" + u.callback_data;
}

TEST(TelegramSecret, ConstantTimeComparison) {
  const SecretBytes secret = SecretBytes::copy_of(std::string_view("Tg_secret-token-0123456789"));
  EXPECT_TRUE(secret_valid("Tg_secret-token-0123456789", secret));
  EXPECT_FALSE(secret_valid("Tg_secret-token-0123456788", secret));
  EXPECT_FALSE(secret_valid("tg_secret-token-0123456789", secret));
  EXPECT_FALSE(secret_valid("Tg_secret-token-012345678", secret));
  EXPECT_FALSE(secret_valid("Tg_secret-token-0123456789 ", secret));
  EXPECT_FALSE(secret_valid("", secret));
  EXPECT_FALSE(secret_valid("", SecretBytes()));
  EXPECT_FALSE(secret_valid("anything", SecretBytes()));
}

TEST(TelegramUpdate, TextMessage) {
  const std::string body = R"({"update_id":10000,"message":{"message_id":1365,"date":1441645532,
    "from":{"id":1111111,"is_bot":false,"first_name":"Aurélien","last_name":"Quenneville","username":"aurelq","language_code":"fr"},
    "chat":{"id":1111111,"type":"private","first_name":"Aurélien","last_name":"Quenneville","username":"aurelq"},
    "text":"/start","entities":[{"type":"bot_command","offset":0,"length":6}]}})";
  const Update u = parsed(body);
  EXPECT_EQ(u.update_id, 10000);
  EXPECT_EQ(u.kind, "message");
  EXPECT_EQ(u.chat_id, "1111111");
  EXPECT_EQ(u.date, 1441645532);
  EXPECT_EQ(u.text, "/start");
  EXPECT_FALSE(u.unsupported);
  EXPECT_EQ(u.callback_id, "");
  for (const char* personal : {"Aurélien", "Quenneville", "aurelq"}) EXPECT_EQ(fields(u).find(personal), std::string::npos);
}

TEST(TelegramUpdate, SixtyFourBitIdsAndGroups) {
  const Update u = parsed(R"({"update_id":987654321012,"message":{"message_id":1,"date":1700000000,
    "chat":{"id":-1001234567890123,"type":"supergroup","title":"Les voisins"},"text":"Bonjour 👋"}})");
  EXPECT_EQ(u.update_id, 987654321012);
  EXPECT_EQ(u.chat_id, "-1001234567890123");
  EXPECT_EQ(u.text, "Bonjour 👋");
}

TEST(TelegramUpdate, MessagesWithoutTextAreUnsupported) {
  const std::string caption = "Mon adresse est sur la photo";
  const Update photo = parsed(R"({"update_id":10002,"message":{"message_id":1366,"date":1441645600,
    "chat":{"id":1111111,"type":"private"},"photo":[{"file_id":"AgAD","file_unique_id":"u","width":90,"height":90}],
    "caption":")" + caption + R"("}})");
  EXPECT_EQ(photo.kind, "message");
  EXPECT_TRUE(photo.unsupported);
  EXPECT_EQ(photo.text, "");
  EXPECT_EQ(fields(photo).find(caption), std::string::npos);
  const Update location = parsed(R"({"update_id":10003,"message":{"message_id":1367,"date":1,"chat":{"id":5,"type":"private"},
    "location":{"latitude":48.85,"longitude":2.35}}})");
  EXPECT_TRUE(location.unsupported);
  const Update odd = parsed(R"({"update_id":10004,"message":{"message_id":1,"chat":{"id":5},"text":42}})");
  EXPECT_TRUE(odd.unsupported);
}

TEST(TelegramUpdate, CallbackQuery) {
  const std::string body = R"({"update_id":10001,"callback_query":{"id":"4382bfdwdsb323b2d9",
    "from":{"id":1111111,"is_bot":false,"first_name":"Aurélien","username":"aurelq"},
    "message":{"message_id":1370,"date":1441645700,"chat":{"id":1111111,"type":"private","first_name":"Aurélien"},
               "text":"Pick a size","reply_markup":{"inline_keyboard":[[{"text":"S","callback_data":"size:S"}]]}},
    "chat_instance":"-8765432109876543210","data":"add:BRD-BAGUETTE:1"}})";
  const Update u = parsed(body);
  EXPECT_EQ(u.kind, "callback_query");
  EXPECT_EQ(u.callback_id, "4382bfdwdsb323b2d9");
  EXPECT_EQ(u.callback_data, "add:BRD-BAGUETTE:1");
  EXPECT_EQ(u.chat_id, "1111111");
  EXPECT_EQ(u.text, "");
  EXPECT_EQ(fields(u).find("Aurélien"), std::string::npos);
}

TEST(TelegramUpdate, CallbackQueryWithoutMessageOrData) {
  // Inline mode: no message, the user's id is the private chat's id.
  Update u = parsed(R"({"update_id":10005,"callback_query":{"id":"cb2","from":{"id":2222222,"is_bot":false,"first_name":"B"},
    "inline_message_id":"1234csdbsk4839","chat_instance":"42","data":"menu"}})");
  EXPECT_EQ(u.chat_id, "2222222");
  EXPECT_EQ(u.callback_data, "menu");
  // A game button: no data.
  u = parsed(R"({"update_id":10006,"callback_query":{"id":"cb3","from":{"id":3},"chat_instance":"1","game_short_name":"g"}})");
  EXPECT_EQ(u.kind, "callback_query");
  EXPECT_EQ(u.callback_id, "cb3");
  EXPECT_EQ(u.callback_data, "");
  EXPECT_EQ(u.chat_id, "3");
  // Nothing to reply to.
  u = parsed(R"({"update_id":10007,"callback_query":{"id":"cb4","chat_instance":"1","data":"x"}})");
  EXPECT_EQ(u.chat_id, "");
  u = parsed(R"({"update_id":10008,"callback_query":{"id":"cb5","from":{"id":"3"},"data":"x"}})");
  EXPECT_EQ(u.chat_id, "");
}

TEST(TelegramUpdate, OtherUpdatesAreIgnoredNotRejected) {
  for (const char* body : {R"({"update_id":1,"edited_message":{"message_id":1,"chat":{"id":1},"text":"x"}})",
                           R"({"update_id":2,"inline_query":{"id":"q","from":{"id":1},"query":"x","offset":""}})",
                           R"({"update_id":3,"my_chat_member":{}})", R"({"update_id":4})",
                           R"({"update_id":5,"message":"not an object"})"}) {
    const Update u = parsed(body);
    EXPECT_EQ(u.kind, "other") << body;
  }
}

TEST(TelegramUpdate, NotAnUpdate) {
  for (const char* body : {"", "[]", "null", "{}", "{", R"({"update_id":"10000"})", R"({"update_id":1.5})",
                           R"({"update_id":null,"message":{}})", R"({"message":{"chat":{"id":1},"text":"x"}})",
                           R"({"update_id":1} {"update_id":2})"}) {
    auto r = parse_update(body);
    EXPECT_FALSE(r.has_value()) << body;
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::invalid_argument);
    }
  }
}

struct Call {
  std::string method;
  json payload;
};
std::vector<Call> calls(const chat::Reply& reply, const std::string& chat = "1111111") {
  std::vector<Call> out;
  for (const auto& b : render(reply, chat)) {
    const json j = json::parse(b);
    out.push_back({j["method"].get<std::string>(), j["payload"]});
    EXPECT_EQ(j["payload"]["chat_id"], chat);
  }
  return out;
}

TEST(TelegramRender, TextWithInlineKeyboard) {
  chat::Reply r{"Welcome! What would you like to do?",
                {{"browse", "Browse the shop", ""}, {"cart", "View cart", ""}, {"prod:DAI-COMTE", "Comté", "18 mois, €7.99"}}};
  const auto c = calls(r);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].method, "sendMessage");
  EXPECT_EQ(c[0].payload["text"], "Welcome! What would you like to do?");
  EXPECT_FALSE(c[0].payload.contains("parse_mode"));  // plain text: catalog names need no escaping
  const json& kb = c[0].payload["reply_markup"]["inline_keyboard"];
  ASSERT_EQ(kb.size(), 3u);
  EXPECT_EQ(kb[0][0]["callback_data"], "browse");
  EXPECT_EQ(kb[0][0]["text"], "Browse the shop");
  EXPECT_EQ(kb[2][0]["text"], "Comté · 18 mois, €7.99");
  for (const auto& row : kb) {
    ASSERT_EQ(row.size(), 1u);
    EXPECT_LE(text::utf8_length(row[0]["text"].get<std::string>()), 60u);
  }
  // No options: no keyboard.
  const auto plain = calls({"Merci !", {}});
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_FALSE(plain[0].payload.contains("reply_markup"));
}

TEST(TelegramRender, CallbackDataIsAtMost64Bytes) {
  std::string two_byte_32, two_byte_33;
  for (int i = 0; i < 32; ++i) two_byte_32 += "é";
  two_byte_33 = two_byte_32 + "é";
  chat::Reply r{"Choose", {{std::string(64, 'a'), "64 bytes", ""},
                           {std::string(65, 'b'), "65 bytes", ""},
                           {two_byte_32, "64 bytes in 32 characters", ""},
                           {two_byte_33, "66 bytes in 33 characters", ""},
                           {"menu", std::string(100, 'L'), "and a description"}}};
  const auto c = calls(r);
  ASSERT_EQ(c.size(), 1u);
  const json& kb = c[0].payload["reply_markup"]["inline_keyboard"];
  ASSERT_EQ(kb.size(), 3u);
  for (const auto& row : kb) {
    const std::string data = row[0]["callback_data"].get<std::string>();
    EXPECT_GE(data.size(), 1u);
    EXPECT_LE(data.size(), 64u);
  }
  EXPECT_EQ(kb[0][0]["callback_data"], std::string(64, 'a'));
  EXPECT_EQ(kb[1][0]["callback_data"], two_byte_32);
  EXPECT_EQ(kb[2][0]["callback_data"], "menu");
  EXPECT_EQ(text::utf8_length(kb[2][0]["text"].get<std::string>()), 60u);
  // Only unusable options: no keyboard at all rather than an empty one.
  const auto none = calls({"x", {{std::string(65, 'z'), "too long", ""}}});
  EXPECT_FALSE(none[0].payload.contains("reply_markup"));
}

TEST(TelegramRender, LongTextIsSplitAndTheKeyboardGoesLast) {
  std::string t;
  for (int i = 0; i < 9000; ++i) t += (i % 2) ? "ö" : "o";
  const auto c = calls({t, {{"menu", "Menu", ""}}});
  ASSERT_EQ(c.size(), 3u);
  std::string joined;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const std::string part = c[i].payload["text"].get<std::string>();
    EXPECT_GE(text::utf8_length(part), 1u);
    EXPECT_LE(text::utf8_length(part), 4096u);
    joined += part;
    EXPECT_EQ(c[i].payload.contains("reply_markup"), i + 1 == c.size());
  }
  EXPECT_EQ(joined, t);
  // Telegram refuses empty text.
  const auto empty = calls({"", {{"menu", "Menu", ""}}});
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_FALSE(empty[0].payload["text"].get<std::string>().empty());
}

TEST(TelegramRender, CallbackAnswer) {
  const json j = json::parse(render_callback_answer("4382bfdwdsb323b2d9"));
  EXPECT_EQ(j["method"], "answerCallbackQuery");
  EXPECT_EQ(j["payload"]["callback_query_id"], "4382bfdwdsb323b2d9");
}

TEST(TelegramClassify, Answers) {
  auto o = classify_response(200, R"({"ok":true,"result":{"message_id":4711,"date":1700000000,"chat":{"id":1,"type":"private"},"text":"x"}})");
  EXPECT_EQ(o.kind, SendOutcome::Kind::sent);
  EXPECT_EQ(o.external_id, "4711");
  o = classify_response(200, R"({"ok":true,"result":true})");
  EXPECT_EQ(o.kind, SendOutcome::Kind::sent);
  EXPECT_EQ(o.external_id, "");

  o = classify_response(429, R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}})");
  EXPECT_EQ(o.kind, SendOutcome::Kind::retry);
  EXPECT_EQ(o.retry_after_seconds, 7);
  EXPECT_TRUE(o.error.starts_with("429")) << o.error;
  o = classify_response(429, "");
  EXPECT_EQ(o.kind, SendOutcome::Kind::retry);
  EXPECT_EQ(o.retry_after_seconds, 0);
  o = classify_response(200, R"({"ok":false,"error_code":429,"description":"Too Many Requests","parameters":{"retry_after":3}})");
  EXPECT_EQ(o.kind, SendOutcome::Kind::retry);
  EXPECT_EQ(o.retry_after_seconds, 3);

  for (int status : {500, 502, 503}) EXPECT_EQ(classify_response(status, "<html>").kind, SendOutcome::Kind::retry);
  o = classify_response(0, "");
  EXPECT_EQ(o.kind, SendOutcome::Kind::retry);
  EXPECT_EQ(o.error, "network error");

  o = classify_response(400, R"({"ok":false,"error_code":400,"description":"Bad Request: chat not found"})");
  EXPECT_EQ(o.kind, SendOutcome::Kind::permanent);
  EXPECT_EQ(o.error, "400 Bad Request: chat not found");
  o = classify_response(403, R"({"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"})");
  EXPECT_EQ(o.kind, SendOutcome::Kind::permanent);
  o = classify_response(400, R"({"ok":false,"error_code":400,"description":"Bad Request: query is too old and response timeout expired or query ID is invalid"})");
  EXPECT_EQ(o.kind, SendOutcome::Kind::permanent);
  EXPECT_LE(o.error.size(), 100u);
  EXPECT_EQ(classify_response(404, "").kind, SendOutcome::Kind::permanent);
}

TEST(TelegramClassify, OddlyTypedAnswersDoNotThrow) {
  // The Bot API answer comes from the network: fields of unexpected types must be tolerated.
  const struct {
    int status;
    const char* body;
    SendOutcome::Kind kind;
  } cases[] = {
      {200, R"({"ok":"yes","result":{"message_id":1}})", SendOutcome::Kind::permanent},
      {200, R"({"ok":1})", SendOutcome::Kind::permanent},
      {200, R"({"ok":true,"result":{"message_id":"12"}})", SendOutcome::Kind::sent},
      {400, R"({"ok":false,"description":42})", SendOutcome::Kind::permanent},
      {400, R"({"ok":false,"description":null,"error_code":"400"})", SendOutcome::Kind::permanent},
      {429, R"({"ok":false,"parameters":{"retry_after":"5"}})", SendOutcome::Kind::retry},
      {429, R"({"ok":false,"parameters":[5]})", SendOutcome::Kind::retry},
      {502, R"([1,2,3])", SendOutcome::Kind::retry},
  };
  for (const auto& c : cases) {
    SendOutcome o;
    EXPECT_NO_THROW(o = classify_response(c.status, c.body)) << c.body;
    EXPECT_EQ(o.kind, c.kind) << c.body;
  }
  SendOutcome o;
  EXPECT_NO_THROW(o = classify_response(429, R"({"ok":false,"parameters":{"retry_after":99999999999}})"));
  EXPECT_EQ(o.kind, SendOutcome::Kind::retry);
  EXPECT_GE(o.retry_after_seconds, 0);
}

}  // namespace
}  // namespace comptoir::channels::telegram

// Minimization at ingestion: what each platform sends about a person beyond the message is read
// only when the data inventory declares it collected ("platform_profile"); by default the
// WhatsApp profile name and the Telegram sender's names never leave the parser.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "src/channels/telegram.h"
#include "src/channels/whatsapp.h"

namespace comptoir::channels {
namespace {

using nlohmann::json;

constexpr const char* kName = "Honorine Vasseur-Kowalczyk";

std::string whatsapp_body(bool bsuid_only = false) {
  json contact = {{"profile", {{"name", kName}}}, {"user_id", "US.13491208655302741918"}};
  json msg = {{"id", "wamid.MIN1"}, {"timestamp", "1749416383"}, {"type", "text"}, {"text", {{"body", "hi"}}}};
  if (bsuid_only) {
    msg["from_user_id"] = "US.13491208655302741918";
  } else {
    contact["wa_id"] = "16505551234";
    msg["from"] = "16505551234";
  }
  json value = {{"messaging_product", "whatsapp"},
                {"metadata", {{"display_phone_number", "15550783881"}, {"phone_number_id", "106540352242922"}}},
                {"contacts", json::array({contact})},
                {"messages", json::array({msg})}};
  return json{{"object", "whatsapp_business_account"},
              {"entry", json::array({{{"id", "1"}, {"changes", json::array({{{"value", value}, {"field", "messages"}}})}}})}}
      .dump();
}

TEST(Minimization, WhatsAppProfileNameIsDroppedByDefault) {
  auto h = whatsapp::parse_webhook(whatsapp_body());
  ASSERT_TRUE(h.has_value());
  ASSERT_EQ(h->messages.size(), 1u);
  EXPECT_EQ(h->messages[0].profile_name, "");
  EXPECT_EQ(h->messages[0].text, "hi");
}

TEST(Minimization, WhatsAppProfileNameIsReadWhenDeclared) {
  for (bool bsuid_only : {false, true}) {
    auto h = whatsapp::parse_webhook(whatsapp_body(bsuid_only), {.read_profile_name = true});
    ASSERT_TRUE(h.has_value());
    ASSERT_EQ(h->messages.size(), 1u);
    EXPECT_EQ(h->messages[0].profile_name, kName) << bsuid_only;
  }
}

std::string telegram_body(bool callback) {
  json from = {{"id", 7001}, {"is_bot", false}, {"first_name", "Honorine"}, {"last_name", "Vasseur"},
               {"username", "honorine_v"}, {"language_code", "fr"}};
  if (callback) {
    return json{{"update_id", 55},
                {"callback_query",
                 {{"id", "cb1"}, {"from", from}, {"data", "menu"}, {"message", {{"message_id", 3}, {"chat", {{"id", 7001}}}}}}}}
        .dump();
  }
  return json{{"update_id", 54},
              {"message", {{"message_id", 2}, {"from", from}, {"chat", {{"id", 7001}, {"type", "private"}, {"first_name", "Honorine"}}},
                           {"date", 1749416383}, {"text", "bonjour"}}}}
      .dump();
}

TEST(Minimization, TelegramNamesAreDroppedByDefault) {
  for (bool callback : {false, true}) {
    auto u = telegram::parse_update(telegram_body(callback));
    ASSERT_TRUE(u.has_value());
    EXPECT_EQ(u->profile_name, "");
    EXPECT_EQ(u->chat_id, "7001");
  }
}

TEST(Minimization, TelegramNamesAreReadWhenDeclaredButNotTheUsername) {
  for (bool callback : {false, true}) {
    auto u = telegram::parse_update(telegram_body(callback), {.read_profile_name = true});
    ASSERT_TRUE(u.has_value());
    EXPECT_EQ(u->profile_name, "Honorine Vasseur") << callback;
    EXPECT_EQ(u->profile_name.find("honorine_v"), std::string::npos);
  }
}

}  // namespace
}  // namespace comptoir::channels

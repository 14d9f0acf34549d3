// parse_webhook over realistic WhatsApp Cloud API notifications written for these tests (the
// shapes of the channel reference §1.3–1.5): every message type the shop reads, statuses,
// several entries/changes/messages in one POST, business-scoped user ids, key order, Meta's
// dashboard "Test" payload, and malformed parts that are counted in `skipped` instead of failing
// the whole notification. The profile name is never read.
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "src/channels/whatsapp.h"

namespace comptoir::channels::whatsapp {
namespace {

using nlohmann::json;

constexpr const char* kPhoneId = "106540352242922";
constexpr const char* kProfileName = "Honorine Vasseur-Kowalczyk";

// One notification with one change whose value holds `messages` (and the contact) or `statuses`.
std::string envelope(const json& messages, const json& statuses = nullptr, const std::string& wa_id = "16505551234") {
  json value = {{"messaging_product", "whatsapp"},
                {"metadata", {{"display_phone_number", "15550783881"}, {"phone_number_id", kPhoneId}}}};
  if (!messages.is_null()) {
    value["contacts"] = json::array({{{"profile", {{"name", kProfileName}}}, {"wa_id", wa_id}}});
    value["messages"] = messages;
  }
  if (!statuses.is_null()) value["statuses"] = statuses;
  return json{{"object", "whatsapp_business_account"},
              {"entry", json::array({{{"id", "102290129340398"},
                                      {"changes", json::array({{{"value", value}, {"field", "messages"}}})}}})}}
      .dump();
}

json message(const std::string& id, const std::string& type, const json& payload, const std::string& from = "16505551234") {
  json m = {{"from", from}, {"id", id}, {"timestamp", "1749416383"}, {"type", type}};
  if (!payload.is_null()) m[type] = payload;
  return m;
}

Webhook parsed(std::string_view body) {
  auto r = parse_webhook(body);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message) << "\n" << body;
  return r ? *r : Webhook{};
}

// Every string the parser produced, to search for things it must not have read.
std::string everything(const Webhook& h) {
  std::string all;
  for (const auto& m : h.messages) {
    all += m.id + "|" + m.from + "|" + m.user_id + "|" + m.new_wa_id + "|" + m.phone_number_id + "|" + m.type + "|" + m.text + "|" + m.option + "|" + m.location + "|";
    for (const auto& i : m.order) all += i.sku + "|";
  }
  for (const auto& s : h.statuses) all += s.id + "|" + s.status + "|" + s.phone_number_id + "|" + s.error + "|";
  return all;
}

TEST(WhatsAppWebhook, TextMessage) {
  json m = message("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=", "text",
                   {{"body", "Bonjour, avez-vous du pain complet ?"}});
  m["context"] = {{"from", "15550783881"},
                  {"id", "wamid.PRODUCTENQUIRY"},
                  {"referred_product", {{"catalog_id", "CATALOG_4242"}, {"product_retailer_id", "BRD-BAGUETTE"}}}};
  const Webhook h = parsed(envelope(json::array({m})));
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.skipped, 0);
  EXPECT_TRUE(h.statuses.empty());
  const Message& msg = h.messages[0];
  EXPECT_EQ(msg.id, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=");
  EXPECT_EQ(msg.from, "16505551234");
  EXPECT_EQ(msg.timestamp, 1749416383);
  EXPECT_EQ(msg.phone_number_id, kPhoneId);
  EXPECT_EQ(msg.type, "text");
  EXPECT_EQ(msg.text, "Bonjour, avez-vous du pain complet ?");
  EXPECT_EQ(msg.option, "");
  EXPECT_TRUE(msg.order.empty());
  EXPECT_EQ(everything(h).find(kProfileName), std::string::npos);
}

TEST(WhatsAppWebhook, InteractiveButtonAndListReplies) {
  json button = message("wamid.BTN1", "interactive",
                        {{"type", "button_reply"}, {"button_reply", {{"id", "add:BRD-BAGUETTE:1"}, {"title", "Add 1"}}}});
  button["context"] = {{"from", "15550783881"}, {"id", "wamid.OURMENU"}};
  json list = message("wamid.LIST1", "interactive",
                      {{"type", "list_reply"},
                       {"list_reply", {{"id", "cat:bakery"}, {"title", "Bakery"}, {"description", "Bread and cakes"}}}});
  json no_description = message("wamid.LIST2", "interactive",
                                {{"type", "list_reply"}, {"list_reply", {{"id", "prod:DAI-COMTE"}, {"title", "Comté"}}}});
  const Webhook h = parsed(envelope(json::array({button, list, no_description})));
  ASSERT_EQ(h.messages.size(), 3u);
  EXPECT_EQ(h.messages[0].type, "interactive");
  EXPECT_EQ(h.messages[0].option, "add:BRD-BAGUETTE:1");
  EXPECT_EQ(h.messages[0].text, "Add 1");
  EXPECT_EQ(h.messages[1].type, "interactive");
  EXPECT_EQ(h.messages[1].option, "cat:bakery");
  EXPECT_EQ(h.messages[2].option, "prod:DAI-COMTE");
  EXPECT_EQ(h.messages[2].text, "Comté");
}

TEST(WhatsAppWebhook, InteractiveKindsWeDoNotReadAreKeptAsSuch) {
  json flow = message("wamid.FLOW1", "interactive",
                      {{"type", "nfm_reply"}, {"nfm_reply", {{"response_json", "{\"flow_token\":\"x\"}"}, {"body", "Sent"}}}});
  json empty = message("wamid.EMPTYI", "interactive", json::object());
  json mismatch = message("wamid.MISMATCH", "interactive", {{"type", "button_reply"}, {"list_reply", {{"id", "x"}}}});
  const Webhook h = parsed(envelope(json::array({flow, empty, mismatch})));
  ASSERT_EQ(h.messages.size(), 3u);
  EXPECT_EQ(h.messages[0].type, "interactive:nfm_reply");
  EXPECT_EQ(h.messages[0].option, "");
  EXPECT_EQ(h.messages[0].text, "");
  EXPECT_EQ(h.messages[1].type, "interactive:");
  EXPECT_EQ(h.messages[2].type, "interactive:button_reply");
  EXPECT_EQ(h.messages[2].option, "");
}

TEST(WhatsAppWebhook, TemplateQuickReplyButton) {
  json b = message("wamid.TPL1", "button", {{"payload", "menu"}, {"text", "Voir le menu"}});
  b["context"] = {{"from", "15550783881"}, {"id", "wamid.OURTEMPLATE"}};
  const Webhook h = parsed(envelope(json::array({b})));
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.messages[0].type, "button");
  EXPECT_EQ(h.messages[0].option, "menu");
  EXPECT_EQ(h.messages[0].text, "Voir le menu");
}

TEST(WhatsAppWebhook, OrderWithFractionalPrices) {
  // item_price is a JSON number that may be fractional; quantity an integer. Prices are never
  // read (our catalog prices the order); lines without a usable SKU or quantity are dropped.
  const std::string body = R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{
    "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
    "contacts":[{"profile":{"name":"Honorine Vasseur-Kowalczyk"},"wa_id":"33612345678"}],
    "messages":[{"from":"33612345678","id":"wamid.ORDER1","timestamp":"1749416400","type":"order",
      "order":{"catalog_id":"194836987003835","text":"",
        "product_items":[
          {"product_retailer_id":"BRD-BAGUETTE","quantity":2,"item_price":1.2,"currency":"EUR"},
          {"product_retailer_id":"DAI-COMTE","quantity":1,"item_price":7.99,"currency":"EUR"},
          {"product_retailer_id":"VEG-LEMON","quantity":3,"item_price":0.45,"currency":"EUR"},
          {"product_retailer_id":"","quantity":1,"item_price":1,"currency":"EUR"},
          {"product_retailer_id":"ZERO","quantity":0,"item_price":1,"currency":"EUR"},
          {"product_retailer_id":"NEGATIVE","quantity":-4,"item_price":1,"currency":"EUR"},
          {"product_retailer_id":"HALF","quantity":1.5,"item_price":1,"currency":"EUR"},
          {"product_retailer_id":"STRINGQ","quantity":"2","item_price":1,"currency":"EUR"},
          {"product_retailer_id":"HUGE","quantity":1000000,"item_price":1,"currency":"EUR"},
          "not an item",
          {"quantity":1}
        ]}}]},"field":"messages"}]}]})";
  const Webhook h = parsed(body);
  ASSERT_EQ(h.messages.size(), 1u);
  const Message& m = h.messages[0];
  EXPECT_EQ(m.type, "order");
  EXPECT_EQ(m.from, "33612345678");
  ASSERT_EQ(m.order.size(), 3u);
  EXPECT_EQ(m.order[0].sku, "BRD-BAGUETTE");
  EXPECT_EQ(m.order[0].quantity, 2);
  EXPECT_EQ(m.order[1].sku, "DAI-COMTE");
  EXPECT_EQ(m.order[1].quantity, 1);
  EXPECT_EQ(m.order[2].sku, "VEG-LEMON");
  EXPECT_EQ(m.order[2].quantity, 3);
  EXPECT_EQ(m.text, "");
}

TEST(WhatsAppWebhook, OrderWithoutUsableLinesIsSkipped) {
  json none = message("wamid.ORDER2", "order", {{"catalog_id", "1"}, {"product_items", json::array()}});
  json bad = message("wamid.ORDER3", "order",
                     {{"catalog_id", "1"}, {"product_items", json::array({{{"product_retailer_id", "X"}, {"quantity", 0}}})}});
  json missing = message("wamid.ORDER4", "order", {{"catalog_id", "1"}});
  json not_object = message("wamid.ORDER5", "order", "cart");
  json ok = message("wamid.ORDER6", "order",
                    {{"product_items", json::array({{{"product_retailer_id", "BRD-BAGUETTE"}, {"quantity", 1}, {"item_price", 1.2}}})}});
  const Webhook h = parsed(envelope(json::array({none, bad, missing, not_object, ok})));
  EXPECT_EQ(h.skipped, 4);
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.messages[0].id, "wamid.ORDER6");
}

TEST(WhatsAppWebhook, LocationWithAndWithoutAddress) {
  json chosen = message("wamid.LOC1", "location",
                        {{"latitude", 48.8738}, {"longitude", 2.2950}, {"name", "Boulangerie du Coin"},
                         {"address", "12 rue de la Paix, 75002 Paris"}, {"url", "https://example.org/place"}});
  json named = message("wamid.LOC2", "location", {{"latitude", 45.764}, {"longitude", 4.8357}, {"name", "Place Bellecour"}});
  json current = message("wamid.LOC3", "location", {{"latitude", 50.8503}, {"longitude", 4.3517}});
  json southwest = message("wamid.LOC4", "location", {{"latitude", -33.8688}, {"longitude", -70.5}});
  json nothing = message("wamid.LOC5", "location", {{"latitude", "50.85"}, {"longitude", "4.35"}});
  const Webhook h = parsed(envelope(json::array({chosen, named, current, southwest, nothing})));
  ASSERT_EQ(h.messages.size(), 5u);
  for (const auto& m : h.messages) EXPECT_EQ(m.type, "location");
  EXPECT_EQ(h.messages[0].location, "12 rue de la Paix, 75002 Paris");
  EXPECT_EQ(h.messages[1].location, "Place Bellecour");
  EXPECT_EQ(h.messages[2].location, "50.850300, 4.351700");
  EXPECT_EQ(h.messages[3].location, "-33.868800, -70.500000");
  EXPECT_EQ(h.messages[4].location, "");  // coordinates as strings: nothing usable, declined later
}

TEST(WhatsAppWebhook, MediaReactionsAndUnsupportedAreNotRead) {
  const std::string caption = "Photo de ma carte d'identité";
  json image = message("wamid.IMG1", "image",
                       {{"id", "1479537139650973"}, {"mime_type", "image/jpeg"}, {"sha256", "HgNfQk0x4qDqUe4="},
                        {"caption", caption}});
  json sticker = message("wamid.STK1", "sticker",
                         {{"id", "8821739219"}, {"mime_type", "image/webp"}, {"sha256", "aa"}, {"animated", true}});
  json voice = message("wamid.AUD1", "audio", {{"id", "2"}, {"mime_type", "audio/ogg; codecs=opus"}, {"voice", true}});
  json document = message("wamid.DOC1", "document", {{"id", "3"}, {"filename", "facture-2026.pdf"}, {"caption", caption}});
  json reaction = message("wamid.REA1", "reaction", {{"message_id", "wamid.OURS"}, {"emoji", "\xF0\x9F\x91\x8D"}});
  json unreaction = message("wamid.REA2", "reaction", {{"message_id", "wamid.OURS"}});
  json contacts = message("wamid.CON1", "contacts",
                          json::array({{{"name", {{"formatted_name", "Jeanne Martin"}}},
                                        {"phones", json::array({{{"phone", "+33 6 98 76 54 32"}, {"type", "CELL"}}})}}}));
  json unsupported = message("wamid.UNS1", "unsupported", nullptr);
  unsupported["errors"] = json::array({{{"code", 131051}, {"title", "Message type unknown"}}});
  json future = message("wamid.FUT1", "hologram", {{"id", "4"}});
  const Webhook h = parsed(envelope(json::array({image, sticker, voice, document, reaction, unreaction, contacts, unsupported, future})));
  EXPECT_EQ(h.skipped, 0);
  ASSERT_EQ(h.messages.size(), 9u);
  const std::vector<std::string> types = {"image", "sticker", "audio", "document", "reaction", "reaction", "contacts",
                                          "unsupported", "hologram"};
  for (std::size_t i = 0; i < types.size(); ++i) {
    EXPECT_EQ(h.messages[i].type, types[i]);
    EXPECT_EQ(h.messages[i].text, "") << types[i];
    EXPECT_EQ(h.messages[i].option, "") << types[i];
    EXPECT_EQ(h.messages[i].location, "") << types[i];
    EXPECT_TRUE(h.messages[i].order.empty()) << types[i];
  }
  const std::string all = everything(h);
  for (const std::string& content : {caption, std::string("facture-2026.pdf"), std::string("Jeanne Martin"),
                                     std::string("98 76 54 32"), std::string("\xF0\x9F\x91\x8D")}) {
    EXPECT_EQ(all.find(content), std::string::npos) << content;
  }
}

TEST(WhatsAppWebhook, UserIdsNextToTheNumberAndChangedNumbers) {
  json both = message("wamid.U1", "text", {{"body", "hi"}});
  both["from_user_id"] = "FR.71928364500012";
  json via_contact = message("wamid.U2", "text", {{"body", "hi"}});
  json only = {{"from_user_id", "FR.71928364500012"}, {"id", "wamid.U3"}, {"timestamp", "1749416383"}, {"type", "text"},
               {"text", {{"body", "hi"}}}};
  json changed = message("wamid.U4", "system", {{"body", "User changed number"}, {"wa_id", "16505559999"}, {"type", "user_changed_number"}});
  json other = message("wamid.U5", "system", {{"body", "Identity changed"}, {"type", "customer_identity_changed"}});
  std::string body = envelope(json::array({both, via_contact, only, changed, other}));
  json env = json::parse(body);
  env["entry"][0]["changes"][0]["value"]["contacts"][0]["user_id"] = "FR.71928364500012";
  const Webhook h = parsed(env.dump());
  ASSERT_EQ(h.messages.size(), 5u);
  EXPECT_EQ(h.messages[0].from, "16505551234");
  EXPECT_EQ(h.messages[0].user_id, "FR.71928364500012");
  EXPECT_EQ(h.messages[1].user_id, "FR.71928364500012") << "paired through contacts[]";
  EXPECT_EQ(h.messages[2].from, "16505551234") << "the contact names the number";
  EXPECT_EQ(h.messages[2].user_id, "FR.71928364500012");
  EXPECT_EQ(h.messages[3].type, "system");
  EXPECT_EQ(h.messages[3].new_wa_id, "16505559999");
  EXPECT_EQ(h.messages[4].new_wa_id, "");
  // Without a contact pairing them, a user id alone is the address and no alias.
  const Webhook alone = parsed(envelope(json::array({only})));
  ASSERT_EQ(alone.messages.size(), 1u);
  EXPECT_EQ(alone.messages[0].from, "FR.71928364500012");
  EXPECT_EQ(alone.messages[0].user_id, "");
}

TEST(WhatsAppWebhook, Statuses) {
  json statuses = json::array({
      {{"id", "wamid.OUT1"}, {"status", "sent"}, {"timestamp", "1749416390"}, {"recipient_id", "16505551234"},
       {"conversation", {{"id", "c1"}, {"expiration_timestamp", "1749502790"}, {"origin", {{"type", "service"}}}}},
       {"pricing", {{"billable", true}, {"pricing_model", "CBP"}, {"category", "service"}}}},
      {{"id", "wamid.OUT1"}, {"status", "delivered"}, {"timestamp", "1749416391"}, {"recipient_id", "16505551234"}},
      {{"id", "wamid.OUT1"}, {"status", "read"}, {"timestamp", "1749416392"}, {"recipient_id", "16505551234"},
       {"pricing", {{"billable", false}, {"pricing_model", "PMP"}, {"type", "free_customer_service"}}}},
      {{"id", "wamid.OUT2"}, {"status", "failed"}, {"timestamp", "1749416393"}, {"recipient_id", "16505551234"},
       {"errors", json::array({{{"code", 131047}, {"title", "Re-engagement message"},
                                {"message", "Re-engagement message"},
                                {"error_data", {{"details", "Message failed to send because more than 24 hours have passed"}}},
                                {"href", "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}}})}},
      {{"id", "wamid.OUT3"}, {"status", "failed"}, {"timestamp", "1749416394"}, {"recipient_id", "16505551234"}},
      {{"id", "wamid.OUT4"}, {"status", "failed"}, {"timestamp", "1749416395"},
       {"errors", json::array({{{"code", "131026"}, {"title", std::string(200, 'T')}}})}},
  });
  const Webhook h = parsed(envelope(nullptr, statuses));
  EXPECT_TRUE(h.messages.empty());
  EXPECT_EQ(h.skipped, 0);
  ASSERT_EQ(h.statuses.size(), 6u);
  EXPECT_EQ(h.statuses[0].id, "wamid.OUT1");
  EXPECT_EQ(h.statuses[0].status, "sent");
  EXPECT_EQ(h.statuses[0].timestamp, 1749416390);
  EXPECT_EQ(h.statuses[0].phone_number_id, kPhoneId);
  EXPECT_EQ(h.statuses[0].error, "");
  EXPECT_EQ(h.statuses[1].status, "delivered");
  EXPECT_EQ(h.statuses[2].status, "read");
  EXPECT_EQ(h.statuses[3].status, "failed");
  EXPECT_EQ(h.statuses[3].error, "131047 Re-engagement message");
  EXPECT_EQ(h.statuses[4].error, "");
  // A code that is not a number is left out; a long title is cut.
  EXPECT_EQ(h.statuses[5].error, std::string(80, 'T'));
  // The recipient's number is kept apart (it only finds the customer, by blind index, when a
  // status has no tracker of ours), never in the fields that are stored or logged.
  EXPECT_EQ(everything(h).find("16505551234"), std::string::npos);
  EXPECT_EQ(h.statuses[0].recipient, "16505551234");
  EXPECT_EQ(h.statuses[5].recipient, "");
  EXPECT_EQ(h.statuses[0].tracker, "");
}

TEST(WhatsAppWebhook, StatusesCarryTheTrackerSentWithTheMessage) {
  json statuses = json::array({
      {{"id", "wamid.OUT1"}, {"status", "delivered"}, {"timestamp", "1749416391"}, {"recipient_id", "16505551234"},
       {"biz_opaque_callback_data", "comptoir.outbox.42"}},
      {{"id", "wamid.OUT2"}, {"status", "read"}, {"timestamp", "1749416392"}, {"biz_opaque_callback_data", std::string(513, 'x')}},
      {{"id", "wamid.OUT3"}, {"status", "read"}, {"timestamp", "1749416392"}, {"biz_opaque_callback_data", 42}},
  });
  const Webhook h = parsed(envelope(nullptr, statuses));
  ASSERT_EQ(h.statuses.size(), 3u);
  EXPECT_EQ(h.statuses[0].tracker, "comptoir.outbox.42");
  EXPECT_EQ(outbox_id_of(h.statuses[0].tracker), 42);
  EXPECT_EQ(h.statuses[1].tracker, "");  // longer than Meta allows: ignored
  EXPECT_EQ(h.statuses[2].tracker, "");  // not a string
}

TEST(WhatsAppWebhook, MalformedStatusesAreSkipped) {
  json statuses = json::array({
      {{"id", "wamid.S1"}, {"status", "deleted"}, {"timestamp", "1"}},
      {{"id", "wamid.S2"}, {"status", "READ"}, {"timestamp", "1"}},
      {{"status", "read"}, {"timestamp", "1"}},
      {{"id", ""}, {"status", "read"}},
      {{"id", std::string(257, 'w')}, {"status", "read"}},
      {{"id", 42}, {"status", "read"}},
      "read",
      nullptr,
      {{"id", "wamid.S9"}, {"status", "delivered"}, {"timestamp", 1749416391}},
  });
  const Webhook h = parsed(envelope(nullptr, statuses));
  EXPECT_EQ(h.skipped, 8);
  ASSERT_EQ(h.statuses.size(), 1u);
  EXPECT_EQ(h.statuses[0].id, "wamid.S9");
  EXPECT_EQ(h.statuses[0].timestamp, 0);  // a number instead of the documented string: unknown time
}

TEST(WhatsAppWebhook, ManyEntriesChangesAndMessages) {
  auto value = [](const std::string& phone_id, const json& messages, const json& statuses) {
    json v = {{"messaging_product", "whatsapp"},
              {"metadata", {{"display_phone_number", "15550783881"}, {"phone_number_id", phone_id}}}};
    if (!messages.is_null()) v["messages"] = messages;
    if (!statuses.is_null()) v["statuses"] = statuses;
    return v;
  };
  json entry1 = {{"id", "102290129340398"},
                 {"changes", json::array({
                                 {{"field", "messages"},
                                  {"value", value(kPhoneId, json::array({message("wamid.A1", "text", {{"body", "un"}}, "33600000001"),
                                                                         message("wamid.A2", "text", {{"body", "deux"}}, "33600000002")}),
                                                  json::array({{{"id", "wamid.OUTA"}, {"status", "read"}, {"timestamp", "5"}}}))}},
                                 {{"field", "messages"},
                                  {"value", value("999999999", json::array({message("wamid.B1", "text", {{"body", "trois"}})}), nullptr)}},
                             })}};
  json entry2 = {{"id", "102290129340399"},
                 {"changes", json::array({{{"value", value(kPhoneId, json::array({message("wamid.C1", "text", {{"body", "quatre"}})}),
                                                           nullptr)},
                                           {"field", "messages"}}})}};
  json account = {{"id", "102290129340398"},
                  {"changes", json::array({{{"field", "account_update"}, {"value", {{"event", "VERIFIED_ACCOUNT"}}}}})}};
  const std::string body =
      json{{"object", "whatsapp_business_account"}, {"entry", json::array({entry1, entry2, account})}}.dump();
  const Webhook h = parsed(body);
  EXPECT_EQ(h.skipped, 0);  // other subscriptions are not errors
  ASSERT_EQ(h.messages.size(), 4u);
  EXPECT_EQ(h.messages[0].id, "wamid.A1");
  EXPECT_EQ(h.messages[0].from, "33600000001");
  EXPECT_EQ(h.messages[1].id, "wamid.A2");
  EXPECT_EQ(h.messages[1].text, "deux");
  EXPECT_EQ(h.messages[2].id, "wamid.B1");
  EXPECT_EQ(h.messages[2].phone_number_id, "999999999");  // routing is the caller's job
  EXPECT_EQ(h.messages[3].id, "wamid.C1");
  EXPECT_EQ(h.messages[3].phone_number_id, kPhoneId);
  ASSERT_EQ(h.statuses.size(), 1u);
  EXPECT_EQ(h.statuses[0].id, "wamid.OUTA");
}

TEST(WhatsAppWebhook, BusinessScopedUserIds) {
  // Username users: no wa_id at all; the BSUID is the customer key.
  const std::string no_wa_id = R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
    "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
    "contacts":[{"profile":{"name":"Honorine Vasseur-Kowalczyk","username":"honorine.v"},"user_id":"US.13491208655302741918",
                 "parent_user_id":"US.ENT.1111"}],
    "messages":[{"from_user_id":"US.13491208655302741918","from_parent_user_id":"US.ENT.1111","id":"wamid.BSUID1",
                 "timestamp":"1749416383","type":"text","text":{"body":"salut"}}]}}]}]})";
  Webhook h = parsed(no_wa_id);
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.messages[0].from, "US.13491208655302741918");
  EXPECT_EQ(h.messages[0].text, "salut");
  EXPECT_EQ(everything(h).find("honorine.v"), std::string::npos);
  EXPECT_EQ(everything(h).find(kProfileName), std::string::npos);

  // Both known: the wa_id stays the key, so existing customers keep their history.
  const std::string both = R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
    "metadata":{"phone_number_id":"106540352242922"},
    "contacts":[{"profile":{"name":"X"},"wa_id":"16505550000","user_id":"US.999"},
                {"profile":{"name":"Y"},"wa_id":"16505551234","user_id":"US.13491208655302741918"}],
    "messages":[{"from_user_id":"US.13491208655302741918","id":"wamid.BSUID2","timestamp":"1749416383","type":"text","text":{"body":"x"}},
                {"from":"16505551234","from_user_id":"US.13491208655302741918","id":"wamid.BSUID3","timestamp":"1749416383","type":"text","text":{"body":"y"}}]}}]}]})";
  h = parsed(both);
  ASSERT_EQ(h.messages.size(), 2u);
  EXPECT_EQ(h.messages[0].from, "16505551234");
  EXPECT_EQ(h.messages[1].from, "16505551234");

  // Neither from nor from_user_id: nobody to answer.
  h = parsed(envelope(json::array({{{"id", "wamid.NOFROM"}, {"timestamp", "1"}, {"type", "text"}, {"text", {{"body", "?"}}}}})));
  EXPECT_TRUE(h.messages.empty());
  EXPECT_EQ(h.skipped, 1);
}

TEST(WhatsAppWebhook, KeyOrderDoesNotMatter) {
  const std::string a = R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Z"},"wa_id":"4915112345678"}],"messages":[{"from":"4915112345678","id":"wamid.ORDERKEYS","timestamp":"1749416383","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"cat:drinks","title":"Drinks"}}}]},"field":"messages"}]}]})";
  const std::string b = R"({"entry":[{"changes":[{"field":"messages","value":{"messages":[{"interactive":{"list_reply":{"title":"Drinks","id":"cat:drinks"},"type":"list_reply"},"type":"interactive","timestamp":"1749416383","id":"wamid.ORDERKEYS","from":"4915112345678"}],"contacts":[{"wa_id":"4915112345678","profile":{"name":"Z"}}],"metadata":{"phone_number_id":"106540352242922","display_phone_number":"15550783881"},"messaging_product":"whatsapp"}}],"id":"102290129340398"}],"object":"whatsapp_business_account"})";
  const std::string c = "{\n  \"entry\" : [ {\n    \"id\" : \"102290129340398\",\n    \"changes\" : [ {\n      \"value\" : {\n"
                        "        \"metadata\" : { \"phone_number_id\" : \"106540352242922\" },\n        \"messages\" : [ {\n"
                        "          \"type\" : \"interactive\", \"from\" : \"4915112345678\", \"id\" : \"wamid.ORDERKEYS\",\n"
                        "          \"interactive\" : { \"list_reply\" : { \"id\" : \"cat:drinks\", \"title\" : \"Drinks\" }, \"type\" : \"list_reply\" },\n"
                        "          \"timestamp\" : \"1749416383\" } ]\n      },\n      \"field\" : \"messages\"\n    } ]\n  } ],\n"
                        "  \"object\" : \"whatsapp_business_account\"\n}\n";
  for (const auto& body : {a, b, c}) {
    const Webhook h = parsed(body);
    ASSERT_EQ(h.messages.size(), 1u) << body;
    EXPECT_EQ(h.messages[0].id, "wamid.ORDERKEYS");
    EXPECT_EQ(h.messages[0].from, "4915112345678");
    EXPECT_EQ(h.messages[0].option, "cat:drinks");
    EXPECT_EQ(h.messages[0].phone_number_id, kPhoneId);
    EXPECT_EQ(h.messages[0].timestamp, 1749416383);
  }
}

TEST(WhatsAppWebhook, DashboardTestPayload) {
  // The shape of the sample the App Dashboard's "Test" button sends: entry id "0", "field"
  // before "value", an id without the "wamid." prefix.
  const std::string body = R"({"entry":[{"id":"0","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",
    "metadata":{"display_phone_number":"16505551111","phone_number_id":"123456123"},
    "contacts":[{"profile":{"name":"test user name"},"wa_id":"16315551181"}],
    "messages":[{"from":"16315551181","id":"ABGGFlA5Fpa","timestamp":"1504902988","type":"text",
                 "text":{"body":"this is a text message"}}]}}]}],"object":"whatsapp_business_account"})";
  const Webhook h = parsed(body);
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.messages[0].id, "ABGGFlA5Fpa");
  EXPECT_EQ(h.messages[0].from, "16315551181");
  EXPECT_EQ(h.messages[0].phone_number_id, "123456123");
  EXPECT_EQ(h.messages[0].timestamp, 1504902988);
  EXPECT_EQ(h.messages[0].text, "this is a text message");
  EXPECT_EQ(everything(h).find("test user name"), std::string::npos);
}

TEST(WhatsAppWebhook, MalformedPartsAreCountedAndTheRestIsRead) {
  const json good = message("wamid.GOOD", "text", {{"body", "ok"}});
  json bad_messages = json::array({
      good,
      "a string",
      42,
      nullptr,
      json::array(),
      {{"from", "16505551234"}, {"timestamp", "1"}, {"type", "text"}, {"text", {{"body", "no id"}}}},
      {{"from", "16505551234"}, {"id", ""}, {"type", "text"}, {"text", {{"body", "empty id"}}}},
      {{"from", "16505551234"}, {"id", std::string(257, 'i')}, {"type", "text"}, {"text", {{"body", "long id"}}}},
      {{"from", std::string(65, '1')}, {"id", "wamid.LONGFROM"}, {"type", "text"}, {"text", {{"body", "long from"}}}},
      {{"from", 16505551234LL}, {"id", "wamid.NUMFROM"}, {"type", "text"}, {"text", {{"body", "numeric from"}}}},
      {{"from", "16505551234"}, {"id", "wamid.NOTYPE"}, {"text", {{"body", "no type"}}}},
      {{"from", "16505551234"}, {"id", "wamid.NOTEXT"}, {"type", "text"}},
      {{"from", "16505551234"}, {"id", "wamid.TEXTSTR"}, {"type", "text"}, {"text", "plain string"}},
  });
  const std::string body = json{{"object", "whatsapp_business_account"},
                                {"entry", json::array({
                                              "not an entry",
                                              {{"id", "1"}},
                                              {{"id", "2"}, {"changes", "nope"}},
                                              {{"id", "3"}, {"changes", json::array({"x", {{"field", "messages"}},
                                                                                     {{"field", "messages"}, {"value", json::array()}}})}},
                                              json::parse(envelope(bad_messages))["entry"][0],
                                          })}}
                             .dump();
  const Webhook h = parsed(body);
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.messages[0].id, "wamid.GOOD");
  // 3 bad entries + 3 bad changes + 12 bad messages.
  EXPECT_EQ(h.skipped, 3 + 3 + 12);
}

TEST(WhatsAppWebhook, ValuesOfTheWrongTypeAreNotTrusted) {
  json m = message("wamid.TYPES", "text", {{"body", 12345}});
  m["timestamp"] = "12abc";
  Webhook h = parsed(envelope(json::array({m})));
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.messages[0].text, "");
  EXPECT_EQ(h.messages[0].timestamp, 0);
  for (const char* ts : {"-5", "", " 1", "1 ", "99999999999999999999", "1e9", "0x10"}) {
    json t = message("wamid.TS", "text", {{"body", "x"}});
    t["timestamp"] = ts;
    h = parsed(envelope(json::array({t})));
    ASSERT_EQ(h.messages.size(), 1u);
    EXPECT_EQ(h.messages[0].timestamp, std::string(ts) == "-5" ? -5 : 0) << ts;
  }
  // metadata of the wrong type: no phone number id, so nothing can be routed to us.
  const std::string body = R"({"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"metadata":"x",
    "contacts":"y","messages":[{"from":"1","id":"wamid.M","type":"text","text":{"body":"b"}}]}}]}]})";
  h = parsed(body);
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.messages[0].phone_number_id, "");
}

TEST(WhatsAppWebhook, NotAWhatsAppNotification) {
  for (const std::string body : {"", "null", "[]", "\"whatsapp_business_account\"", "{", "{}", R"({"object":"page","entry":[]})",
                                 R"({"object":["whatsapp_business_account"]})", R"({"object":"WHATSAPP_BUSINESS_ACCOUNT"})",
                                 "{\"object\":\"whatsapp_business_account\"} trailing"}) {
    auto r = parse_webhook(body);
    EXPECT_FALSE(r.has_value()) << body;
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::invalid_argument) << body;
      EXPECT_FALSE(r.error().message.empty());
    }
  }
  // The right object with nothing (or nothing usable) in it is simply empty.
  for (const std::string body : {R"({"object":"whatsapp_business_account"})", R"({"object":"whatsapp_business_account","entry":{}})",
                                 R"({"object":"whatsapp_business_account","entry":[]})"}) {
    const Webhook h = parsed(body);
    EXPECT_TRUE(h.messages.empty());
    EXPECT_TRUE(h.statuses.empty());
    EXPECT_EQ(h.skipped, 0);
  }
}

TEST(WhatsAppWebhook, DeepNestingAndHugeInputsDoNotCrash) {
  std::string deep = R"({"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[)";
  deep += std::string(20000, '[') + std::string(20000, ']');
  deep += "]}}]}]}";
  auto r = parse_webhook(deep);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->skipped, 1);
  std::string unclosed = R"({"object":"whatsapp_business_account","entry":)" + std::string(50000, '[');
  EXPECT_FALSE(parse_webhook(unclosed).has_value());
  // A long text is passed on whole: the hub and the engine enforce the limits.
  const std::string long_text(100000, 'a');
  const Webhook h = parsed(envelope(json::array({message("wamid.LONG", "text", {{"body", long_text}})})));
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.messages[0].text.size(), long_text.size());
}

}  // namespace
}  // namespace comptoir::channels::whatsapp

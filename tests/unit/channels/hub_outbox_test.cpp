// ChannelHub + Outbox + OutboxWorker on a real SQLCipher database with a fake clock and a fake
// Transport (no threads, no sockets: the worker is driven with run_once()): de-duplication by
// platform message id, statuses that only move forward, retries with backoff, permanent errors,
// the 24-hour window (free-form reply refused with 131047, or replaced by the template),
// per-customer order, Telegram callback answers and retry_after. The e2e suite covers the same
// behaviour through the real binary; these pin the exact timing rules.
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "src/channels/hub.h"
#include "src/channels/outbox.h"
#include "src/channels/whatsapp.h"
#include "storage/outbox_store.h"
#include "storage/sqlite.h"
#include "tests/support/group_commit.h"
#include "tests/unit/chat/engine_fixture.h"

namespace comptoir::channels {
namespace {

using nlohmann::json;
using testing::ChatWorld;
using testing::why;

constexpr const char* kPhoneId = "106540352242922";
constexpr const char* kGraph = "http://127.0.0.1:1/v21.0";
constexpr const char* kBotApi = "http://127.0.0.1:2";

class FakeTransport final : public Transport {
 public:
  struct Request {
    std::string base_url, path, bearer;
    json body;
  };
  HttpResult post_json(const std::string& base_url, const std::string& path, const std::string& bearer,
                       const std::string& body) override {
    std::unique_lock lock(mutex_);
    requests.push_back({base_url, path, bearer, json::parse(body, nullptr, false)});
    if (!scripted.empty()) {
      HttpResult r = scripted.front();
      scripted.pop_front();
      return r;
    }
    ++sent;
    if (base_url == kGraph) {
      const std::string wamid = "wamid.OUT" + std::to_string(sent);
      lock.unlock();
      if (before_answer) before_answer(wamid);  // e.g. a status webhook that overtakes this answer
      return {200, json{{"messages", json::array({{{"id", wamid}}})}}.dump()};
    }
    return {200, json{{"ok", true}, {"result", {{"message_id", sent}}}}.dump()};
  }
  std::vector<Request> requests;
  std::deque<HttpResult> scripted;
  int sent = 0;
  std::function<void(const std::string& wamid)> before_answer;

 private:
  std::mutex mutex_;
};

HttpResult graph_error(int http, int code) {
  return {http, json{{"error", {{"message", "(#" + std::to_string(code) + ") error"}, {"code", code}}}}.dump()};
}

class HubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world.open();
    wa.enabled = true;
    wa.app_secret = SecretBytes::copy_of(std::string_view("unit-app-secret-0123456789"));
    wa.verify_token = SecretBytes::copy_of(std::string_view("unit-verify-token-0123456789"));
    wa.access_token = SecretBytes::copy_of(std::string_view("unit-access-token-0123456789"));
    wa.phone_number_id = kPhoneId;
    wa.graph_base_url = kGraph;
    tg.enabled = true;
    tg.bot_token = SecretBytes::copy_of(std::string_view("123456:unit-bot-token-abcdefgh"));
    tg.secret_token = SecretBytes::copy_of(std::string_view("unit_secret-token-0123"));
    tg.api_base_url = kBotApi;
    settings.senders = 2;
    settings.max_attempts = 5;
    make();
  }
  void TearDown() override {
    hub.reset();
    worker.reset();
    outbox.reset();
  }
  void make() {
    hub.reset();
    worker.reset();
    outbox.reset();
    outbox = std::make_unique<Outbox>(*world.w.db, *world.w.customers, *world.messages, world.w.clock);
    worker = std::make_unique<OutboxWorker>(*world.w.db, *world.w.customers, wa, tg, settings, transport, world.w.clock);
    hub = std::make_unique<ChannelHub>(*world.w.db, *world.engine, *outbox, wa, tg, world.w.clock);
  }

  std::int64_t now() const { return unix_seconds(world.w.clock.now()); }

  std::string wa_body(const json& messages, const json& statuses = nullptr, const std::string& phone_id = kPhoneId) {
    json value = {{"messaging_product", "whatsapp"}, {"metadata", {{"phone_number_id", phone_id}}}};
    if (!messages.is_null()) value["messages"] = messages;
    if (!statuses.is_null()) value["statuses"] = statuses;
    return json{{"object", "whatsapp_business_account"},
                {"entry", json::array({{{"id", "1"}, {"changes", json::array({{{"field", "messages"}, {"value", value}}})}}})}}
        .dump();
  }
  json text(const std::string& id, const std::string& from, const std::string& body, std::int64_t ts = 0) {
    return {{"from", from}, {"id", id}, {"timestamp", std::to_string(ts ? ts : now())}, {"type", "text"}, {"text", {{"body", body}}}};
  }
  json tap(const std::string& id, const std::string& from, const std::string& option) {
    return {{"from", from}, {"id", id}, {"timestamp", std::to_string(now())}, {"type", "interactive"},
            {"interactive", {{"type", "button_reply"}, {"button_reply", {{"id", option}, {"title", "t"}}}}}};
  }
  json status(const std::string& wamid, const std::string& s) {
    return {{"id", wamid}, {"status", s}, {"timestamp", std::to_string(now())}, {"recipient_id", "33612345678"}};
  }

  WebhookResult wa_post(const std::string& body) {
    auto r = hub->whatsapp_webhook(body);
    EXPECT_TRUE(r.has_value()) << why(r);
    return r ? *r : WebhookResult{};
  }
  WebhookResult tg_post(const std::string& body) {
    auto r = hub->telegram_update(body);
    EXPECT_TRUE(r.has_value()) << why(r);
    return r ? *r : WebhookResult{};
  }
  int run() {
    auto n = worker->run_once();
    EXPECT_TRUE(n.has_value()) << why(n);
    return n ? *n : -1;
  }
  std::vector<storage::OutboxRecord> rows() {
    storage::OutboxStore store(*world.w.db);
    auto r = store.list(std::nullopt, INT64_MAX, 500);
    EXPECT_TRUE(r.has_value());
    std::vector<storage::OutboxRecord> out = r ? *r : std::vector<storage::OutboxRecord>{};
    std::reverse(out.begin(), out.end());  // oldest first
    return out;
  }
  std::vector<FakeTransport::Request> to(const std::string& address) {
    std::vector<FakeTransport::Request> out;
    for (const auto& r : transport.requests) {
      if (r.body.is_object() && (r.body.value("to", "") == address || r.body.value("chat_id", "") == address)) out.push_back(r);
    }
    return out;
  }

  ChatWorld world;
  WhatsAppSettings wa;
  TelegramSettings tg;
  OutboxSettings settings;
  FakeTransport transport;
  std::unique_ptr<Outbox> outbox;
  std::unique_ptr<OutboxWorker> worker;
  std::unique_ptr<ChannelHub> hub;
};

TEST_F(HubTest, VerifyHandshakeAndSignature) {
  EXPECT_TRUE(hub->whatsapp_verify("subscribe", "unit-verify-token-0123456789"));
  EXPECT_FALSE(hub->whatsapp_verify("subscribe", "unit-verify-token-012345678"));
  EXPECT_FALSE(hub->whatsapp_verify("subscribe", "unit-verify-token-0123456788"));
  EXPECT_FALSE(hub->whatsapp_verify("unsubscribe", "unit-verify-token-0123456789"));
  EXPECT_FALSE(hub->whatsapp_verify("", "unit-verify-token-0123456789"));
  EXPECT_FALSE(hub->whatsapp_verify("subscribe", ""));
  const std::string body = wa_body(json::array({text("wamid.SIG", "33612345678", "hello")}));
  EXPECT_TRUE(hub->whatsapp_signature_ok(body, whatsapp::sign(body, wa.app_secret)));
  EXPECT_FALSE(hub->whatsapp_signature_ok(body, whatsapp::sign(body, wa.access_token)));
  EXPECT_FALSE(hub->whatsapp_signature_ok(body, ""));
  EXPECT_TRUE(hub->telegram_secret_ok("unit_secret-token-0123"));
  EXPECT_FALSE(hub->telegram_secret_ok("unit_secret-token-0124"));
  // A channel that is not configured accepts nothing.
  wa.enabled = false;
  tg.enabled = false;
  EXPECT_FALSE(hub->whatsapp_verify("subscribe", "unit-verify-token-0123456789"));
  EXPECT_FALSE(hub->whatsapp_signature_ok(body, whatsapp::sign(body, wa.app_secret)));
  EXPECT_FALSE(hub->telegram_secret_ok("unit_secret-token-0123"));
}

TEST_F(HubTest, EachMessageIdIsProcessedOnce) {
  const std::string body = wa_body(json::array({text("wamid.DUP1", "33612345678", "hello")}));
  WebhookResult r = wa_post(body);
  EXPECT_EQ(r.processed, 1);
  EXPECT_EQ(r.duplicates, 0);
  const std::size_t replies = rows().size();
  ASSERT_GE(replies, 1u);
  r = wa_post(body);
  EXPECT_EQ(r.processed, 0);
  EXPECT_EQ(r.duplicates, 1);
  // The same id inside one notification, and alongside a new one.
  r = wa_post(wa_body(json::array({text("wamid.DUP1", "33612345678", "hello"), text("wamid.DUP2", "33612345678", "hello"),
                                   text("wamid.DUP2", "33612345678", "hello")})));
  EXPECT_EQ(r.processed, 1);
  EXPECT_EQ(r.duplicates, 2);
  EXPECT_EQ(rows().size(), 2 * replies);
  while (run() > 0) {
  }
  EXPECT_EQ(to("33612345678").size(), 2 * replies);
  for (const auto& req : transport.requests) {
    EXPECT_EQ(req.path, std::string("/") + kPhoneId + "/messages");
    EXPECT_EQ(req.bearer, "unit-access-token-0123456789");
    EXPECT_EQ(req.body["messaging_product"], "whatsapp");
  }
}

// Message ids are remembered by a keyed hash, never as they came (a wamid embeds the customer's
// number); ids an older version stored as they came are rewritten at start and still recognised.
TEST_F(HubTest, MessageIdsAreRememberedByKeyAndOldOnesAreRekeyed) {
  const auto ids = [&] {
    std::vector<std::string> out;
    EXPECT_TRUE(world.w.db->read([&](storage::Tx& tx) -> Status {
      storage::Stmt s(tx.handle(), "SELECT external_id FROM inbound_messages ORDER BY external_id");
      while (s.step().value_or(false)) out.push_back(s.text(0));
      return ok();
    }));
    return out;
  };
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.KEYED1", "33612345678", "hello")}))).processed, 1);
  ASSERT_EQ(tg_post(R"({"update_id": 777001, "message": {"message_id": 5, "chat": {"id": 4242, "type": "private"}, "text": "hi"}})").processed, 1);
  auto stored = ids();
  ASSERT_EQ(stored.size(), 2u);
  for (const auto& id : stored) {
    EXPECT_TRUE(id.starts_with("h:")) << id;
    EXPECT_EQ(id.find("KEYED1"), std::string::npos);
    EXPECT_EQ(id.find("777001"), std::string::npos);
  }
  // Ids recorded as they came by an older version.
  ASSERT_TRUE(world.w.db->write([&](storage::Tx& tx) -> Status {
    return storage::exec(tx, "INSERT INTO inbound_messages VALUES ('whatsapp', 'wamid.OLD.RAW', 1800000000),"
                             " ('telegram', '777000', 1800000000), ('sms', 'x1', 1800000000)");
  }).has_value());
  auto keyed = hub->key_recorded_inbound_ids();
  ASSERT_TRUE(keyed.has_value()) << why(keyed);
  EXPECT_EQ(*keyed, 2);
  stored = ids();
  EXPECT_EQ(stored.size(), 5u);
  EXPECT_EQ(std::count_if(stored.begin(), stored.end(), [](const std::string& id) { return !id.starts_with("h:"); }), 1)
      << "only the id of a channel this version does not know stays as it was";
  // Their redeliveries are duplicates; running it again changes nothing.
  EXPECT_EQ(wa_post(wa_body(json::array({text("wamid.OLD.RAW", "33612345678", "hello")}))).duplicates, 1);
  EXPECT_EQ(tg_post(R"({"update_id": 777000, "message": {"message_id": 4, "chat": {"id": 4242, "type": "private"}, "text": "hi"}})").duplicates, 1);
  EXPECT_EQ(wa_post(wa_body(json::array({text("wamid.KEYED1", "33612345678", "hello")}))).duplicates, 1);
  EXPECT_EQ(hub->key_recorded_inbound_ids().value_or(-1), 0);
}

TEST_F(HubTest, OtherNumbersAndBadAddressesAreSkippedNotFailed) {
  WebhookResult r = wa_post(wa_body(json::array({text("wamid.OTHER", "33612345678", "hello")}), nullptr, "999999"));
  EXPECT_EQ(r.processed, 0);
  EXPECT_EQ(r.skipped, 1);
  r = wa_post(wa_body(json::array({text("wamid.BADADDR", "not-a-phone", "hello"), text("wamid.GOODADDR", "33612345678", "hello")})));
  EXPECT_EQ(r.processed, 1);
  EXPECT_EQ(r.skipped, 1);
  // Empty text: acknowledged, no reply.
  const std::size_t before = rows().size();
  r = wa_post(wa_body(json::array({text("wamid.EMPTY", "33612345678", "")})));
  EXPECT_EQ(r.skipped + r.processed, 1);
  EXPECT_EQ(rows().size(), before);
  // Not a WhatsApp notification at all: invalid_argument (→ 400).
  auto bad = hub->whatsapp_webhook("{\"object\":\"page\"}");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
}

TEST_F(HubTest, UnsupportedMessagesGetAPoliteAnswer) {
  json image = {{"from", "33612345678"}, {"id", "wamid.IMG"}, {"timestamp", std::to_string(now())}, {"type", "image"},
                {"image", {{"id", "1"}, {"mime_type", "image/jpeg"}, {"caption", "secret caption"}}}};
  EXPECT_EQ(wa_post(wa_body(json::array({image}))).processed, 1);
  while (run() > 0) {
  }
  const auto sent = to("33612345678");
  ASSERT_FALSE(sent.empty());
  EXPECT_NE(sent[0].body.dump().find("only read text and buttons"), std::string::npos) << sent[0].body.dump();
}

TEST_F(HubTest, StatusesOnlyMoveForward) {
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.IN1", "33612345678", "hello")}))).processed, 1);
  while (run() > 0) {
  }
  auto r = rows();
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0].status, "sent");
  const std::string wamid = r[0].external_id;
  ASSERT_TRUE(wamid.starts_with("wamid.OUT")) << wamid;
  auto status_of = [&] {
    for (const auto& row : rows()) {
      if (row.external_id == wamid) return row.status;
    }
    return std::string("?");
  };
  EXPECT_EQ(wa_post(wa_body(nullptr, json::array({status(wamid, "read")}))).statuses, 1);
  EXPECT_EQ(status_of(), "read");
  wa_post(wa_body(nullptr, json::array({status(wamid, "delivered"), status(wamid, "sent")})));
  EXPECT_EQ(status_of(), "read");
  wa_post(wa_body(nullptr, json::array({status(wamid, "read")})));
  EXPECT_EQ(status_of(), "read");
  // failed wins, and is final.
  json failed = status(wamid, "failed");
  failed["errors"] = json::array({{{"code", 131026}, {"title", "Message undeliverable"}}});
  wa_post(wa_body(nullptr, json::array({failed})));
  EXPECT_EQ(status_of(), "failed");
  wa_post(wa_body(nullptr, json::array({status(wamid, "read")})));
  EXPECT_EQ(status_of(), "failed");
  for (const auto& row : rows()) {
    if (row.external_id == wamid) {
      EXPECT_EQ(row.last_error, "131026 Message undeliverable");
    }
  }
  // Unknown ids and other numbers change nothing.
  WebhookResult u = wa_post(wa_body(nullptr, json::array({status("wamid.UNKNOWN", "read")})));
  EXPECT_EQ(u.statuses, 0);
  u = wa_post(wa_body(nullptr, json::array({status(wamid, "read")}), "999999"));
  EXPECT_EQ(u.skipped, 1);
}

// Meta may deliver a status webhook before our send has its answer (the wamid): the status
// waits and is applied when the answer is recorded, still only forward.
TEST_F(HubTest, AStatusThatOvertakesTheSendAnswerIsNotLost) {
  std::vector<WebhookResult> early;
  transport.before_answer = [&](const std::string& wamid) {
    early.push_back(wa_post(wa_body(nullptr, json::array({status(wamid, "delivered"), status(wamid, "read")}))));
  };
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.EARLY", "33612345678", "hello")}))).processed, 1);
  while (run() > 0) {
  }
  transport.before_answer = nullptr;
  ASSERT_FALSE(early.empty());
  for (const auto& e : early) EXPECT_EQ(e.statuses, 0);  // not known yet when they came
  const auto all = rows();
  ASSERT_FALSE(all.empty());
  for (const auto& row : all) {
    EXPECT_EQ(row.status, "read") << row.external_id;
    EXPECT_TRUE(row.body_sealed.empty());
  }
  // Claimed statuses are gone; a status for a message that is not ours waits a day, then goes.
  auto waiting = [&] {
    std::int64_t n = -1;
    EXPECT_TRUE(world.w.db->read([&](storage::Tx& tx) -> Status {
      sqlite3_stmt* s = nullptr;
      sqlite3_prepare_v2(tx.handle(), "SELECT count(*) FROM early_statuses", -1, &s, nullptr);
      if (sqlite3_step(s) == SQLITE_ROW) n = sqlite3_column_int64(s, 0);
      sqlite3_finalize(s);
      return ok();
    }));
    return n;
  };
  EXPECT_EQ(waiting(), 0);
  EXPECT_EQ(wa_post(wa_body(nullptr, json::array({status("wamid.SOMEONE_ELSES", "delivered")}))).statuses, 0);
  EXPECT_EQ(waiting(), 1);
  world.w.clock.advance(std::chrono::hours(25));
  EXPECT_EQ(wa_post(wa_body(nullptr, json::array({status("wamid.ANOTHER", "delivered")}))).statuses, 0);
  EXPECT_EQ(waiting(), 1);  // the day-old one was purged
}

// WhatsApp's business-scoped user ids (usernames): a message may carry both the wa_id and the
// user id, and later only the user id. Both find the same customer; the user id is kept only as
// a blind index.
TEST_F(HubTest, AUserIdSeenWithTheNumberLaterFindsTheSameCustomer) {
  auto count = [&](const char* sql) {
    std::int64_t n = -1;
    EXPECT_TRUE(world.w.db->read([&](storage::Tx& tx) -> Status {
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(tx.handle(), sql, -1, &st, nullptr);
      if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
      sqlite3_finalize(st);
      return ok();
    }));
    return n;
  };
  json both = text("wamid.B1", "33612345678", "hello");
  both["from_user_id"] = "FR.71928364500012";
  ASSERT_EQ(wa_post(wa_body(json::array({both}))).processed, 1);
  EXPECT_EQ(count("SELECT count(*) FROM customers"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM customer_aliases"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM customer_aliases WHERE address_index LIKE '%FR.%'"), 0);
  // The same again records nothing new.
  both["id"] = "wamid.B2";
  ASSERT_EQ(wa_post(wa_body(json::array({both}))).processed, 1);
  EXPECT_EQ(count("SELECT count(*) FROM customer_aliases"), 1);
  // Later, only the user id (the customer turned on a username): still the same customer.
  json only = {{"from_user_id", "FR.71928364500012"}, {"id", "wamid.B3"}, {"timestamp", std::to_string(now())},
               {"type", "text"}, {"text", {{"body", "hello"}}}};
  ASSERT_EQ(wa_post(wa_body(json::array({only}))).processed, 1);
  EXPECT_EQ(count("SELECT count(*) FROM customers"), 1);
  while (run() > 0) {
  }
  ASSERT_FALSE(transport.requests.empty());
  for (const auto& req : transport.requests) EXPECT_EQ(req.body.value("to", ""), "33612345678");
  // A user id that already is someone's address is not taken over as an alias.
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.C1", "FR.99999999999999", "hello")}))).processed, 1);
  json clash = text("wamid.C2", "33699999999", "hello");
  clash["from_user_id"] = "FR.99999999999999";
  ASSERT_EQ(wa_post(wa_body(json::array({clash}))).processed, 1);
  EXPECT_EQ(count("SELECT count(*) FROM customers"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM customer_aliases"), 1);
}

// "user_changed_number": the customer moves to the new number with their cart and orders; the
// notice itself is never answered, and the old number is nobody's any more.
TEST_F(HubTest, AChangedNumberMovesTheCustomer) {
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.N1", "33611111111", "hello")}))).processed, 1);
  while (run() > 0) {
  }
  transport.requests.clear();
  json notice = {{"from", "33611111111"}, {"id", "wamid.N2"}, {"timestamp", std::to_string(now())}, {"type", "system"},
                 {"system", {{"body", "User A changed from 33611111111 to 33622222222"}, {"wa_id", "33622222222"},
                             {"type", "user_changed_number"}}}};
  ASSERT_EQ(wa_post(wa_body(json::array({notice}))).processed, 1);
  while (run() > 0) {
  }
  EXPECT_TRUE(transport.requests.empty()) << "a system notice is not answered";
  std::optional<commerce::Customer> moved, old;
  ASSERT_TRUE(world.w.db->read([&](storage::Tx& tx) -> Status {
    auto a = world.w.customers->find(tx, privacy::Channel::whatsapp, "33622222222");
    auto b = world.w.customers->find(tx, privacy::Channel::whatsapp, "33611111111");
    if (!a || !b) return fail(Errc::internal, "find failed");
    moved = *a;
    old = *b;
    return ok();
  }));
  ASSERT_TRUE(moved.has_value());
  EXPECT_FALSE(old.has_value());
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.N3", "33622222222", "hello")}))).processed, 1);
  while (run() > 0) {
  }
  ASSERT_FALSE(transport.requests.empty());
  for (const auto& req : transport.requests) EXPECT_EQ(req.body.value("to", ""), "33622222222");
  // Other system notices, and a change to a number that is already a customer, change nothing.
  json other = notice;
  other["id"] = "wamid.N4";
  other["system"]["type"] = "customer_identity_changed";
  EXPECT_EQ(wa_post(wa_body(json::array({other}))).processed, 1);
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.N5", "33633333333", "hello")}))).processed, 1);
  json clash = notice;
  clash["id"] = "wamid.N6";
  clash["from"] = "33622222222";
  clash["system"]["wa_id"] = "33633333333";
  EXPECT_EQ(wa_post(wa_body(json::array({clash}))).processed, 1);
  ASSERT_TRUE(world.w.db->read([&](storage::Tx& tx) -> Status {
    auto a = world.w.customers->find(tx, privacy::Channel::whatsapp, "33622222222");
    if (!a) return fail(Errc::internal, "find failed");
    EXPECT_TRUE(a->has_value());
    if (a->has_value()) EXPECT_EQ((*a)->id, moved->id);
    return ok();
  }));
}

// Meta echoes biz_opaque_callback_data in a message's statuses: Comptoir sends its outbox id there,
// and a status carrying it finds its entry without the recipient, but only if the message id agrees.
TEST_F(HubTest, AStatusFindsItsMessageByTheTrackerSentWithIt) {
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.T1", "33612345678", "hello"), text("wamid.T2", "33612345678", "menu")}))).processed, 2);
  while (run() > 0) {
  }
  const auto all = rows();
  ASSERT_GE(all.size(), 2u);
  ASSERT_GE(transport.requests.size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(transport.requests[i].body.value("biz_opaque_callback_data", ""), "comptoir.outbox." + std::to_string(all[i].id));
  }
  const auto status_of = [&](std::int64_t id) {
    for (const auto& row : rows()) {
      if (row.id == id) return row.status;
    }
    return std::string("?");
  };
  const auto tracked = [&](const std::string& wamid, const std::string& s, const std::string& tracker) {
    json st = status(wamid, s);
    st.erase("recipient_id");
    st["biz_opaque_callback_data"] = tracker;
    return st;
  };
  const auto& first = all[0];
  const auto& second = all[1];
  // Its own tracker: applied, no recipient needed.
  EXPECT_EQ(wa_post(wa_body(nullptr, json::array({tracked(first.external_id, "delivered",
                                                          "comptoir.outbox." + std::to_string(first.id))}))).statuses, 1);
  EXPECT_EQ(status_of(first.id), "delivered");
  // A tracker naming another entry than the message id: not believed, nothing changes.
  EXPECT_EQ(wa_post(wa_body(nullptr, json::array({tracked(first.external_id, "read",
                                                          "comptoir.outbox." + std::to_string(second.id))}))).statuses, 0);
  EXPECT_EQ(status_of(first.id), "delivered");
  EXPECT_EQ(status_of(second.id), "sent");
  // Not one of our trackers, and no recipient: unknown.
  for (const std::string& bad : std::vector<std::string>{"comptoir.outbox.", "comptoir.outbox.0" + std::to_string(first.id), "other",
                                                         "comptoir.outbox." + std::to_string(first.id) + "x", "comptoir.outbox.-1"}) {
    EXPECT_EQ(wa_post(wa_body(nullptr, json::array({tracked(first.external_id, "read", bad)}))).statuses, 0) << bad;
  }
  EXPECT_EQ(status_of(first.id), "delivered");
  // Without a tracker, the recipient's latest messages are searched (messages sent before it existed).
  EXPECT_EQ(wa_post(wa_body(nullptr, json::array({status(second.external_id, "read")}))).statuses, 1);
  EXPECT_EQ(status_of(second.id), "read");
  // ... and only the recipient's: another customer's number does not find it.
  json elsewhere = status(first.external_id, "read");
  elsewhere["recipient_id"] = "33700000001";
  EXPECT_EQ(wa_post(wa_body(nullptr, json::array({elsewhere}))).statuses, 0);
  EXPECT_EQ(status_of(first.id), "delivered");
}

TEST_F(HubTest, DeliveredThenReadInOrder) {
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.IN2", "33612345678", "hello")}))).processed, 1);
  while (run() > 0) {
  }
  const std::string wamid = rows()[0].external_id;
  wa_post(wa_body(nullptr, json::array({status(wamid, "sent")})));
  EXPECT_EQ(rows()[0].status, "sent");
  wa_post(wa_body(nullptr, json::array({status(wamid, "delivered")})));
  EXPECT_EQ(rows()[0].status, "delivered");
  wa_post(wa_body(nullptr, json::array({status(wamid, "read")})));
  EXPECT_EQ(rows()[0].status, "read");
}

TEST_F(HubTest, ServerErrorsAreRetriedWithBackoff) {
  transport.scripted = {{500, ""}, {0, ""}, graph_error(400, 130429)};
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.RETRY", "33612345678", "hello")}))).processed, 1);
  const std::size_t n = rows().size();
  EXPECT_EQ(run(), 1);
  auto r = rows();
  EXPECT_EQ(r[0].status, "pending");
  EXPECT_EQ(r[0].attempts, 1);
  EXPECT_EQ(r[0].last_error, "HTTP 500");
  EXPECT_GT(r[0].next_attempt_at, now());
  // Not due yet: nothing is attempted.
  EXPECT_EQ(run(), 0);
  EXPECT_EQ(transport.requests.size(), 1u);
  for (int attempt = 2; attempt <= 4; ++attempt) {
    const std::int64_t due = rows()[0].next_attempt_at;
    EXPECT_LE(due - now(), std::int64_t{1} << (attempt - 1)) << "backoff beyond its cap at attempt " << attempt;
    world.w.clock.advance(std::chrono::seconds(due - now()));
    EXPECT_EQ(run(), 1);
  }
  r = rows();
  EXPECT_EQ(r[0].status, "sent");
  EXPECT_EQ(r[0].attempts, 4);
  EXPECT_EQ(r[0].last_error, "");
  while (run() > 0) {
  }
  EXPECT_EQ(to("33612345678").size(), n + 3);  // three failed tries of the first, then every reply once
}

TEST_F(HubTest, RetriesStopAtMaxAttempts) {
  settings.max_attempts = 3;
  make();
  for (int i = 0; i < 3; ++i) transport.scripted.push_back({503, ""});
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.GIVEUP", "33612345678", "hello")}))).processed, 1);
  for (int i = 0; i < 3; ++i) {
    world.w.clock.advance(std::chrono::seconds(10));
    EXPECT_EQ(run(), 1);
  }
  auto r = rows();
  EXPECT_EQ(r[0].status, "failed");
  EXPECT_EQ(r[0].attempts, 3);
  EXPECT_EQ(r[0].last_error, "gave up: HTTP 503");
}

TEST_F(HubTest, ReEngagementErrorIsPermanent) {
  transport.scripted = {graph_error(400, 131047)};
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.PERM", "33612345678", "hello")}))).processed, 1);
  EXPECT_EQ(run(), 1);
  auto r = rows();
  EXPECT_EQ(r[0].status, "failed");
  EXPECT_EQ(r[0].attempts, 1);
  EXPECT_TRUE(r[0].last_error.starts_with("131047")) << r[0].last_error;
  // The next messages of the same customer are not held up by it.
  while (run() > 0) {
  }
  for (const auto& row : rows()) {
    if (row.id != r[0].id) {
      EXPECT_EQ(row.status, "sent");
    }
  }
}

TEST_F(HubTest, OutsideTheWindowWithoutTemplateNothingIsSent) {
  wa.max_message_age_seconds = 48 * 3600;  // outside the window here means an old message still handled
  const std::int64_t old = now() - 25 * 3600;
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.OLD", "33612345678", "hello", old)}))).processed, 1);
  while (run() > 0) {
  }
  EXPECT_TRUE(transport.requests.empty());
  for (const auto& row : rows()) {
    EXPECT_EQ(row.status, "failed");
    EXPECT_TRUE(row.last_error.starts_with("131047")) << row.last_error;
  }
  // A new message opens the window again.
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.NEW", "33612345678", "hello")}))).processed, 1);
  while (run() > 0) {
  }
  EXPECT_FALSE(transport.requests.empty());
  EXPECT_NE(transport.requests[0].body["type"], "template");
}

TEST_F(HubTest, OutsideTheWindowTheTemplateIsSent) {
  wa.template_name = "order_update";
  wa.template_language = "fr";
  wa.max_message_age_seconds = 48 * 3600;
  // Two old messages, so two replies are queued for a customer whose window has closed.
  json later = tap("wamid.OLD3", "33612345678", "browse");
  later["timestamp"] = std::to_string(now() - 25 * 3600);
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.OLD2", "33612345678", "hello", now() - 25 * 3600), later}))).processed, 2);
  while (run() > 0) {
  }
  // One template stands for the whole multi-part reply; the other parts are failed with the reason.
  ASSERT_EQ(transport.requests.size(), 1u);
  std::size_t superseded = 0;
  for (const auto& row : rows()) {
    if (row.status == "failed") {
      EXPECT_NE(row.last_error.find("stands for this message"), std::string::npos) << row.last_error;
      EXPECT_TRUE(row.body_sealed.empty());
      ++superseded;
    }
  }
  EXPECT_GE(superseded, 1u);
  for (const auto& req : transport.requests) {
    ASSERT_EQ(req.body.value("type", ""), "template") << req.body.dump();
    EXPECT_EQ(req.body.value("to", ""), "33612345678");
    EXPECT_EQ(req.body["template"].value("name", ""), "order_update");
    EXPECT_EQ(req.body["template"].value("language", json::object()).value("code", ""), "fr");
  }
  // Just inside the window: free-form.
  transport.requests.clear();
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.RECENT", "33600000002", "hello", now() - 23 * 3600)}))).processed, 1);
  while (run() > 0) {
  }
  ASSERT_FALSE(transport.requests.empty());
  for (const auto& req : transport.requests) EXPECT_NE(req.body["type"], "template");
  // A late retry of an older message does not move the window back.
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.STALE", "33600000002", "hello", now() - 30 * 3600)}))).processed, 1);
  transport.requests.clear();
  while (run() > 0) {
  }
  for (const auto& req : transport.requests) EXPECT_NE(req.body["type"], "template");
}

TEST_F(HubTest, TheLastInboundTimeMovesForwardByTheMinute) {
  const auto last = [&]() -> std::optional<std::int64_t> {
    std::optional<std::int64_t> out;
    EXPECT_TRUE(world.w.db->read([&](storage::Tx& tx) -> Status {
                      auto c = world.w.customers->find(tx, privacy::Channel::whatsapp, "33612345678");
                      if (!c) return std::unexpected(c.error());
                      if (!c->has_value()) return fail(Errc::not_found, "no customer");
                      storage::Stmt s(tx, "SELECT last_inbound_at FROM customers WHERE id = ?");
                      s.bind(1, (*c)->id);
                      auto row = s.step();
                      if (!row) return std::unexpected(row.error());
                      if (*row && !s.is_null(0)) out = s.int64(0);
                      return ok();
                    }).has_value());
    return out;
  };
  const std::int64_t t0 = now();
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.M1", "33612345678", "hello", t0)}))).processed, 1);
  EXPECT_EQ(last(), t0);
  // Within the minute the row is not written again; a minute later it is.
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.M2", "33612345678", "menu", t0 + 59)}))).processed, 1);
  EXPECT_EQ(last(), t0);
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.M3", "33612345678", "menu", t0 + 60)}))).processed, 1);
  EXPECT_EQ(last(), t0 + 60);
  // A late retry of an older message never moves it back.
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.M0", "33612345678", "hi", t0 - 600)}))).processed, 1);
  EXPECT_EQ(last(), t0 + 60);
}

TEST_F(HubTest, EachCustomersMessagesGoOutInOrder) {
  // Two messages for one customer, the first failing once: the second waits for it.
  transport.scripted = {{500, ""}};
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.O1", "33612345678", "hello"), tap("wamid.O2", "33612345678", "browse")}))).processed, 2);
  const auto all = rows();
  ASSERT_GE(all.size(), 2u);
  EXPECT_EQ(run(), 1);  // only the head of the customer's queue
  EXPECT_EQ(run(), 0);
  world.w.clock.advance(std::chrono::seconds(5));
  while (run() > 0) {
  }
  const auto sent = to("33612345678");
  ASSERT_EQ(sent.size(), all.size() + 1);
  EXPECT_EQ(sent[0].body, sent[1].body);  // the retried first message, then the rest in order
  for (const auto& row : rows()) EXPECT_EQ(row.status, "sent");
}

TEST_F(HubTest, ARoundSendsToSeveralCustomersAtOnceOnSenderThreadsThatOutliveIt) {
  settings.senders = 3;
  make();
  const std::vector<std::string> numbers = {"33612345671", "33612345672", "33612345673", "33612345674"};
  // Each answer waits until three sends are in flight at once: only parallel senders get there.
  std::mutex m;
  std::condition_variable cv;
  int in_flight = 0, most = 0;
  transport.before_answer = [&](const std::string&) {
    std::unique_lock lock(m);
    most = std::max(most, ++in_flight);
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(5), [&] { return most >= 3; });
    --in_flight;
  };
  for (int round = 0; round < 2; ++round) {
    // A new message from every customer, then their replies are drained: each round sends the
    // head of every customer's queue, in parallel, on the same sender threads as the last.
    for (std::size_t i = 0; i < numbers.size(); ++i) {
      const std::string id = "wamid.PAR" + std::to_string(round) + "." + std::to_string(i);
      ASSERT_EQ(wa_post(wa_body(json::array({text(id, numbers[i], "hello")}))).processed, 1);
    }
    most = 0;
    EXPECT_EQ(run(), static_cast<int>(numbers.size()));
    EXPECT_EQ(most, 3) << "round " << round << ": the sends did not run in parallel";
    while (run() > 0) {
    }
  }
  transport.before_answer = nullptr;
  while (run() > 0) {
  }
  for (const auto& row : rows()) EXPECT_EQ(row.status, "sent");
}

TEST_F(HubTest, TelegramCallbacksAreAlwaysAnswered) {
  const std::string msg = R"({"update_id":500,"message":{"message_id":1,"date":1800000000,"chat":{"id":4242,"type":"private"},"text":"hello"}})";
  WebhookResult r = tg_post(msg);
  EXPECT_EQ(r.processed, 1);
  EXPECT_EQ(tg_post(msg).duplicates, 1);
  int id = 501;
  for (const std::string data : {"browse", "nosuch:thing", "<bad option>"}) {
    const std::string cb = R"({"update_id":)" + std::to_string(id) + R"(,"callback_query":{"id":"cbq)" + std::to_string(id) +
                           R"(","from":{"id":4242,"first_name":"T"},"chat_instance":"1","message":{"message_id":2,"chat":{"id":4242}},"data":")" +
                           data + R"("}})";
    ++id;
    EXPECT_EQ(tg_post(cb).processed, 1) << data;
  }
  while (run() > 0) {
  }
  int answers = 0, messages = 0;
  for (const auto& req : transport.requests) {
    EXPECT_EQ(req.base_url, kBotApi);
    EXPECT_EQ(req.bearer, "");
    if (req.path == "/bot123456:unit-bot-token-abcdefgh/answerCallbackQuery") {
      ++answers;
      EXPECT_TRUE(req.body["callback_query_id"].get<std::string>().starts_with("cbq"));
    } else {
      EXPECT_EQ(req.path, "/bot123456:unit-bot-token-abcdefgh/sendMessage");
      EXPECT_EQ(req.body["chat_id"], "4242");
      ++messages;
    }
  }
  EXPECT_EQ(answers, 3);
  EXPECT_GE(messages, 4);
  // Updates without a chat, or of other kinds, are acknowledged and skipped.
  EXPECT_EQ(tg_post(R"({"update_id":600,"edited_message":{"message_id":1,"chat":{"id":1},"text":"x"}})").skipped, 1);
  EXPECT_EQ(tg_post(R"({"update_id":601,"callback_query":{"id":"x","chat_instance":"1","data":"menu"}})").skipped, 1);
  auto bad = hub->telegram_update("[]");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
}

TEST_F(HubTest, TelegramRetryAfterIsHonoured) {
  transport.scripted = {{429, R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 30","parameters":{"retry_after":30}})"}};
  ASSERT_EQ(tg_post(R"({"update_id":700,"message":{"message_id":1,"date":1,"chat":{"id":77},"text":"hello"}})").processed, 1);
  EXPECT_EQ(run(), 1);
  auto r = rows();
  EXPECT_EQ(r[0].status, "pending");
  EXPECT_GE(r[0].next_attempt_at, now() + 30);
  world.w.clock.advance(std::chrono::seconds(29));
  EXPECT_EQ(run(), 0);
  world.w.clock.advance(std::chrono::seconds(r[0].next_attempt_at - now()));
  while (run() > 0) {
  }
  for (const auto& row : rows()) EXPECT_EQ(row.status, "sent");
}

TEST_F(HubTest, CheckoutByButtons) {
  for (const auto& [id, option] : std::vector<std::pair<std::string, std::string>>{
           {"wamid.N1", "add:BRD-BAGUETTE:1"}, {"wamid.N2", "checkout"}, {"wamid.N3", "ful:pickup"}, {"wamid.N4", "confirm"}}) {
    ASSERT_EQ(wa_post(wa_body(json::array({tap(id, "33612345678", option)}))).processed, 1) << option;
  }
  while (run() > 0) {
  }
  std::string all;
  for (const auto& req : to("33612345678")) all += req.body.dump();
  EXPECT_NE(all.find("C-000001"), std::string::npos) << all;
}

// When another write of the same group commit fails, the batch is rolled back and replayed, so a
// webhook's transactions may run twice: each message and status must still count once, and its
// replies be queued once.
TEST_F(HubTest, AWebhookReplayedByTheGroupCommitCountsAndQueuesOnce) {
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.R0", "33612345678", "hello")}))).processed, 1);
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.C0", "33698765432", "hello")}))).processed, 1);
  while (run() > 0) {
  }
  const std::string first_out = "wamid.OUT1";  // the fake Graph API's id for the first reply sent
  const auto sent = rows();
  ASSERT_TRUE(std::any_of(sent.begin(), sent.end(), [&](const auto& r) { return r.external_id == first_out; }));
  const std::size_t before = rows().size();
  // What one "browse" queues, measured on another customer.
  ASSERT_EQ(wa_post(wa_body(json::array({tap("wamid.C1", "33698765432", "browse")}))).processed, 1);
  const std::size_t per_message = rows().size() - before;
  ASSERT_GE(per_message, 1u);

  Result<WebhookResult> message = fail(Errc::internal, "not run"), delivered = fail(Errc::internal, "not run");
  Status failing = ok();
  testing::run_as_one_batch(*world.w.db, {
      [&] { message = hub->whatsapp_webhook(wa_body(json::array({tap("wamid.R1", "33612345678", "browse")}))); },
      [&] { delivered = hub->whatsapp_webhook(wa_body(nullptr, json::array({status(first_out, "delivered")}))); },
      [&] { failing = world.w.db->write([](storage::Tx&) -> Status { return fail(Errc::conflict, "a write that fails"); }); },
  });
  ASSERT_FALSE(failing.has_value());
  EXPECT_EQ(world.w.db->stats().batch_replays, 1u);
  ASSERT_TRUE(message.has_value()) << why(message);
  EXPECT_EQ(message->processed, 1);
  EXPECT_EQ(message->duplicates, 0);
  ASSERT_TRUE(delivered.has_value()) << why(delivered);
  EXPECT_EQ(delivered->statuses, 1);
  EXPECT_EQ(rows().size(), before + 2 * per_message) << "the replayed message's replies were queued twice";
  // Meta's retry of the same message is still recognised as a duplicate.
  EXPECT_EQ(wa_post(wa_body(json::array({tap("wamid.R1", "33612345678", "browse")}))).duplicates, 1);
}

TEST_F(HubTest, AWhatsAppMessageUnwrapsTheCustomersKeyOnce) {
  ASSERT_EQ(wa_post(wa_body(json::array({text("wamid.K0", "33612345678", "hello")}))).processed, 1);
  const auto before = world.w.vault->unwraps();
  const std::size_t queued = rows().size();
  // Opens the state, seals the new one, opens the address, seals every reply queued.
  ASSERT_EQ(wa_post(wa_body(json::array({tap("wamid.K1", "33612345678", "browse")}))).processed, 1);
  EXPECT_GT(rows().size(), queued);
  EXPECT_EQ(world.w.vault->unwraps(), before + 1);
}

}  // namespace
}  // namespace comptoir::channels

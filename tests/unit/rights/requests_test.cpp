// Data-subject requests against a real conversation and database: codes (hashed, constant-time
// checked, expiring), locking after wrong codes, the same answer for unknown addresses, due
// dates and extensions, and each type of request carried out.
#include "src/rights/requests.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sqlcipher/sqlite3.h>

#include <set>

#include <nlohmann/json.hpp>

#include "src/commerce/consent.h"
#include "src/common/encoding.h"
#include "tests/unit/chat/engine_fixture.h"

namespace comptoir::testing {
namespace {

using nlohmann::json;
using rights::RequestType;
using rights::VerifyStatus;

struct Sent {
  std::int64_t customer_id;
  std::string key;
  std::map<std::string, std::string> values;
};

std::int64_t count(ChatWorld& chat, const std::string& sql) {
  std::int64_t n = -1;
  chat.w.db->run([&](sqlite3* h) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr);
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
  });
  return n;
}

// Every byte of every privacy_requests row, as text (to search for things that must not be there).
std::string all_request_bytes(ChatWorld& chat) {
  std::string out;
  chat.w.db->run([&](sqlite3* h) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, "SELECT * FROM privacy_requests", -1, &st, nullptr);
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const void* b = sqlite3_column_blob(st, i);
        out.append(static_cast<const char*>(b ? b : ""), static_cast<std::size_t>(sqlite3_column_bytes(st, i)));
        out += '|';
      }
    }
    sqlite3_finalize(st);
    return 0;
  });
  return out;
}

class RequestsTest : public ::testing::Test {
 protected:
  ChatWorld chat;
  privacy::Inventory inventory = *privacy::default_inventory();
  audit::MemoryRecorder audit;
  std::vector<Sent> sent;
  SecretBytes secrets = SecretBytes::random(32);
  SecretBytes seed = SecretBytes::random(32);
  std::unique_ptr<rights::RequestService> service;
  const std::string me = "wcs_requests_customer_00001";
  const std::string stranger = "wcs_requests_unknown_000001";

  void SetUp() override { start(); }

  void start(rights::RequestSettings settings = {}) {
    if (!chat.engine) chat.open();
    settings.export_context.shop_name = kShopName;
    settings.notice_version = [](const std::string& l) { return ChatWorld::notice().version(l); };
    service = std::make_unique<rights::RequestService>(
        *chat.w.db, *chat.w.customers, chat.engine->consent(), inventory, *chat.w.index, audit, secrets, seed,
        [this](storage::Tx&, const commerce::Customer& c, const std::string& key,
               const std::vector<std::pair<std::string, std::string>>& values) -> Status {
          sent.push_back({c.id, key, {values.begin(), values.end()}});
          return ok();
        },
        settings, chat.w.clock);
  }

  // A customer with a delivery order still open, and marketing consent given.
  commerce::Customer shopper() {
    chat.run(me, {say("hello"), tap("add:BRD-BAGUETTE:2"), tap("checkout"), tap("ful:delivery"), say("Zoé Martin"),
                  say("3 rue du Four, Paris"), tap("confirm"), tap("mkt:yes")});
    return *chat.customer(me);
  }

  std::string open(RequestType type, const std::string& address, rights::Changes changes = {}) {
    rights::OpenRequest r;
    r.type = type;
    r.channel = privacy::Channel::webchat;
    r.address = address;
    r.changes = std::move(changes);
    auto id = service->open(r);
    EXPECT_TRUE(id.has_value()) << (id ? "" : id.error().message);
    return id.value_or("");
  }
  std::string last_code() {
    EXPECT_FALSE(sent.empty());
    return sent.empty() ? "" : sent.back().values["code"];
  }
  rights::VerifyResult verify(const std::string& id, const std::string& code) {
    auto r = service->verify(id, code);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r.value_or(rights::VerifyResult{});
  }
  bool live_marketing(std::int64_t customer_id) {
    auto audience = chat.w.in_tx<std::vector<std::int64_t>>([&](storage::Tx& tx) { return chat.engine->consent().marketing_audience(tx); });
    return audience && std::find(audience->begin(), audience->end(), customer_id) != audience->end();
  }
};

TEST_F(RequestsTest, CodeGoesToTheChatIsStoredHashedAndOpensAnAccessExportOnce) {
  const auto c = shopper();
  const std::string id = open(RequestType::access, me);
  ASSERT_TRUE(id.starts_with("prq_"));
  EXPECT_EQ(id.size(), 4u + 32u);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].customer_id, c.id);
  EXPECT_EQ(sent[0].key, "rights.code");
  const std::string code = last_code();
  ASSERT_EQ(code.size(), 8u);
  EXPECT_EQ(code.find_first_not_of("0123456789"), std::string::npos);
  const std::string stored = all_request_bytes(chat);
  EXPECT_EQ(stored.find(code), std::string::npos) << "the code is stored in clear";
  EXPECT_EQ(stored.find(me), std::string::npos) << "the address is stored";

  auto r = verify(id, code);
  ASSERT_EQ(r.status, VerifyStatus::done);
  EXPECT_EQ(r.outcome.code, "exported");
  ASSERT_EQ(r.outcome.export_token.size(), 64u);
  EXPECT_EQ(all_request_bytes(chat).find(r.outcome.export_token), std::string::npos) << "the token is stored in clear";

  auto doc = service->download(r.outcome.export_token);
  ASSERT_TRUE(doc.has_value()) << doc.error().message;
  const json j = json::parse(doc->document);
  EXPECT_EQ(j["subject"]["reference"], c.subject_id);
  EXPECT_NE(doc->document.find("Zoé Martin"), std::string::npos);
  EXPECT_NE(doc->document.find("\"privacy_requests\""), std::string::npos) << "earlier requests are part of the export";
  auto again = service->download(r.outcome.export_token);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, Errc::gone);
  auto unknown = service->download(std::string(64, 'a'));
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, Errc::not_found);

  // Verifying again: done already; the code was used up.
  EXPECT_EQ(verify(id, code).status, VerifyStatus::already_done);

  // The audit trail: received, verified, completed, downloaded — subject by pseudonym only.
  for (const char* action : {"request.received", "request.verified", "request.completed", "request.export_downloaded"}) {
    auto events = audit.with_action(action);
    ASSERT_EQ(events.size(), 1u) << action;
    EXPECT_EQ(events[0].subject, c.subject_id);
    EXPECT_EQ(events[0].resource, "request:" + id);
  }
  for (const auto& e : audit.events()) {
    for (const auto& [k, v] : e.details) EXPECT_EQ(v.find(me), std::string::npos) << k;
  }
}

TEST_F(RequestsTest, ExportLinksExpire) {
  shopper();
  const std::string id = open(RequestType::access, me);
  auto r = verify(id, last_code());
  ASSERT_EQ(r.status, VerifyStatus::done);
  chat.w.clock.advance(std::chrono::minutes(16));
  auto doc = service->download(r.outcome.export_token);
  ASSERT_FALSE(doc.has_value());
  EXPECT_EQ(doc.error().code, Errc::gone);
}

TEST_F(RequestsTest, FiveWrongCodesLockTheRequestEvenWithTheRightCodeAfterwards) {
  shopper();
  const std::string id = open(RequestType::erasure, me);
  const std::string code = last_code();
  const std::string wrong = code == "00000000" ? "11111111" : "00000000";
  for (int i = 1; i <= 4; ++i) {
    auto r = verify(id, wrong);
    EXPECT_EQ(r.status, VerifyStatus::wrong_code);
    EXPECT_EQ(r.attempts_left, 5 - i);
  }
  EXPECT_EQ(verify(id, wrong).status, VerifyStatus::locked);
  EXPECT_EQ(verify(id, code).status, VerifyStatus::locked);
  EXPECT_TRUE(chat.customer(me).has_value()) << "nothing was erased";
  EXPECT_EQ(audit.with_action("request.failed_verification").size(), 5u);
  EXPECT_EQ(audit.with_action("request.locked").size(), 1u);
  auto reg = service->register_entries(10);
  ASSERT_TRUE(reg.has_value());
  ASSERT_EQ(reg->size(), 1u);
  EXPECT_EQ((*reg)[0].status, "locked");
  EXPECT_EQ((*reg)[0].record.attempts, 5);
}

TEST_F(RequestsTest, CodesExpireAfterTenMinutes) {
  shopper();
  const std::string id = open(RequestType::access, me);
  const std::string code = last_code();
  chat.w.clock.advance(std::chrono::minutes(10) + std::chrono::seconds(1));
  EXPECT_EQ(verify(id, code).status, VerifyStatus::expired);
  auto reg = service->register_entries(10);
  EXPECT_EQ((*reg)[0].status, "expired");
}

TEST_F(RequestsTest, AnUnknownAddressGetsARequestThatNoCodeOpens) {
  shopper();
  const std::string id = open(RequestType::erasure, stranger);
  EXPECT_TRUE(id.starts_with("prq_"));
  EXPECT_TRUE(sent.empty()) << "a code was sent somewhere";
  EXPECT_EQ(count(chat, "SELECT COUNT(*) FROM privacy_requests WHERE customer_id IS NULL"), 1);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(verify(id, "12345678").status, VerifyStatus::wrong_code);
  EXPECT_EQ(verify(id, "87654321").status, VerifyStatus::locked);
  auto missing = service->verify("prq_00000000000000000000000000000000", "12345678");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_TRUE(chat.customer(me).has_value());
}

TEST_F(RequestsTest, MalformedRequestsAreRefusedAndStoreNothing) {
  rights::OpenRequest r;
  r.type = RequestType::access;
  r.channel = privacy::Channel::whatsapp;
  r.address = "not a phone";
  auto id = service->open(r);
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().code, Errc::invalid_argument);
  r.channel = privacy::Channel::webchat;
  r.address = me;
  r.changes.language = "fr";  // changes only with a rectification
  EXPECT_FALSE(service->open(r).has_value());
  r.type = RequestType::rectification;
  r.changes = {};
  EXPECT_FALSE(service->open(r).has_value()) << "a rectification needs changes";
  r.changes.language = "xx";
  EXPECT_FALSE(service->open(r).has_value());
  r.changes = {};
  r.changes.recipient_name = std::string(101, 'a');
  EXPECT_FALSE(service->open(r).has_value());
  EXPECT_EQ(count(chat, "SELECT COUNT(*) FROM privacy_requests"), 0);
}

TEST_F(RequestsTest, ErasureGivesAReceiptSignedWithTheAuditKeyAndIsHarmlessTwice) {
  const auto c = shopper();
  const std::string id = open(RequestType::erasure, me);
  auto r = verify(id, last_code());
  ASSERT_EQ(r.status, VerifyStatus::done);
  EXPECT_EQ(r.outcome.code, "erased");
  EXPECT_FALSE(chat.customer(me).has_value());
  EXPECT_EQ(count(chat, "SELECT COUNT(*) FROM privacy_requests WHERE customer_id IS NOT NULL"), 0) << "the request is unlinked";

  const json doc = json::parse(r.outcome.receipt);
  const json& receipt = doc["receipt"];
  EXPECT_EQ(receipt["request_id"], id);
  EXPECT_EQ(receipt["subject_reference"], c.subject_id);
  EXPECT_EQ(receipt["orders_kept"], json::array({"C-000001"}));
  std::map<std::string, json> by;
  for (const auto& l : receipt["categories"]) by[l["category"].get<std::string>()] = l;
  ASSERT_TRUE(by.contains("order_records"));
  EXPECT_EQ(by["order_records"]["outcome"], "retained");
  EXPECT_EQ(by["order_records"]["retained_until"].get<std::string>().size(), 10u);
  EXPECT_NE(by["order_records"]["legal_basis"].get<std::string>().find("Art. 6(1)(c)"), std::string::npos);
  EXPECT_EQ(by["delivery_details"]["outcome"], "erased");
  EXPECT_EQ(by["privacy_requests"]["outcome"], "unlinked");
  EXPECT_EQ(r.outcome.receipt.find("Zoé"), std::string::npos);

  // Signed with the audit key: the seed's Ed25519 public key verifies it; a change breaks it.
  unsigned char pk[32], sk[64];
  crypto_sign_seed_keypair(pk, sk, seed.data());
  EXPECT_EQ(service->public_key_hex(), hex_encode(std::span<const std::uint8_t>(pk, 32)));
  EXPECT_TRUE(rights::verify_receipt(r.outcome.receipt, service->public_key_hex()));
  json tampered = doc;
  tampered["receipt"]["orders_kept"] = json::array();
  EXPECT_FALSE(rights::verify_receipt(tampered.dump(), service->public_key_hex()));
  // The signed bytes are exactly the context line and the compact, key-ordered receipt.
  const std::string message = std::string(rights::kReceiptContext) + receipt.dump();
  auto sig = hex_decode(doc["signature"].get<std::string>());
  ASSERT_TRUE(sig.has_value());
  EXPECT_EQ(crypto_sign_verify_detached(sig->data(), reinterpret_cast<const unsigned char*>(message.data()), message.size(), pk), 0);

  // Asking again for the same address: it is unknown now; nothing is sent, nothing breaks.
  sent.clear();
  const std::string again = open(RequestType::erasure, me);
  EXPECT_TRUE(sent.empty());
  EXPECT_EQ(verify(again, "12345678").status, VerifyStatus::wrong_code);
}

TEST_F(RequestsTest, RectificationChangesOpenDeliveryOrdersAndLanguage) {
  const auto c = shopper();
  rights::Changes ch;
  ch.recipient_name = "Zoé Martin-Durand";
  ch.delivery_address = "5 rue du Four, Paris";
  ch.language = "fr";
  const std::string id = open(RequestType::rectification, me, ch);
  EXPECT_EQ(all_request_bytes(chat).find("Martin-Durand"), std::string::npos) << "the new values are sealed";
  auto r = verify(id, last_code());
  ASSERT_EQ(r.status, VerifyStatus::done);
  EXPECT_EQ(r.outcome.code, "rectified");
  EXPECT_EQ(r.outcome.orders_rectified, 1);
  auto details = chat.w.in_tx<commerce::OrderDetails>([&](storage::Tx& tx) -> Result<commerce::OrderDetails> {
    auto o = chat.w.shop->orders().by_number(tx, "C-000001");
    if (!o) return std::unexpected(o.error());
    return chat.w.shop->details(tx, **o);
  });
  ASSERT_TRUE(details.has_value());
  EXPECT_EQ(details->recipient_name, "Zoé Martin-Durand");
  EXPECT_EQ(details->delivery_address, "5 rue du Four, Paris");
  EXPECT_EQ(chat.customer(me)->language, "fr");
  EXPECT_EQ(count(chat, "SELECT COUNT(*) FROM privacy_requests WHERE changes_sealed IS NOT NULL"), 0) << "values dropped once applied";
  EXPECT_EQ(sent.back().key, "rights.rectified");
  (void)c;
}

TEST_F(RequestsTest, RestrictionStopsMarketingUntilLifted) {
  const auto c = shopper();
  ASSERT_TRUE(live_marketing(c.id));
  const std::string id = open(RequestType::restriction, me);
  ASSERT_EQ(verify(id, last_code()).status, VerifyStatus::done);
  EXPECT_FALSE(live_marketing(c.id));
  auto restricted = chat.w.in_tx<bool>([&](storage::Tx& tx) { return service->restricted(tx, c.id); });
  EXPECT_TRUE(*restricted);
  auto lifted = service->lift_restriction(id, audit::Actor::token("tok_1", "operator"));
  ASSERT_TRUE(lifted.has_value()) << lifted.error().message;
  EXPECT_TRUE(lifted->record.lifted_at.has_value());
  EXPECT_TRUE(live_marketing(c.id));
  EXPECT_FALSE(service->lift_restriction(id, audit::Actor::system_actor()).has_value()) << "lifted twice";
}

TEST_F(RequestsTest, ObjectionWithdrawsMarketingConsentInTheLedger) {
  const auto c = shopper();
  ASSERT_TRUE(live_marketing(c.id));
  const std::string id = open(RequestType::objection, me);
  ASSERT_EQ(verify(id, last_code()).status, VerifyStatus::done);
  EXPECT_FALSE(live_marketing(c.id));
  auto history = chat.engine->consent().history(c.id);
  ASSERT_TRUE(history.has_value());
  EXPECT_EQ(history->back().kind, commerce::ConsentKind::marketing_withdrawn);
}

TEST_F(RequestsTest, DueInOneMonthExtendedAtMostTwoMoreAndFlaggedWhenLate) {
  rights::RequestSettings s;
  s.code_validity = std::chrono::hours(24 * 90);  // keeps the request open long enough to be late
  start(s);
  shopper();
  const std::string id = open(RequestType::access, me);
  auto reg = service->register_entries(10);
  ASSERT_TRUE(reg.has_value());
  const auto& e = (*reg)[0];
  // 2027-01-15 + one month = 2027-02-15.
  EXPECT_EQ(format_rfc3339(TimePoint(std::chrono::seconds(e.record.due_at))).substr(0, 10), "2027-02-15");
  EXPECT_EQ(e.status, "awaiting_verification");
  EXPECT_FALSE(e.overdue);
  EXPECT_FALSE(e.nearly_due);

  chat.w.clock.advance(std::chrono::hours(24 * 25));
  EXPECT_TRUE((*service->register_entries(10))[0].nearly_due);
  chat.w.clock.advance(std::chrono::hours(24 * 7));
  EXPECT_TRUE((*service->register_entries(10))[0].overdue);

  const auto op = audit::Actor::token("tok_op", "operator");
  EXPECT_FALSE(service->extend(id, 3, "too long", op).has_value());
  EXPECT_FALSE(service->extend(id, 1, "", op).has_value());
  EXPECT_FALSE(service->extend(id, 1, "two\nlines", op).has_value());
  auto ext = service->extend(id, 2, "many orders to collect", op);
  ASSERT_TRUE(ext.has_value()) << ext.error().message;
  EXPECT_EQ(format_rfc3339(TimePoint(std::chrono::seconds(*ext->record.extended_until))).substr(0, 10), "2027-04-15");
  EXPECT_FALSE(ext->overdue);
  EXPECT_EQ(ext->record.extension_reason, "many orders to collect");
  EXPECT_EQ(sent.back().key, "rights.code") << "an unconfirmed request from the page may not be the customer's";
  auto shorter = service->extend(id, 1, "shorter", op);
  ASSERT_FALSE(shorter.has_value());
  EXPECT_EQ(shorter.error().code, Errc::conflict);
  EXPECT_EQ(audit.with_action("request.extended").size(), 1u);

  // Opened by staff with the customer (on the phone): the customer is told (Art. 12(3)).
  rights::OpenRequest staff;
  staff.type = RequestType::erasure;
  staff.channel = privacy::Channel::webchat;
  staff.address = me;
  staff.origin = rights::Origin::operator_;
  staff.actor = op;
  auto sid = service->open(staff);
  ASSERT_TRUE(sid.has_value());
  ASSERT_TRUE(service->extend(*sid, 1, "waiting for the accountant", op).has_value());
  EXPECT_EQ(sent.back().key, "rights.extended");
  EXPECT_EQ(sent.back().values["reason"], "waiting for the accountant");
  EXPECT_EQ((*service->register_entries(10))[0].record.actor, "token:tok_op");
}

TEST_F(RequestsTest, TheChatProvesIdentityWithoutACode) {
  const auto c = shopper();
  auto out = chat.w.in_tx<rights::Outcome>([&](storage::Tx& tx) { return service->execute_in_chat(tx, c, RequestType::access); });
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(out->code, "exported");
  EXPECT_TRUE(sent.empty()) << "no code needed";
  EXPECT_TRUE(service->download(out->export_token).has_value());
  auto reg = service->register_entries(10);
  EXPECT_EQ((*reg)[0].record.origin, "chat");
  EXPECT_EQ((*reg)[0].status, "completed");
}


// The chat itself proves who is writing: "my data", "delete my data" (in three languages) and
// the privacy menu, wired as serve wires them.
class ChatIntakeTest : public RequestsTest {
 protected:
  void SetUp() override {
    RequestsTest::SetUp();
    chat.engine->set_rights_handler([this](storage::Tx& tx, const commerce::Customer& c, const std::string& type)
                                        -> Result<chat::RightsOutcome> {
      RequestType t;
      if (!rights::parse_request_type(type, t)) return fail(Errc::internal, "type");
      auto done = service->execute_in_chat(tx, c, t);
      if (!done) return std::unexpected(done.error());
      return chat::RightsOutcome{done->code, done->export_token.empty() ? "" : "/privacy/v1/exports/" + done->export_token, 15};
    });
  }
  static std::string text_of(const std::vector<chat::Reply>& replies) {
    std::string all;
    for (const auto& r : replies) all += r.text + "\n";
    return all;
  }
};

TEST_F(ChatIntakeTest, MyDataGivesAOneTimeLinkInTheChat) {
  shopper();
  for (const char* words : {"my data", "Mes données", "meine Daten"}) {
    auto r = chat.send(me, words);
    ASSERT_TRUE(r.has_value());
    const std::string all = text_of(*r);
    const auto at = all.find(std::string(kPublicUrl) + "/privacy/v1/exports/");
    ASSERT_NE(at, std::string::npos) << words << ": " << all;
    const std::string token = all.substr(at + std::string(kPublicUrl).size() + 20, 64);
    EXPECT_TRUE(service->download(token).has_value()) << words;
  }
  EXPECT_TRUE(sent.empty()) << "no code in the chat: the chat proves who is writing";
  auto reg = service->register_entries(10);
  ASSERT_EQ(reg->size(), 3u);
  EXPECT_EQ((*reg)[0].record.origin, "chat");
}

TEST_F(ChatIntakeTest, DeleteMyDataAsksFirstThenErases) {
  shopper();
  auto r = chat.send(me, "delete my data");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->back().options.front().id, "rights:erasure_yes");
  EXPECT_TRUE(chat.customer(me).has_value()) << "nothing erased before the confirmation";
  // Leaving the confirmation screen, an old "yes" only asks again.
  ASSERT_TRUE(chat.send(me, "menu").has_value());
  r = chat.send(me, "", "rights:erasure_yes");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->back().options.front().id, "rights:erasure_yes");
  EXPECT_TRUE(chat.customer(me).has_value());

  auto h = chat.w.in_tx<chat::Engine::Handled>([&](storage::Tx& tx) {
    return chat.engine->handle(tx, inbound(me, "", "rights:erasure_yes"));
  });
  ASSERT_TRUE(h.has_value()) << h.error().message;
  EXPECT_TRUE(h->erased);
  EXPECT_NE(text_of(h->replies).find(chat.T("en", "rights.erased_chat")), std::string::npos);
  EXPECT_FALSE(chat.customer(me).has_value());
  EXPECT_EQ(count(chat, "SELECT COUNT(*) FROM conversations"), 0) << "nothing written for the erased customer";
  EXPECT_EQ(audit.with_action("request.completed").back().outcome, "erased");
  // Writing again starts afresh.
  r = chat.send(me, "hello");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(chat.customer(me).has_value()) << "a new customer record";
}

TEST_F(ChatIntakeTest, ThePrivacyMenuOffersTheRightsAndARestrictedCustomerIsNotAskedForMarketing) {
  shopper();
  auto r = chat.send(me, "privacy");
  ASSERT_TRUE(r.has_value());
  std::set<std::string> ids;
  for (const auto& o : r->back().options) ids.insert(o.id);
  EXPECT_TRUE(ids.contains("rights:access"));
  EXPECT_TRUE(ids.contains("rights:erasure"));
  EXPECT_TRUE(ids.contains("rights:restriction"));
  r = chat.send(me, "", "rights:restriction");
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(text_of(*r).find(chat.T("en", "rights.restricted")), std::string::npos);
  // The next order: no marketing question.
  r = chat.send(me, "", "mkt:no");  // consent was given; withdraw, so the question would come again
  chat.run(me, {tap("add:BRD-BAGUETTE:1"), tap("checkout"), tap("ful:pickup")});
  r = chat.send(me, "", "confirm");
  ASSERT_TRUE(r.has_value());
  for (const auto& reply : *r) {
    for (const auto& o : reply.options) EXPECT_NE(o.id, "mkt:yes") << "a restricted customer was asked for marketing";
  }
}

}  // namespace
}  // namespace comptoir::testing

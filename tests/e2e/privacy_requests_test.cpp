// End-to-end tests of data-subject requests against the real `comptoir serve`: every right over
// the web chat (the code arrives in the chat's news), erasure and an operator-opened request over
// the WhatsApp stand-in, the chat and the page over the Telegram stand-in, the abuses (unknown address, wrong codes, malformed bodies, rate
// limits), the merchant's register (JSON, CSV, the auditor's view without personal data), and the
// completeness of the export against the data inventory. Each test ends with a clean stop and a
// search of the server's output for the personal data and secrets it used.
#include <sodium.h>

#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "privacy/inventory.h"
#include "privacy/registry.h"
#include "src/common/encoding.h"
#include "tests/e2e/channels_harness.h"

namespace comptoir::testing::e2e {
namespace {

using nlohmann::json;

httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// A web chat customer: messages in, the shop's news out.
class Chatter {
 public:
  explicit Chatter(ServerInstance& s) : s_(s) {
    auto c = s_.client();
    auto r = c.Post("/webchat/v1/sessions", "", "application/json");
    EXPECT_TRUE(r && r->status == 201);
    if (r) session_ = json::parse(r->body).value("session", "");
    s_.remember(session_);
  }
  const std::string& session() const { return session_; }
  std::string send(const json& body) {
    auto c = s_.client();
    auto r = c.Post("/webchat/v1/messages", bearer(session_), body.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : httplib::to_string(r.error()));
    std::string text;
    if (r && r->status == 200) {
      const json body_json = json::parse(r->body);  // alive for the loop
      for (const auto& reply : body_json["replies"]) text += reply.value("text", "") + "\n";
    }
    return text;
  }
  std::string say(const std::string& t) { return send({{"text", t}}); }
  std::string tap(const std::string& o) { return send({{"option", o}}); }
  // The texts of the news that arrived since the last call.
  std::vector<std::string> news() {
    auto c = s_.client();
    auto r = c.Get(("/webchat/v1/messages?after=" + std::to_string(last_)).c_str(), bearer(session_));
    EXPECT_TRUE(r && r->status == 200);
    std::vector<std::string> out;
    if (!r || r->status != 200) return out;
    const json j = json::parse(r->body);
    for (const auto& m : j["messages"]) out.push_back(m.value("text", ""));
    last_ = j.value("last_id", last_);
    return out;
  }

 private:
  ServerInstance& s_;
  std::string session_;
  std::int64_t last_ = 0;
};

// The 8-digit code in a message, or "".
std::string code_in(const std::string& text) {
  std::smatch m;
  static const std::regex digits("\\b([0-9]{8})\\b");
  return std::regex_search(text, m, digits) ? m[1].str() : "";
}

struct Answer {
  int status = -1;
  json body;
  std::string raw;
};

Answer post(ServerInstance& s, const std::string& path, const std::string& body, const std::string& type = "application/json",
            const httplib::Headers& headers = {}) {
  auto c = s.client();
  auto r = c.Post(path.c_str(), headers, body, type.c_str());
  Answer a;
  if (!r) return a;
  a.status = r->status;
  a.raw = r->body;
  a.body = json::parse(r->body, nullptr, false);
  return a;
}

Answer open(ServerInstance& s, const std::string& type, const std::string& channel, const std::string& address,
            const json& changes = nullptr) {
  json b = {{"type", type}, {"channel", channel}, {"address", address}};
  if (!changes.is_null()) b["changes"] = changes;
  return post(s, "/privacy/v1/requests", b.dump());
}

Answer verify(ServerInstance& s, const std::string& id, const std::string& code) {
  return post(s, "/privacy/v1/requests/" + id + "/verify", json{{"code", code}}.dump());
}

// The one-time export link a chat reply carries: fetched once, it must be the JSON export.
// Returns its path ("" when the reply has none).
std::string fetch_export_link(ServerInstance& s, const std::string& reply) {
  const std::string prefix = "/privacy/v1/exports/";
  const auto at = reply.find(prefix);
  EXPECT_NE(at, std::string::npos) << reply;
  if (at == std::string::npos) return "";
  const std::string path = reply.substr(at, prefix.size() + 64);
  auto c = s.client();
  auto r = c.Get(path.c_str());
  EXPECT_TRUE(r && r->status == 200) << path;
  EXPECT_TRUE(r && r->body.find("\"comptoir.export.v1\"") != std::string::npos);
  return path;
}

// Opens a request for the web chat customer, reads the code from their chat, verifies it.
json exercise(ServerInstance& s, Chatter& who, const std::string& type, const json& changes = nullptr) {
  who.news();
  const Answer o = open(s, type, "webchat", who.session(), changes);
  EXPECT_EQ(o.status, 202) << o.raw;
  const std::string id = o.body.value("request_id", "");
  std::string code;
  for (const auto& n : who.news()) {
    if (code.empty()) code = code_in(n);
  }
  EXPECT_EQ(code.size(), 8u) << "no code arrived in the chat";
  const Answer v = verify(s, id, code);
  EXPECT_EQ(v.status, 200) << v.raw;
  json out = v.body;
  out["request_id"] = id;
  return out;
}

bool verify_receipt_signature(const json& doc) {
  const std::string message = "comptoir.erasure-receipt.v1\n" + doc["receipt"].dump();
  auto sig = hex_decode(doc.value("signature", ""));
  auto pk = hex_decode(doc.value("public_key", ""));
  if (!sig || !pk || sig->size() != crypto_sign_BYTES || pk->size() != crypto_sign_PUBLICKEYBYTES) return false;
  return crypto_sign_verify_detached(sig->data(), reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     pk->data()) == 0;
}

// Every registered personal field of `tables`, in a category the inventory collects.
std::set<std::string> expected_fields(const std::set<std::string>& tables) {
  const auto inventory = *privacy::default_inventory();
  std::set<std::string> out;
  for (const auto& f : privacy::registered_fields()) {
    const std::string field(f.name);
    if (!tables.contains(field.substr(0, field.find('.')))) continue;
    const auto* c = inventory.category_of_field(field);
    if (c != nullptr && c->collected) out.insert(field);
  }
  return out;
}

TEST(PrivacyRequests, EveryRightOverTheWebChatAndTheRegister) {
  ServerInstance s("", R"("log": {"level": "debug"}, "shop": {"name": "Épicerie Test", "contact": "privacy@example.eu"})");
  ASSERT_TRUE(s.init());
  const std::string owner = s.create_token("owner", "e2e-owner"), op = s.create_token("operator", "e2e-op"),
                    auditor = s.create_token("auditor", "e2e-auditor");
  ASSERT_TRUE(s.start());
  for (const auto& pii : {"Zoé Martin", "3 rue du Four, Paris", "Zoé Durand", "9 rue Neuve, Lyon"}) s.remember(pii);

  Chatter zoe(s);
  zoe.say("hello");
  zoe.tap("add:BRD-BAGUETTE:2");
  zoe.tap("checkout");
  zoe.tap("ful:delivery");
  zoe.say("Zoé Martin");
  zoe.say("3 rue du Four, Paris");
  zoe.tap("confirm");
  zoe.tap("mkt:yes");
  zoe.tap("add:DAI-COMTE:1");  // something in the cart too

  // Access: a one-time link to the export.
  json a = exercise(s, zoe, "access");
  EXPECT_EQ(a["status"], "completed");
  EXPECT_EQ(a["outcome"], "exported");
  const std::string url = a.value("export_url", "");
  ASSERT_TRUE(url.starts_with("/privacy/v1/exports/")) << a.dump();
  auto c = s.client();
  auto r = c.Get(url.c_str());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store");
  const json doc = json::parse(r->body);
  EXPECT_EQ(doc["format"], "comptoir.export.v1");
  EXPECT_NE(r->body.find("Zoé Martin"), std::string::npos);
  // Completeness: every declared field of every table holding Zoé's data is in the export.
  std::set<std::string> seen;
  for (const auto& cat : doc["categories"]) {
    for (const auto& rec : cat["records"]) {
      for (auto it = rec["fields"].begin(); it != rec["fields"].end(); ++it) seen.insert(it.key());
    }
  }
  const auto expected = expected_fields({"customers", "conversations", "cart_items", "orders", "order_lines", "order_vat",
                                         "chat_messages", "consent_records", "privacy_requests"});
  ASSERT_GT(expected.size(), 30u);
  for (const auto& f : expected) EXPECT_TRUE(seen.contains(f)) << f << " is missing from the export";
  EXPECT_FALSE(seen.contains("customers.profile_name_sealed")) << "never collected: absent";
  r = c.Get(url.c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 410) << "the link works once";
  r = c.Get(("/privacy/v1/exports/" + std::string(64, '0')).c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);

  // A browser (Accept: text/html) gets the same export as one readable, self-contained page.
  // (Another customer: a chat address may open only a few requests in ten minutes.)
  s.remember("Yann Kerbrat");
  s.remember("12 quai des Indes, Lorient");
  Chatter yann(s);
  yann.say("hello");
  yann.tap("add:BRD-BAGUETTE:1");
  yann.tap("checkout");
  yann.tap("ful:delivery");
  yann.say("Yann Kerbrat");
  yann.say("12 quai des Indes, Lorient");
  yann.tap("confirm");
  json page_request = exercise(s, yann, "access");
  const std::string page_url = page_request.value("export_url", "");
  ASSERT_TRUE(page_url.starts_with("/privacy/v1/exports/")) << page_request.dump();
  r = c.Get(page_url.c_str(), httplib::Headers{{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(r->get_header_value("Content-Type").starts_with("text/html")) << r->get_header_value("Content-Type");
  EXPECT_EQ(r->get_header_value("Content-Security-Policy").find("script"), std::string::npos);
  EXPECT_NE(r->body.find("Yann Kerbrat"), std::string::npos);
  EXPECT_EQ(r->body.find("<script"), std::string::npos);
  r = c.Get(page_url.c_str(), httplib::Headers{{"Accept", "text/html"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 410) << "the page is the one download";

  // Rectification of the delivery details of the open order.
  json rc = exercise(s, zoe, "rectification", {{"recipient_name", "Zoé Durand"}, {"delivery_address", "9 rue Neuve, Lyon"}});
  EXPECT_EQ(rc["outcome"], "rectified");
  EXPECT_EQ(rc["orders_rectified"], 1);
  r = c.Get("/api/v1/orders/C-000001", bearer(owner));
  ASSERT_TRUE(r && r->status == 200);
  EXPECT_NE(r->body.find("Zoé Durand"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("9 rue Neuve, Lyon"), std::string::npos) << r->body;
  bool told = false;
  for (const auto& n : zoe.news()) told = told || n.find("corrected") != std::string::npos;
  EXPECT_TRUE(told) << "the chat confirms the correction";

  // Objection: marketing consent withdrawn at once, in the ledger.
  const std::int64_t customer = json::parse(c.Get("/api/v1/orders/C-000001", bearer(owner))->body)["customer_id"];
  const std::string consents = "/api/v1/customers/" + std::to_string(customer) + "/consents";
  EXPECT_EQ(json::parse(c.Get(consents.c_str(), bearer(owner))->body)["marketing"]["state"], "given");
  EXPECT_EQ(exercise(s, zoe, "objection")["outcome"], "objected");
  EXPECT_EQ(json::parse(c.Get(consents.c_str(), bearer(owner))->body)["marketing"]["state"], "withdrawn");

  // Restriction, then lifted by staff.
  json rs = exercise(s, zoe, "restriction");
  EXPECT_EQ(rs["outcome"], "restricted");
  Answer lift = post(s, "/api/v1/privacy/requests/" + rs["request_id"].get<std::string>() + "/lift", "", "application/json", bearer(auditor));
  EXPECT_EQ(lift.status, 403) << "auditors only read";
  lift = post(s, "/api/v1/privacy/requests/" + rs["request_id"].get<std::string>() + "/lift", "", "application/json", bearer(op));
  EXPECT_EQ(lift.status, 200) << lift.raw;
  EXPECT_TRUE(lift.body["lifted_at"].is_string());

  // A request staff open on the customer's behalf, still waiting for its code, then extended.
  Answer staff = post(s, "/api/v1/privacy/requests", json{{"type", "access"}, {"channel", "webchat"}, {"address", zoe.session()}}.dump(),
                      "application/json", bearer(op));
  ASSERT_EQ(staff.status, 202) << staff.raw;
  const std::string pending = staff.body["request_id"];
  Answer ext = post(s, "/api/v1/privacy/requests/" + pending + "/extend", json{{"months", 3}, {"reason", "x"}}.dump(),
                    "application/json", bearer(op));
  EXPECT_EQ(ext.status, 400) << ext.raw;
  ext = post(s, "/api/v1/privacy/requests/" + pending + "/extend", json{{"months", 2}, {"reason", "many orders to gather"}}.dump(),
             "application/json", bearer(op));
  ASSERT_EQ(ext.status, 200) << ext.raw;
  EXPECT_TRUE(ext.body["extended_until"].is_string());
  EXPECT_EQ(ext.body["extension_reason"], "many orders to gather");

  // Erasure: a receipt signed with the audit key; the books keep the order, without the person.
  json e = exercise(s, zoe, "erasure");
  EXPECT_EQ(e["outcome"], "erased");
  ASSERT_TRUE(e["receipt"].is_object()) << e.dump();
  EXPECT_TRUE(verify_receipt_signature(e["receipt"]));
  json tampered = e["receipt"];
  tampered["receipt"]["orders_kept"] = json::array();
  EXPECT_FALSE(verify_receipt_signature(tampered));
  bool retained = false;
  for (const auto& l : e["receipt"]["receipt"]["categories"]) {
    if (l["category"] == "order_records") {
      retained = l["outcome"] == "retained" && l["retained_until"].is_string() && l["legal_basis"].is_string();
    }
  }
  EXPECT_TRUE(retained) << e.dump();
  r = c.Get("/api/v1/orders/C-000001", bearer(owner));
  ASSERT_TRUE(r && r->status == 200);
  EXPECT_EQ(r->body.find("Zoé"), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("rue"), std::string::npos) << r->body;

  // The register: owner and operator see everything, the auditor no link to a person.
  r = c.Get("/api/v1/privacy/requests", bearer(owner));
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "");
  json reg = json::parse(r->body);
  ASSERT_EQ(reg["requests"].size(), 7u) << reg.dump();  // Zoé's six and Yann's access
  std::set<std::string> types;
  for (const auto& q : reg["requests"]) {
    types.insert(q["type"].get<std::string>());
    EXPECT_TRUE(q.contains("customer_id"));
    EXPECT_TRUE(q["received_at"].is_string());
    EXPECT_TRUE(q["due_at"].is_string());
    EXPECT_EQ(q["overdue"], false);
  }
  EXPECT_EQ(types, (std::set<std::string>{"access", "erasure", "rectification", "restriction", "objection"}));
  EXPECT_EQ(reg["requests"][0]["type"], "erasure") << "newest first";
  r = c.Get("/api/v1/privacy/requests", bearer(auditor));
  ASSERT_TRUE(r && r->status == 200);
  json areg = json::parse(r->body);
  ASSERT_EQ(areg["requests"].size(), 7u);
  for (const auto& q : areg["requests"]) {
    EXPECT_FALSE(q.contains("customer_id")) << q.dump();
    EXPECT_FALSE(q.contains("extension_reason")) << q.dump();
  }
  EXPECT_EQ(r->body.find("many orders"), std::string::npos);
  r = c.Get("/api/v1/privacy/requests?format=csv", bearer(auditor));
  ASSERT_TRUE(r && r->status == 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_TRUE(r->body.starts_with("id,type,channel,origin,actor,status,received_at,verified_at,due_at,due,extended_until,"));
  EXPECT_EQ(count_lines(r->body), 8u);  // the header and seven requests
  EXPECT_EQ(r->body.find("customer_id"), std::string::npos);
  r = c.Get("/api/v1/privacy/requests?format=csv", bearer(owner));
  ASSERT_TRUE(r && r->status == 200);
  EXPECT_NE(r->body.find("customer_id"), std::string::npos);
  EXPECT_NE(r->body.find("many orders to gather"), std::string::npos);
  r = c.Get("/api/v1/privacy/requests?format=xml", bearer(owner));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  r = c.Get("/api/v1/privacy/requests");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);

  EXPECT_EQ(s.stop(), 0);
}

TEST(PrivacyRequests, AbusesGetTheSameAnswersAndChangeNothing) {
  ServerInstance s("", R"("log": {"level": "debug"})");
  ASSERT_TRUE(s.init());
  const std::string owner = s.create_token("owner", "e2e-owner");
  ASSERT_TRUE(s.start());
  Chatter known(s);
  known.say("hello");
  const std::string unknown = "wcs_nobody_ever_wrote_from_here_0001";
  s.remember(unknown);

  // Known and unknown addresses: the same status and the same shape of answer.
  const Answer k = open(s, "erasure", "webchat", known.session());
  const Answer u = open(s, "erasure", "webchat", unknown);
  ASSERT_EQ(k.status, 202) << k.raw;
  ASSERT_EQ(u.status, 202) << u.raw;
  std::vector<std::string> kk, uk;
  for (auto it = k.body.begin(); it != k.body.end(); ++it) kk.push_back(it.key());
  for (auto it = u.body.begin(); it != u.body.end(); ++it) uk.push_back(it.key());
  EXPECT_EQ(kk, uk);
  EXPECT_EQ(k.raw.size(), u.raw.size());
  const std::string id = k.body["request_id"], uid = u.body["request_id"];
  EXPECT_TRUE(std::regex_match(id, std::regex("prq_[0-9a-f]{32}")));

  // Wrong codes: 403 with the attempts left, then locked (423), even for the right code.
  std::string code;
  for (const auto& n : known.news()) code = code.empty() ? code_in(n) : code;
  ASSERT_EQ(code.size(), 8u);
  const std::string wrong = code == "00000000" ? "11111111" : "00000000";
  for (int i = 1; i <= 4; ++i) {
    Answer v = verify(s, id, wrong);
    EXPECT_EQ(v.status, 403) << v.raw;
    EXPECT_EQ(v.body["error"]["code"], "wrong_code");
    EXPECT_EQ(v.body["error"]["attempts_left"], 5 - i);
  }
  EXPECT_EQ(verify(s, id, wrong).status, 423);
  EXPECT_EQ(verify(s, id, code).status, 423);
  // The unknown address's request behaves the same.
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(verify(s, uid, "12345678").status, 403);
  EXPECT_EQ(verify(s, uid, "12345678").status, 423);
  // Nothing was erased.
  EXPECT_NE(known.say("menu").find("\n"), std::string::npos);
  auto c = s.client();
  auto reg = json::parse(c.Get("/api/v1/privacy/requests", bearer(owner))->body);
  for (const auto& q : reg["requests"]) EXPECT_EQ(q["status"], "locked");

  // Unknown request ids: 404, whatever their shape.
  Answer nf = verify(s, "prq_00000000000000000000000000000000", "12345678");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(verify(s, "nonsense", "12345678").status, 404);

  // Per chat address: the sixth request within ten minutes is refused, known or not.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(open(s, "access", "webchat", unknown).status, 202);
  Answer limited = open(s, "access", "webchat", unknown);
  EXPECT_EQ(limited.status, 429) << limited.raw;
  // Per client: at most ten openings a minute, whatever the address.
  int last = 0;
  for (int i = 0; i < 8 && last != 429; ++i) last = open(s, "access", "webchat", "wcs_rate_limit_client_" + std::to_string(1000 + i)).status;
  EXPECT_EQ(last, 429);

  EXPECT_EQ(s.stop(), 0);
}

TEST(PrivacyRequests, MalformedBodiesAreRefusedAndStoreNothing) {
  ServerInstance s("", R"("log": {"level": "debug"})");
  ASSERT_TRUE(s.init());
  const std::string owner = s.create_token("owner", "e2e-owner");
  ASSERT_TRUE(s.start());
  const std::string unknown = "wcs_nobody_ever_wrote_from_here_0002";
  const std::string id = "prq_00000000000000000000000000000000";
  EXPECT_EQ(post(s, "/privacy/v1/requests", "{not json").status, 400);
  EXPECT_EQ(post(s, "/privacy/v1/requests", "[]").status, 400);
  EXPECT_EQ(post(s, "/privacy/v1/requests", R"({"type":"access"})", "text/plain").status, 415);
  EXPECT_EQ(open(s, "delete_everything", "webchat", unknown).status, 400);
  EXPECT_EQ(open(s, "access", "fax", unknown).status, 400);
  EXPECT_EQ(open(s, "access", "whatsapp", "not a number").status, 400);
  EXPECT_EQ(post(s, "/privacy/v1/requests", R"({"type":"access","channel":"webchat","address":7})").status, 400);
  EXPECT_EQ(post(s, "/privacy/v1/requests", R"({"type":"access","channel":"webchat","address":"wcs_abcdefabcdefabcdef","extra":1})").status, 400);
  EXPECT_EQ(open(s, "access", "webchat", unknown, {{"language", "fr"}}).status, 400);
  EXPECT_EQ(post(s, "/privacy/v1/requests", std::string(5000, ' ') + "{}").status, 413);
  // Ten attempts a minute per client, well-formed or not.
  EXPECT_EQ(open(s, "access", "webchat", unknown).status, 429);
  EXPECT_EQ(post(s, "/privacy/v1/requests/" + id + "/verify", R"({"code":"12ab"})").status, 400);
  EXPECT_EQ(post(s, "/privacy/v1/requests/" + id + "/verify", R"({"code":12345678})").status, 400);
  EXPECT_EQ(post(s, "/privacy/v1/requests/" + id + "/verify", R"({"code":"12345678","more":1})").status, 400);
  auto c = s.client();
  auto reg = json::parse(c.Get("/api/v1/privacy/requests", bearer(owner))->body);
  EXPECT_EQ(reg["requests"].size(), 0u) << "no malformed request was stored";
  EXPECT_EQ(s.stop(), 0);
}

TEST(PrivacyRequests, ErasureAndStaffRequestsOverWhatsApp) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start());
  WaCustomer ana(shop, "33612345678", "Ana Wa");
  ana.say("hello");
  ana.say("add baguette");

  auto code_from_chat = [&] {
    shop.settled();
    std::string code;
    for (const auto& m : ana.fresh()) {
      if (m.value("type", "") == "text") code = code_in(m["text"]["body"].get<std::string>());
    }
    return code;
  };

  // Staff open a request by phone on the customer's behalf: the same code flow.
  Answer staff = post(*shop.s, "/api/v1/privacy/requests", json{{"type", "access"}, {"channel", "whatsapp"}, {"address", "+33 6 12 34 56 78"}}.dump(),
                      "application/json", bearer(shop.op));
  ASSERT_EQ(staff.status, 202) << staff.raw;
  std::string code = code_from_chat();
  ASSERT_EQ(code.size(), 8u) << "the code reached the WhatsApp chat";
  Answer v = verify(*shop.s, staff.body["request_id"], code);
  ASSERT_EQ(v.status, 200) << v.raw;
  EXPECT_TRUE(v.body["export_url"].is_string());

  // The customer asks for erasure on the page.
  Answer o = open(*shop.s, "erasure", "whatsapp", "33612345678");
  ASSERT_EQ(o.status, 202);
  code = code_from_chat();
  ASSERT_EQ(code.size(), 8u);
  v = verify(*shop.s, o.body["request_id"], code);
  ASSERT_EQ(v.status, 200) << v.raw;
  EXPECT_EQ(v.body["outcome"], "erased");
  EXPECT_TRUE(verify_receipt_signature(v.body["receipt"]));
  // The chat confirms it, although nothing of Ana is left to send it with.
  shop.settled();
  EXPECT_NE(wa_text_of(ana.fresh()).find("Your data has been erased"), std::string::npos);

  // Harmless again: the address is unknown now, the answer the same, no code goes anywhere.
  Answer again = open(*shop.s, "erasure", "whatsapp", "33612345678");
  EXPECT_EQ(again.status, 202);
  shop.settled();
  EXPECT_TRUE(ana.fresh().empty());

  auto c = shop.s->client();
  auto reg = json::parse(c.Get("/api/v1/privacy/requests", bearer(shop.op))->body);
  ASSERT_EQ(reg["requests"].size(), 3u);
  EXPECT_EQ(reg["requests"][2]["origin"], "operator");
  EXPECT_TRUE(reg["requests"][2]["actor"].get<std::string>().starts_with("token:tok_"));
  shop.stop();
}


// Telegram: "mes données" in the chat answers with a one-time export link; a request opened on
// the page for the chat id sends its code to that chat; "supprimer mes données" asks first, and
// the confirmation button (a callback query, answered like every other) erases.
TEST(PrivacyRequests, FromInsideTheChatAndThePageOverTelegram) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start(telegram_only()));
  TgCustomer chloe(shop, 5550077, "Chloé Télé");
  ASSERT_FALSE(chloe.say("bonjour").empty());
  auto c = shop.s->client();

  // In the chat: a one-time link to the export.
  const std::string path = fetch_export_link(*shop.s, TgCustomer::text_of(chloe.say("mes données")));
  ASSERT_FALSE(path.empty());
  EXPECT_EQ(c.Get(path.c_str())->status, 410) << "the link works once";

  // On the page, for the chat id: the code goes to the Telegram chat.
  const Answer o = open(*shop.s, "access", "telegram", chloe.chat());
  ASSERT_EQ(o.status, 202) << o.raw;
  shop.settled();
  const std::string code = code_in(TgCustomer::text_of(chloe.fresh()));
  ASSERT_EQ(code.size(), 8u) << "the code reached the Telegram chat";
  EXPECT_EQ(verify(*shop.s, o.body["request_id"], "00000000").status, 403);
  const Answer v = verify(*shop.s, o.body["request_id"], code);
  ASSERT_EQ(v.status, 200) << v.raw;
  EXPECT_TRUE(v.body["export_url"].is_string());

  // Erasure from the chat: asked first, done on the confirmation button.
  const std::size_t answered = shop.bot.calls("answerCallbackQuery").size();
  chloe.say("supprimer mes données");
  ASSERT_TRUE(chloe.offered("rights:erasure_yes"));
  const std::string text = TgCustomer::text_of(chloe.tap("rights:erasure_yes"));
  EXPECT_NE(text.find("vos données ont été effacées"), std::string::npos) << text;
  EXPECT_EQ(shop.bot.calls("answerCallbackQuery").size(), answered + 1) << "the button stops spinning";
  auto reg = json::parse(c.Get("/api/v1/privacy/requests", bearer(shop.op))->body);
  ASSERT_EQ(reg["requests"].size(), 3u) << reg.dump();
  std::size_t erased = 0;
  for (const auto& q : reg["requests"]) {
    if (q["outcome"] == "erased") {
      ++erased;
      EXPECT_EQ(q["origin"], "chat");
      EXPECT_TRUE(q["customer_id"].is_null()) << "unlinked from the erased customer";
    }
  }
  EXPECT_EQ(erased, 1u);
  // Nothing of Chloé is left: a new request for her chat id finds nobody, and no code goes out.
  EXPECT_EQ(open(*shop.s, "access", "telegram", chloe.chat()).status, 202);
  shop.settled();
  EXPECT_TRUE(chloe.fresh().empty());
  shop.stop();
}

TEST(PrivacyRequests, FromInsideTheChatOverWhatsAppAndTheWebChat) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start());
  WaCustomer bob(shop, "491701234567", "Bob Wa");
  bob.say("hallo");
  // "meine Daten löschen" asks first; only the confirmation's "yes" erases.
  auto asked = bob.say("meine Daten löschen");
  ASSERT_TRUE(offers(asked, "rights:erasure_yes")) << WaCustomer::dump(asked);
  auto done = bob.choose("rights:erasure_yes");
  const std::string text = wa_text_of(done);
  EXPECT_NE(text.find("Ihre Daten wurden gelöscht"), std::string::npos) << text;
  auto c = shop.s->client();
  auto reg = json::parse(c.Get("/api/v1/privacy/requests", bearer(shop.op))->body);
  ASSERT_EQ(reg["requests"].size(), 1u);
  EXPECT_EQ(reg["requests"][0]["origin"], "chat");
  EXPECT_EQ(reg["requests"][0]["outcome"], "erased");
  EXPECT_TRUE(reg["requests"][0]["customer_id"].is_null()) << "unlinked from the erased customer";
  // The confirmation went out although nothing of Bob is left; its body is gone too.
  const json sent = shop.outbox("?status=sent");
  // Bob's earlier replies went with his data; the confirmation is the one message left.
  EXPECT_EQ(sent["messages"].size(), 1u) << sent.dump();

  // The web chat: "my data" answers with a one-time link.
  Chatter zoe(*shop.s);
  zoe.say("hello");
  EXPECT_FALSE(fetch_export_link(*shop.s, zoe.say("my data")).empty());
  shop.stop();
}

}  // namespace
}  // namespace comptoir::testing::e2e

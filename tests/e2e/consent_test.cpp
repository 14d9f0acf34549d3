// End-to-end tests of consent against the real `comptoir serve`: the privacy notice's version (its
// ETag is the SHA-256 of exactly the page served, per language); a web chat checkout records the
// notice acknowledgement with that version, read back through GET /api/v1/customers/{id}/consents
// (owner only: the auditor reads the audit log of those reads, not the ledger); marketing consent
// given and withdrawn over the web chat and over the WhatsApp stand-in; and
// POST /api/v1/marketing/messages reaching only the customers with live consent (owner and
// operator only; validated). Every test ends with a clean stop and a search of
// the server's output for the personal data and secrets it used.
#include <sodium.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "src/common/encoding.h"
#include "tests/e2e/channels_harness.h"

namespace comptoir::testing::e2e {
namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

using nlohmann::json;

httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return hex_encode(std::span<const std::uint8_t>(digest, sizeof digest));
}

// The version of the notice /privacy serves in `lang`, checked against its ETag.
std::string notice_version(ServerInstance& s, const std::string& lang) {
  auto c = s.client();
  auto r = c.Get(("/privacy?lang=" + lang).c_str());
  EXPECT_TRUE(r && r->status == 200) << lang;
  if (!r) return "";
  const std::string v = sha256_hex(r->body);
  EXPECT_EQ(r->get_header_value("ETag"), "\"" + v + "\"") << lang;
  EXPECT_EQ(r->get_header_value("Content-Language"), lang);
  return v;
}

struct Answer {
  int status = -1;
  std::string text;
  std::vector<std::string> options;  // of the last reply
  std::vector<std::string> all_options;
  bool offers(const std::string& id) const { return std::find(options.begin(), options.end(), id) != options.end(); }
  bool offers_anywhere(const std::string& id) const {
    return std::find(all_options.begin(), all_options.end(), id) != all_options.end();
  }
};

class WebChatter {
 public:
  explicit WebChatter(ServerInstance& s) : s_(s) {
    auto c = s_.client();
    auto r = c.Post("/webchat/v1/sessions", "", "application/json");
    EXPECT_TRUE(r && r->status == 201);
    if (r) session_ = json::parse(r->body).value("session", "");
    s_.remember(session_);
  }
  Answer post(const json& body) {
    auto c = s_.client();
    auto r = c.Post("/webchat/v1/messages", bearer(session_), body.dump(), "application/json");
    Answer a;
    a.status = r ? r->status : -1;
    EXPECT_EQ(a.status, 200) << (r ? r->body : httplib::to_string(r.error()));
    if (a.status != 200) return a;
    const json body_json = json::parse(r->body);
    for (const auto& reply : body_json["replies"]) {
      a.text += reply.value("text", "") + "\n";
      a.options.clear();
      for (const auto& o : reply["options"]) {
        a.options.push_back(o.value("id", ""));
        a.all_options.push_back(o.value("id", ""));
      }
    }
    return a;
  }
  Answer say(const std::string& text) { return post({{"text", text}}); }
  Answer tap(const std::string& option) { return post({{"option", option}}); }
  json news(std::int64_t after = 0) {
    auto c = s_.client();
    auto r = c.Get(("/webchat/v1/messages?after=" + std::to_string(after)).c_str(), bearer(session_));
    EXPECT_TRUE(r && r->status == 200);
    return r ? json::parse(r->body)["messages"] : json::array();
  }

 private:
  ServerInstance& s_;
  std::string session_;
};

json get(ServerInstance& s, const std::string& token, const std::string& path, int expect = 200) {
  auto c = s.client();
  auto r = c.Get(path.c_str(), bearer(token));
  EXPECT_TRUE(r) << path;
  if (!r) return json();
  EXPECT_EQ(r->status, expect) << path << ": " << r->body;
  return json::parse(r->body, nullptr, false);
}

int send_marketing(ServerInstance& s, const std::string& token, const std::string& body, json* answer = nullptr) {
  auto c = s.client();
  auto r = c.Post("/api/v1/marketing/messages", bearer(token), body, "application/json");
  if (!r) return -1;
  if (answer) *answer = json::parse(r->body, nullptr, false);
  return r->status;
}

std::vector<std::string> kinds(const json& consents) {
  std::vector<std::string> out;
  for (const auto& r : consents["records"]) out.push_back(r["kind"].get<std::string>());
  return out;
}

TEST(Consent, PrivacyNoticeVersionIsTheHashOfThePageServed) {
  ServerInstance s("", R"("shop": {"name": "Épicerie <Test> & Fils", "contact": "privacy@example.eu"})");
  ASSERT_TRUE(s.init());
  ASSERT_TRUE(s.start());
  const std::string en = notice_version(s, "en"), fr = notice_version(s, "fr"), de = notice_version(s, "de");
  EXPECT_EQ(en.size(), 64u);
  EXPECT_NE(en, fr);
  EXPECT_NE(fr, de);
  EXPECT_EQ(notice_version(s, "fr"), fr);  // stable
  // A language without a notice of its own gets the default language's, with its version.
  auto c = s.client();
  auto r = c.Get("/privacy?lang=it");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("ETag"), "\"" + en + "\"");
  r = c.Get("/privacy", {{"Accept-Language", "de-AT, de;q=0.9"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("ETag"), "\"" + de + "\"");
  // The shop's name is part of the page, escaped, and so of the version.
  EXPECT_NE(r->body.find("Épicerie &lt;Test&gt; &amp; Fils"), std::string::npos);
  EXPECT_EQ(s.stop(), 0);
}

TEST(Consent, WebChatCheckoutRecordsTheNoticeAndMarketingChoices) {
  ServerInstance s("", R"("log": {"level": "debug"})");
  ASSERT_TRUE(s.init());
  const std::string owner = s.create_token("owner", "e2e-owner"), op = s.create_token("operator", "e2e-op"),
                    auditor = s.create_token("auditor", "e2e-auditor");
  ASSERT_TRUE(s.start());
  const std::string version_fr = notice_version(s, "fr");

  WebChatter zoe(s);
  zoe.say("bonjour");
  zoe.tap("add:BRD-BAGUETTE:2");
  zoe.tap("checkout");
  Answer a = zoe.tap("ful:pickup");
  EXPECT_NE(a.text.find("/privacy?lang=fr"), std::string::npos) << a.text;
  a = zoe.tap("confirm");
  EXPECT_NE(a.text.find("C-000001"), std::string::npos) << a.text;
  EXPECT_TRUE(a.offers_anywhere("order:C-000001")) << a.text;
  // The marketing question comes last, nothing chosen for the customer.
  EXPECT_NE(a.text.find("nouveautés et offres"), std::string::npos) << a.text;
  EXPECT_EQ(a.options, (std::vector<std::string>{"mkt:yes", "mkt:no"}));

  const json order = get(s, op, "/api/v1/orders/C-000001");
  ASSERT_TRUE(order["customer_id"].is_number_integer()) << order.dump();
  const std::int64_t id = order["customer_id"].get<std::int64_t>();
  const std::string path = "/api/v1/customers/" + std::to_string(id) + "/consents";

  json consents = get(s, owner, path);
  EXPECT_EQ(consents["customer_id"], id);
  EXPECT_EQ(consents["marketing"]["state"], "none");
  EXPECT_TRUE(consents["marketing"]["since"].is_null());
  ASSERT_EQ(consents["records"].size(), 1u) << consents.dump();
  const json& ack = consents["records"][0];
  EXPECT_EQ(ack["kind"], "notice_acknowledged");
  EXPECT_EQ(ack["notice_version"], version_fr);
  EXPECT_EQ(ack["language"], "fr");
  EXPECT_EQ(ack["channel"], "webchat");
  EXPECT_EQ(ack["order"], "C-000001");
  EXPECT_TRUE(ack["at"].get<std::string>().ends_with("Z")) << ack.dump();

  // Consent by the option after the order, withdrawal by typing a stop word.
  a = zoe.tap("mkt:yes");
  EXPECT_NE(a.text.find("Merci"), std::string::npos) << a.text;
  consents = get(s, owner, path);
  EXPECT_EQ(consents["marketing"]["state"], "given");
  EXPECT_TRUE(consents["marketing"]["since"].is_string());
  a = zoe.say("Désabonner");
  EXPECT_NE(a.text.find("vous ne recevrez ni nouveautés ni offres"), std::string::npos) << a.text;
  // …and again through the privacy menu, which shows the state.
  a = zoe.tap("privacy");
  EXPECT_TRUE(a.offers("mkt:yes")) << a.text;
  a = zoe.tap("mkt:yes");
  a = zoe.tap("privacy");
  EXPECT_TRUE(a.offers("mkt:no")) << a.text;
  a = zoe.tap("mkt:no");
  consents = get(s, owner, path);
  EXPECT_EQ(kinds(consents), (std::vector<std::string>{"notice_acknowledged", "marketing_given", "marketing_withdrawn",
                                                       "marketing_given", "marketing_withdrawn"}));
  EXPECT_EQ(consents["marketing"]["state"], "withdrawn");
  for (const auto& r : consents["records"]) {
    EXPECT_EQ(r["notice_version"], version_fr);
    if (r["kind"] != "notice_acknowledged") {
      EXPECT_TRUE(r["order"].is_null());
    }
  }

  // Roles and unknown customers.
  get(s, op, path, 403);
  auto c = s.client();
  auto anon = c.Get(path.c_str());
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->status, 401);
  get(s, owner, "/api/v1/customers/999999/consents", 404);
  get(s, owner, "/api/v1/customers/0/consents", 404);
  get(s, owner, "/api/v1/customers/abc/consents", 404);
  // Auditors read neither the ledger (personal data) nor orders: the audit log records the reads.
  get(s, auditor, path, 403);
  get(s, auditor, "/api/v1/orders/C-000001", 403);
  EXPECT_EQ(s.stop(), 0);
}

TEST(Consent, MarketingMessagesReachOnlyCustomersWithLiveConsent) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start());
  ServerInstance& s = *shop.s;
  const std::string owner = s.create_token("owner", "e2e-owner"), auditor = s.create_token("auditor", "e2e-auditor");
  const std::string version_en = notice_version(s, "en"), version_de = notice_version(s, "de");

  // Anna (WhatsApp, English) orders from the WhatsApp catalog and says yes when asked.
  WaCustomer anna(shop, "4915112345678", "Anna Zustimmung");
  auto got = anna.send(wa::message("4915112345678", "wamid.HBgLANNAORDER1", "order",
                                   {{"catalog_id", "194836987003835"},
                                    {"product_items", json::array({{{"product_retailer_id", "BRD-BAGUETTE"}, {"quantity", 1},
                                                                    {"item_price", 1.2}, {"currency", "EUR"}}})}}));
  ASSERT_TRUE(offers(got, "ful:pickup")) << wa_text_of(got);
  got = anna.choose("ful:pickup");
  got = anna.choose("confirm");
  EXPECT_NE(wa_text_of(got).find("C-000001 has been placed"), std::string::npos) << wa_text_of(got);
  ASSERT_TRUE(offers(got, "mkt:yes")) << wa_text_of(got);
  // The question is a message of its own, with two reply buttons.
  EXPECT_EQ(got.back()["interactive"]["type"], "button") << got.back().dump();
  EXPECT_EQ(offered_ids(got.back()), (std::vector<std::string>{"mkt:yes", "mkt:no"}));
  got = anna.choose("mkt:yes");
  EXPECT_NE(wa_text_of(got).find("We will send you news and offers"), std::string::npos) << wa_text_of(got);

  // Bruno (WhatsApp, German) says yes in the privacy menu, then STOP: the answer is in German.
  WaCustomer bruno(shop, "4917612345678", "Bruno Widerruf");
  bruno.say("hallo");
  got = bruno.choose("privacy");
  EXPECT_NE(wa_text_of(got).find("Sie erhalten keine"), std::string::npos) << wa_text_of(got);
  got = bruno.choose("mkt:yes");
  got = bruno.say("STOP");
  EXPECT_NE(wa_text_of(got).find("Sie erhalten keine Neuigkeiten oder Angebote"), std::string::npos) << wa_text_of(got);

  // Carla (WhatsApp) never answers.
  WaCustomer carla(shop, "33612345678", "Carla Jamais");
  carla.say("bonjour");

  // Dora (web chat, French) says yes in the privacy menu; Emil (web chat) never does.
  WebChatter dora(s), emil(s);
  dora.say("bonjour");
  Answer a = dora.tap("privacy");
  ASSERT_TRUE(a.offers("mkt:yes")) << a.text;
  dora.tap("mkt:yes");
  emil.say("hello");

  // The ledger as the owner sees it. Anna's id comes from her order; Bruno wrote next.
  const std::int64_t anna_id = get(s, shop.op, "/api/v1/orders/C-000001")["customer_id"].get<std::int64_t>();
  json ca = get(s, owner, "/api/v1/customers/" + std::to_string(anna_id) + "/consents");
  EXPECT_EQ(kinds(ca), (std::vector<std::string>{"notice_acknowledged", "marketing_given"}));
  EXPECT_EQ(ca["records"][0]["channel"], "whatsapp");
  EXPECT_EQ(ca["records"][0]["notice_version"], version_en);
  EXPECT_EQ(ca["marketing"]["state"], "given");
  json cb = get(s, owner, "/api/v1/customers/" + std::to_string(anna_id + 1) + "/consents");
  EXPECT_EQ(kinds(cb), (std::vector<std::string>{"marketing_given", "marketing_withdrawn"}));
  EXPECT_EQ(cb["records"][1]["channel"], "whatsapp");
  EXPECT_EQ(cb["records"][1]["language"], "de");
  EXPECT_EQ(cb["records"][1]["notice_version"], version_de);
  EXPECT_EQ(cb["marketing"]["state"], "withdrawn");

  // Who may send, and what.
  const std::string body = R"({"text": {"en": "Fresh rye bread every Friday!", "fr": "Pain de seigle frais chaque vendredi !"}})";
  EXPECT_EQ(send_marketing(s, auditor, body), 403);
  EXPECT_EQ(send_marketing(s, "", body), 401);
  for (const std::string& bad : {std::string(R"({"text": {"fr": "Seulement en français"}})"), std::string(R"({"text": {}})"),
                                 std::string(R"({"text": "hello"})"), std::string(R"({"text": {"en": 3}})"),
                                 std::string(R"({"text": {"en": ""}})"), std::string(R"({"text": {"en": "hi", "xx": "hi"}})"),
                                 std::string(R"({"text": {"en": "hi"}, "to": "everyone"})"), std::string(R"({})"),
                                 R"({"text": {"en": ")" + std::string(1001, 'a') + R"("}})"}) {
    json answer;
    EXPECT_EQ(send_marketing(s, shop.op, bad, &answer), 400) << bad;
    EXPECT_TRUE(answer["error"]["message"].is_string()) << answer.dump();
  }
  const std::size_t graph_before = shop.graph.count();
  EXPECT_TRUE(dora.news().empty());

  json answer;
  ASSERT_EQ(send_marketing(s, shop.op, body, &answer), 202) << answer.dump();
  EXPECT_EQ(answer, json({{"queued", 2}}));
  shop.settled();
  got = anna.fresh();
  ASSERT_EQ(got.size(), 1u) << wa_text_of(got);
  EXPECT_NE(wa_text_of(got).find("Fresh rye bread every Friday!"), std::string::npos) << wa_text_of(got);
  EXPECT_NE(wa_text_of(got).find("To stop them, type stop."), std::string::npos) << wa_text_of(got);
  EXPECT_TRUE(offers(got, "mkt:no"));
  EXPECT_TRUE(bruno.fresh().empty());
  EXPECT_TRUE(carla.fresh().empty());
  EXPECT_EQ(shop.graph.count(), graph_before + 1);
  const json dn = dora.news();
  ASSERT_EQ(dn.size(), 1u) << dn.dump();
  EXPECT_NE(dn[0]["text"].get<std::string>().find("Pain de seigle frais"), std::string::npos) << dn.dump();
  EXPECT_NE(dn[0]["text"].get<std::string>().find("tapez stop"), std::string::npos) << dn.dump();
  EXPECT_TRUE(emil.news().empty());

  // Anna stops from the message itself; the owner's next send reaches Dora only.
  got = anna.choose("mkt:no");
  EXPECT_NE(wa_text_of(got).find("you will not receive news or offers"), std::string::npos) << wa_text_of(got);
  ASSERT_EQ(send_marketing(s, owner, R"({"text": {"en": "Second news"}})", &answer), 202) << answer.dump();
  EXPECT_EQ(answer["queued"], 1);
  shop.settled();
  EXPECT_TRUE(anna.fresh().empty());
  EXPECT_EQ(dora.news().size(), 2u);
  EXPECT_TRUE(emil.news().empty());
  EXPECT_EQ(get(s, owner, "/api/v1/customers/" + std::to_string(anna_id) + "/consents")["marketing"]["state"], "withdrawn");
  shop.stop();

  // Each send is in the audit log with how many customers it reached, and who sent it.
  const fs::path exported = s.dir() / "audit.jsonl";
  auto r = s.cli({"audit", "export", "-c", s.config().string(), "--out", exported.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> sends;
  std::istringstream lines(read_file(exported));
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("action", "") == "marketing.queued") sends.push_back(j);
  }
  ASSERT_EQ(sends.size(), 2u);
  EXPECT_EQ(sends[0]["counts"]["customers"], 2);
  EXPECT_EQ(sends[0]["actor"]["role"], "operator");
  EXPECT_EQ(sends[1]["counts"]["customers"], 1);
  EXPECT_EQ(sends[1]["actor"]["role"], "owner");
}

}  // namespace
}  // namespace comptoir::testing::e2e

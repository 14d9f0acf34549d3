// End-to-end tests of chat commerce against the real `comptoir` binary (init with the built-in
// example catalog, serve on an ephemeral loopback port): web chat sessions, full checkouts by
// options and by typed text, bad input (4xx with the conversation unchanged), the admin products
// and orders API with roles, status notices reaching the customer's chat, concurrent buyers of the
// last items, and concurrent messages of one session. Every test ends with a clean shutdown and a
// search of the server's whole stderr (debug level) for the personal data and session tokens the
// test used.
#include <atomic>
#include <latch>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/harness.h"

namespace comptoir::testing::e2e {
namespace {

using nlohmann::json;

const std::string kDebugLog = R"("log": {"level": "debug"})";

httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }
int status_of(const httplib::Result& r) { return r ? r->status : -1; }
json body_of(const httplib::Result& r) {
  if (!r) return json();
  return json::parse(r->body, nullptr, false);
}

// All replies' text, and the last reply's option ids.
struct Answer {
  int status = -1;
  json body;
  std::string text;
  std::vector<std::string> options;
  bool offers(const std::string& id) const { return std::find(options.begin(), options.end(), id) != options.end(); }
};

Answer answer_of(const httplib::Result& r) {
  Answer a;
  a.status = status_of(r);
  a.body = body_of(r);
  if (a.status != 200 || !a.body.is_object() || !a.body.contains("replies")) return a;
  for (const auto& reply : a.body["replies"]) {
    a.text += reply.value("text", "") + "\n";
    a.options.clear();
    for (const auto& o : reply["options"]) a.options.push_back(o.value("id", ""));
  }
  return a;
}

std::string new_session(ServerInstance& s) {
  auto c = s.client();
  auto r = c.Post("/webchat/v1/sessions", "", "application/json");
  EXPECT_EQ(status_of(r), 201) << (r ? r->body : httplib::to_string(r.error()));
  const json j = body_of(r);
  if (!j.is_object() || !j.contains("session") || !j["session"].is_string()) {
    ADD_FAILURE() << "no session in " << (r ? r->body : "");
    return "";
  }
  const std::string session = j["session"].get<std::string>();
  EXPECT_TRUE(session.starts_with("wcs_")) << session;
  s.remember(session);
  return session;
}

Answer post_message(ServerInstance& s, const std::string& session, const json& body) {
  auto c = s.client();
  return answer_of(c.Post("/webchat/v1/messages", bearer(session), body.dump(), "application/json"));
}
Answer say(ServerInstance& s, const std::string& session, const std::string& text) {
  return post_message(s, session, json{{"text", text}});
}
Answer tap(ServerInstance& s, const std::string& session, const std::string& option) {
  return post_message(s, session, json{{"option", option}});
}

// Taps `option`, which the previous answer must have offered.
Answer tap_offered(ServerInstance& s, const std::string& session, const Answer& previous, const std::string& option) {
  EXPECT_TRUE(previous.offers(option)) << option << " was not offered after:\n" << previous.text;
  Answer a = tap(s, session, option);
  EXPECT_EQ(a.status, 200) << a.body.dump();
  EXPECT_FALSE(a.options.empty()) << a.text;
  return a;
}

// Adds one unit of `sku` and checks out for pickup; returns the confirmation answer.
Answer quick_pickup_order(ServerInstance& s, const std::string& session, const std::string& sku) {
  EXPECT_EQ(tap(s, session, "add:" + sku + ":1").status, 200);
  EXPECT_EQ(tap(s, session, "checkout").status, 200);
  EXPECT_EQ(tap(s, session, "ful:pickup").status, 200);
  return tap(s, session, "confirm");
}

json admin_get(ServerInstance& s, const std::string& token, const std::string& path, int expect = 200) {
  auto c = s.client();
  auto r = c.Get(path.c_str(), bearer(token));
  EXPECT_EQ(status_of(r), expect) << path << ": " << (r ? r->body : httplib::to_string(r.error()));
  return body_of(r);
}

// Starts a server on a fresh data dir with the example catalog and debug logging.
struct Shop {
  ServerInstance s{"", kDebugLog};
  std::string op, auditor;
  bool start(bool with_auditor = false) {
    if (!s.init()) return false;
    op = s.create_token("operator", "e2e-operator");
    if (with_auditor) auditor = s.create_token("auditor", "e2e-auditor");
    return s.start();
  }
  // Clean stop; the whole stderr must not contain anything the test remembered.
  void stop() {
    EXPECT_EQ(s.stop(), 0);
    const std::string err = s.process().err();
    EXPECT_NE(err.find("\"event\":\"http.request\""), std::string::npos) << "the server logged no requests";
  }
};

TEST(WebChat, SessionsAreOpaqueAndNeedNoBody) {
  Shop shop;
  ASSERT_TRUE(shop.start());
  const std::string a = new_session(shop.s), b = new_session(shop.s);
  EXPECT_NE(a, b);
  EXPECT_GE(a.size(), 20u);
  auto c = shop.s.client();
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->get_header_value("Content-Type").find("text/html"), std::string::npos);
  // A session with no message yet has no news.
  auto news = c.Get("/webchat/v1/messages?after=0", bearer(a));
  ASSERT_TRUE(news);
  EXPECT_EQ(news->status, 200);
  EXPECT_EQ(body_of(news)["messages"], json::array());
  shop.stop();
}

TEST(WebChat, FullCheckoutByOptionsAndByText) {
  Shop shop;
  ASSERT_TRUE(shop.start());
  auto& s = shop.s;
  const std::string name = "Zoé Quintessa-Marchetti";
  const std::string address = "17 rue des Tulipes Introuvables, 75011 Paris";
  s.remember(name);
  s.remember(address);

  // By options, as the chat page's buttons send them.
  const std::string session = new_session(s);
  Answer a = say(s, session, "hello");
  ASSERT_EQ(a.status, 200) << a.body.dump();
  EXPECT_NE(a.text.find("Welcome"), std::string::npos) << a.text;
  a = tap_offered(s, session, a, "browse");
  a = tap_offered(s, session, a, "cat:bakery");
  a = tap_offered(s, session, a, "prod:BRD-BAGUETTE");
  EXPECT_NE(a.text.find("€1.20"), std::string::npos) << a.text;
  a = tap_offered(s, session, a, "add:BRD-BAGUETTE:2");
  EXPECT_NE(a.text.find("Added 2 × Baguette"), std::string::npos) << a.text;
  a = tap_offered(s, session, a, "checkout");
  a = tap_offered(s, session, a, "ful:delivery");
  EXPECT_NE(a.text.find("recipient"), std::string::npos) << a.text;
  a = say(s, session, name);
  ASSERT_EQ(a.status, 200);
  EXPECT_NE(a.text.find("address"), std::string::npos) << a.text;
  a = say(s, session, address);
  ASSERT_EQ(a.status, 200);
  EXPECT_NE(a.text.find("Delivery: €4.90"), std::string::npos) << a.text;
  EXPECT_NE(a.text.find("VAT 5.5 %: €0.13 (net €2.27)"), std::string::npos) << a.text;
  EXPECT_NE(a.text.find("Total to pay: €7.30"), std::string::npos) << a.text;
  EXPECT_NE(a.text.find("/privacy?lang=en"), std::string::npos) << a.text;
  a = tap_offered(s, session, a, "confirm");
  EXPECT_NE(a.text.find("Your order C-000001 has been placed"), std::string::npos) << a.text;

  const json order = admin_get(s, shop.op, "/api/v1/orders/C-000001");
  EXPECT_EQ(order["status"], "placed");
  EXPECT_EQ(order["fulfilment"], "delivery");
  EXPECT_EQ(order["total"], 730);
  EXPECT_EQ(order["delivery_fee"], 490);
  EXPECT_EQ(order["has_delivery_details"], true);
  EXPECT_EQ(order["delivery"]["recipient_name"], name);
  EXPECT_EQ(order["delivery"]["address"], address);
  ASSERT_EQ(order["lines"].size(), 1u);
  EXPECT_EQ(order["lines"][0]["sku"], "BRD-BAGUETTE");
  EXPECT_EQ(order["lines"][0]["quantity"], 2);

  // By typed text, in French, picking options by their number.
  const std::string other = new_session(s);
  a = say(s, other, "Bonjour !");
  EXPECT_NE(a.text.find("Bienvenue"), std::string::npos) << a.text;
  a = say(s, other, "ajouter comté 3");
  EXPECT_NE(a.text.find("3 × Comté 18 mois"), std::string::npos) << a.text;
  a = say(s, other, "commander");
  ASSERT_FALSE(a.options.empty());
  EXPECT_EQ(a.options[0], "ful:pickup");
  a = say(s, other, "1");
  ASSERT_FALSE(a.options.empty());
  EXPECT_EQ(a.options[0], "confirm");
  EXPECT_NE(a.text.find("Total à payer\u00a0: 20,70 €"), std::string::npos) << a.text;
  a = say(s, other, "1");
  EXPECT_NE(a.text.find("C-000002"), std::string::npos) << a.text;

  auto products = admin_get(s, shop.op, "/api/v1/products/DAI-COMTE");
  EXPECT_EQ(products["stock"], 27);
  const json second = admin_get(s, shop.op, "/api/v1/orders/C-000002");
  EXPECT_EQ(second["fulfilment"], "pickup");
  EXPECT_EQ(second["language"], "fr");
  EXPECT_EQ(second["delivery"], nullptr);
  shop.stop();
}

TEST(WebChat, BadInputIsRefusedAndTheConversationContinuesWhereItWas) {
  Shop shop;
  ASSERT_TRUE(shop.start());
  auto& s = shop.s;
  const std::string session = new_session(s);
  ASSERT_EQ(say(s, session, "hi").status, 200);
  ASSERT_EQ(tap(s, session, "add:BRD-BAGUETTE:1").status, 200);
  ASSERT_EQ(tap(s, session, "checkout").status, 200);
  Answer a = tap(s, session, "ful:delivery");
  ASSERT_NE(a.text.find("recipient"), std::string::npos) << a.text;

  auto c = s.client();
  const std::string path = "/webchat/v1/messages";
  const std::string valid = json{{"text", "Ann Example"}}.dump();
  // Missing, malformed, forged and altered sessions.
  std::string altered = session;
  altered[altered.size() - 2] = altered[altered.size() - 2] == 'A' ? 'B' : 'A';
  const std::string forged = "wcs_" + std::string(43, 'A');
  s.remember(altered);
  for (const auto& headers : std::vector<httplib::Headers>{
           {}, bearer(""), bearer("garbage"), bearer(forged), bearer(altered), {{"Authorization", "Basic " + session}},
           {{"Authorization", session}}}) {
    auto r = c.Post(path.c_str(), headers, valid, "application/json");
    EXPECT_EQ(status_of(r), 401) << (r ? r->body : "");
    if (r) {
      EXPECT_FALSE(r->get_header_value("WWW-Authenticate").empty());
      EXPECT_EQ(body_of(r)["error"]["code"], "unauthorized");
    }
  }
  EXPECT_EQ(status_of(c.Get("/webchat/v1/messages?after=0")), 401);
  EXPECT_EQ(status_of(c.Get("/webchat/v1/messages?after=0", bearer(forged))), 401);

  struct Bad {
    const char* what;
    std::string body;
    std::string type;
    int status;
  };
  const std::vector<Bad> bad = {
      {"malformed JSON", "{\"text\": \"Ann", "application/json", 400},
      {"not an object", "[\"Ann\"]", "application/json", 400},
      {"empty body", "", "application/json", 400},
      {"wrong content type", valid, "text/plain", 415},
      {"form content type", "text=Ann", "application/x-www-form-urlencoded", 415},
      {"text over 4096 characters", json{{"text", std::string(4097, 'a')}}.dump(), "application/json", 400},
      {"4097 two-byte characters", json{{"text", [] {
                                           std::string t;
                                           for (int i = 0; i < 4097; ++i) t += "é";
                                           return t;
                                         }()}}.dump(),
       "application/json", 400},
      {"unknown field", json{{"text", "Ann Example"}, {"colour", "red"}}.dump(), "application/json", 400},
      {"both text and option", json{{"text", "Ann Example"}, {"option", "menu"}}.dump(), "application/json", 400},
      {"neither text nor option", "{}", "application/json", 400},
      {"text not a string", json{{"text", 42}}.dump(), "application/json", 400},
      {"empty text", json{{"text", ""}}.dump(), "application/json", 400},
      {"blank text", json{{"text", "  \n "}}.dump(), "application/json", 400},
      {"option with bad characters", json{{"option", "cat:<script>"}}.dump(), "application/json", 400},
      {"option too long", json{{"option", std::string(129, 'a')}}.dump(), "application/json", 400},
      {"invalid UTF-8", std::string("{\"text\": \"caf\xc3\"}"), "application/json", 400},
  };
  for (const auto& b : bad) {
    auto r = c.Post(path.c_str(), bearer(session), b.body, b.type.c_str());
    EXPECT_EQ(status_of(r), b.status) << b.what << ": " << (r ? r->body : "");
    if (r) {
      const json e = body_of(r);
      EXPECT_TRUE(e.is_object() && e.contains("error")) << b.what << ": " << r->body;
    }
  }
  // An unknown but well-formed option gets a polite answer and the current options…
  a = tap(s, session, "nosuch:thing");
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.text.find("didn't understand"), std::string::npos) << a.text;
  EXPECT_FALSE(a.options.empty());
  // …and nothing of the above moved the conversation: the next message is the recipient's name.
  a = say(s, session, "Ann Example");
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.text.find("delivery address"), std::string::npos) << a.text;
  s.remember("Ann Example");
  a = say(s, session, "1 Main Street, 1000 Brussels");
  s.remember("1 Main Street, 1000 Brussels");
  EXPECT_NE(a.text.find("Please check your order"), std::string::npos) << a.text;
  EXPECT_NE(a.text.find("1 × Baguette"), std::string::npos) << a.text;

  // Exactly 4096 characters (of two bytes each) is still a message, answered politely.
  const std::string other = new_session(s);
  std::string longest;
  for (int i = 0; i < 4096; ++i) longest += "é";
  a = say(s, other, longest);
  EXPECT_EQ(a.status, 200) << a.body.dump();
  EXPECT_FALSE(a.options.empty());

  // The news endpoint validates its cursor.
  EXPECT_EQ(status_of(c.Get("/webchat/v1/messages?after=abc", bearer(session))), 400);
  EXPECT_EQ(status_of(c.Get("/webchat/v1/messages?after=-1", bearer(session))), 400);
  shop.stop();
}

TEST(WebChat, AdminProductsApiWithRoles) {
  Shop shop;
  ASSERT_TRUE(shop.start(/*with_auditor=*/true));
  auto& s = shop.s;
  auto c = s.client();
  const std::string cake = R"({"sku": "TST-CAKE", "category": "bakery", "price": 450, "vat_rate": 5.5,
                               "stock": 4, "name": {"en": "Test cake", "fr": "Gâteau test"}})";

  // Auditors may not read or write the catalog or the orders.
  const auto& au = shop.auditor;
  EXPECT_EQ(status_of(c.Get("/api/v1/products", bearer(au))), 403);
  EXPECT_EQ(status_of(c.Get("/api/v1/products/BRD-BAGUETTE", bearer(au))), 403);
  EXPECT_EQ(status_of(c.Post("/api/v1/products", bearer(au), cake, "application/json")), 403);
  EXPECT_EQ(status_of(c.Put("/api/v1/products/TST-CAKE", bearer(au), cake, "application/json")), 403);
  EXPECT_EQ(status_of(c.Patch("/api/v1/products/BRD-BAGUETTE", bearer(au), R"({"stock": 0})", "application/json")), 403);
  EXPECT_EQ(status_of(c.Delete("/api/v1/products/BRD-BAGUETTE", bearer(au))), 403);
  EXPECT_EQ(status_of(c.Get("/api/v1/orders", bearer(au))), 403);
  EXPECT_EQ(status_of(c.Get("/api/v1/products")), 401);

  // Operators may.
  const auto& op = shop.op;
  json list = admin_get(s, op, "/api/v1/products");
  ASSERT_TRUE(list.contains("products") && list["products"].is_array());
  EXPECT_GE(list["products"].size(), 25u);
  bool saw_baguette = false;
  for (const auto& p : list["products"]) {
    for (const char* k : {"sku", "name", "price", "currency", "vat_rate", "stock", "active"}) {
      EXPECT_TRUE(p.contains(k)) << k << " missing in " << p.dump();
    }
    if (p["sku"] == "BRD-BAGUETTE") {
      saw_baguette = true;
      EXPECT_EQ(p["price"], 120);
      EXPECT_EQ(p["vat_rate"], 5.5);
      EXPECT_EQ(p["currency"], "EUR");
    }
  }
  EXPECT_TRUE(saw_baguette);
  EXPECT_EQ(admin_get(s, op, "/api/v1/products?category=drinks")["products"].size(), 7u);

  auto created = c.Post("/api/v1/products", bearer(op), cake, "application/json");
  ASSERT_EQ(status_of(created), 201) << (created ? created->body : "");
  EXPECT_EQ(created->get_header_value("Location"), "/api/v1/products/TST-CAKE");
  EXPECT_EQ(status_of(c.Post("/api/v1/products", bearer(op), cake, "application/json")), 409);
  auto floaty = c.Post("/api/v1/products", bearer(op),
                       R"({"sku": "TST-X", "category": "bakery", "price": 4.5, "vat_rate": 5.5, "name": "X"})",
                       "application/json");
  EXPECT_EQ(status_of(floaty), 400);
  EXPECT_NE(body_of(floaty)["error"]["message"].get<std::string>().find("price"), std::string::npos);
  auto unknown = c.Post("/api/v1/products", bearer(op),
                        R"({"sku": "TST-X", "category": "bakery", "price": 4, "vat_rate": 5.5, "name": "X", "colour": "red"})",
                        "application/json");
  EXPECT_EQ(status_of(unknown), 400);
  EXPECT_NE(body_of(unknown)["error"]["message"].get<std::string>().find("colour"), std::string::npos);
  EXPECT_EQ(status_of(c.Post("/api/v1/products", bearer(op), cake, "text/plain")), 415);

  json got = admin_get(s, op, "/api/v1/products/TST-CAKE");
  EXPECT_EQ(got["price"], 450);
  EXPECT_EQ(got["names"]["fr"], "Gâteau test");
  // What GET answers can be PUT back changed.
  got["price"] = 500;
  auto put = c.Put("/api/v1/products/TST-CAKE", bearer(op), got.dump(), "application/json");
  ASSERT_EQ(status_of(put), 200) << (put ? put->body : "");
  got = admin_get(s, op, "/api/v1/products/TST-CAKE");
  EXPECT_EQ(got["price"], 500);
  EXPECT_EQ(got["names"]["fr"], "Gâteau test");
  auto mismatch = c.Put("/api/v1/products/TST-CAKE", bearer(op), R"({"sku": "OTHER", "category": "bakery", "price": 1,
                          "vat_rate": 5.5, "name": "Y"})", "application/json");
  EXPECT_EQ(status_of(mismatch), 400);

  auto patched = c.Patch("/api/v1/products/TST-CAKE", bearer(op), R"({"stock": 9})", "application/json");
  ASSERT_EQ(status_of(patched), 200) << (patched ? patched->body : "");
  EXPECT_EQ(body_of(patched)["stock"], 9);
  EXPECT_EQ(body_of(patched)["price"], 500);
  EXPECT_EQ(status_of(c.Patch("/api/v1/products/TST-CAKE", bearer(op), R"({"sku": "OTHER"})", "application/json")), 400);
  EXPECT_EQ(status_of(c.Patch("/api/v1/products/TST-CAKE", bearer(op), R"({"price": -1})", "application/json")), 400);
  EXPECT_EQ(status_of(c.Patch("/api/v1/products/NO-SUCH", bearer(op), R"({"stock": 1})", "application/json")), 404);
  EXPECT_EQ(admin_get(s, op, "/api/v1/products/TST-CAKE")["stock"], 9);

  // Customers can buy it at once.
  const std::string session = new_session(s);
  Answer a = say(s, session, "add TST-CAKE 2");
  EXPECT_NE(a.text.find("Added 2 × Test cake"), std::string::npos) << a.text;

  auto deleted = c.Delete("/api/v1/products/TST-CAKE", bearer(op));
  EXPECT_EQ(status_of(deleted), 204);
  admin_get(s, op, "/api/v1/products/TST-CAKE", 404);
  EXPECT_EQ(status_of(c.Delete("/api/v1/products/TST-CAKE", bearer(op))), 404);
  a = tap(s, session, "prod:TST-CAKE");
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.text.find("no longer available"), std::string::npos) << a.text;
  shop.stop();
}

TEST(WebChat, OrdersApiFiltersPagesAndNotifiesTheCustomer) {
  Shop shop;
  ASSERT_TRUE(shop.start(/*with_auditor=*/true));
  auto& s = shop.s;
  auto c = s.client();
  const auto& op = shop.op;
  const std::string ann = new_session(s), bob = new_session(s);
  ASSERT_EQ(say(s, ann, "hello").status, 200);
  ASSERT_EQ(say(s, bob, "hallo").status, 200);
  EXPECT_NE(quick_pickup_order(s, ann, "BRD-BAGUETTE").text.find("C-000001"), std::string::npos);
  EXPECT_NE(quick_pickup_order(s, bob, "DAI-BRIE").text.find("C-000002"), std::string::npos);
  EXPECT_NE(quick_pickup_order(s, ann, "VEG-LEMON").text.find("C-000003"), std::string::npos);

  auto numbers = [](const json& body) {
    std::vector<std::string> out;
    for (const auto& o : body["orders"]) out.push_back(o["number"].get<std::string>());
    return out;
  };
  json all = admin_get(s, op, "/api/v1/orders");
  EXPECT_EQ(numbers(all), (std::vector<std::string>{"C-000003", "C-000002", "C-000001"}));
  EXPECT_EQ(all["orders"][0]["status"], "placed");

  // Bob's order is accepted: the change notifies him in his chat, in German.
  auto accepted = c.Post("/api/v1/orders/C-000002/status", bearer(op), R"({"status": "accepted"})", "application/json");
  ASSERT_EQ(status_of(accepted), 200) << (accepted ? accepted->body : "");
  EXPECT_EQ(body_of(accepted)["status"], "accepted");
  EXPECT_EQ(status_of(c.Post("/api/v1/orders/C-000002/status", bearer(shop.auditor), R"({"status": "ready"})",
                             "application/json")),
            403);

  auto news = c.Get("/webchat/v1/messages?after=0", bearer(bob));
  ASSERT_EQ(status_of(news), 200);
  json n = body_of(news);
  ASSERT_EQ(n["messages"].size(), 1u) << n.dump();
  EXPECT_NE(n["messages"][0]["text"].get<std::string>().find("C-000002 wurde angenommen"), std::string::npos) << n.dump();
  EXPECT_FALSE(n["messages"][0]["options"].empty());
  const std::int64_t last = n["last_id"].get<std::int64_t>();
  EXPECT_EQ(n["messages"][0]["id"], last);
  n = body_of(c.Get(("/webchat/v1/messages?after=" + std::to_string(last)).c_str(), bearer(bob)));
  EXPECT_EQ(n["messages"], json::array());
  EXPECT_EQ(n["last_id"], last);
  EXPECT_EQ(body_of(c.Get("/webchat/v1/messages?after=0", bearer(ann)))["messages"], json::array());

  // Bob can no longer cancel it in the chat.
  Answer a = tap(s, bob, "order:C-000002");
  EXPECT_FALSE(a.offers("ocancel:C-000002")) << a.text;
  a = tap(s, bob, "ocancel_yes:C-000002");
  EXPECT_NE(a.text.find("kann nicht mehr storniert werden"), std::string::npos) << a.text;
  // Ann can cancel hers while placed.
  a = tap(s, ann, "ocancel_yes:C-000001");
  EXPECT_NE(a.text.find("Order C-000001 has been cancelled"), std::string::npos) << a.text;

  // Filters and paging.
  EXPECT_EQ(numbers(admin_get(s, op, "/api/v1/orders?status=placed")), (std::vector<std::string>{"C-000003"}));
  EXPECT_EQ(numbers(admin_get(s, op, "/api/v1/orders?status=accepted")), (std::vector<std::string>{"C-000002"}));
  EXPECT_EQ(numbers(admin_get(s, op, "/api/v1/orders?status=cancelled")), (std::vector<std::string>{"C-000001"}));
  admin_get(s, op, "/api/v1/orders?status=done", 400);
  json page = admin_get(s, op, "/api/v1/orders?limit=2");
  EXPECT_EQ(numbers(page), (std::vector<std::string>{"C-000003", "C-000002"}));
  ASSERT_TRUE(page["next"].is_string()) << page.dump();
  page = admin_get(s, op, "/api/v1/orders?limit=2&before=" + page["next"].get<std::string>());
  EXPECT_EQ(numbers(page), (std::vector<std::string>{"C-000001"}));
  EXPECT_TRUE(page["next"].is_null());
  admin_get(s, op, "/api/v1/orders?limit=0", 400);
  admin_get(s, op, "/api/v1/orders?before=C-999999", 400);
  EXPECT_EQ(numbers(admin_get(s, op, "/api/v1/orders?from=2000-01-01")).size(), 3u);
  EXPECT_EQ(numbers(admin_get(s, op, "/api/v1/orders?to=2000-01-01")).size(), 0u);

  // Transitions that are not allowed, unknown orders and statuses.
  auto status = [&](const std::string& number, const std::string& body) {
    return status_of(c.Post(("/api/v1/orders/" + number + "/status").c_str(), bearer(op), body, "application/json"));
  };
  EXPECT_EQ(status("C-000002", R"({"status": "placed"})"), 409);
  EXPECT_EQ(status("C-000003", R"({"status": "completed"})"), 409);
  EXPECT_EQ(status("C-000001", R"({"status": "accepted"})"), 409);  // cancelled is final
  EXPECT_EQ(status("C-000099", R"({"status": "accepted"})"), 404);
  EXPECT_EQ(status("C-000003", R"({"status": "done"})"), 400);
  EXPECT_EQ(status("C-000003", R"({})"), 400);
  EXPECT_EQ(admin_get(s, op, "/api/v1/orders/C-000003")["status"], "placed");
  admin_get(s, op, "/api/v1/orders/C-000099", 404);

  // The whole lifecycle, each step announced to the customer.
  for (const char* next : {"accepted", "ready", "completed"}) {
    EXPECT_EQ(status("C-000003", std::string(R"({"status": ")") + next + "\"}"), 200) << next;
  }
  n = body_of(c.Get("/webchat/v1/messages?after=0", bearer(ann)));
  ASSERT_EQ(n["messages"].size(), 3u) << n.dump();
  EXPECT_NE(n["messages"][1]["text"].get<std::string>().find("ready for pickup"), std::string::npos);
  shop.stop();
}

TEST(WebChat, ConcurrentBuyersOfTheLastItemsNeverOversell) {
  Shop shop;
  ASSERT_TRUE(shop.start());
  auto& s = shop.s;
  auto c = s.client();
  auto patched = c.Patch("/api/v1/products/DRK-CHAMPAGNE", bearer(shop.op), R"({"stock": 3})", "application/json");
  ASSERT_EQ(status_of(patched), 200) << (patched ? patched->body : "");

  constexpr int kBuyers = 10;
  std::vector<std::string> sessions;
  for (int i = 0; i < kBuyers; ++i) sessions.push_back(new_session(s));
  std::latch added(kBuyers);
  std::atomic<int> placed{0}, refused{0}, broken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kBuyers; ++i) {
    threads.emplace_back([&, i] {
      const std::string& me = sessions[static_cast<std::size_t>(i)];
      Answer a = tap(s, me, "add:DRK-CHAMPAGNE:1");
      if (a.status != 200 || a.text.find("Added 1 × Champagne") == std::string::npos) broken++;
      added.arrive_and_wait();  // everyone has it in the cart before anyone checks out
      a = tap(s, me, "checkout");
      if (a.status != 200) broken++;
      a = tap(s, me, "ful:pickup");
      if (a.status != 200) broken++;
      a = tap(s, me, "confirm");
      if (a.status != 200 || a.options.empty()) broken++;
      if (a.text.find("has been placed") != std::string::npos) placed++;
      else refused++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(broken.load(), 0);
  EXPECT_EQ(placed.load(), 3);
  EXPECT_EQ(refused.load(), kBuyers - 3);
  EXPECT_EQ(admin_get(s, shop.op, "/api/v1/products/DRK-CHAMPAGNE")["stock"], 0);
  json orders = admin_get(s, shop.op, "/api/v1/orders?limit=100");
  ASSERT_EQ(orders["orders"].size(), 3u) << orders.dump();
  std::set<std::string> numbers;
  for (const auto& o : orders["orders"]) {
    numbers.insert(o["number"].get<std::string>());
    ASSERT_EQ(o["lines"].size(), 1u);
    EXPECT_EQ(o["lines"][0]["sku"], "DRK-CHAMPAGNE");
    EXPECT_EQ(o["lines"][0]["quantity"], 1);
  }
  EXPECT_EQ(numbers, (std::set<std::string>{"C-000001", "C-000002", "C-000003"}));
  shop.stop();
}

TEST(WebChat, MessagesSentAtOnceInOneSessionAreAllApplied) {
  Shop shop;
  ASSERT_TRUE(shop.start());
  auto& s = shop.s;
  const std::string session = new_session(s);
  ASSERT_EQ(say(s, session, "hi").status, 200);
  int expected = 0;
  for (int concurrent : {2, 4}) {
    std::latch go(concurrent);
    std::atomic<int> ok_count{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < concurrent; ++i) {
      threads.emplace_back([&] {
        go.arrive_and_wait();
        if (say(s, session, "add baguette 1").status == 200) ok_count++;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok_count.load(), concurrent);
    expected += concurrent;
    Answer a = say(s, session, "cart");
    EXPECT_NE(a.text.find(std::to_string(expected) + " × Baguette"), std::string::npos) << a.text;
  }
  shop.stop();
}

}  // namespace
}  // namespace comptoir::testing::e2e

// Personal data protection against the real binary: the privacy notice generated from the data
// inventory, startup refusing an inventory that does not match the code, and the no-plaintext
// scan — after delivery checkouts with distinctive names and addresses over the web chat and
// WhatsApp, no file of the data dir, nothing the server printed and nothing in the exported
// audit log contains them (UTF-8, UTF-16LE, UTF-16BE), nor the customer's phone number or
// WhatsApp profile name.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "tests/e2e/channels_harness.h"
#include "tests/e2e/harness.h"

namespace comptoir::testing::e2e {
namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// `s` (UTF-8) as UTF-16 in the given byte order.
std::string utf16(const std::string& s, bool little_endian) {
  std::string out;
  std::size_t i = 0;
  auto put = [&](std::uint16_t u) {
    const char hi = static_cast<char>(u >> 8), lo = static_cast<char>(u & 0xff);
    out += little_endian ? lo : hi;
    out += little_endian ? hi : lo;
  };
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::uint32_t cp = 0;
    int extra = 0;
    if (c < 0x80) cp = c;
    else if ((c >> 5) == 6) { cp = c & 0x1f; extra = 1; }
    else if ((c >> 4) == 14) { cp = c & 0x0f; extra = 2; }
    else { cp = c & 0x07; extra = 3; }
    const auto n = static_cast<std::size_t>(extra);
    for (std::size_t k = 1; k <= n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3fu);
    i += 1 + n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(static_cast<std::uint16_t>(0xd800 + (cp >> 10)));
      put(static_cast<std::uint16_t>(0xdc00 + (cp & 0x3ff)));
    } else {
      put(static_cast<std::uint16_t>(cp));
    }
  }
  return out;
}

// Every encoding of `needle` that must not appear in `haystack`; "" when none does.
std::string found_in(const std::string& haystack, const std::string& needle) {
  if (haystack.find(needle) != std::string::npos) return "UTF-8";
  if (haystack.find(utf16(needle, true)) != std::string::npos) return "UTF-16LE";
  if (haystack.find(utf16(needle, false)) != std::string::npos) return "UTF-16BE";
  return "";
}

httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

json post_json(ServerInstance& s, const std::string& path, const httplib::Headers& h, const json& body, int expect) {
  auto c = s.client();
  auto r = c.Post(path.c_str(), h, body.dump(), "application/json");
  EXPECT_TRUE(r && r->status == expect) << path << ": " << (r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error()));
  return r ? json::parse(r->body, nullptr, false) : json();
}

std::string all_text(const json& answer) {
  std::string t;
  if (answer.is_object() && answer.contains("replies")) {
    for (const auto& r : answer["replies"]) t += r.value("text", "") + "\n";
  }
  return t;
}

TEST(PrivacyNotice, ServedInEveryLanguageWithItsVersion) {
  ServerInstance s;
  ASSERT_TRUE(s.init());
  ASSERT_TRUE(s.start());
  auto c = s.client();
  std::map<std::string, std::string> etags;
  for (const auto& [query, header, lang, heading] :
       std::vector<std::tuple<std::string, std::string, std::string, std::string>>{
           {"?lang=fr", "", "fr", "Ce que nous conservons"},
           {"", "de-AT,de;q=0.9,en;q=0.5", "de", "Was wir über Sie speichern"},
           {"", "it-IT, fr;q=0.8", "fr", "Ce que nous conservons"},
           {"?lang=xx", "pt", "en", "What we keep about you"},
           {"?lang=en", "de", "en", "What we keep about you"}}) {
    httplib::Headers h;
    if (!header.empty()) h.emplace("Accept-Language", header);
    auto r = c.Get(("/privacy" + query).c_str(), h);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Content-Language"), lang) << query << " " << header;
    EXPECT_NE(r->body.find(heading), std::string::npos) << lang;
    EXPECT_NE(r->get_header_value("Content-Type").find("text/html"), std::string::npos);
    const std::string etag = r->get_header_value("ETag");
    EXPECT_TRUE(std::regex_match(etag, std::regex("\"[0-9a-f]{64}\""))) << etag;
    if (etags.contains(lang)) {
      EXPECT_EQ(etags[lang], etag);
    }
    etags[lang] = etag;
    // Generated from the inventory: the categories, the legal bases, the right to complain.
    EXPECT_NE(r->body.find("id=\"delivery_details\""), std::string::npos);
    EXPECT_EQ(r->body.find("id=\"chat_transcript\""), std::string::npos);  // not collected
    EXPECT_NE(r->body.find("edpb.europa.eu"), std::string::npos);
  }
  EXPECT_EQ(etags.size(), 3u);
  auto again = c.Get("/privacy?lang=fr", {{"If-None-Match", etags["fr"]}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_EQ(s.stop(), 0);
}

// A copy of the shipped inventory with `edit` applied to its text.
fs::path write_inventory(const ServerInstance& s, const std::function<std::string(std::string)>& edit) {
  const fs::path file = s.dir() / "inventory.json";
  std::ofstream(file) << edit(read_all(fs::path(COMPTOIR_SOURCE_DIR) / "config/privacy/inventory.json"));
  return file;
}

TEST(PrivacyInventory, StartupRefusesAnInventoryThatDoesNotMatchTheCode) {
  ServerInstance s("", R"("privacy": {"inventory_file": "inventory.json"})");
  write_inventory(s, [](std::string t) {
    const std::string field = R"(, "orders.delivery_address_sealed")";
    t.erase(t.find(field), field.size());
    const std::string cart = R"("fields": ["cart_items.*"])";
    t.replace(t.find(cart), cart.size(), R"("fields": ["cart_items.*", "customers.birth_date"])");
    return t;
  });
  auto check = s.cli({"check-config", "-c", s.config().string()});
  EXPECT_EQ(check.exit_code, 2) << check.out << check.err;
  EXPECT_NE(check.err.find("inventory.json"), std::string::npos) << check.err;
  EXPECT_NE(check.err.find("\"orders.delivery_address_sealed\""), std::string::npos) << check.err;
  EXPECT_NE(check.err.find("\"customers.birth_date\", which the code does not store"), std::string::npos) << check.err;

  ASSERT_TRUE(s.init());
  auto serve = s.cli({"serve", "-c", s.config().string()});
  EXPECT_EQ(serve.exit_code, 2);
  EXPECT_NE(serve.err.find("\"orders.delivery_address_sealed\""), std::string::npos) << serve.err;
  EXPECT_EQ(serve.err.find("\"event\":\"listening\""), std::string::npos);
}

TEST(PrivacyInventory, ABrokenInventoryIsReportedWithItsPlace) {
  ServerInstance s("", R"("privacy": {"inventory_file": "inventory.json"})");
  write_inventory(s, [](std::string t) {
    const std::string d = R"("duration": "P90D")";
    t.replace(t.find(d), d.size(), R"("duration": "three months")");
    return t;
  });
  auto check = s.cli({"check-config", "-c", s.config().string()});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_NE(check.err.find("inventory.json: categories[3].retention.duration: must be an ISO 8601 duration"), std::string::npos)
      << check.err;
  write_inventory(s, [](std::string t) { return t.substr(0, t.size() / 2); });
  check = s.cli({"check-config", "-c", s.config().string()});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_TRUE(std::regex_search(check.err, std::regex("inventory\\.json:\\d+:\\d+: "))) << check.err;
  fs::remove(s.dir() / "inventory.json");
  check = s.cli({"check-config", "-c", s.config().string()});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_NE(check.err.find("cannot read the data inventory"), std::string::npos) << check.err;
}

TEST(NoPlaintext, TheScanFindsEveryEncoding) {
  EXPECT_EQ(found_in("..." + utf16("Zoé 😀", true) + "...", "Zoé 😀"), "UTF-16LE");
  EXPECT_EQ(found_in("..." + utf16("Zoé 😀", false) + "...", "Zoé 😀"), "UTF-16BE");
  EXPECT_EQ(found_in("...Zoé 😀...", "Zoé 😀"), "UTF-8");
  EXPECT_EQ(found_in("...Zoe...", "Zoé"), "");
}

TEST(NoPlaintext, PersonalDataAppearsInNoFileAndNoOutput) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start());
  ServerInstance& s = *shop.s;
  // Distinctive values, each searched for everywhere afterwards.
  const std::string web_name = "Zéphyrine Quartz-Oyelaran";
  const std::string web_address = "42 allée des Mirabelles Improbables, 69004 Lyon";
  const std::string phone = "33791357924";
  const std::string profile = "Bartholomäus Wiedehopf";
  const std::string wa_name = "Ottilie Zwiebelturm-Nakamura";
  const std::string wa_address = "Schnurrbartgasse 17, 8010 Graz";
  const std::vector<std::string> personal = {web_name, web_address, phone, profile, wa_name, wa_address};
  for (const auto& p : personal) shop.personal(p);

  // Web chat: a delivery checkout.
  const json session = post_json(s, "/webchat/v1/sessions", {}, json::object(), 201);
  ASSERT_TRUE(session.contains("session"));
  const std::string wcs = session["session"];
  s.remember(wcs);
  for (const json& step : {json{{"text", "hello"}}, json{{"option", "add:BRD-BAGUETTE:2"}}, json{{"option", "checkout"}},
                           json{{"option", "ful:delivery"}}, json{{"text", web_name}}, json{{"text", web_address}}}) {
    post_json(s, "/webchat/v1/messages", bearer(wcs), step, 200);
  }
  const json placed = post_json(s, "/webchat/v1/messages", bearer(wcs), json{{"option", "confirm"}}, 200);
  EXPECT_NE(all_text(placed).find("C-000001"), std::string::npos) << placed.dump();

  // WhatsApp: the same, with a profile name the shop must not keep.
  int seq = 0;
  auto send = [&](const json& m) { shop.whatsapp(wa::envelope(json::array({m}), nullptr, phone, profile)); };
  auto id = [&] { return "wamid.SCAN" + std::to_string(++seq); };
  send(wa::text(phone, id(), "bonjour"));
  send(wa::button_reply(phone, id(), "add:DAI-COMTE:1"));
  send(wa::button_reply(phone, id(), "checkout"));
  send(wa::button_reply(phone, id(), "ful:delivery"));
  send(wa::text(phone, id(), wa_name));
  send(wa::text(phone, id(), wa_address));
  send(wa::button_reply(phone, id(), "confirm"));
  ASSERT_TRUE(shop.settled());
  EXPECT_NE(wa_text_of(shop.graph.sent_to(phone)).find("C-000002"), std::string::npos) << wa_text_of(shop.graph.sent_to(phone));

  // The shop sees the delivery details through the API (so they really were stored)…
  auto c = s.client();
  auto order = c.Get("/api/v1/orders/C-000002", bearer(shop.op));
  ASSERT_TRUE(order && order->status == 200);
  EXPECT_NE(order->body.find("Zwiebelturm"), std::string::npos);
  // …and the owner reads a consent ledger: both reads go into the audit log.
  const std::string owner = s.create_token("owner", "privacy scan");
  auto consents = c.Get("/api/v1/customers/1/consents", bearer(owner));
  ASSERT_TRUE(consents && consents->status == 200);
  auto listed = c.Get("/api/v1/orders", bearer(owner));
  ASSERT_TRUE(listed && listed->status == 200);

  // …then, with the server running (WAL and shared memory in place) and again after it stopped,
  // no file holds any of them.
  auto scan = [&](const std::string& when) {
    std::size_t files = 0;
    for (const auto& e : fs::recursive_directory_iterator(s.dir())) {
      if (!e.is_regular_file() || e.path().filename() == "comptoir.json" || e.path().filename() == "inventory.json") continue;
      const std::string bytes = read_all(e.path());
      ++files;
      for (const auto& p : personal) {
        const std::string enc = found_in(bytes, p);
        EXPECT_EQ(enc, "") << when << ": " << e.path() << " contains \"" << p << "\" in " << enc;
      }
    }
    EXPECT_GE(files, 3u) << when;  // the database, its WAL and the key file at least
  };
  scan("while serving");
  shop.stop();  // also checks stdout and stderr for every value (UTF-8)
  for (const auto& p : personal) {
    EXPECT_EQ(found_in(s.process().err() + s.process().out(), p), "") << "the server printed \"" << p << "\"";
  }
  scan("after stopping");

  // The audit log recorded the reads of personal data, with none of it.
  const fs::path exported = s.dir() / "audit-export.jsonl";
  auto r = s.cli({"audit", "export", "-c", s.config().string(), "--out", exported.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string log = read_all(exported);
  for (const auto& p : personal) {
    EXPECT_EQ(found_in(log, p), "") << "the audit log holds \"" << p << "\"";
  }
  EXPECT_EQ(log.find("Zwiebelturm"), std::string::npos);
  EXPECT_EQ(log.find("Mirabelles"), std::string::npos);
  EXPECT_EQ(log.find("791357924"), std::string::npos);  // the phone number without its country code
  s.check_no_secrets(log, "the audit export");
  EXPECT_NE(log.find("\"action\":\"order.read\",\"resource\":\"order:C-000002\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"action\":\"consents.read\",\"resource\":\"customer:1\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"action\":\"orders.listed\""), std::string::npos);
  auto pk = s.cli({"audit", "public-key", "-c", s.config().string()});
  const std::string key = pk.out.substr(pk.out.rfind('\n', pk.out.size() - 2) + 1, 64);
  auto v = s.cli({"audit", "verify", "--file", exported.string(), "--public-key", key});
  EXPECT_EQ(v.exit_code, 0) << v.err;
}

}  // namespace
}  // namespace comptoir::testing::e2e

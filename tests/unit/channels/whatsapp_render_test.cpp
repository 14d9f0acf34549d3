// Outbound WhatsApp bodies (render, render_template) against the Cloud API limits of the
// channel reference §2.3–2.5 — text ≤ 4096 characters, reply buttons ≤ 3 with unique titles ≤ 20,
// lists ≤ 10 rows with titles ≤ 24 and descriptions ≤ 72, interactive bodies ≤ 1024 — and the
// classification of Graph API answers (classify_response, §2.2 and §2.8).
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "src/channels/whatsapp.h"
#include "src/common/text.h"

namespace comptoir::channels::whatsapp {
namespace {

using nlohmann::json;

std::size_t chars(const std::string& s) { return text::utf8_length(s); }

std::vector<json> rendered(const chat::Reply& reply, const std::string& to = "33612345678", const RenderOptions& o = {}) {
  std::vector<json> out;
  for (const auto& body : render(reply, to, o)) {
    json j = json::parse(body, nullptr, false);
    EXPECT_TRUE(j.is_object()) << body;
    EXPECT_EQ(j.value("messaging_product", ""), "whatsapp") << body;
    EXPECT_EQ(j.value("to", ""), to) << body;
    EXPECT_TRUE(text::is_valid_utf8(body));
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<chat::Option> options(std::size_t n, const std::string& title_prefix = "Option ") {
  std::vector<chat::Option> o;
  for (std::size_t i = 0; i < n; ++i) o.push_back({"opt:" + std::to_string(i), title_prefix + std::to_string(i), ""});
  return o;
}

// Checks the Cloud API's limits on one interactive body; returns the option ids it carries.
std::vector<std::string> check_interactive(const json& m) {
  std::vector<std::string> ids;
  EXPECT_EQ(m.value("type", ""), "interactive");
  const json& i = m["interactive"];
  const std::string body = i["body"]["text"].get<std::string>();
  EXPECT_FALSE(body.empty());
  EXPECT_LE(chars(body), 1024u);
  std::set<std::string> titles, seen_ids;
  if (i["type"] == "button") {
    const json& buttons = i["action"]["buttons"];
    EXPECT_GE(buttons.size(), 1u);
    EXPECT_LE(buttons.size(), 3u);
    for (const auto& b : buttons) {
      EXPECT_EQ(b["type"], "reply");
      const std::string title = b["reply"]["title"].get<std::string>();
      const std::string id = b["reply"]["id"].get<std::string>();
      EXPECT_FALSE(title.empty());
      EXPECT_LE(chars(title), 20u) << title;
      EXPECT_LE(id.size(), 256u);
      EXPECT_TRUE(titles.insert(title).second) << "duplicate button title " << title << " in " << m.dump();
      EXPECT_TRUE(seen_ids.insert(id).second) << "duplicate button id " << id;
      ids.push_back(id);
    }
  } else {
    EXPECT_EQ(i["type"], "list");
    const std::string label = i["action"]["button"].get<std::string>();
    EXPECT_FALSE(label.empty());
    EXPECT_LE(chars(label), 20u);
    const json& sections = i["action"]["sections"];
    EXPECT_GE(sections.size(), 1u);
    EXPECT_LE(sections.size(), 10u);
    std::size_t rows = 0;
    for (const auto& s : sections) {
      if (s.contains("title")) {
        EXPECT_LE(chars(s["title"].get<std::string>()), 24u);
      }
      for (const auto& r : s["rows"]) {
        ++rows;
        const std::string title = r["title"].get<std::string>();
        const std::string id = r["id"].get<std::string>();
        EXPECT_FALSE(title.empty());
        EXPECT_LE(chars(title), 24u) << title;
        EXPECT_LE(id.size(), 200u);
        if (r.contains("description")) {
          EXPECT_LE(chars(r["description"].get<std::string>()), 72u);
        }
        EXPECT_TRUE(titles.insert(title).second) << "duplicate row title " << title << " in " << m.dump();
        EXPECT_TRUE(seen_ids.insert(id).second) << "duplicate row id " << id;
        ids.push_back(id);
      }
    }
    EXPECT_GE(rows, 1u);
    EXPECT_LE(rows, 10u);
  }
  return ids;
}

TEST(WhatsAppRender, PlainText) {
  const auto out = rendered({"Your cart is empty: add something first.", {}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["type"], "text");
  EXPECT_EQ(out[0]["recipient_type"], "individual");
  EXPECT_EQ(out[0]["text"]["body"], "Your cart is empty: add something first.");
  EXPECT_EQ(out[0]["text"]["preview_url"], false);
}

TEST(WhatsAppRender, LongTextIsSplitAtCharactersNotBytes) {
  std::string accented;
  for (int i = 0; i < 10000; ++i) accented += (i % 3 == 0) ? "é" : (i % 3 == 1 ? "a" : "€");
  const auto out = rendered({accented, {}});
  ASSERT_EQ(out.size(), 3u);
  std::string joined;
  for (const auto& m : out) {
    const std::string part = m["text"]["body"].get<std::string>();
    EXPECT_LE(chars(part), 4096u);
    EXPECT_TRUE(text::is_valid_utf8(part));
    joined += part;
  }
  EXPECT_EQ(joined, accented);
  EXPECT_EQ(chars(out[0]["text"]["body"].get<std::string>()), 4096u);

  // Exactly 4096 is one message; 4097 two.
  EXPECT_EQ(rendered({std::string(4096, 'x'), {}}).size(), 1u);
  EXPECT_EQ(rendered({std::string(4097, 'x'), {}}).size(), 2u);

  // Line breaks are preferred as cut points.
  std::string lines;
  for (int i = 0; i < 120; ++i) lines += "Line " + std::to_string(i) + ": " + std::string(60, 'z') + "\n";
  const auto by_lines = rendered({lines, {}});
  ASSERT_GE(by_lines.size(), 2u);
  for (const auto& m : by_lines) {
    const std::string part = m["text"]["body"].get<std::string>();
    EXPECT_LE(chars(part), 4096u);
    EXPECT_TRUE(part.starts_with("Line ")) << part.substr(0, 20);
  }
}

TEST(WhatsAppRender, UpToThreeOptionsAreReplyButtons) {
  for (std::size_t n = 1; n <= 3; ++n) {
    const auto out = rendered({"What would you like to do?", options(n)});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0]["interactive"]["type"], "button");
    EXPECT_EQ(out[0]["interactive"]["body"]["text"], "What would you like to do?");
    const auto ids = check_interactive(out[0]);
    ASSERT_EQ(ids.size(), n);
    for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(ids[i], "opt:" + std::to_string(i));
    EXPECT_EQ(out[0]["interactive"]["action"]["buttons"][0]["reply"]["title"], "Option 0");
  }
}

TEST(WhatsAppRender, ButtonTitlesAreCutAndMadeUnique) {
  const std::vector<chat::Option> opts = {
      {"add:JAM-FRAISE:1", "Confiture de fraises maison", ""},
      {"add:JAM-FRAISE-BIO:1", "Confiture de fraises bio", ""},
      {"add:JAM-FRAISE-XL:1", "Confiture de fraises, grand pot", ""},
  };
  const auto out = rendered({"Lequel ?", opts});
  ASSERT_EQ(out.size(), 1u);
  const auto ids = check_interactive(out[0]);
  EXPECT_EQ(ids, (std::vector<std::string>{"add:JAM-FRAISE:1", "add:JAM-FRAISE-BIO:1", "add:JAM-FRAISE-XL:1"}));
  const std::string first = out[0]["interactive"]["action"]["buttons"][0]["reply"]["title"];
  EXPECT_TRUE(first.ends_with("…")) << first;
  EXPECT_EQ(chars(first), 20u);

  // Same titles, a title equal to a number suffix the renderer might add, an empty title.
  const std::vector<std::vector<chat::Option>> tricky = {
      {{"a", "Add", ""}, {"b", "Add", ""}, {"c", "Add", ""}},
      {{"a", "Menu 3", ""}, {"b", "Menu", ""}, {"c", "Menu", ""}},
      {{"a", "Menu", ""}, {"b", "Menu", ""}, {"c", "Menu 2", ""}},
      {{"a", std::string(30, 'w'), ""}, {"b", std::string(30, 'w'), ""}, {"c", std::string(19, 'w') + "…", ""}},
      {{"cart", "", ""}, {"menu", "", ""}},
  };
  for (const auto& t : tricky) {
    const auto o = rendered({"?", t});
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(check_interactive(o[0]).size(), t.size());
  }
  const auto untitled = rendered({"?", tricky.back()});
  EXPECT_EQ(untitled[0]["interactive"]["action"]["buttons"][0]["reply"]["title"], "cart");
}

TEST(WhatsAppRender, FourToTenOptionsAreOneList) {
  RenderOptions ro;
  ro.list_button = "Choisir";
  for (std::size_t n : {4u, 7u, 10u}) {
    auto opts = options(n, "Catégorie numéro ");
    opts[0].description = "Pains, viennoiseries et gâteaux de la boulangerie du quartier, cuits chaque matin";
    const auto out = rendered({"Nos rayons :", opts}, "33612345678", ro);
    ASSERT_EQ(out.size(), 1u) << n;
    EXPECT_EQ(out[0]["interactive"]["type"], "list");
    EXPECT_EQ(out[0]["interactive"]["action"]["button"], "Choisir");
    EXPECT_EQ(out[0]["interactive"]["body"]["text"], "Nos rayons :");
    const auto ids = check_interactive(out[0]);
    ASSERT_EQ(ids.size(), n);
    const json& row0 = out[0]["interactive"]["action"]["sections"][0]["rows"][0];
    EXPECT_EQ(chars(row0["description"].get<std::string>()), 72u);
    EXPECT_TRUE(row0["description"].get<std::string>().ends_with("…"));
    EXPECT_FALSE(out[0]["interactive"]["action"]["sections"][0]["rows"][1].contains("description"));
  }
  // A long list label is cut; none given falls back to a default.
  ro.list_button = "Choose one of these options please";
  auto out = rendered({"x", options(5)}, "33612345678", ro);
  EXPECT_EQ(chars(out[0]["interactive"]["action"]["button"].get<std::string>()), 20u);
  out = rendered({"x", options(5)});
  EXPECT_FALSE(out[0]["interactive"]["action"]["button"].get<std::string>().empty());
  // Long titles that only differ at their end stay unique once cut to 24.
  std::vector<chat::Option> similar;
  for (int i = 0; i < 10; ++i) {
    similar.push_back({"prod:CHS-" + std::to_string(i), "Fromage de chèvre affiné lot " + std::to_string(i), ""});
  }
  out = rendered({"Fromages", similar});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(check_interactive(out[0]).size(), 10u);
}

TEST(WhatsAppRender, MoreThanTenOptionsArePaged) {
  const auto opts = options(23);
  const auto out = rendered({"All our products:", opts});
  ASSERT_EQ(out.size(), 3u);
  std::vector<std::string> all;
  for (std::size_t p = 0; p < out.size(); ++p) {
    EXPECT_EQ(out[p]["interactive"]["type"], "list");
    const auto ids = check_interactive(out[p]);
    EXPECT_EQ(ids.size(), p < 2 ? 10u : 3u);
    all.insert(all.end(), ids.begin(), ids.end());
  }
  EXPECT_EQ(out[0]["interactive"]["body"]["text"], "All our products:");
  EXPECT_EQ(out[1]["interactive"]["body"]["text"], "(2/3)");
  EXPECT_EQ(out[2]["interactive"]["body"]["text"], "(3/3)");
  ASSERT_EQ(all.size(), 23u);
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], "opt:" + std::to_string(i));
  EXPECT_EQ(rendered({"x", options(11)}).size(), 2u);
  EXPECT_EQ(rendered({"x", options(20)}).size(), 2u);
}

TEST(WhatsAppRender, InteractiveBodiesStayWithin1024Characters) {
  std::string long_text;
  for (int i = 0; i < 3000; ++i) long_text += (i % 2) ? "ü" : "b";
  for (std::size_t n : {2u, 6u, 14u}) {
    const auto out = rendered({long_text, options(n)});
    ASSERT_GE(out.size(), 2u);
    std::string joined;
    std::size_t interactive = 0;
    for (const auto& m : out) {
      if (m["type"] == "text") {
        EXPECT_EQ(interactive, 0u) << "text after the menu";
        const std::string part = m["text"]["body"].get<std::string>();
        EXPECT_LE(chars(part), 1024u);
        joined += part;
      } else {
        if (interactive++ == 0) joined += m["interactive"]["body"]["text"].get<std::string>();
        check_interactive(m);
      }
    }
    EXPECT_EQ(joined, long_text) << n;
  }
  // Exactly 1024 characters fit in the interactive body itself.
  std::string exact;
  for (int i = 0; i < 1024; ++i) exact += "ß";
  auto out = rendered({exact, options(2)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["interactive"]["body"]["text"], exact);
  // No text at all still gives a body (the Cloud API requires one).
  out = rendered({"", options(2)});
  ASSERT_EQ(out.size(), 1u);
  check_interactive(out[0]);
}

TEST(WhatsAppRender, OverlongIdsAreCut) {
  const std::vector<chat::Option> buttons = {{std::string(300, 'b'), "B", ""}};
  auto out = rendered({"x", buttons});
  EXPECT_EQ(out[0]["interactive"]["action"]["buttons"][0]["reply"]["id"].get<std::string>().size(), 256u);
  auto rows = options(4);
  rows[0].id = std::string(300, 'r');
  out = rendered({"x", rows});
  EXPECT_EQ(out[0]["interactive"]["action"]["sections"][0]["rows"][0]["id"].get<std::string>().size(), 200u);
}

TEST(WhatsAppRender, Template) {
  const json t = json::parse(render_template("33612345678", "order_update", "fr"));
  EXPECT_EQ(t["messaging_product"], "whatsapp");
  EXPECT_EQ(t["to"], "33612345678");
  EXPECT_EQ(t["type"], "template");
  EXPECT_EQ(t["template"]["name"], "order_update");
  EXPECT_EQ(t["template"]["language"]["code"], "fr");
}

TEST(WhatsAppRender, TheTrackerNamesTheOutboxEntryAndReadsBack) {
  for (const std::string& body : {render(chat::Reply{"hello", {}}, "33612345678")[0],
                                  render_template("33612345678", "order_update", "fr")}) {
    const json j = json::parse(with_tracker(body, 1234567));
    EXPECT_EQ(j["biz_opaque_callback_data"], "comptoir.outbox.1234567");
    EXPECT_EQ(j["to"], "33612345678");
    EXPECT_EQ(outbox_id_of(j["biz_opaque_callback_data"].get<std::string>()), 1234567);
  }
  EXPECT_EQ(with_tracker("not json", 1), "not json");
  EXPECT_EQ(with_tracker("", 1), "");
  for (const char* bad : {"", "comptoir.outbox.", "comptoir.outbox.0", "comptoir.outbox.012", "comptoir.outbox.-5",
                          "comptoir.outbox.12a", "comptoir.outbox.1234567890123456789", "comptoir.inbox.12", "12"}) {
    EXPECT_FALSE(outbox_id_of(bad).has_value()) << bad;
  }
  EXPECT_EQ(outbox_id_of("comptoir.outbox.123456789012345678"), 123456789012345678);
}

TEST(WhatsAppClassify, Success) {
  auto o = classify_response(200, R"({"messaging_product":"whatsapp","contacts":[{"input":"+33612345678","wa_id":"33612345678"}],
                                      "messages":[{"id":"wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA","message_status":"accepted"}]})");
  EXPECT_EQ(o.kind, SendOutcome::Kind::sent);
  EXPECT_EQ(o.external_id, "wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA");
  // Accepted without a usable id: sent, but no status can be matched later.
  for (const char* body : {"", "{}", "not json", R"({"messages":[]})", R"({"messages":[{"id":7}]})", R"({"messages":"x"})"}) {
    o = classify_response(200, body);
    EXPECT_EQ(o.kind, SendOutcome::Kind::sent) << body;
    EXPECT_EQ(o.external_id, "") << body;
  }
  EXPECT_EQ(classify_response(201, R"({"messages":[{"id":"wamid.X"}]})").external_id, "wamid.X");
}

std::string graph_error(int code, const std::string& message) {
  return json{{"error", {{"message", message}, {"type", "OAuthException"}, {"code", code},
                         {"error_data", {{"messaging_product", "whatsapp"}, {"details", "details here"}}},
                         {"fbtrace_id", "AbCdEf"}}}}
      .dump();
}

TEST(WhatsAppClassify, ErrorsThatAreRetried) {
  const struct {
    int http;
    std::string body;
  } retry[] = {
      {400, graph_error(130429, "(#130429) Rate limit hit")},
      {429, graph_error(130429, "(#130429) Rate limit hit")},
      {400, graph_error(131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit")},
      {503, graph_error(131057, "(#131057) Account in maintenance mode")},
      {500, graph_error(131000, "(#131000) Something went wrong")},
      {500, ""},
      {502, "<html>Bad Gateway</html>"},
      {504, "{}"},
      {429, ""},
      {400, graph_error(4, "(#4) Application request limit reached")},
      {400, graph_error(80007, "(#80007) Rate limit issues")},
  };
  for (const auto& r : retry) {
    const auto o = classify_response(r.http, r.body);
    EXPECT_EQ(o.kind, SendOutcome::Kind::retry) << r.http << " " << r.body;
    EXPECT_FALSE(o.error.empty());
    EXPECT_LE(o.error.size(), 100u);
  }
  const auto network = classify_response(0, "");
  EXPECT_EQ(network.kind, SendOutcome::Kind::retry);
  EXPECT_EQ(network.error, "network error");
  EXPECT_EQ(classify_response(-1, "").kind, SendOutcome::Kind::retry);
}

TEST(WhatsAppClassify, PermanentErrors) {
  // 131047: more than 24 hours since the customer wrote; retrying cannot help.
  auto o = classify_response(400, graph_error(131047, "(#131047) Re-engagement message"));
  EXPECT_EQ(o.kind, SendOutcome::Kind::permanent);
  EXPECT_TRUE(o.error.starts_with("131047")) << o.error;
  // Even when a proxy turns it into a 5xx.
  EXPECT_EQ(classify_response(500, graph_error(131047, "(#131047) Re-engagement message")).kind, SendOutcome::Kind::permanent);
  const struct {
    int http;
    std::string body;
  } permanent[] = {
      {400, graph_error(100, "(#100) Invalid parameter")},
      {401, graph_error(190, "Error validating access token: Session has expired")},
      {403, graph_error(10, "(#10) Application does not have permission for this action")},
      {400, graph_error(131026, "(#131026) Message Undeliverable")},
      {400, graph_error(131051, "(#131051) Unsupported message type")},
      {404, ""},
      {400, "garbage"},
      {400, R"({"error":{"code":"130429"}})"},  // a code that is not a number is not trusted
      {413, "{}"},
  };
  for (const auto& p : permanent) {
    o = classify_response(p.http, p.body);
    EXPECT_EQ(o.kind, SendOutcome::Kind::permanent) << p.http << " " << p.body;
    EXPECT_FALSE(o.error.empty());
  }
  // The error keeps the code and a bounded title; a long message is cut.
  o = classify_response(400, graph_error(100, "(#100) " + std::string(500, 'm')));
  EXPECT_TRUE(o.error.starts_with("100 (#100) mmm")) << o.error;
  EXPECT_LE(o.error.size(), 100u);
}

}  // namespace
}  // namespace comptoir::channels::whatsapp

// Helpers for the WhatsApp / Telegram end-to-end tests: stand-ins for the WhatsApp Graph API
// and the Telegram Bot API (cpp-httplib servers on 127.0.0.1, ephemeral port, in a thread of the
// test) that record every request and can be told to fail the next N calls; webhook payload
// builders (bodies escaped the way Meta sends them, signed with the app secret); and a
// ChannelShop that runs `comptoir serve` with its channels pointed at the stand-ins.
// The stand-ins are thread-safe; the rest is single-threaded test code. Header-only.
#pragma once

#include <sys/stat.h>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "src/channels/whatsapp.h"
#include "src/common/secret.h"
#include "tests/e2e/harness.h"

namespace comptoir::testing::e2e {

using nlohmann::json;

// Secrets of the channels (inline in a chmod-600 config). Long enough for the config's minimums.
inline const std::string kAppSecret = "e2e-app-secret-7f3a9c1d5b";
inline const std::string kVerifyToken = "e2e-verify-token-2b8e4f6a";
inline const std::string kAccessToken = "e2e-access-token-EAAG9d3f0c1b2a";
inline const std::string kPhoneNumberId = "106540352242922";
inline const std::string kBotToken = "7012345678:AAE-e2e-bot-token_x9Y8w7V6u5";
inline const std::string kTelegramSecret = "e2e_tg-secret-Q4r5S6t7U8";

// One request a stand-in received.
struct Recorded {
  std::string path;
  std::string authorization;
  std::string body;
  json json_body;
  int answered = 0;  // the HTTP status the stand-in answered
};

// A fake platform API. Subclasses decide the success answer; failures are queued by the test.
class StandIn {
 public:
  StandIn() {
    server_.Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    server_.Get(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    EXPECT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  virtual ~StandIn() {
    await([this] { return server_.is_running(); }, std::chrono::seconds(5));
    server_.stop();
    thread_.join();
  }
  StandIn(const StandIn&) = delete;
  StandIn& operator=(const StandIn&) = delete;

  int port() const { return port_; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The next `n` calls are answered with `status` and `body` instead of success.
  void fail_next(int n, int status, const std::string& body) {
    std::lock_guard lock(mutex_);
    for (int i = 0; i < n; ++i) failures_.push_back({status, body});
  }

  std::vector<Recorded> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return requests_.size();
  }

 protected:
  // The success answer for a request (status, body).
  virtual std::pair<int, std::string> answer(const httplib::Request& req, int serial) = 0;

 private:
  void handle(const httplib::Request& req, httplib::Response& res) {
    Recorded r;
    r.path = req.path;
    r.authorization = req.get_header_value("Authorization");
    r.body = req.body;
    r.json_body = json::parse(req.body, nullptr, false);
    std::pair<int, std::string> out;
    {
      std::lock_guard lock(mutex_);
      if (!failures_.empty()) {
        out = failures_.front();
        failures_.pop_front();
      } else {
        out = answer(req, ++serial_);
      }
      r.answered = out.first;
      requests_.push_back(std::move(r));  // recorded before the answer leaves
    }
    res.status = out.first;
    res.set_content(out.second, "application/json");
  }

  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::deque<std::pair<int, std::string>> failures_;
  std::vector<Recorded> requests_;
  int serial_ = 0;
};

// POST /v21.0/{phone_number_id}/messages with the bearer token → {"messages":[{"id": wamid}]}.
class GraphStandIn final : public StandIn {
 public:
  std::string base_url() const { return base() + "/v21.0"; }

  static std::string error_body(int code, const std::string& title) {
    return json{{"error", {{"message", "(#" + std::to_string(code) + ") " + title}, {"type", "OAuthException"}, {"code", code},
                           {"error_data", {{"messaging_product", "whatsapp"}, {"details", title}}}, {"fbtrace_id", "AbC123"}}}}
        .dump();
  }
  void fail_next_with_code(int n, int code, const std::string& title, int http = 400) { fail_next(n, http, error_body(code, title)); }

  // Successful sends to `to`, in order (their JSON bodies).
  std::vector<json> sent_to(const std::string& to) const {
    std::vector<json> out;
    for (const auto& r : requests()) {
      if (r.answered == 200 && r.json_body.is_object() && r.json_body.value("to", "") == to) out.push_back(r.json_body);
    }
    return out;
  }
  std::size_t attempts_to(const std::string& to) const {
    std::size_t n = 0;
    for (const auto& r : requests()) n += r.json_body.is_object() && r.json_body.value("to", "") == to;
    return n;
  }

 protected:
  std::pair<int, std::string> answer(const httplib::Request& req, int serial) override {
    if (req.path != "/v21.0/" + kPhoneNumberId + "/messages") return {404, error_body(100, "Unknown path")};
    if (req.get_header_value("Authorization") != "Bearer " + kAccessToken) return {401, error_body(190, "Invalid OAuth access token")};
    const json j = json::parse(req.body, nullptr, false);
    if (!j.is_object() || j.value("messaging_product", "") != "whatsapp" || !j.contains("to") || !j.contains("type")) {
      return {400, error_body(100, "Invalid parameter")};
    }
    const std::string to = j.value("to", "");
    return {200, json{{"messaging_product", "whatsapp"},
                      {"contacts", json::array({{{"input", to}, {"wa_id", to}}})},
                      {"messages", json::array({{{"id", "wamid.STANDIN" + std::to_string(serial)}}})}}
                     .dump()};
  }
};

// POST /bot{token}/{method} → {"ok":true,"result":…}.
class BotStandIn final : public StandIn {
 public:
  static std::string error_body(int code, const std::string& description, int retry_after = 0) {
    json j = {{"ok", false}, {"error_code", code}, {"description", description}};
    if (retry_after > 0) j["parameters"] = {{"retry_after", retry_after}};
    return j.dump();
  }
  // Successful calls of `method` (their JSON bodies), optionally only to `chat_id`.
  std::vector<json> calls(const std::string& method, const std::string& chat_id = "") const {
    std::vector<json> out;
    for (const auto& r : requests()) {
      if (r.answered != 200 || r.path != "/bot" + kBotToken + "/" + method) continue;
      if (!chat_id.empty() && !(r.json_body.is_object() && r.json_body.contains("chat_id") &&
                                (r.json_body["chat_id"] == chat_id || r.json_body["chat_id"].dump() == chat_id))) {
        continue;
      }
      out.push_back(r.json_body);
    }
    return out;
  }

 protected:
  std::pair<int, std::string> answer(const httplib::Request& req, int serial) override {
    const std::string prefix = "/bot" + kBotToken + "/";
    if (!req.path.starts_with(prefix)) return {401, error_body(401, "Unauthorized")};
    const std::string method = req.path.substr(prefix.size());
    const json j = json::parse(req.body, nullptr, false);
    if (!j.is_object()) return {400, error_body(400, "Bad Request: no parameters")};
    if (method == "sendMessage") {
      if (!j.contains("chat_id") || !j.contains("text") || j["text"].get<std::string>().empty()) {
        return {400, error_body(400, "Bad Request: message text is empty")};
      }
      return {200, json{{"ok", true}, {"result", {{"message_id", serial}, {"date", 1700000000}, {"text", j["text"]}}}}.dump()};
    }
    if (method == "answerCallbackQuery") {
      if (!j.contains("callback_query_id")) return {400, error_body(400, "Bad Request: query id missing")};
      return {200, R"({"ok":true,"result":true})"};
    }
    if (method == "setWebhook") return {200, R"({"ok":true,"result":true,"description":"Webhook was set"})"};
    return {404, error_body(404, "Not Found: method not found")};
  }
};

// Meta's wire form: non-ASCII as \uXXXX (lower-case hex), and '@', '<', '%', '/' escaped too.
// These characters only occur inside JSON strings, so replacing them after dump() is safe.
inline std::string meta_escaped(const json& j) {
  const std::string ascii = j.dump(-1, ' ', /*ensure_ascii=*/true);
  std::string out;
  for (char c : ascii) {
    if (c == '@') out += "\\u0040";
    else if (c == '<') out += "\\u003c";
    else if (c == '%') out += "\\u0025";
    else if (c == '/') out += "\\/";
    else out += c;
  }
  return out;
}

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Builders of WhatsApp notification parts.
namespace wa {

inline json envelope(const json& messages, const json& statuses = nullptr, const std::string& wa_id = "",
                     const std::string& profile_name = "", const std::string& phone_id = kPhoneNumberId) {
  json value = {{"messaging_product", "whatsapp"},
                {"metadata", {{"display_phone_number", "15550783881"}, {"phone_number_id", phone_id}}}};
  if (!messages.is_null()) {
    if (!wa_id.empty()) value["contacts"] = json::array({{{"profile", {{"name", profile_name}}}, {"wa_id", wa_id}}});
    value["messages"] = messages;
  }
  if (!statuses.is_null()) value["statuses"] = statuses;
  return {{"object", "whatsapp_business_account"},
          {"entry", json::array({{{"id", "102290129340398"}, {"changes", json::array({{{"value", value}, {"field", "messages"}}})}}})}};
}

inline json message(const std::string& from, const std::string& id, const std::string& type, const json& payload,
                    std::int64_t timestamp = 0) {
  json m = {{"from", from}, {"id", id}, {"timestamp", std::to_string(timestamp ? timestamp : unix_now())}, {"type", type}};
  if (!payload.is_null()) m[type] = payload;
  return m;
}
inline json text(const std::string& from, const std::string& id, const std::string& body, std::int64_t timestamp = 0) {
  return message(from, id, "text", {{"body", body}}, timestamp);
}
inline json button_reply(const std::string& from, const std::string& id, const std::string& option, const std::string& title = "x") {
  return message(from, id, "interactive", {{"type", "button_reply"}, {"button_reply", {{"id", option}, {"title", title}}}});
}
inline json list_reply(const std::string& from, const std::string& id, const std::string& option, const std::string& title = "x") {
  return message(from, id, "interactive", {{"type", "list_reply"}, {"list_reply", {{"id", option}, {"title", title}}}});
}
inline json status(const std::string& wamid, const std::string& s, const std::string& recipient) {
  return {{"id", wamid}, {"status", s}, {"timestamp", std::to_string(unix_now())}, {"recipient_id", recipient}};
}

}  // namespace wa

// The option ids a rendered WhatsApp message offers (reply buttons or list rows).
inline std::vector<std::string> offered_ids(const json& m) {
  std::vector<std::string> ids;
  if (!m.is_object() || m.value("type", "") != "interactive") return ids;
  const json& i = m["interactive"];
  if (i.value("type", "") == "button") {
    for (const auto& b : i["action"]["buttons"]) ids.push_back(b["reply"]["id"].get<std::string>());
  } else if (i.value("type", "") == "list") {
    for (const auto& s : i["action"]["sections"]) {
      for (const auto& r : s["rows"]) ids.push_back(r["id"].get<std::string>());
    }
  }
  return ids;
}
// All the text a customer read in WhatsApp messages.
inline std::string wa_text_of(const std::vector<json>& msgs) {
  std::string all;
  for (const auto& m : msgs) {
    if (m.value("type", "") == "text") all += m["text"]["body"].get<std::string>() + "\n";
    else if (m.value("type", "") == "interactive") all += m["interactive"]["body"]["text"].get<std::string>() + "\n";
    else if (m.value("type", "") == "template") all += "[template " + m["template"]["name"].get<std::string>() + "]\n";
  }
  return all;
}

struct ChannelOptions {
  bool whatsapp = true;
  bool telegram = false;
  std::string template_name;  // WhatsApp template for outside the 24-hour window
  int max_message_age_hours = 0;  // 0: the default (24)
  int senders = 4;
  int max_attempts = 8;
};

// A shop with its channels pointed at the stand-ins; debug logging so that the output check at
// the end sees everything the server could log.
class ChannelShop {
 public:
  GraphStandIn graph;
  BotStandIn bot;
  std::unique_ptr<ServerInstance> s;
  std::string op;  // operator token for the admin API

  bool start(const ChannelOptions& o = {}) {
    std::string channels;
    if (o.whatsapp) {
      channels += R"("whatsapp": {"app_secret": ")" + kAppSecret + R"(", "verify_token": ")" + kVerifyToken +
                  R"(", "access_token": ")" + kAccessToken + R"(", "phone_number_id": ")" + kPhoneNumberId +
                  R"(", "graph_base_url": ")" + graph.base_url() + "\"";
      if (!o.template_name.empty()) channels += R"(, "template": {"name": ")" + o.template_name + R"(", "language": "fr"})";
      if (o.max_message_age_hours > 0) channels += R"(, "max_message_age_hours": )" + std::to_string(o.max_message_age_hours);
      channels += "}";
    }
    if (o.telegram) {
      if (!channels.empty()) channels += ", ";
      channels += R"("telegram": {"bot_token": ")" + kBotToken + R"(", "secret_token": ")" + kTelegramSecret +
                  R"(", "api_base_url": ")" + bot.base() + "\"}";
    }
    channels += R"(, "outbox": {"senders": )" + std::to_string(o.senders) + R"(, "max_attempts": )" +
                std::to_string(o.max_attempts) + "}";
    s = std::make_unique<ServerInstance>("", R"("log": {"level": "debug"}, "channels": {)" + channels + "}");
    // Inline secrets: the config must be readable by its owner only, or Comptoir refuses it.
    std::filesystem::permissions(s->config(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    for (const auto& secret : {kAppSecret, kVerifyToken, kAccessToken, kBotToken, kTelegramSecret}) s->remember(secret);
    if (!s->init()) return false;
    op = s->create_token("operator", "e2e-channels");
    return !op.empty() && s->start();
  }

  // Remembers personal data the test sends, to be searched for in the server's output.
  void personal(const std::string& value) { pii_.insert(value); }

  httplib::Result post_whatsapp(const std::string& body, const std::optional<std::string>& signature = std::nullopt) {
    auto c = s->client();
    httplib::Headers h;
    h.emplace("X-Hub-Signature-256", signature ? *signature : channels::whatsapp::sign(body, SecretBytes::copy_of(kAppSecret)));
    return c.Post("/webhooks/whatsapp", h, body, "application/json");
  }
  // Posts a signed notification (Meta's escaping) and expects 200; returns the result JSON.
  json whatsapp(const json& notification) {
    auto r = post_whatsapp(meta_escaped(notification));
    EXPECT_TRUE(r && r->status == 200) << (r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error()));
    return r ? json::parse(r->body, nullptr, false) : json();
  }

  httplib::Result post_telegram(const std::string& body, const std::optional<std::string>& secret = kTelegramSecret) {
    auto c = s->client();
    httplib::Headers h;
    if (secret) h.emplace("X-Telegram-Bot-Api-Secret-Token", *secret);
    return c.Post("/webhooks/telegram", h, body, "application/json");
  }
  json telegram(const json& update) {
    auto r = post_telegram(update.dump());
    EXPECT_TRUE(r && r->status == 200) << (r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error()));
    return r ? json::parse(r->body, nullptr, false) : json();
  }

  json outbox(const std::string& query = "") {
    auto c = s->client();
    auto r = c.Get(("/api/v1/outbox" + query).c_str(), {{"Authorization", "Bearer " + op}});
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : httplib::to_string(r.error()));
    return r ? json::parse(r->body, nullptr, false) : json();
  }
  // Waits until the outbox has nothing pending: every reply queued so far was sent or failed.
  bool settled(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const bool ok = await([&] {
      const json o = outbox("?limit=1");
      return o.is_object() && o["counts"]["pending"] == 0;
    }, timeout);
    EXPECT_TRUE(ok) << "outbox still has pending messages: " << outbox("?status=pending").dump();
    return ok;
  }

  // Clean stop, then: no secret, phone number, profile name or message text in the output.
  void stop() {
    ASSERT_TRUE(s);
    EXPECT_EQ(s->stop(), 0);
    const std::string err = s->process().err();
    EXPECT_NE(err.find("\"event\":\"http.request\""), std::string::npos) << "the server logged no requests";
    check_output(err, "server stderr");
    check_output(s->process().out(), "server stdout");
  }
  void check_output(const std::string& text, const std::string& where) const {
    for (const auto& p : pii_) EXPECT_EQ(text.find(p), std::string::npos) << where << " contains \"" << p << "\"";
    s->check_no_secrets(text, where);
  }

 private:
  std::set<std::string> pii_;
};

// One WhatsApp user talking to the shop: sends notifications, reads what the stand-in received.
class WaCustomer {
 public:
  WaCustomer(ChannelShop& shop, std::string phone, std::string name) : shop_(shop), phone_(std::move(phone)), name_(std::move(name)) {
    shop_.personal(phone_);
    shop_.personal(name_);
  }
  const std::string& phone() const { return phone_; }
  std::string next_id() { return "wamid.HBgL" + phone_ + "FQIAERgS" + std::to_string(++seq_); }

  // Sends one message, waits for the outbox to settle, returns the new messages it received.
  std::vector<json> send(const json& message) {
    const json r = shop_.whatsapp(wa::envelope(json::array({message}), nullptr, phone_, name_));
    EXPECT_EQ(r.value("processed", -1), 1) << r.dump();
    shop_.settled();
    return fresh();
  }
  std::vector<json> say(const std::string& text) {
    shop_.personal(text);
    return send(wa::text(phone_, next_id(), text));
  }
  // Taps an option the last messages offered, as a reply button or a list row as it was shown.
  std::vector<json> choose(const std::string& option) {
    bool in_list = false, offered = false;
    for (const auto& m : last_) {
      for (const auto& id : offered_ids(m)) {
        if (id == option) {
          offered = true;
          in_list = m["interactive"]["type"] == "list";
        }
      }
    }
    EXPECT_TRUE(offered) << option << " was not offered; the customer read:\n" << wa_text_of(last_) << dump(last_);
    return send(in_list ? wa::list_reply(phone_, next_id(), option) : wa::button_reply(phone_, next_id(), option));
  }
  // The first offered id starting with `prefix`.
  std::string offered(const std::string& prefix) const {
    for (const auto& m : last_) {
      for (const auto& id : offered_ids(m)) {
        if (id.starts_with(prefix)) return id;
      }
    }
    ADD_FAILURE() << "nothing starting with " << prefix << " offered in " << dump(last_);
    return prefix;
  }
  // Messages received since the last call.
  std::vector<json> fresh() {
    const auto all = shop_.graph.sent_to(phone_);
    std::vector<json> out(all.begin() + static_cast<std::ptrdiff_t>(std::min(seen_, all.size())), all.end());
    seen_ = all.size();
    if (!out.empty()) last_ = out;  // a choice follows what was last shown
    return out;
  }
  static std::string dump(const std::vector<json>& msgs) {
    std::string s;
    for (const auto& m : msgs) s += m.dump() + "\n";
    return s;
  }

 private:
  ChannelShop& shop_;
  std::string phone_, name_;
  int seq_ = 0;
  std::size_t seen_ = 0;
  std::vector<json> last_;
};

inline bool offers(const std::vector<json>& msgs, const std::string& id) {
  for (const auto& m : msgs) {
    for (const auto& o : offered_ids(m)) {
      if (o == id) return true;
    }
  }
  return false;
}

// A Telegram user chatting with the shop's bot through the Bot API stand-in: sends updates
// (messages, callback queries) and reads what the bot sent to their chat.
class TgCustomer {
 public:
  TgCustomer(ChannelShop& shop, std::int64_t chat_id, std::string first_name)
      : shop_(shop), chat_id_(chat_id), first_name_(std::move(first_name)) {
    shop_.personal(first_name_);
    shop_.personal(std::to_string(chat_id_));
  }
  std::string chat() const { return std::to_string(chat_id_); }

  json user() const { return {{"id", chat_id_}, {"is_bot", false}, {"first_name", first_name_}, {"language_code", "en"}}; }
  json update_message(std::int64_t update_id, const std::string& text) const {
    return {{"update_id", update_id},
            {"message", {{"message_id", update_id - 100000}, {"date", unix_now()}, {"from", user()},
                         {"chat", {{"id", chat_id_}, {"type", "private"}, {"first_name", first_name_}}}, {"text", text}}}};
  }
  json update_callback(std::int64_t update_id, const std::string& data) const {
    return {{"update_id", update_id},
            {"callback_query", {{"id", "cbq" + std::to_string(update_id)}, {"from", user()}, {"chat_instance", "-8765432109876543210"},
                                {"message", {{"message_id", 1}, {"date", unix_now()}, {"chat", {{"id", chat_id_}, {"type", "private"}}}, {"text", "menu"}}},
                                {"data", data}}}};
  }

  std::vector<json> send(const json& update) {
    const json r = shop_.telegram(update);
    EXPECT_EQ(r.value("processed", -1), 1) << r.dump();
    shop_.settled();
    return fresh();
  }
  std::vector<json> say(const std::string& text) {
    shop_.personal(text);
    return send(update_message(next_update_++, text));
  }
  std::vector<json> tap(const std::string& data) {
    EXPECT_TRUE(offered(data)) << data << " was not offered:\n" << dump(last_);
    return send(update_callback(next_update_++, data));
  }
  bool offered(const std::string& data) const {
    for (const auto& m : last_) {
      if (!m.contains("reply_markup")) continue;
      for (const auto& row : m["reply_markup"]["inline_keyboard"]) {
        for (const auto& b : row) {
          if (b.value("callback_data", "") == data) return true;
        }
      }
    }
    return false;
  }
  std::string offered_prefix(const std::string& prefix) const {
    for (const auto& m : last_) {
      if (!m.contains("reply_markup")) continue;
      for (const auto& row : m["reply_markup"]["inline_keyboard"]) {
        for (const auto& b : row) {
          if (b.value("callback_data", "").starts_with(prefix)) return b["callback_data"];
        }
      }
    }
    ADD_FAILURE() << "nothing starting with " << prefix << " offered:\n" << dump(last_);
    return prefix;
  }
  std::vector<json> fresh() {
    const auto all = shop_.bot.calls("sendMessage", chat());
    std::vector<json> out(all.begin() + static_cast<std::ptrdiff_t>(std::min(seen_, all.size())), all.end());
    seen_ = all.size();
    last_ = out;
    return out;
  }
  static std::string text_of(const std::vector<json>& msgs) {
    std::string s;
    for (const auto& m : msgs) s += m.value("text", "") + "\n";
    return s;
  }
  static std::string dump(const std::vector<json>& msgs) {
    std::string s;
    for (const auto& m : msgs) s += m.dump() + "\n";
    return s;
  }
  std::int64_t next_update() const { return next_update_; }
  void skip_update_ids(std::int64_t n) { next_update_ += n; }

 private:
  ChannelShop& shop_;
  std::int64_t chat_id_;
  std::string first_name_;
  std::int64_t next_update_ = 800000000 + 1000 * (chat_id_ % 1000);
  std::size_t seen_ = 0;
  std::vector<json> last_;
};

inline ChannelOptions telegram_only() {
  ChannelOptions o;
  o.whatsapp = false;
  o.telegram = true;
  return o;
}

}  // namespace comptoir::testing::e2e

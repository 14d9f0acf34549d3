#include "src/channels/telegram.h"

#include <sodium.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "src/common/json_writer.h"
#include "src/common/text.h"

namespace comptoir::channels::telegram {

using nlohmann::json;

namespace {


std::string id_string(const json& v) {
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  return {};
}

}  // namespace

bool secret_valid(std::string_view header, const SecretBytes& secret) {
  if (secret.empty() || header.size() != secret.size()) return false;
  return sodium_memcmp(header.data(), secret.data(), secret.size()) == 0;
}

namespace {

// "first last" from a Telegram User object (the username is an identifier, not a name: not read).
std::string names_of(const json& user) {
  if (!user.is_object()) return {};
  std::string out;
  for (const char* key : {"first_name", "last_name"}) {
    if (user.contains(key) && user[key].is_string() && !user[key].get_ref<const std::string&>().empty()) {
      out += (out.empty() ? "" : " ") + user[key].get<std::string>();
    }
  }
  return out;
}

}  // namespace

Result<Update> parse_update(std::string_view body, const ParseOptions& options) {
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("update_id") || !j["update_id"].is_number_integer()) {
    return fail(Errc::invalid_argument, "not a Telegram update", "body must be a Telegram Update with an integer update_id");
  }
  Update u;
  u.update_id = j["update_id"].get<std::int64_t>();
  if (j.contains("message") && j["message"].is_object()) {
    const json& m = j["message"];
    u.kind = "message";
    if (m.contains("chat") && m["chat"].is_object() && m["chat"].contains("id")) u.chat_id = id_string(m["chat"]["id"]);
    if (m.contains("date") && m["date"].is_number_integer()) u.date = m["date"].get<std::int64_t>();
    if (m.contains("text") && m["text"].is_string()) u.text = m["text"].get<std::string>();
    else u.unsupported = true;
    if (options.read_profile_name && m.contains("from")) u.profile_name = names_of(m["from"]);
  } else if (j.contains("callback_query") && j["callback_query"].is_object()) {
    const json& c = j["callback_query"];
    u.kind = "callback_query";
    if (c.contains("id") && c["id"].is_string()) u.callback_id = c["id"].get<std::string>();
    if (c.contains("data") && c["data"].is_string()) u.callback_data = c["data"].get<std::string>();
    if (c.contains("message") && c["message"].is_object() && c["message"].contains("chat") &&
        c["message"]["chat"].is_object() && c["message"]["chat"].contains("id")) {
      u.chat_id = id_string(c["message"]["chat"]["id"]);
    }
    if (u.chat_id.empty() && c.contains("from") && c["from"].is_object() && c["from"].contains("id")) {
      u.chat_id = id_string(c["from"]["id"]);  // private chats: the user id is the chat id
    }
    if (options.read_profile_name && c.contains("from")) u.profile_name = names_of(c["from"]);
  } else {
    u.kind = "other";
  }
  return u;
}

std::vector<std::string> render(const chat::Reply& reply, std::string_view chat_id) {
  std::vector<std::string> out;
  const auto parts = text::split_for_messages(reply.text.empty() ? std::string("…") : reply.text, 4096);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    JsonWriter w;
    w.begin_object().member("method", "sendMessage").key("payload").begin_object();
    w.member("chat_id", chat_id).member("text", parts[i]).member("disable_web_page_preview", true);
    if (i + 1 == parts.size()) {
      bool any = false;
      for (const auto& o : reply.options) {
        if (o.id.size() > 64) continue;  // callback_data is limited to 64 bytes
        if (!any) w.key("reply_markup").begin_object().key("inline_keyboard").begin_array();
        any = true;
        std::string label = o.title;
        if (!o.description.empty()) label += " · " + o.description;
        w.begin_array().begin_object().member("text", text::utf8_truncate(label, 60)).member("callback_data", o.id);
        w.end_object().end_array();
      }
      if (any) w.end_array().end_object();
    }
    w.end_object();  // payload
    out.push_back(w.end_object().take());
  }
  return out;
}

std::string render_callback_answer(std::string_view callback_id) {
  JsonWriter w;
  w.begin_object().member("method", "answerCallbackQuery").key("payload").begin_object();
  w.member("callback_query_id", callback_id).end_object();
  return w.end_object().take();
}

SendOutcome classify_response(int http_status, std::string_view body) {
  SendOutcome o;
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (http_status <= 0) {
    o.error = "network error";
    return o;
  }
  // Fields are read only with the expected type: an odd answer must not throw in a sender thread.
  if (j.is_object() && j.contains("ok") && j["ok"].is_boolean() && j["ok"].get<bool>()) {
    o.kind = SendOutcome::Kind::sent;
    if (j.contains("result") && j["result"].is_object() && j["result"].contains("message_id") &&
        j["result"]["message_id"].is_number_integer()) {
      o.external_id = std::to_string(j["result"]["message_id"].get<std::int64_t>());
    }
    return o;
  }
  std::int64_t code = http_status;
  if (j.is_object() && j.contains("error_code") && j["error_code"].is_number_integer()) code = j["error_code"].get<std::int64_t>();
  std::string description;
  if (j.is_object() && j.contains("description") && j["description"].is_string()) description = j["description"].get<std::string>();
  o.error = std::to_string(code) + " " + text::utf8_truncate(description, 80);
  if (code == 429 || http_status == 429) {
    o.kind = SendOutcome::Kind::retry;
    if (j.is_object() && j.contains("parameters") && j["parameters"].is_object() &&
        j["parameters"].contains("retry_after") && j["parameters"]["retry_after"].is_number_integer()) {
      o.retry_after_seconds = static_cast<int>(std::clamp<std::int64_t>(j["parameters"]["retry_after"].get<std::int64_t>(), 0, 86400));
    }
  } else if (http_status >= 500 || code >= 500) {
    o.kind = SendOutcome::Kind::retry;
  } else {
    o.kind = SendOutcome::Kind::permanent;
  }
  return o;
}

}  // namespace comptoir::channels::telegram

#include "src/channels/whatsapp.h"

#include <sodium.h>

#include <charconv>
#include <set>

#include <nlohmann/json.hpp>

#include "src/common/encoding.h"
#include "src/common/json_writer.h"
#include "src/common/text.h"

namespace comptoir::channels::whatsapp {

using nlohmann::json;

namespace {

constexpr std::string_view kPrefix = "sha256=";

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t unix_from_string(const std::string& s) {
  std::int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return (r.ec == std::errc() && r.ptr == s.data() + s.size()) ? v : 0;
}

// A title cut to `max` characters, with an ellipsis when cut.
std::string fit(std::string_view s, std::size_t max) {
  if (text::utf8_length(s) <= max) return std::string(s);
  return text::utf8_truncate(s, max - 1) + "…";
}


// Opens a message to `to` and names its type; the caller writes the member named after the type
// and closes the object.
JsonWriter message(std::string_view to, std::string_view type) {
  JsonWriter w;
  w.begin_object().member("messaging_product", "whatsapp").member("recipient_type", "individual").member("to", to);
  w.member("type", type);
  return w;
}

std::string text_message(std::string_view to, std::string_view body) {
  JsonWriter w = message(to, "text");
  w.key("text").begin_object().member("body", body).member("preview_url", false).end_object();
  return w.end_object().take();
}

// Titles must be unique within one message.
std::vector<std::string> unique_titles(const std::vector<chat::Option>& options, std::size_t max) {
  std::vector<std::string> titles;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < options.size(); ++i) {
    const std::string title = fit(options[i].title.empty() ? options[i].id : options[i].title, max);
    std::string t = title;
    // A suffixed title can itself collide with another option's title ("Menu 3"): try the next number.
    for (std::size_t n = i + 1; seen.count(t); ++n) {
      const std::string suffix = " " + std::to_string(n);
      t = fit(text::utf8_truncate(title, max - suffix.size()), max - suffix.size()) + suffix;
    }
    seen.insert(t);
    titles.push_back(t);
  }
  return titles;
}

}  // namespace

std::string sign(std::string_view body, const SecretBytes& app_secret) {
  ensure_sodium();
  crypto_auth_hmacsha256_state st;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&st, app_secret.data(), app_secret.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(body.data()), body.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return std::string(kPrefix) + hex_encode(std::span<const std::uint8_t>(mac, sizeof mac));
}

bool signature_valid(std::string_view body, std::string_view header, const SecretBytes& app_secret) {
  if (app_secret.empty() || !header.starts_with(kPrefix) || header.size() != kPrefix.size() + 64) return false;
  auto given = hex_decode(header.substr(kPrefix.size()));
  if (!given || given->size() != crypto_auth_hmacsha256_BYTES) return false;
  crypto_auth_hmacsha256_state st;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&st, app_secret.data(), app_secret.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(body.data()), body.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return sodium_memcmp(mac, given->data(), sizeof mac) == 0;
}

Result<Webhook> parse_webhook(std::string_view body, const ParseOptions& options) {
  json root = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) return fail(Errc::invalid_argument, "not a JSON object", "body is not a JSON object");
  if (str(root, "object") != "whatsapp_business_account") {
    return fail(Errc::invalid_argument, "not a WhatsApp Business Account notification",
                "object must be whatsapp_business_account");
  }
  Webhook out;
  auto entries = root.find("entry");
  if (entries == root.end() || !entries->is_array()) return out;  // nothing to do
  for (const auto& entry : *entries) {
    if (!entry.is_object() || !entry.contains("changes") || !entry["changes"].is_array()) {
      ++out.skipped;
      continue;
    }
    for (const auto& change : entry["changes"]) {
      if (!change.is_object() || !change.contains("value") || !change["value"].is_object()) {
        ++out.skipped;
        continue;
      }
      if (change.contains("field") && str(change, "field") != "messages") continue;  // other subscriptions
      const json& value = change["value"];
      std::string phone_number_id;
      if (value.contains("metadata") && value["metadata"].is_object()) phone_number_id = str(value["metadata"], "phone_number_id");
      // Contacts map wa_id ↔ business-scoped user id. The profile name is read only when the
      // data inventory declares it collected.
      struct Contact {
        std::string user_id, wa_id, name;
      };
      std::vector<Contact> contacts;
      if (value.contains("contacts") && value["contacts"].is_array()) {
        for (const auto& c : value["contacts"]) {
          if (!c.is_object()) continue;
          Contact k{str(c, "user_id"), str(c, "wa_id"), {}};
          if (options.read_profile_name && c.contains("profile") && c["profile"].is_object()) k.name = str(c["profile"], "name");
          contacts.push_back(std::move(k));
        }
      }
      if (value.contains("messages") && value["messages"].is_array()) {
        for (const auto& m : value["messages"]) {
          if (!m.is_object()) {
            ++out.skipped;
            continue;
          }
          Message msg;
          msg.id = str(m, "id");
          msg.from = str(m, "from");
          if (msg.from.empty()) {
            const std::string user = str(m, "from_user_id");
            msg.from = user;
            for (const auto& k : contacts) {
              if (!user.empty() && k.user_id == user && !k.wa_id.empty()) msg.from = k.wa_id;  // never match "no id" to "no id"
            }
          }
          {
            // The business-scoped user id alongside a wa_id: another key of the same customer.
            std::string user = str(m, "from_user_id");
            for (const auto& k : contacts) {
              if (user.empty() && !k.wa_id.empty() && k.wa_id == msg.from) user = k.user_id;
            }
            if (user != msg.from && user.size() <= 64) msg.user_id = user;
          }
          if (options.read_profile_name) {
            const std::string user = str(m, "from_user_id");
            for (const auto& k : contacts) {
              if ((!k.wa_id.empty() && k.wa_id == msg.from) || (!user.empty() && k.user_id == user)) msg.profile_name = k.name;
            }
          }
          msg.timestamp = unix_from_string(str(m, "timestamp"));
          msg.phone_number_id = phone_number_id;
          msg.type = str(m, "type");
          if (msg.id.empty() || msg.id.size() > 256 || msg.from.empty() || msg.from.size() > 64 || msg.type.empty()) {
            ++out.skipped;
            continue;
          }
          if (msg.type == "text") {
            if (!m.contains("text") || !m["text"].is_object()) {
              ++out.skipped;
              continue;
            }
            msg.text = str(m["text"], "body");
          } else if (msg.type == "interactive") {
            const json& i = m.value("interactive", json::object());
            const std::string kind = i.is_object() ? str(i, "type") : "";
            if (kind == "button_reply" && i.contains("button_reply") && i["button_reply"].is_object()) {
              msg.option = str(i["button_reply"], "id");
              msg.text = str(i["button_reply"], "title");
            } else if (kind == "list_reply" && i.contains("list_reply") && i["list_reply"].is_object()) {
              msg.option = str(i["list_reply"], "id");
              msg.text = str(i["list_reply"], "title");
            } else {
              msg.type = "interactive:" + kind;  // e.g. a Flows reply: not understood, politely declined
            }
          } else if (msg.type == "button") {
            if (m.contains("button") && m["button"].is_object()) {
              msg.option = str(m["button"], "payload");
              msg.text = str(m["button"], "text");
            }
          } else if (msg.type == "order") {
            const json& o = m.value("order", json::object());
            if (!o.is_object() || !o.contains("product_items") || !o["product_items"].is_array()) {
              ++out.skipped;
              continue;
            }
            for (const auto& item : o["product_items"]) {
              if (!item.is_object()) continue;
              OrderItem oi;
              oi.sku = str(item, "product_retailer_id");
              if (item.contains("quantity") && item["quantity"].is_number_integer()) oi.quantity = item["quantity"].get<std::int64_t>();
              // item_price may be fractional and is never trusted: our catalog prices the order.
              if (!oi.sku.empty() && oi.sku.size() <= 64 && oi.quantity > 0 && oi.quantity <= 1000) msg.order.push_back(oi);
            }
            if (msg.order.empty()) {
              ++out.skipped;
              continue;
            }
          } else if (msg.type == "system") {
            const json& sys = m.value("system", json::object());
            if (sys.is_object() && str(sys, "type") == "user_changed_number") {
              msg.new_wa_id = str(sys, "wa_id");
              if (msg.new_wa_id.size() > 64) msg.new_wa_id.clear();
            }
          } else if (msg.type == "location") {
            const json& l = m.value("location", json::object());
            if (l.is_object()) {
              msg.location = str(l, "address");
              if (msg.location.empty()) msg.location = str(l, "name");
              if (msg.location.empty() && l.contains("latitude") && l.contains("longitude") && l["latitude"].is_number() &&
                  l["longitude"].is_number()) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "%.6f, %.6f", l["latitude"].get<double>(), l["longitude"].get<double>());
                msg.location = buf;
              }
            }
          }
          out.messages.push_back(std::move(msg));
        }
      }
      if (value.contains("statuses") && value["statuses"].is_array()) {
        for (const auto& s : value["statuses"]) {
          if (!s.is_object()) {
            ++out.skipped;
            continue;
          }
          Status st;
          st.id = str(s, "id");
          st.status = str(s, "status");
          st.recipient = str(s, "recipient_id");
          if (st.recipient.size() > 64) st.recipient.clear();
          st.tracker = str(s, "biz_opaque_callback_data");
          if (st.tracker.size() > 512) st.tracker.clear();
          st.phone_number_id = phone_number_id;
          st.timestamp = unix_from_string(str(s, "timestamp"));
          if (st.id.empty() || st.id.size() > 256 ||
              (st.status != "sent" && st.status != "delivered" && st.status != "read" && st.status != "failed")) {
            ++out.skipped;
            continue;
          }
          if (s.contains("errors") && s["errors"].is_array() && !s["errors"].empty() && s["errors"][0].is_object()) {
            const json& e = s["errors"][0];
            if (e.contains("code") && e["code"].is_number_integer()) st.error = std::to_string(e["code"].get<std::int64_t>());
            const std::string title = str(e, "title");
            if (!title.empty()) st.error += (st.error.empty() ? "" : " ") + text::utf8_truncate(title, 80);
          }
          out.statuses.push_back(std::move(st));
        }
      }
    }
  }
  return out;
}

std::vector<std::string> render(const chat::Reply& reply, std::string_view to, const RenderOptions& options) {
  std::vector<std::string> out;
  const auto& opts = reply.options;
  if (opts.empty()) {
    for (const auto& part : text::split_for_messages(reply.text, options.max_text)) out.push_back(text_message(to, part));
    return out;
  }
  // Interactive bodies hold at most 1024 characters: longer text goes first as plain text.
  auto parts = text::split_for_messages(reply.text.empty() ? std::string("…") : reply.text, 1024);
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) out.push_back(text_message(to, parts[i]));
  const std::string& body_text = parts.back();
  if (opts.size() <= 3) {
    const auto titles = unique_titles(opts, 20);
    JsonWriter w = message(to, "interactive");
    w.key("interactive").begin_object().member("type", "button");
    w.key("body").begin_object().member("text", body_text).end_object();
    w.key("action").begin_object().key("buttons").begin_array();
    for (std::size_t i = 0; i < opts.size(); ++i) {
      w.begin_object().member("type", "reply").key("reply").begin_object();
      w.member("id", std::string_view(opts[i].id).substr(0, 256)).member("title", titles[i]);
      w.end_object().end_object();
    }
    w.end_array().end_object().end_object();
    out.push_back(w.end_object().take());
    return out;
  }
  const std::size_t pages = (opts.size() + 9) / 10;
  const std::string list_button = fit(options.list_button.empty() ? "Options" : options.list_button, 20);
  for (std::size_t p = 0; p < pages; ++p) {
    std::vector<chat::Option> page(opts.begin() + static_cast<std::ptrdiff_t>(p * 10),
                                   opts.begin() + static_cast<std::ptrdiff_t>(std::min(opts.size(), p * 10 + 10)));
    const auto titles = unique_titles(page, 24);
    const std::string text_for_page =
        p == 0 ? body_text : "(" + std::to_string(p + 1) + "/" + std::to_string(pages) + ")";
    JsonWriter w = message(to, "interactive");
    w.key("interactive").begin_object().member("type", "list");
    w.key("body").begin_object().member("text", text_for_page).end_object();
    w.key("action").begin_object().member("button", list_button);
    w.key("sections").begin_array().begin_object().key("rows").begin_array();
    for (std::size_t i = 0; i < page.size(); ++i) {
      w.begin_object().member("id", std::string_view(page[i].id).substr(0, 200)).member("title", titles[i]);
      if (!page[i].description.empty()) w.member("description", fit(page[i].description, 72));
      w.end_object();
    }
    w.end_array().end_object().end_array();  // rows, the section, sections
    w.end_object().end_object();             // action, interactive
    out.push_back(w.end_object().take());
  }
  return out;
}

std::string render_template(std::string_view to, std::string_view name, std::string_view language) {
  JsonWriter w = message(to, "template");
  w.key("template").begin_object().member("name", name);
  w.key("language").begin_object().member("code", language).end_object();
  w.end_object();
  return w.end_object().take();
}

namespace {
constexpr std::string_view kTrackerPrefix = "comptoir.outbox.";
}  // namespace

std::string with_tracker(std::string body, std::int64_t outbox_id) {
  if (body.size() < 2 || body.front() != '{' || body.back() != '}') return body;
  body.pop_back();
  body += ",\"biz_opaque_callback_data\":\"";
  body += kTrackerPrefix;
  body += std::to_string(outbox_id);
  body += "\"}";
  return body;
}

std::optional<std::int64_t> outbox_id_of(std::string_view tracker) {
  if (!tracker.starts_with(kTrackerPrefix)) return std::nullopt;
  const std::string_view digits = tracker.substr(kTrackerPrefix.size());
  if (digits.empty() || digits.size() > 18 || digits.front() == '0') return std::nullopt;
  std::int64_t id = 0;
  const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || id <= 0) return std::nullopt;
  return id;
}

SendOutcome classify_response(int http_status, std::string_view body) {
  SendOutcome o;
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (http_status >= 200 && http_status < 300) {
    o.kind = SendOutcome::Kind::sent;
    if (j.is_object() && j.contains("messages") && j["messages"].is_array() && !j["messages"].empty() &&
        j["messages"][0].is_object()) {
      o.external_id = str(j["messages"][0], "id");
    }
    return o;
  }
  std::int64_t code = 0;
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const json& e = j["error"];
    if (e.contains("code") && e["code"].is_number_integer()) code = e["code"].get<std::int64_t>();
    o.error = std::to_string(code) + " " + text::utf8_truncate(str(e, "message"), 80);
  } else {
    o.error = "HTTP " + std::to_string(http_status);
  }
  if (http_status <= 0) {
    o.kind = SendOutcome::Kind::retry;
    o.error = "network error";
    return o;
  }
  // Throughput and pair limits, temporary unavailability: retry with backoff.
  static const std::set<std::int64_t> kRetry = {4, 80007, 130429, 131000, 131016, 131056, 131057, 133004};
  if (code == 131047) {
    o.kind = SendOutcome::Kind::permanent;  // outside the 24-hour window: only a template may go
  } else if (kRetry.count(code) || http_status == 429 || http_status >= 500) {
    o.kind = SendOutcome::Kind::retry;
  } else {
    o.kind = SendOutcome::Kind::permanent;
  }
  return o;
}

}  // namespace comptoir::channels::whatsapp

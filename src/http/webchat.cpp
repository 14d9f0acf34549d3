// The web chat channel: sessions, messages in, shop news out, and the chat page itself.
#include <charconv>

#include "privacy/notice.h"
#include "src/assets/assets.h"
#include "src/common/log.h"
#include "src/common/text.h"
#include "src/http/internal.h"
#include "src/http/webchat_session.h"

namespace comptoir::http {

using nlohmann::json;

namespace {

json reply_json(const chat::Reply& r) {
  json options = json::array();
  for (const auto& o : r.options) {
    json jo = {{"id", o.id}, {"title", o.title}};
    if (!o.description.empty()) jo["description"] = o.description;
    options.push_back(std::move(jo));
  }
  return {{"text", r.text}, {"options", options}};
}

// The session from "Authorization: Bearer wcs_…", or nullopt after writing 401.
std::optional<std::string> session_of(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() > kBearer.size() && header.compare(0, kBearer.size(), kBearer) == 0) {
    std::string session = header.substr(kBearer.size());
    if (ctx.services.webchat->valid(session)) return session;
  }
  res.set_header("WWW-Authenticate", "Bearer realm=\"webchat\"");
  send_error(res, 401, "unauthorized", "a valid web chat session is required (POST /webchat/v1/sessions)");
  return std::nullopt;
}

void serve_asset(httplib::Server& server, const std::string& path, const std::string& name, const std::string& type) {
  server.Get(path, [name, type](const httplib::Request&, httplib::Response& res) {
    auto body = assets::find(name);
    if (!body) {
      send_error(res, 404, "not_found", "no such file");
      return;
    }
    res.set_content(std::string(*body), type);
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
                   "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  });
}

}  // namespace

namespace {

// ?lang=xx wins; otherwise the first supported language in Accept-Language; else the default.
std::string pick_language(const httplib::Request& req, const std::string& fallback) {
  auto supported = [](std::string_view l) { return l == "en" || l == "fr" || l == "de"; };
  if (req.has_param("lang") && supported(req.get_param_value("lang"))) return req.get_param_value("lang");
  const std::string accept = req.get_header_value("Accept-Language");
  std::size_t i = 0;
  while (i < accept.size()) {
    while (i < accept.size() && (accept[i] == ' ' || accept[i] == ',')) ++i;
    const std::size_t start = i;
    while (i < accept.size() && accept[i] != ',') ++i;
    std::string tag = accept.substr(start, i - start);
    tag = tag.substr(0, tag.find(';'));
    std::string primary = tag.substr(0, tag.find('-'));
    for (char& c : primary) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (supported(primary)) return primary;
  }
  return fallback;
}

}  // namespace

// The privacy notice, generated at startup from the data inventory (privacy/notice.h). The
// ETag is the notice version a consent record names.
void install_privacy_notice(httplib::Server& server, Context& ctx) {
  server.Get("/privacy", [&ctx](const httplib::Request& req, httplib::Response& res) {
    if (ctx.services.notice == nullptr) return send_error(res, 404, "not_found", "no privacy notice");
    const privacy::Notice& notice = *ctx.services.notice;
    const std::string& lang = notice.resolve(pick_language(req, ctx.services.default_language));
    const std::string etag = "\"" + notice.version(lang) + "\"";
    res.set_header("ETag", etag);
    res.set_header("Content-Language", lang);
    res.set_header("Vary", "Accept-Language");
    // The request forms (static/privacy.js) talk to this origin only.
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; base-uri 'none'; "
                   "form-action 'none'; frame-ancestors 'none'");
    if (req.get_header_value("If-None-Match") == etag) {
      res.status = 304;
      return;
    }
    res.set_content(notice.page(lang), "text/html; charset=utf-8");
  });
}

void install_webchat_routes(httplib::Server& server, Context& ctx) {
  install_privacy_notice(server, ctx);
  serve_asset(server, "/static/privacy.js", "static/privacy.js", "text/javascript; charset=utf-8");
  if (ctx.services.engine == nullptr || ctx.services.webchat == nullptr) return;

  serve_asset(server, "/", "static/chat.html", "text/html; charset=utf-8");
  server.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  serve_asset(server, "/static/chat.js", "static/chat.js", "text/javascript; charset=utf-8");
  serve_asset(server, "/static/chat.css", "static/chat.css", "text/css; charset=utf-8");

  server.Post("/webchat/v1/sessions", [&ctx](const httplib::Request& req, httplib::Response& res) {
    const TimePoint now = ctx.services.clock->now();
    // The client address is only an in-memory rate-limit key; it is never stored or logged.
    if (int wait = ctx.webchat_sessions.retry_after(req.remote_addr, now); wait > 0) {
      res.set_header("Retry-After", std::to_string(wait));
      send_error(res, 429, "rate_limited", "too many new chat sessions from this address; try again later");
      return;
    }
    ctx.webchat_sessions.record_failure(req.remote_addr, now);
    send_json(res, 201, {{"session", ctx.services.webchat->mint()}});
  });

  server.Post("/webchat/v1/messages", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto session = session_of(ctx, req, res);
    if (!session) return;
    const TimePoint now = ctx.services.clock->now();
    if (int wait = ctx.webchat_messages.retry_after(*session, now); wait > 0) {
      res.set_header("Retry-After", std::to_string(wait));
      send_error(res, 429, "rate_limited", "too many messages; slow down a little");
      return;
    }
    auto body = json_body(req, res);
    if (!body) return;
    for (auto it = body->begin(); it != body->end(); ++it) {
      if (it.key() != "text" && it.key() != "option") {
        send_error(res, 400, "bad_request", "unknown field \"" + text::utf8_truncate(it.key(), 40) + "\"; send {\"text\": …} or {\"option\": …}");
        return;
      }
    }
    chat::Inbound in;
    in.channel = privacy::Channel::webchat;
    in.address = *session;
    const bool has_text = body->contains("text");
    const bool has_option = body->contains("option");
    if (has_text == has_option) {
      send_error(res, 400, "bad_request", "send exactly one of {\"text\": …} or {\"option\": …}");
      return;
    }
    const json& v = has_text ? (*body)["text"] : (*body)["option"];
    if (!v.is_string()) {
      send_error(res, 400, "bad_request", std::string(has_text ? "text" : "option") + " must be a string");
      return;
    }
    if (has_text) {
      in.text = v.get<std::string>();
      if (text::utf8_length(in.text) > chat::kMaxTextChars) {
        send_error(res, 400, "bad_request", "text is longer than 4096 characters");
        return;
      }
    } else {
      in.option = v.get<std::string>();
    }
    ctx.webchat_messages.record_failure(*session, now);
    auto replies = ctx.services.engine->handle(in);
    if (!replies) return send_error(res, replies.error());
    json list = json::array();
    for (const auto& r : *replies) list.push_back(reply_json(r));
    send_json(res, 200, {{"replies", list}});
  });

  server.Get("/webchat/v1/messages", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto session = session_of(ctx, req, res);
    if (!session) return;
    std::int64_t after = 0;
    if (req.has_param("after")) {
      const std::string a = req.get_param_value("after");
      auto r = std::from_chars(a.data(), a.data() + a.size(), after);
      if (a.empty() || r.ec != std::errc() || r.ptr != a.data() + a.size() || after < 0) {
        send_error(res, 400, "bad_request", "after must be a non-negative integer");
        return;
      }
    }
    auto messages = ctx.services.inbox->fetch(privacy::Channel::webchat, *session, after, 100);
    if (!messages) return send_error(res, messages.error());
    json list = json::array();
    std::int64_t last = after;
    for (const auto& m : *messages) {
      json j = reply_json(m.reply);
      j["id"] = m.id;
      j["created_at"] = format_rfc3339(TimePoint(std::chrono::seconds(m.created_at)));
      list.push_back(std::move(j));
      last = m.id;
    }
    send_json(res, 200, {{"messages", list}, {"last_id", last}});
  });
}

}  // namespace comptoir::http

#include <cstdint>

#include "src/common/log.h"
#include "src/http/internal.h"

namespace comptoir::http {

using nlohmann::json;

int status_for(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return 400;
    case Errc::unauthorized: return 401;
    case Errc::forbidden: return 403;
    case Errc::not_found: return 404;
    case Errc::conflict: return 409;
    case Errc::gone: return 410;
    case Errc::payload_too_large: return 413;
    case Errc::rate_limited: return 429;
    case Errc::unavailable: return 503;
    case Errc::wrong_key:
    case Errc::corrupt:
    case Errc::io:
    case Errc::config:
    case Errc::crypto:
    case Errc::internal: return 500;
  }
  return 500;
}

std::string_view code_for_status(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 410: return "gone";
    case 411: return "length_required";
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 415: return "unsupported_media_type";
    case 416: return "range_not_satisfiable";
    case 429: return "rate_limited";
    case 503: return "unavailable";
    default: return status >= 500 ? "internal" : "bad_request";
  }
}

std::string request_id_of(const httplib::Response& res) { return res.get_header_value("X-Request-Id"); }

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n", "application/json");
}

void send_error(httplib::Response& res, int status, std::string_view code, std::string_view message) {
  json body = {{"error", {{"code", code}, {"message", message}, {"request_id", request_id_of(res)}}}};
  send_json(res, status, body);
}

void send_error(httplib::Response& res, const Error& error) {
  const int status = status_for(error.code);
  if (status >= 500) {
    log::error("request.failed", {{"request_id", request_id_of(res)},
                                   {"error", std::string(to_string(error.code))},
                                   {"detail", error.message}});
    send_error(res, status, code_for_status(status), "internal error; see the server log for request " + request_id_of(res));
    return;
  }
  send_error(res, status, code_for_status(status), error.shown());
}

audit::Actor actor_of(const access::Principal& who) {
  return audit::Actor::token(who.token_id, std::string(access::to_string(who.role)));
}

bool audited(Context& ctx, httplib::Response& res, const audit::Event& event) {
  if (ctx.services.audit == nullptr) return true;
  if (auto st = ctx.services.audit->record(event); !st) {
    send_error(res, st.error());
    return false;
  }
  return true;
}

namespace {

// The route of a request path without the ids in it ("/api/v1/orders/C-{n}"): what a denied
// request tried to reach, with no customer or order number.
std::string route_of(const std::string& path) {
  std::string out;
  bool in_id = false;  // in a run of digits that starts a path segment or follows a '-'
  for (char c : path.substr(0, 120)) {
    if (c >= '0' && c <= '9') {
      if (in_id) continue;
      if (out.empty() || out.back() == '/' || out.back() == '-') {
        out += "{n}";
        in_id = true;
        continue;
      }
    } else {
      in_id = false;
    }
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
                       c == '-' || c == '_' || c == '.';
    out += plain ? c : '?';
  }
  return out;
}

}  // namespace

std::optional<access::Principal> authorize(Context& ctx, const httplib::Request& req,
                                           httplib::Response& res,
                                           std::initializer_list<access::Role> allowed) {
  const TimePoint now = ctx.services.clock->now();
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  Result<access::Principal> who = fail(Errc::unauthorized, "missing bearer token", "a valid bearer token is required");
  if (header.size() > kBearer.size() && header.compare(0, kBearer.size(), kBearer) == 0) {
    who = ctx.services.tokens->authenticate(std::string_view(header).substr(kBearer.size()));
  }
  if (!who) {
    // The client address is used only as an in-memory rate-limit key, never stored or logged.
    // Only failures are limited: a valid token always gets in, so nobody sharing an address
    // (e.g. everyone behind the reverse proxy) can lock the staff out by sending bad tokens.
    if (who.error().code == Errc::unauthorized && ctx.services.auth_failures != nullptr) {
      ctx.services.auth_failures->failed(req.remote_addr, header.empty() ? "missing" : "invalid");
    }
    if (int wait = ctx.auth_failures.retry_after(req.remote_addr, now);
        wait > 0 && who.error().code == Errc::unauthorized) {
      res.set_header("Retry-After", std::to_string(wait));
      send_error(res, 429, "rate_limited", "too many failed authentications; try again later");
      return std::nullopt;
    }
    if (who.error().code == Errc::unauthorized) {
      ctx.auth_failures.record_failure(req.remote_addr, now);
      log::warn("auth.failed", {{"request_id", request_id_of(res)}, {"path", req.path}});
      res.set_header("WWW-Authenticate", "Bearer realm=\"comptoir\"");
    }
    send_error(res, who.error());
    return std::nullopt;
  }
  for (auto role : allowed) {
    if (role == who->role) return *who;
  }
  if (ctx.services.audit != nullptr) {
    audit::Event e;
    e.actor = actor_of(*who);
    e.action = "access.denied";
    e.resource = "api";
    e.purpose = "security";
    e.outcome = "denied";
    e.details = {{"method", req.method}, {"route", route_of(req.path)}};
    if (auto st = ctx.services.audit->record(e); !st) {
      log::error("audit.record_failed", {{"action", e.action}, {"error", st.error().message}});
    }
  }
  send_error(res, 403, "forbidden", "this token's role may not use this endpoint");
  return std::nullopt;
}

namespace {

json token_json(const access::TokenInfo& t) {
  json j = {{"id", t.id},
            {"role", access::to_string(t.role)},
            {"label", t.label},
            {"created_at", format_rfc3339(TimePoint(std::chrono::seconds(t.created_at)))},
            {"revoked", t.revoked_at.has_value()}};
  j["last_used_at"] = t.last_used_at ? json(format_rfc3339(TimePoint(std::chrono::seconds(*t.last_used_at)))) : json(nullptr);
  j["revoked_at"] = t.revoked_at ? json(format_rfc3339(TimePoint(std::chrono::seconds(*t.revoked_at)))) : json(nullptr);
  return j;
}

constexpr const char* kLandingPage = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Comptoir</title></head>
<body><main><h1>Comptoir is running</h1>
<p>This is a Comptoir chat-commerce server. Health: <a href="/healthz">/healthz</a>, readiness: <a href="/readyz">/readyz</a>.
The admin API lives under <code>/api/v1/</code> and needs a bearer token (<code>comptoir token create</code>).</p>
</main></body></html>
)html";

}  // namespace

std::optional<json> json_body(const httplib::Request& req, httplib::Response& res) {
  const std::string type = req.get_header_value("Content-Type");
  if (type.rfind("application/json", 0) != 0) {
    send_error(res, 415, "unsupported_media_type", "send the body as application/json");
    return std::nullopt;
  }
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    send_error(res, 400, "bad_request", "the body is not valid JSON");
    return std::nullopt;
  }
  if (!body.is_object()) {
    send_error(res, 400, "bad_request", "the body must be a JSON object");
    return std::nullopt;
  }
  return body;
}

void install_routes(httplib::Server& server, Context& ctx) {
  if (ctx.services.engine == nullptr) {
    server.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(kLandingPage, "text/html; charset=utf-8");
    });
  }
  install_webchat_routes(server, ctx);
  install_commerce_routes(server, ctx);
  install_webhook_routes(server, ctx);
  install_consent_routes(server, ctx);
  install_audit_routes(server, ctx);
  install_ropa_routes(server, ctx);
  install_privacy_request_routes(server, ctx);

  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"status", "ok"}});
  });

  server.Get("/readyz", [&ctx](const httplib::Request&, httplib::Response& res) {
    if (ctx.services.ready && ctx.services.ready()) {
      send_json(res, 200, {{"status", "ready"}});
    } else {
      res.set_header("Retry-After", "1");
      send_error(res, 503, "unavailable", "the database is not usable");
    }
  });

  server.Get("/api/v1/whoami", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = authorize(ctx, req, res, {access::Role::owner, access::Role::operator_, access::Role::auditor});
    if (!who) return;
    send_json(res, 200, {{"token_id", who->token_id}, {"role", access::to_string(who->role)}, {"label", who->label}});
  });

  server.Get("/api/v1/tokens", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = authorize(ctx, req, res, {access::Role::owner});
    if (!who) return;
    auto tokens = ctx.services.tokens->list();
    if (!tokens) return send_error(res, tokens.error());
    json list = json::array();
    for (const auto& t : *tokens) list.push_back(token_json(t));
    send_json(res, 200, {{"tokens", list}});
  });
}

}  // namespace comptoir::http

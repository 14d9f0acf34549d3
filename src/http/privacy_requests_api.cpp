// Data-subject requests over HTTP (src/rights/requests.h): the public routes a customer uses from
// the /privacy page (open a request, confirm it with the code sent to their chat, download their
// export once), and the merchant's register with extensions and lifting of restrictions.
// Opening always answers 202 with a request id, whether or not the address is known.
#include <algorithm>
#include <charconv>
#include <memory>

#include "src/common/log.h"
#include "src/common/text.h"
#include "src/http/internal.h"
#include "src/rights/export_page.h"
#include "src/rights/requests.h"

namespace comptoir::http {

using access::Role;
using nlohmann::json;

namespace {

// Bodies of these routes are small; anything larger is refused before it is parsed.
constexpr std::size_t kMaxBody = 4096;
constexpr std::size_t kMaxAddressBytes = 256;

struct Limits {
  FailureLimiter opens_per_client{10, std::chrono::seconds(60)};
  FailureLimiter opens_per_address{5, std::chrono::seconds(600)};
  FailureLimiter verifies_per_client{30, std::chrono::seconds(60)};
  FailureLimiter downloads_per_client{30, std::chrono::seconds(60)};
};

std::string iso(std::int64_t unix) { return format_rfc3339(TimePoint(std::chrono::seconds(unix))); }
json iso_or_null(const std::optional<std::int64_t>& t) { return t ? json(iso(*t)) : json(nullptr); }

bool limited(FailureLimiter& limiter, const std::string& key, TimePoint now, httplib::Response& res, std::string_view message) {
  if (int wait = limiter.retry_after(key, now); wait > 0) {
    res.set_header("Retry-After", std::to_string(wait));
    send_error(res, 429, "rate_limited", message);
    return true;
  }
  limiter.record_failure(key, now);
  return false;
}

// Size, then type and syntax (json_body), then the allowed keys.
std::optional<json> small_json_body(const httplib::Request& req, httplib::Response& res,
                                    std::initializer_list<std::string_view> keys) {
  if (req.body.size() > kMaxBody) {
    send_error(res, 413, "payload_too_large", "the body is larger than 4096 bytes");
    return std::nullopt;
  }
  auto body = json_body(req, res);
  if (!body) return std::nullopt;
  for (auto it = body->begin(); it != body->end(); ++it) {
    if (std::find(keys.begin(), keys.end(), it.key()) == keys.end()) {
      send_error(res, 400, "bad_request", "unknown field \"" + text::utf8_truncate(it.key(), 40) + "\"");
      return std::nullopt;
    }
  }
  return body;
}

std::optional<std::string> string_field(const json& body, const char* name, httplib::Response& res, bool required = true) {
  if (!body.contains(name)) {
    if (required) send_error(res, 400, "bad_request", std::string(name) + " is required");
    return std::nullopt;
  }
  if (!body[name].is_string()) {
    send_error(res, 400, "bad_request", std::string(name) + " must be a string");
    return std::nullopt;
  }
  return body[name].get<std::string>();
}

// The request a body describes, or nullopt after writing a 400.
std::optional<rights::OpenRequest> parse_open(const json& body, httplib::Response& res) {
  rights::OpenRequest r;
  auto type = string_field(body, "type", res);
  if (!type) return std::nullopt;
  if (!rights::parse_request_type(*type, r.type)) {
    send_error(res, 400, "bad_request", "type must be access, erasure, rectification, restriction or objection");
    return std::nullopt;
  }
  auto channel = string_field(body, "channel", res);
  if (!channel) return std::nullopt;
  if (!privacy::parse_channel(*channel, r.channel)) {
    send_error(res, 400, "bad_request", "channel must be whatsapp, telegram or webchat");
    return std::nullopt;
  }
  auto address = string_field(body, "address", res);
  if (!address) return std::nullopt;
  if (address->empty() || address->size() > kMaxAddressBytes || !text::is_valid_utf8(*address)) {
    send_error(res, 400, "bad_request", "address must be a WhatsApp number, a Telegram chat id or a web chat session id");
    return std::nullopt;
  }
  r.address = std::move(*address);
  if (body.contains("changes")) {
    const json& c = body["changes"];
    if (!c.is_object()) {
      send_error(res, 400, "bad_request", "changes must be an object");
      return std::nullopt;
    }
    for (auto it = c.begin(); it != c.end(); ++it) {
      const std::string& k = it.key();
      if (k != "recipient_name" && k != "delivery_address" && k != "language") {
        send_error(res, 400, "bad_request", "changes may hold recipient_name, delivery_address and language");
        return std::nullopt;
      }
      if (!it->is_string()) {
        send_error(res, 400, "bad_request", "changes." + k + " must be a string");
        return std::nullopt;
      }
    }
    if (c.contains("recipient_name")) r.changes.recipient_name = c["recipient_name"].get<std::string>();
    if (c.contains("delivery_address")) r.changes.delivery_address = c["delivery_address"].get<std::string>();
    if (c.contains("language")) r.changes.language = c["language"].get<std::string>();
  }
  return r;
}

// Opening, shared by the public route and staff opening a request on a customer's behalf.
void open_request(Context& ctx, Limits& limits, const httplib::Request& req, httplib::Response& res,
                  rights::Origin origin, const audit::Actor& actor) {
  rights::RequestService& service = *ctx.services.requests;
  const TimePoint now = ctx.services.clock->now();
  // The client address is only an in-memory rate-limit key; it is never stored or logged.
  if (origin == rights::Origin::web &&
      limited(limits.opens_per_client, req.remote_addr, now, res, "too many requests from this address; try again later")) {
    return;
  }
  auto body = small_json_body(req, res, {"type", "channel", "address", "changes"});
  if (!body) return;
  auto request = parse_open(*body, res);
  if (!request) return;
  request->origin = origin;
  request->actor = actor;
  // Per chat address: keyed by its blind index, for known and unknown addresses alike.
  auto key = service.address_key(request->channel, request->address);
  if (!key) return send_error(res, 400, "bad_request", "the address is not a valid " +
                                                          std::string(privacy::to_string(request->channel)) + " address");
  if (limited(limits.opens_per_address, std::string(privacy::to_string(request->channel)) + ":" + *key, now, res,
              "too many requests for this chat address; try again later")) {
    return;
  }
  auto id = service.open(*request);
  if (!id) return send_error(res, id.error());
  log::info("privacy_request.opened", {{"request_id", request_id_of(res)},
                                       {"type", std::string(rights::to_string(request->type))},
                                       {"origin", std::string(rights::to_string(origin))}});
  send_json(res, 202, {{"request_id", *id}});
}

json outcome_json(const rights::Outcome& o) {
  json j = {{"status", "completed"}, {"type", std::string(rights::to_string(o.type))}, {"outcome", o.code}};
  if (!o.export_token.empty()) {
    j["export_url"] = "/privacy/v1/exports/" + o.export_token;
    j["export_expires_at"] = iso(o.export_expires_at);
  }
  if (!o.receipt.empty()) j["receipt"] = json::parse(o.receipt, nullptr, false);
  if (o.type == rights::RequestType::rectification) j["orders_rectified"] = o.orders_rectified;
  return j;
}

// One line of the register. Auditors see it without anything that points at a person: no
// customer link, no staff-written reason.
json entry_json(const rights::RegisterEntry& e, bool full) {
  const auto& r = e.record;
  json j = {{"id", r.id},
            {"type", r.type},
            {"channel", r.channel},
            {"origin", r.origin},
            {"actor", r.actor},
            {"status", e.status},
            {"received_at", iso(r.received_at)},
            {"verified_at", iso_or_null(r.verified_at)},
            {"due_at", iso(r.due_at)},
            {"due", iso(e.due)},
            {"extended_until", iso_or_null(r.extended_until)},
            {"completed_at", iso_or_null(r.completed_at)},
            {"outcome", r.outcome.empty() ? json(nullptr) : json(r.outcome)},
            {"attempts", r.attempts},
            {"locked_at", iso_or_null(r.locked_at)},
            {"lifted_at", iso_or_null(r.lifted_at)},
            {"overdue", e.overdue},
            {"nearly_due", e.nearly_due}};
  if (full) {
    j["extension_reason"] = r.extension_reason.empty() ? json(nullptr) : json(r.extension_reason);
    j["customer_id"] = r.customer_id ? json(*r.customer_id) : json(nullptr);
  }
  return j;
}

// RFC 4180 field; a leading = + - @ is neutralised so a spreadsheet never runs it as a formula.
std::string csv_field(std::string v) {
  if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@')) v.insert(0, "'");
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_of(const json& entries, bool full) {
  std::vector<std::string> columns = {"id",         "type",        "channel",        "origin",       "actor",
                                      "status",     "received_at", "verified_at",    "due_at",       "due",
                                      "extended_until", "completed_at", "outcome",   "attempts",     "locked_at",
                                      "lifted_at",  "overdue",     "nearly_due"};
  if (full) {
    columns.push_back("extension_reason");
    columns.push_back("customer_id");
  }
  std::string out;
  for (std::size_t i = 0; i < columns.size(); ++i) out += (i ? "," : "") + columns[i];
  out += "\r\n";
  for (const auto& e : entries) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      const json& v = e[columns[i]];
      std::string s = v.is_null() ? "" : v.is_string() ? v.get<std::string>() : v.dump();
      out += (i ? "," : "") + csv_field(std::move(s));
    }
    out += "\r\n";
  }
  return out;
}

// How an export is served: the JSON document (docs/export.schema.json), or the same as one
// readable page for a browser (Accept: text/html without application/json). Either way the link
// is used up: one download, in one form.
struct ExportRenderer {
  std::string_view media_type;
  void (*render)(const rights::ExportDownload&, httplib::Response&);
};
constexpr ExportRenderer kExportRenderers[] = {
    {"application/json",
     [](const rights::ExportDownload& d, httplib::Response& res) {
       res.set_header("Content-Disposition", "attachment; filename=\"my-data.json\"");
       res.set_content(d.document, "application/json; charset=utf-8");
     }},
    {"text/html",
     [](const rights::ExportDownload& d, httplib::Response& res) {
       auto page = rights::export_page(d.document, d.language);
       if (!page) return send_error(res, 500, "internal", "the export could not be shown as a page");
       // The page is self-contained: an inline style sheet, no script, no other resource.
       res.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'");
       res.set_content(*page, "text/html; charset=utf-8");
     }},
};

const ExportRenderer& renderer_for(const httplib::Request& req) {
  const std::string accept = req.get_header_value("Accept");
  for (const auto& r : kExportRenderers) {
    if (accept.find(r.media_type) != std::string::npos) return r;
  }
  return kExportRenderers[0];
}

std::optional<std::int64_t> int_param(const httplib::Request& req, const char* name, std::int64_t lo, std::int64_t hi) {
  if (!req.has_param(name)) return std::nullopt;
  const std::string v = req.get_param_value(name);
  std::int64_t out = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size() || out < lo || out > hi) return lo - 1;
  return out;
}

}  // namespace

void install_privacy_request_routes(httplib::Server& server, Context& ctx) {
  if (ctx.services.requests == nullptr) return;
  auto limits = std::make_shared<Limits>();

  server.Post("/privacy/v1/requests", [&ctx, limits](const httplib::Request& req, httplib::Response& res) {
    open_request(ctx, *limits, req, res, rights::Origin::web, audit::Actor::data_subject());
  });

  server.Post(R"(/privacy/v1/requests/([^/]{1,100})/verify)", [&ctx, limits](const httplib::Request& req, httplib::Response& res) {
    const TimePoint now = ctx.services.clock->now();
    if (limited(limits->verifies_per_client, req.remote_addr, now, res, "too many attempts from this address; try again later")) return;
    auto body = small_json_body(req, res, {"code"});
    if (!body) return;
    auto code = string_field(*body, "code", res);
    if (!code) return;
    if (code->size() < 6 || code->size() > 8 || code->find_first_not_of("0123456789") != std::string::npos) {
      return send_error(res, 400, "bad_request", "code must be the 6 to 8 digits sent to your chat");
    }
    const std::string id = req.matches[1];
    auto r = ctx.services.requests->verify(id, *code);
    if (!r) {
      if (r.error().code == Errc::not_found) return send_error(res, 404, "not_found", "no such request");
      return send_error(res, r.error());
    }
    switch (r->status) {
      case rights::VerifyStatus::done: return send_json(res, 200, outcome_json(r->outcome));
      case rights::VerifyStatus::wrong_code: {
        json b = {{"error", {{"code", "wrong_code"},
                             {"message", "this is not the code that was sent"},
                             {"attempts_left", r->attempts_left},
                             {"request_id", request_id_of(res)}}}};
        return send_json(res, 403, b);
      }
      case rights::VerifyStatus::locked:
        return send_error(res, 423, "locked", "too many wrong codes: this request is locked; please make a new request");
      case rights::VerifyStatus::expired:
        return send_error(res, 410, "expired", "the code has expired; please make a new request");
      case rights::VerifyStatus::already_done:
        return send_error(res, 409, "conflict", "this request was already carried out");
    }
  });

  server.Get(R"(/privacy/v1/exports/([^/]{1,200}))", [&ctx, limits](const httplib::Request& req, httplib::Response& res) {
    const TimePoint now = ctx.services.clock->now();
    if (limited(limits->downloads_per_client, req.remote_addr, now, res, "too many downloads from this address; try again later")) return;
    res.set_header("Cache-Control", "no-store");
    res.set_header("Referrer-Policy", "no-referrer");
    const std::string token = req.matches[1];
    auto d = ctx.services.requests->download(token);
    if (!d) {
      if (d.error().code == Errc::not_found) return send_error(res, 404, "not_found", "no such download");
      return send_error(res, d.error());
    }
    res.set_header("Content-Language", d->language);
    renderer_for(req).render(*d, res);
  });

  // --- the merchant's register (Art. 12(3))
  server.Get("/api/v1/privacy/requests", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = authorize(ctx, req, res, {Role::owner, Role::operator_, Role::auditor});
    if (!who) return;
    const auto limit = int_param(req, "limit", 1, 1000);
    if (limit && *limit == 0) return send_error(res, 400, "bad_request", "limit must be 1–1000");
    const std::string format = req.has_param("format") ? req.get_param_value("format") : "json";
    if (format != "json" && format != "csv") return send_error(res, 400, "bad_request", "format must be json or csv");
    auto entries = ctx.services.requests->register_entries(static_cast<int>(limit.value_or(500)));
    if (!entries) return send_error(res, entries.error());
    const bool full = who->role != Role::auditor;
    json list = json::array();
    int overdue = 0, nearly = 0;
    for (const auto& e : *entries) {
      list.push_back(entry_json(e, full));
      overdue += e.overdue;
      nearly += e.nearly_due;
    }
    if (ctx.services.audit != nullptr) {
      audit::Event ev;
      ev.actor = audit::Actor::token(who->token_id, std::string(access::to_string(who->role)));
      ev.action = "request.register_read";
      ev.purpose = "Art. 12(3) register";
      ev.counts = {{"requests", static_cast<std::int64_t>(entries->size())}};
      ev.details = {{"format", format}, {"view", full ? "full" : "without_personal_data"}};
      if (auto st = ctx.services.audit->record(ev); !st) return send_error(res, st.error());
    }
    if (format == "csv") {
      res.set_header("Content-Disposition", "attachment; filename=\"privacy-requests.csv\"");
      res.set_content(csv_of(list, full), "text/csv; charset=utf-8");
      return;
    }
    send_json(res, 200, {{"requests", list}, {"overdue", overdue}, {"nearly_due", nearly}});
  });

  auto limits_staff = std::make_shared<Limits>();
  server.Post("/api/v1/privacy/requests", [&ctx, limits_staff](const httplib::Request& req, httplib::Response& res) {
    auto who = authorize(ctx, req, res, {Role::owner, Role::operator_});
    if (!who) return;
    open_request(ctx, *limits_staff, req, res, rights::Origin::operator_,
                 audit::Actor::token(who->token_id, std::string(access::to_string(who->role))));
  });

  server.Post(R"(/api/v1/privacy/requests/([^/]{1,100})/extend)", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = authorize(ctx, req, res, {Role::owner, Role::operator_});
    if (!who) return;
    auto body = small_json_body(req, res, {"months", "reason"});
    if (!body) return;
    if (!body->contains("months") || !(*body)["months"].is_number_integer()) {
      return send_error(res, 400, "bad_request", "months must be 1 or 2");
    }
    auto reason = string_field(*body, "reason", res);
    if (!reason) return;
    const auto months = (*body)["months"].get<std::int64_t>();
    auto e = ctx.services.requests->extend(req.matches[1], months == 1 || months == 2 ? static_cast<int>(months) : 0, *reason,
                                          audit::Actor::token(who->token_id, std::string(access::to_string(who->role))));
    if (!e) return send_error(res, e.error());
    send_json(res, 200, entry_json(*e, true));
  });

  server.Post(R"(/api/v1/privacy/requests/([^/]{1,100})/lift)", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = authorize(ctx, req, res, {Role::owner, Role::operator_});
    if (!who) return;
    auto e = ctx.services.requests->lift_restriction(
        req.matches[1], audit::Actor::token(who->token_id, std::string(access::to_string(who->role))));
    if (!e) return send_error(res, e.error());
    send_json(res, 200, entry_json(*e, true));
  });
}

}  // namespace comptoir::http

// The auditor's view of the audit log (owner and auditor): events after a seq, in pages; the
// signed checkpoints; the public key that verifies them. Bodies embed the export's JSON lines
// (src/audit/chain.h, docs/audit-log.md), so what the API shows verifies like an export.
#include <charconv>
#include <limits>

#include "src/http/internal.h"

namespace comptoir::http {

using access::Role;
using nlohmann::json;

namespace {

// ?name=N with min <= N <= max; `fallback` when absent. On a bad value writes 400 and returns nullopt.
std::optional<std::int64_t> int_query(const httplib::Request& req, httplib::Response& res, const char* name,
                                      std::int64_t fallback, std::int64_t min, std::int64_t max) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  std::int64_t out = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || v.size() > 19 || r.ec != std::errc() || r.ptr != v.data() + v.size() || out < min || out > max) {
    send_error(res, 400, "bad_request",
               std::string(name) + " must be an integer between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return out;
}

void send_raw_json(httplib::Response& res, std::string body) {
  res.status = 200;
  body += "\n";
  res.set_content(body, "application/json");
}

}  // namespace

void install_audit_routes(httplib::Server& server, Context& ctx) {
  if (ctx.services.audit_log == nullptr) return;
  audit::AuditLog& log = *ctx.services.audit_log;
  constexpr std::int64_t kMaxSeq = std::numeric_limits<std::int64_t>::max() - 1;

  server.Get("/api/v1/audit/events", [&ctx, &log](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(ctx, req, res, {Role::owner, Role::auditor})) return;
    auto after = int_query(req, res, "after", 0, 0, kMaxSeq);
    if (!after) return;
    auto limit = int_query(req, res, "limit", 100, 1, 1000);
    if (!limit) return;
    auto events = log.events_after(*after, static_cast<int>(*limit));
    if (!events) return send_error(res, events.error());
    std::string body = "{\"events\":[";
    for (std::size_t i = 0; i < events->size(); ++i) {
      if (i > 0) body += ",";
      body += audit::to_json((*events)[i]);
    }
    body += "],\"next_after\":";
    body += static_cast<std::int64_t>(events->size()) == *limit ? std::to_string(events->back().seq) : "null";
    body += "}";
    send_raw_json(res, std::move(body));
  });

  server.Get("/api/v1/audit/checkpoints", [&ctx, &log](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(ctx, req, res, {Role::owner, Role::auditor})) return;
    auto after = int_query(req, res, "after", 0, 0, kMaxSeq);
    if (!after) return;
    auto limit = int_query(req, res, "limit", 100, 1, 1000);
    if (!limit) return;
    auto cps = log.checkpoints_after(*after, static_cast<int>(*limit));
    if (!cps) return send_error(res, cps.error());
    std::string body = "{\"checkpoints\":[";
    for (std::size_t i = 0; i < cps->size(); ++i) {
      if (i > 0) body += ",";
      body += audit::to_json((*cps)[i]);
    }
    body += "],\"next_after\":";
    body += static_cast<std::int64_t>(cps->size()) == *limit ? std::to_string(cps->back().seq) : "null";
    body += "}";
    send_raw_json(res, std::move(body));
  });

  server.Get("/api/v1/audit/public-key", [&ctx, &log](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(ctx, req, res, {Role::owner, Role::auditor})) return;
    send_json(res, 200, {{"algorithm", "Ed25519"}, {"public_key", log.signer().public_key_hex()}});
  });
}

}  // namespace comptoir::http

// Webhooks of the messaging platforms, validated at the edge in this order: size (the server's
// body limit), signature or secret (constant time), then parsing. Nothing is stored and nothing
// is answered for a request that fails a check.
#include <charconv>

#include "src/channels/hub.h"
#include "src/common/log.h"
#include "src/http/internal.h"

namespace comptoir::http {

using nlohmann::json;

namespace {

json result_json(const channels::WebhookResult& r) {
  return {{"processed", r.processed}, {"duplicates", r.duplicates}, {"statuses", r.statuses}, {"skipped", r.skipped}, {"stale", r.stale}};
}

}  // namespace

void install_webhook_routes(httplib::Server& server, Context& ctx) {
  channels::ChannelHub* hub = ctx.services.hub;
  if (hub == nullptr) return;

  server.Get("/webhooks/whatsapp", [hub](const httplib::Request& req, httplib::Response& res) {
    const std::string mode = req.get_param_value("hub.mode");
    const std::string token = req.get_param_value("hub.verify_token");
    const std::string challenge = req.get_param_value("hub.challenge");
    if (!hub->whatsapp_verify(mode, token) || challenge.empty() || challenge.size() > 1024) {
      send_error(res, 403, "forbidden", "verification failed");
      return;
    }
    res.set_content(challenge, "text/plain; charset=utf-8");  // the raw challenge, as Meta expects
  });

  server.Post("/webhooks/whatsapp", [hub](const httplib::Request& req, httplib::Response& res) {
    if (!hub->whatsapp().enabled) return send_error(res, 404, "not_found", "the WhatsApp channel is not configured");
    if (!hub->whatsapp_signature_ok(req.body, req.get_header_value("X-Hub-Signature-256"))) {
      log::warn("webhook.bad_signature", {{"channel", "whatsapp"}, {"request_id", request_id_of(res)}});
      return send_error(res, 401, "unauthorized", "missing or invalid X-Hub-Signature-256");
    }
    auto r = hub->whatsapp_webhook(req.body);
    if (!r) return send_error(res, r.error());
    if (r->skipped > 0) {
      log::warn("webhook.skipped", {{"channel", "whatsapp"}, {"skipped", r->skipped}, {"request_id", request_id_of(res)}});
    }
    if (r->stale > 0) {
      log::warn("webhook.stale", {{"channel", "whatsapp"}, {"stale", r->stale}, {"request_id", request_id_of(res)}});
    }
    send_json(res, 200, result_json(*r));
  });

  server.Post("/webhooks/telegram", [hub](const httplib::Request& req, httplib::Response& res) {
    if (!hub->telegram().enabled) return send_error(res, 404, "not_found", "the Telegram channel is not configured");
    if (!req.has_header("X-Telegram-Bot-Api-Secret-Token")) {
      return send_error(res, 401, "unauthorized", "missing X-Telegram-Bot-Api-Secret-Token");
    }
    if (!hub->telegram_secret_ok(req.get_header_value("X-Telegram-Bot-Api-Secret-Token"))) {
      log::warn("webhook.bad_secret", {{"channel", "telegram"}, {"request_id", request_id_of(res)}});
      return send_error(res, 403, "forbidden", "wrong X-Telegram-Bot-Api-Secret-Token");
    }
    auto r = hub->telegram_update(req.body);
    if (!r) return send_error(res, r.error());
    send_json(res, 200, result_json(*r));
  });

  server.Get("/api/v1/outbox", [&ctx](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(ctx, req, res, {access::Role::owner, access::Role::operator_})) return;
    std::optional<std::string> status;
    if (req.has_param("status")) {
      status = req.get_param_value("status");
      if (*status != "pending" && *status != "sent" && *status != "delivered" && *status != "read" && *status != "failed") {
        return send_error(res, 400, "bad_request", "status must be pending, sent, delivered, read or failed");
      }
    }
    std::int64_t limit = 50, before = INT64_MAX;
    for (auto [name, target, max] : {std::tuple{"limit", &limit, std::int64_t{500}}, std::tuple{"before", &before, INT64_MAX}}) {
      if (!req.has_param(name)) continue;
      const std::string v = req.get_param_value(name);
      auto r = std::from_chars(v.data(), v.data() + v.size(), *target);
      if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size() || *target < 1 || *target > max) {
        return send_error(res, 400, "bad_request", std::string(name) + " must be a positive integer");
      }
    }
    storage::OutboxStore store(ctx.services.shop->database());
    auto rows = store.list(status, before, static_cast<int>(limit));
    if (!rows) return send_error(res, rows.error());
    auto counts = store.counts();
    if (!counts) return send_error(res, counts.error());
    json list = json::array();
    for (const auto& r : *rows) {
      // Never the body: it is the customer's message.
      list.push_back({{"id", r.id},
                      {"channel", r.channel},
                      {"kind", r.kind},
                      {"status", r.status},
                      {"attempts", r.attempts},
                      {"last_error", r.last_error.empty() ? json(nullptr) : json(r.last_error)},
                      {"external_id", r.external_id.empty() ? json(nullptr) : json(r.external_id)},
                      {"created_at", format_rfc3339(TimePoint(std::chrono::seconds(r.created_at)))},
                      {"updated_at", format_rfc3339(TimePoint(std::chrono::seconds(r.updated_at)))}});
    }
    json body = {{"messages", list},
                 {"counts", {{"pending", counts->pending}, {"sent", counts->sent}, {"delivered", counts->delivered},
                             {"read", counts->read}, {"failed", counts->failed}}}};
    body["next"] = static_cast<std::int64_t>(rows->size()) == limit && !rows->empty() ? json(rows->back().id) : json(nullptr);
    send_json(res, 200, body);
  });
}

}  // namespace comptoir::http

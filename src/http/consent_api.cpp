// Admin API for consent: a customer's consent ledger (owner) and marketing messages to the
// customers who consented (owner, operator). The auditor sees neither: the audit log records
// each read of a ledger and each send, without the personal data.
#include <charconv>
#include <map>

#include "src/chat/marketing.h"
#include "src/commerce/consent.h"
#include "src/common/log.h"
#include "src/common/text.h"
#include "src/http/internal.h"

namespace comptoir::http {

using access::Role;
using nlohmann::json;

namespace {

std::string iso(std::int64_t unix) { return format_rfc3339(TimePoint(std::chrono::seconds(unix))); }

}  // namespace

void install_consent_routes(httplib::Server& server, Context& ctx) {
  if (ctx.services.consent != nullptr) {
    server.Get(R"(/api/v1/customers/([0-9]{1,18})/consents)", [&ctx](const httplib::Request& req, httplib::Response& res) {
      auto who = authorize(ctx, req, res, {Role::owner});
      if (!who) return;
      std::int64_t id = 0;
      const std::string raw = req.matches[1];
      auto parsed = std::from_chars(raw.data(), raw.data() + raw.size(), id);
      if (parsed.ec != std::errc() || id < 1) return send_error(res, 404, "not_found", "no such customer");
      commerce::ConsentLedger& ledger = *ctx.services.consent;
      json records = json::array();
      commerce::MarketingStatus marketing;
      bool exists = false;
      std::string subject;
      auto st = ledger.database().read([&](storage::Tx& tx) -> Status {
        records = json::array();
        auto c = ctx.services.shop != nullptr ? ctx.services.shop->customers().by_id(tx, id)
                                              : Result<std::optional<commerce::Customer>>(std::nullopt);
        if (!c) return std::unexpected(c.error());
        subject = c->has_value() ? (*c)->subject_id : std::string();
        auto history = ledger.history(tx, id);
        if (!history) return std::unexpected(history.error());
        exists = c->has_value() || !history->empty();
        for (const auto& e : *history) {
          records.push_back({{"id", e.id},
                             {"kind", std::string(commerce::to_string(e.kind))},
                             {"notice_version", e.notice_version},
                             {"language", e.language},
                             {"channel", std::string(privacy::to_string(e.channel))},
                             {"order", e.order_number.empty() ? json(nullptr) : json(e.order_number)},
                             {"at", iso(e.at)}});
        }
        auto m = ledger.marketing(tx, id);
        if (!m) return std::unexpected(m.error());
        marketing = *m;
        return ok();
      });
      if (!st) return send_error(res, st.error());
      if (!exists) return send_error(res, 404, "not_found", "no such customer");
      audit::Event e;
      e.actor = actor_of(*who);
      e.action = "consents.read";
      e.resource = "customer:" + std::to_string(id);
      e.subject = subject;
      e.purpose = "Art. 7(1) proof of consent";
      e.counts = {{"records", static_cast<std::int64_t>(records.size())}};
      if (!audited(ctx, res, e)) return;
      send_json(res, 200,
                {{"customer_id", id},
                 {"marketing", {{"state", std::string(commerce::to_string(marketing.state))},
                                {"since", marketing.since > 0 ? json(iso(marketing.since)) : json(nullptr)}}},
                 {"records", records}});
    });
  }

  if (ctx.services.marketing != nullptr) {
    server.Post("/api/v1/marketing/messages", [&ctx](const httplib::Request& req, httplib::Response& res) {
      auto who = authorize(ctx, req, res, {Role::owner, Role::operator_});
      if (!who) return;
      auto body = json_body(req, res);
      if (!body) return;
      for (auto it = body->begin(); it != body->end(); ++it) {
        if (it.key() != "text") {
          return send_error(res, 400, "bad_request", "unknown field \"" + text::utf8_truncate(it.key(), 40) + "\"; send {\"text\": {\"en\": …}}");
        }
      }
      if (!body->contains("text") || !(*body)["text"].is_object()) {
        return send_error(res, 400, "bad_request", "text must be an object of language → text");
      }
      std::map<std::string, std::string> text;
      for (auto it = (*body)["text"].begin(); it != (*body)["text"].end(); ++it) {
        if (!it->is_string()) return send_error(res, 400, "bad_request", "text." + text::utf8_truncate(it.key(), 10) + " must be a string");
        text[it.key()] = it->get<std::string>();
      }
      auto queued = ctx.services.marketing->queue(text, [&](storage::Tx& tx, int n) -> Status {
        if (ctx.services.audit == nullptr) return ok();
        audit::Event e;
        e.actor = actor_of(*who);
        e.action = "marketing.queued";
        e.resource = "marketing";
        e.purpose = "consent (Art. 6(1)(a))";
        e.counts = {{"customers", n}, {"languages", static_cast<std::int64_t>(text.size())}};
        return ctx.services.audit->record(tx, e);
      });
      if (!queued) return send_error(res, queued.error());
      log::info("marketing.queued", {{"customers", *queued}, {"languages", static_cast<std::int64_t>(text.size())}, {"token_id", who->token_id}});
      send_json(res, 202, {{"queued", *queued}});
    });
  }
}

}  // namespace comptoir::http

// GET /api/v1/records-of-processing (owner, auditor): the Art. 30(1) records of processing,
// generated from the data inventory (privacy/ropa.h). ?format=json (default) or md;
// ?lang=en|fr|de for the inventory's texts. Holds no customer data.
#include "privacy/ropa.h"
#include "src/http/internal.h"

namespace comptoir::http {

using access::Role;

void install_ropa_routes(httplib::Server& server, Context& ctx) {
  if (ctx.services.inventory == nullptr) return;
  server.Get("/api/v1/records-of-processing", [&ctx](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(ctx, req, res, {Role::owner, Role::auditor})) return;
    for (const auto& [name, value] : req.params) {
      if (name != "format" && name != "lang") {
        return send_error(res, 400, "bad_request", "unknown parameter; use format=json|md and lang=en|fr|de");
      }
    }
    const std::string format = req.has_param("format") ? req.get_param_value("format") : "json";
    const std::string lang = req.has_param("lang") ? req.get_param_value("lang") : "en";
    if (format != "json" && format != "md") return send_error(res, 400, "bad_request", "format must be json or md");
    if (lang != "en" && lang != "fr" && lang != "de") return send_error(res, 400, "bad_request", "lang must be en, fr or de");
    privacy::RopaContext rc;
    rc.shop_name = ctx.services.shop_name;
    rc.shop_contact = ctx.services.shop_contact;
    rc.language = lang;
    rc.generated_at = unix_seconds(ctx.services.clock != nullptr ? ctx.services.clock->now() : system_clock().now());
    if (format == "md") {
      res.status = 200;
      res.set_content(privacy::ropa_markdown(*ctx.services.inventory, rc), "text/markdown; charset=utf-8");
      return;
    }
    res.status = 200;
    res.set_content(privacy::ropa_json(*ctx.services.inventory, rc), "application/json");
  });
}

}  // namespace comptoir::http

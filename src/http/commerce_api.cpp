// Admin API for the catalog and orders (owner and operator; auditors have no access).
#include <charconv>

#include "src/commerce/catalog_json.h"
#include "src/common/log.h"
#include "src/http/internal.h"

namespace comptoir::http {

using access::Role;
using nlohmann::json;

namespace {

std::string iso(std::int64_t unix) { return format_rfc3339(TimePoint(std::chrono::seconds(unix))); }

json order_json(const storage::OrderRecord& o, const std::optional<commerce::OrderDetails>& details) {
  json lines = json::array();
  for (const auto& l : o.lines) {
    lines.push_back({{"sku", l.sku},
                     {"name", l.name},
                     {"unit_price", l.unit_price},
                     {"quantity", l.quantity},
                     {"vat_rate", commerce::vat_rate_to_json(l.vat_rate)},
                     {"line_total", l.line_total}});
  }
  json vat = json::array();
  for (const auto& v : o.vat) {
    vat.push_back({{"rate", commerce::vat_rate_to_json(v.vat_rate)}, {"net", v.net}, {"vat", v.vat}, {"gross", v.gross}});
  }
  json j = {{"number", o.number},
            {"customer_id", o.customer_id ? json(*o.customer_id) : json(nullptr)},
            {"status", o.status},
            {"fulfilment", o.fulfilment},
            {"currency", o.currency},
            {"language", o.language},
            {"items_total", o.items_total},
            {"delivery_fee", o.delivery_fee},
            {"total", o.total},
            {"vat_total", o.vat_total},
            {"vat", vat},
            {"lines", lines},
            {"created_at", iso(o.created_at)},
            {"updated_at", iso(o.updated_at)},
            {"has_delivery_details", !o.recipient_name_sealed.empty() || !o.delivery_address_sealed.empty()}};
  if (details) {
    json d = nullptr;
    if (details->recipient_name || details->delivery_address) {
      d = {{"recipient_name", details->recipient_name ? json(*details->recipient_name) : json(nullptr)},
           {"address", details->delivery_address ? json(*details->delivery_address) : json(nullptr)}};
    }
    j["delivery"] = d;
  }
  return j;
}

std::optional<std::int64_t> int_param(const httplib::Request& req, const char* name, std::int64_t min, std::int64_t max,
                                      httplib::Response& res, bool& bad) {
  if (!req.has_param(name)) return std::nullopt;
  const std::string v = req.get_param_value(name);
  std::int64_t out = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size() || out < min || out > max) {
    send_error(res, 400, "bad_request",
               std::string(name) + " must be an integer between " + std::to_string(min) + " and " + std::to_string(max));
    bad = true;
    return std::nullopt;
  }
  return out;
}

// "2026-11-28" or an RFC 3339 time → unix seconds.
std::optional<std::int64_t> time_param(const httplib::Request& req, const char* name, httplib::Response& res, bool& bad) {
  if (!req.has_param(name)) return std::nullopt;
  std::string v = req.get_param_value(name);
  if (v.size() == 10) v += "T00:00:00Z";
  auto t = parse_rfc3339(v);
  if (!t) {
    send_error(res, 400, "bad_request", std::string(name) + " must be a date (YYYY-MM-DD) or an RFC 3339 time");
    bad = true;
    return std::nullopt;
  }
  return unix_seconds(*t);
}

}  // namespace

void install_commerce_routes(httplib::Server& server, Context& ctx) {
  if (ctx.services.shop == nullptr) return;
  commerce::Shop& shop = *ctx.services.shop;
  const std::string lang = ctx.services.default_language;

  server.Get("/api/v1/categories", [&ctx, &shop, lang](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(ctx, req, res, {Role::owner, Role::operator_})) return;
    auto cats = shop.catalog().categories();
    if (!cats) return send_error(res, cats.error());
    json list = json::array();
    for (const auto& c : *cats) {
      json names = json::object();
      for (const auto& n : c.names) names[n.lang] = n.name;
      list.push_back({{"id", c.id}, {"position", c.position}, {"names", names}});
    }
    send_json(res, 200, {{"categories", list}});
  });

  server.Put(R"(/api/v1/categories/([A-Za-z0-9._-]{1,40}))", [&ctx, &shop](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(ctx, req, res, {Role::owner, Role::operator_})) return;
    auto body = json_body(req, res);
    if (!body) return;
    storage::CategoryRecord c;
    c.id = req.matches[1];
    if (!body->contains("name") || !(*body)["name"].is_object() || (*body)["name"].empty()) {
      return send_error(res, 400, "bad_request", "name must be an object of language → name");
    }
    for (auto it = (*body)["name"].begin(); it != (*body)["name"].end(); ++it) {
      if (!it->is_string() || it->get<std::string>().empty() || it->get<std::string>().size() > 80 || it.key().size() != 2) {
        return send_error(res, 400, "bad_request", "name." + it.key() + " must be a non-empty string (two-letter language code)");
      }
      c.names.push_back({it.key(), it->get<std::string>(), ""});
    }
    if (body->contains("position")) {
      if (!(*body)["position"].is_number_integer()) return send_error(res, 400, "bad_request", "position must be an integer");
      c.position = (*body)["position"].get<int>();
    }
    auto st = shop.database().write([&](storage::Tx& tx) { return shop.catalog().upsert_category(tx, c); });
    if (!st) return send_error(res, st.error());
    send_json(res, 200, {{"id", c.id}});
  });

  server.Get("/api/v1/products", [&ctx, &shop, lang](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(ctx, req, res, {Role::owner, Role::operator_})) return;
    storage::ProductQuery q;
    bool bad = false;
    if (req.has_param("category")) q.category = req.get_param_value("category");
    if (req.has_param("q")) q.text = req.get_param_value("q");
    if (req.has_param("active")) {
      const auto a = req.get_param_value("active");
      if (a != "true" && a != "false") return send_error(res, 400, "bad_request", "active must be true or false");
      q.active_only = a == "true";
      q.inactive_only = a == "false";
    }
    if (auto l = int_param(req, "limit", 1, 1000, res, bad)) q.limit = static_cast<int>(*l);
    if (auto o = int_param(req, "offset", 0, 1000000, res, bad)) q.offset = static_cast<int>(*o);
    if (bad) return;
    auto rows = shop.catalog().products(q);
    if (!rows) return send_error(res, rows.error());
    json list = json::array();
    for (const auto& p : *rows) list.push_back(commerce::product_to_json(p, lang));
    send_json(res, 200, {{"products", list}});
  });

  server.Post("/api/v1/products", [&ctx, &shop, lang](const httplib::Request& req, httplib::Response& res) {
    auto who = authorize(ctx, req, res, {Role::owner, Role::operator_});
    if (!who) return;
    auto body = json_body(req, res);
    if (!body) return;
    auto p = commerce::product_from_json(*body, lang, shop.settings().currency);
    if (!p) return send_error(res, p.error());
    if (p->currency != shop.settings().currency) {
      return send_error(res, 400, "bad_request", "currency: the shop sells in " + shop.settings().currency);
    }
    p->updated_at = unix_seconds(ctx.services.clock->now());
    auto inserted = shop.catalog().insert_product(*p);
    if (!inserted) return send_error(res, inserted.error());
    if (!*inserted) return send_error(res, 409, "conflict", "a product with SKU " + p->sku + " exists; use PUT or PATCH");
    log::info("product.created", {{"sku", p->sku}, {"token_id", who->token_id}});
    res.set_header("Location", "/api/v1/products/" + p->sku);
    send_json(res, 201, commerce::product_to_json(*p, lang));
  });

  const std::string kSkuPath = R"(/api/v1/products/([A-Za-z0-9._-]{1,40}))";

  server.Get(kSkuPath, [&ctx, &shop, lang](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(ctx, req, res, {Role::owner, Role::operator_})) return;
    auto p = shop.catalog().product(req.matches[1]);
    if (!p) return send_error(res, p.error());
    if (!p->has_value()) return send_error(res, 404, "not_found", "no product with this SKU");
    send_json(res, 200, commerce::product_to_json(**p, lang));
  });

  server.Put(kSkuPath, [&ctx, &shop, lang](const httplib::Request& req, httplib::Response& res) {
    auto who = authorize(ctx, req, res, {Role::owner, Role::operator_});
    if (!who) return;
    auto body = json_body(req, res);
    if (!body) return;
    const std::string sku = req.matches[1];
    if (!body->contains("sku")) (*body)["sku"] = sku;
    if ((*body)["sku"] != sku) return send_error(res, 400, "bad_request", "sku in the body differs from the URL");
    auto p = commerce::product_from_json(*body, lang, shop.settings().currency);
    if (!p) return send_error(res, p.error());
    if (p->currency != shop.settings().currency) {
      return send_error(res, 400, "bad_request", "currency: the shop sells in " + shop.settings().currency);
    }
    p->updated_at = unix_seconds(ctx.services.clock->now());
    auto existing = shop.catalog().product(sku);
    if (!existing) return send_error(res, existing.error());
    if (auto st = shop.catalog().upsert_product(*p); !st) return send_error(res, st.error());
    log::info("product.replaced", {{"sku", sku}, {"token_id", who->token_id}});
    send_json(res, existing->has_value() ? 200 : 201, commerce::product_to_json(*p, lang));
  });

  server.Patch(kSkuPath, [&ctx, &shop, lang](const httplib::Request& req, httplib::Response& res) {
    auto who = authorize(ctx, req, res, {Role::owner, Role::operator_});
    if (!who) return;
    auto body = json_body(req, res);
    if (!body) return;
    const std::string sku = req.matches[1];
    Result<storage::ProductRecord> out = fail(Errc::internal, "not run");
    auto st = shop.database().write([&](storage::Tx& tx) -> Status {
      out = fail(Errc::internal, "not run");  // Database::write may run this more than once
      auto existing = shop.catalog().product(tx, sku);
      if (!existing) return std::unexpected(existing.error());
      if (!existing->has_value()) return fail(Errc::not_found, "no product", "no product with this SKU");
      out = commerce::patch_product(**existing, *body, lang);
      if (!out) return std::unexpected(out.error());
      if (out->currency != shop.settings().currency) {
        return fail(Errc::invalid_argument, "currency", "currency: the shop sells in " + shop.settings().currency);
      }
      out->updated_at = unix_seconds(ctx.services.clock->now());
      return shop.catalog().upsert_product(tx, *out);
    });
    if (!st) return send_error(res, st.error());
    log::info("product.updated", {{"sku", sku}, {"token_id", who->token_id}});
    send_json(res, 200, commerce::product_to_json(*out, lang));
  });

  server.Delete(kSkuPath, [&ctx, &shop](const httplib::Request& req, httplib::Response& res) {
    auto who = authorize(ctx, req, res, {Role::owner, Role::operator_});
    if (!who) return;
    auto deleted = shop.catalog().delete_product(req.matches[1]);
    if (!deleted) return send_error(res, deleted.error());
    if (!*deleted) return send_error(res, 404, "not_found", "no product with this SKU");
    log::info("product.deleted", {{"sku", std::string(req.matches[1])}, {"token_id", who->token_id}});
    res.status = 204;
  });

  server.Get("/api/v1/orders", [&ctx, &shop](const httplib::Request& req, httplib::Response& res) {
    auto who = authorize(ctx, req, res, {Role::owner, Role::operator_});
    if (!who) return;
    storage::OrderQuery q;
    bool bad = false;
    if (req.has_param("status")) {
      commerce::OrderStatus s;
      if (!commerce::parse_status(req.get_param_value("status"), s)) {
        return send_error(res, 400, "bad_request", "status must be placed, accepted, ready, shipped, completed or cancelled");
      }
      q.status = req.get_param_value("status");
    }
    q.created_from = time_param(req, "from", res, bad);
    if (bad) return;
    q.created_until = time_param(req, "to", res, bad);
    if (bad) return;
    if (auto l = int_param(req, "limit", 1, 200, res, bad)) q.limit = static_cast<int>(*l);
    if (bad) return;
    if (req.has_param("before")) {
      const std::string b = req.get_param_value("before");
      auto o = shop.orders().by_number(b);
      if (!o) return send_error(res, o.error());
      if (!o->has_value()) return send_error(res, 400, "bad_request", "before must be an order number from a previous page");
      q.before_id = (*o)->id;
    }
    const int page = q.limit;
    q.limit = page + 1;  // one more tells whether a next page exists
    auto rows = shop.orders().list(q);
    if (!rows) return send_error(res, rows.error());
    const bool more = static_cast<int>(rows->size()) > page;
    if (more) rows->pop_back();
    json list = json::array();
    for (const auto& o : *rows) list.push_back(order_json(o, std::nullopt));
    audit::Event e;
    e.actor = actor_of(*who);
    e.action = "orders.listed";
    e.resource = "orders";
    e.purpose = "contract";
    e.counts = {{"orders", static_cast<std::int64_t>(rows->size())}};
    if (!audited(ctx, res, e)) return;
    json body = {{"orders", list}};
    body["next"] = more ? json(rows->back().number) : json(nullptr);
    send_json(res, 200, body);
  });

  const std::string kOrderPath = R"(/api/v1/orders/(C-[0-9]{6,12}))";

  server.Get(kOrderPath, [&ctx, &shop](const httplib::Request& req, httplib::Response& res) {
    auto who = authorize(ctx, req, res, {Role::owner, Role::operator_});
    if (!who) return;
    Result<commerce::OrderDetails> details = fail(Errc::internal, "not run");
    std::string subject;
    auto st = shop.database().read([&](storage::Tx& tx) -> Status {
      auto o = shop.orders().by_number(tx, req.matches[1]);
      if (!o) return std::unexpected(o.error());
      if (!o->has_value()) return fail(Errc::not_found, "no order", "no order with this number");
      details = shop.details(tx, **o);
      if (!details) return std::unexpected(details.error());
      subject.clear();
      if ((*o)->customer_id) {
        auto c = shop.customers().by_id(tx, *(*o)->customer_id);
        if (!c) return std::unexpected(c.error());
        if (c->has_value()) subject = (*c)->subject_id;
      }
      return ok();
    });
    if (!st) return send_error(res, st.error());
    audit::Event e;
    e.actor = actor_of(*who);
    e.action = "order.read";
    e.resource = "order:" + details->order.number;
    e.subject = subject;
    e.purpose = "contract";
    e.details = {{"delivery_details", details->recipient_name || details->delivery_address ? "shown" : "none"}};
    if (!audited(ctx, res, e)) return;
    send_json(res, 200, order_json(details->order, *details));
  });

  server.Post(kOrderPath + "/status", [&ctx, &shop](const httplib::Request& req, httplib::Response& res) {
    auto who = authorize(ctx, req, res, {Role::owner, Role::operator_});
    if (!who) return;
    auto body = json_body(req, res);
    if (!body) return;
    commerce::OrderStatus to;
    if (!body->contains("status") || !(*body)["status"].is_string() ||
        !commerce::parse_status((*body)["status"].get<std::string>(), to)) {
      return send_error(res, 400, "bad_request", "status must be placed, accepted, ready, shipped, completed or cancelled");
    }
    auto o = shop.change_status(std::string(req.matches[1]), to);
    if (!o) return send_error(res, o.error());
    log::info("order.status_changed", {{"order", o->number}, {"status", o->status}, {"token_id", who->token_id}});
    send_json(res, 200, order_json(*o, std::nullopt));
  });
}

}  // namespace comptoir::http

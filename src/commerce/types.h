// Commerce domain types: money in integer minor units (VAT included, as EU consumer prices are),
// VAT rates in basis points (2000 = 20 %), order statuses and their allowed transitions.
// Plain values; thread-safe to copy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace comptoir::commerce {

enum class Fulfilment { pickup, delivery };
std::string_view to_string(Fulfilment f);
bool parse_fulfilment(std::string_view text, Fulfilment& out);

enum class OrderStatus { placed, accepted, ready, shipped, completed, cancelled };
std::string_view to_string(OrderStatus s);
bool parse_status(std::string_view text, OrderStatus& out);
// placed → accepted | cancelled; accepted → ready | shipped | cancelled;
// ready → completed | cancelled; shipped → completed; completed, cancelled: final.
bool transition_allowed(OrderStatus from, OrderStatus to);
// The same, for an order of this fulfilment: "ready" (for pickup) is for pickup orders only,
// "shipped" for delivery orders only.
bool transition_allowed(OrderStatus from, OrderStatus to, Fulfilment fulfilment);

struct VatLine {
  int rate = 0;  // basis points
  std::int64_t net = 0;
  std::int64_t vat = 0;
  std::int64_t gross = 0;
};

struct Totals {
  std::int64_t items_total = 0;
  std::int64_t delivery_fee = 0;
  std::int64_t total = 0;
  std::int64_t vat_total = 0;
  std::vector<VatLine> vat;  // one line per rate, ascending
};

// The VAT contained in a VAT-inclusive amount, rounded half up to the minor unit.
std::int64_t vat_included(std::int64_t gross, int rate_bp);

struct PricedAmount {
  std::int64_t gross = 0;
  int rate = 0;
};
// Sums amounts per rate and derives net and VAT per rate.
Totals compute_totals(const std::vector<PricedAmount>& items, std::optional<PricedAmount> delivery);

struct ShopSettings {
  std::string currency = "EUR";
  bool pickup = true;
  bool delivery = true;
  std::int64_t delivery_fee = 490;
  int delivery_vat_rate = 2000;
  std::int64_t free_delivery_from = 0;  // 0 = never free
  int max_line_quantity = 99;
  std::vector<std::string> languages = {"en", "fr", "de"};
  std::string default_language = "en";
};

}  // namespace comptoir::commerce

#include "src/commerce/types.h"

#include <map>

namespace comptoir::commerce {

std::string_view to_string(Fulfilment f) { return f == Fulfilment::pickup ? "pickup" : "delivery"; }

bool parse_fulfilment(std::string_view text, Fulfilment& out) {
  if (text == "pickup") out = Fulfilment::pickup;
  else if (text == "delivery") out = Fulfilment::delivery;
  else return false;
  return true;
}

std::string_view to_string(OrderStatus s) {
  switch (s) {
    case OrderStatus::placed: return "placed";
    case OrderStatus::accepted: return "accepted";
    case OrderStatus::ready: return "ready";
    case OrderStatus::shipped: return "shipped";
    case OrderStatus::completed: return "completed";
    case OrderStatus::cancelled: return "cancelled";
  }
  return "placed";
}

bool parse_status(std::string_view text, OrderStatus& out) {
  for (auto s : {OrderStatus::placed, OrderStatus::accepted, OrderStatus::ready, OrderStatus::shipped,
                 OrderStatus::completed, OrderStatus::cancelled}) {
    if (to_string(s) == text) {
      out = s;
      return true;
    }
  }
  return false;
}

bool transition_allowed(OrderStatus from, OrderStatus to) {
  switch (from) {
    case OrderStatus::placed: return to == OrderStatus::accepted || to == OrderStatus::cancelled;
    case OrderStatus::accepted:
      return to == OrderStatus::ready || to == OrderStatus::shipped || to == OrderStatus::cancelled;
    case OrderStatus::ready: return to == OrderStatus::completed || to == OrderStatus::cancelled;
    case OrderStatus::shipped: return to == OrderStatus::completed;
    case OrderStatus::completed:
    case OrderStatus::cancelled: return false;
  }
  return false;
}

bool transition_allowed(OrderStatus from, OrderStatus to, Fulfilment fulfilment) {
  if (to == OrderStatus::ready && fulfilment != Fulfilment::pickup) return false;
  if (to == OrderStatus::shipped && fulfilment != Fulfilment::delivery) return false;
  return transition_allowed(from, to);
}

std::int64_t vat_included(std::int64_t gross, int rate_bp) {
  if (rate_bp <= 0 || gross <= 0) return 0;
  const std::int64_t denom = 10000 + rate_bp;
  return (gross * rate_bp * 2 + denom) / (2 * denom);
}

Totals compute_totals(const std::vector<PricedAmount>& items, std::optional<PricedAmount> delivery) {
  Totals t;
  std::map<int, std::int64_t> gross_by_rate;
  for (const auto& i : items) {
    gross_by_rate[i.rate] += i.gross;
    t.items_total += i.gross;
  }
  if (delivery && delivery->gross > 0) {
    gross_by_rate[delivery->rate] += delivery->gross;
    t.delivery_fee = delivery->gross;
  }
  for (const auto& [rate, gross] : gross_by_rate) {
    VatLine v;
    v.rate = rate;
    v.gross = gross;
    v.vat = vat_included(gross, rate);
    v.net = gross - v.vat;
    t.vat_total += v.vat;
    t.vat.push_back(v);
  }
  t.total = t.items_total + t.delivery_fee;
  return t;
}

}  // namespace comptoir::commerce

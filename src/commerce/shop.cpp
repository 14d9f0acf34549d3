#include "src/commerce/shop.h"

#include <algorithm>
#include <cctype>

#include "src/common/text.h"

namespace comptoir::commerce {

using storage::Tx;

std::int64_t CartView::item_count() const {
  std::int64_t n = 0;
  for (const auto& l : lines) n += l.quantity;
  return n;
}

Status validate_recipient_name(std::string_view name) {
  const auto t = text::trim(name);
  if (t.empty()) return fail(Errc::invalid_argument, "empty name");
  if (!text::is_valid_utf8(t) || !text::no_control_chars(t, false)) return fail(Errc::invalid_argument, "invalid characters");
  if (text::utf8_length(t) > kMaxNameChars) return fail(Errc::invalid_argument, "name too long");
  return ok();
}

Status validate_address(std::string_view address) {
  const auto t = text::trim(address);
  if (text::utf8_length(t) < 5) return fail(Errc::invalid_argument, "address too short");
  if (!text::is_valid_utf8(t) || !text::no_control_chars(t, true)) return fail(Errc::invalid_argument, "invalid characters");
  if (text::utf8_length(t) > kMaxAddressChars) return fail(Errc::invalid_argument, "address too long");
  return ok();
}

Shop::Shop(storage::Database& db, CustomerDirectory& customers, ShopSettings settings, const Clock& clock)
    : db_(db), customers_(customers), catalog_(db), carts_(db), orders_(db), settings_(std::move(settings)),
      clock_(clock) {}

namespace {

const storage::LocalizedName* pick(const std::vector<storage::LocalizedName>& texts, const std::string& lang,
                                   const std::string& fallback) {
  for (const auto& t : texts) {
    if (t.lang == lang) return &t;
  }
  for (const auto& t : texts) {
    if (t.lang == fallback) return &t;
  }
  return texts.empty() ? nullptr : &texts.front();
}

}  // namespace

ProductView Shop::view(const storage::ProductRecord& p, const std::string& lang) const {
  ProductView v;
  v.sku = p.sku;
  v.category = p.category;
  if (const auto* t = pick(p.texts, lang, settings_.default_language)) {
    v.name = t->name;
    v.description = t->description;
  } else {
    v.name = p.sku;
  }
  v.price = p.price;
  v.currency = p.currency;
  v.vat_rate = p.vat_rate;
  v.stock = p.stock;
  v.active = p.active;
  return v;
}

Result<std::vector<CategoryView>> Shop::categories(Tx& tx, const std::string& lang) {
  auto cats = catalog_.categories(tx);
  if (!cats) return std::unexpected(cats.error());
  std::vector<CategoryView> out;
  for (const auto& c : *cats) {
    storage::ProductQuery q;
    q.category = c.id;
    q.active_only = true;
    auto n = catalog_.count_products(tx, q);
    if (!n) return std::unexpected(n.error());
    if (*n == 0) continue;  // empty categories are not shown to customers
    const auto* name = pick(c.names, lang, settings_.default_language);
    out.push_back({c.id, name ? name->name : c.id, *n});
  }
  return out;
}

Result<ProductPage> Shop::products_in(Tx& tx, const std::string& category, const std::string& lang, int page,
                                      int page_size) {
  storage::ProductQuery q;
  q.category = category;
  q.active_only = true;
  auto total = catalog_.count_products(tx, q);
  if (!total) return std::unexpected(total.error());
  ProductPage out;
  out.total = *total;
  out.pages = static_cast<int>((*total + page_size - 1) / page_size);
  out.page = std::clamp(page, 0, std::max(0, out.pages - 1));
  q.offset = out.page * page_size;
  q.limit = page_size;
  auto rows = catalog_.products(tx, q);
  if (!rows) return std::unexpected(rows.error());
  for (const auto& p : *rows) out.items.push_back(view(p, lang));
  return out;
}

Result<std::optional<ProductView>> Shop::product(Tx& tx, const std::string& sku, const std::string& lang) {
  auto p = catalog_.product(tx, sku);
  if (!p) return std::unexpected(p.error());
  if (!p->has_value()) return std::optional<ProductView>();
  return std::optional<ProductView>(view(**p, lang));
}

Result<std::vector<ProductView>> Shop::search(Tx& tx, const std::string& query, const std::string& lang, int limit) {
  const auto words = text::split_words(text::fold(query));
  std::vector<ProductView> out;
  if (words.empty()) return out;
  storage::ProductQuery q;
  q.active_only = true;
  q.limit = 100000;
  auto rows = catalog_.products(tx, q);
  if (!rows) return std::unexpected(rows.error());
  for (const auto& p : *rows) {
    std::string haystack = text::fold(p.sku);
    for (const auto& t : p.texts) {
      haystack += ' ';
      haystack += text::fold(t.name);
      haystack += ' ';
      haystack += text::fold(t.description);
    }
    const bool all = std::all_of(words.begin(), words.end(),
                                 [&](const std::string& w) { return haystack.find(w) != std::string::npos; });
    if (all) {
      out.push_back(view(p, lang));
      if (static_cast<int>(out.size()) >= limit) break;
    }
  }
  return out;
}

Result<std::optional<ProductView>> Shop::resolve(Tx& tx, const std::string& sku_or_name, const std::string& lang) {
  const std::string wanted = std::string(text::trim(sku_or_name));
  if (wanted.empty()) return std::optional<ProductView>();
  storage::ProductQuery q;
  q.active_only = true;
  q.limit = 100000;
  auto rows = catalog_.products(tx, q);
  if (!rows) return std::unexpected(rows.error());
  const std::string folded = text::fold(wanted);
  for (const auto& p : *rows) {
    if (text::fold(p.sku) == folded) return std::optional<ProductView>(view(p, lang));
  }
  // An exact name in any language, else a unique match of all words.
  for (const auto& p : *rows) {
    for (const auto& t : p.texts) {
      if (text::fold(t.name) == folded) return std::optional<ProductView>(view(p, lang));
    }
  }
  auto found = search(tx, wanted, lang, 2);
  if (!found) return std::unexpected(found.error());
  if (found->size() == 1) return std::optional<ProductView>(found->front());
  return std::optional<ProductView>();
}

Result<CartView> Shop::cart(Tx& tx, std::int64_t customer_id, const std::string& lang, Fulfilment fulfilment) {
  auto lines = carts_.lines(tx, customer_id);
  if (!lines) return std::unexpected(lines.error());
  CartView v;
  v.currency = settings_.currency;
  std::vector<PricedAmount> amounts;
  for (const auto& l : *lines) {
    auto p = catalog_.product(tx, l.sku);
    if (!p) return std::unexpected(p.error());
    if (!p->has_value()) continue;  // deleted product: the line is dropped from view
    const ProductView pv = view(**p, lang);
    CartLineView line;
    line.sku = pv.sku;
    line.name = pv.name;
    line.unit_price = pv.price;
    line.quantity = l.quantity;
    line.line_total = pv.price * l.quantity;
    line.vat_rate = pv.vat_rate;
    line.stock = pv.stock;
    line.available = pv.active;
    if (line.available) amounts.push_back({line.line_total, line.vat_rate});
    v.lines.push_back(std::move(line));
  }
  std::optional<PricedAmount> delivery;
  if (fulfilment == Fulfilment::delivery) {
    std::int64_t items = 0;
    for (const auto& a : amounts) items += a.gross;
    const bool free = settings_.free_delivery_from > 0 && items >= settings_.free_delivery_from;
    delivery = PricedAmount{free ? 0 : settings_.delivery_fee, settings_.delivery_vat_rate};
  }
  v.totals = compute_totals(amounts, delivery);
  return v;
}

Result<AddResult> Shop::add_to_cart(Tx& tx, std::int64_t customer_id, const std::string& sku, std::int64_t quantity) {
  if (quantity < 1) return fail(Errc::invalid_argument, "quantity must be at least 1");
  auto p = catalog_.product(tx, sku);
  if (!p) return std::unexpected(p.error());
  if (!p->has_value() || !(*p)->active) return fail(Errc::not_found, "no such product");
  auto lines = carts_.lines(tx, customer_id);
  if (!lines) return std::unexpected(lines.error());
  std::int64_t current = 0;
  for (const auto& l : *lines) {
    if (l.sku == sku) current = l.quantity;
  }
  // Adding never shrinks a line: with no stock left to add, the cart stays as it was.
  const std::int64_t room = std::min<std::int64_t>(settings_.max_line_quantity, (*p)->stock);
  if (current > 0 && current >= room) return AddResult{current, true};
  return set_quantity(tx, customer_id, sku, current + quantity);
}

Result<AddResult> Shop::set_quantity(Tx& tx, std::int64_t customer_id, const std::string& sku, std::int64_t quantity) {
  if (quantity < 0) return fail(Errc::invalid_argument, "quantity must not be negative");
  AddResult r;
  if (quantity == 0) {
    if (auto st = carts_.set_quantity(tx, customer_id, sku, 0, unix_seconds(clock_.now())); !st) {
      return std::unexpected(st.error());
    }
    return r;
  }
  auto p = catalog_.product(tx, sku);
  if (!p) return std::unexpected(p.error());
  if (!p->has_value() || !(*p)->active) return fail(Errc::not_found, "no such product");
  std::int64_t capped = std::min<std::int64_t>(quantity, settings_.max_line_quantity);
  capped = std::min(capped, (*p)->stock);
  r.capped = capped < quantity;
  r.quantity = capped;
  if (auto st = carts_.set_quantity(tx, customer_id, sku, capped, unix_seconds(clock_.now())); !st) {
    return std::unexpected(st.error());
  }
  return r;
}

Status Shop::clear_cart(Tx& tx, std::int64_t customer_id) { return carts_.clear(tx, customer_id); }

Result<PlaceResult> Shop::place_order(Tx& tx, const Customer& customer, Fulfilment fulfilment,
                                      const std::optional<DeliveryDetails>& delivery) {
  PlaceResult result;
  if (fulfilment == Fulfilment::delivery) {
    if (!settings_.delivery) return fail(Errc::invalid_argument, "delivery is not offered");
    if (!delivery) return fail(Errc::invalid_argument, "delivery needs a recipient name and an address");
    if (auto st = validate_recipient_name(delivery->recipient_name); !st) return std::unexpected(st.error());
    if (auto st = validate_address(delivery->address); !st) return std::unexpected(st.error());
  } else if (!settings_.pickup) {
    return fail(Errc::invalid_argument, "pickup is not offered");
  }
  auto view_cart = cart(tx, customer.id, customer.language, fulfilment);
  if (!view_cart) return std::unexpected(view_cart.error());
  if (view_cart->empty()) {
    result.cart_empty = true;
    return result;
  }
  for (const auto& l : view_cart->lines) {
    if (!l.available || l.stock < l.quantity) result.unavailable.push_back(l.sku);
  }
  if (!result.unavailable.empty()) return result;

  // Take stock line by line and write the order. The cart above was read in this transaction,
  // and the database has one writer, so the stock cannot have changed since: the conditional
  // update still refuses to oversell, and should it ever refuse, the whole write fails and is
  // rolled back (Database::write) rather than leave part of an order behind. No savepoint: one
  // would make SQLite copy, and SQLCipher encrypt, every page the order touches.
  for (const auto& l : view_cart->lines) {
    auto took = catalog_.take_stock(tx, l.sku, l.quantity);
    if (!took) return std::unexpected(took.error());
    if (!*took) return fail(Errc::internal, "the stock of " + l.sku + " changed during the checkout transaction");
  }
  std::optional<storage::OrderRecord> placed;
  if (auto st = place_in(tx, customer, fulfilment, delivery, *view_cart, placed); !st) return std::unexpected(st.error());
  result.order = std::move(*placed);
  return result;
}

Status Shop::place_in(Tx& tx, const Customer& customer, Fulfilment fulfilment,
                      const std::optional<DeliveryDetails>& delivery, const CartView& view_cart,
                      std::optional<storage::OrderRecord>& placed) {
  storage::OrderRecord o;
  o.customer_id = customer.id;
  o.status = std::string(to_string(OrderStatus::placed));
  o.fulfilment = std::string(to_string(fulfilment));
  o.currency = settings_.currency;
  o.language = customer.language;
  o.items_total = view_cart.totals.items_total;
  o.delivery_fee = view_cart.totals.delivery_fee;
  o.total = view_cart.totals.total;
  o.vat_total = view_cart.totals.vat_total;
  o.created_at = o.updated_at = unix_seconds(clock_.now());
  for (const auto& l : view_cart.lines) {
    o.lines.push_back({l.sku, l.name, l.unit_price, l.quantity, l.vat_rate, l.line_total});
  }
  for (const auto& v : view_cart.totals.vat) o.vat.push_back({v.rate, v.net, v.vat, v.gross});
  auto inserted = orders_.insert(tx, std::move(o));
  if (!inserted) return std::unexpected(inserted.error());
  if (fulfilment == Fulfilment::delivery) {
    auto& vault = customers_.vault();
    auto name = vault.seal(tx, customer.subject_id, {"orders", "recipient_name", inserted->number},
                           std::string(text::trim(delivery->recipient_name)));
    if (!name) return std::unexpected(name.error());
    auto addr = vault.seal(tx, customer.subject_id, {"orders", "delivery_address", inserted->number},
                           std::string(text::trim(delivery->address)));
    if (!addr) return std::unexpected(addr.error());
    if (auto st = orders_.set_delivery(tx, inserted->id, *name, *addr, inserted->created_at); !st) {
      return std::unexpected(st.error());
    }
    inserted->recipient_name_sealed = std::move(*name);
    inserted->delivery_address_sealed = std::move(*addr);
  }
  if (auto st = carts_.clear(tx, customer.id); !st) return std::unexpected(st.error());
  placed = std::move(*inserted);
  return ok();
}


Result<std::vector<storage::OrderRecord>> Shop::customer_orders(Tx& tx, std::int64_t customer_id, int limit) {
  storage::OrderQuery q;
  q.customer_id = customer_id;
  q.limit = limit;
  return orders_.list(tx, q);
}

Result<std::optional<storage::OrderRecord>> Shop::customer_order(Tx& tx, std::int64_t customer_id,
                                                                 const std::string& number) {
  auto o = orders_.by_number(tx, number);
  if (!o) return std::unexpected(o.error());
  if (!o->has_value() || (*o)->customer_id != customer_id) return std::optional<storage::OrderRecord>();
  return o;
}

Result<storage::OrderRecord> Shop::change_status(Tx& tx, const std::string& number, OrderStatus to, bool notify) {
  auto o = orders_.by_number(tx, number);
  if (!o) return std::unexpected(o.error());
  if (!o->has_value()) return fail(Errc::not_found, "no such order", "no order " + number);
  storage::OrderRecord order = std::move(**o);
  OrderStatus from;
  if (!parse_status(order.status, from)) return fail(Errc::corrupt, "stored order has an unknown status");
  if (from == to) return order;  // repeating a change is harmless
  Fulfilment fulfilment = Fulfilment::pickup;
  parse_fulfilment(order.fulfilment, fulfilment);
  if (!transition_allowed(from, to, fulfilment)) {
    return fail(Errc::conflict, "transition not allowed",
                "an order that is " + order.status + " cannot become " + std::string(to_string(to)));
  }
  const auto now = unix_seconds(clock_.now());
  if (auto st = orders_.set_status(tx, order.id, std::string(to_string(to)), now); !st) return std::unexpected(st.error());
  if (to == OrderStatus::cancelled) {
    for (const auto& l : order.lines) {
      if (auto st = catalog_.return_stock(tx, l.sku, l.quantity); !st) return std::unexpected(st.error());
    }
  }
  order.status = std::string(to_string(to));
  order.updated_at = now;
  if (notify && listener_ && order.customer_id) {
    auto c = customers_.by_id(tx, *order.customer_id);
    if (!c) return std::unexpected(c.error());
    if (c->has_value()) {
      if (auto st = listener_(tx, order, **c); !st) return std::unexpected(st.error());
    }
  }
  return order;
}

Result<storage::OrderRecord> Shop::change_status(const std::string& number, OrderStatus to) {
  Result<storage::OrderRecord> out = fail(Errc::internal, "not run");
  auto st = db_.write([&](Tx& tx) -> Status {
    out = change_status(tx, number, to);
    if (!out) return std::unexpected(out.error());
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Result<OrderDetails> Shop::details(Tx& tx, const storage::OrderRecord& order) {
  OrderDetails d;
  d.order = order;
  if (!order.customer_id || (order.recipient_name_sealed.empty() && order.delivery_address_sealed.empty())) return d;
  auto c = customers_.by_id(tx, *order.customer_id);
  if (!c) return std::unexpected(c.error());
  if (!c->has_value()) return d;
  auto& vault = customers_.vault();
  if (!order.recipient_name_sealed.empty()) {
    auto n = vault.open(tx, (*c)->subject_id, {"orders", "recipient_name", order.number}, order.recipient_name_sealed);
    if (n) d.recipient_name = std::move(*n);
    else if (n.error().code != Errc::gone) return std::unexpected(n.error());
  }
  if (!order.delivery_address_sealed.empty()) {
    auto a = vault.open(tx, (*c)->subject_id, {"orders", "delivery_address", order.number}, order.delivery_address_sealed);
    if (a) d.delivery_address = std::move(*a);
    else if (a.error().code != Errc::gone) return std::unexpected(a.error());
  }
  return d;
}

}  // namespace comptoir::commerce

#include "src/chat/engine.h"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "src/common/json_writer.h"
#include "src/common/text.h"
#include "storage/request_store.h"

namespace comptoir::chat {

using nlohmann::json;
using storage::Tx;

namespace {

// Screens that take free text as their input.
bool awaits_text(const std::string& screen) {
  return screen == "ask_qty" || screen == "ask_setq" || screen == "search_prompt" || screen == "ask_name" ||
         screen == "ask_address";
}

// Screens of a checkout in progress (after "checkout", before the order is placed).
bool in_checkout(const std::string& screen) {
  return screen == "fulfilment" || screen == "ask_name" || screen == "ask_address" || screen == "confirm";
}

// Marketing consent is given only by tapping this option or typing its title: never by typing a
// number, so that a number meant for an earlier message can never give consent.
constexpr std::string_view kMarketingYes = "mkt:yes";
constexpr std::string_view kMarketingNo = "mkt:no";

struct State {
  std::string screen = "none";
  std::string category;
  int page = 0;
  std::string sku;
  std::string fulfilment;
  std::string name;     // delivery recipient, while checking out
  std::string address;  // delivery address, while checking out
  std::string order;
  std::string back;     // option id that "back" means here
  std::vector<Option> options;

  // The sealed form: {"v":1, "screen":…, …, "options":[[id, title], …]}.
  std::string serialize() const {
    JsonWriter w;
    w.begin_object().member("v", 1).member("screen", screen).member("category", category).member("page", page);
    w.member("sku", sku).member("ful", fulfilment).member("name", name).member("address", address);
    w.member("order", order).member("back", back).key("options").begin_array();
    for (const auto& o : options) w.begin_array().value(o.id).value(o.title).end_array();
    w.end_array();
    return w.end_object().take();
  }
  // Reads the sealed form back, straight from the text (no document tree): unknown members and
  // members of the wrong type are ignored, and anything that is not such an object (damaged or
  // empty) gives the initial state.
  static State parse(std::string_view text) {
    State s;
    Reader r(s);
    if (!json::sax_parse(text, &r) || !r.object) return State{};
    return s;
  }

 private:
  // nlohmann's SAX interface: depth 1 is the state object, depth 2 the options array, depth 3
  // one [id, title] pair.
  struct Reader : nlohmann::json_sax<json> {
    explicit Reader(State& s) : state(s) {}
    State& state;
    int depth = 0;
    bool object = false;      // the top level is an object
    bool in_options = false;  // inside "options"
    std::string current;      // the name of the current member of the state object
    std::vector<std::string> pair;
    bool pair_ok = true;

    std::string* field(const std::string& k) {
      if (k == "screen") return &state.screen;
      if (k == "category") return &state.category;
      if (k == "sku") return &state.sku;
      if (k == "ful") return &state.fulfilment;
      if (k == "name") return &state.name;
      if (k == "address") return &state.address;
      if (k == "order") return &state.order;
      if (k == "back") return &state.back;
      return nullptr;
    }
    bool scalar() {
      if (depth == 3) pair_ok = false;  // a pair holds strings only
      return true;
    }
    bool null() override { return scalar(); }
    bool boolean(bool) override { return scalar(); }
    bool number_integer(number_integer_t v) override {
      if (depth == 1 && current == "page" && v >= 0 && v <= 1000000) state.page = static_cast<int>(v);
      return scalar();
    }
    bool number_unsigned(number_unsigned_t v) override {
      if (depth == 1 && current == "page" && v <= 1000000) state.page = static_cast<int>(v);
      return scalar();
    }
    bool number_float(number_float_t, const string_t&) override { return scalar(); }
    bool binary(binary_t&) override { return scalar(); }
    bool string(string_t& v) override {
      if (depth == 1) {
        if (auto* f = field(current)) *f = std::move(v);
      } else if (depth == 3 && in_options) {
        pair.push_back(std::move(v));
      }
      return true;
    }
    bool start_object(std::size_t) override {
      if (depth == 0) object = true;
      if (depth == 3) pair_ok = false;
      ++depth;
      return true;
    }
    bool end_object() override {
      --depth;
      return true;
    }
    bool key(string_t& k) override {
      if (depth == 1) current = std::move(k);
      return true;
    }
    bool start_array(std::size_t) override {
      if (depth == 1 && current == "options") in_options = true;
      if (depth == 2 && in_options) {
        pair.clear();
        pair_ok = true;
      }
      if (depth == 3) pair_ok = false;
      ++depth;
      return true;
    }
    bool end_array() override {
      --depth;
      if (depth == 2 && in_options && pair_ok && pair.size() == 2) {
        state.options.push_back({std::move(pair[0]), std::move(pair[1]), ""});
      }
      if (depth == 1) in_options = false;
      return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
  };
};

bool valid_option_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxOptionBytes) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '_' || c == '-' || c == '.')) return false;
  }
  return true;
}

std::optional<std::int64_t> parse_count(std::string_view s) {
  s = text::trim(s);
  if (s.empty() || s.size() > 9) return std::nullopt;
  std::int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

std::string iso_date(std::int64_t unix) {
  return format_rfc3339(TimePoint(std::chrono::seconds(unix))).substr(0, 10);
}

}  // namespace

Status validate_inbound(const Inbound& in) {
  const bool has_text = !in.text.empty();
  const bool has_option = !in.option.empty();
  const int kinds = int{has_text} + int{has_option} + int{!in.order.empty()} + int{!in.location.empty()} + int{in.unsupported};
  if (kinds != 1) return fail(Errc::invalid_argument, "give either text or an option", "give either text or an option");
  if (!in.order.empty()) {
    if (in.order.size() > 100) return fail(Errc::invalid_argument, "order has too many lines");
    for (const auto& l : in.order) {
      if (l.sku.empty() || l.sku.size() > 64 || l.quantity < 1 || l.quantity > 1000) {
        return fail(Errc::invalid_argument, "malformed order line");
      }
    }
    return ok();
  }
  if (in.unsupported) return ok();
  if (!in.location.empty()) {
    if (in.location.size() > 1024 || !text::is_valid_utf8(in.location)) return fail(Errc::invalid_argument, "malformed location");
    return ok();
  }
  if (has_text) {
    if (in.text.size() > kMaxTextBytes) {
      return fail(Errc::invalid_argument, "text too long", "text is longer than 4096 characters");
    }
    if (!text::is_valid_utf8(in.text)) return fail(Errc::invalid_argument, "text is not UTF-8", "text must be UTF-8");
    if (text::utf8_length(in.text) > kMaxTextChars) {
      return fail(Errc::invalid_argument, "text too long", "text is longer than 4096 characters");
    }
    if (text::trim(in.text).empty()) return fail(Errc::invalid_argument, "empty text", "text must not be empty");
  } else if (!valid_option_id(in.option)) {
    return fail(Errc::invalid_argument, "malformed option id", "malformed option id");
  }
  return ok();
}

// One inbound message being handled, inside its transaction.
class Turn {
 public:
  Turn(Engine& e, Tx& tx, commerce::Customer c, State s)
      : e_(e), tx_(tx), customer_(std::move(c)), state_(std::move(s)), cat_(&e.messages_.get(customer_.language)) {}

  Status on_option(const std::string& id);
  Status on_text(const std::string& raw);
  Status on_order(const std::vector<OrderLine>& lines);
  Status on_location(const std::string& location);
  Status on_unsupported();
  std::vector<Reply> take_replies() { return std::move(replies_); }
  const State& state() const { return state_; }
  const commerce::Customer& customer() const { return customer_; }
  bool state_changed() const { return state_changed_; }
  bool erased() const { return erased_; }

 private:
  const MessageCatalog& cat() const { return *cat_; }
  std::string t(const std::string& key, std::initializer_list<std::pair<std::string_view, std::string>> v = {}) const {
    return cat().text(key, v);
  }
  std::string money(std::int64_t minor) const { return cat().money(minor, e_.shop_.settings().currency); }
  const std::string& lang() const { return customer_.language; }

  void note(std::string line) {
    if (!intro_.empty()) intro_ += "\n";
    intro_ += std::move(line);
  }
  // Emits a screen: the notes gathered so far, then `body`, with `options`.
  void show(const std::string& screen, std::string body, std::vector<Option> options, std::string back = "") {
    Reply r;
    r.text = intro_.empty() ? std::move(body) : intro_ + "\n\n" + body;
    intro_.clear();
    r.options = options;
    replies_.push_back(std::move(r));
    state_.screen = screen;
    state_.options = std::move(options);
    state_.back = std::move(back);
    state_changed_ = true;
  }
  Option opt(std::string id, std::string title, std::string description = "") {
    return {std::move(id), std::move(title), std::move(description)};
  }

  Status main_menu(const std::string& prompt_key = "main.prompt");
  Status categories();
  Status category(const std::string& id, int page);
  Status product(const std::string& sku);
  Status add(const std::string& sku, std::int64_t qty);
  Status ask_quantity(const std::string& sku);
  Status cart();
  Status cart_pick(bool remove);
  Status set_quantity(const std::string& sku, std::int64_t qty);
  Status search(const std::string& query);
  Status checkout();
  Status choose_fulfilment(commerce::Fulfilment f);
  Status confirm_screen();
  Status place();
  Status orders();
  Status order(const std::string& number);
  // True if the customer's order `number` can still be cancelled; otherwise shows why.
  Result<bool> cancellable(const std::string& number);
  Status confirm_cancel(const std::string& number);
  Status cancel_order(const std::string& number);
  Status language_menu();
  Status set_language(const std::string& lang, bool announce);
  // The version of the privacy notice in the customer's language (the engine's settings).
  Result<std::string> notice_version() const;
  Status privacy_screen();
  // "Yes, news & offers" / "No thanks" (options, from any screen): records the choice and
  // confirms it with the main menu.
  Status marketing_choice(bool yes);
  // "stop" and the other unsubscribe words: withdraws marketing consent and confirms it, and
  // otherwise leaves the conversation where it was (a checkout in progress goes on).
  Status unsubscribe();
  Status unknown();
  // Requests about one's data ("rights:<type>"); erasure asks for a confirmation first.
  Status rights_request(const std::string& type);
  Status rights_erasure_confirm();
  Status command(const std::string& id, const std::string& rest, const std::string& raw_rest);
  Status screen_input(const std::string& raw);

  Engine& e_;
  Tx& tx_;
  commerce::Customer customer_;
  State state_;
  const MessageCatalog* cat_;
  std::vector<Reply> replies_;
  std::string intro_;
  bool state_changed_ = false;
  bool erased_ = false;
};

Status Turn::main_menu(const std::string& prompt_key) {
  auto c = e_.shop_.cart(tx_, customer_.id, lang());
  if (!c) return std::unexpected(c.error());
  std::vector<Option> o;
  o.push_back(opt("browse", t("menu.browse")));
  o.push_back(opt("search", t("menu.search")));
  o.push_back(opt("cart", t("menu.cart", {{"count", std::to_string(c->item_count())}})));
  if (!c->empty()) o.push_back(opt("checkout", t("menu.checkout")));
  o.push_back(opt("orders", t("menu.orders")));
  o.push_back(opt("privacy", t("menu.privacy")));
  o.push_back(opt("help", t("menu.help")));
  o.push_back(opt("language", t("menu.language")));
  state_.sku.clear();
  show("main", t(prompt_key, {{"shop", e_.settings_.shop_name}}), std::move(o));
  return ok();
}

Status Turn::categories() {
  auto cats = e_.shop_.categories(tx_, lang());
  if (!cats) return std::unexpected(cats.error());
  if (cats->empty()) {
    note(t("categories.empty"));
    return main_menu();
  }
  std::vector<Option> o;
  for (const auto& c : *cats) o.push_back(opt("cat:" + c.id, c.name));
  o.push_back(opt("menu", t("menu.main")));
  show("categories", t("categories.prompt"), std::move(o), "menu");
  return ok();
}

Status Turn::category(const std::string& id, int page) {
  auto p = e_.shop_.products_in(tx_, id, lang(), page, e_.settings_.page_size);
  if (!p) return std::unexpected(p.error());
  if (p->items.empty()) return categories();
  auto cats = e_.shop_.categories(tx_, lang());
  if (!cats) return std::unexpected(cats.error());
  std::string name = id;
  for (const auto& c : *cats) {
    if (c.id == id) name = c.name;
  }
  std::vector<Option> o;
  for (const auto& item : p->items) o.push_back(opt("prod:" + item.sku, item.name, money(item.price)));
  if (p->page + 1 < p->pages) o.push_back(opt("cat:" + id + ":" + std::to_string(p->page + 1), t("menu.more")));
  if (p->page > 0) o.push_back(opt("cat:" + id + ":" + std::to_string(p->page - 1), t("menu.previous")));
  o.push_back(opt("browse", t("menu.back")));
  state_.category = id;
  state_.page = p->page;
  show("category",
       t("category.prompt", {{"category", name}, {"page", std::to_string(p->page + 1)}, {"pages", std::to_string(p->pages)}}),
       std::move(o), "browse");
  return ok();
}

Status Turn::product(const std::string& sku) {
  auto p = e_.shop_.product(tx_, sku, lang());
  if (!p) return std::unexpected(p.error());
  if (!p->has_value() || !(*p)->active) {
    note(t("product.unavailable"));
    return state_.category.empty() ? categories() : category(state_.category, state_.page);
  }
  const auto& v = **p;
  const std::string stock = v.stock > 0 ? t("product.in_stock", {{"count", std::to_string(v.stock)}}) : t("product.out_of_stock");
  std::vector<Option> o;
  if (v.stock > 0) {
    o.push_back(opt("add:" + v.sku + ":1", t("product.add", {{"qty", "1"}})));
    if (v.stock >= 2) o.push_back(opt("add:" + v.sku + ":2", t("product.add", {{"qty", "2"}})));
    if (v.stock >= 3) o.push_back(opt("qty:" + v.sku, t("product.add_other")));
  }
  const std::string back = "cat:" + v.category + ":" + std::to_string(v.category == state_.category ? state_.page : 0);
  o.push_back(opt(back, t("menu.back")));
  o.push_back(opt("cart", t("menu.view_cart")));
  o.push_back(opt("menu", t("menu.main")));
  state_.sku = v.sku;
  state_.category = v.category;
  const std::string vat = money(commerce::vat_included(v.price, v.vat_rate));
  show("product",
       t("product.detail", {{"name", v.name}, {"description", v.description}, {"price", money(v.price)},
                            {"vat", vat + " / " + cat().percent(v.vat_rate)}, {"stock", stock}}),
       std::move(o), back);
  return ok();
}

Status Turn::add(const std::string& sku, std::int64_t qty) {
  auto p = e_.shop_.product(tx_, sku, lang());
  if (!p) return std::unexpected(p.error());
  if (!p->has_value() || !(*p)->active) {
    note(t("product.unavailable"));
    return main_menu();
  }
  const auto max = std::min<std::int64_t>(e_.shop_.settings().max_line_quantity, (*p)->stock);
  if (qty < 1 || qty > e_.shop_.settings().max_line_quantity) {
    note(t("bad.quantity", {{"max", std::to_string(std::max<std::int64_t>(max, 1))}}));
    return product(sku);
  }
  if ((*p)->stock == 0) {  // nothing to add; the cart is left as it is
    note(t("product.out_of_stock"));
    return product(sku);
  }
  auto r = e_.shop_.add_to_cart(tx_, customer_.id, sku, qty);
  if (!r) {
    if (r.error().code == Errc::not_found) {
      note(t("product.unavailable"));
      return main_menu();
    }
    return std::unexpected(r.error());
  }
  if (r->capped) note(t("cart.capped", {{"qty", std::to_string(r->quantity)}, {"name", (*p)->name}}));
  else note(t("cart.added", {{"qty", std::to_string(qty)}, {"name", (*p)->name}}));
  auto c = e_.shop_.cart(tx_, customer_.id, lang());
  if (!c) return std::unexpected(c.error());
  note(t("cart.total", {{"total", money(c->totals.total)}, {"vat", money(c->totals.vat_total)}}));
  std::vector<Option> o;
  o.push_back(opt("checkout", t("menu.checkout")));
  o.push_back(opt("cart", t("menu.cart", {{"count", std::to_string(c->item_count())}})));
  o.push_back(opt("cat:" + (*p)->category, t("menu.browse")));
  o.push_back(opt("menu", t("menu.main")));
  state_.category = (*p)->category;
  show("added", t("main.prompt"), std::move(o), "cat:" + (*p)->category);
  return ok();
}

Status Turn::ask_quantity(const std::string& sku) {
  auto p = e_.shop_.product(tx_, sku, lang());
  if (!p) return std::unexpected(p.error());
  if (!p->has_value() || !(*p)->active || (*p)->stock <= 0) return product(sku);
  const auto max = std::min<std::int64_t>(e_.shop_.settings().max_line_quantity, (*p)->stock);
  state_.sku = sku;
  show("ask_qty", t("ask.quantity", {{"name", (*p)->name}, {"max", std::to_string(max)}}),
       {opt("prod:" + sku, t("menu.back")), opt("menu", t("menu.main"))}, "prod:" + sku);
  return ok();
}

Status Turn::cart() {
  auto c = e_.shop_.cart(tx_, customer_.id, lang());
  if (!c) return std::unexpected(c.error());
  if (c->empty()) {
    note(t("cart.empty"));
    return main_menu();
  }
  std::string body = t("cart.header");
  for (const auto& l : c->lines) {
    body += "\n";
    body += l.available ? t("cart.line", {{"qty", std::to_string(l.quantity)}, {"name", l.name}, {"total", money(l.line_total)}})
                        : t("cart.line_unavailable", {{"qty", std::to_string(l.quantity)}, {"name", l.name}});
  }
  body += "\n" + t("cart.total", {{"total", money(c->totals.total)}, {"vat", money(c->totals.vat_total)}});
  std::vector<Option> o = {opt("checkout", t("menu.checkout")), opt("cart:change", t("cart.change")),
                           opt("cart:remove", t("cart.remove")), opt("cart:clear", t("cart.clear")),
                           opt("browse", t("menu.browse")), opt("menu", t("menu.main"))};
  show("cart", body, std::move(o), "menu");
  return ok();
}

Status Turn::cart_pick(bool remove) {
  auto c = e_.shop_.cart(tx_, customer_.id, lang());
  if (!c) return std::unexpected(c.error());
  if (c->empty()) return cart();
  std::vector<Option> o;
  for (const auto& l : c->lines) {
    o.push_back(opt((remove ? "rm:" : "setq:") + l.sku, l.name, std::to_string(l.quantity) + " × " + money(l.unit_price)));
  }
  o.push_back(opt("cart", t("menu.back")));
  show(remove ? "cart_remove" : "cart_change", t(remove ? "cart.pick_remove" : "cart.pick_change"), std::move(o), "cart");
  return ok();
}

Status Turn::set_quantity(const std::string& sku, std::int64_t qty) {
  auto c = e_.shop_.cart(tx_, customer_.id, lang());
  if (!c) return std::unexpected(c.error());
  const auto line = std::find_if(c->lines.begin(), c->lines.end(), [&](const auto& l) { return l.sku == sku; });
  if (line == c->lines.end()) {
    note(t("cart.not_in_cart"));
    return cart();
  }
  if (qty < 0 || qty > e_.shop_.settings().max_line_quantity) {
    note(t("bad.quantity", {{"max", std::to_string(e_.shop_.settings().max_line_quantity)}}));
    return cart();
  }
  auto r = e_.shop_.set_quantity(tx_, customer_.id, sku, qty);
  if (!r) {
    if (r.error().code != Errc::not_found) return std::unexpected(r.error());
    (void)e_.shop_.set_quantity(tx_, customer_.id, sku, 0);  // product gone: drop the line
    note(t("cart.removed", {{"name", line->name}}));
    return cart();
  }
  if (qty == 0) note(t("cart.removed", {{"name", line->name}}));
  else if (r->capped) note(t("cart.capped", {{"qty", std::to_string(r->quantity)}, {"name", line->name}}));
  else note(t("cart.updated", {{"name", line->name}, {"qty", std::to_string(r->quantity)}}));
  return cart();
}

Status Turn::search(const std::string& query) {
  auto found = e_.shop_.search(tx_, query, lang(), e_.settings_.page_size);
  if (!found) return std::unexpected(found.error());
  // The query is echoed back but never stored: the state keeps no free text outside checkout.
  if (found->empty()) {
    note(t("search.none", {{"query", text::utf8_truncate(query, 60)}}));
    show("search_prompt", t("search.prompt"), {opt("browse", t("menu.browse")), opt("menu", t("menu.main"))}, "menu");
    return ok();
  }
  std::vector<Option> o;
  for (const auto& p : *found) o.push_back(opt("prod:" + p.sku, p.name, money(p.price)));
  o.push_back(opt("search", t("menu.search")));
  o.push_back(opt("menu", t("menu.main")));
  state_.category.clear();
  show("search", t("search.results", {{"query", text::utf8_truncate(query, 60)}}), std::move(o), "menu");
  return ok();
}

Status Turn::checkout() {
  auto c = e_.shop_.cart(tx_, customer_.id, lang());
  if (!c) return std::unexpected(c.error());
  if (c->empty()) {
    note(t("checkout.cart_empty"));
    return main_menu();
  }
  std::vector<std::string> short_items;
  for (const auto& l : c->lines) {
    if (!l.available || l.stock < l.quantity) short_items.push_back(l.name);
  }
  if (!short_items.empty()) {
    std::string items;
    for (const auto& n : short_items) items += (items.empty() ? "" : ", ") + n;
    note(t("checkout.unavailable", {{"items", items}}));
    return cart();
  }
  state_.name.clear();
  state_.address.clear();
  const auto& s = e_.shop_.settings();
  if (s.pickup && !s.delivery) return choose_fulfilment(commerce::Fulfilment::pickup);
  if (!s.pickup && s.delivery) return choose_fulfilment(commerce::Fulfilment::delivery);
  auto with_delivery = e_.shop_.cart(tx_, customer_.id, lang(), commerce::Fulfilment::delivery);
  if (!with_delivery) return std::unexpected(with_delivery.error());
  const auto fee = with_delivery->totals.delivery_fee;
  std::vector<Option> o = {opt("ful:pickup", t("checkout.pickup")),
                           opt("ful:delivery", fee > 0 ? t("checkout.delivery", {{"fee", money(fee)}}) : t("checkout.delivery_free")),
                           opt("cart", t("checkout.change"))};
  show("fulfilment", t("checkout.fulfilment"), std::move(o), "cart");
  return ok();
}

Status Turn::choose_fulfilment(commerce::Fulfilment f) {
  const auto& s = e_.shop_.settings();
  if ((f == commerce::Fulfilment::pickup && !s.pickup) || (f == commerce::Fulfilment::delivery && !s.delivery)) {
    return checkout();
  }
  state_.fulfilment = std::string(commerce::to_string(f));
  if (f == commerce::Fulfilment::delivery) {
    state_.name.clear();
    state_.address.clear();
    show("ask_name", t("checkout.ask_name"), {opt("cart", t("checkout.change")), opt("menu", t("menu.main"))}, "checkout");
    return ok();
  }
  return confirm_screen();
}

Status Turn::confirm_screen() {
  commerce::Fulfilment f;
  if (!commerce::parse_fulfilment(state_.fulfilment, f)) return checkout();
  auto c = e_.shop_.cart(tx_, customer_.id, lang(), f);
  if (!c) return std::unexpected(c.error());
  if (c->empty()) {
    note(t("checkout.cart_empty"));
    return main_menu();
  }
  std::string body = t("checkout.summary");
  for (const auto& l : c->lines) {
    body += "\n" + t("cart.line", {{"qty", std::to_string(l.quantity)}, {"name", l.name}, {"total", money(l.line_total)}});
  }
  if (f == commerce::Fulfilment::delivery) {
    body += "\n" + t("checkout.delivery_fee", {{"fee", money(c->totals.delivery_fee)}});
  }
  for (const auto& v : c->totals.vat) {
    body += "\n" + t("checkout.vat_line", {{"rate", cat().percent(v.rate)}, {"vat", money(v.vat)}, {"net", money(v.net)}});
  }
  body += "\n" + t("checkout.total", {{"total", money(c->totals.total)}});
  body += "\n" + (f == commerce::Fulfilment::delivery
                      ? t("checkout.summary_delivery", {{"name", state_.name}, {"address", state_.address}})
                      : t("checkout.summary_pickup"));
  body += "\n" + t("checkout.privacy", {{"url", e_.privacy_url(lang())}});
  show("confirm", body, {opt("confirm", t("checkout.confirm")), opt("cart", t("checkout.change"))}, "cart");
  return ok();
}

Status Turn::place() {
  commerce::Fulfilment f;
  if (state_.screen != "confirm" || !commerce::parse_fulfilment(state_.fulfilment, f)) return checkout();
  std::optional<commerce::DeliveryDetails> details;
  if (f == commerce::Fulfilment::delivery) {
    if (state_.name.empty() || state_.address.empty()) return choose_fulfilment(f);
    details = commerce::DeliveryDetails{state_.name, state_.address};
  }
  auto r = e_.shop_.place_order(tx_, customer_, f, details);
  if (!r) {
    if (r.error().code == Errc::conflict) {
      note(t("checkout.stock_changed"));
      return cart();
    }
    return std::unexpected(r.error());
  }
  if (r->cart_empty) {
    note(t("checkout.cart_empty"));
    return main_menu();
  }
  if (!r->unavailable.empty()) return checkout();  // explains what is short
  state_.name.clear();
  state_.address.clear();
  state_.fulfilment.clear();
  const auto& o = *r->order;
  // The summary linked the privacy notice; confirming acknowledges it. Recorded in the same
  // transaction as the order, so there is never one without the other.
  auto version = notice_version();
  if (!version) return std::unexpected(version.error());
  if (auto st = e_.consent_.record(tx_, customer_, commerce::ConsentKind::notice_acknowledged, *version, lang(), o.number);
      !st) {
    return st;
  }
  note(t("checkout.placed", {{"number", o.number},
                             {"total", money(o.total)},
                             {"payment", t(f == commerce::Fulfilment::delivery ? "checkout.payment_delivery" : "checkout.payment_pickup")}}));
  std::vector<Option> opts = {opt("order:" + o.number, o.number), opt("orders", t("menu.orders")), opt("menu", t("menu.main"))};
  show("placed", t("main.prompt"), std::move(opts), "menu");
  // Then, as a message of its own, the marketing question: nothing is pre-selected, and without
  // an answer there is no consent. Not asked of customers who already agreed.
  auto m = e_.consent_.marketing(tx_, customer_.id);
  if (!m) return std::unexpected(m.error());
  // A customer who restricted the processing of their data (Art. 18) is not asked either.
  auto restricted = storage::RequestStore(e_.db_).restricted(tx_, customer_.id);
  if (!restricted) return std::unexpected(restricted.error());
  if (!m->live() && !*restricted) {
    show("marketing_offer", t("marketing.offer", {{"shop", e_.settings_.shop_name}}),
         {opt(std::string(kMarketingYes), t("marketing.yes")), opt(std::string(kMarketingNo), t("marketing.no"))}, "menu");
  }
  return ok();
}

Status Turn::orders() {
  auto list = e_.shop_.customer_orders(tx_, customer_.id, 10);
  if (!list) return std::unexpected(list.error());
  if (list->empty()) {
    note(t("orders.none"));
    return main_menu();
  }
  std::vector<Option> o;
  for (const auto& ord : *list) {
    o.push_back(opt("order:" + ord.number,
                    t("orders.option", {{"number", ord.number}, {"status", t("status." + ord.status)}}),
                    money(ord.total) + " · " + iso_date(ord.created_at)));
  }
  o.push_back(opt("menu", t("menu.main")));
  show("orders", t("orders.header"), std::move(o), "menu");
  return ok();
}

Status Turn::order(const std::string& number) {
  auto o = e_.shop_.customer_order(tx_, customer_.id, number);
  if (!o) return std::unexpected(o.error());
  if (!o->has_value()) {
    note(t("order.not_found"));
    return orders();
  }
  const auto& ord = **o;
  std::string lines;
  for (const auto& l : ord.lines) {
    if (!lines.empty()) lines += "\n";
    lines += t("cart.line", {{"qty", std::to_string(l.quantity)}, {"name", l.name}, {"total", money(l.line_total)}});
  }
  if (ord.delivery_fee > 0) lines += "\n" + t("checkout.delivery_fee", {{"fee", money(ord.delivery_fee)}});
  std::vector<Option> opts;
  if (ord.status == "placed") opts.push_back(opt("ocancel:" + ord.number, t("order.cancel")));
  opts.push_back(opt("orders", t("menu.back")));
  opts.push_back(opt("menu", t("menu.main")));
  state_.order = ord.number;
  show("order",
       t("order.detail", {{"number", ord.number}, {"date", iso_date(ord.created_at)}, {"status", t("status." + ord.status)},
                          {"lines", lines}, {"total", money(ord.total)}}),
       std::move(opts), "orders");
  return ok();
}

Result<bool> Turn::cancellable(const std::string& number) {
  auto o = e_.shop_.customer_order(tx_, customer_.id, number);
  if (!o) return std::unexpected(o.error());
  if (!o->has_value()) {
    note(t("order.not_found"));
    if (auto st = orders(); !st) return std::unexpected(st.error());
    return false;
  }
  if ((*o)->status != "placed") {
    note(t("order.cannot_cancel", {{"number", number}}));
    if (auto st = order(number); !st) return std::unexpected(st.error());
    return false;
  }
  return true;
}

Status Turn::confirm_cancel(const std::string& number) {
  auto can = cancellable(number);
  if (!can) return std::unexpected(can.error());
  if (!*can) return ok();  // the reason is shown
  state_.order = number;
  show("confirm_cancel", t("order.confirm_cancel", {{"number", number}}),
       {opt("ocancel_yes:" + number, t("order.yes_cancel")), opt("order:" + number, t("order.keep"))}, "order:" + number);
  return ok();
}

Status Turn::cancel_order(const std::string& number) {
  auto can = cancellable(number);
  if (!can) return std::unexpected(can.error());
  if (!*can) return ok();
  // The customer cancels in their own chat: no separate status notice is needed, the reply says it.
  auto changed = e_.shop_.change_status(tx_, number, commerce::OrderStatus::cancelled, /*notify=*/false);
  if (!changed) return std::unexpected(changed.error());
  note(t("order.cancelled", {{"number", number}}));
  return orders();
}

Status Turn::language_menu() {
  std::vector<Option> o;
  for (const auto& l : e_.messages_.languages()) o.push_back(opt("lang:" + l, e_.messages_.get(l).language_name()));
  o.push_back(opt("menu", t("menu.main")));
  show("language", t("language.prompt"), std::move(o), "menu");
  return ok();
}

Status Turn::set_language(const std::string& l, bool announce) {
  if (!e_.messages_.supports(l)) return language_menu();
  if (l != customer_.language) {
    if (auto st = e_.customers_.set_language(tx_, customer_.id, l); !st) return st;
    customer_.language = l;
    cat_ = &e_.messages_.get(l);
  }
  if (announce) note(t("language.set"));
  return main_menu();
}

Result<std::string> Turn::notice_version() const {
  if (!e_.settings_.notice_version) return fail(Errc::internal, "engine: no notice_version function configured");
  std::string v = e_.settings_.notice_version(lang());
  if (!commerce::valid_notice_version(v)) return fail(Errc::internal, "engine: notice_version gave a malformed version");
  return v;
}

Status Turn::privacy_screen() {
  auto m = e_.consent_.marketing(tx_, customer_.id);
  if (!m) return std::unexpected(m.error());
  std::string body = t("privacy.info", {{"url", e_.privacy_url(lang())}});
  std::vector<Option> o;
  if (m->live()) {
    body += "\n\n" + t("privacy.marketing_on", {{"shop", e_.settings_.shop_name}, {"date", iso_date(m->since)}});
    o.push_back(opt(std::string(kMarketingNo), t("marketing.stop")));
  } else {
    body += "\n\n" + t("privacy.marketing_off", {{"shop", e_.settings_.shop_name}});
    o.push_back(opt(std::string(kMarketingYes), t("marketing.start")));
  }
  if (e_.rights_) {
    body += "\n\n" + t("rights.menu.intro");
    o.push_back(opt("rights:access", t("rights.menu.access")));
    o.push_back(opt("rights:erasure", t("rights.menu.erasure")));
    o.push_back(opt("rights:restriction", t("rights.menu.restriction")));
  }
  o.push_back(opt("menu", t("menu.main")));
  show("privacy", body, std::move(o), "menu");
  return ok();
}

Status Turn::rights_erasure_confirm() {
  show("erase_confirm", t("rights.erase_confirm", {{"url", e_.privacy_url(lang())}}),
       {opt("rights:erasure_yes", t("rights.erase_yes")), opt("menu", t("menu.main"))}, "privacy");
  return ok();
}

Status Turn::rights_request(const std::string& type) {
  if (!e_.rights_) return unknown();
  // Erasure asks first, and only its confirmation screen's "yes" erases: an old button or a
  // number typed elsewhere never does.
  if (type == "erasure" || (type == "erasure_yes" && state_.screen != "erase_confirm")) return rights_erasure_confirm();
  const std::string kind = type == "erasure_yes" ? "erasure" : type;
  if (kind != "access" && kind != "restriction" && kind != "objection" && kind != "erasure") return unknown();
  auto out = e_.rights_(tx_, customer_, kind);
  if (!out) return std::unexpected(out.error());
  if (kind == "erasure") {
    // Nothing may be stored for this customer any more; the reply is the confirmation.
    erased_ = true;
    Reply r;
    r.text = t("rights.erased_chat");
    replies_.push_back(std::move(r));
    return ok();
  }
  if (kind == "access") {
    std::string base = e_.settings_.public_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    note(t("rights.access_ready", {{"url", base + out->export_path}, {"minutes", std::to_string(out->export_minutes)}}));
  } else {
    note(t(kind == "restriction" ? "rights.restricted" : "rights.objected"));
  }
  return main_menu();
}

Status Turn::marketing_choice(bool yes) {
  auto version = notice_version();
  if (!version) return std::unexpected(version.error());
  auto changed = yes ? e_.consent_.give_marketing(tx_, customer_, *version, lang())
                     : e_.consent_.withdraw_marketing(tx_, customer_, *version, lang());
  if (!changed) return std::unexpected(changed.error());
  note(t(yes ? "marketing.given" : "marketing.off", {{"shop", e_.settings_.shop_name}}));
  return main_menu();
}

Status Turn::unsubscribe() {
  auto version = notice_version();
  if (!version) return std::unexpected(version.error());
  auto changed = e_.consent_.withdraw_marketing(tx_, customer_, *version, lang());
  if (!changed) return std::unexpected(changed.error());
  Reply r;
  r.text = t("marketing.off", {{"shop", e_.settings_.shop_name}});
  // "stop" may also have been meant for the checkout: say how to leave it, but leave it open.
  if (in_checkout(state_.screen)) r.text += "\n" + t("marketing.still_checking_out");
  if (state_.screen == "privacy" || state_.options.empty()) {  // show the new state / a way on
    note(r.text);
    return state_.screen == "privacy" ? privacy_screen() : main_menu();
  }
  r.options = state_.options;
  replies_.push_back(std::move(r));
  return ok();
}

Status Turn::unknown() {
  Reply r;
  r.text = t("unknown");
  r.options = state_.options;
  if (r.options.empty()) return main_menu("unknown");
  replies_.push_back(std::move(r));
  return ok();
}

Status Turn::on_option(const std::string& id) {
  const auto parts = split(id, ':');
  const std::string& head = parts[0];
  auto arg = [&](std::size_t i) { return i < parts.size() ? parts[i] : std::string(); };
  if (head == "menu") return main_menu();
  if (head == "browse") return categories();
  if (head == "cat" && parts.size() >= 2) {
    int page = 0;
    if (parts.size() >= 3) page = static_cast<int>(parse_count(parts[2]).value_or(0));
    return category(parts[1], page);
  }
  if (head == "prod" && parts.size() == 2) return product(parts[1]);
  if (head == "add" && parts.size() == 3) {
    auto q = parse_count(parts[2]);
    if (!q) return unknown();
    return add(parts[1], *q);
  }
  if (head == "qty" && parts.size() == 2) return ask_quantity(parts[1]);
  if (head == "search") {
    show("search_prompt", t("search.prompt"), {opt("browse", t("menu.browse")), opt("menu", t("menu.main"))}, "menu");
    return ok();
  }
  if (head == "cart" && parts.size() == 1) return cart();
  if (head == "cart" && arg(1) == "change") return cart_pick(false);
  if (head == "cart" && arg(1) == "remove") return cart_pick(true);
  if (head == "cart" && arg(1) == "clear") {
    if (auto st = e_.shop_.clear_cart(tx_, customer_.id); !st) return st;
    note(t("cart.cleared"));
    return main_menu();
  }
  if (head == "setq" && parts.size() == 2) {
    state_.sku = parts[1];
    auto c = e_.shop_.cart(tx_, customer_.id, lang());
    if (!c) return std::unexpected(c.error());
    const auto line = std::find_if(c->lines.begin(), c->lines.end(), [&](const auto& l) { return l.sku == parts[1]; });
    if (line == c->lines.end()) {
      note(t("cart.not_in_cart"));
      return cart();
    }
    show("ask_setq", t("ask.quantity", {{"name", line->name}, {"max", std::to_string(e_.shop_.settings().max_line_quantity)}}),
         {opt("cart", t("menu.back"))}, "cart");
    return ok();
  }
  if (head == "rm" && parts.size() == 2) return set_quantity(parts[1], 0);
  if (head == "checkout") return checkout();
  if (head == "ful" && parts.size() == 2) {
    commerce::Fulfilment f;
    if (!commerce::parse_fulfilment(parts[1], f)) return unknown();
    return choose_fulfilment(f);
  }
  if (head == "confirm") return place();
  if (head == "orders") return orders();
  if (head == "order" && parts.size() == 2) return order(parts[1]);
  if (head == "ocancel" && parts.size() == 2) return confirm_cancel(parts[1]);
  if (head == "ocancel_yes" && parts.size() == 2) return cancel_order(parts[1]);
  if (head == "privacy") return privacy_screen();
  if (head == "rights" && parts.size() == 2) {
    return rights_request(parts[1]);
  }
  if (id == kMarketingYes) return marketing_choice(true);
  if (id == kMarketingNo) return marketing_choice(false);
  if (head == "help") {
    show("help", t("help.text"), {opt("browse", t("menu.browse")), opt("cart", t("menu.view_cart")), opt("menu", t("menu.main"))}, "menu");
    return ok();
  }
  if (head == "language" && parts.size() == 1) return language_menu();
  if (head == "lang" && parts.size() == 2) return set_language(parts[1], true);
  return unknown();
}

Status Turn::on_order(const std::vector<OrderLine>& lines) {
  // The platform's cart replaces ours; prices, VAT and stock come from our catalog.
  if (auto st = e_.shop_.clear_cart(tx_, customer_.id); !st) return st;
  for (const auto& l : lines) {
    auto p = e_.shop_.product(tx_, l.sku, lang());
    if (!p) return std::unexpected(p.error());
    if (!p->has_value() || !(*p)->active) {
      note(t("product.unavailable") + " (" + text::utf8_truncate(l.sku, 40) + ")");
      continue;
    }
    auto r = e_.shop_.add_to_cart(tx_, customer_.id, l.sku, l.quantity);
    if (!r) {
      if (r.error().code == Errc::not_found || r.error().code == Errc::invalid_argument) continue;
      return std::unexpected(r.error());
    }
    if (r->quantity == 0) note(t("product.out_of_stock") + " (" + (*p)->name + ")");
    else if (r->capped) note(t("cart.capped", {{"qty", std::to_string(r->quantity)}, {"name", (*p)->name}}));
    else note(t("cart.added", {{"qty", std::to_string(r->quantity)}, {"name", (*p)->name}}));
  }
  return checkout();
}

Status Turn::on_location(const std::string& location) {
  if (state_.screen == "ask_address") return screen_input(location);
  return on_unsupported();
}

// "I can read text and buttons": the content of what was sent is neither read nor stored.
Status Turn::on_unsupported() {
  Reply r;
  r.text = t("unsupported");
  r.options = state_.options;
  if (r.options.empty()) return main_menu("unsupported");
  replies_.push_back(std::move(r));
  return ok();
}

Status Turn::screen_input(const std::string& raw) {
  const std::string input(text::trim(raw));
  const auto& s = state_.screen;
  if (s == "ask_qty" || s == "ask_setq") {
    const auto q = parse_count(input);
    const std::int64_t max = e_.shop_.settings().max_line_quantity;
    if (!q || *q < (s == "ask_setq" ? 0 : 1) || *q > max) {
      Reply r;
      r.text = t("bad.quantity", {{"max", std::to_string(max)}});
      r.options = state_.options;
      replies_.push_back(std::move(r));
      return ok();
    }
    return s == "ask_qty" ? add(state_.sku, *q) : set_quantity(state_.sku, *q);
  }
  if (s == "search_prompt") return search(input);
  if (s == "ask_name") {
    if (!commerce::validate_recipient_name(input)) {
      Reply r;
      r.text = t("checkout.bad_name", {{"max", std::to_string(commerce::kMaxNameChars)}});
      r.options = state_.options;
      replies_.push_back(std::move(r));
      return ok();
    }
    state_.name = text::squash_spaces(input);
    show("ask_address", t("checkout.ask_address"), {opt("cart", t("checkout.change")), opt("menu", t("menu.main"))}, "checkout");
    return ok();
  }
  if (s == "ask_address") {
    if (!commerce::validate_address(input)) {
      Reply r;
      r.text = t("checkout.bad_address", {{"max", std::to_string(commerce::kMaxAddressChars)}});
      r.options = state_.options;
      replies_.push_back(std::move(r));
      return ok();
    }
    state_.address = std::string(text::trim(input));
    return confirm_screen();
  }
  return unknown();
}

Status Turn::command(const std::string& id, const std::string& rest, const std::string& raw_rest) {
  if (id == "menu") return main_menu();
  if (id == "cart") return cart();
  if (id == "checkout") return checkout();
  if (id == "orders") return orders();
  if (id == "help") return on_option("help");
  if (id == "privacy") return on_option("privacy");
  if (id == "unsubscribe") return unsubscribe();
  if (id == "my_data" && e_.rights_) return rights_request("access");
  if (id == "erase_data" && e_.rights_) return rights_erasure_confirm();
  if (id == "back") return state_.back.empty() ? main_menu() : on_option(state_.back);
  if (id == "cancel") {
    state_.name.clear();
    state_.address.clear();
    state_.fulfilment.clear();
    return main_menu();
  }
  if (id == "language") {
    const std::string l = std::string(text::trim(rest));
    if (e_.messages_.supports(l)) return set_language(l, true);
    return language_menu();
  }
  if (id == "search") {
    if (text::trim(raw_rest).empty()) return on_option("search");
    return search(std::string(text::trim(raw_rest)));
  }
  if (id == "add") {
    auto words = text::split_words(raw_rest);
    if (words.empty()) {
      note(t("add.usage"));
      return main_menu();
    }
    std::int64_t qty = 1;
    if (words.size() >= 2) {
      if (auto q = parse_count(words.back())) {
        qty = *q;
        words.pop_back();
      }
    }
    std::string query;
    for (const auto& w : words) query += (query.empty() ? "" : " ") + w;
    auto p = e_.shop_.resolve(tx_, query, lang());
    if (!p) return std::unexpected(p.error());
    if (!p->has_value()) {
      note(t("add.not_found", {{"query", text::utf8_truncate(query, 60)}}));
      return search(query);
    }
    return add((*p)->sku, qty);
  }
  if (id == "remove") {
    const std::string what(text::trim(raw_rest));
    if (what.empty()) {
      note(t("remove.usage"));
      return cart();
    }
    auto c = e_.shop_.cart(tx_, customer_.id, lang());
    if (!c) return std::unexpected(c.error());
    const std::string folded = text::fold(what);
    for (const auto& l : c->lines) {
      if (text::fold(l.sku) == folded || text::fold(l.name) == folded) return set_quantity(l.sku, 0);
    }
    note(t("cart.not_in_cart"));
    return cart();
  }
  return unknown();
}

Status Turn::on_text(const std::string& raw) {
  const std::string squashed = text::squash_spaces(raw);
  const std::string folded = text::fold(squashed);
  // Strip trailing punctuation for greetings and commands ("Hi!", "menu.", and the French
  // "Bonjour !", whose space before the mark may also be a (narrow) no-break space).
  std::string bare = folded;
  while (!bare.empty() && bare != "?") {
    const char c = bare.back();
    if (c == '!' || c == '.' || c == ',' || c == '?' || c == ' ') {
      bare.pop_back();
    } else if (bare.ends_with("\xc2\xa0")) {  // U+00A0
      bare.resize(bare.size() - 2);
    } else if (bare.ends_with("\xe2\x80\xaf")) {  // U+202F
      bare.resize(bare.size() - 3);
    } else {
      break;
    }
  }

  // Commands that work everywhere, even where free text is expected.
  const std::string whole_command = e_.messages_.command_for(bare);
  if (awaits_text(state_.screen)) {
    if (whole_command == "menu" || whole_command == "cancel" || whole_command == "back" || whole_command == "help" ||
        whole_command == "cart" || whole_command == "unsubscribe") {
      return command(whole_command, "", "");
    }
    if (!e_.messages_.greeting_language(bare, customer_.language).empty() && state_.screen != "ask_name" && state_.screen != "ask_address") {
      // fall through to the greeting below
    } else {
      return screen_input(squashed);
    }
  }

  // A number picks an option of the last screen (but never gives marketing consent).
  if (auto n = parse_count(bare); n && *n >= 1 && static_cast<std::size_t>(*n) <= state_.options.size() &&
                                  state_.options[static_cast<std::size_t>(*n - 1)].id != kMarketingYes) {
    return on_option(state_.options[static_cast<std::size_t>(*n - 1)].id);
  }
  // So does an option's title.
  for (const auto& o : state_.options) {
    if (text::fold(text::squash_spaces(o.title)) == bare) return on_option(o.id);
  }
  // A greeting opens the main menu in the greeting's language.
  if (const auto l = e_.messages_.greeting_language(bare, customer_.language); !l.empty()) {
    if (l != customer_.language) {
      if (auto st = e_.customers_.set_language(tx_, customer_.id, l); !st) return st;
      customer_.language = l;
      cat_ = &e_.messages_.get(l);
    }
    return main_menu(customer_.created ? "welcome" : "welcome_back");
  }
  if (!whole_command.empty()) return command(whole_command, "", "");
  // "add croissant 2", "language fr", "search bread": the first words name the command.
  const auto words = text::split_words(bare);
  const auto raw_words = text::split_words(squashed);
  for (std::size_t n = words.size() >= 2 ? std::min<std::size_t>(words.size() - 1, 2) : 0; n >= 1; --n) {
    std::string head;
    for (std::size_t i = 0; i < n; ++i) head += (i ? " " : "") + words[i];
    const std::string id = e_.messages_.command_for(head);
    if (id.empty()) continue;
    std::string rest, raw_rest;
    for (std::size_t i = n; i < words.size(); ++i) {
      rest += (rest.empty() ? "" : " ") + words[i];
      raw_rest += (raw_rest.empty() ? "" : " ") + raw_words[i];
    }
    return command(id, rest, raw_rest);
  }
  // Anything else: perhaps they typed what they want to buy.
  if (bare.size() >= 3) {
    auto found = e_.shop_.search(tx_, squashed, lang(), e_.settings_.page_size);
    if (!found) return std::unexpected(found.error());
    if (!found->empty()) return search(squashed);
  }
  return unknown();
}

Engine::Engine(storage::Database& db, commerce::CustomerDirectory& customers, commerce::Shop& shop,
               const Messages& messages, EngineSettings settings, const Clock& clock)
    : db_(db),
      customers_(customers),
      shop_(shop),
      messages_(messages),
      settings_(std::move(settings)),
      clock_(clock),
      consent_(db, clock) {}

std::string Engine::privacy_url(const std::string& language) const {
  std::string base = settings_.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/privacy?lang=" + language;
}

Reply Engine::status_notice(const storage::OrderRecord& order, const std::string& language) const {
  const auto& c = messages_.get(language);
  Reply r;
  r.text = c.text("notify." + order.status, {{"number", order.number}});
  r.options = {{"order:" + order.number, order.number, ""}, {"menu", c.text("menu.main"), ""}};
  return r;
}

Reply Engine::marketing_message(const std::string& text, const std::string& language) const {
  const auto& c = messages_.get(language);
  Reply r;
  r.text = text + "\n\n" + c.text("marketing.footer", {{"shop", settings_.shop_name}});
  r.options = {{std::string(kMarketingNo), c.text("marketing.stop"), ""}, {"menu", c.text("menu.main"), ""}};
  return r;
}

Result<std::vector<Reply>> Engine::handle(const Inbound& in) {
  if (auto st = validate_inbound(in); !st) return std::unexpected(st.error());
  std::vector<Reply> replies;
  auto st = db_.write([&](Tx& tx) -> Status {
    replies.clear();  // Database::write may run this more than once
    auto h = handle(tx, in);
    if (!h) return std::unexpected(h.error());
    replies = std::move(h->replies);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return replies;
}

namespace {

// What the transcript keeps of an inbound message (only when the inventory declares it).
std::string transcript_line(const Inbound& in) {
  if (!in.option.empty()) return "[option] " + in.option;
  if (!in.order.empty()) {
    std::string s = "[order]";
    for (const auto& l : in.order) s += " " + l.sku + " x" + std::to_string(l.quantity);
    return s;
  }
  if (!in.location.empty()) return "[location] " + in.location;
  if (in.unsupported) return "[unsupported message, content not read]";
  return in.text;
}

}  // namespace

Result<Engine::Handled> Engine::handle(Tx& tx, const Inbound& in) {
  if (auto st = validate_inbound(in); !st) return std::unexpected(st.error());
  Handled out;
  auto st = [&]() -> Status {
    auto customer = customers_.find_or_create(tx, in.channel, in.address, messages_.default_language());
    if (!customer) return std::unexpected(customer.error());
    if (!in.alias.empty()) {
      // A malformed second id is ignored: the message itself is fine.
      if (auto s = customers_.add_alias(tx, *customer, in.alias); !s && s.error().code != Errc::invalid_argument) return s;
    }
    const std::string row = std::to_string(customer->id);
    const privacy::FieldPlace place{"conversations", "state", row};
    storage::CustomerStore store(db_);
    auto conv = store.conversation(tx, customer->id);
    if (!conv) return std::unexpected(conv.error());
    State state;
    const auto now = unix_seconds(clock_.now());
    if (conv->has_value()) {
      const bool expired = now - (*conv)->updated_at > std::chrono::duration_cast<std::chrono::seconds>(settings_.inactivity).count();
      if (!expired) {
        auto opened = customers_.vault().open(tx, customer->subject_id, place, (*conv)->state_sealed);
        if (!opened) return std::unexpected(opened.error());
        state = State::parse(*opened);
      }
    }
    Turn turn(*this, tx, *customer, std::move(state));
    Status handled = ok();
    if (!in.option.empty()) handled = turn.on_option(in.option);
    else if (!in.order.empty()) handled = turn.on_order(in.order);
    else if (!in.location.empty()) handled = turn.on_location(in.location);
    else if (in.unsupported) handled = turn.on_unsupported();
    else handled = turn.on_text(in.text);
    if (!handled) return handled;
    out.replies = turn.take_replies();
    out.customer = turn.customer();
    if (turn.erased()) {
      out.erased = true;  // nothing of this customer may be written any more
      return ok();
    }
    if (settings_.keep_profile_name && !in.profile_name.empty()) {
      if (auto s = customers_.set_profile_name(tx, *customer, in.profile_name); !s) return s;
    }
    if (settings_.keep_transcript) {
      if (auto s = customers_.add_transcript(tx, *customer, "in", transcript_line(in)); !s) return s;
      for (const auto& r : out.replies) {
        if (auto s = customers_.add_transcript(tx, *customer, "out", r.text); !s) return s;
      }
    }
    if (turn.state_changed() || !conv->has_value()) {
      auto sealed = customers_.vault().seal(tx, customer->subject_id, place, turn.state().serialize());
      if (!sealed) return std::unexpected(sealed.error());
      if (auto s = store.save_conversation(tx, customer->id, {std::move(*sealed), now}); !s) return s;
    }
    // The customer's activity time, to the minute: one row write less on most messages.
    if (now - customer->last_active_at < 60) return ok();
    return customers_.touch(tx, customer->id);
  }();
  if (!st) return std::unexpected(st.error());
  return out;
}

}  // namespace comptoir::chat

#include "src/chat/messages.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "src/common/files.h"
#include "src/common/text.h"

namespace comptoir::chat {

using nlohmann::json;

const std::vector<std::string_view>& required_text_keys() {
  static const std::vector<std::string_view> keys = {
      "welcome",
      "welcome_back",
      "main.prompt",
      "menu.browse",
      "menu.search",
      "menu.cart",
      "menu.checkout",
      "menu.orders",
      "menu.privacy",
      "menu.help",
      "menu.language",
      "menu.main",
      "menu.view_cart",
      "menu.back",
      "menu.more",
      "menu.previous",
      "menu.choose",
      "categories.prompt",
      "categories.empty",
      "category.prompt",
      "product.detail",
      "product.in_stock",
      "product.out_of_stock",
      "product.add",
      "product.add_other",
      "product.unavailable",
      "ask.quantity",
      "bad.quantity",
      "cart.added",
      "cart.capped",
      "cart.empty",
      "cart.header",
      "cart.line",
      "cart.line_unavailable",
      "cart.total",
      "cart.change",
      "cart.remove",
      "cart.clear",
      "cart.cleared",
      "cart.pick_change",
      "cart.pick_remove",
      "cart.removed",
      "cart.updated",
      "cart.not_in_cart",
      "checkout.cart_empty",
      "checkout.unavailable",
      "checkout.fulfilment",
      "checkout.pickup",
      "checkout.delivery",
      "checkout.delivery_free",
      "checkout.ask_name",
      "checkout.bad_name",
      "checkout.ask_address",
      "checkout.bad_address",
      "checkout.summary",
      "checkout.summary_pickup",
      "checkout.summary_delivery",
      "checkout.delivery_fee",
      "checkout.vat_line",
      "checkout.total",
      "checkout.privacy",
      "checkout.confirm",
      "checkout.change",
      "checkout.placed",
      "checkout.payment_pickup",
      "checkout.payment_delivery",
      "checkout.stock_changed",
      "orders.none",
      "orders.header",
      "orders.option",
      "order.detail",
      "order.cancel",
      "order.confirm_cancel",
      "order.yes_cancel",
      "order.keep",
      "order.cancelled",
      "order.cannot_cancel",
      "order.not_found",
      "status.placed",
      "status.accepted",
      "status.ready",
      "status.shipped",
      "status.completed",
      "status.cancelled",
      "notify.placed",
      "notify.accepted",
      "notify.ready",
      "notify.shipped",
      "notify.completed",
      "notify.cancelled",
      "search.prompt",
      "search.results",
      "search.none",
      "privacy.info",
      "help.text",
      "language.prompt",
      "language.set",
      "unknown",
      "unsupported",
      "add.usage",
      "add.not_found",
      "remove.usage",
      "marketing.offer",
      "marketing.yes",
      "marketing.no",
      "marketing.given",
      "marketing.off",
      "marketing.still_checking_out",
      "marketing.start",
      "marketing.stop",
      "marketing.footer",
      "privacy.marketing_on",
      "privacy.marketing_off",
      // Data-subject requests (src/rights/requests.h).
      "rights.code",
      "rights.rectified",
      "rights.restricted",
      "rights.restriction_lifted",
      "rights.objected",
      "rights.extended",
      "rights.erased",
      "rights.menu.intro",
      "rights.menu.access",
      "rights.menu.erasure",
      "rights.menu.restriction",
      "rights.access_ready",
      "rights.erase_confirm",
      "rights.erase_yes",
      "rights.erased_chat"};
  return keys;
}

const std::vector<std::string_view>& command_ids() {
  static const std::vector<std::string_view> ids = {"menu",    "cart",     "checkout", "add",    "remove", "orders",     "help",
                                                     "search",  "privacy",  "language", "back",   "cancel", "unsubscribe",
                                                     "my_data", "erase_data"};
  return ids;
}

namespace {

Error bad(std::string_view source, const std::string& problem) {
  return Error{Errc::config, std::string(source) + ": " + problem, {}};
}

std::string group_thousands(std::string digits, const std::string& sep) {
  if (sep.empty()) return digits;
  std::string out;
  const std::size_t n = digits.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += sep;
    out.push_back(digits[i]);
  }
  return out;
}

std::string currency_symbol(const std::string& currency) {
  if (currency == "EUR") return "€";
  if (currency == "GBP") return "£";
  if (currency == "USD") return "$";
  if (currency == "CHF") return "CHF ";
  return currency + " ";
}

}  // namespace

Result<MessageCatalog> MessageCatalog::parse(std::string_view json_text, std::string_view source) {
  try {
    return parse_checked(json_text, source);
  } catch (const json::exception& e) {
    // A value of the wrong type somewhere (e.g. a number where a string belongs).
    return std::unexpected(bad(source, std::string("wrong type of value: ") + e.what()));
  }
}

Result<MessageCatalog> MessageCatalog::parse_checked(std::string_view json_text, std::string_view source) {
  json j;
  try {
    j = json::parse(json_text.begin(), json_text.end(), nullptr, true, true);
  } catch (const json::parse_error& e) {
    return std::unexpected(bad(source, std::string("malformed JSON: ") + e.what()));
  }
  MessageCatalog c;
  if (!j.is_object()) return std::unexpected(bad(source, "must be a JSON object"));
  if (!j.contains("language") || !j["language"].is_string() || j["language"].get<std::string>().size() != 2) {
    return std::unexpected(bad(source, "language: must be a two-letter code"));
  }
  c.language_ = j["language"].get<std::string>();
  if (!std::islower(static_cast<unsigned char>(c.language_[0])) || !std::islower(static_cast<unsigned char>(c.language_[1]))) {
    return std::unexpected(bad(source, "language: must be a lower-case two-letter code"));
  }
  c.language_name_ = j.value("language_name", c.language_);
  if (!j.contains("texts") || !j["texts"].is_object()) return std::unexpected(bad(source, "texts: must be an object"));
  for (auto it = j["texts"].begin(); it != j["texts"].end(); ++it) {
    if (!it->is_string()) return std::unexpected(bad(source, "texts." + it.key() + ": must be a string"));
    c.texts_[it.key()] = it->get<std::string>();
  }
  if (j.contains("greetings")) {
    if (!j["greetings"].is_array()) return std::unexpected(bad(source, "greetings: must be an array of strings"));
    for (const auto& g : j["greetings"]) {
      if (!g.is_string()) return std::unexpected(bad(source, "greetings: must be an array of strings"));
      c.greetings_.push_back(text::fold(text::squash_spaces(g.get<std::string>())));
    }
  }
  if (j.contains("commands")) {
    if (!j["commands"].is_object()) return std::unexpected(bad(source, "commands: must be an object"));
    for (auto it = j["commands"].begin(); it != j["commands"].end(); ++it) {
      if (std::find(command_ids().begin(), command_ids().end(), it.key()) == command_ids().end()) {
        return std::unexpected(bad(source, "commands." + it.key() + ": unknown command"));
      }
      if (!it->is_array()) return std::unexpected(bad(source, "commands." + it.key() + ": must be an array of strings"));
      for (const auto& w : *it) {
        if (!w.is_string()) return std::unexpected(bad(source, "commands." + it.key() + ": must be an array of strings"));
        c.commands_[it.key()].push_back(text::fold(text::squash_spaces(w.get<std::string>())));
      }
    }
  }
  if (j.contains("format") && j["format"].is_object()) {
    const auto& f = j["format"];
    c.decimal_separator_ = f.value("decimal_separator", c.decimal_separator_);
    c.thousands_separator_ = f.value("thousands_separator", c.thousands_separator_);
    c.money_pattern_ = f.value("money", c.money_pattern_);
  }
  return c;
}

const std::vector<std::string>& MessageCatalog::command_words(const std::string& command) const {
  static const std::vector<std::string> kNone;
  auto it = commands_.find(command);
  return it == commands_.end() ? kNone : it->second;
}

std::string MessageCatalog::text(const std::string& key,
                                 std::initializer_list<std::pair<std::string_view, std::string>> values) const {
  std::vector<std::pair<std::string, std::string>> v;
  v.reserve(values.size());
  for (const auto& [k, x] : values) v.emplace_back(std::string(k), x);
  return text(key, v);
}

std::string MessageCatalog::text(const std::string& key, const std::vector<std::pair<std::string, std::string>>& values) const {
  auto it = texts_.find(key);
  if (it == texts_.end()) return key;
  const std::string& tpl = it->second;
  std::string out;
  out.reserve(tpl.size() + 32);
  for (std::size_t i = 0; i < tpl.size(); ++i) {
    if (tpl[i] == '{') {
      const auto close = tpl.find('}', i + 1);
      if (close != std::string::npos) {
        const std::string_view name(tpl.data() + i + 1, close - i - 1);
        bool replaced = false;
        for (const auto& [k, v] : values) {
          if (k == name) {
            out += v;
            replaced = true;
            break;
          }
        }
        if (replaced) {
          i = close;
          continue;
        }
      }
    }
    out.push_back(tpl[i]);
  }
  return out;
}

std::string MessageCatalog::money(std::int64_t minor, const std::string& currency) const {
  const bool negative = minor < 0;
  const std::int64_t v = negative ? -minor : minor;
  std::string cents = std::to_string(v % 100);
  if (cents.size() < 2) cents.insert(0, "0");
  std::string amount = group_thousands(std::to_string(v / 100), thousands_separator_) + decimal_separator_ + cents;
  if (negative) amount.insert(0, "-");
  std::string out = money_pattern_;
  auto replace = [&](const std::string& what, const std::string& with) {
    const auto pos = out.find(what);
    if (pos != std::string::npos) out.replace(pos, what.size(), with);
  };
  replace("{amount}", amount);
  replace("{symbol}", currency_symbol(currency));
  replace("{code}", currency);
  return out;
}

std::string MessageCatalog::percent(int bp) const {
  std::string s = std::to_string(bp / 100);
  const int frac = bp % 100;
  if (frac != 0) {
    s += decimal_separator_;
    s += std::to_string(frac / 10);
    if (frac % 10 != 0) s += std::to_string(frac % 10);
  }
  return s + " %";
}

Result<Messages> Messages::from_sources(const std::vector<std::pair<std::string, std::string>>& sources,
                                        const std::string& default_language) {
  Messages m;
  m.default_language_ = default_language;
  for (const auto& [name, body] : sources) {
    auto c = MessageCatalog::parse(body, name);
    if (!c) return std::unexpected(c.error());
    for (auto key : required_text_keys()) {
      if (!c->has(std::string(key))) return fail(Errc::config, name + ": texts." + std::string(key) + ": missing");
    }
    // Customers must always be able to stop marketing messages in their language.
    if (c->command_words("unsubscribe").empty()) {
      return fail(Errc::config, name + ": commands.unsubscribe: missing (the words that stop marketing messages, e.g. \"stop\")");
    }
    if (m.catalogs_.count(c->language())) return fail(Errc::config, name + ": language " + c->language() + " defined twice");
    m.catalogs_.emplace(c->language(), std::move(*c));
  }
  if (!m.catalogs_.count(default_language)) {
    return fail(Errc::config, "no message catalog for the default language \"" + default_language + "\"");
  }
  return m;
}

Result<Messages> Messages::load(const std::filesystem::path& dir, const std::string& default_language) {
  std::vector<std::pair<std::string, std::string>> sources;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return fail(Errc::config, dir.string() + ": not a directory");
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".json") continue;
    auto body = files::read(e.path(), 1u << 20);
    if (!body) return fail(Errc::config, body.error().message);
    sources.emplace_back(e.path().string(), std::move(*body));
  }
  std::sort(sources.begin(), sources.end());
  return from_sources(sources, default_language);
}

const MessageCatalog& Messages::get(const std::string& lang) const {
  auto it = catalogs_.find(lang);
  if (it != catalogs_.end()) return it->second;
  return catalogs_.at(default_language_);
}

std::vector<std::string> Messages::languages() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : catalogs_) out.push_back(k);
  return out;
}

std::string Messages::greeting_language(const std::string& folded, const std::string& preferred) const {
  // The user's own words decide; where several languages share a greeting, keep the customer's
  // current language, else the default one.
  auto matches = [&](const MessageCatalog& c) {
    return std::find(c.greetings().begin(), c.greetings().end(), folded) != c.greetings().end();
  };
  if (!preferred.empty() && supports(preferred) && matches(get(preferred))) return preferred;
  if (matches(get(default_language_))) return default_language_;
  for (const auto& [lang, c] : catalogs_) {
    if (matches(c)) return lang;
  }
  return "";
}

std::string Messages::command_for(const std::string& folded_word) const {
  for (const auto& [lang, c] : catalogs_) {
    for (auto id : command_ids()) {
      const auto& words = c.command_words(std::string(id));
      if (std::find(words.begin(), words.end(), folded_word) != words.end()) return std::string(id);
    }
  }
  return "";
}

}  // namespace comptoir::chat

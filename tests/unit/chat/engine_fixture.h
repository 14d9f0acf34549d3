// Test support for the conversation engine: a ShopWorld (real SQLCipher database in a temp dir)
// with the built-in message catalogs and example catalog loaded as `serve` loads them, an Engine
// on top, and a runner for table-driven conversation scripts. Header-only (no CMake edit).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "src/app/shop_setup.h"
#include "src/chat/engine.h"
#include "src/chat/inbox.h"
#include "src/chat/messages.h"
#include "privacy/notice.h"
#include "tests/unit/commerce/shop_fixture.h"

namespace comptoir::testing {

inline constexpr const char* kShopName = "Comptoir test shop";
inline constexpr const char* kPublicUrl = "https://shop.example.eu";

// One step of a conversation script: what the customer sends and what must follow.
struct Step {
  std::string text;    // typed text (empty when an option is tapped)
  std::string option;  // tapped option id
  std::function<void()> before;  // something that happens outside the chat first (staff, clock)
  std::vector<std::string> has, lacks;            // substrings of the replies' text
  std::vector<std::string> offers, not_offers;    // option ids of the last reply
  std::vector<std::string> any_offers, none_offers;  // option ids of any reply / of no reply
  std::vector<std::pair<std::string, std::string>> titled;  // option id → its exact title
  std::optional<std::int64_t> cart;               // the customer's cart item count afterwards
  bool rejected = false;                          // refused as malformed (invalid_argument)

  Step&& Has(std::string s) && { has.push_back(std::move(s)); return std::move(*this); }
  Step&& Lacks(std::string s) && { lacks.push_back(std::move(s)); return std::move(*this); }
  Step&& Offers(std::initializer_list<std::string> ids) && {
    offers.insert(offers.end(), ids);
    return std::move(*this);
  }
  Step&& NotOffers(std::initializer_list<std::string> ids) && {
    not_offers.insert(not_offers.end(), ids);
    return std::move(*this);
  }
  Step&& AnyOffers(std::initializer_list<std::string> ids) && {
    any_offers.insert(any_offers.end(), ids);
    return std::move(*this);
  }
  Step&& NoneOffers(std::initializer_list<std::string> ids) && {
    none_offers.insert(none_offers.end(), ids);
    return std::move(*this);
  }
  Step&& Titled(std::string id, std::string title) && {
    titled.emplace_back(std::move(id), std::move(title));
    return std::move(*this);
  }
  Step&& Cart(std::int64_t n) && { cart = n; return std::move(*this); }
  Step&& Rejected() && { rejected = true; return std::move(*this); }
  Step&& Before(std::function<void()> f) && { before = std::move(f); return std::move(*this); }

  std::string label() const {
    std::string t = text.size() > 40 ? text.substr(0, 40) + "…(" + std::to_string(text.size()) + " bytes)" : text;
    return option.empty() ? "say \"" + t + "\"" : "tap " + option;
  }
};

// A web chat message: typed text or a tapped option.
inline chat::Inbound inbound(std::string address, std::string text, std::string option = "") {
  chat::Inbound in;
  in.channel = privacy::Channel::webchat;
  in.address = std::move(address);
  in.text = std::move(text);
  in.option = std::move(option);
  return in;
}

inline Step say(std::string text) {
  Step s;
  s.text = std::move(text);
  return s;
}
inline Step tap(std::string option) {
  Step s;
  s.option = std::move(option);
  return s;
}
// Something outside the chat happens; the script then goes on with `next`.
inline Step after(std::function<void()> f, Step next) {
  next.before = std::move(f);
  return next;
}

class ChatWorld {
 public:
  ShopWorld w;
  std::optional<chat::Messages> messages;
  std::unique_ptr<chat::Engine> engine;
  std::unique_ptr<chat::Inbox> inbox;

  // The notice GET /privacy serves for this shop; its versions are what the consent ledger records.
  static const privacy::Notice& notice() {
    static const privacy::Notice n = [] {
      privacy::NoticeSettings s;
      s.shop_name = kShopName;
      return *privacy::Notice::build(*privacy::default_inventory(), s);
    }();
    return n;
  }

  static chat::EngineSettings default_settings() {
    chat::EngineSettings s;
    s.shop_name = kShopName;
    s.public_url = kPublicUrl;
    s.page_size = 8;
    s.inactivity = std::chrono::minutes(30);
    s.notice_version = [](const std::string& language) { return notice().version(language); };
    return s;
  }

  void open(chat::EngineSettings settings = default_settings(), commerce::ShopSettings shop = {}) {
    engine.reset();
    inbox.reset();
    config::Config cfg;
    w.open(std::move(shop));
    auto m = app::load_messages(cfg);
    ASSERT_TRUE(m.has_value()) << why(m);
    messages.emplace(std::move(*m));
    auto catalog = app::load_catalog(cfg, std::nullopt);
    ASSERT_TRUE(catalog.has_value()) << why(catalog);
    ASSERT_TRUE(commerce::import_catalog(*w.db, *catalog, 1800000000).has_value());
    engine = std::make_unique<chat::Engine>(*w.db, *w.customers, *w.shop, *messages, settings, w.clock);
    inbox = std::make_unique<chat::Inbox>(*w.db, *w.customers, w.clock);
  }

  ~ChatWorld() {
    engine.reset();
    inbox.reset();
    w.close();
  }

  // A catalog text in `lang` with its placeholders filled (expected replies are built from it).
  std::string T(const std::string& lang, const std::string& key,
                std::initializer_list<std::pair<std::string_view, std::string>> values = {}) const {
    EXPECT_TRUE(messages->get(lang).has(key)) << key;
    return messages->get(lang).text(key, values);
  }
  std::string money(const std::string& lang, std::int64_t minor) const { return messages->get(lang).money(minor, "EUR"); }

  // A product's name as a customer writing in `lang` sees it.
  std::string name_of(const std::string& sku, const std::string& lang) {
    auto p = w.in_tx<std::optional<commerce::ProductView>>([&](storage::Tx& tx) { return w.shop->product(tx, sku, lang); });
    EXPECT_TRUE(p.has_value() && p->has_value()) << sku;
    return p && p->has_value() ? (*p)->name : sku;
  }

  std::optional<commerce::Customer> customer(const std::string& address) {
    std::optional<commerce::Customer> out;
    EXPECT_TRUE(w.db->read([&](storage::Tx& tx) -> Status {
                    auto c = w.customers->find(tx, privacy::Channel::webchat, address);
                    if (!c) return std::unexpected(c.error());
                    out = *c;
                    return ok();
                  }).has_value());
    return out;
  }

  std::int64_t cart_count(const std::string& address) {
    auto c = customer(address);
    if (!c) return 0;
    return w.cart(c->id).item_count();
  }

  Result<std::vector<chat::Reply>> send(const std::string& address, const std::string& text, const std::string& option = "") {
    return engine->handle(inbound(address, text, option));
  }

  // Runs a script for the customer at `address`; returns the replies to the last step.
  std::vector<chat::Reply> run(const std::string& address, const std::vector<Step>& steps) {
    std::vector<chat::Reply> last;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const Step& s = steps[i];
      SCOPED_TRACE("step " + std::to_string(i + 1) + ": " + s.label());
      if (s.before) s.before();
      auto r = send(address, s.text, s.option);
      if (s.rejected) {
        EXPECT_FALSE(r.has_value()) << "expected a refusal";
        if (!r) {
          EXPECT_EQ(r.error().code, Errc::invalid_argument);
        }
        continue;
      }
      EXPECT_TRUE(r.has_value()) << why(r);
      if (!r) return {};
      EXPECT_FALSE(r->empty()) << "no reply";
      if (r->empty()) return {};
      std::string text;
      std::set<std::string> all_ids;
      for (const auto& reply : *r) {
        for (const auto& o : reply.options) all_ids.insert(o.id);
        // Never a dead end: every reply offers something to do next.
        EXPECT_FALSE(reply.options.empty()) << "a reply without options: " << reply.text;
        EXPECT_FALSE(reply.text.empty());
        for (const auto& o : reply.options) {
          EXPECT_FALSE(o.id.empty());
          EXPECT_FALSE(o.title.empty()) << o.id;
          EXPECT_TRUE(chat::validate_inbound(inbound(address, "", o.id)).has_value())
              << "offered option id is not valid input: " << o.id;
        }
        text += reply.text + "\n";
      }
      for (const auto& h : s.has) EXPECT_NE(text.find(h), std::string::npos) << "missing \"" << h << "\" in:\n" << text;
      for (const auto& h : s.lacks) EXPECT_EQ(text.find(h), std::string::npos) << "unexpected \"" << h << "\" in:\n" << text;
      const auto& options = r->back().options;
      std::set<std::string> ids;
      std::string listing;
      for (const auto& o : options) {
        ids.insert(o.id);
        listing += o.id + " (" + o.title + ")\n";
      }
      for (const auto& id : s.offers) EXPECT_TRUE(ids.count(id)) << "option " << id << " not offered; offered:\n" << listing;
      for (const auto& id : s.not_offers) EXPECT_FALSE(ids.count(id)) << "option " << id << " offered";
      for (const auto& id : s.any_offers) EXPECT_TRUE(all_ids.count(id)) << "option " << id << " offered by no reply";
      for (const auto& id : s.none_offers) EXPECT_FALSE(all_ids.count(id)) << "option " << id << " offered by a reply";
      for (const auto& [id, title] : s.titled) {
        bool found = false;
        for (const auto& o : options) {
          if (o.id == id) {
            found = true;
            EXPECT_EQ(o.title, title) << id;
          }
        }
        EXPECT_TRUE(found) << "option " << id << " not offered; offered:\n" << listing;
      }
      if (s.cart) {
        EXPECT_EQ(cart_count(address), *s.cart);
      }
      last = std::move(*r);
    }
    return last;
  }
};

}  // namespace comptoir::testing

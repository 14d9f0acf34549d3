// Test support for the commerce and chat unit tests: a real SQLCipher database in a temp dir
// (random 32-byte key, every migration applied) with the privacy layer, the customer directory and
// a Shop on top, driven by a FakeClock. Header-only so that no CMake edit is needed.
// Single-threaded set-up; the objects themselves are as thread-safe as the production ones.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "privacy/blind_index.h"
#include "privacy/vault.h"
#include "src/commerce/catalog_json.h"
#include "src/commerce/customers.h"
#include "src/commerce/shop.h"
#include "src/common/env.h"
#include "src/common/secret.h"
#include "storage/database.h"
#include "storage/subject_key_store.h"
#include "tests/support/temp_dir.h"

namespace comptoir {
[[maybe_unused]] static void PrintTo(Errc code, std::ostream* os) { *os << to_string(code); }
}  // namespace comptoir

namespace comptoir::testing {

// The message of a failed Result, or "" (for assertion messages).
template <class T>
std::string why(const Result<T>& r) {
  return r ? std::string() : std::string(to_string(r.error().code)) + ": " + r.error().message;
}

class ShopWorld {
 public:
  TempDir dir;
  SecretBytes db_key = SecretBytes::random(32);
  SecretBytes wrapping_key = SecretBytes::random(32);
  SecretBytes index_key = SecretBytes::random(32);
  FakeClock clock{TimePoint(std::chrono::seconds(1800000000))};  // 2027-01-15
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<storage::SubjectKeyStore> subject_keys;
  std::unique_ptr<privacy::Vault> vault;
  std::unique_ptr<privacy::BlindIndex> index;
  std::unique_ptr<commerce::CustomerDirectory> customers;
  std::unique_ptr<commerce::Shop> shop;

  std::filesystem::path db_file() const { return dir / "comptoir.db"; }

  // Creates (first call) or reopens the database and builds the stack on it.
  void open(commerce::ShopSettings settings = {}) {
    close();
    storage::OpenOptions o;
    std::error_code ec;
    o.create = !std::filesystem::exists(db_file(), ec);
    auto d = storage::Database::open(db_file(), db_key, o);
    ASSERT_TRUE(d.has_value()) << d.error().message;
    db = std::move(*d);
    ASSERT_TRUE(db->migrate().has_value());
    subject_keys = std::make_unique<storage::SubjectKeyStore>(*db);
    vault = std::make_unique<privacy::Vault>(*subject_keys, wrapping_key, clock);
    index = std::make_unique<privacy::BlindIndex>(index_key);
    customers = std::make_unique<commerce::CustomerDirectory>(*db, *vault, *index, clock);
    shop = std::make_unique<commerce::Shop>(*db, *customers, std::move(settings), clock);
  }

  // Tears the stack down and closes the database (the WAL is folded into the main file).
  void close() {
    shop.reset();
    customers.reset();
    index.reset();
    vault.reset();
    subject_keys.reset();
    if (db) db->close();
    db.reset();
  }

  commerce::Customer customer(const std::string& address, const std::string& lang = "en") {
    commerce::Customer out;
    auto st = db->write([&](storage::Tx& tx) -> Status {
      auto c = customers->find_or_create(tx, privacy::Channel::webchat, address, lang);
      if (!c) return std::unexpected(c.error());
      out = *c;
      return ok();
    });
    EXPECT_TRUE(st.has_value()) << st.error().message;
    return out;
  }

  // Runs `fn` in a write transaction and returns its result (the transaction rolls back when the
  // result is an error).
  template <class T, class F>
  Result<T> in_tx(F&& fn) {
    Result<T> out = fail(Errc::internal, "not run");
    auto st = db->write([&](storage::Tx& tx) -> Status {
      out = fn(tx);
      if (!out) return std::unexpected(out.error());
      return ok();
    });
    if (!st && out) return std::unexpected(st.error());
    return out;
  }

  std::int64_t stock_of(const std::string& sku) {
    auto p = shop->catalog().product(sku);
    EXPECT_TRUE(p.has_value() && p->has_value()) << sku;
    return p && p->has_value() ? (*p)->stock : -1;
  }

  void set_stock(const std::string& sku, std::int64_t stock, std::optional<bool> active = std::nullopt) {
    auto p = shop->catalog().product(sku);
    ASSERT_TRUE(p.has_value() && p->has_value()) << sku;
    storage::ProductRecord r = **p;
    r.stock = stock;
    if (active) r.active = *active;
    ASSERT_TRUE(shop->catalog().upsert_product(r).has_value());
  }

  commerce::CartView cart(std::int64_t customer_id, const std::string& lang = "en",
                          commerce::Fulfilment f = commerce::Fulfilment::pickup) {
    auto c = in_tx<commerce::CartView>([&](storage::Tx& tx) { return shop->cart(tx, customer_id, lang, f); });
    EXPECT_TRUE(c.has_value()) << why(c);
    return c ? *c : commerce::CartView{};
  }
};

// A small catalog: two VAT rates, an inactive product and one out of stock.
inline commerce::CatalogData small_catalog() {
  auto parsed = commerce::parse_catalog(R"({
    "categories": [{"id": "food", "name": {"en": "Food", "fr": "Épicerie"}},
                   {"id": "drinks", "name": {"en": "Drinks"}}],
    "products": [
      {"sku": "P-BREAD", "category": "food", "price": 2290, "vat_rate": 5.5, "stock": 10,
       "name": {"en": "Big bread", "fr": "Gros pain"}, "description": {"en": "A large loaf."}},
      {"sku": "P-WINE", "category": "drinks", "price": 1200, "vat_rate": 20, "stock": 5,
       "name": {"en": "Red wine"}},
      {"sku": "P-OFF", "category": "food", "price": 100, "vat_rate": 5.5, "stock": 10, "active": false,
       "name": {"en": "Withdrawn biscuit"}},
      {"sku": "P-NONE", "category": "food", "price": 300, "vat_rate": 5.5, "stock": 0,
       "name": {"en": "Sold-out jam"}}
    ]})",
                                        "small", "en", "EUR");
  EXPECT_TRUE(parsed.has_value()) << why(parsed);
  return parsed ? *parsed : commerce::CatalogData{};
}

}  // namespace comptoir::testing

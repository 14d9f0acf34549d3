// Shop: the commerce domain — catalog views in a language, carts, checkout and orders.
// Stock is taken inside the order's transaction with a conditional update, so concurrent
// checkouts can never oversell; cancelling returns the stock. Delivery details are sealed under
// the customer's key before they reach storage.
// Thread-safe: all state is in the database; Tx-taking calls join the caller's transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "privacy/vault.h"
#include "src/commerce/customers.h"
#include "src/commerce/types.h"
#include "src/common/env.h"
#include "src/common/error.h"
#include "storage/cart_store.h"
#include "storage/catalog_store.h"
#include "storage/order_store.h"

namespace comptoir::commerce {

struct CategoryView {
  std::string id;
  std::string name;
  std::int64_t product_count = 0;  // active products
};

struct ProductView {
  std::string sku;
  std::string category;
  std::string name;
  std::string description;
  std::int64_t price = 0;
  std::string currency;
  int vat_rate = 0;
  std::int64_t stock = 0;
  bool active = true;
};

struct ProductPage {
  std::vector<ProductView> items;
  int page = 0;
  int pages = 0;
  std::int64_t total = 0;
};

struct CartLineView {
  std::string sku;
  std::string name;
  std::int64_t unit_price = 0;
  std::int64_t quantity = 0;
  std::int64_t line_total = 0;
  int vat_rate = 0;
  std::int64_t stock = 0;
  bool available = true;  // product still active
};

struct CartView {
  std::vector<CartLineView> lines;
  Totals totals;
  std::string currency;
  bool empty() const { return lines.empty(); }
  std::int64_t item_count() const;
};

struct DeliveryDetails {
  std::string recipient_name;
  std::string address;
};

struct AddResult {
  std::int64_t quantity = 0;   // the line's quantity after adding
  bool capped = false;         // fewer than asked were added (stock or the per-line maximum)
};

struct PlaceResult {
  std::optional<storage::OrderRecord> order;   // set on success
  std::vector<std::string> unavailable;        // SKUs that could not be supplied (nothing changed)
  bool cart_empty = false;
};

// An order as the merchant's staff see it (delivery details opened, when still held).
struct OrderDetails {
  storage::OrderRecord order;
  std::optional<std::string> recipient_name;
  std::optional<std::string> delivery_address;
};

class Shop {
 public:
  // Called inside the transaction that changed an order's status, so the customer's notification
  // commits (or not) together with the change.
  using StatusListener = std::function<Status(storage::Tx&, const storage::OrderRecord&, const Customer&)>;

  Shop(storage::Database& db, CustomerDirectory& customers, ShopSettings settings, const Clock& clock);

  const ShopSettings& settings() const { return settings_; }
  void set_status_listener(StatusListener listener) { listener_ = std::move(listener); }

  // --- catalog, in a language (falls back to the default language, then to any text)
  Result<std::vector<CategoryView>> categories(storage::Tx& tx, const std::string& lang);
  Result<ProductPage> products_in(storage::Tx& tx, const std::string& category, const std::string& lang,
                                  int page, int page_size);
  Result<std::optional<ProductView>> product(storage::Tx& tx, const std::string& sku, const std::string& lang);
  // Case- and accent-insensitive search over SKU, names and descriptions of active products.
  Result<std::vector<ProductView>> search(storage::Tx& tx, const std::string& query, const std::string& lang,
                                          int limit);
  // Exact SKU (any case), else a single product whose name matches every word.
  Result<std::optional<ProductView>> resolve(storage::Tx& tx, const std::string& sku_or_name, const std::string& lang);

  // --- cart
  Result<CartView> cart(storage::Tx& tx, std::int64_t customer_id, const std::string& lang,
                        Fulfilment fulfilment = Fulfilment::pickup);
  // Errc::not_found for an unknown or inactive product; invalid_argument for quantity < 1.
  Result<AddResult> add_to_cart(storage::Tx& tx, std::int64_t customer_id, const std::string& sku,
                                std::int64_t quantity);
  // 0 removes the line. Errc::not_found if the line does not exist.
  Result<AddResult> set_quantity(storage::Tx& tx, std::int64_t customer_id, const std::string& sku,
                                 std::int64_t quantity);
  Status clear_cart(storage::Tx& tx, std::int64_t customer_id);

  // --- orders
  Result<PlaceResult> place_order(storage::Tx& tx, const Customer& customer, Fulfilment fulfilment,
                                  const std::optional<DeliveryDetails>& delivery);
  Result<std::vector<storage::OrderRecord>> customer_orders(storage::Tx& tx, std::int64_t customer_id, int limit);
  Result<std::optional<storage::OrderRecord>> customer_order(storage::Tx& tx, std::int64_t customer_id,
                                                             const std::string& number);
  // Staff: Errc::not_found, or Errc::conflict when the transition is not allowed.
  Result<storage::OrderRecord> change_status(const std::string& number, OrderStatus to);
  // `notify` = false when the customer made the change in their own chat (the reply tells them).
  Result<storage::OrderRecord> change_status(storage::Tx& tx, const std::string& number, OrderStatus to,
                                             bool notify = true);
  Result<OrderDetails> details(storage::Tx& tx, const storage::OrderRecord& order);

  storage::CatalogStore& catalog() { return catalog_; }
  storage::OrderStore& orders() { return orders_; }
  CustomerDirectory& customers() { return customers_; }
  storage::Database& database() { return db_; }

 private:
  ProductView view(const storage::ProductRecord& p, const std::string& lang) const;
  Status place_in(storage::Tx& tx, const Customer& customer, Fulfilment fulfilment,
                  const std::optional<DeliveryDetails>& delivery, const CartView& cart,
                  std::optional<storage::OrderRecord>& placed);

  storage::Database& db_;
  CustomerDirectory& customers_;
  storage::CatalogStore catalog_;
  storage::CartStore carts_;
  storage::OrderStore orders_;
  ShopSettings settings_;
  const Clock& clock_;
  StatusListener listener_;
};

// Validation of what customers type into delivery fields.
Status validate_recipient_name(std::string_view name);
Status validate_address(std::string_view address);
inline constexpr std::size_t kMaxNameChars = 100;
inline constexpr std::size_t kMaxAddressChars = 300;

}  // namespace comptoir::commerce

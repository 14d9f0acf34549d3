// CatalogStore: categories and products (not personal data). Prices are integer minor units with
// VAT included; VAT rates are basis points (2000 = 20 %). Thread-safe through Database; the Tx
// overloads join a caller's transaction.
// Reads other than text searches are served from a snapshot of the catalog kept by the
// database connection, with the stock always read from the table. The snapshot is rebuilt after
// any catalog write made through this class, after any rollback, after raw access through
// Database::run/transaction, and when another connection has committed; so reads return exactly
// what the equivalent queries would, inside the caller's transaction too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::storage {

struct LocalizedName {
  std::string lang;
  std::string name;
  std::string description;
};

struct CategoryRecord {
  std::string id;
  int position = 0;
  std::vector<LocalizedName> names;  // description unused
};

struct ProductRecord {
  std::string sku;
  std::string category;
  std::vector<LocalizedName> texts;
  std::int64_t price = 0;
  std::string currency = "EUR";
  int vat_rate = 0;
  std::int64_t stock = 0;
  bool active = true;
  int position = 0;
  std::int64_t updated_at = 0;
};

struct ProductQuery {
  std::optional<std::string> category;
  bool active_only = false;
  bool inactive_only = false;
  std::optional<std::string> text;  // case-insensitive match in any language's name/description or SKU
  int offset = 0;
  int limit = 1000;
};

class CatalogStore {
 public:
  explicit CatalogStore(Database& db) : db_(db) {}

  Status upsert_category(Tx& tx, const CategoryRecord& c);
  Result<std::vector<CategoryRecord>> categories();
  Result<std::vector<CategoryRecord>> categories(Tx& tx);

  // Inserts or replaces a product and its texts. Errc::invalid_argument for an unknown category.
  Status upsert_product(Tx& tx, const ProductRecord& p);
  Status upsert_product(const ProductRecord& p);
  Result<bool> insert_product(const ProductRecord& p);  // false if the SKU exists
  Result<std::optional<ProductRecord>> product(const std::string& sku);
  Result<std::optional<ProductRecord>> product(Tx& tx, const std::string& sku);
  Result<std::vector<ProductRecord>> products(const ProductQuery& q);
  Result<std::vector<ProductRecord>> products(Tx& tx, const ProductQuery& q);
  Result<std::int64_t> count_products(Tx& tx, const ProductQuery& q);
  // Deactivation keeps the row (orders reference SKUs by snapshot, so deleting is also safe).
  Result<bool> delete_product(const std::string& sku);

  // Takes `quantity` from stock if at least that much is there; false otherwise (nothing changes).
  Result<bool> take_stock(Tx& tx, const std::string& sku, std::int64_t quantity);
  Status return_stock(Tx& tx, const std::string& sku, std::int64_t quantity);

 private:
  Database& db_;
};

}  // namespace comptoir::storage

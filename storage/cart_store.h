// CartStore: one cart per customer, lines keyed by SKU. Thread-safe through Database.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::storage {

struct CartLineRecord {
  std::string sku;
  std::int64_t quantity = 0;
  std::int64_t added_at = 0;
};

class CartStore {
 public:
  explicit CartStore(Database& db) : db_(db) {}
  Result<std::vector<CartLineRecord>> lines(Tx& tx, std::int64_t customer_id);
  // Sets the quantity of a line (creating it); quantity 0 removes it.
  Status set_quantity(Tx& tx, std::int64_t customer_id, const std::string& sku, std::int64_t quantity,
                      std::int64_t at);
  Status clear(Tx& tx, std::int64_t customer_id);

 private:
  Database& db_;
};

}  // namespace comptoir::storage

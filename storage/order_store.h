// OrderStore: orders with snapshot lines and a VAT breakdown. Delivery name and address are
// sealed envelopes made by the privacy layer. Thread-safe through Database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::storage {

struct OrderLineRecord {
  std::string sku;
  std::string name;
  std::int64_t unit_price = 0;
  std::int64_t quantity = 0;
  int vat_rate = 0;
  std::int64_t line_total = 0;
};

struct VatLineRecord {
  int vat_rate = 0;
  std::int64_t net = 0;
  std::int64_t vat = 0;
  std::int64_t gross = 0;
};

struct OrderRecord {
  std::int64_t id = 0;
  std::string number;
  std::optional<std::int64_t> customer_id;
  std::string status;
  std::string fulfilment;
  std::string currency;
  std::string language;
  std::int64_t items_total = 0;
  std::int64_t delivery_fee = 0;
  std::int64_t total = 0;
  std::int64_t vat_total = 0;
  std::vector<std::uint8_t> recipient_name_sealed;    // empty when none
  std::vector<std::uint8_t> delivery_address_sealed;  // empty when none
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::vector<OrderLineRecord> lines;
  std::vector<VatLineRecord> vat;
};

struct OrderQuery {
  std::optional<std::string> status;
  std::optional<std::int64_t> created_from;   // inclusive, unix seconds
  std::optional<std::int64_t> created_until;  // exclusive
  std::optional<std::int64_t> customer_id;
  std::optional<std::int64_t> before_id;      // paging: orders with a smaller id (newest first)
  int limit = 50;
};

class OrderStore {
 public:
  explicit OrderStore(Database& db) : db_(db) {}

  // Inserts the order with its lines and VAT lines; assigns id and number ("C-" + 6+ digits).
  Result<OrderRecord> insert(Tx& tx, OrderRecord order);
  Result<std::optional<OrderRecord>> by_number(Tx& tx, const std::string& number);
  Result<std::optional<OrderRecord>> by_number(const std::string& number);
  Result<std::vector<OrderRecord>> list(Tx& tx, const OrderQuery& q);
  Result<std::vector<OrderRecord>> list(const OrderQuery& q);
  Status set_status(Tx& tx, std::int64_t id, const std::string& status, std::int64_t at);
  Status set_delivery(Tx& tx, std::int64_t id, const std::vector<std::uint8_t>& name_sealed,
                      const std::vector<std::uint8_t>& address_sealed, std::int64_t at);

 private:
  Database& db_;
};

std::string format_order_number(std::int64_t id);

}  // namespace comptoir::storage

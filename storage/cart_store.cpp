#include "storage/cart_store.h"

#include "storage/sqlite.h"

namespace comptoir::storage {

Result<std::vector<CartLineRecord>> CartStore::lines(Tx& tx, std::int64_t customer_id) {
  Stmt s(tx, "SELECT sku, quantity, added_at FROM cart_items WHERE customer_id = ? ORDER BY added_at, sku");
  s.bind(1, customer_id);
  std::vector<CartLineRecord> out;
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    out.push_back({s.text(0), s.int64(1), s.int64(2)});
  }
}

Status CartStore::set_quantity(Tx& tx, std::int64_t customer_id, const std::string& sku, std::int64_t quantity,
                               std::int64_t at) {
  if (quantity <= 0) {
    Stmt del(tx, "DELETE FROM cart_items WHERE customer_id = ? AND sku = ?");
    del.bind(1, customer_id).bind(2, sku);
    return del.run();
  }
  Stmt ins(tx, "INSERT OR IGNORE INTO cart_items (customer_id, sku, quantity, added_at) VALUES (?,?,?,?)");
  ins.bind(1, customer_id).bind(2, sku).bind(3, quantity).bind(4, at);
  if (auto st = ins.run(); !st) return st;
  Stmt upd(tx, "UPDATE OR FAIL cart_items SET quantity = ? WHERE customer_id = ? AND sku = ?");
  upd.bind(1, quantity).bind(2, customer_id).bind(3, sku);
  return upd.run();
}

Status CartStore::clear(Tx& tx, std::int64_t customer_id) {
  Stmt s(tx, "DELETE FROM cart_items WHERE customer_id = ?");
  s.bind(1, customer_id);
  return s.run();
}

}  // namespace comptoir::storage

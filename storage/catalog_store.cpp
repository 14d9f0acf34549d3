#include "storage/catalog_store.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "storage/sqlite.h"

namespace comptoir::storage {

// The whole catalog as of the last change, kept by the connection (ConnectionState::catalog) so
// that the chat's catalog reads - categories, product pages, product names for every cart line -
// do not run ~20 statements per message. Stock is not taken from it: stock changes with every
// order and is always read from the table. Immutable once built.
struct CatalogSnapshot {
  std::vector<CategoryRecord> categories;     // ORDER BY position, id; names ORDER BY lang
  std::vector<ProductRecord> products;        // ORDER BY category, position, sku; texts ORDER BY lang
  std::unordered_map<std::string, std::size_t> by_sku;
  std::uint64_t catalog_changes = 0, rollbacks = 0;  // ConnectionState counters when built
  std::int64_t data_version = 0;                     // PRAGMA data_version when built
};

namespace {

Status load_texts(Tx& tx, ProductRecord& p) {
  Stmt s(tx, "SELECT lang, name, description FROM product_texts WHERE sku = ? ORDER BY lang");
  s.bind(1, p.sku);
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return ok();
    p.texts.push_back({s.text(0), s.text(1), s.text(2)});
  }
}

constexpr const char* kProductColumns =
    "sku, category, price, currency, vat_rate, stock, active, position, updated_at";

ProductRecord read_product(const Stmt& s) {
  ProductRecord p;
  p.sku = s.text(0);
  p.category = s.text(1);
  p.price = s.int64(2);
  p.currency = s.text(3);
  p.vat_rate = static_cast<int>(s.int64(4));
  p.stock = s.int64(5);
  p.active = s.int64(6) != 0;
  p.position = static_cast<int>(s.int64(7));
  p.updated_at = s.int64(8);
  return p;
}

std::string escape_like(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// Builds the WHERE clause for a query; binds start at index 1.
std::string where_clause(const ProductQuery& q) {
  std::string w = " WHERE 1=1";
  if (q.category) w += " AND p.category = :category";
  if (q.active_only) w += " AND p.active = 1";
  if (q.inactive_only) w += " AND p.active = 0";
  if (q.text) {
    w += " AND (p.sku LIKE :text ESCAPE '\\' OR EXISTS (SELECT 1 FROM product_texts t WHERE t.sku = p.sku"
         " AND (t.name LIKE :text ESCAPE '\\' OR t.description LIKE :text ESCAPE '\\')))";
  }
  return w;
}

void bind_query(Stmt& s, const ProductQuery& q) {
  if (q.category) s.bind(s.index_of(":category"), *q.category);
  if (q.text) {
    std::string pattern(1, '%');
    pattern += escape_like(*q.text);
    pattern += '%';
    s.bind(s.index_of(":text"), pattern);
  }
}

// Every write to the catalog tables goes through here first.
void catalog_written(Tx& tx) {
  if (ConnectionState* c = tx.connection()) ++c->catalog_changes;
}

Result<std::int64_t> single_int(Tx& tx, std::string_view sql) {
  Stmt s(tx, sql);
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  return s.int64(0);
}

Result<std::shared_ptr<const CatalogSnapshot>> build_snapshot(Tx& tx) {
  auto snap = std::make_shared<CatalogSnapshot>();
  {
    Stmt s(tx, "SELECT id, position FROM categories ORDER BY position, id");
    for (;;) {
      auto row = s.step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      snap->categories.push_back({s.text(0), static_cast<int>(s.int64(1)), {}});
    }
  }
  {
    std::unordered_map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < snap->categories.size(); ++i) index.emplace(snap->categories[i].id, i);
    Stmt n(tx, "SELECT category_id, lang, name FROM category_names ORDER BY category_id, lang");
    for (;;) {
      auto row = n.step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      auto it = index.find(n.text(0));
      if (it != index.end()) snap->categories[it->second].names.push_back({n.text(1), n.text(2), {}});
    }
  }
  {
    Stmt s(tx, std::string("SELECT ") + kProductColumns + " FROM products ORDER BY category, position, sku");
    for (;;) {
      auto row = s.step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      snap->by_sku.emplace(s.text(0), snap->products.size());
      snap->products.push_back(read_product(s));
    }
  }
  {
    Stmt t(tx, "SELECT sku, lang, name, description FROM product_texts ORDER BY sku, lang");
    for (;;) {
      auto row = t.step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      auto it = snap->by_sku.find(t.text(0));
      if (it != snap->by_sku.end()) snap->products[it->second].texts.push_back({t.text(1), t.text(2), t.text(3)});
    }
  }
  return std::shared_ptr<const CatalogSnapshot>(std::move(snap));
}

// The connection's snapshot, rebuilt when the catalog was written, a change was rolled back, or
// another connection committed (PRAGMA data_version, asked once per Tx). nullptr when the Tx
// has no connection state.
Result<std::shared_ptr<const CatalogSnapshot>> snapshot(Tx& tx) {
  ConnectionState* c = tx.connection();
  if (c == nullptr) return std::shared_ptr<const CatalogSnapshot>();
  const auto& cur = c->catalog;
  const bool same_state = cur && cur->catalog_changes == c->catalog_changes && cur->rollbacks == c->rollbacks;
  if (same_state && c->catalog_checked_in == tx.serial()) return cur;
  auto version = single_int(tx, "PRAGMA data_version");
  if (!version) return std::unexpected(version.error());
  if (!same_state || cur->data_version != *version) {
    const std::uint64_t changes = c->catalog_changes, rollbacks = c->rollbacks;
    auto built = build_snapshot(tx);
    if (!built) return std::unexpected(built.error());
    auto fresh = std::const_pointer_cast<CatalogSnapshot>(*built);
    fresh->catalog_changes = changes;
    fresh->rollbacks = rollbacks;
    fresh->data_version = *version;
    c->catalog = std::move(fresh);
  }
  c->catalog_checked_in = tx.serial();
  return c->catalog;
}

bool matches(const ProductRecord& p, const ProductQuery& q) {
  if (q.category && p.category != *q.category) return false;
  if (q.active_only && !p.active) return false;
  if (q.inactive_only && p.active) return false;
  return true;
}

}  // namespace

Status CatalogStore::upsert_category(Tx& tx, const CategoryRecord& c) {
  catalog_written(tx);
  Stmt ins(tx, "INSERT OR IGNORE INTO categories (id, position) VALUES (?, ?)");
  ins.bind(1, c.id).bind(2, std::int64_t{c.position});
  if (auto st = ins.run(); !st) return st;
  Stmt upd(tx, "UPDATE categories SET position = ? WHERE id = ?");
  upd.bind(1, std::int64_t{c.position}).bind(2, c.id);
  if (auto st = upd.run(); !st) return st;
  Stmt del(tx, "DELETE FROM category_names WHERE category_id = ?");
  del.bind(1, c.id);
  if (auto st = del.run(); !st) return st;
  for (const auto& n : c.names) {
    Stmt name(tx, "INSERT INTO category_names (category_id, lang, name) VALUES (?, ?, ?)");
    name.bind(1, c.id).bind(2, n.lang).bind(3, n.name);
    if (auto st = name.run(); !st) return st;
  }
  return ok();
}

Result<std::vector<CategoryRecord>> CatalogStore::categories(Tx& tx) {
  auto snap = snapshot(tx);
  if (!snap) return std::unexpected(snap.error());
  if (*snap) return (*snap)->categories;
  std::vector<CategoryRecord> out;
  Stmt s(tx, "SELECT id, position FROM categories ORDER BY position, id");
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back({s.text(0), static_cast<int>(s.int64(1)), {}});
  }
  for (auto& c : out) {
    Stmt n(tx, "SELECT lang, name FROM category_names WHERE category_id = ? ORDER BY lang");
    n.bind(1, c.id);
    for (;;) {
      auto row = n.step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      c.names.push_back({n.text(0), n.text(1), {}});
    }
  }
  return out;
}

Result<std::vector<CategoryRecord>> CatalogStore::categories() {
  Result<std::vector<CategoryRecord>> out;
  auto st = db_.read([&](Tx& tx) -> Status {
    out = categories(tx);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Status CatalogStore::upsert_product(Tx& tx, const ProductRecord& p) {
  catalog_written(tx);
  Stmt cat(tx, "SELECT 1 FROM categories WHERE id = ?");
  cat.bind(1, p.category);
  auto found = cat.step();
  if (!found) return std::unexpected(found.error());
  if (!*found) return fail(Errc::invalid_argument, "unknown category", "unknown category \"" + p.category + "\"");
  Stmt ins(tx, "INSERT OR IGNORE INTO products (sku, category, price, currency, vat_rate, stock, active, position, updated_at)"
               " VALUES (?,?,?,?,?,?,?,?,?)");
  ins.bind(1, p.sku).bind(2, p.category).bind(3, p.price).bind(4, p.currency).bind(5, std::int64_t{p.vat_rate})
      .bind(6, p.stock).bind(7, std::int64_t{p.active ? 1 : 0}).bind(8, std::int64_t{p.position}).bind(9, p.updated_at);
  if (auto st = ins.run(); !st) return st;
  Stmt upd(tx, "UPDATE products SET category=?, price=?, currency=?, vat_rate=?, stock=?, active=?, position=?, updated_at=?"
               " WHERE sku=?");
  upd.bind(1, p.category).bind(2, p.price).bind(3, p.currency).bind(4, std::int64_t{p.vat_rate}).bind(5, p.stock)
      .bind(6, std::int64_t{p.active ? 1 : 0}).bind(7, std::int64_t{p.position}).bind(8, p.updated_at).bind(9, p.sku);
  if (auto st = upd.run(); !st) return st;
  Stmt del(tx, "DELETE FROM product_texts WHERE sku = ?");
  del.bind(1, p.sku);
  if (auto st = del.run(); !st) return st;
  for (const auto& t : p.texts) {
    Stmt txt(tx, "INSERT INTO product_texts (sku, lang, name, description) VALUES (?,?,?,?)");
    txt.bind(1, p.sku).bind(2, t.lang).bind(3, t.name).bind(4, t.description);
    if (auto st = txt.run(); !st) return st;
  }
  return ok();
}

Status CatalogStore::upsert_product(const ProductRecord& p) {
  return db_.write([&](Tx& tx) { return upsert_product(tx, p); });
}

Result<bool> CatalogStore::insert_product(const ProductRecord& p) {
  bool inserted = false;
  auto st = db_.write([&](Tx& tx) -> Status {
    inserted = false;  // Database::write may run this more than once
    auto existing = product(tx, p.sku);
    if (!existing) return std::unexpected(existing.error());
    if (existing->has_value()) return ok();
    inserted = true;
    return upsert_product(tx, p);
  });
  if (!st) return std::unexpected(st.error());
  return inserted;
}

Result<std::optional<ProductRecord>> CatalogStore::product(Tx& tx, const std::string& sku) {
  auto snap = snapshot(tx);
  if (!snap) return std::unexpected(snap.error());
  if (*snap) {
    auto it = (*snap)->by_sku.find(sku);
    if (it == (*snap)->by_sku.end()) return std::optional<ProductRecord>();
    ProductRecord p = (*snap)->products[it->second];
    Stmt s(tx, "SELECT stock FROM products WHERE sku = ?");
    s.bind(1, sku);
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<ProductRecord>();  // cannot happen: the snapshot is current
    p.stock = s.int64(0);
    return std::optional<ProductRecord>(std::move(p));
  }
  Stmt s(tx, std::string("SELECT ") + kProductColumns + " FROM products WHERE sku = ?");
  s.bind(1, sku);
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<ProductRecord>();
  ProductRecord p = read_product(s);
  if (auto st = load_texts(tx, p); !st) return std::unexpected(st.error());
  return std::optional<ProductRecord>(std::move(p));
}

Result<std::optional<ProductRecord>> CatalogStore::product(const std::string& sku) {
  Result<std::optional<ProductRecord>> out;
  auto st = db_.read([&](Tx& tx) -> Status {
    out = product(tx, sku);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Result<std::vector<ProductRecord>> CatalogStore::products(Tx& tx, const ProductQuery& q) {
  if (!q.text) {
    auto snap = snapshot(tx);
    if (!snap) return std::unexpected(snap.error());
    if (*snap) {
      // As LIMIT/OFFSET would: a negative limit is no limit, a negative offset none.
      const std::size_t offset = q.offset > 0 ? static_cast<std::size_t>(q.offset) : 0;
      const std::size_t limit = q.limit >= 0 ? static_cast<std::size_t>(q.limit) : SIZE_MAX;
      std::vector<ProductRecord> out;
      std::size_t seen = 0;
      for (const auto& p : (*snap)->products) {
        if (out.size() >= limit) break;
        if (!matches(p, q)) continue;
        if (seen++ < offset) continue;
        out.push_back(p);
      }
      if (out.empty()) return out;
      // Current stock, in one statement.
      std::unordered_map<std::string_view, ProductRecord*> wanted;
      for (auto& p : out) wanted.emplace(p.sku, &p);
      Stmt s(tx, q.category ? "SELECT sku, stock FROM products WHERE category = ?" : "SELECT sku, stock FROM products");
      if (q.category) s.bind(1, *q.category);
      for (;;) {
        auto row = s.step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        auto it = wanted.find(s.text(0));
        if (it != wanted.end()) it->second->stock = s.int64(1);
      }
      return out;
    }
  }
  std::string sql = std::string("SELECT ") + kProductColumns + " FROM products p" + where_clause(q) +
                    " ORDER BY p.category, p.position, p.sku LIMIT :limit OFFSET :offset";
  Stmt s(tx, sql);
  if (!s.valid()) return std::unexpected(s.prepare_error());
  bind_query(s, q);
  s.bind(s.index_of(":limit"), std::int64_t{q.limit});
  s.bind(s.index_of(":offset"), std::int64_t{q.offset});
  std::vector<ProductRecord> out;
  for (;;) {
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read_product(s));
  }
  for (auto& p : out) {
    if (auto st = load_texts(tx, p); !st) return std::unexpected(st.error());
  }
  return out;
}

Result<std::vector<ProductRecord>> CatalogStore::products(const ProductQuery& q) {
  Result<std::vector<ProductRecord>> out;
  auto st = db_.read([&](Tx& tx) -> Status {
    out = products(tx, q);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Result<std::int64_t> CatalogStore::count_products(Tx& tx, const ProductQuery& q) {
  if (!q.text) {
    auto snap = snapshot(tx);
    if (!snap) return std::unexpected(snap.error());
    if (*snap) {
      return static_cast<std::int64_t>(
          std::count_if((*snap)->products.begin(), (*snap)->products.end(), [&](const ProductRecord& p) { return matches(p, q); }));
    }
  }
  std::string sql = "SELECT count(*) FROM products p" + where_clause(q);
  Stmt s(tx, sql);
  if (!s.valid()) return std::unexpected(s.prepare_error());
  bind_query(s, q);
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  return s.int64(0);
}

Result<bool> CatalogStore::delete_product(const std::string& sku) {
  bool deleted = false;
  auto st = db_.write([&](Tx& tx) -> Status {
    deleted = false;  // Database::write may run this more than once
    catalog_written(tx);
    Stmt s(tx, "DELETE FROM products WHERE sku = ?");
    s.bind(1, sku);
    if (auto r = s.run(); !r) return r;
    deleted = sqlite3_changes(tx.handle()) > 0;
    Stmt carts(tx, "DELETE FROM cart_items WHERE sku = ?");
    carts.bind(1, sku);
    return carts.run();
  });
  if (!st) return std::unexpected(st.error());
  return deleted;
}

Result<bool> CatalogStore::take_stock(Tx& tx, const std::string& sku, std::int64_t quantity) {
  Stmt s(tx, "UPDATE OR FAIL products SET stock = stock - ? WHERE sku = ? AND active = 1 AND stock >= ?");
  s.bind(1, quantity).bind(2, sku).bind(3, quantity);
  if (auto r = s.run(); !r) return std::unexpected(r.error());
  return sqlite3_changes(tx.handle()) == 1;
}

Status CatalogStore::return_stock(Tx& tx, const std::string& sku, std::int64_t quantity) {
  Stmt s(tx, "UPDATE OR FAIL products SET stock = stock + ? WHERE sku = ?");
  s.bind(1, quantity).bind(2, sku);
  return s.run();
}

}  // namespace comptoir::storage

// Integration tests of CatalogStore's reads, which are served from a per-connection snapshot of
// the catalog (stock always read from the table): they must return exactly what the tables hold,
// in order, inside the transaction that changed them, after rollbacks (of a write, of a group
// commit's first attempt), after raw access and after another connection's commits.
#include "storage/catalog_store.h"

#include <gtest/gtest.h>
#include <sqlcipher/sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "src/common/secret.h"
#include "storage/database.h"
#include "storage/sqlite.h"
#include "tests/support/group_commit.h"
#include "tests/support/temp_dir.h"

namespace comptoir::storage {
namespace {

using comptoir::testing::run_as_one_batch;
using comptoir::testing::TempDir;

ProductRecord product(const std::string& sku, const std::string& category, int position, const std::string& name,
                      std::int64_t stock = 10, bool active = true) {
  ProductRecord p;
  p.sku = sku;
  p.category = category;
  p.position = position;
  p.price = 100 + position;
  p.vat_rate = 550;
  p.stock = stock;
  p.active = active;
  p.updated_at = 1800000000;
  p.texts = {{"fr", name + " (fr)", "description fr"}, {"en", name, "description"}};
  return p;
}

class CatalogSnapshotTest : public ::testing::Test {
 protected:
  TempDir dir;
  SecretBytes key = SecretBytes::random(32);
  std::unique_ptr<Database> db;
  std::unique_ptr<CatalogStore> store;

  void SetUp() override {
    db = open(true);
    ASSERT_NE(db, nullptr);
    store = std::make_unique<CatalogStore>(*db);
    ASSERT_TRUE(db->write([&](Tx& tx) -> Status {
      for (const auto& c : {CategoryRecord{"drinks", 2, {{"en", "Drinks", ""}}},
                            CategoryRecord{"bakery", 1, {{"fr", "Boulangerie", ""}, {"en", "Bakery", ""}}},
                            CategoryRecord{"aaa", 2, {{"en", "Same position, earlier id", ""}}}}) {
        if (auto st = store->upsert_category(tx, c); !st) return st;
      }
      for (const auto& p : {product("B-2", "bakery", 2, "Croissant"), product("B-1b", "bakery", 1, "Roll"),
                            product("B-1a", "bakery", 1, "Baguette"), product("D-1", "drinks", 0, "Water"),
                            product("D-OFF", "drinks", 1, "Old soda", 5, false)}) {
        if (auto st = store->upsert_product(tx, p); !st) return st;
      }
      return ok();
    }).has_value());
  }

  std::unique_ptr<Database> open(bool create) {
    OpenOptions o;
    o.create = create;
    auto d = Database::open(dir / "comptoir.db", key, o);
    EXPECT_TRUE(d.has_value()) << (d ? "" : d.error().message);
    if (!d) return nullptr;
    EXPECT_TRUE((*d)->migrate().has_value());
    return std::move(*d);
  }

  std::vector<std::string> skus(const ProductQuery& q) {
    auto r = store->products(q);
    EXPECT_TRUE(r.has_value());
    std::vector<std::string> out;
    if (r) {
      for (const auto& p : *r) out.push_back(p.sku);
    }
    return out;
  }

  std::string name_of(const std::string& sku) {
    auto p = store->product(sku);
    EXPECT_TRUE(p.has_value());
    if (!p || !p->has_value()) return "(none)";
    for (const auto& t : (*p)->texts) {
      if (t.lang == "en") return t.name;
    }
    return "(no en)";
  }
};

TEST_F(CatalogSnapshotTest, ReadsKeepTheOrderAndFiltersOfTheQueries) {
  EXPECT_EQ(skus({}), (std::vector<std::string>{"B-1a", "B-1b", "B-2", "D-1", "D-OFF"}));
  ProductQuery active;
  active.active_only = true;
  EXPECT_EQ(skus(active), (std::vector<std::string>{"B-1a", "B-1b", "B-2", "D-1"}));
  ProductQuery inactive;
  inactive.inactive_only = true;
  EXPECT_EQ(skus(inactive), std::vector<std::string>{"D-OFF"});
  ProductQuery page;
  page.category = "bakery";
  page.offset = 1;
  page.limit = 1;
  EXPECT_EQ(skus(page), std::vector<std::string>{"B-1b"});
  page.offset = 5;
  EXPECT_TRUE(skus(page).empty());
  ProductQuery unlimited;
  unlimited.limit = -1;
  EXPECT_EQ(skus(unlimited).size(), 5u);
  ProductQuery text;  // text searches still go to SQL
  text.text = "croiss";
  EXPECT_EQ(skus(text), std::vector<std::string>{"B-2"});

  auto cats = store->categories();
  ASSERT_TRUE(cats.has_value());
  std::vector<std::string> ids;
  for (const auto& c : *cats) ids.push_back(c.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"bakery", "aaa", "drinks"}));
  ASSERT_EQ((*cats)[0].names.size(), 2u);
  EXPECT_EQ((*cats)[0].names[0].lang, "en");  // ordered by language
  EXPECT_EQ((*cats)[0].names[1].lang, "fr");

  auto p = store->product("B-2");
  ASSERT_TRUE(p.has_value() && p->has_value());
  EXPECT_EQ((*p)->category, "bakery");
  EXPECT_EQ((*p)->price, 102);
  EXPECT_EQ((*p)->stock, 10);
  ASSERT_EQ((*p)->texts.size(), 2u);
  EXPECT_EQ((*p)->texts[0].lang, "en");
  EXPECT_EQ((*p)->texts[1].name, "Croissant (fr)");
  EXPECT_FALSE(store->product("NOPE")->has_value());

  ASSERT_TRUE(db->read([&](Tx& tx) -> Status {
    ProductQuery q;
    q.category = "drinks";
    EXPECT_EQ(store->count_products(tx, q).value_or(-1), 2);
    q.active_only = true;
    EXPECT_EQ(store->count_products(tx, q).value_or(-1), 1);
    return ok();
  }).has_value());
}

TEST_F(CatalogSnapshotTest, StockIsAlwaysCurrent) {
  EXPECT_EQ(store->product("B-2")->value().stock, 10);
  ASSERT_TRUE(db->write([&](Tx& tx) -> Status {
    EXPECT_TRUE(store->take_stock(tx, "B-2", 3).value_or(false));
    EXPECT_EQ(store->product(tx, "B-2")->value().stock, 7);  // within the transaction
    ProductQuery q;
    q.category = "bakery";
    auto page = store->products(tx, q);
    EXPECT_TRUE(page.has_value());
    if (page) {
      for (const auto& p : *page) EXPECT_EQ(p.stock, p.sku == "B-2" ? 7 : 10) << p.sku;
    }
    return ok();
  }).has_value());
  EXPECT_EQ(store->product("B-2")->value().stock, 7);
  ASSERT_TRUE(db->write([&](Tx& tx) { return store->return_stock(tx, "B-2", 1); }).has_value());
  ProductQuery all;
  const auto rows = store->products(all);
  ASSERT_TRUE(rows.has_value());
  for (const auto& p : *rows) EXPECT_EQ(p.stock, p.sku == "B-2" ? 8 : (p.sku == "D-OFF" ? 5 : 10));
}

TEST_F(CatalogSnapshotTest, WritesAreSeenAtOnceInTheSameTransactionAndAfter) {
  ASSERT_TRUE(db->write([&](Tx& tx) -> Status {
    EXPECT_EQ(store->product(tx, "B-2")->value().texts[0].name, "Croissant");  // snapshot built
    auto p = product("B-2", "drinks", 0, "Croissant drink");
    if (auto st = store->upsert_product(tx, p); !st) return st;
    EXPECT_EQ(store->product(tx, "B-2")->value().category, "drinks");
    if (auto st = store->upsert_category(tx, {"bakery", 9, {{"en", "Bread", ""}}}); !st) return st;
    auto cats = store->categories(tx);
    EXPECT_TRUE(cats.has_value() && cats->back().id == "bakery" && cats->back().names.size() == 1);
    return ok();
  }).has_value());
  EXPECT_EQ(name_of("B-2"), "Croissant drink");
  ProductQuery q;
  q.category = "drinks";
  EXPECT_EQ(skus(q), (std::vector<std::string>{"B-2", "D-1", "D-OFF"}));
  auto deleted = store->delete_product("B-2");
  ASSERT_TRUE(deleted.has_value() && *deleted);
  EXPECT_FALSE(store->product("B-2")->has_value());
  EXPECT_EQ(skus(q), (std::vector<std::string>{"D-1", "D-OFF"}));
}

TEST_F(CatalogSnapshotTest, ARolledBackWriteLeavesNoTrace) {
  EXPECT_EQ(name_of("B-2"), "Croissant");
  auto st = db->write([&](Tx& tx) -> Status {
    if (auto s = store->upsert_product(tx, product("B-2", "bakery", 2, "Renamed")); !s) return s;
    EXPECT_EQ(store->product(tx, "B-2")->value().texts[0].name, "Renamed");  // rebuilt with it
    return fail(Errc::conflict, "changed my mind");
  });
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(name_of("B-2"), "Croissant");
  // The same inside a savepoint that is rolled back while the write goes on.
  ASSERT_TRUE(db->write([&](Tx& tx) -> Status {
    auto inner = savepoint(tx, [&]() -> Status {
      if (auto s = store->upsert_product(tx, product("B-2", "bakery", 2, "Renamed again")); !s) return s;
      EXPECT_EQ(store->product(tx, "B-2")->value().texts[0].name, "Renamed again");
      return fail(Errc::conflict, "undo");
    });
    EXPECT_FALSE(inner.has_value());
    EXPECT_EQ(store->product(tx, "B-2")->value().texts[0].name, "Croissant");
    return ok();
  }).has_value());
  EXPECT_EQ(name_of("B-2"), "Croissant");
}

TEST_F(CatalogSnapshotTest, AGroupCommitReplayLeavesNoTraceOfTheFailedWrite) {
  EXPECT_EQ(name_of("B-1a"), "Baguette");
  std::string seen_by_reader;
  Status renamer = ok(), reader = ok(), failing = ok();
  // The failing write goes first: it renames and rebuilds the snapshot, then fails; the reader
  // and the renamer then run in the replay, and the reader must not see the undone name.
  run_as_one_batch(*db, {
                            [&] {
                              failing = db->write([&](Tx& tx) -> Status {
                                if (auto s = store->upsert_product(tx, product("B-1a", "bakery", 1, "Ghost")); !s) return s;
                                EXPECT_EQ(store->product(tx, "B-1a")->value().texts[0].name, "Ghost");
                                return fail(Errc::conflict, "fails after renaming");
                              });
                            },
                            [&] {
                              reader = db->write([&](Tx& tx) -> Status {
                                seen_by_reader = store->product(tx, "B-1a")->value().texts[0].name + "/" +
                                                 store->product(tx, "B-1b")->value().texts[0].name;
                                return ok();
                              });
                            },
                            [&] {
                              renamer = db->write([&](Tx& tx) {
                                return store->upsert_product(tx, product("B-1b", "bakery", 1, "Bun"));
                              });
                            },
                        });
  EXPECT_TRUE(renamer.has_value());
  EXPECT_FALSE(failing.has_value());
  EXPECT_TRUE(reader.has_value());
  EXPECT_EQ(db->stats().batch_replays, 1u);
  EXPECT_EQ(seen_by_reader, "Baguette/Roll");
  EXPECT_EQ(name_of("B-1a"), "Baguette");
  EXPECT_EQ(name_of("B-1b"), "Bun");
}

TEST_F(CatalogSnapshotTest, RawChangesAndOtherConnectionsAreSeen) {
  EXPECT_EQ(name_of("D-1"), "Water");
  ASSERT_TRUE(db->transaction([](sqlite3* h) {
    return exec(h, "UPDATE product_texts SET name = 'Still water' WHERE sku = 'D-1' AND lang = 'en';");
  }).has_value());
  EXPECT_EQ(name_of("D-1"), "Still water");
  {
    auto other = open(false);  // e.g. the command line, on the same file
    ASSERT_NE(other, nullptr);
    CatalogStore theirs(*other);
    ASSERT_TRUE(theirs.upsert_product(product("D-1", "drinks", 0, "Sparkling water")).has_value());
    ASSERT_TRUE(theirs.upsert_product(product("D-NEW", "drinks", 3, "Juice")).has_value());
  }
  EXPECT_EQ(name_of("D-1"), "Sparkling water");
  EXPECT_EQ(name_of("D-NEW"), "Juice");
  ProductQuery q;
  q.category = "drinks";
  EXPECT_EQ(skus(q), (std::vector<std::string>{"D-1", "D-OFF", "D-NEW"}));
}

}  // namespace
}  // namespace comptoir::storage

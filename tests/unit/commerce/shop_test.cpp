// Unit tests of the Shop (src/commerce/shop.h) on a real SQLCipher database in a temp dir: carts
// capped at stock and at the per-line maximum, checkout taking stock atomically (also under many
// concurrent buyers), cancellation returning it, the status listener running inside the status
// change's transaction, and delivery details stored only sealed.
#include "src/commerce/shop.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "src/common/text.h"
#include "storage/customer_store.h"
#include "storage/sqlite.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/commerce/shop_fixture.h"

namespace comptoir::commerce {
namespace {

using storage::Tx;
using testing::why;

class ShopTest : public ::testing::Test {
 protected:
  testing::ShopWorld w;

  void SetUp() override { open(); }

  void open(ShopSettings settings = {}) {
    w.open(std::move(settings));
    ASSERT_TRUE(import_catalog(*w.db, testing::small_catalog(), 1800000000).has_value());
  }

  Result<AddResult> add(const Customer& c, const std::string& sku, std::int64_t qty) {
    return w.in_tx<AddResult>([&](Tx& tx) { return w.shop->add_to_cart(tx, c.id, sku, qty); });
  }

  Result<PlaceResult> place(const Customer& c, Fulfilment f = Fulfilment::pickup,
                            const std::optional<DeliveryDetails>& d = std::nullopt) {
    return w.in_tx<PlaceResult>([&](Tx& tx) { return w.shop->place_order(tx, c, f, d); });
  }

  std::vector<storage::OrderRecord> all_orders() {
    storage::OrderQuery q;
    q.limit = 1000;
    auto list = w.shop->orders().list(q);
    EXPECT_TRUE(list.has_value()) << why(list);
    return list ? *list : std::vector<storage::OrderRecord>{};
  }
};

TEST_F(ShopTest, AddToCartCapsAtStock) {
  const auto c = w.customer("wcs_customer_cap_stock_01");
  auto r = add(c, "P-WINE", 3);  // stock 5
  ASSERT_TRUE(r.has_value()) << why(r);
  EXPECT_EQ(r->quantity, 3);
  EXPECT_FALSE(r->capped);
  r = add(c, "P-WINE", 4);
  ASSERT_TRUE(r.has_value()) << why(r);
  EXPECT_EQ(r->quantity, 5);
  EXPECT_TRUE(r->capped);
  EXPECT_EQ(w.cart(c.id).item_count(), 5);
  EXPECT_EQ(w.stock_of("P-WINE"), 5);  // a cart reserves nothing

  // Out of stock: nothing can be added.
  r = add(c, "P-NONE", 1);
  ASSERT_TRUE(r.has_value()) << why(r);
  EXPECT_EQ(r->quantity, 0);
  EXPECT_TRUE(r->capped);
  EXPECT_EQ(w.cart(c.id).lines.size(), 1u);
}

TEST_F(ShopTest, AddToCartCapsAtMaxLineQuantity) {
  ShopSettings s;
  s.max_line_quantity = 4;
  open(s);
  const auto c = w.customer("wcs_customer_cap_line_001");
  auto r = add(c, "P-BREAD", 6);  // stock 10
  ASSERT_TRUE(r.has_value()) << why(r);
  EXPECT_EQ(r->quantity, 4);
  EXPECT_TRUE(r->capped);
  auto set = w.in_tx<AddResult>([&](Tx& tx) { return w.shop->set_quantity(tx, c.id, "P-BREAD", 50); });
  ASSERT_TRUE(set.has_value()) << why(set);
  EXPECT_EQ(set->quantity, 4);
  EXPECT_EQ(w.cart(c.id).item_count(), 4);
}

TEST_F(ShopTest, AddToCartRejectsUnknownInactiveAndNonPositive) {
  const auto c = w.customer("wcs_customer_rejects_0001");
  auto r = add(c, "NO-SUCH", 1);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::not_found);
  r = add(c, "P-OFF", 1);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::not_found);
  r = add(c, "P-BREAD", 0);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  r = add(c, "P-BREAD", -2);
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(w.cart(c.id).empty());
}

TEST_F(ShopTest, CartTotalsAndQuantityChanges) {
  const auto c = w.customer("wcs_customer_cart_totals1");
  ASSERT_TRUE(add(c, "P-BREAD", 2).has_value());
  ASSERT_TRUE(add(c, "P-WINE", 1).has_value());
  auto v = w.cart(c.id);
  ASSERT_EQ(v.lines.size(), 2u);
  EXPECT_EQ(v.totals.items_total, 2 * 2290 + 1200);
  EXPECT_EQ(v.totals.total, 5780);
  ASSERT_EQ(v.totals.vat.size(), 2u);
  EXPECT_EQ(v.totals.vat[0].vat, 239);  // 4580 at 5.5 %
  EXPECT_EQ(v.totals.vat[1].vat, 200);  // 1200 at 20 %
  EXPECT_EQ(v.currency, "EUR");

  auto d = w.cart(c.id, "en", Fulfilment::delivery);
  EXPECT_EQ(d.totals.delivery_fee, 490);
  EXPECT_EQ(d.totals.total, 6270);
  EXPECT_EQ(d.totals.vat[1].vat, 282);  // (1200 + 490) at 20 %

  auto fr = w.cart(c.id, "fr");
  EXPECT_EQ(fr.lines[0].name, "Gros pain");
  EXPECT_EQ(fr.lines[1].name, "Red wine");  // no French name: the default language's

  auto removed = w.in_tx<AddResult>([&](Tx& tx) { return w.shop->set_quantity(tx, c.id, "P-WINE", 0); });
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(w.cart(c.id).lines.size(), 1u);
  ASSERT_TRUE(w.db->write([&](Tx& tx) { return w.shop->clear_cart(tx, c.id); }).has_value());
  EXPECT_TRUE(w.cart(c.id).empty());
}

TEST_F(ShopTest, FreeDeliveryFromAThreshold) {
  ShopSettings s;
  s.free_delivery_from = 5000;
  open(s);
  const auto c = w.customer("wcs_customer_free_deliv01");
  ASSERT_TRUE(add(c, "P-BREAD", 2).has_value());  // 45.80
  EXPECT_EQ(w.cart(c.id, "en", Fulfilment::delivery).totals.delivery_fee, 490);
  ASSERT_TRUE(add(c, "P-BREAD", 1).has_value());  // 68.70
  EXPECT_EQ(w.cart(c.id, "en", Fulfilment::delivery).totals.delivery_fee, 0);
}

TEST_F(ShopTest, PlaceOrderTakesStockAndSnapshotsTheLines) {
  const auto c = w.customer("wcs_customer_place_order1");
  ASSERT_TRUE(add(c, "P-BREAD", 2).has_value());
  ASSERT_TRUE(add(c, "P-WINE", 1).has_value());
  auto r = place(c);
  ASSERT_TRUE(r.has_value()) << why(r);
  ASSERT_TRUE(r->order.has_value());
  EXPECT_TRUE(r->unavailable.empty());
  const auto& o = *r->order;
  EXPECT_EQ(o.number, "C-000001");
  EXPECT_EQ(o.status, "placed");
  EXPECT_EQ(o.fulfilment, "pickup");
  EXPECT_EQ(o.customer_id, c.id);
  EXPECT_EQ(o.total, 5780);
  EXPECT_EQ(o.vat_total, 439);
  EXPECT_EQ(o.delivery_fee, 0);
  EXPECT_TRUE(o.recipient_name_sealed.empty());
  EXPECT_EQ(w.stock_of("P-BREAD"), 8);
  EXPECT_EQ(w.stock_of("P-WINE"), 4);
  EXPECT_TRUE(w.cart(c.id).empty());

  // The stored order keeps the price and name it was sold at, whatever happens to the product.
  w.set_stock("P-BREAD", 8);
  auto stored = w.shop->orders().by_number("C-000001");
  ASSERT_TRUE(stored.has_value() && stored->has_value());
  ASSERT_EQ((*stored)->lines.size(), 2u);
  EXPECT_EQ((*stored)->lines[0].sku, "P-BREAD");
  EXPECT_EQ((*stored)->lines[0].name, "Big bread");
  EXPECT_EQ((*stored)->lines[0].unit_price, 2290);
  EXPECT_EQ((*stored)->lines[0].quantity, 2);
  EXPECT_EQ((*stored)->lines[0].vat_rate, 550);
  ASSERT_EQ((*stored)->vat.size(), 2u);
  EXPECT_EQ((*stored)->vat[0].vat + (*stored)->vat[1].vat, 439);

  // The next order gets the next number.
  ASSERT_TRUE(add(c, "P-BREAD", 1).has_value());
  auto second = place(c);
  ASSERT_TRUE(second.has_value() && second->order.has_value()) << why(second);
  EXPECT_EQ(second->order->number, "C-000002");
}

TEST_F(ShopTest, AnOrderNumberIsNeverGivenTwiceEvenAfterTheNewestOrderIsDeleted) {
  const auto c = w.customer("wcs_customer_numbers_001");
  ASSERT_TRUE(add(c, "P-BREAD", 1).has_value());
  auto first = place(c);
  ASSERT_TRUE(first.has_value() && first->order.has_value()) << why(first);
  ASSERT_TRUE(add(c, "P-BREAD", 1).has_value());
  auto second = place(c);
  ASSERT_TRUE(second.has_value() && second->order.has_value()) << why(second);
  EXPECT_EQ(second->order->number, "C-000002");
  // The newest order goes (as retention deletes old ones): its number is not handed out again.
  ASSERT_TRUE(w.db->transaction([](sqlite3* h) {
    return storage::exec(h, "DELETE FROM order_vat WHERE order_id = 2; DELETE FROM order_lines WHERE order_id = 2;"
                            " DELETE FROM orders WHERE id = 2;");
  }).has_value());
  ASSERT_TRUE(add(c, "P-BREAD", 1).has_value());
  auto third = place(c);
  ASSERT_TRUE(third.has_value() && third->order.has_value()) << why(third);
  EXPECT_EQ(third->order->number, "C-000003");
  EXPECT_EQ(third->order->id, 3);
}

TEST_F(ShopTest, EmptyCartPlacesNothing) {
  const auto c = w.customer("wcs_customer_empty_cart01");
  auto r = place(c);
  ASSERT_TRUE(r.has_value()) << why(r);
  EXPECT_TRUE(r->cart_empty);
  EXPECT_FALSE(r->order.has_value());
  EXPECT_TRUE(all_orders().empty());
}

TEST_F(ShopTest, UnavailableItemsPlaceNothingAndChangeNothing) {
  const auto c = w.customer("wcs_customer_unavailable1");
  ASSERT_TRUE(add(c, "P-BREAD", 3).has_value());
  ASSERT_TRUE(add(c, "P-WINE", 2).has_value());
  w.set_stock("P-WINE", 1);  // someone else bought most of it meanwhile
  auto r = place(c);
  ASSERT_TRUE(r.has_value()) << why(r);
  EXPECT_FALSE(r->order.has_value());
  EXPECT_EQ(r->unavailable, std::vector<std::string>{"P-WINE"});
  EXPECT_EQ(w.stock_of("P-BREAD"), 10);
  EXPECT_EQ(w.stock_of("P-WINE"), 1);
  EXPECT_EQ(w.cart(c.id).item_count(), 5);
  EXPECT_TRUE(all_orders().empty());

  // A product withdrawn from sale after it was put in the cart.
  w.set_stock("P-WINE", 5);
  w.set_stock("P-BREAD", 10, false);
  r = place(c);
  ASSERT_TRUE(r.has_value()) << why(r);
  EXPECT_FALSE(r->order.has_value());
  EXPECT_EQ(r->unavailable, std::vector<std::string>{"P-BREAD"});
  EXPECT_EQ(w.stock_of("P-WINE"), 5);
  EXPECT_TRUE(all_orders().empty());
}

TEST_F(ShopTest, CancellationReturnsStockAndFinalStatesStayFinal) {
  const auto c = w.customer("wcs_customer_cancel_0001");
  ASSERT_TRUE(add(c, "P-WINE", 3).has_value());
  auto r = place(c);
  ASSERT_TRUE(r.has_value() && r->order.has_value()) << why(r);
  EXPECT_EQ(w.stock_of("P-WINE"), 2);
  auto cancelled = w.shop->change_status(r->order->number, OrderStatus::cancelled);
  ASSERT_TRUE(cancelled.has_value()) << why(cancelled);
  EXPECT_EQ(cancelled->status, "cancelled");
  EXPECT_EQ(w.stock_of("P-WINE"), 5);
  // Repeating is harmless and does not return the stock twice.
  ASSERT_TRUE(w.shop->change_status(r->order->number, OrderStatus::cancelled).has_value());
  EXPECT_EQ(w.stock_of("P-WINE"), 5);
  auto revive = w.shop->change_status(r->order->number, OrderStatus::accepted);
  ASSERT_FALSE(revive.has_value());
  EXPECT_EQ(revive.error().code, Errc::conflict);
  EXPECT_FALSE(revive.error().public_message.empty());

  auto missing = w.shop->change_status("C-999999", OrderStatus::accepted);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST_F(ShopTest, StatusLifecycleFollowsTheTable) {
  const auto c = w.customer("wcs_customer_lifecycle01");
  ASSERT_TRUE(add(c, "P-BREAD", 1).has_value());
  auto r = place(c);
  ASSERT_TRUE(r.has_value() && r->order.has_value());
  const std::string n = r->order->number;
  auto skip = w.shop->change_status(n, OrderStatus::completed);
  ASSERT_FALSE(skip.has_value());
  EXPECT_EQ(skip.error().code, Errc::conflict);
  ASSERT_TRUE(w.shop->change_status(n, OrderStatus::accepted).has_value());
  // A pickup order becomes ready for pickup; it is never shipped.
  auto shipped = w.shop->change_status(n, OrderStatus::shipped);
  ASSERT_FALSE(shipped.has_value());
  EXPECT_EQ(shipped.error().code, Errc::conflict);
  for (auto s : {OrderStatus::ready, OrderStatus::completed}) {
    auto st = w.shop->change_status(n, s);
    ASSERT_TRUE(st.has_value()) << to_string(s) << ": " << why(st);
  }
  auto late_cancel = w.shop->change_status(n, OrderStatus::cancelled);
  ASSERT_FALSE(late_cancel.has_value());
  EXPECT_EQ(late_cancel.error().code, Errc::conflict);
  EXPECT_EQ(w.stock_of("P-BREAD"), 9);
}

TEST_F(ShopTest, StatusListenerRunsInsideTheTransaction) {
  const auto c = w.customer("wcs_customer_listener_01");
  ASSERT_TRUE(add(c, "P-WINE", 2).has_value());
  auto r = place(c);
  ASSERT_TRUE(r.has_value() && r->order.has_value());
  const std::string n = r->order->number;

  int calls = 0;
  std::string status_seen_in_tx;
  bool fail_listener = false;
  storage::CustomerStore store(*w.db);
  w.shop->set_status_listener([&](Tx& tx, const storage::OrderRecord& o, const Customer& who) -> Status {
    ++calls;
    EXPECT_EQ(who.id, c.id);
    EXPECT_EQ(o.number, n);
    // The change is already visible through the listener's transaction…
    auto now = w.shop->orders().by_number(tx, n);
    if (!now) return std::unexpected(now.error());
    status_seen_in_tx = (*now)->status;
    // …and what the listener writes commits or rolls back with it.
    storage::ChatMessageRecord m;
    m.customer_id = who.id;
    m.body_sealed = {1, 2, 3};
    m.created_at = 1;
    if (auto id = store.add_chat_message(tx, m); !id) return std::unexpected(id.error());
    if (fail_listener) return fail(Errc::io, "notification could not be queued");
    return ok();
  });
  auto messages = [&] {
    std::size_t count = 0;
    EXPECT_TRUE(w.db->read([&](Tx& tx) -> Status {
                    auto rows = store.chat_messages_after(tx, c.id, 0, 100);
                    if (!rows) return std::unexpected(rows.error());
                    count = rows->size();
                    return ok();
                  }).has_value());
    return count;
  };

  // A failing listener undoes the whole change: status, returned stock and its own writes.
  fail_listener = true;
  auto failed = w.shop->change_status(n, OrderStatus::cancelled);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, Errc::io);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(status_seen_in_tx, "cancelled");
  auto still = w.shop->orders().by_number(n);
  ASSERT_TRUE(still.has_value() && still->has_value());
  EXPECT_EQ((*still)->status, "placed");
  EXPECT_EQ(w.stock_of("P-WINE"), 3);
  EXPECT_EQ(messages(), 0u);

  fail_listener = false;
  auto accepted = w.shop->change_status(n, OrderStatus::accepted);
  ASSERT_TRUE(accepted.has_value()) << why(accepted);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(status_seen_in_tx, "accepted");
  EXPECT_EQ(messages(), 1u);

  // The customer's own change in their chat does not notify them.
  auto quiet = w.in_tx<storage::OrderRecord>(
      [&](Tx& tx) { return w.shop->change_status(tx, n, OrderStatus::cancelled, /*notify=*/false); });
  ASSERT_TRUE(quiet.has_value()) << why(quiet);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(w.stock_of("P-WINE"), 5);
}

TEST_F(ShopTest, DeliveryDetailsAreValidated) {
  const auto c = w.customer("wcs_customer_validation1");
  ASSERT_TRUE(add(c, "P-BREAD", 1).has_value());
  auto none = place(c, Fulfilment::delivery, std::nullopt);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, Errc::invalid_argument);
  for (const auto& d : {DeliveryDetails{"", "1 Main Street, Springfield"}, DeliveryDetails{"   ", "1 Main Street"},
                        DeliveryDetails{std::string(101, 'n'), "1 Main Street"}, DeliveryDetails{"Ann\x07", "1 Main Street"},
                        DeliveryDetails{"Ann", "abc"}, DeliveryDetails{"Ann", std::string(301, 'a')}}) {
    auto r = place(c, Fulfilment::delivery, d);
    ASSERT_FALSE(r.has_value()) << d.recipient_name.size() << "/" << d.address.size();
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
  }
  EXPECT_TRUE(validate_recipient_name(std::string(100, 'n')).has_value());
  EXPECT_TRUE(validate_recipient_name("Zoë Ølstad-Brûlé").has_value());
  EXPECT_TRUE(validate_address("Hauptstraße 5\n10115 Berlin").has_value());
  EXPECT_FALSE(validate_recipient_name("Ann\nBob").has_value());
  EXPECT_TRUE(all_orders().empty());
  EXPECT_EQ(w.stock_of("P-BREAD"), 10);

  ShopSettings pickup_only;
  pickup_only.delivery = false;
  open(pickup_only);
  const auto d = w.customer("wcs_customer_validation2");
  ASSERT_TRUE(add(d, "P-BREAD", 1).has_value());
  auto refused = place(d, Fulfilment::delivery, DeliveryDetails{"Ann", "1 Main Street"});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::invalid_argument);
}

TEST_F(ShopTest, DeliveryDetailsAreSealedAtRestAndOpenedByDetails) {
  const std::string name = "Zoé Quintessa-Marchetti";
  const std::string address = "17 rue des Tulipes Introuvables, 75011 Paris";
  const auto c = w.customer("wcs_customer_sealed_0001");
  ASSERT_TRUE(add(c, "P-BREAD", 1).has_value());
  auto r = place(c, Fulfilment::delivery, DeliveryDetails{"  " + name + " ", address});
  ASSERT_TRUE(r.has_value() && r->order.has_value()) << why(r);
  const auto& o = *r->order;
  EXPECT_EQ(o.delivery_fee, 490);
  EXPECT_EQ(o.total, 2290 + 490);
  // Stored as envelopes (version byte, nonce, ciphertext, tag), not as text.
  const std::string sealed_name(o.recipient_name_sealed.begin(), o.recipient_name_sealed.end());
  ASSERT_EQ(o.recipient_name_sealed.size(), name.size() + privacy::Vault::kOverhead);
  EXPECT_EQ(o.recipient_name_sealed[0], 1);
  EXPECT_EQ(sealed_name.find("Quintessa"), std::string::npos);

  auto details = [&](const storage::OrderRecord& order) {
    return w.in_tx<OrderDetails>([&](Tx& tx) { return w.shop->details(tx, order); });
  };
  auto d = details(o);
  ASSERT_TRUE(d.has_value()) << why(d);
  EXPECT_EQ(d->recipient_name, name);  // trimmed
  EXPECT_EQ(d->delivery_address, address);

  // Nothing of it in the files once closed, and it opens again after reopening.
  w.close();
  for (const auto& [path, bytes] : testing::snapshot(w.dir.path())) {
    EXPECT_EQ(bytes.find("Quintessa"), std::string::npos) << path;
    EXPECT_EQ(bytes.find("Tulipes Introuvables"), std::string::npos) << path;
  }
  open();
  auto stored = w.shop->orders().by_number(o.number);
  ASSERT_TRUE(stored.has_value() && stored->has_value());
  EXPECT_FALSE((*stored)->recipient_name_sealed.empty());
  auto reopened = details(**stored);
  ASSERT_TRUE(reopened.has_value()) << why(reopened);
  EXPECT_EQ(reopened->recipient_name, name);
  EXPECT_EQ(reopened->delivery_address, address);

  // A pickup order has none.
  ASSERT_TRUE(add(c, "P-BREAD", 1).has_value());
  auto pickup = place(c);
  ASSERT_TRUE(pickup.has_value() && pickup->order.has_value());
  auto none = details(*pickup->order);
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->recipient_name.has_value());
  EXPECT_FALSE(none->delivery_address.has_value());

  // Crypto-shredding the customer's key: the order stays, the details are gone for good.
  auto shredded = w.vault->shred(c.subject_id);
  ASSERT_TRUE(shredded.has_value() && *shredded);
  auto gone = details(**stored);
  ASSERT_TRUE(gone.has_value()) << why(gone);
  EXPECT_FALSE(gone->recipient_name.has_value());
  EXPECT_FALSE(gone->delivery_address.has_value());
  EXPECT_EQ(gone->order.number, o.number);
}

// Many buyers, each their own customer, check out the last items of one product at once.
void last_items_race(testing::ShopWorld& w, int buyers, std::int64_t stock, std::int64_t per_buyer) {
  w.set_stock("P-WINE", 1000);
  std::vector<Customer> customers;
  for (int i = 0; i < buyers; ++i) {
    customers.push_back(w.customer("wcs_concurrent_buyer_" + std::to_string(1000 + i)));
    auto r = w.in_tx<AddResult>([&](Tx& tx) { return w.shop->add_to_cart(tx, customers.back().id, "P-WINE", per_buyer); });
    ASSERT_TRUE(r.has_value() && r->quantity == per_buyer) << why(r);
  }
  w.set_stock("P-WINE", stock);

  std::atomic<int> placed{0}, refused{0}, errors{0};
  std::latch start(buyers);
  std::vector<std::thread> threads;
  for (int i = 0; i < buyers; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      PlaceResult result;
      auto st = w.db->write([&](Tx& tx) -> Status {
        result = PlaceResult{};  // Database::write may run this more than once
        auto r = w.shop->place_order(tx, customers[static_cast<std::size_t>(i)], Fulfilment::pickup, std::nullopt);
        if (!r) return std::unexpected(r.error());
        result = std::move(*r);
        return ok();
      });
      if (!st) {
        (st.error().code == Errc::conflict ? refused : errors)++;
      } else if (result.order) {
        placed++;
      } else if (!result.unavailable.empty()) {
        refused++;
      } else {
        errors++;
      }
    });
  }
  for (auto& t : threads) t.join();

  const std::int64_t winners = stock / per_buyer;
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(placed.load(), winners);
  EXPECT_EQ(refused.load(), buyers - winners);
  const std::int64_t left = w.stock_of("P-WINE");
  EXPECT_GE(left, 0);
  EXPECT_EQ(left, stock - winners * per_buyer);

  storage::OrderQuery q;
  q.limit = 1000;
  auto orders = w.shop->orders().list(q);
  ASSERT_TRUE(orders.has_value());
  std::int64_t sold = 0;
  for (const auto& o : *orders) {
    for (const auto& l : o.lines) sold += l.quantity;
  }
  EXPECT_EQ(sold, winners * per_buyer);
  EXPECT_EQ(sold + left, stock);
  // Losers keep their carts; winners' carts are empty.
  int empty_carts = 0;
  for (const auto& c : customers) empty_carts += w.cart(c.id).empty() ? 1 : 0;
  EXPECT_EQ(empty_carts, winners);
}

TEST_F(ShopTest, ConcurrentBuyersOfTheLastItemsNeverOversell) {
  last_items_race(w, 16, 5, 1);
}

TEST_F(ShopTest, ConcurrentBuyersOfSeveralItemsEachNeverOversell) {
  last_items_race(w, 12, 7, 2);  // 3 buyers get 2 each, one unit stays
}

}  // namespace
}  // namespace comptoir::commerce

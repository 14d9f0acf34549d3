// Unit tests of the commerce value types (src/commerce/types.h): the VAT contained in
// VAT-inclusive prices (rounded half up to the cent), totals per VAT rate with a delivery fee, and
// the order status transition table.
#include "src/commerce/types.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace comptoir::commerce {
namespace {

struct VatCase {
  std::int64_t gross;
  int rate_bp;
  std::int64_t vat;
};

TEST(VatIncluded, RoundsHalfUpToTheMinorUnit) {
  const std::vector<VatCase> cases = {
      {2290, 550, 119},     // 119.38 → 119 (the example of the French reduced rate)
      {120, 550, 6},        // 6.25 → 6
      {240, 550, 13},       // 12.51 → 13
      {1200, 2000, 200},    // exact
      {3, 2000, 1},         // 0.5 → 1: half rounds up
      {15, 2000, 3},        // 2.5 → 3
      {2, 2000, 0},         // 0.33 → 0
      {4, 2000, 1},         // 0.67 → 1
      {490, 2000, 82},      // 81.67 → 82 (the default delivery fee)
      {1690, 2000, 282},    // 281.67 → 282
      {4580, 550, 239},     // 238.77 → 239
      {1000, 1000, 91},     // 90.91 → 91
      {100000000, 2000, 16666667},  // large amounts stay exact in integers
      {0, 2000, 0},
      {990, 0, 0},          // zero rate
      {-100, 2000, 0},      // nothing to tax
  };
  for (const auto& c : cases) {
    EXPECT_EQ(vat_included(c.gross, c.rate_bp), c.vat) << c.gross << " at " << c.rate_bp << " bp";
  }
}

TEST(VatIncluded, NetPlusVatIsAlwaysTheGrossAndVatIsTheNearestCent) {
  for (int rate : {0, 210, 550, 700, 1000, 1900, 2000, 2100, 2500, 2700}) {
    for (std::int64_t gross = 0; gross <= 5000; ++gross) {
      const std::int64_t vat = vat_included(gross, rate);
      ASSERT_GE(vat, 0);
      ASSERT_LE(vat, gross);
      // |vat - gross*rate/(10000+rate)| <= 1/2, and exactly 1/2 only when rounding up.
      const std::int64_t denom = 10000 + rate;
      const std::int64_t twice_error = 2 * vat * denom - 2 * gross * rate;
      ASSERT_LE(twice_error, denom) << gross << " at " << rate;
      ASSERT_GT(twice_error, -denom) << gross << " at " << rate;
    }
  }
}

TEST(ComputeTotals, SumsPerRateAndAddsTheDeliveryFeeAtItsOwnRate) {
  const Totals t = compute_totals({{1000, 550}, {1200, 2000}, {500, 550}}, PricedAmount{490, 2000});
  EXPECT_EQ(t.items_total, 2700);
  EXPECT_EQ(t.delivery_fee, 490);
  EXPECT_EQ(t.total, 3190);
  ASSERT_EQ(t.vat.size(), 2u);
  // Ascending by rate; 5.5 %: 1500 gross → 78.2 → 78 VAT.
  EXPECT_EQ(t.vat[0].rate, 550);
  EXPECT_EQ(t.vat[0].gross, 1500);
  EXPECT_EQ(t.vat[0].vat, 78);
  EXPECT_EQ(t.vat[0].net, 1422);
  // 20 %: 1200 of goods + 490 delivery = 1690 → 281.67 → 282 VAT.
  EXPECT_EQ(t.vat[1].rate, 2000);
  EXPECT_EQ(t.vat[1].gross, 1690);
  EXPECT_EQ(t.vat[1].vat, 282);
  EXPECT_EQ(t.vat[1].net, 1408);
  EXPECT_EQ(t.vat_total, 360);
  std::int64_t gross = 0;
  for (const auto& v : t.vat) gross += v.gross;
  EXPECT_EQ(gross, t.total);
}

TEST(ComputeTotals, VatIsComputedOnTheSumPerRateNotPerLine) {
  // Three lines of 3 cents at 20 %: per line 0.5 → 1 each (3), on the sum 9 → 1.5 → 2.
  const Totals t = compute_totals({{3, 2000}, {3, 2000}, {3, 2000}}, std::nullopt);
  ASSERT_EQ(t.vat.size(), 1u);
  EXPECT_EQ(t.vat[0].vat, 2);
  EXPECT_EQ(t.vat_total, 2);
}

TEST(ComputeTotals, ZeroRateHasNoVat) {
  const Totals t = compute_totals({{800, 0}, {1200, 2000}}, std::nullopt);
  ASSERT_EQ(t.vat.size(), 2u);
  EXPECT_EQ(t.vat[0].rate, 0);
  EXPECT_EQ(t.vat[0].vat, 0);
  EXPECT_EQ(t.vat[0].net, 800);
  EXPECT_EQ(t.vat[1].vat, 200);
  EXPECT_EQ(t.vat_total, 200);
  EXPECT_EQ(t.total, 2000);
  EXPECT_EQ(t.delivery_fee, 0);
}

TEST(ComputeTotals, FreeDeliveryAddsNoLineAndEmptyCartIsZero) {
  const Totals free = compute_totals({{1000, 550}}, PricedAmount{0, 2000});
  EXPECT_EQ(free.delivery_fee, 0);
  EXPECT_EQ(free.total, 1000);
  ASSERT_EQ(free.vat.size(), 1u);
  EXPECT_EQ(free.vat[0].rate, 550);

  const Totals only_fee = compute_totals({}, PricedAmount{490, 2000});
  EXPECT_EQ(only_fee.items_total, 0);
  EXPECT_EQ(only_fee.total, 490);
  EXPECT_EQ(only_fee.vat_total, 82);

  const Totals none = compute_totals({}, std::nullopt);
  EXPECT_EQ(none.total, 0);
  EXPECT_TRUE(none.vat.empty());
}

TEST(OrderStatus, TransitionTable) {
  using S = OrderStatus;
  const std::vector<S> all = {S::placed, S::accepted, S::ready, S::shipped, S::completed, S::cancelled};
  // allowed[from][to]
  const bool allowed[6][6] = {
      // to: placed accepted ready  shipped completed cancelled
      {false, true, false, false, false, true},   // placed
      {false, false, true, true, false, true},    // accepted
      {false, false, false, false, true, true},   // ready
      {false, false, false, false, true, false},  // shipped
      {false, false, false, false, false, false}, // completed
      {false, false, false, false, false, false}, // cancelled
  };
  for (std::size_t f = 0; f < all.size(); ++f) {
    for (std::size_t t = 0; t < all.size(); ++t) {
      EXPECT_EQ(transition_allowed(all[f], all[t]), allowed[f][t]) << to_string(all[f]) << " → " << to_string(all[t]);
    }
  }
}

TEST(OrderStatus, NamesRoundTrip) {
  for (auto s : {OrderStatus::placed, OrderStatus::accepted, OrderStatus::ready, OrderStatus::shipped,
                 OrderStatus::completed, OrderStatus::cancelled}) {
    OrderStatus back = OrderStatus::placed;
    ASSERT_TRUE(parse_status(to_string(s), back)) << to_string(s);
    EXPECT_EQ(back, s);
  }
  OrderStatus out = OrderStatus::accepted;
  EXPECT_FALSE(parse_status("Placed", out));
  EXPECT_FALSE(parse_status("", out));
  EXPECT_FALSE(parse_status("done", out));
  EXPECT_EQ(out, OrderStatus::accepted);  // untouched on failure

  Fulfilment f = Fulfilment::pickup;
  EXPECT_TRUE(parse_fulfilment("delivery", f));
  EXPECT_EQ(f, Fulfilment::delivery);
  EXPECT_EQ(to_string(f), "delivery");
  EXPECT_FALSE(parse_fulfilment("post", f));
}

}  // namespace
}  // namespace comptoir::commerce

// Tests for src/common/error: Result/Status values, fail(), the shown message, Errc names.
#include "src/common/error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace comptoir {
namespace {

Result<int> half(int v) {
  if (v % 2 != 0) return fail(Errc::invalid_argument, "odd value " + std::to_string(v), "must be even");
  return v / 2;
}

Status check(bool good) {
  if (!good) return fail(Errc::conflict, "state does not allow it");
  return ok();
}

TEST(ErrorResult, CarriesValueOrError) {
  auto good = half(8);
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(*good, 4);
  auto bad = half(7);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  EXPECT_EQ(bad.error().message, "odd value 7");
  EXPECT_EQ(bad.error().public_message, "must be even");
}

TEST(ErrorResult, StatusOkAndFailure) {
  EXPECT_TRUE(check(true).has_value());
  auto st = check(false);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Errc::conflict);
  EXPECT_TRUE(st.error().public_message.empty());
}

TEST(ErrorResult, ShownPrefersThePublicMessage) {
  Error internal_only{Errc::internal, "db handle null", ""};
  EXPECT_EQ(internal_only.shown(), "db handle null");
  Error with_public{Errc::not_found, "row 42 missing in orders", "no such order"};
  EXPECT_EQ(with_public.shown(), "no such order");
  EXPECT_EQ(Error{}.code, Errc::internal);
}

TEST(ErrorResult, EveryCodeHasADistinctName) {
  const Errc all[] = {Errc::invalid_argument, Errc::not_found, Errc::gone, Errc::conflict,
                      Errc::unauthorized, Errc::forbidden, Errc::rate_limited,
                      Errc::payload_too_large, Errc::unavailable, Errc::wrong_key, Errc::corrupt,
                      Errc::io, Errc::config, Errc::crypto, Errc::internal};
  std::set<std::string_view> names;
  for (Errc c : all) names.insert(to_string(c));
  EXPECT_EQ(names.size(), std::size(all));
  EXPECT_EQ(to_string(Errc::config), "config");
  EXPECT_EQ(to_string(Errc::payload_too_large), "payload_too_large");
  EXPECT_EQ(to_string(Errc::wrong_key), "wrong_key");
}

}  // namespace
}  // namespace comptoir

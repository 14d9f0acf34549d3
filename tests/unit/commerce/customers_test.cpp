// Unit tests of CustomerDirectory's address shortcut: a customer found (or created) by their own
// address carries it, normalized, so that address_of() returns it without opening the sealed
// copy; a customer found by a second id (a WhatsApp user id) or loaded by id does not, and
// address_of() then opens the sealed address.
#include "src/commerce/customers.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/commerce/shop_fixture.h"

namespace comptoir::testing {
namespace {

class CustomerDirectoryTest : public ::testing::Test {
 protected:
  ShopWorld w;

  void SetUp() override { w.open(); }
  void TearDown() override { w.close(); }

  commerce::Customer find(privacy::Channel channel, const std::string& address) {
    auto c = w.in_tx<commerce::Customer>([&](storage::Tx& tx) { return w.customers->find_or_create(tx, channel, address, "en"); });
    EXPECT_TRUE(c.has_value()) << why(c);
    return c.value_or(commerce::Customer{});
  }
  std::string address_of(const commerce::Customer& c) {
    auto a = w.in_tx<std::string>([&](storage::Tx& tx) { return w.customers->address_of(tx, c); });
    EXPECT_TRUE(a.has_value()) << why(a);
    return a.value_or("");
  }
};

TEST_F(CustomerDirectoryTest, ACustomerFoundByTheirOwnAddressCarriesItNormalized) {
  const auto created = find(privacy::Channel::whatsapp, "33612345678");
  EXPECT_TRUE(created.created);
  EXPECT_EQ(created.known_address, "33612345678");
  const auto found = find(privacy::Channel::whatsapp, "33612345678");
  EXPECT_FALSE(found.created);
  EXPECT_EQ(found.id, created.id);
  EXPECT_EQ(found.known_address, "33612345678");
  EXPECT_EQ(address_of(found), "33612345678");
  // Written another way, the same number: the same customer, and the normalized form carried.
  const auto spaced = find(privacy::Channel::whatsapp, "+33 6 12 34 56 78");
  EXPECT_EQ(spaced.id, created.id);
  EXPECT_EQ(spaced.known_address, "33612345678");
}

TEST_F(CustomerDirectoryTest, FoundByASecondIdOrLoadedByIdTheSealedAddressIsOpened) {
  const auto customer = find(privacy::Channel::whatsapp, "33612345678");
  auto added = w.in_tx<bool>([&](storage::Tx& tx) -> Result<bool> {
    if (auto st = w.customers->add_alias(tx, customer, "FR.71928364500012"); !st) return std::unexpected(st.error());
    return true;
  });
  ASSERT_TRUE(added.has_value()) << why(added);
  const auto by_alias = find(privacy::Channel::whatsapp, "FR.71928364500012");
  EXPECT_EQ(by_alias.id, customer.id);
  EXPECT_TRUE(by_alias.known_address.empty()) << "the second id is not where replies go";
  EXPECT_EQ(address_of(by_alias), "33612345678");

  auto loaded = w.in_tx<std::optional<commerce::Customer>>(
      [&](storage::Tx& tx) { return w.customers->by_id(tx, customer.id); });
  ASSERT_TRUE(loaded.has_value() && loaded->has_value()) << why(loaded);
  EXPECT_TRUE((*loaded)->known_address.empty());
  EXPECT_EQ(address_of(**loaded), "33612345678");
}

}  // namespace
}  // namespace comptoir::testing

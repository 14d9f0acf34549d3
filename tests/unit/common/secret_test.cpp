// Tests for src/common/secret: SecretBytes ownership, contents, printing, constant-time equality.
#include "src/common/secret.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "src/common/encoding.h"

namespace comptoir {
namespace {

static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
static_assert(std::is_nothrow_move_assignable_v<SecretBytes>);
static_assert(!std::is_convertible_v<SecretBytes, std::string>);

bool all_zero(const SecretBytes& s) {
  return std::all_of(s.data(), s.data() + s.size(), [](std::uint8_t b) { return b == 0; });
}

TEST(SecretBytesTest, DefaultIsEmpty) {
  const SecretBytes s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.view(), "");
  EXPECT_TRUE(s.span().empty());
  EXPECT_TRUE(s.equals({}));
  EXPECT_FALSE(s.equals(as_bytes("x")));
}

TEST(SecretBytesTest, SizedConstructorZeroes) {
  SecretBytes s(64);
  ASSERT_EQ(s.size(), 64u);
  EXPECT_FALSE(s.empty());
  EXPECT_TRUE(all_zero(s));
  s.mutable_span()[63] = 7;
  EXPECT_EQ(s.data()[63], 7);
  EXPECT_TRUE(SecretBytes(0).empty());
}

TEST(SecretBytesTest, CopyOfKeepsExactBytesIncludingNul) {
  const std::string_view text("pa\0ss\n", 6);
  const SecretBytes s = SecretBytes::copy_of(text);
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s.view(), text);
  EXPECT_NE(static_cast<const void*>(s.data()), static_cast<const void*>(text.data()));
  const std::vector<std::uint8_t> raw{1, 2, 3, 255};
  const SecretBytes b = SecretBytes::copy_of(std::span<const std::uint8_t>(raw));
  EXPECT_TRUE(b.equals(raw));
  EXPECT_TRUE(SecretBytes::copy_of(std::string_view()).empty());
}

TEST(SecretBytesTest, RandomIsRandom) {
  const SecretBytes a = SecretBytes::random(32);
  const SecretBytes b = SecretBytes::random(32);
  ASSERT_EQ(a.size(), 32u);
  EXPECT_FALSE(all_zero(a));  // probability 2^-256
  EXPECT_FALSE(a.equals(b.span()));
  EXPECT_TRUE(SecretBytes::random(0).empty());
}

TEST(SecretBytesTest, MoveTransfersOwnershipAndEmptiesSource) {
  SecretBytes a = SecretBytes::copy_of(std::string_view("key material"));
  const std::uint8_t* where = a.data();
  SecretBytes b(std::move(a));
  EXPECT_EQ(b.data(), where);
  EXPECT_EQ(b.view(), "key material");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented moved-from state
  EXPECT_EQ(a.data(), nullptr);

  SecretBytes c = SecretBytes::copy_of(std::string_view("old"));
  c = std::move(b);
  EXPECT_EQ(c.view(), "key material");
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

TEST(SecretBytesTest, SelfMoveAssignmentKeepsContents) {
  SecretBytes a = SecretBytes::copy_of(std::string_view("stay"));
  SecretBytes* alias = &a;  // through a pointer, so the compiler does not warn about self-move
  a = std::move(*alias);
  EXPECT_EQ(a.view(), "stay");
}

TEST(SecretBytesTest, EqualsComparesContentAndLength) {
  const SecretBytes s = SecretBytes::copy_of(std::string_view("abcdef"));
  EXPECT_TRUE(s.equals(as_bytes("abcdef")));
  EXPECT_FALSE(s.equals(as_bytes("abcdeF")));
  EXPECT_FALSE(s.equals(as_bytes("Abcdef")));
  EXPECT_FALSE(s.equals(as_bytes("abcde")));
  EXPECT_FALSE(s.equals(as_bytes("abcdefg")));
  EXPECT_FALSE(s.equals(as_bytes("")));
}

TEST(SecretBytesTest, PrintsRedacted) {
  const SecretBytes s = SecretBytes::copy_of(std::string_view("hunter2"));
  std::ostringstream os;
  os << "value=" << s;
  EXPECT_EQ(os.str(), "value=[redacted]");
  EXPECT_EQ(os.str().find("hunter2"), std::string::npos);
}

TEST(SecretConstantTimeEqual, ComparesExactly) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("same", "same"));
  EXPECT_TRUE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
  EXPECT_FALSE(constant_time_equal("same", "Same"));
  EXPECT_FALSE(constant_time_equal("same", "samf"));
  EXPECT_FALSE(constant_time_equal("same", "sam"));
  EXPECT_FALSE(constant_time_equal("sam", "same"));
  EXPECT_FALSE(constant_time_equal("", "x"));
  const std::string long_a(4096, 'q');
  std::string long_b = long_a;
  EXPECT_TRUE(constant_time_equal(long_a, long_b));
  long_b[2048] = 'r';
  EXPECT_FALSE(constant_time_equal(long_a, long_b));
}

TEST(SecretSodium, EnsureSodiumIsIdempotent) {
  ensure_sodium();
  ensure_sodium();
  EXPECT_EQ(SecretBytes::random(8).size(), 8u);
}

}  // namespace
}  // namespace comptoir

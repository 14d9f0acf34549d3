// Tests for src/common/encoding: lowercase hex, unpadded base64url, random identifiers.
#include "src/common/encoding.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace comptoir {
namespace {

std::vector<std::uint8_t> bytes(std::initializer_list<int> values) {
  std::vector<std::uint8_t> out;
  for (int v : values) out.push_back(static_cast<std::uint8_t>(v));
  return out;
}

TEST(EncodingHex, EncodesLowercase) {
  EXPECT_EQ(hex_encode(std::string_view("")), "");
  EXPECT_EQ(hex_encode(bytes({0x00, 0x01, 0x7f, 0x80, 0xab, 0xff})), "00017f80abff");
  EXPECT_EQ(hex_encode(std::string_view("Hi!")), "486921");
  EXPECT_EQ(hex_encode(std::string_view("\0\xDE", 2)), "00de");
}

TEST(EncodingHex, DecodesEitherCase) {
  EXPECT_EQ(hex_decode("00017f80abff"), bytes({0x00, 0x01, 0x7f, 0x80, 0xab, 0xff}));
  EXPECT_EQ(hex_decode("ABCDEF"), bytes({0xab, 0xcd, 0xef}));
  EXPECT_EQ(hex_decode("aBcD"), bytes({0xab, 0xcd}));
  const auto empty = hex_decode("");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
}

TEST(EncodingHex, RejectsOddLength) {
  EXPECT_FALSE(hex_decode("0").has_value());
  EXPECT_FALSE(hex_decode("abc").has_value());
  EXPECT_FALSE(hex_decode("00000").has_value());
}

TEST(EncodingHex, RejectsNonHexCharacters) {
  for (const char* bad : {"0g", "g0", "zz", " 0", "0 ", "0x", "-1", "+1", "..", "0:", "@A", "`a",
                          "Gf", "ab\n0", "00\xff\xff", "\xc3\xa9"}) {
    EXPECT_FALSE(hex_decode(bad).has_value()) << bad;
  }
  EXPECT_FALSE(hex_decode(std::string_view("0\0", 2)).has_value());
  EXPECT_FALSE(hex_decode("0123456789abcdeg").has_value());  // bad digit at the very end
}

TEST(EncodingHex, EveryByteRoundTrips) {
  std::vector<std::uint8_t> all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<std::uint8_t>(i));
  const std::string hex = hex_encode(all);
  EXPECT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 6), "000102");
  EXPECT_EQ(hex.substr(506), "fdfeff");
  EXPECT_EQ(hex_decode(hex), all);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(hex_decode(upper), all);
}

TEST(EncodingBase64Url, MatchesRfc4648Vectors) {
  EXPECT_EQ(base64url_encode(as_bytes("")), "");
  EXPECT_EQ(base64url_encode(std::vector<std::uint8_t>{}), "");  // null data pointer
  EXPECT_EQ(base64url_encode(as_bytes("f")), "Zg");
  EXPECT_EQ(base64url_encode(as_bytes("fo")), "Zm8");
  EXPECT_EQ(base64url_encode(as_bytes("foo")), "Zm9v");
  EXPECT_EQ(base64url_encode(as_bytes("foob")), "Zm9vYg");
  EXPECT_EQ(base64url_encode(as_bytes("fooba")), "Zm9vYmE");
  EXPECT_EQ(base64url_encode(as_bytes("foobar")), "Zm9vYmFy");
}

TEST(EncodingBase64Url, UsesUrlSafeAlphabetWithoutPadding) {
  EXPECT_EQ(base64url_encode(bytes({0xfb, 0xff})), "-_8");
  EXPECT_EQ(base64url_encode(bytes({0xff, 0xff, 0xff})), "____");
  EXPECT_EQ(base64url_encode(bytes({0xfb, 0xef, 0xbe})), "----");
  EXPECT_EQ(base64url_encode(bytes({0x00})), "AA");
  const std::vector<std::uint8_t> thirty_two(32, 0xa5);
  const std::string enc = base64url_encode(thirty_two);
  EXPECT_EQ(enc.size(), 43u);  // the length of a Comptoir API token body
  EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
}

TEST(EncodingRandomId, HasPrefixAndHexBody) {
  const std::string id = random_id("tok_", 16);
  ASSERT_EQ(id.size(), 4u + 32u);
  EXPECT_EQ(id.substr(0, 4), "tok_");
  EXPECT_EQ(id.substr(4).find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_TRUE(hex_decode(id.substr(4)).has_value());
  EXPECT_EQ(random_id("x", 0), "x");  // regression: used to pass a null buffer to libsodium
  EXPECT_EQ(random_id("", 3).size(), 6u);
}

TEST(EncodingRandomId, IdsAreDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) seen.insert(random_id("", 16));
  EXPECT_EQ(seen.size(), 200u);
}

TEST(EncodingBytes, AsBytesAndAsCharsAreInverse) {
  const std::string_view text("a\0\xff", 3);
  const auto b = as_bytes(text);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0], 'a');
  EXPECT_EQ(b[1], 0);
  EXPECT_EQ(b[2], 0xff);
  EXPECT_EQ(as_chars(b), text);
  EXPECT_EQ(as_chars(b).data(), text.data());  // a view, not a copy
}

}  // namespace
}  // namespace comptoir

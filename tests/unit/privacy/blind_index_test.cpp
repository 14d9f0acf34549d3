// Unit tests of the blind index (privacy/blind_index.h): address normalization per channel and
// the keyed hash that lets a customer be found without storing the address.
#include "privacy/blind_index.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <string>
#include <vector>

#include "src/common/encoding.h"

namespace comptoir {
[[maybe_unused]] static void PrintTo(Errc code, std::ostream* os) { *os << to_string(code); }
}  // namespace comptoir

namespace comptoir::privacy {
namespace {

std::string normalized(Channel c, std::string_view a) {
  auto r = normalize_address(c, a);
  EXPECT_TRUE(r.has_value()) << to_string(c) << " refused \"" << a << "\"";
  return r ? *r : std::string("<refused>");
}

void expect_refused(Channel c, std::string_view a) {
  auto r = normalize_address(c, a);
  EXPECT_FALSE(r.has_value()) << to_string(c) << " accepted \"" << a << "\" as \"" << (r ? *r : "") << "\"";
  if (!r) {
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    // The refused address is personal data: it never appears in the error message.
    if (a.size() >= 6) {
      EXPECT_EQ(r.error().message.find(a), std::string::npos) << r.error().message;
    }
  }
}

TEST(MessageKey, IsAKeyedHashThatNeverHoldsTheId) {
  const SecretBytes key = SecretBytes::random(32);
  const BlindIndex index(key);
  // A WhatsApp message id embeds the customer's number (base64 of "16503879439" here).
  const std::string wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA";
  const std::string k = index.message_key(Channel::whatsapp, wamid);
  EXPECT_TRUE(k.starts_with("h:")) << k;
  EXPECT_EQ(k.size(), 2u + 22u);  // 16 bytes, unpadded base64url
  EXPECT_EQ(k.find("MTY1"), std::string::npos);
  EXPECT_EQ(index.message_key(Channel::whatsapp, wamid), k);                     // deterministic
  EXPECT_NE(index.message_key(Channel::telegram, wamid), k);                     // per channel
  EXPECT_NE(index.message_key(Channel::whatsapp, wamid + "A"), k);               // per id
  EXPECT_NE(BlindIndex(SecretBytes::random(32)).message_key(Channel::whatsapp, wamid), k);  // per key
  // Not the address's blind index of the same text either.
  auto as_address = index.of(Channel::telegram, "123456789");
  ASSERT_TRUE(as_address.has_value());
  EXPECT_NE(index.message_key(Channel::telegram, "123456789"), *as_address);
}

TEST(Channels, NamesRoundTrip) {
  for (Channel c : {Channel::whatsapp, Channel::telegram, Channel::webchat}) {
    Channel parsed = Channel::webchat;
    ASSERT_TRUE(parse_channel(to_string(c), parsed));
    EXPECT_EQ(parsed, c);
  }
  Channel out = Channel::telegram;
  EXPECT_FALSE(parse_channel("sms", out));
  EXPECT_FALSE(parse_channel("WhatsApp", out));
  EXPECT_FALSE(parse_channel("", out));
  EXPECT_EQ(out, Channel::telegram);
}

TEST(Normalize, PhoneNumberSpellingsAgree) {
  const std::vector<std::string> spellings = {
      "+33 6 12 34 56 78", "0033612345678", "33612345678", "+33612345678", "+33 (6) 12-34-56-78",
      "0033 6.12.34.56.78", " +33 6 12 34 56 78", "+0033 6 12 34 56 78"};
  for (const auto& s : spellings) EXPECT_EQ(normalized(Channel::whatsapp, s), "33612345678") << s;
}

TEST(Normalize, PhoneNumberLimits) {
  EXPECT_EQ(normalized(Channel::whatsapp, "123456"), "123456");
  EXPECT_EQ(normalized(Channel::whatsapp, "12345678901234567890"), "12345678901234567890");
  expect_refused(Channel::whatsapp, "12345");
  expect_refused(Channel::whatsapp, "123456789012345678901");
  expect_refused(Channel::whatsapp, "");
  expect_refused(Channel::whatsapp, "+");
  expect_refused(Channel::whatsapp, "00");
  expect_refused(Channel::whatsapp, "( ) - .");
}

TEST(Normalize, PhoneNumbersWithLettersOrOtherCharactersAreRefused) {
  for (const char* a : {"+33 6 12 34 56 7a", "+33 6 CALL NOW", "33612345678x", "+33_612345678", "33612345678;",
                        "+33 6 12 34 56 78\n", "++33612345678", "33+612345678", "tel:+33612345678",
                        "+３３６１２３４５６７８"}) {
    expect_refused(Channel::whatsapp, a);
  }
}

TEST(Normalize, BusinessScopedUserIdsAreKeptAsIs) {
  EXPECT_EQ(normalized(Channel::whatsapp, "US.13491208655302741918"), "US.13491208655302741918");
  EXPECT_EQ(normalized(Channel::whatsapp, "FR.1"), "FR.1");
  expect_refused(Channel::whatsapp, "US.1349120865530274191a");
  expect_refused(Channel::whatsapp, "us.13491208655302741918");
  expect_refused(Channel::whatsapp, "US-13491208655302741918");
  expect_refused(Channel::whatsapp, "US.");
  expect_refused(Channel::whatsapp, "US.1 2");
  expect_refused(Channel::whatsapp, "US." + std::string(62, '1'));  // 65 characters
}

TEST(Normalize, TelegramChatIds) {
  EXPECT_EQ(normalized(Channel::telegram, "123456789"), "123456789");
  EXPECT_EQ(normalized(Channel::telegram, "-1001234567890"), "-1001234567890");
  EXPECT_EQ(normalized(Channel::telegram, "-42"), "-42");
  EXPECT_EQ(normalized(Channel::telegram, "0"), "0");
  EXPECT_EQ(normalized(Channel::telegram, "-9223372036854775808"), "-9223372036854775808");
  for (const char* a : {"", "-", "--5", "+5", "12a", "0123", "-0123", "1 2", " 12", "12 ", "1.5", "1e5",
                        "@shop_customer", "123456789012345678901234"}) {
    expect_refused(Channel::telegram, a);
  }
}

TEST(Normalize, WebchatSessions) {
  const std::string ok16 = "abcdEFGH0123_-xy";
  EXPECT_EQ(normalized(Channel::webchat, ok16), ok16);
  EXPECT_EQ(normalized(Channel::webchat, std::string(128, 'a')), std::string(128, 'a'));
  expect_refused(Channel::webchat, "abcdEFGH0123_-x");     // 15 characters
  expect_refused(Channel::webchat, std::string(129, 'a'));
  expect_refused(Channel::webchat, "abcdEFGH0123_-x/");
  expect_refused(Channel::webchat, "abcdEFGH 0123_-xy");
  expect_refused(Channel::webchat, "abcdEFGH0123_-x=");
  expect_refused(Channel::webchat, "abcdéFGH0123_-xyz");
  expect_refused(Channel::webchat, "");
}

// --- the index ----------------------------------------------------------------------------------

SecretBytes fixed_key(std::uint8_t fill) {
  SecretBytes k(32);
  for (std::size_t i = 0; i < 32; ++i) k.data()[i] = fill;
  return k;
}

std::string index_of(const BlindIndex& bi, Channel c, std::string_view a) {
  auto r = bi.of(c, a);
  EXPECT_TRUE(r.has_value()) << a;
  return r ? *r : std::string();
}

TEST(BlindIndex, SameAddressSameIndexAcrossSpellingsAndInstances) {
  const SecretBytes key = SecretBytes::random(32);
  const BlindIndex a(key);
  const BlindIndex b(key);
  const std::string idx = index_of(a, Channel::whatsapp, "+33 6 12 34 56 78");
  EXPECT_EQ(idx.size(), 64u);
  EXPECT_TRUE(hex_decode(idx).has_value());
  EXPECT_EQ(index_of(a, Channel::whatsapp, "0033612345678"), idx);
  EXPECT_EQ(index_of(a, Channel::whatsapp, "33612345678"), idx);
  EXPECT_EQ(index_of(b, Channel::whatsapp, "+33 6 12 34 56 78"), idx);
  EXPECT_NE(index_of(a, Channel::whatsapp, "33612345679"), idx);
  EXPECT_EQ(idx.find("33612345678"), std::string::npos);
}

TEST(BlindIndex, DependsOnTheKey) {
  const BlindIndex a(SecretBytes::random(32));
  const BlindIndex b(SecretBytes::random(32));
  EXPECT_NE(index_of(a, Channel::whatsapp, "33612345678"), index_of(b, Channel::whatsapp, "33612345678"));
  EXPECT_NE(index_of(a, Channel::telegram, "123456789"), index_of(b, Channel::telegram, "123456789"));
}

TEST(BlindIndex, DependsOnTheChannel) {
  const BlindIndex bi(SecretBytes::random(32));
  const std::string digits = "1234567890123456";  // valid on every channel
  const std::string w = index_of(bi, Channel::whatsapp, digits);
  const std::string t = index_of(bi, Channel::telegram, digits);
  const std::string c = index_of(bi, Channel::webchat, digits);
  EXPECT_NE(w, t);
  EXPECT_NE(w, c);
  EXPECT_NE(t, c);
}

TEST(BlindIndex, MatchesTheDocumentedConstruction) {
  // keyed BLAKE2b-256 over "channel" || 0x00 || normalized address.
  const SecretBytes key = fixed_key(0x42);
  const BlindIndex bi(key);
  const std::string message = std::string("whatsapp") + '\0' + "33612345678";
  std::array<unsigned char, 32> out{};
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                     key.data(), key.size());
  EXPECT_EQ(index_of(bi, Channel::whatsapp, "+33 6 12 34 56 78"),
            hex_encode(std::span<const std::uint8_t>(out.data(), out.size())));
}

TEST(BlindIndex, InvalidAddressesGiveNoIndex) {
  const BlindIndex bi(SecretBytes::random(32));
  auto r = bi.of(Channel::whatsapp, "not a phone");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_FALSE(bi.of(Channel::telegram, "abc").has_value());
  EXPECT_FALSE(bi.of(Channel::webchat, "short").has_value());
}

}  // namespace
}  // namespace comptoir::privacy

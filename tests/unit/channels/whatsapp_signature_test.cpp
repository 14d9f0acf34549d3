// X-Hub-Signature-256: HMAC-SHA256 of the raw body bytes with the app secret, "sha256=<hex>",
// compared in constant time. Vectors from the channel reference (computed there with Python's
// hmac) and bodies in the escaped-unicode form Meta sends (accents, emoji and '@' as \uXXXX),
// whose signatures were computed independently with `openssl dgst -sha256 -hmac`.
#include <cctype>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "src/channels/whatsapp.h"
#include "src/common/secret.h"

namespace comptoir::channels::whatsapp {
namespace {

SecretBytes key(std::string_view s) { return SecretBytes::copy_of(s); }

// A text message as Meta puts it on the wire: every non-ASCII character, '@', '<', '%' and '/'
// escaped. Parsing and re-serialising it changes the bytes and so the signature.
constexpr std::string_view kEscapedBody =
    R"json({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Ren\u00e9e"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.SIGTEST1","timestamp":"1749416383","type":"text","text":{"body":"cr\u00e8me br\u00fbl\u00e9e \ud83c\udf70 pour jean\u0040example.org \u003c3 100\u0025 a\/b"}}]},"field":"messages"}]}]})json";
constexpr std::string_view kEscapedSecret = "test-app-secret-0123";
constexpr std::string_view kEscapedSignature = "sha256=fbbe8ec42a540274faa760bd61deb1283bf43e1cbf00b147a6600b95ee82443c";
// The same payload after JSON.parse + JSON.stringify (UTF-8, no escapes): a different MAC.
constexpr std::string_view kReserialisedSignature =
    "sha256=6490b685a63f1d675689e8653645194023b12301db4f5a921b9ac3eade5a467c";

TEST(WhatsAppSignature, ReferenceVectors) {
  EXPECT_EQ(sign("test", key("secret")), "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914");
  EXPECT_TRUE(signature_valid("test", "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914",
                              key("secret")));
  const std::string body = R"({"object":"whatsapp_business_account","entry":[]})";
  const std::string header = "sha256=c236c758c9b2bd40b388a550eeca09eaca72384dd0aa5e7c31d19cddac5bba46";
  EXPECT_EQ(sign(body, key("app_secret")), header);
  EXPECT_TRUE(signature_valid(body, header, key("app_secret")));
}

TEST(WhatsAppSignature, EscapedUnicodeBodiesAreHashedAsReceived) {
  const SecretBytes secret = key(kEscapedSecret);
  EXPECT_EQ(sign(kEscapedBody, secret), kEscapedSignature);
  EXPECT_TRUE(signature_valid(kEscapedBody, kEscapedSignature, secret));
  // The signature of the re-serialised form does not match the bytes Meta sent, and the
  // escaped form's signature does not match a re-serialised body.
  EXPECT_FALSE(signature_valid(kEscapedBody, kReserialisedSignature, secret));
  const std::string reserialised =
      R"json({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Renée"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.SIGTEST1","timestamp":"1749416383","type":"text","text":{"body":"crème brûlée 🍰 pour jean@example.org <3 100% a/b"}}]},"field":"messages"}]}]})json";
  EXPECT_EQ(sign(reserialised, secret), kReserialisedSignature);
  EXPECT_FALSE(signature_valid(reserialised, kEscapedSignature, secret));
  // And the escaped body parses to the real characters.
  auto hook = parse_webhook(kEscapedBody);
  ASSERT_TRUE(hook.has_value());
  ASSERT_EQ(hook->messages.size(), 1u);
  EXPECT_EQ(hook->messages[0].text, "crème brûlée 🍰 pour jean@example.org <3 100% a/b");
}

TEST(WhatsAppSignature, EveryChangedByteBreaksIt) {
  const SecretBytes secret = key(kEscapedSecret);
  std::string body(kEscapedBody);
  for (std::size_t i = 0; i < body.size(); i += 7) {
    std::string changed = body;
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    EXPECT_FALSE(signature_valid(changed, kEscapedSignature, secret)) << "byte " << i;
  }
  EXPECT_FALSE(signature_valid(body + " ", kEscapedSignature, secret));
  EXPECT_FALSE(signature_valid(body + "\n", kEscapedSignature, secret));
  EXPECT_FALSE(signature_valid(body.substr(0, body.size() - 1), kEscapedSignature, secret));
  EXPECT_FALSE(signature_valid(body, kEscapedSignature, key("test-app-secret-0124")));
}

TEST(WhatsAppSignature, MalformedHeadersAreRejected) {
  const SecretBytes secret = key("secret");
  const std::string good = "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914";
  const std::string hex = good.substr(7);
  std::string upper_hex = hex;
  for (auto& c : upper_hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string last_changed = good;
  last_changed.back() = last_changed.back() == '4' ? '5' : '4';
  const struct {
    const char* what;
    std::string header;
  } bad[] = {
      {"missing", ""},
      {"prefix only", "sha256="},
      {"no prefix", hex},
      {"upper-case prefix", "SHA256=" + hex},
      {"sha1 scheme", "sha1=" + hex.substr(0, 40)},
      {"sha1 prefix on the sha256 digest", "sha1=" + hex},
      {"short (63 hex digits)", good.substr(0, good.size() - 1)},
      {"short (32 bytes as 62 hex digits)", good.substr(0, good.size() - 2)},
      {"long (65 hex digits)", good + "0"},
      {"long (66 hex digits)", good + "00"},
      {"last digit changed", last_changed},
      {"non-hex digit", good.substr(0, good.size() - 1) + "g"},
      {"space before", " " + good},
      {"space after", good + " "},
      {"space after the prefix", "sha256= " + hex.substr(1)},
      {"NUL inside", std::string("sha256=") + std::string(1, '\0') + hex.substr(1)},
      {"two signatures", good + "," + good},
      {"the body itself", "test"},
      {"all zeros", "sha256=" + std::string(64, '0')},
  };
  for (const auto& b : bad) EXPECT_FALSE(signature_valid("test", b.header, secret)) << b.what;
  EXPECT_TRUE(signature_valid("test", good, secret));
  // Hex digits are case-insensitive: the MAC is the same 32 bytes (Meta sends lower case).
  EXPECT_TRUE(signature_valid("test", "sha256=" + upper_hex, secret));
}

TEST(WhatsAppSignature, NoSecretNeverValidates) {
  // HMAC-SHA256 with an empty key (computed with Python's hmac): a channel without a secret must not
  // accept it (the config refuses secrets under 16 characters anyway).
  const SecretBytes empty;
  EXPECT_FALSE(signature_valid("test", "sha256=43b0cef99265f9e34c10ea9d3501926d27b39f57c6d674561d8ba236e7a819fb", empty));
  EXPECT_FALSE(signature_valid("test", sign("test", key("secret")), empty));
  EXPECT_FALSE(signature_valid("", "", empty));
}

TEST(WhatsAppSignature, EmptyAndBinaryBodies) {
  const SecretBytes secret = key("another secret, longer than a block of sixty-four bytes for HMAC-SHA256 keys");
  for (const std::string& body : {std::string(), std::string(1, '\0'), std::string("\xff\xfe\x00\x01", 4),
                                  std::string(70000, 'x')}) {
    const std::string header = sign(body, secret);
    EXPECT_EQ(header.size(), 71u);
    EXPECT_TRUE(header.starts_with("sha256="));
    EXPECT_TRUE(signature_valid(body, header, secret));
    EXPECT_FALSE(signature_valid(body + "x", header, secret));
  }
}

}  // namespace
}  // namespace comptoir::channels::whatsapp

#include "src/http/webchat_session.h"

#include <sodium.h>

#include <array>

#include "src/common/encoding.h"

namespace comptoir::http {

namespace {
constexpr std::size_t kRandom = 16;
constexpr std::size_t kMac = 16;
}  // namespace

WebchatSessions::WebchatSessions(const SecretBytes& key) : key_(SecretBytes::copy_of(key.span())) { ensure_sodium(); }

std::string WebchatSessions::mint() const {
  std::array<std::uint8_t, kRandom + kMac> buf{};
  randombytes_buf(buf.data(), kRandom);
  crypto_generichash(buf.data() + kRandom, kMac, buf.data(), kRandom, key_.data(), key_.size());
  return std::string(kPrefix) + base64url_encode(buf);
}

bool WebchatSessions::valid(std::string_view session) const {
  if (!session.starts_with(kPrefix) || session.size() > 64) return false;
  auto raw = base64url_decode(session.substr(kPrefix.size()));
  if (!raw || raw->size() != kRandom + kMac) return false;
  std::array<std::uint8_t, kMac> mac{};
  crypto_generichash(mac.data(), kMac, raw->data(), kRandom, key_.data(), key_.size());
  return sodium_memcmp(mac.data(), raw->data() + kRandom, kMac) == 0;
}

}  // namespace comptoir::http

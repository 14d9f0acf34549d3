#include "src/common/encoding.h"

#include <sodium.h>

#include "src/common/secret.h"

namespace comptoir {

std::string hex_encode(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

std::string hex_encode(std::string_view bytes) { return hex_encode(as_bytes(bytes)); }

std::optional<std::vector<std::uint8_t>> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<std::uint8_t> out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<std::uint8_t>((hi << 4) | lo));
  }
  return out;
}

std::string base64url_encode(std::span<const std::uint8_t> bytes) {
  ensure_sodium();
  const std::size_t len =
      sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  std::string out(len, '\0');
  sodium_bin2base64(out.data(), len, bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(len - 1);  // drop the terminating NUL
  return out;
}

std::optional<std::vector<std::uint8_t>> base64url_decode(std::string_view text) {
  ensure_sodium();
  std::vector<std::uint8_t> out(text.size() * 3 / 4 + 3);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

std::string random_id(std::string_view prefix, std::size_t bytes) {
  ensure_sodium();
  std::vector<std::uint8_t> buf(bytes);
  if (!buf.empty()) randombytes_buf(buf.data(), buf.size());  // declared nonnull: no data() of an empty vector
  return std::string(prefix) + hex_encode(buf);
}

}  // namespace comptoir

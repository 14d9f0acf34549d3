// Byte encodings: lowercase hex and unpadded base64url. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace comptoir {

std::string hex_encode(std::span<const std::uint8_t> bytes);
std::string hex_encode(std::string_view bytes);
// Accepts upper or lower case; nullopt on odd length or a non-hex character.
std::optional<std::vector<std::uint8_t>> hex_decode(std::string_view hex);

std::string base64url_encode(std::span<const std::uint8_t> bytes);
// Unpadded base64url; nullopt on any character outside the alphabet or a malformed length.
std::optional<std::vector<std::uint8_t>> base64url_decode(std::string_view text);

// Random identifier: `prefix` followed by `bytes` random bytes in hex.
std::string random_id(std::string_view prefix, std::size_t bytes);

inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace comptoir

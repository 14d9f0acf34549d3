// SecretBytes: move-only key material in sodium_malloc memory (guard pages, mlock'd where the OS
// allows), zeroed and freed on destruction. Never converts to std::string; prints as [redacted].
// Not synchronized: share a const SecretBytes between threads only for reading.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>
#include <string_view>

namespace comptoir {

class SecretBytes {
 public:
  SecretBytes() = default;
  // Allocates `size` zeroed bytes. Aborts only if the allocator itself fails (out of memory).
  explicit SecretBytes(std::size_t size);
  static SecretBytes random(std::size_t size);
  static SecretBytes copy_of(std::span<const std::uint8_t> bytes);
  static SecretBytes copy_of(std::string_view bytes);

  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  std::uint8_t* data() { return data_; }
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const std::uint8_t> span() const { return {data_, size_}; }
  std::span<std::uint8_t> mutable_span() { return {data_, size_}; }
  std::string_view view() const;  // for APIs taking chars (e.g. sqlite3_key); do not store

  // Constant-time equality (sizes compared first; sizes are not secret).
  bool equals(std::span<const std::uint8_t> other) const;

 private:
  void release();
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

inline std::ostream& operator<<(std::ostream& os, const SecretBytes&) { return os << "[redacted]"; }

// Constant-time comparison of two byte strings of possibly different lengths (lengths leak).
bool constant_time_equal(std::string_view a, std::string_view b);

// Initializes libsodium once; safe to call from any thread, any number of times.
void ensure_sodium();

}  // namespace comptoir

// Small helpers shared by the integration tests: comparing directory snapshots with a readable
// failure message (which files were added, removed or changed — never their binary contents),
// file modes, byte writes and page damage. Header-only; test code only.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <string>

#include "src/common/error.h"

namespace comptoir {
// Lets GoogleTest print error codes by name.
inline void PrintTo(Errc code, std::ostream* os) { *os << to_string(code); }
}  // namespace comptoir

namespace comptoir::testing {

using Snapshot = std::map<std::string, std::string>;

inline ::testing::AssertionResult same_files(const Snapshot& before, const Snapshot& after) {
  if (before == after) return ::testing::AssertionSuccess();
  auto r = ::testing::AssertionFailure();
  r << "files changed:";
  for (const auto& [path, bytes] : before) {
    auto it = after.find(path);
    if (it == after.end()) {
      r << "\n  removed " << path;
    } else if (it->second != bytes) {
      std::size_t first = 0;
      while (first < bytes.size() && first < it->second.size() && bytes[first] == it->second[first]) ++first;
      r << "\n  changed " << path << " (" << bytes.size() << " -> " << it->second.size()
        << " bytes, first difference at offset " << first << ")";
    }
  }
  for (const auto& [path, bytes] : after) {
    if (!before.contains(path)) r << "\n  added " << path << " (" << bytes.size() << " bytes)";
  }
  return r;
}

inline mode_t mode_of(const std::filesystem::path& p) {
  struct stat st{};
  if (::stat(p.c_str(), &st) != 0) return static_cast<mode_t>(07777);  // makes mode checks fail
  return st.st_mode & 07777;
}

inline void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << p;
}

// XORs `count` bytes in the middle of 1-based page `page` (4096-byte pages) of `file`.
inline void damage_page(const std::filesystem::path& file, std::size_t page, std::size_t count = 4) {
  constexpr std::size_t kPage = 4096;
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ASSERT_GE(page, 1u);
  ASSERT_GE(bytes.size(), page * kPage) << file << " has no page " << page;
  const std::size_t at = (page - 1) * kPage + kPage / 2;
  for (std::size_t i = 0; i < count; ++i) bytes[at + i] = static_cast<char>(bytes[at + i] ^ 0xff);
  write_bytes(file, bytes);
}

// Sets the process umask for the scope and restores it afterwards.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t m) : old_(::umask(m)) {}
  ~ScopedUmask() { ::umask(old_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t old_;
};

}  // namespace comptoir::testing

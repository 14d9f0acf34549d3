// Fuzz target: the X-Hub-Signature-256 check (signature_valid). The input is split at its first
// newline into the header value and the body (no newline: all header, empty body). Properties:
// never a crash; a header is accepted exactly when it is "sha256=" followed by the body's
// HMAC-SHA256 in hex (either case); sign() always produces an accepted header.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "src/channels/whatsapp.h"
#include "src/common/secret.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace comptoir::channels::whatsapp;
  static const comptoir::SecretBytes key = comptoir::SecretBytes::copy_of(std::string_view("fuzz-app-secret-0123456789"));
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nl = input.find('\n');
  const std::string_view header = nl == std::string_view::npos ? input : input.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

  const std::string expected = sign(body, key);
  std::string folded(header);
  if (folded.size() > 7) {
    for (std::size_t i = 7; i < folded.size(); ++i) {
      folded[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(folded[i])));
    }
  }
  const bool valid = signature_valid(body, header, key);
  if (valid != (folded == expected)) std::abort();
  if (!signature_valid(body, expected, key)) std::abort();
  if (signature_valid(body, header, comptoir::SecretBytes())) std::abort();
  return 0;
}

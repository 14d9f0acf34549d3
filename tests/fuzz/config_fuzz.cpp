// Fuzz target: the configuration parser (JSON with comments, strict schema). Any input must give
// either a Config or an Errc::config error — never a crash, hang or sanitizer report.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "src/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cfg = comptoir::config::parse(text, "fuzz.json", "/nonexistent-base");
  if (!cfg && cfg.error().code != comptoir::Errc::config) std::abort();
  if (!cfg && cfg.error().message.empty()) std::abort();
  return 0;
}

#include "src/common/error.h"

namespace comptoir {

std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::not_found: return "not_found";
    case Errc::gone: return "gone";
    case Errc::conflict: return "conflict";
    case Errc::unauthorized: return "unauthorized";
    case Errc::forbidden: return "forbidden";
    case Errc::rate_limited: return "rate_limited";
    case Errc::payload_too_large: return "payload_too_large";
    case Errc::unavailable: return "unavailable";
    case Errc::wrong_key: return "wrong_key";
    case Errc::corrupt: return "corrupt";
    case Errc::io: return "io";
    case Errc::config: return "config";
    case Errc::crypto: return "crypto";
    case Errc::internal: return "internal";
  }
  return "internal";
}

}  // namespace comptoir

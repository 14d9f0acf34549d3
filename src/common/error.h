// Expected failures as values: Result<T> = std::expected<T, Error>.
// An Error carries a code, an internal message for logs (never personal data or secrets) and an
// optional public message safe to show a caller. Codes map to HTTP status in src/http only.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace comptoir {

enum class Errc {
  invalid_argument,   // caller sent something malformed or out of range
  not_found,
  gone,               // existed once, erased for good (e.g. a shredded subject key)
  conflict,           // already exists / state does not allow it
  unauthorized,       // missing or invalid credentials
  forbidden,          // valid credentials, wrong role
  rate_limited,
  payload_too_large,
  unavailable,        // temporarily cannot serve (overload, shutting down)
  wrong_key,          // database cannot be opened with this key, or is not ours
  corrupt,            // stored data failed an integrity check
  io,                 // file system or OS failure
  config,             // configuration is invalid
  crypto,             // a cryptographic operation failed (e.g. authentication tag mismatch)
  internal,           // a bug or an unexpected library failure
};

std::string_view to_string(Errc code);

struct Error {
  Errc code = Errc::internal;
  std::string message;         // internal: for logs and operators, no personal data
  std::string public_message;  // optional: safe to show an untrusted caller

  const std::string& shown() const { return public_message.empty() ? message : public_message; }
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(Errc code, std::string message, std::string public_message = {}) {
  return std::unexpected<Error>(Error{code, std::move(message), std::move(public_message)});
}

inline Status ok() { return {}; }

}  // namespace comptoir

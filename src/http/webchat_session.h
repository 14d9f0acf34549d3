// Web chat sessions: stateless bearer tokens "wcs_" + base64url(16 random bytes ‖ 16-byte MAC),
// the MAC a keyed BLAKE2b of the random part under the web chat session key. Minting writes
// nothing (a customer record appears only when the first message arrives), and a forged or
// altered session is refused without a database lookup. The whole token is the customer's web
// chat address. Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "src/common/secret.h"

namespace comptoir::http {

class WebchatSessions {
 public:
  explicit WebchatSessions(const SecretBytes& key);
  std::string mint() const;
  bool valid(std::string_view session) const;
  static constexpr std::string_view kPrefix = "wcs_";

 private:
  SecretBytes key_;
};

}  // namespace comptoir::http

// BlindIndex: finds a customer by channel address without storing the address in the clear.
// The index is a keyed BLAKE2b-256 of "channel" and the normalized address; the key comes from the
// key hierarchy, so the index cannot be recomputed (or brute-forced over phone numbers) without it.
// Immutable after construction; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "src/common/error.h"
#include "src/common/secret.h"

namespace comptoir::privacy {

enum class Channel { whatsapp, telegram, webchat };

std::string_view to_string(Channel channel);
bool parse_channel(std::string_view text, Channel& out);

// Canonical form of an address, or Errc::invalid_argument:
//  whatsapp: a phone number (spaces, dashes, dots, parentheses, a leading + or 00 removed;
//            6–20 digits remain) or a business-scoped user id such as "US.13491208655302741918";
//  telegram: a chat id (an integer, possibly negative);
//  webchat:  a session id (16–128 characters of A–Z a–z 0–9 _ -).
Result<std::string> normalize_address(Channel channel, std::string_view address);

class BlindIndex {
 public:
  explicit BlindIndex(const SecretBytes& key);
  // Hex of the keyed hash of the normalized address; errors as normalize_address.
  Result<std::string> of(Channel channel, std::string_view address) const;
  // The key under which a platform's message (or update) id is remembered so that a redelivery is
  // recognised: "h:" and the unpadded base64url of a keyed BLAKE2b-128 of "message-id", the channel
  // and the id. The id itself is never stored: WhatsApp's ids embed the customer's phone number.
  std::string message_key(Channel channel, std::string_view external_id) const;

 private:
  SecretBytes key_;
};

}  // namespace comptoir::privacy

// The audit signing key: an Ed25519 key pair made from the key ring's audit_signing seed
// (privacy::KeyRing::audit_signing_seed, carried unchanged across master key rotations), used to
// sign audit checkpoints and, elsewhere, erasure receipts. Every message signed with it starts
// with a context label naming what it is, then a NUL byte (sign(context, payload) does this), so
// a signature made for one kind of message can never pass for another. See docs/audit-log.md.
// A Signer is immutable after construction; share it freely between threads.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/error.h"
#include "src/common/secret.h"

namespace comptoir::audit {

using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;

// Context labels in use (ASCII, no NUL). New kinds of signed message get a label of their own.
inline constexpr std::string_view kCheckpointContext = "comptoir.audit.checkpoint.v1";
inline constexpr std::string_view kErasureReceiptContext = "comptoir.erasure.receipt.v1";

// context || 0x00 || payload: the exact bytes Ed25519 signs.
std::vector<std::uint8_t> signed_message(std::string_view context, std::span<const std::uint8_t> payload);

class Signer {
 public:
  // Errc::crypto unless `seed` is 32 bytes (crypto_sign_SEEDBYTES).
  static Result<Signer> from_seed(const SecretBytes& seed);

  // Ed25519 (RFC 8032, pure) signature of signed_message(context, payload).
  Signature sign(std::string_view context, std::span<const std::uint8_t> payload) const;
  const PublicKey& public_key() const { return public_key_; }
  std::string public_key_hex() const;

 private:
  Signer() = default;
  SecretBytes secret_key_;  // libsodium's 64-byte form (seed || public key)
  PublicKey public_key_{};
};

// True when `signature` is `public_key`'s signature of signed_message(context, payload).
bool verify(const PublicKey& public_key, std::string_view context, std::span<const std::uint8_t> payload,
            std::span<const std::uint8_t> signature);

// 64 hex digits (either case) → key; nullopt otherwise.
std::optional<PublicKey> parse_public_key(std::string_view hex);

}  // namespace comptoir::audit

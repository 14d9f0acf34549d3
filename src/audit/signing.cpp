#include "src/audit/signing.h"

#include <sodium.h>

#include "src/common/encoding.h"

namespace comptoir::audit {

std::vector<std::uint8_t> signed_message(std::string_view context, std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> m;
  m.reserve(context.size() + 1 + payload.size());
  m.insert(m.end(), context.begin(), context.end());
  m.push_back(0);
  m.insert(m.end(), payload.begin(), payload.end());
  return m;
}

Result<Signer> Signer::from_seed(const SecretBytes& seed) {
  if (seed.size() != crypto_sign_SEEDBYTES) return fail(Errc::crypto, "the audit signing seed must be 32 bytes");
  ensure_sodium();
  Signer s;
  s.secret_key_ = SecretBytes(crypto_sign_SECRETKEYBYTES);
  if (crypto_sign_seed_keypair(s.public_key_.data(), s.secret_key_.data(), seed.data()) != 0) {
    return fail(Errc::crypto, "cannot make the audit signing key pair");
  }
  return s;
}

Signature Signer::sign(std::string_view context, std::span<const std::uint8_t> payload) const {
  const auto m = signed_message(context, payload);
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, m.data(), m.size(), secret_key_.data());
  return sig;
}

std::string Signer::public_key_hex() const { return hex_encode(public_key_); }

bool verify(const PublicKey& public_key, std::string_view context, std::span<const std::uint8_t> payload,
            std::span<const std::uint8_t> signature) {
  if (signature.size() != crypto_sign_BYTES) return false;
  ensure_sodium();
  const auto m = signed_message(context, payload);
  return crypto_sign_verify_detached(signature.data(), m.data(), m.size(), public_key.data()) == 0;
}

std::optional<PublicKey> parse_public_key(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto bytes = hex_decode(hex);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  PublicKey k{};
  std::copy(bytes->begin(), bytes->end(), k.begin());
  return k;
}

}  // namespace comptoir::audit

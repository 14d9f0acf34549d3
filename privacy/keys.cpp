#include "privacy/keys.h"

#include <sodium.h>

#include "src/common/encoding.h"

namespace comptoir::privacy {

namespace {
constexpr char kContext[crypto_kdf_CONTEXTBYTES + 1] = "comptoir";
static_assert(sizeof(kContext) - 1 == crypto_kdf_CONTEXTBYTES);
constexpr std::string_view kCheckMessage = "comptoir key check v1";
}  // namespace

SecretBytes derive_subkey(const SecretBytes& master, KeyPurpose purpose) {
  SecretBytes sub(kKeyBytes);
  crypto_kdf_derive_from_key(sub.data(), sub.size(), static_cast<std::uint64_t>(purpose), kContext,
                             master.data());
  return sub;
}

SecretBytes generate_master_key() { return SecretBytes::random(kKeyBytes); }

Result<KeyRing> KeyRing::from_master(const SecretBytes& master) {
  ensure_sodium();
  if (master.size() != kKeyBytes) {
    return fail(Errc::wrong_key, "master key must be " + std::to_string(kKeyBytes) + " bytes, found " +
                                     std::to_string(master.size()));
  }
  KeyRing ring;
  ring.database_ = derive_subkey(master, KeyPurpose::database);
  ring.blind_index_ = derive_subkey(master, KeyPurpose::blind_index);
  ring.key_wrapping_ = derive_subkey(master, KeyPurpose::key_wrapping);
  ring.audit_seed_ = derive_subkey(master, KeyPurpose::audit_signing);
  ring.api_tokens_ = derive_subkey(master, KeyPurpose::api_tokens);
  ring.webchat_sessions_ = derive_subkey(master, KeyPurpose::webchat_sessions);
  SecretBytes check_key = derive_subkey(master, KeyPurpose::key_check);
  std::uint8_t mac[16];
  crypto_generichash(mac, sizeof mac, reinterpret_cast<const unsigned char*>(kCheckMessage.data()),
                     kCheckMessage.size(), check_key.data(), check_key.size());
  ring.check_value_ = hex_encode(std::span<const std::uint8_t>(mac, sizeof mac));
  return ring;
}

Argon2Params argon2_params(Argon2Level level) {
  ensure_sodium();
  Argon2Params p;
  switch (level) {
    case Argon2Level::interactive:
      p.opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
      p.memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
      break;
    case Argon2Level::moderate:
      p.opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
      p.memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
      break;
    case Argon2Level::sensitive:
      p.opslimit = crypto_pwhash_OPSLIMIT_SENSITIVE;
      p.memlimit = crypto_pwhash_MEMLIMIT_SENSITIVE;
      break;
  }
  p.salt.resize(crypto_pwhash_SALTBYTES);
  randombytes_buf(p.salt.data(), p.salt.size());
  return p;
}

Status check_passphrase_strength(const SecretBytes& passphrase) {
  if (passphrase.size() < 12) {
    return fail(Errc::config, "the passphrase is too short: use at least 12 characters (a few random words)");
  }
  return ok();
}

Result<SecretBytes> master_from_passphrase(const SecretBytes& passphrase, const Argon2Params& params) {
  ensure_sodium();
  if (params.salt.size() != crypto_pwhash_SALTBYTES) return fail(Errc::corrupt, "Argon2 salt has the wrong length");
  if (params.opslimit < crypto_pwhash_OPSLIMIT_INTERACTIVE || params.memlimit < crypto_pwhash_MEMLIMIT_INTERACTIVE ||
      params.opslimit > crypto_pwhash_OPSLIMIT_MAX || params.memlimit > (std::size_t{4} << 30)) {
    return fail(Errc::corrupt, "Argon2 parameters are outside the accepted range");
  }
  if (passphrase.empty()) return fail(Errc::wrong_key, "empty passphrase");
  SecretBytes master(kKeyBytes);
  if (crypto_pwhash(master.data(), master.size(), reinterpret_cast<const char*>(passphrase.data()),
                    passphrase.size(), params.salt.data(), params.opslimit, params.memlimit,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return fail(Errc::internal, "Argon2id ran out of memory");
  }
  return master;
}

}  // namespace comptoir::privacy

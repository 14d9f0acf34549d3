#include "privacy/keys.h"

#include <sodium.h>

#include "src/common/encoding.h"

namespace comptoir::privacy {

namespace {
constexpr char kContext[crypto_kdf_CONTEXTBYTES + 1] = "comptoir";
static_assert(sizeof(kContext) - 1 == crypto_kdf_CONTEXTBYTES);
constexpr std::string_view kCheckMessage = "comptoir key check v1";

constexpr std::uint8_t kSealVersion = 1;
constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr std::size_t kSealedSize = 1 + kNonce + kKeyBytes + kTag;

void append_part(std::vector<std::uint8_t>& out, std::string_view part) {
  const auto n = static_cast<std::uint32_t>(part.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(n >> shift));
  out.insert(out.end(), part.begin(), part.end());
}

// AD = part("comptoir.carried-key.v1") ‖ part(purpose name): a sealed key moved to another
// purpose does not open.
std::vector<std::uint8_t> carried_associated_data(KeyPurpose purpose) {
  std::vector<std::uint8_t> ad;
  append_part(ad, "comptoir.carried-key.v1");
  append_part(ad, purpose_name(purpose));
  return ad;
}

std::vector<std::uint8_t> seal_carried(const SecretBytes& wrap, KeyPurpose purpose, const SecretBytes& key) {
  const auto ad = carried_associated_data(purpose);
  std::vector<std::uint8_t> out(kSealedSize);
  out[0] = kSealVersion;
  randombytes_buf(out.data() + 1, kNonce);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + 1 + kNonce, &clen, key.data(), key.size(), ad.data(),
                                             ad.size(), nullptr, out.data() + 1, wrap.data());
  return out;
}

Result<SecretBytes> open_carried(const SecretBytes& wrap, KeyPurpose purpose, const std::vector<std::uint8_t>& sealed) {
  if (sealed.size() != kSealedSize || sealed[0] != kSealVersion) {
    return fail(Errc::corrupt, "the carried " + std::string(purpose_name(purpose)) + " key has the wrong format");
  }
  const auto ad = carried_associated_data(purpose);
  SecretBytes key(kKeyBytes);
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(key.data(), &mlen, nullptr, sealed.data() + 1 + kNonce,
                                                 sealed.size() - 1 - kNonce, ad.data(), ad.size(), sealed.data() + 1,
                                                 wrap.data()) != 0 ||
      mlen != kKeyBytes) {
    return fail(Errc::corrupt, "the carried " + std::string(purpose_name(purpose)) +
                                   " key does not open with this master key");
  }
  return key;
}

}  // namespace

std::string_view purpose_name(KeyPurpose purpose) {
  switch (purpose) {
    case KeyPurpose::database: return "database";
    case KeyPurpose::blind_index: return "blind_index";
    case KeyPurpose::key_wrapping: return "key_wrapping";
    case KeyPurpose::audit_signing: return "audit_signing";
    case KeyPurpose::api_tokens: return "api_tokens";
    case KeyPurpose::key_check: return "key_check";
    case KeyPurpose::webchat_sessions: return "webchat_sessions";
    case KeyPurpose::carried_keys: return "carried_keys";
  }
  return "unknown";
}

std::string key_check_value(const SecretBytes& master) {
  ensure_sodium();
  SecretBytes check_key = derive_subkey(master, KeyPurpose::key_check);
  std::uint8_t mac[16];
  crypto_generichash(mac, sizeof mac, reinterpret_cast<const unsigned char*>(kCheckMessage.data()),
                     kCheckMessage.size(), check_key.data(), check_key.size());
  return hex_encode(std::span<const std::uint8_t>(mac, sizeof mac));
}

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
  ring.check_value_ = key_check_value(master);
  return ring;
}

SecretBytes& KeyRing::slot(KeyPurpose purpose) {
  return const_cast<SecretBytes&>(static_cast<const KeyRing*>(this)->slot(purpose));
}

const SecretBytes& KeyRing::slot(KeyPurpose purpose) const {
  switch (purpose) {
    case KeyPurpose::blind_index: return blind_index_;
    case KeyPurpose::audit_signing: return audit_seed_;
    case KeyPurpose::api_tokens: return api_tokens_;
    case KeyPurpose::webchat_sessions: return webchat_sessions_;
    case KeyPurpose::key_wrapping: return key_wrapping_;
    case KeyPurpose::database:
    default: return database_;
  }
}

Result<KeyRing> KeyRing::from_master(const SecretBytes& master, const SealedKeys& carried) {
  auto ring = from_master(master);
  if (!ring || carried.empty()) return ring;
  for (const auto& [name, sealed] : carried) {
    bool known = false;
    for (KeyPurpose p : kCarriedPurposes) known = known || purpose_name(p) == name;
    if (!known) return fail(Errc::corrupt, "unknown carried key '" + name + "'");
  }
  const SecretBytes wrap = derive_subkey(master, KeyPurpose::carried_keys);
  for (KeyPurpose p : kCarriedPurposes) {
    auto it = carried.find(std::string(purpose_name(p)));
    if (it == carried.end()) {
      return fail(Errc::corrupt, "the carried " + std::string(purpose_name(p)) + " key is missing");
    }
    auto key = open_carried(wrap, p, it->second);
    if (!key) return std::unexpected(key.error());
    ring->slot(p) = std::move(*key);
  }
  return ring;
}

Result<KeyRing::Rotation> KeyRing::rotate_to(const SecretBytes& new_master) const {
  auto fresh = from_master(new_master);
  if (!fresh) return std::unexpected(fresh.error());
  Rotation out{std::move(*fresh), {}};
  const SecretBytes wrap = derive_subkey(new_master, KeyPurpose::carried_keys);
  for (KeyPurpose p : kCarriedPurposes) {
    out.sealed[std::string(purpose_name(p))] = seal_carried(wrap, p, slot(p));
    out.ring.slot(p) = SecretBytes::copy_of(slot(p).span());
  }
  return out;
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

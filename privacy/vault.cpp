#include "privacy/vault.h"

#include <sodium.h>

#include <cstring>

#include "src/common/encoding.h"

namespace comptoir::privacy {

namespace {

constexpr std::uint8_t kEnvelopeVersion = 1;
constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(Vault::kOverhead == 1 + kNonce + kTag);

void append_part(std::vector<std::uint8_t>& out, std::string_view part) {
  const auto n = static_cast<std::uint32_t>(part.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(n >> shift));
  out.insert(out.end(), part.begin(), part.end());
}

std::vector<std::uint8_t> key_associated_data(std::string_view subject_id) {
  std::vector<std::uint8_t> ad;
  append_part(ad, "comptoir.subject-key.v1");
  append_part(ad, subject_id);
  return ad;
}

std::vector<std::uint8_t> seal_with(const std::uint8_t* key, std::span<const std::uint8_t> ad,
                                    std::span<const std::uint8_t> plaintext) {
  std::vector<std::uint8_t> out(1 + kNonce + plaintext.size() + kTag);
  out[0] = kEnvelopeVersion;
  randombytes_buf(out.data() + 1, kNonce);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + 1 + kNonce, &clen, plaintext.data(),
                                             plaintext.size(), ad.data(), ad.size(), nullptr,
                                             out.data() + 1, key);
  out.resize(1 + kNonce + clen);
  return out;
}

// Opens into `out` (which must hold envelope.size() - kOverhead bytes).
bool open_with(const std::uint8_t* key, std::span<const std::uint8_t> ad,
               std::span<const std::uint8_t> envelope, std::uint8_t* out) {
  if (envelope.size() < Vault::kOverhead || envelope[0] != kEnvelopeVersion) return false;
  unsigned long long mlen = 0;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(
             out, &mlen, nullptr, envelope.data() + 1 + kNonce, envelope.size() - 1 - kNonce,
             ad.data(), ad.size(), envelope.data() + 1, key) == 0;
}

Status check_envelope(std::span<const std::uint8_t> envelope) {
  if (envelope.size() < Vault::kOverhead || envelope[0] != kEnvelopeVersion) {
    return fail(Errc::crypto, "not a sealed field envelope");
  }
  return ok();
}

}  // namespace

std::vector<std::uint8_t> field_associated_data(std::string_view subject_id, const FieldPlace& place) {
  std::vector<std::uint8_t> ad;
  append_part(ad, "comptoir.field.v1");
  append_part(ad, subject_id);
  append_part(ad, place.table);
  append_part(ad, place.column);
  append_part(ad, place.row);
  return ad;
}

Vault::Vault(storage::SubjectKeyStore& store, const SecretBytes& wrapping_key, const Clock& clock)
    : store_(store), wrapping_key_(SecretBytes::copy_of(wrapping_key.span())), clock_(clock), key_(32) {
  ensure_sodium();
}

void Vault::forget_key() {
  sodium_memzero(key_.data(), key_.size());
  key_tx_ = nullptr;
  key_subject_.clear();
  key_wrapped_.clear();
}

storage::Database& Vault::database() { return store_.database(); }

Result<std::string> Vault::create_subject(storage::Tx& tx) {
  SecretBytes data_key = SecretBytes::random(32);
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::string id = random_id("sub_", 16);
    storage::WrappedSubjectKey row;
    row.subject_id = id;
    row.wrapped_key = seal_with(wrapping_key_.data(), key_associated_data(id), data_key.span());
    row.created_at = unix_seconds(clock_.now());
    auto existing = store_.find(tx, id);
    if (!existing) return std::unexpected(existing.error());
    if (existing->has_value()) continue;
    auto st = store_.insert(tx, row);
    if (st) return id;
    if (st.error().code != Errc::conflict) return std::unexpected(st.error());
  }
  return fail(Errc::internal, "could not allocate a unique subject id");
}

Result<std::string> Vault::create_subject() {
  Result<std::string> out = fail(Errc::internal, "not run");
  auto st = database().write([&](storage::Tx& tx) -> Status {
    out = create_subject(tx);
    if (!out) return std::unexpected(out.error());
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

namespace {

// Opens a well-formed envelope sealed at `place` for `subject_id` under the data key `key`.
Result<std::string> open_field(const std::uint8_t* key, const std::string& subject_id, const FieldPlace& place,
                               std::span<const std::uint8_t> envelope) {
  std::string out(envelope.size() - Vault::kOverhead, '\0');
  if (!open_with(key, field_associated_data(subject_id, place), envelope, reinterpret_cast<std::uint8_t*>(out.data()))) {
    return fail(Errc::crypto, "sealed field failed authentication (altered, moved or foreign)");
  }
  return out;
}

}  // namespace

Result<const std::uint8_t*> Vault::subject_key(storage::Tx& tx, const std::string& subject_id) {
  // Read every time, so that a shredded or replaced key is noticed even within a transaction.
  auto row = store_.find(tx, subject_id);
  if (!row) return std::unexpected(row.error());
  if (!row->has_value()) {
    if (key_subject_ == subject_id) forget_key();
    auto shredded = store_.is_shredded(tx, subject_id);
    if (!shredded) return std::unexpected(shredded.error());
    if (*shredded) return fail(Errc::gone, "the subject's key was shredded");
    return fail(Errc::not_found, "unknown subject");
  }
  const auto& wrapped = (*row)->wrapped_key;
  if (wrapped.size() != kOverhead + 32) return fail(Errc::corrupt, "stored subject key has the wrong size");
  if (key_tx_ == &tx && key_subject_ == subject_id && key_wrapped_ == wrapped) return key_.data();
  forget_key();
  ++unwraps_;
  if (!open_with(wrapping_key_.data(), key_associated_data(subject_id), wrapped, key_.data())) {
    forget_key();
    return fail(Errc::corrupt, "stored subject key does not open with this key-wrapping key");
  }
  key_tx_ = &tx;
  key_subject_ = subject_id;
  key_wrapped_ = wrapped;
  tx.on_end(this, [this] { forget_key(); });
  return key_.data();
}

Result<std::vector<std::uint8_t>> Vault::seal(storage::Tx& tx, const std::string& subject_id,
                                              const FieldPlace& place, std::string_view plaintext) {
  if (place.table.empty() || place.column.empty() || place.row.empty()) {
    return fail(Errc::internal, "field place must name table, column and row");
  }
  if (plaintext.size() > kMaxPlaintext) return fail(Errc::invalid_argument, "field is too large to seal");
  auto key = subject_key(tx, subject_id);
  if (!key) return std::unexpected(key.error());
  return seal_with(*key, field_associated_data(subject_id, place), as_bytes(plaintext));
}

Result<std::vector<std::uint8_t>> Vault::seal(const std::string& subject_id, const FieldPlace& place,
                                              std::string_view plaintext) {
  Result<std::vector<std::uint8_t>> out = fail(Errc::internal, "not run");
  auto st = database().read([&](storage::Tx& tx) -> Status {
    out = seal(tx, subject_id, place, plaintext);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Result<std::string> Vault::open(storage::Tx& tx, const std::string& subject_id, const FieldPlace& place,
                                std::span<const std::uint8_t> envelope) {
  if (auto st = check_envelope(envelope); !st) return std::unexpected(st.error());
  auto key = subject_key(tx, subject_id);
  if (!key) return std::unexpected(key.error());
  return open_field(*key, subject_id, place, envelope);
}

Result<std::string> Vault::open_with_wrapped_key(const std::string& subject_id, std::span<const std::uint8_t> wrapped_key,
                                                 const FieldPlace& place, std::span<const std::uint8_t> envelope) {
  if (auto st = check_envelope(envelope); !st) return std::unexpected(st.error());
  if (wrapped_key.empty()) return fail(Errc::gone, "the subject's key was shredded");
  if (wrapped_key.size() != kOverhead + 32) return fail(Errc::corrupt, "stored subject key has the wrong size");
  // One guarded buffer per thread (sodium_malloc per call would cost an mmap and mprotects),
  // wiped as soon as the field is open.
  thread_local SecretBytes key(32);
  struct Wipe {
    SecretBytes& k;
    ~Wipe() { sodium_memzero(k.data(), k.size()); }
  } wipe{key};
  ++unwraps_;
  if (!open_with(wrapping_key_.data(), key_associated_data(subject_id), wrapped_key, key.data())) {
    return fail(Errc::corrupt, "stored subject key does not open with this key-wrapping key");
  }
  return open_field(key.data(), subject_id, place, envelope);
}

Result<std::string> Vault::open(const std::string& subject_id, const FieldPlace& place,
                                std::span<const std::uint8_t> envelope) {
  Result<std::string> out = fail(Errc::internal, "not run");
  auto st = database().read([&](storage::Tx& tx) -> Status {
    out = open(tx, subject_id, place, envelope);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Result<std::int64_t> rewrap_subject_keys(storage::Tx& tx, storage::SubjectKeyStore& store, const SecretBytes& from,
                                         const SecretBytes& to) {
  ensure_sodium();
  if (from.size() != 32 || to.size() != 32) return fail(Errc::internal, "key-wrapping keys must be 32 bytes");
  return store.rewrap_all(tx, [&](const storage::WrappedSubjectKey& row) -> Result<std::vector<std::uint8_t>> {
    const auto ad = key_associated_data(row.subject_id);
    if (row.wrapped_key.size() != Vault::kOverhead + 32) {
      return fail(Errc::corrupt, "the stored key of " + row.subject_id + " has the wrong size");
    }
    SecretBytes data_key(32);
    if (!open_with(from.data(), ad, row.wrapped_key, data_key.data())) {
      return fail(Errc::corrupt, "the stored key of " + row.subject_id + " does not open with the current key-wrapping key");
    }
    return seal_with(to.data(), ad, data_key.span());
  });
}

Result<bool> Vault::shred(storage::Tx& tx, const std::string& subject_id) {
  if (key_subject_ == subject_id) forget_key();
  return store_.shred(tx, subject_id, unix_seconds(clock_.now()));
}

Result<bool> Vault::shred(const std::string& subject_id) {
  Result<bool> out = false;
  auto st = database().write([&](storage::Tx& tx) -> Status {
    out = shred(tx, subject_id);
    if (!out) return std::unexpected(out.error());
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

}  // namespace comptoir::privacy

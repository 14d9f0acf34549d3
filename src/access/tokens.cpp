#include "src/access/tokens.h"

#include <sodium.h>

#include <algorithm>

#include "src/common/encoding.h"
#include "src/common/text.h"

namespace comptoir::access {

namespace {
constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kEncodedLen = 43;  // base64url of 32 bytes, unpadded
constexpr std::int64_t kTouchEverySeconds = 60;
}  // namespace

std::string_view to_string(Role role) {
  switch (role) {
    case Role::owner: return "owner";
    case Role::operator_: return "operator";
    case Role::auditor: return "auditor";
  }
  return "auditor";
}

bool parse_role(std::string_view text, Role& out) {
  if (text == "owner") out = Role::owner;
  else if (text == "operator") out = Role::operator_;
  else if (text == "auditor") out = Role::auditor;
  else return false;
  return true;
}

Status validate_label(std::string_view label) {
  if (!text::is_valid_utf8(label)) return fail(Errc::invalid_argument, "label is not valid UTF-8");
  if (text::utf8_length(label) > 100) return fail(Errc::invalid_argument, "label is longer than 100 characters");
  for (char ch : label) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return fail(Errc::invalid_argument, "label contains control characters");
  }
  return ok();
}

TokenService::TokenService(storage::TokenStore& store, const SecretBytes& hash_key, const Clock& clock)
    : store_(store), hash_key_(SecretBytes::copy_of(hash_key.span())), clock_(clock) {
  ensure_sodium();
}

std::vector<std::uint8_t> TokenService::hash(std::string_view token) const {
  std::vector<std::uint8_t> out(32);
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), hash_key_.data(), hash_key_.size());
  return out;
}

static TokenInfo to_info(const storage::TokenRecord& r) {
  TokenInfo info;
  info.id = r.id;
  parse_role(r.role, info.role);
  info.label = r.label;
  info.created_at = r.created_at;
  info.last_used_at = r.last_used_at;
  info.revoked_at = r.revoked_at;
  return info;
}

Result<NewToken> TokenService::create(Role role, std::string_view label) {
  if (auto st = validate_label(label); !st) return std::unexpected(st.error());
  SecretBytes raw = SecretBytes::random(kSecretBytes);
  NewToken out;
  out.secret = std::string(kPrefix) + base64url_encode(raw.span());
  storage::TokenRecord rec;
  rec.id = random_id("tok_", 8);
  rec.hash = hash(out.secret);
  rec.role = std::string(to_string(role));
  rec.label = std::string(label);
  rec.created_at = unix_seconds(clock_.now());
  auto st = store_.database().write([&](storage::Tx& tx) -> Status {
    if (auto s = store_.insert(tx, rec); !s) return s;
    if (audit_ == nullptr) return ok();
    audit::Event e;
    e.actor = audit_actor_;
    e.action = "token.created";
    e.resource = "token:" + rec.id;
    e.purpose = "security";
    e.details = {{"role", rec.role}};
    return audit_->record(tx, e);
  });
  if (!st) return std::unexpected(st.error());
  out.info = to_info(rec);
  return out;
}

Result<Principal> TokenService::authenticate(std::string_view token) {
  auto denied = [] { return fail(Errc::unauthorized, "invalid or revoked token", "a valid bearer token is required"); };
  if (token.size() != kPrefix.size() + kEncodedLen || !token.starts_with(kPrefix)) return denied();
  const auto h = hash(token);
  auto rec = store_.find_by_hash(h);
  if (!rec) return std::unexpected(rec.error());
  if (!rec->has_value()) return denied();
  const auto& r = **rec;
  if (r.hash.size() != h.size() || sodium_memcmp(r.hash.data(), h.data(), h.size()) != 0) return denied();
  if (r.revoked_at.has_value()) return denied();
  Principal p;
  p.token_id = r.id;
  if (!parse_role(r.role, p.role)) return fail(Errc::corrupt, "stored token has an unknown role");
  p.label = r.label;

  // Record use at most once a minute per token, so authentication stays a read.
  const std::int64_t now = unix_seconds(clock_.now());
  bool touch = false;
  {
    std::lock_guard lock(touch_mutex_);
    auto& last = last_touch_[r.id];
    if (now - last >= kTouchEverySeconds) {
      last = now;
      touch = true;
    }
  }
  if (touch) (void)store_.touch(r.id, now);  // best effort: a failed write must not deny access
  return p;
}

Result<std::vector<TokenInfo>> TokenService::list() {
  auto rows = store_.list();
  if (!rows) return std::unexpected(rows.error());
  std::vector<TokenInfo> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back(to_info(r));
  return out;
}

void TokenService::set_audit(audit::Recorder* recorder, audit::Actor by) {
  audit_ = recorder;
  audit_actor_ = std::move(by);
}

Result<bool> TokenService::revoke(std::string_view id) {
  Result<bool> changed = false;
  auto st = store_.database().write([&](storage::Tx& tx) -> Status {
    changed = store_.revoke(tx, std::string(id), unix_seconds(clock_.now()));
    if (!changed) return std::unexpected(changed.error());
    if (!*changed || audit_ == nullptr) return ok();
    audit::Event e;
    e.actor = audit_actor_;
    e.action = "token.revoked";
    e.resource = "token:" + std::string(id);
    e.purpose = "security";
    return audit_->record(tx, e);
  });
  if (!st) return std::unexpected(st.error());
  if (*changed) return true;
  auto rows = store_.list();
  if (!rows) return std::unexpected(rows.error());
  for (const auto& r : *rows) {
    if (r.id == id) return false;  // already revoked
  }
  // Echo the id only when it has the shape of one: an operator may paste a token's secret here.
  bool id_shaped = id.starts_with("tok_") && id.size() <= 4 + 32;
  for (char c : id.substr(std::min<std::size_t>(id.size(), 4))) {
    id_shaped = id_shaped && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
  if (id_shaped) return fail(Errc::not_found, "no token with id " + std::string(id));
  return fail(Errc::not_found, "no token with that id (token ids look like tok_0123456789abcdef)");
}

}  // namespace comptoir::access

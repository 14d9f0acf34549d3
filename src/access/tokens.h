// Admin API tokens and roles. A token is "cpt_" + 43 base64url characters (256 random bits),
// shown once at creation; only its keyed BLAKE2b-256 hash is stored. Authentication hashes the
// presented token, looks the hash up and compares in constant time.
// Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "src/audit/recorder.h"
#include "src/common/env.h"
#include "src/common/error.h"
#include "src/common/secret.h"
#include "storage/token_store.h"

namespace comptoir::access {

enum class Role { owner, operator_, auditor };

std::string_view to_string(Role role);
bool parse_role(std::string_view text, Role& out);

struct Principal {
  std::string token_id;
  Role role = Role::auditor;
  std::string label;
};

struct TokenInfo {
  std::string id;
  Role role = Role::auditor;
  std::string label;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> last_used_at;
  std::optional<std::int64_t> revoked_at;
};

struct NewToken {
  std::string secret;  // shown once, never stored
  TokenInfo info;
};

class TokenService {
 public:
  TokenService(storage::TokenStore& store, const SecretBytes& hash_key, const Clock& clock);

  // With a recorder, creation and revocation are recorded in the audit log ("token.created",
  // "token.revoked", in the transaction of the change), with `by` as the actor.
  void set_audit(audit::Recorder* recorder, audit::Actor by = audit::Actor::system_actor());

  // Label: at most 100 characters, no control characters. Errc::invalid_argument otherwise.
  Result<NewToken> create(Role role, std::string_view label);
  // Errc::unauthorized for a missing, malformed, unknown or revoked token (one message for all).
  Result<Principal> authenticate(std::string_view token);
  Result<std::vector<TokenInfo>> list();
  // Errc::not_found if no such token; returns false if it was revoked already.
  Result<bool> revoke(std::string_view id);

  static constexpr std::string_view kPrefix = "cpt_";

 private:
  std::vector<std::uint8_t> hash(std::string_view token) const;

  storage::TokenStore& store_;
  audit::Recorder* audit_ = nullptr;
  audit::Actor audit_actor_;
  SecretBytes hash_key_;
  const Clock& clock_;
  std::mutex touch_mutex_;
  std::unordered_map<std::string, std::int64_t> last_touch_;  // token id -> unix seconds
};

Status validate_label(std::string_view label);

}  // namespace comptoir::access

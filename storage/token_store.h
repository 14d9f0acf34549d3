// TokenStore: persistence of admin API tokens (only their keyed hashes). Thread-safe through
// Database. Roles are plain strings here; src/access gives them meaning.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::storage {

struct TokenRecord {
  std::string id;
  std::vector<std::uint8_t> hash;
  std::string role;
  std::string label;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> last_used_at;
  std::optional<std::int64_t> revoked_at;
};

class TokenStore {
 public:
  explicit TokenStore(Database& db) : db_(db) {}
  Database& database() { return db_; }
  // Errc::conflict if the id or hash exists already.
  Status insert(const TokenRecord& record);
  Status insert(Tx& tx, const TokenRecord& record);
  // The record whose hash equals `hash` (revoked ones included), or nullopt.
  Result<std::optional<TokenRecord>> find_by_hash(std::span<const std::uint8_t> hash);
  Result<std::vector<TokenRecord>> list();
  // false if no such token or already revoked.
  Result<bool> revoke(const std::string& id, std::int64_t at);
  Result<bool> revoke(Tx& tx, const std::string& id, std::int64_t at);
  Status touch(const std::string& id, std::int64_t at);

 private:
  Database& db_;
};

}  // namespace comptoir::storage

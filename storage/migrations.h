// Internal to storage/: the numbered, forward-only schema migrations.
// Migration N takes user_version from N-1 to N inside one transaction. Never edit a released
// migration; add a new one.
#pragma once

#include <span>
#include <string_view>

namespace comptoir::storage {

struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

std::span<const Migration> migrations();

}  // namespace comptoir::storage

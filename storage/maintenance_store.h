// MaintenanceStore: removal of operational records that have served their purpose (not personal
// data retention, which follows the data inventory): inbound message ids older than any platform
// retry, finished outbox entries, and conversation states nobody came back to.
// Thread-safe through Database.
#pragma once

#include <cstdint>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::storage {

struct PruneCounts {
  std::int64_t inbound_ids = 0;
  std::int64_t outbox_entries = 0;
  std::int64_t conversations = 0;
};

class MaintenanceStore {
 public:
  explicit MaintenanceStore(Database& db) : db_(db) {}
  // Deletes inbound ids received before `inbound_before`, non-pending outbox entries last
  // updated before `outbox_before`, and conversations last updated before `conversations_before`,
  // kPruneBatch rows per write.
  static constexpr std::int64_t kPruneBatch = 2000;
  Result<PruneCounts> prune(std::int64_t inbound_before, std::int64_t outbox_before, std::int64_t conversations_before);

 private:
  Database& db_;
};

}  // namespace comptoir::storage

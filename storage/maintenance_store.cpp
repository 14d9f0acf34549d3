#include "storage/maintenance_store.h"

#include "storage/sqlite.h"

namespace comptoir::storage {

Result<PruneCounts> MaintenanceStore::prune(std::int64_t inbound_before, std::int64_t outbox_before,
                                            std::int64_t conversations_before) {
  PruneCounts c;
  auto run = [&](const char* sql, std::int64_t before, std::int64_t& count) {
    return db_.write([&](Tx& tx) -> Status {
      count = 0;  // Database::write may run this more than once
      Stmt s(tx, sql);
      s.bind(1, before);
      if (auto st = s.run(); !st) return st;
      count = sqlite3_changes(tx.handle());
      return ok();
    });
  };
  // Records are in arrival order (migration 13): the old ones are the first rows, found without
  // an index on received_at by reading up to the first one young enough to keep.
  if (auto st = run("DELETE FROM inbound_messages WHERE received_at < ?1 AND rowid < coalesce((SELECT rowid FROM"
                    " inbound_messages WHERE received_at >= ?1 ORDER BY rowid LIMIT 1), (SELECT max(rowid) + 1 FROM"
                    " inbound_messages))",
                    inbound_before, c.inbound_ids);
      !st) {
    return std::unexpected(st.error());
  }
  if (auto st = run("DELETE FROM outbox WHERE status <> 'pending' AND updated_at < ?", outbox_before, c.outbox_entries); !st) {
    return std::unexpected(st.error());
  }
  if (auto st = run("DELETE FROM conversations WHERE updated_at < ?", conversations_before, c.conversations); !st) {
    return std::unexpected(st.error());
  }
  return c;
}

}  // namespace comptoir::storage

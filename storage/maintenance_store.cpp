#include "storage/maintenance_store.h"

#include <string>

#include "storage/sqlite.h"

namespace comptoir::storage {

Result<PruneCounts> MaintenanceStore::prune(std::int64_t inbound_before, std::int64_t outbox_before,
                                            std::int64_t conversations_before) {
  PruneCounts c;
  // In batches, each its own write: between two, the writer commits whatever else is waiting,
  // so a large backlog (after a long stop, say) never holds up the chats for long. `where` is
  // bound to ?1 = `before`.
  auto run = [&](const std::string& table, const std::string& key, const std::string& where, std::int64_t before,
                 std::int64_t& count) -> Status {
    const std::string sql = "DELETE FROM " + table + " WHERE " + key + " IN (SELECT " + key + " FROM " + table +
                            " WHERE " + where + " ORDER BY " + key + " LIMIT " + std::to_string(kPruneBatch) + ")";
    for (;;) {
      std::int64_t n = 0;
      auto st = db_.write([&](Tx& tx) -> Status {
        n = 0;  // Database::write may run this more than once
        Stmt s(tx, sql);
        s.bind(1, before);
        if (auto r = s.run(); !r) return r;
        n = sqlite3_changes(tx.handle());
        return ok();
      });
      if (!st) return st;
      count += n;
      if (n < kPruneBatch) return ok();
    }
  };
  // Records are in arrival order (migration 13): the old ones are the first rows, found without
  // an index on received_at by reading up to the first one young enough to keep.
  if (auto st = run("inbound_messages", "rowid",
                    "received_at < ?1 AND rowid < coalesce((SELECT rowid FROM inbound_messages WHERE received_at >= ?1"
                    " ORDER BY rowid LIMIT 1), (SELECT max(rowid) + 1 FROM inbound_messages))",
                    inbound_before, c.inbound_ids);
      !st) {
    return std::unexpected(st.error());
  }
  if (auto st = run("outbox", "id", "status <> 'pending' AND updated_at < ?1", outbox_before, c.outbox_entries); !st) {
    return std::unexpected(st.error());
  }
  if (auto st = run("conversations", "customer_id", "updated_at < ?1", conversations_before, c.conversations); !st) {
    return std::unexpected(st.error());
  }
  return c;
}

}  // namespace comptoir::storage

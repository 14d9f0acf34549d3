// The retention engine (GDPR Art. 5(1)(e), storage limitation), driven entirely by the data
// inventory: for every category, the records whose declared retention has ended at `now` are
// found through the events that start their periods (storage/retention_store.h) and the
// category's outcome is applied —
//   - rows of a category are deleted (an order with its lines and VAT lines); fields of a category
//     that live in a row kept for another category (delivery details in an order) are cleared;
//   - a customer whose own record has expired (inactive for longer than declared) is erased as
//     an erasure request would (rights::erase_subject): key shredded, what the books require
//     detached and restricted, consent records unlinked;
//   - legal holds end by themselves: a row kept restricted after an erasure is deleted once its
//     restricted_until has passed ("released").
// Work is done in transactions of at most `batch_size` records so serving goes on. A dry run
// computes the same counts and changes nothing. Steps are ordered so that no step changes what
// another selects: a dry run reports exactly what a real run at the same `now` would do.
// Thread-safe: one run at a time per Engine (runs serialize on a mutex); any thread may call.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "privacy/inventory.h"
#include "privacy/vault.h"
#include "src/audit/recorder.h"
#include "src/common/env.h"
#include "src/common/error.h"
#include "storage/database.h"
#include "storage/retention_store.h"

namespace comptoir::retention {

struct Settings {
  int batch_size = 100;  // records per transaction (customers erased per transaction: batch_size / 20, at least 1)
  // After each transaction of a real run, wait this many times as long as it took before the
  // next one, so that the writes of the chat waiting behind it commit on their own instead of
  // joining the next sweep transaction (group commit). 0: no pause.
  double pause_ratio = 1.0;
  // Record a "retention.run" audit event for a real run that found nothing to do. The command
  // (`comptoir retention run`, an operator's action) always does; the sweeper in `serve` does not,
  // so that an idle server writes nothing and the log is not filled with empty hourly runs.
  bool record_empty_runs = true;
};

// Per category, what one run did (or, dry, would do). Records are stored rows: an order with two
// lines and one VAT rate is four records of order_records.
struct CategoryCounts {
  std::int64_t expired = 0;   // records whose own retention or legal hold ended
  std::int64_t erased = 0;    // deleted (expired, or with their erased customer)
  std::int64_t cleared = 0;   // fields emptied in a record kept for another category
  std::int64_t detached = 0;  // kept restricted after their customer was erased (a legal hold begins)
  std::int64_t unlinked = 0;  // the link to their erased customer cut; kept until their own retention
  std::int64_t released = 0;  // deleted at the end of a legal hold
  bool any() const { return expired || erased || cleared || detached || unlinked || released; }
};

struct CategoryReport {
  std::string category;
  std::string rule;  // "P2Y from last_activity"
  CategoryCounts counts;
};

struct Report {
  std::int64_t now = 0;
  bool dry_run = false;
  bool interrupted = false;           // stopped early (shutdown); the rest is done next run
  std::int64_t customers_erased = 0;  // customers whose record expired, erased with their keys
  std::int64_t transactions = 0;
  std::vector<CategoryReport> categories;  // every category of the inventory, in its order
  std::vector<std::string> notes;          // rules that cannot apply to some table (never expire there)
  const CategoryReport* category(std::string_view id) const;
};

// The latest instant a period of `r` may have started for it to have ended at `now`: a record
// whose starting event happened at or before the cutoff has expired (retention_end(…) <= now).
std::int64_t cutoff_for(const privacy::Retention& r, std::string_view fiscal_year_end, std::int64_t now);
// The storage event whose time starts `r` (end_of_fiscal_year_of_order: the order's placing).
storage::RetentionEvent event_for(privacy::RetentionStart start);

class Engine {
 public:
  Engine(storage::Database& db, const privacy::Inventory& inventory, privacy::Vault& vault, audit::Recorder& audit,
         Settings settings);

  // Applies the rules at `now`. A real run records one "retention.run" audit event with the counts
  // (and one "retention.erase" per customer erased, in that customer's transaction); a dry run
  // records nothing and changes nothing. `stop` is polled between transactions. Errors: the first
  // failing transaction's (what committed before it stays done).
  Result<Report> run(TimePoint now, bool dry_run, const std::function<bool()>& stop = {});

 private:
  storage::Database& db_;
  const privacy::Inventory& inventory_;
  privacy::Vault& vault_;
  audit::Recorder& audit_;
  Settings settings_;
  std::mutex run_mutex_;
};

}  // namespace comptoir::retention

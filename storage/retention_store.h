// RetentionStore: the SQL of the retention sweep (src/retention/engine.h). It knows, for every
// table holding personal fields (storage/row_reader.h), which column or expression tells when each
// event that starts a retention period happened for a row, and selects, counts, deletes and
// clears rows by those events in bounded batches. What is expired is decided above (from the data
// inventory); this only turns it into SQL. Consent records are deleted through
// consent_deletion_permits (migration 7), the one deletion their triggers allow.
// Stateless; every call joins the caller's Tx (so any thread holding a Tx may call).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::storage {

// The events a retention period may start from (privacy::RetentionStart; the end of the fiscal
// year of an order is computed above from order_placed).
enum class RetentionEvent { collection, last_activity, order_placed, order_completion, consent_withdrawal };

// "The row's `event` happened at or before `cutoff`" (unix seconds). A row whose event has not
// happened (an open order has no completion) never matches.
struct EventBefore {
  RetentionEvent event = RetentionEvent::collection;
  std::int64_t cutoff = 0;
};

// Which rows of one table. Every condition given must hold.
struct RowSelection {
  std::string table;
  std::vector<EventBefore> any_of;   // at least one of these (empty: no such condition)
  std::vector<EventBefore> none_of;  // none of these
  // Rows kept after an erasure (retainable tables with their own link): detached and
  // restricted_until <= released_by.
  std::optional<std::int64_t> released_by;
  // Not such a row (rows another step releases).
  std::optional<std::int64_t> unless_released_by;
  // Not a row of a customer whose customers row matches one of these (their erasure handles them).
  std::vector<EventBefore> unless_customer_any_of;
  std::optional<std::int64_t> customer_id;  // only rows of this customer
  std::vector<std::int64_t> ids;            // only rows with these ids (empty: any)
  std::vector<std::string> any_not_null;    // at least one of these columns is not NULL
};

// Rows affected, per table: the selected table's own rows and the child rows deleted with them
// (an order's lines and VAT lines).
using TableCounts = std::map<std::string, std::int64_t>;

struct Batch {
  TableCounts counts;
  std::int64_t cursor = 0;  // pass back as `after` to continue after the rows just handled
  bool more = false;        // the batch was full: there may be more
};

// True when `table` records `event` for its rows.
bool has_event(std::string_view table, RetentionEvent event);
// The child tables whose rows go with a row of `table` ("orders" → order_lines, order_vat).
std::vector<std::string> child_tables(std::string_view table);
// True when the column may be NULL (so its value can be cleared while the row stays).
Result<bool> column_nullable(Tx& tx, std::string_view table, std::string_view column);

// How many rows match, with their children.
Result<TableCounts> count_rows(Tx& tx, const RowSelection& selection);
// Deletes up to `limit` matching rows (and their children) after the position `after` (0 at
// first), in a stable order. Consent records go through their deletion permits.
Result<Batch> delete_rows(Tx& tx, const RowSelection& selection, int limit, std::int64_t after);
// Sets `columns` to NULL in up to `limit` matching rows after `after`.
Result<Batch> clear_columns(Tx& tx, const RowSelection& selection, const std::vector<std::string>& columns, int limit,
                            std::int64_t after);

struct CustomerRef {
  std::int64_t id = 0;
  std::string subject_id;
};
// Customers matching `selection` (table "customers") with an id above `after_id`, by id.
Result<std::vector<CustomerRef>> select_customers(Tx& tx, const RowSelection& selection, std::int64_t after_id, int limit);

// Runs `fn` inside a transaction that is always rolled back (a dry run): nothing it changes is
// ever committed, and the database file is not written. `tx` must come from Database::read (no
// transaction open). Returns fn's result.
Status simulate(Tx& tx, const std::function<Status()>& fn);

}  // namespace comptoir::storage

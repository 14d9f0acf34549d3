#include "src/retention/engine.h"

#include <algorithm>
#include <map>
#include <optional>
#include <thread>

#include "privacy/registry.h"
#include "src/rights/erasure.h"
#include "storage/row_reader.h"

namespace comptoir::retention {

namespace {

using storage::EventBefore;
using storage::RowSelection;

std::string table_of(std::string_view field) { return std::string(field.substr(0, field.find('.'))); }
std::string column_of(std::string_view field) { return std::string(field.substr(field.find('.') + 1)); }

// One category's part of one table.
struct CategoryRule {
  const privacy::Category* category = nullptr;
  std::vector<std::string> columns;
  std::optional<EventBefore> expiry;  // nullopt: the table does not record the starting event
};

struct TablePlan {
  std::string table;
  bool linked = false;
  bool restricted = false;  // rows may be kept detached and restricted after an erasure
  bool child = false;       // rows go with a parent row (order lines)
  std::vector<CategoryRule> rows;    // categories holding a column the row cannot lose: the row goes
  std::vector<CategoryRule> clears;  // categories whose columns may be emptied while the row stays
};

using Tally = std::map<std::string, CategoryCounts>;

void merge(Tally& into, const Tally& from) {
  for (const auto& [c, n] : from) {
    auto& t = into[c];
    t.expired += n.expired;
    t.erased += n.erased;
    t.cleared += n.cleared;
    t.detached += n.detached;
    t.unlinked += n.unlinked;
    t.released += n.released;
  }
}

std::vector<EventBefore> expiries(const std::vector<CategoryRule>& rules, std::size_t count) {
  std::vector<EventBefore> out;
  for (std::size_t i = 0; i < count && i < rules.size(); ++i) {
    if (rules[i].expiry) out.push_back(*rules[i].expiry);
  }
  return out;
}

}  // namespace

const CategoryReport* Report::category(std::string_view id) const {
  for (const auto& c : categories) {
    if (c.category == id) return &c;
  }
  return nullptr;
}

storage::RetentionEvent event_for(privacy::RetentionStart start) {
  switch (start) {
    case privacy::RetentionStart::collection: return storage::RetentionEvent::collection;
    case privacy::RetentionStart::last_activity: return storage::RetentionEvent::last_activity;
    case privacy::RetentionStart::order_completion: return storage::RetentionEvent::order_completion;
    case privacy::RetentionStart::end_of_fiscal_year_of_order: return storage::RetentionEvent::order_placed;
    case privacy::RetentionStart::consent_withdrawal: return storage::RetentionEvent::consent_withdrawal;
  }
  return storage::RetentionEvent::collection;
}

std::int64_t cutoff_for(const privacy::Retention& r, std::string_view fiscal_year_end, std::int64_t now) {
  // retention_end is non-decreasing in the start instant (calendar arithmetic clamps month ends,
  // never goes back), so the starts that have expired are exactly those up to a cutoff: find it.
  auto end_from = [&](std::int64_t start) {
    privacy::RetentionEvents e;
    e.collection = e.last_activity = e.order_placed = e.order_completion = e.consent_withdrawal = start;
    return privacy::retention_end(r, e, fiscal_year_end).value_or(start);
  };
  constexpr std::int64_t kSpan = 400LL * 366 * 86400;  // nothing stored predates this by far
  std::int64_t lo = now - kSpan, hi = now;
  if (end_from(lo) > now) return lo - 1;  // a period longer than the span: nothing has expired
  if (end_from(hi) <= now) return hi;
  while (hi - lo > 1) {  // invariant: end_from(lo) <= now < end_from(hi)
    const std::int64_t mid = lo + (hi - lo) / 2;
    (end_from(mid) <= now ? lo : hi) = mid;
  }
  return lo;
}

Engine::Engine(storage::Database& db, const privacy::Inventory& inventory, privacy::Vault& vault, audit::Recorder& audit,
               Settings settings)
    : db_(db), inventory_(inventory), vault_(vault), audit_(audit), settings_(settings) {
  settings_.batch_size = std::max(1, settings_.batch_size);
  settings_.pause_ratio = std::clamp(settings_.pause_ratio, 0.0, 100.0);
}

Result<Report> Engine::run(TimePoint now_tp, bool dry_run, const std::function<bool()>& stop) {
  std::lock_guard lock(run_mutex_);
  const std::int64_t now = unix_seconds(now_tp);
  const FakeClock at_now(now_tp);
  const int batch = settings_.batch_size;
  const int customers_per_tx = std::max(1, batch / 20);
  Report report;
  report.now = now;
  report.dry_run = dry_run;
  Tally total;

  // The plan: per table, the categories of its fields and the cutoff of each.
  std::vector<TablePlan> plans;
  std::map<std::string, std::string> primary;  // table → the category its rows are counted in
  auto planned = db_.read([&](storage::Tx& tx) -> Status {
    plans.clear();
    for (const auto& t : storage::customer_tables()) {
      TablePlan p;
      p.table = std::string(t.name);
      p.linked = t.linked;
      p.restricted = t.retainable && t.own_link;
      p.child = t.linked && t.retainable && !t.own_link;
      std::map<std::string, CategoryRule> by_category;
      std::map<std::string, bool> all_nullable;
      for (const auto& f : privacy::registered_fields()) {
        if (table_of(f.name) != p.table) continue;
        const privacy::Category* c = inventory_.category_of_field(f.name);
        if (c == nullptr) return fail(Errc::internal, "field " + std::string(f.name) + " is in no category");
        auto& rule = by_category[c->id];
        rule.category = c;
        rule.columns.push_back(column_of(f.name));
        auto nullable = storage::column_nullable(tx, p.table, column_of(f.name));
        if (!nullable) return std::unexpected(nullable.error());
        if (!all_nullable.contains(c->id)) all_nullable[c->id] = true;
        all_nullable[c->id] = all_nullable[c->id] && *nullable;
      }
      for (const auto& c : inventory_.categories) {  // inventory order
        auto it = by_category.find(c.id);
        if (it == by_category.end()) continue;
        CategoryRule rule = it->second;
        const auto event = event_for(c.retention.from);
        if (storage::has_event(p.table, event)) {
          rule.expiry = EventBefore{event, cutoff_for(c.retention, inventory_.fiscal_year_end, now)};
        } else if (!p.child) {
          report.notes.push_back("category " + c.id + ": " + p.table + " does not record " +
                                 std::string(privacy::to_string(c.retention.from)) + ", so its records there never expire");
        }
        (all_nullable[c.id] ? p.clears : p.rows).push_back(std::move(rule));
      }
      if (!p.rows.empty()) primary[p.table] = p.rows.front().category->id;
      else if (!p.clears.empty()) primary[p.table] = p.clears.front().category->id;
      plans.push_back(std::move(p));
    }
    return ok();
  });
  if (!planned) return std::unexpected(planned.error());

  const TablePlan* customers_plan = nullptr;
  for (const auto& p : plans) {
    if (p.table == "customers") customers_plan = &p;
  }
  const std::vector<EventBefore> customer_expiry =
      customers_plan ? expiries(customers_plan->rows, customers_plan->rows.size()) : std::vector<EventBefore>{};

  enum class As { erased, released, cleared };
  // Counts per table → counts per category: the selected table's rows count in `category`, its
  // children's in their table's first category.
  auto attribute = [&](Tally& t, const storage::TableCounts& counts, As as, const std::string& selected_table,
                       const std::string& category) {
    for (const auto& [table, n] : counts) {
      if (n == 0) continue;
      const std::string c = table == selected_table ? category : primary.contains(table) ? primary.at(table) : table;
      auto& k = t[c];
      k.expired += n;
      if (as == As::erased) k.erased += n;
      if (as == As::released) k.released += n;
      if (as == As::cleared) k.cleared += n;
    }
  };
  // Leaves the database to the others for a while after each transaction of a real run.
  auto timed_write = [&](const std::function<Status(storage::Tx&)>& fn) -> Status {
    const auto started = std::chrono::steady_clock::now();
    Status st = db_.write(fn);
    if (settings_.pause_ratio > 0) {
      const auto took = std::chrono::steady_clock::now() - started;
      std::this_thread::sleep_for(std::chrono::duration_cast<std::chrono::microseconds>(took * settings_.pause_ratio));
    }
    return st;
  };
  auto stopped = [&] {
    if (stop && stop()) report.interrupted = true;
    return report.interrupted;
  };

  // Deletes (or, dry, counts) every row of `sel` in batches; `category` names the category the
  // selected table's own rows count in (children count in theirs).
  auto sweep = [&](const RowSelection& sel, As as, const std::string& category,
                   const std::vector<std::string>& clear_columns = {}) -> Status {
    if (dry_run) {
      Tally t;
      auto st = db_.read([&](storage::Tx& tx) -> Status {
        t.clear();
        auto c = storage::count_rows(tx, sel);
        if (!c) return std::unexpected(c.error());
        if (!clear_columns.empty()) *c = {{sel.table, (*c)[sel.table]}};  // clearing leaves the children be
        attribute(t, *c, as, sel.table, category);
        return ok();
      });
      if (!st) return st;
      merge(total, t);
      return ok();
    }
    std::int64_t cursor = 0;
    for (;;) {
      if (stopped()) return ok();
      Tally t;
      storage::Batch b;
      auto st = timed_write([&](storage::Tx& tx) -> Status {
        t.clear();
        auto r = clear_columns.empty() ? storage::delete_rows(tx, sel, batch, cursor)
                                       : storage::clear_columns(tx, sel, clear_columns, batch, cursor);
        if (!r) return std::unexpected(r.error());
        b = *r;
        attribute(t, b.counts, as, sel.table, category);
        return ok();
      });
      if (!st) return st;
      ++report.transactions;
      merge(total, t);
      cursor = b.cursor;
      if (!b.more) return ok();
    }
  };

  // A. Legal holds that have ended: rows kept restricted after an erasure, past restricted_until.
  for (const auto& p : plans) {
    if (!p.restricted || p.rows.empty()) continue;
    RowSelection sel;
    sel.table = p.table;
    sel.released_by = now;
    if (auto st = sweep(sel, As::released, p.rows.front().category->id); !st) return std::unexpected(st.error());
  }

  // B. Records of every table whose retention ended, except the customers being erased in C
  // (their erasure takes their rows) and the rows released in A.
  for (const auto& p : plans) {
    if (p.child) continue;
    const bool customers = p.table == "customers";
    auto base = [&] {
      RowSelection sel;
      sel.table = p.table;
      if (p.restricted) sel.unless_released_by = now;
      if (p.linked) sel.unless_customer_any_of = customer_expiry;
      return sel;
    };
    if (!customers) {
      for (std::size_t i = 0; i < p.rows.size(); ++i) {
        if (!p.rows[i].expiry) continue;
        RowSelection sel = base();
        sel.any_of = {*p.rows[i].expiry};
        sel.none_of = expiries(p.rows, i);
        if (auto st = sweep(sel, As::erased, p.rows[i].category->id); !st) return std::unexpected(st.error());
      }
    }
    for (const auto& c : p.clears) {
      if (!c.expiry) continue;
      RowSelection sel = base();
      sel.any_of = {*c.expiry};
      sel.none_of = expiries(p.rows, p.rows.size());
      sel.any_not_null = c.columns;
      if (auto st = sweep(sel, As::cleared, c.category->id, c.columns); !st) return std::unexpected(st.error());
    }
  }

  // C. Customers whose own record expired: their other expired records go first (deleted, not
  // detached or unlinked), then they are erased as on request, then what that erasure kept
  // restricted is released if its hold has already ended.
  if (!customer_expiry.empty()) {
    std::int64_t after = 0;
    for (;;) {
      if (stopped()) break;
      Tally t;
      std::vector<storage::CustomerRef> done;
      auto body = [&](storage::Tx& tx) -> Status {
        RowSelection who;
        who.table = "customers";
        who.any_of = customer_expiry;
        auto list = storage::select_customers(tx, who, after, customers_per_tx);
        if (!list) return std::unexpected(list.error());
        done = *list;
        if (done.empty()) return ok();
        std::vector<std::int64_t> ids;
        for (const auto& c : done) ids.push_back(c.id);
        for (const auto& rule : customers_plan->rows) {
          if (!rule.expiry) continue;
          RowSelection sel;
          sel.table = "customers";
          sel.any_of = {*rule.expiry};
          sel.ids = ids;
          auto n = storage::count_rows(tx, sel);
          if (!n) return std::unexpected(n.error());
          t[rule.category->id].expired += (*n)["customers"];
        }
        for (const auto& c : done) {
          audit::Event event;
          event.action = "retention.erase";
          event.resource = "customer";
          event.subject = c.subject_id;
          event.purpose = "Art. 5(1)(e) storage limitation: the declared retention ended";
          Tally mine;
          for (const auto& p : plans) {
            if (p.child || p.table == "customers" || !p.linked) continue;
            for (std::size_t i = 0; i < p.rows.size(); ++i) {
              if (!p.rows[i].expiry) continue;
              RowSelection sel;
              sel.table = p.table;
              sel.customer_id = c.id;
              sel.any_of = {*p.rows[i].expiry};
              sel.none_of = expiries(p.rows, i);
              for (bool more = true; more;) {
                auto r = storage::delete_rows(tx, sel, 1000, 0);
                if (!r) return std::unexpected(r.error());
                attribute(mine, r->counts, As::erased, p.table, p.rows[i].category->id);
                more = r->more;
              }
            }
          }
          std::map<std::string, std::vector<std::int64_t>> kept_ids;
          for (const auto& p : plans) {
            if (!p.restricted) continue;
            auto rows = storage::customer_rows(tx, p.table, {{"id"}}, c.id);
            if (!rows) return std::unexpected(rows.error());
            for (const auto& r : rows->rows) kept_ids[p.table].push_back(std::get<std::int64_t>(r.at(0)));
          }
          auto receipt = rights::erase_subject(tx, inventory_, vault_, {c.id, c.subject_id}, at_now);
          if (!receipt) return std::unexpected(receipt.error());
          for (const auto& line : receipt->categories) {
            auto& k = mine[line.category];
            switch (line.outcome) {
              case privacy::ErasureOutcome::erase: k.erased += line.records; break;
              case privacy::ErasureOutcome::keep_restricted: k.detached += line.records; break;
              case privacy::ErasureOutcome::unlink: k.unlinked += line.records; break;
              case privacy::ErasureOutcome::expire: break;
            }
          }
          for (const auto& [table, kept] : kept_ids) {
            if (kept.empty()) continue;
            const TablePlan* p = nullptr;
            for (const auto& q : plans) {
              if (q.table == table) p = &q;
            }
            RowSelection sel;
            sel.table = table;
            sel.released_by = now;
            sel.ids = kept;
            auto r = storage::delete_rows(tx, sel, static_cast<int>(kept.size()), 0);
            if (!r) return std::unexpected(r.error());
            attribute(mine, r->counts, As::released, table, p && !p->rows.empty() ? p->rows.front().category->id : table);
          }
          if (!dry_run) {
            for (const auto& [category, n] : mine) {
              const std::int64_t sum = n.erased + n.detached + n.unlinked + n.released;
              if (sum > 0) event.counts[category] = sum;
            }
            if (auto st = audit_.record(tx, event); !st) return st;
          }
          merge(t, mine);
        }
        return ok();
      };
      auto attempt = [&](storage::Tx& tx) -> Status {
        t.clear();
        done.clear();
        return dry_run ? storage::simulate(tx, [&] { return body(tx); }) : body(tx);
      };
      // A dry run never commits: its changes are rolled back, so the database file is not written.
      auto st = dry_run ? db_.read(attempt) : timed_write(attempt);
      if (!st) return std::unexpected(st.error());
      if (done.empty()) break;
      ++report.transactions;
      merge(total, t);
      report.customers_erased += static_cast<std::int64_t>(done.size());
      after = done.back().id;
      if (static_cast<int>(done.size()) < customers_per_tx) break;
    }
  }

  for (const auto& c : inventory_.categories) {
    CategoryReport r;
    r.category = c.id;
    r.rule = c.retention.duration.text + " from " + std::string(privacy::to_string(c.retention.from));
    if (auto it = total.find(c.id); it != total.end()) r.counts = it->second;
    report.categories.push_back(std::move(r));
  }

  bool did_something = report.customers_erased > 0;
  for (const auto& c : report.categories) {
    const auto& n = c.counts;
    did_something = did_something || n.expired + n.erased + n.cleared + n.detached + n.unlinked + n.released > 0;
  }
  if (!dry_run && (settings_.record_empty_runs || did_something)) {
    audit::Event event;
    event.action = "retention.run";
    event.purpose = "Art. 5(1)(e) storage limitation";
    event.outcome = report.interrupted ? "interrupted" : "success";
    event.counts["customers_erased"] = report.customers_erased;
    for (const auto& c : report.categories) {
      const auto& n = c.counts;
      for (const auto& [what, v] : std::initializer_list<std::pair<const char*, std::int64_t>>{
               {"expired", n.expired}, {"erased", n.erased}, {"cleared", n.cleared},
               {"detached", n.detached}, {"unlinked", n.unlinked}, {"released", n.released}}) {
        if (v > 0) event.counts[c.category + "." + what] = v;
      }
    }
    event.details["now"] = format_rfc3339(now_tp);
    if (auto st = audit_.record(event); !st) return std::unexpected(st.error());
  }
  return report;
}

}  // namespace comptoir::retention

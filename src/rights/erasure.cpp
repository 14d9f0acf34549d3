#include "src/rights/erasure.h"

#include <algorithm>
#include <map>
#include <set>

#include "privacy/registry.h"
#include "storage/row_reader.h"

namespace comptoir::rights {

namespace {

std::string table_of(std::string_view field) { return std::string(field.substr(0, field.find('.'))); }
std::string column_of(std::string_view field) { return std::string(field.substr(field.find('.') + 1)); }

std::int64_t int_of(const storage::Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  return 0;
}
std::string text_of(const storage::Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return {};
}

}  // namespace

Result<ErasureReceipt> erase_subject(storage::Tx& tx, const privacy::Inventory& inventory, privacy::Vault& vault,
                                     const ExportSubject& subject, const Clock& clock) {
  const std::int64_t now = unix_seconds(clock.now());
  auto exists = storage::customer_rows(tx, "customers", {{"subject_id"}}, subject.customer_id);
  if (!exists) return std::unexpected(exists.error());
  if (exists->rows.empty() || text_of(exists->rows[0][0]) != subject.subject_id) {
    return fail(Errc::not_found, "no such customer (already erased?)");
  }

  ErasureReceipt receipt;
  receipt.subject_reference = subject.subject_id;
  receipt.erased_at = now;
  std::map<std::string, int> records;               // category → rows affected
  std::map<std::string, std::int64_t> kept_until;    // category → latest restriction end

  // Children before parents: the registry lists parents first.
  const auto tables = storage::customer_tables();
  for (auto it = tables.rbegin(); it != tables.rend(); ++it) {
    const auto& table = *it;
    if (!table.linked) continue;  // not linked to anyone: expires on its own
    const std::string name(table.name);
    std::vector<std::string> erase_columns;
    std::set<std::string> erase_categories, keep_categories, unlink_categories;
    const privacy::Category* keep = nullptr;
    for (const auto& f : privacy::registered_fields()) {
      if (table_of(f.name) != name) continue;
      const privacy::Category* c = inventory.category_of_field(f.name);
      if (c == nullptr) return fail(Errc::internal, "field " + std::string(f.name) + " is in no category");
      if (c->erasure.outcome == privacy::ErasureOutcome::keep_restricted) {
        keep_categories.insert(c->id);
        keep = c;
      } else if (c->erasure.outcome == privacy::ErasureOutcome::unlink) {
        unlink_categories.insert(c->id);
      } else {
        erase_columns.push_back(column_of(f.name));
        erase_categories.insert(c->id);
      }
    }
    if (keep_categories.empty() && !unlink_categories.empty()) {
      // Kept without its link (e.g. proof of consent): clear what is to be erased, cut the link.
      if (!erase_columns.empty()) {
        auto n = storage::clear_customer_columns(tx, name, erase_columns, subject.customer_id);
        if (!n) return std::unexpected(n.error());
        for (const auto& c : erase_categories) records[c] += *n;
      }
      auto n = storage::unlink_customer_rows(tx, name, subject.customer_id);
      if (!n) return std::unexpected(n.error());
      for (const auto& c : unlink_categories) records[c] += *n;
      continue;
    }
    if (keep_categories.empty()) {
      auto n = storage::delete_customer_rows(tx, name, subject.customer_id);
      if (!n) return std::unexpected(n.error());
      for (const auto& c : erase_categories) records[c] += *n;
      continue;
    }
    if (!table.retainable) {
      return fail(Errc::internal, "rows of " + name + " cannot be kept detached after an erasure");
    }
    if (!erase_columns.empty()) {
      auto n = storage::clear_customer_columns(tx, name, erase_columns, subject.customer_id);
      if (!n) return std::unexpected(n.error());
      for (const auto& c : erase_categories) records[c] += *n;
    }
    if (!table.own_link) {
      // Lines and VAT lines stay with their order, which is detached below.
      auto n = storage::count_customer_rows(tx, name, subject.customer_id);
      if (!n) return std::unexpected(n.error());
      for (const auto& c : keep_categories) records[c] += *n;
      continue;
    }
    // Orders (the one retainable table with its own link): each kept until its legal end.
    auto orders = storage::customer_rows(tx, name, {{"id"}, {"number"}, {"created_at"}, {"updated_at"}, {"status"}},
                                         subject.customer_id);
    if (!orders) return std::unexpected(orders.error());
    std::vector<storage::DetachedRow> kept;
    for (const auto& row : orders->rows) {
      privacy::RetentionEvents e;
      e.collection = int_of(row[2]);
      e.order_placed = int_of(row[2]);
      const std::string status = text_of(row[4]);
      // An order still open when its customer leaves counts as ended now: nobody can be told
      // about it any more.
      e.order_completion = (status == "completed" || status == "cancelled") ? int_of(row[3]) : now;
      e.last_activity = now;
      e.consent_withdrawal = now;
      std::int64_t until = now;
      if (keep->erasure.until) until = privacy::retention_end(*keep->erasure.until, e, inventory.fiscal_year_end).value_or(now);
      kept.push_back({int_of(row[0]), until});
      receipt.orders_kept.push_back(text_of(row[1]));
      for (const auto& c : keep_categories) {
        kept_until[c] = std::max(kept_until[c], until);
        records[c] += 1;
      }
    }
    if (auto st = storage::detach_rows(tx, name, kept); !st) return std::unexpected(st.error());
  }
  // Whatever a copy of a sealed field still holds (a backup, a page not yet overwritten) becomes
  // unreadable for good.
  auto shredded = vault.shred(tx, subject.subject_id);
  if (!shredded) return std::unexpected(shredded.error());

  for (const auto& c : inventory.categories) {
    if (!c.collected && !records.contains(c.id)) continue;
    ErasureLine line;
    line.category = c.id;
    line.outcome = c.erasure.outcome;
    line.records = records.contains(c.id) ? records[c.id] : 0;
    if (c.erasure.outcome == privacy::ErasureOutcome::keep_restricted) {
      if (kept_until.contains(c.id)) {
        line.until = kept_until[c.id];
        line.legal_basis = c.erasure.basis;
      } else {
        line.outcome = privacy::ErasureOutcome::erase;  // nothing was held, nothing is kept
      }
    }
    receipt.categories.push_back(std::move(line));
  }
  return receipt;
}

}  // namespace comptoir::rights

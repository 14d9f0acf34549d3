#include "src/commerce/consent.h"

namespace comptoir::commerce {

namespace {

ConsentEntry entry_of(const storage::ConsentRecord& r) {
  ConsentEntry e;
  e.id = r.id;
  parse_consent_kind(r.kind, e.kind);
  e.notice_version = r.notice_version;
  e.language = r.language;
  privacy::parse_channel(r.channel, e.channel);
  e.order_number = r.order_number;
  e.at = r.created_at;
  return e;
}

bool valid_language(std::string_view l) {
  return l.size() == 2 && l[0] >= 'a' && l[0] <= 'z' && l[1] >= 'a' && l[1] <= 'z';
}

}  // namespace

std::string_view to_string(ConsentKind kind) {
  switch (kind) {
    case ConsentKind::notice_acknowledged: return "notice_acknowledged";
    case ConsentKind::marketing_given: return "marketing_given";
    case ConsentKind::marketing_withdrawn: return "marketing_withdrawn";
  }
  return "notice_acknowledged";
}

bool parse_consent_kind(std::string_view text, ConsentKind& out) {
  for (auto k : {ConsentKind::notice_acknowledged, ConsentKind::marketing_given, ConsentKind::marketing_withdrawn}) {
    if (to_string(k) == text) {
      out = k;
      return true;
    }
  }
  return false;
}

std::string_view to_string(MarketingState state) {
  switch (state) {
    case MarketingState::none: return "none";
    case MarketingState::given: return "given";
    case MarketingState::withdrawn: return "withdrawn";
  }
  return "none";
}

bool valid_notice_version(std::string_view v) {
  if (v.size() != 64) return false;
  for (char c : v) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

ConsentLedger::ConsentLedger(storage::Database& db, const Clock& clock) : db_(db), store_(db), clock_(clock) {}

Status ConsentLedger::record(storage::Tx& tx, const Customer& customer, ConsentKind kind, const std::string& notice_version,
                             const std::string& language, const std::string& order_number) {
  if (!valid_notice_version(notice_version)) return fail(Errc::invalid_argument, "consent: malformed notice version");
  if (!valid_language(language)) return fail(Errc::invalid_argument, "consent: malformed language");
  if (kind != ConsentKind::notice_acknowledged && !order_number.empty()) {
    return fail(Errc::invalid_argument, "consent: only a notice acknowledgement names an order");
  }
  storage::ConsentRecord r;
  r.customer_id = customer.id;
  r.kind = std::string(to_string(kind));
  r.notice_version = notice_version;
  r.language = language;
  r.channel = std::string(privacy::to_string(customer.channel));
  r.order_number = order_number;
  r.created_at = unix_seconds(clock_.now());
  auto id = store_.append(tx, r);
  if (!id) return std::unexpected(id.error());
  return ok();
}

Result<MarketingStatus> ConsentLedger::marketing(storage::Tx& tx, std::int64_t customer_id) {
  auto latest = store_.latest_marketing(tx, customer_id);
  if (!latest) return std::unexpected(latest.error());
  MarketingStatus s;
  if (!latest->has_value()) return s;
  s.state = (*latest)->kind == "marketing_given" ? MarketingState::given : MarketingState::withdrawn;
  s.since = (*latest)->created_at;
  return s;
}

Result<bool> ConsentLedger::give_marketing(storage::Tx& tx, const Customer& customer, const std::string& notice_version,
                                           const std::string& language) {
  auto now = marketing(tx, customer.id);
  if (!now) return std::unexpected(now.error());
  if (now->live()) return false;
  if (auto st = record(tx, customer, ConsentKind::marketing_given, notice_version, language); !st) {
    return std::unexpected(st.error());
  }
  return true;
}

Result<bool> ConsentLedger::withdraw_marketing(storage::Tx& tx, const Customer& customer,
                                               const std::string& notice_version, const std::string& language) {
  auto now = marketing(tx, customer.id);
  if (!now) return std::unexpected(now.error());
  if (!now->live()) return false;
  if (auto st = record(tx, customer, ConsentKind::marketing_withdrawn, notice_version, language); !st) {
    return std::unexpected(st.error());
  }
  return true;
}

Result<std::vector<ConsentEntry>> ConsentLedger::history(storage::Tx& tx, std::int64_t customer_id) {
  auto rows = store_.for_customer(tx, customer_id);
  if (!rows) return std::unexpected(rows.error());
  std::vector<ConsentEntry> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back(entry_of(r));
  return out;
}

Result<std::vector<ConsentEntry>> ConsentLedger::history(std::int64_t customer_id) {
  Result<std::vector<ConsentEntry>> out;
  auto st = db_.read([&](storage::Tx& tx) -> Status {
    out = history(tx, customer_id);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Result<std::vector<std::int64_t>> ConsentLedger::marketing_audience(storage::Tx& tx) { return store_.marketing_audience(tx); }

}  // namespace comptoir::commerce

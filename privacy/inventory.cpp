#include "privacy/inventory.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <set>

#include <nlohmann/json.hpp>

#include "src/assets/assets.h"
#include "src/common/files.h"
#include "src/common/text.h"
#include "src/config/json_reader.h"

namespace comptoir::privacy {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxInventoryBytes = 1u << 20;
constexpr std::size_t kMaxText = 2000;
const std::vector<std::string_view> kLanguages = {"en", "fr", "de"};

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  if (!(id[0] >= 'a' && id[0] <= 'z')) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// A field name: "table.column" or "table.*", lower-case identifiers.
bool valid_field(std::string_view f) {
  const auto dot = f.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= f.size()) return false;
  auto ident = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
  };
  const auto table = f.substr(0, dot), column = f.substr(dot + 1);
  return ident(table) && (column == "*" || ident(column));
}

// Walks one JSON object: every member must be asked for, problems carry the dotted path.
class Reader {
 public:
  Reader(const json& o, std::string path, config::ErrorList& errors) : o_(o), path_(std::move(path)), errors_(errors) {
    if (!o_.is_object()) err("", "must be an object");
  }

  std::string at(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  void err(std::string_view key, const std::string& problem) const {
    const std::string p = key.empty() ? path_ : at(key);
    errors_.add(p.empty() ? "(root)" : p, problem);
  }

  const json* get(std::string_view key, bool required) {
    known_.insert(std::string(key));
    if (!o_.is_object()) return nullptr;
    auto it = o_.find(std::string(key));
    if (it == o_.end()) {
      if (required) err(key, "is required");
      return nullptr;
    }
    return &*it;
  }

  std::optional<std::string> string(std::string_view key, bool required, std::size_t max = kMaxText,
                                    bool allow_empty = true) {
    const json* v = get(key, required);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      err(key, "must be a string");
      return std::nullopt;
    }
    const auto& s = v->get_ref<const std::string&>();
    if (s.size() > max) {
      err(key, "must be at most " + std::to_string(max) + " bytes");
      return std::nullopt;
    }
    if (!text::is_valid_utf8(s)) {
      err(key, "must be valid UTF-8");
      return std::nullopt;
    }
    if (!allow_empty && s.empty()) {
      err(key, "must not be empty");
      return std::nullopt;
    }
    return s;
  }

  // {"en": "...", "fr": "...", "de": "..."}: "en" required, only known languages, none empty.
  std::optional<LocalText> local(std::string_view key, bool required) {
    const json* v = get(key, required);
    if (v == nullptr) return std::nullopt;
    return local_value(*v, at(key));
  }

  std::optional<LocalText> local_value(const json& v, const std::string& path) {
    if (!v.is_object()) {
      errors_.add(path, "must be an object of texts per language, e.g. {\"en\": \"…\", \"fr\": \"…\"}");
      return std::nullopt;
    }
    LocalText t;
    bool good = true;
    for (const auto& [lang, text] : v.items()) {
      if (std::find(kLanguages.begin(), kLanguages.end(), lang) == kLanguages.end()) {
        errors_.add(path + "." + lang, "unknown language (use en, fr or de)");
        good = false;
      } else if (!text.is_string() || text.get_ref<const std::string&>().empty() ||
                 text.get_ref<const std::string&>().size() > kMaxText ||
                 !text::is_valid_utf8(text.get_ref<const std::string&>())) {
        errors_.add(path + "." + lang, "must be a non-empty UTF-8 string of at most " + std::to_string(kMaxText) + " bytes");
        good = false;
      } else {
        t.by_language.emplace(lang, text.get<std::string>());
      }
    }
    if (good && !t.by_language.contains("en")) {
      errors_.add(path, "needs at least the English text (\"en\")");
      good = false;
    }
    return good ? std::optional<LocalText>(std::move(t)) : std::nullopt;
  }

  std::optional<bool> boolean(std::string_view key, bool required) {
    const json* v = get(key, required);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) {
      err(key, "must be true or false");
      return std::nullopt;
    }
    return v->get<bool>();
  }

  std::optional<std::string> choice(std::string_view key, bool required, const std::vector<std::string_view>& allowed) {
    auto s = string(key, required, 64);
    if (!s) return std::nullopt;
    if (std::find(allowed.begin(), allowed.end(), *s) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      err(key, "must be one of: " + list);
      return std::nullopt;
    }
    return s;
  }

  // An array of strings, each checked by `valid` (with `what` describing a good one).
  std::optional<std::vector<std::string>> strings(std::string_view key, bool required, bool (*valid)(std::string_view),
                                                  std::string_view what) {
    const json* v = get(key, required);
    if (v == nullptr) return std::nullopt;
    if (!v->is_array()) {
      err(key, "must be an array");
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool good = true;
    for (std::size_t i = 0; i < v->size(); ++i) {
      const json& e = (*v)[i];
      const std::string p = at(key) + "[" + std::to_string(i) + "]";
      if (!e.is_string() || !valid(e.get_ref<const std::string&>())) {
        errors_.add(p, "must be " + std::string(what));
        good = false;
        continue;
      }
      if (std::find(out.begin(), out.end(), e.get<std::string>()) != out.end()) {
        errors_.add(p, "is listed twice");
        good = false;
        continue;
      }
      out.push_back(e.get<std::string>());
    }
    return good ? std::optional(std::move(out)) : std::nullopt;
  }

  void finish() const {
    if (!o_.is_object()) return;
    for (const auto& [k, v] : o_.items()) {
      if (!known_.contains(k)) err(k, "unknown key");
    }
  }

  config::ErrorList& errors() const { return errors_; }

 private:
  const json& o_;
  std::string path_;
  config::ErrorList& errors_;
  std::set<std::string, std::less<>> known_;
};

std::optional<LegalBasis> basis_of(std::string_view s) {
  if (s == "a") return LegalBasis::consent;
  if (s == "b") return LegalBasis::contract;
  if (s == "c") return LegalBasis::legal_obligation;
  if (s == "d") return LegalBasis::vital_interests;
  if (s == "e") return LegalBasis::public_task;
  if (s == "f") return LegalBasis::legitimate_interests;
  return std::nullopt;
}

// {"article": "c", "obligation": {...}} / {"article": "f", "interest": {...}} / {"article": "b"}
std::optional<Basis> read_basis(const json& v, const std::string& path, config::ErrorList& errors) {
  Reader r(v, path, errors);
  if (!v.is_object()) return std::nullopt;
  Basis b;
  bool good = true;
  auto art = r.choice("article", true, {"a", "b", "c", "d", "e", "f"});
  if (!art) return std::nullopt;
  b.basis = *basis_of(*art);
  auto obligation = r.local("obligation", false);
  auto interest = r.local("interest", false);
  if (b.basis == LegalBasis::legal_obligation) {
    if (!obligation) {
      if (!r.get("obligation", false)) r.err("obligation", "is required for Art. 6(1)(c): name the legal obligation");
      good = false;
    } else {
      b.detail = *obligation;
    }
    if (r.get("interest", false)) r.err("interest", "applies only to Art. 6(1)(f)");
  } else if (b.basis == LegalBasis::legitimate_interests) {
    if (!interest) {
      if (!r.get("interest", false)) r.err("interest", "is required for Art. 6(1)(f): name the legitimate interest");
      good = false;
    } else {
      b.detail = *interest;
    }
    if (r.get("obligation", false)) r.err("obligation", "applies only to Art. 6(1)(c)");
  } else {
    if (r.get("obligation", false)) r.err("obligation", "applies only to Art. 6(1)(c)");
    if (r.get("interest", false)) r.err("interest", "applies only to Art. 6(1)(f)");
  }
  r.finish();
  return good ? std::optional(std::move(b)) : std::nullopt;
}

std::optional<Retention> read_retention(const json& v, const std::string& path, config::ErrorList& errors) {
  Reader r(v, path, errors);
  if (!v.is_object()) return std::nullopt;
  Retention out;
  bool good = true;
  if (auto d = r.string("duration", true, 32)) {
    auto parsed = parse_duration(*d);
    if (!parsed) {
      r.err("duration", parsed.error().message);
      good = false;
    } else if (parsed->is_zero()) {
      r.err("duration", "must be longer than zero");
      good = false;
    } else {
      out.duration = *parsed;
    }
  } else {
    good = false;
  }
  if (auto f = r.choice("from", true, {"collection", "last_activity", "order_completion", "end_of_fiscal_year_of_order",
                                       "consent_withdrawal"})) {
    out.from = *f == "collection"                    ? RetentionStart::collection
               : *f == "last_activity"               ? RetentionStart::last_activity
               : *f == "order_completion"            ? RetentionStart::order_completion
               : *f == "end_of_fiscal_year_of_order" ? RetentionStart::end_of_fiscal_year_of_order
                                                     : RetentionStart::consent_withdrawal;
  } else {
    good = false;
  }
  r.finish();
  return good ? std::optional(out) : std::nullopt;
}

std::optional<Erasure> read_erasure(const json& v, const std::string& path, config::ErrorList& errors) {
  Reader r(v, path, errors);
  if (!v.is_object()) return std::nullopt;
  Erasure e;
  auto outcome = r.choice("outcome", true, {"erase", "keep_restricted", "expire", "unlink"});
  if (!outcome) return std::nullopt;
  e.outcome = *outcome == "erase"    ? ErasureOutcome::erase
              : *outcome == "expire" ? ErasureOutcome::expire
              : *outcome == "unlink" ? ErasureOutcome::unlink
                                     : ErasureOutcome::keep_restricted;
  bool good = true;
  const json* until = r.get("until", false);
  const json* basis = r.get("legal_basis", false);
  if (e.outcome == ErasureOutcome::keep_restricted) {
    if (until == nullptr) r.err("until", "is required when the outcome is keep_restricted (until when?)");
    if (basis == nullptr) r.err("legal_basis", "is required when the outcome is keep_restricted (why it may be kept)");
    if (until == nullptr || basis == nullptr) good = false;
    if (until) {
      e.until = read_retention(*until, r.at("until"), errors);
      good = good && e.until.has_value();
    }
    if (basis) {
      e.basis = read_basis(*basis, r.at("legal_basis"), errors);
      good = good && e.basis.has_value();
    }
  } else {
    if (until) r.err("until", "applies only to the outcome keep_restricted");
    if (basis) r.err("legal_basis", "applies only to the outcome keep_restricted");
  }
  r.finish();
  return good ? std::optional(std::move(e)) : std::nullopt;
}

bool valid_id_fn(std::string_view s) { return valid_id(s); }
bool valid_field_fn(std::string_view s) { return valid_field(s); }

void read_category(const json& v, const std::string& path, const Inventory& inv, config::ErrorList& errors,
                   std::vector<Category>& out) {
  Reader r(v, path, errors);
  if (!v.is_object()) return;
  Category c;
  bool good = true;
  if (auto id = r.string("id", true, 64)) {
    if (!valid_id(*id)) {
      r.err("id", "must be a lower-case identifier (a-z, 0-9, _), starting with a letter");
      good = false;
    }
    c.id = *id;
  } else {
    good = false;
  }
  if (auto n = r.local("name", true)) c.name = *n; else good = false;
  if (auto d = r.local("description", true)) c.description = *d; else good = false;
  if (auto f = r.strings("fields", true, valid_field_fn, "a stored field: \"table.column\" or \"table.*\"")) {
    c.fields = *f;
  } else {
    good = false;
  }
  if (auto col = r.boolean("collected", true)) c.collected = *col; else good = false;
  if (auto p = r.strings("purposes", true, valid_id_fn, "a purpose id")) {
    for (std::size_t i = 0; i < p->size(); ++i) {
      if (!inv.purposes.contains((*p)[i])) {
        errors.add(r.at("purposes") + "[" + std::to_string(i) + "]", "unknown purpose \"" + (*p)[i] + "\" (declare it under purposes)");
        good = false;
      }
    }
    if (p->empty()) {
      r.err("purposes", "must name at least one purpose");
      good = false;
    }
    c.purposes = *p;
  } else {
    good = false;
  }
  if (const json* b = r.get("legal_basis", true)) {
    auto basis = read_basis(*b, r.at("legal_basis"), errors);
    if (basis) c.legal_basis = *basis; else good = false;
  } else {
    good = false;
  }
  if (auto s = r.choice("source", true, {"customer", "messaging_platform", "derived"})) {
    c.source = *s == "customer" ? Source::customer : *s == "messaging_platform" ? Source::messaging_platform : Source::derived;
  } else {
    good = false;
  }
  if (auto rec = r.strings("recipients", true, valid_id_fn, "a recipient id")) {
    for (std::size_t i = 0; i < rec->size(); ++i) {
      if (!inv.recipients.contains((*rec)[i])) {
        errors.add(r.at("recipients") + "[" + std::to_string(i) + "]",
                   "unknown recipient \"" + (*rec)[i] + "\" (declare it under recipients)");
        good = false;
      }
    }
    c.recipients = *rec;
  } else {
    good = false;
  }
  if (const json* ret = r.get("retention", true)) {
    auto retention = read_retention(*ret, r.at("retention"), errors);
    if (retention) c.retention = *retention; else good = false;
  } else {
    good = false;
  }
  if (const json* er = r.get("erasure", true)) {
    auto erasure = read_erasure(*er, r.at("erasure"), errors);
    if (erasure) c.erasure = *erasure; else good = false;
  } else {
    good = false;
  }
  r.finish();
  if (good) out.push_back(std::move(c));
}

// A map of id → text per language ("purposes", "recipients").
void read_texts(Reader& root, std::string_view key, std::map<std::string, LocalText, std::less<>>& out,
                bool required = true) {
  const json* v = root.get(key, required);
  if (v == nullptr) return;
  if (!v->is_object()) {
    root.err(key, "must be an object: id → {\"en\": \"…\", …}");
    return;
  }
  for (const auto& [id, text] : v->items()) {
    const std::string p = root.at(key) + "." + id;
    if (!valid_id(id)) {
      root.errors().add(p, "must be a lower-case identifier (a-z, 0-9, _), starting with a letter");
      continue;
    }
    if (auto t = root.local_value(text, p)) out.emplace(id, std::move(*t));
  }
}

bool valid_month_day(std::string_view s) {
  if (s.size() != 5 || s[2] != '-') return false;
  int m = 0, d = 0;
  if (std::from_chars(s.data(), s.data() + 2, m).ec != std::errc{} ||
      std::from_chars(s.data() + 3, s.data() + 5, d).ec != std::errc{}) {
    return false;
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m >= 1 && m <= 12 && d >= 1 && d <= kDays[m - 1];
}

}  // namespace

const std::string& LocalText::in(std::string_view language) const {
  static const std::string kEmpty;
  if (auto it = by_language.find(language); it != by_language.end()) return it->second;
  if (auto it = by_language.find("en"); it != by_language.end()) return it->second;
  return kEmpty;
}

std::string_view letter(LegalBasis b) {
  switch (b) {
    case LegalBasis::consent: return "a";
    case LegalBasis::contract: return "b";
    case LegalBasis::legal_obligation: return "c";
    case LegalBasis::vital_interests: return "d";
    case LegalBasis::public_task: return "e";
    case LegalBasis::legitimate_interests: return "f";
  }
  return "?";
}

std::string_view to_string(Source s) {
  switch (s) {
    case Source::customer: return "customer";
    case Source::messaging_platform: return "messaging_platform";
    case Source::derived: return "derived";
  }
  return "?";
}

std::string_view to_string(RetentionStart s) {
  switch (s) {
    case RetentionStart::collection: return "collection";
    case RetentionStart::last_activity: return "last_activity";
    case RetentionStart::order_completion: return "order_completion";
    case RetentionStart::end_of_fiscal_year_of_order: return "end_of_fiscal_year_of_order";
    case RetentionStart::consent_withdrawal: return "consent_withdrawal";
  }
  return "?";
}

std::string_view to_string(ErasureOutcome o) {
  switch (o) {
    case ErasureOutcome::erase: return "erase";
    case ErasureOutcome::keep_restricted: return "keep_restricted";
    case ErasureOutcome::expire: return "expire";
    case ErasureOutcome::unlink: return "unlink";
  }
  return "?";
}

Result<Duration> parse_duration(std::string_view text) {
  auto bad = [&] {
    return fail(Errc::invalid_argument,
                "must be an ISO 8601 duration in whole units, e.g. P10Y, P6M, P30D, PT12H (got \"" + std::string(text) + "\")");
  };
  if (text.size() < 3 || text[0] != 'P') return bad();
  Duration d;
  d.text = std::string(text);
  bool in_time = false, any = false;
  std::size_t i = 1;
  std::string order_seen;
  while (i < text.size()) {
    if (text[i] == 'T') {
      if (in_time) return bad();
      in_time = true;
      ++i;
      continue;
    }
    int n = 0;
    auto [p, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
    if (ec != std::errc{} || p == text.data() + i || p == text.data() + text.size() || n < 0 || n > 100000) return bad();
    i = static_cast<std::size_t>(p - text.data());
    const char unit = text[i++];
    const std::string key = std::string(in_time ? "T" : "") + unit;
    if (order_seen.find(key) != std::string::npos) return bad();
    order_seen += key;
    if (!in_time && unit == 'Y') d.years = n;
    else if (!in_time && unit == 'M') d.months = n;
    else if (!in_time && unit == 'W') d.days += 7 * n;
    else if (!in_time && unit == 'D') d.days += n;
    else if (in_time && unit == 'H') d.hours = n;
    else if (in_time && unit == 'M') d.minutes = n;
    else return bad();
    any = true;
  }
  if (!any || text.back() == 'T') return bad();
  return d;
}

std::int64_t Duration::after(std::int64_t from_unix) const {
  const std::time_t t = static_cast<std::time_t>(from_unix);
  std::tm tm{};
  gmtime_r(&t, &tm);
  const int total_months = tm.tm_mon + months + 12 * years;
  const int year = tm.tm_year + 1900 + total_months / 12;
  const int month = total_months % 12;  // 0-based
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int month_days = kDays[month] + (month == 1 && leap ? 1 : 0);
  std::tm out = tm;
  out.tm_year = year - 1900;
  out.tm_mon = month;
  out.tm_mday = std::min(tm.tm_mday, month_days);
  const std::int64_t base = static_cast<std::int64_t>(timegm(&out));
  return base + static_cast<std::int64_t>(days) * 86400 + static_cast<std::int64_t>(hours) * 3600 +
         static_cast<std::int64_t>(minutes) * 60;
}

std::optional<std::int64_t> retention_end(const Retention& r, const RetentionEvents& e, std::string_view fiscal_year_end) {
  std::optional<std::int64_t> start;
  switch (r.from) {
    case RetentionStart::collection: start = e.collection; break;
    case RetentionStart::last_activity: start = e.last_activity; break;
    case RetentionStart::order_completion: start = e.order_completion; break;
    case RetentionStart::consent_withdrawal: start = e.consent_withdrawal; break;
    case RetentionStart::end_of_fiscal_year_of_order: {
      if (!e.order_placed) break;
      int month = 12, day = 31;
      if (fiscal_year_end.size() == 5) {
        std::from_chars(fiscal_year_end.data(), fiscal_year_end.data() + 2, month);
        std::from_chars(fiscal_year_end.data() + 3, fiscal_year_end.data() + 5, day);
      }
      const std::time_t placed = static_cast<std::time_t>(*e.order_placed);
      std::tm tm{};
      gmtime_r(&placed, &tm);
      // The first end of a fiscal year (the end of day MM-DD, UTC) at or after the order.
      for (int year = tm.tm_year; year <= tm.tm_year + 1; ++year) {
        std::tm end{};
        end.tm_year = year;
        end.tm_mon = month - 1;
        end.tm_mday = day + 1;  // 00:00 of the next day; timegm normalizes month ends
        const std::int64_t t = static_cast<std::int64_t>(timegm(&end));
        if (t > *e.order_placed) {
          start = t;
          break;
        }
      }
      break;
    }
  }
  if (!start) return std::nullopt;
  return r.duration.after(*start);
}

const Category* Inventory::category(std::string_view id) const {
  for (const auto& c : categories) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

const Category* Inventory::category_of_field(std::string_view field) const {
  const auto dot = field.find('.');
  const std::string table_star = std::string(field.substr(0, dot)) + ".*";
  for (const auto& c : categories) {
    for (const auto& f : c.fields) {
      if (f == field || f == table_star) return &c;
    }
  }
  return nullptr;
}

bool Inventory::collects(std::string_view category_id) const {
  const Category* c = category(category_id);
  return c != nullptr && c->collected;
}

Result<Inventory> parse_inventory(std::string_view text, std::string_view source_name) {
  auto doc = config::parse_json_with_comments(text, source_name);
  if (!doc) return std::unexpected(doc.error());
  config::ErrorList errors;
  Inventory inv;
  Reader root(*doc, "", errors);
  if (const json* f = root.get("format", true)) {
    if (!f->is_number_integer() || f->get<std::int64_t>() != 1) root.err("format", "must be 1 (the only format this version reads)");
  }
  if (const json* c = root.get("controller", true)) {
    Reader r(*c, "controller", errors);
    inv.controller.name = r.string("name", false, 200).value_or("");
    inv.controller.address = r.string("address", false, 400).value_or("");
    inv.controller.email = r.string("email", false, 200).value_or("");
    inv.controller.phone = r.string("phone", false, 64).value_or("");
    inv.controller.dpo = r.string("dpo", false, 300).value_or("");
    r.finish();
  }
  if (const json* s = root.get("supervisory_authority", true)) {
    Reader r(*s, "supervisory_authority", errors);
    if (auto n = r.local("name", true)) inv.supervisory_authority.name = *n;
    if (auto url = r.string("url", false, 300)) {
      if (!url->empty() && !url->starts_with("https://")) r.err("url", "must start with https://");
      inv.supervisory_authority.url = *url;
    }
    r.finish();
  }
  if (auto fy = root.string("fiscal_year_end", false, 5)) {
    if (!valid_month_day(*fy)) root.err("fiscal_year_end", "must be a month and day \"MM-DD\", e.g. \"12-31\"");
    else inv.fiscal_year_end = *fy;
  }
  read_texts(root, "purposes", inv.purposes);
  read_texts(root, "recipients", inv.recipients);
  read_texts(root, "data_subjects", inv.data_subjects, false);
  if (inv.data_subjects.empty()) {
    LocalText customers;
    customers.by_language = {{"en", "Customers and prospective customers who write to the shop and order"},
                             {"fr", "Clients et prospects qui écrivent à la boutique et commandent"},
                             {"de", "Kunden und Interessenten, die dem Shop schreiben und bestellen"}};
    inv.data_subjects.emplace("customers", std::move(customers));
  }
  if (const json* t = root.get("transfers", false)) {
    if (!t->is_array()) {
      root.err("transfers", "must be an array of {\"recipient\", \"destination\", \"safeguard\"}");
    } else {
      for (std::size_t i = 0; i < t->size(); ++i) {
        const std::string path = "transfers[" + std::to_string(i) + "]";
        Reader r((*t)[i], path, errors);
        if (!(*t)[i].is_object()) continue;
        Transfer tr;
        bool good = true;
        if (auto rec = r.string("recipient", true, 64)) {
          if (!inv.recipients.contains(*rec)) {
            r.err("recipient", "unknown recipient \"" + *rec + "\" (declare it under recipients)");
            good = false;
          }
          tr.recipient = *rec;
        } else {
          good = false;
        }
        if (auto d = r.local("destination", true)) tr.destination = *d; else good = false;
        if (auto g = r.local("safeguard", true)) tr.safeguard = *g; else good = false;
        r.finish();
        if (good) inv.transfers.push_back(std::move(tr));
      }
    }
  }
  if (const json* cats = root.get("categories", true)) {
    if (!cats->is_array()) {
      root.err("categories", "must be an array");
    } else {
      for (std::size_t i = 0; i < cats->size(); ++i) {
        read_category((*cats)[i], "categories[" + std::to_string(i) + "]", inv, errors, inv.categories);
      }
    }
  }
  root.finish();
  // Cross-checks: unique ids; a field belongs to one category only.
  std::map<std::string, std::string> field_owner;
  std::set<std::string> ids;
  for (std::size_t i = 0; i < inv.categories.size(); ++i) {
    const auto& c = inv.categories[i];
    if (!ids.insert(c.id).second) errors.add("categories (id " + c.id + ")", "the id is declared twice");
    for (const auto& f : c.fields) {
      auto [it, inserted] = field_owner.emplace(f, c.id);
      if (!inserted) {
        errors.add("categories (id " + c.id + ").fields", "\"" + f + "\" is already declared in category " + it->second);
      }
    }
  }
  if (!errors.empty()) {
    std::string msg;
    for (const auto& e : errors.items()) msg += std::string(source_name) + ": " + e + "\n";
    if (!msg.empty()) msg.pop_back();
    return fail(Errc::config, msg);
  }
  return inv;
}

Result<Inventory> load_inventory(const std::filesystem::path& file) {
  auto text = files::read(file, kMaxInventoryBytes);
  if (!text) return fail(Errc::config, "cannot read the data inventory " + file.string() + ": " + text.error().message);
  return parse_inventory(*text, file.filename().string());
}

Result<Inventory> default_inventory() {
  auto text = assets::find("privacy/inventory.json");
  if (!text) return fail(Errc::internal, "the built-in data inventory is missing");
  return parse_inventory(*text, "inventory.json (built in)");
}

}  // namespace comptoir::privacy

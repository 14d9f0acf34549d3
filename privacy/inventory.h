// The data inventory: the merchant's single declaration of every category of personal data the
// shop holds — what it is, which stored fields hold it, whether it is collected at all, why, on
// which legal basis, where it comes from, who receives it, how long it is kept and what erasure
// does to it. The running system obeys it: startup refuses an inventory that does not match the
// fields the code stores (see registry.h), ingestion keeps only what is declared collected, and
// the privacy notice is generated from it. Format: docs/privacy.md; default:
// config/privacy/inventory.json (built into the binary).
// Immutable after parsing; share freely between threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/error.h"

namespace comptoir::privacy {

// A text in several languages ("en" is required; "fr" and "de" fall back to "en").
struct LocalText {
  std::map<std::string, std::string, std::less<>> by_language;
  const std::string& in(std::string_view language) const;
  bool empty() const { return by_language.empty(); }
};

// Art. 6(1)(a)–(f) GDPR.
enum class LegalBasis { consent, contract, legal_obligation, vital_interests, public_task, legitimate_interests };
std::string_view letter(LegalBasis b);  // "a" … "f"

struct Basis {
  LegalBasis basis = LegalBasis::contract;
  // (c): the legal obligation, named; (f): the legitimate interest pursued. Empty otherwise.
  LocalText detail;
};

enum class Source { customer, messaging_platform, derived };
std::string_view to_string(Source s);

// What starts a retention period.
enum class RetentionStart {
  collection,                   // the moment the data was stored
  last_activity,                // the customer's last message
  order_completion,             // the order reached completed or cancelled
  end_of_fiscal_year_of_order,  // the end of the fiscal year in which the order was placed
  consent_withdrawal,           // the customer withdrew the consent it was kept for
};
std::string_view to_string(RetentionStart s);

// An ISO 8601 duration limited to whole years, months, weeks, days, hours and minutes
// ("P10Y", "P6M", "P30D", "PT12H").
struct Duration {
  int years = 0, months = 0, days = 0, hours = 0, minutes = 0;
  std::string text;  // as written
  bool is_zero() const { return years == 0 && months == 0 && days == 0 && hours == 0 && minutes == 0; }
  // The instant `from + this` (UTC calendar arithmetic; a month end clamps: Jan 31 + P1M = Feb 28/29).
  std::int64_t after(std::int64_t from_unix) const;
};
Result<Duration> parse_duration(std::string_view text);

struct Retention {
  Duration duration;
  RetentionStart from = RetentionStart::collection;
};

// When the events that start retention periods happened for one record (unix seconds).
struct RetentionEvents {
  std::optional<std::int64_t> collection, last_activity, order_placed, order_completion, consent_withdrawal;
};
// The end of `r` for a record; nullopt while its starting event has not happened (an open order
// is not yet "completed"). `fiscal_year_end` is "MM-DD": the fiscal year of an order placed on
// 2026-03-05 with "12-31" ends at 2027-01-01T00:00:00Z.
std::optional<std::int64_t> retention_end(const Retention& r, const RetentionEvents& events, std::string_view fiscal_year_end);

enum class ErasureOutcome {
  erase,            // deleted (or made unreadable by shredding the customer's key)
  keep_restricted,  // detached from the customer's identity, kept restricted until `until` ends
  expire,           // not linked to the customer: it cannot be found for them; it expires on its retention
  unlink,           // the link to the customer is cut; kept, anonymous, until its retention ends
};
std::string_view to_string(ErasureOutcome o);

struct Erasure {
  ErasureOutcome outcome = ErasureOutcome::erase;
  std::optional<Retention> until;  // keep_restricted only
  std::optional<Basis> basis;      // keep_restricted only: why it may be kept (Art. 17(3))
};

struct Category {
  std::string id;
  LocalText name;
  LocalText description;
  std::vector<std::string> fields;  // "table.column" or "table.*" (every registered column of the table)
  bool collected = true;
  std::vector<std::string> purposes;  // ids into Inventory::purposes
  Basis legal_basis;
  Source source = Source::customer;
  std::vector<std::string> recipients;  // ids into Inventory::recipients
  Retention retention;
  Erasure erasure;
};

struct Controller {
  std::string name;     // empty: the config's shop.name
  std::string address;  // postal address
  std::string email;    // empty: the config's shop.contact
  std::string phone;
  std::string dpo;      // data protection officer contact, if any
};

// A transfer of personal data to a third country (Art. 44–49 GDPR), for the records of
// processing (Art. 30(1)(e)): which recipient, where to, and on which ground.
struct Transfer {
  std::string recipient;   // id into Inventory::recipients
  LocalText destination;   // the country (and who is there)
  LocalText safeguard;     // adequacy decision, standard contractual clauses, Art. 49 derogation …
};

struct SupervisoryAuthority {
  LocalText name;
  std::string url;
};

struct Inventory {
  int format = 1;
  Controller controller;
  SupervisoryAuthority supervisory_authority;
  std::string fiscal_year_end = "12-31";  // MM-DD
  std::map<std::string, LocalText, std::less<>> purposes;
  std::map<std::string, LocalText, std::less<>> recipients;
  // Categories of data subjects (Art. 30(1)(c)); optional in the file, default: the shop's customers.
  std::map<std::string, LocalText, std::less<>> data_subjects;
  std::vector<Transfer> transfers;  // optional; none when absent
  std::vector<Category> categories;

  const Category* category(std::string_view id) const;
  // The category holding a registered field ("table.column"), or nullptr.
  const Category* category_of_field(std::string_view field) const;
  // True when the category exists and is declared collected.
  bool collects(std::string_view category_id) const;
};

// Reads an inventory. Errors (Errc::config) list every problem, one per line, each naming the
// file and its JSON path ("inventory.json: categories[2].retention.duration: …") or line:column
// for syntax errors. Checks the format only; registry.h checks it against the code.
Result<Inventory> parse_inventory(std::string_view text, std::string_view source_name);
Result<Inventory> load_inventory(const std::filesystem::path& file);
// The inventory built into the binary (config/privacy/inventory.json).
Result<Inventory> default_inventory();

}  // namespace comptoir::privacy

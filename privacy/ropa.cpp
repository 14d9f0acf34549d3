#include "privacy/ropa.h"

#include <chrono>
#include <set>

#include <nlohmann/json.hpp>

#include "src/common/env.h"

namespace comptoir::privacy {

namespace {

using nlohmann::json;

std::string language_of(const RopaContext& c) {
  return c.language == "fr" || c.language == "de" ? c.language : std::string("en");
}

std::string event_text(RetentionStart s) {
  switch (s) {
    case RetentionStart::collection: return "after collection";
    case RetentionStart::last_activity: return "after the customer's last message";
    case RetentionStart::order_completion: return "after the order is completed or cancelled";
    case RetentionStart::end_of_fiscal_year_of_order: return "after the end of the fiscal year in which the order was placed";
    case RetentionStart::consent_withdrawal: return "after the consent is withdrawn";
  }
  return "";
}

std::string duration_text(const Duration& d) {
  std::string out;
  auto part = [&](int n, const char* unit) {
    if (n == 0) return;
    out += (out.empty() ? "" : " ") + std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
  };
  part(d.years, "year");
  part(d.months, "month");
  part(d.days, "day");
  part(d.hours, "hour");
  part(d.minutes, "minute");
  return out.empty() ? "0 days" : out;
}

std::string retention_text(const Retention& r) { return duration_text(r.duration) + " " + event_text(r.from); }

json retention_json(const Retention& r) {
  return {{"duration", r.duration.text}, {"from", std::string(to_string(r.from))}, {"text", retention_text(r)}};
}

std::string article_of(LegalBasis b) { return "Art. 6(1)(" + std::string(letter(b)) + ")"; }

json basis_json(const Basis& b, const std::string& lang) {
  json j = {{"article", article_of(b.basis)}};
  j["detail"] = b.detail.empty() ? json(nullptr) : json(b.detail.in(lang));
  return j;
}

std::string outcome_text(const Category& c) {
  switch (c.erasure.outcome) {
    case ErasureOutcome::erase: return "erased";
    case ErasureOutcome::expire: return "not linked to the customer; deleted when its retention ends";
    case ErasureOutcome::unlink: return "the link to the customer is cut; deleted when its retention ends";
    case ErasureOutcome::keep_restricted:
      return "detached from the customer and kept restricted for " +
             (c.erasure.until ? retention_text(*c.erasure.until) : std::string("its retention")) + ", then deleted";
  }
  return "";
}

json build(const Inventory& inv, const RopaContext& ctx) {
  const std::string lang = language_of(ctx);
  json doc;
  doc["format"] = std::string(kRopaFormat);
  doc["generated_at"] = format_rfc3339(TimePoint(std::chrono::seconds(ctx.generated_at)));
  doc["language"] = lang;
  doc["controller"] = {{"name", inv.controller.name.empty() ? ctx.shop_name : inv.controller.name},
                       {"address", inv.controller.address},
                       {"email", inv.controller.email.empty() ? ctx.shop_contact : inv.controller.email},
                       {"phone", inv.controller.phone}};
  doc["data_protection_officer"] = inv.controller.dpo.empty() ? json(nullptr) : json(inv.controller.dpo);
  doc["supervisory_authority"] = {{"name", inv.supervisory_authority.name.in(lang)}, {"url", inv.supervisory_authority.url}};

  json subjects = json::array();
  std::vector<std::string> subject_ids;
  for (const auto& [id, text] : inv.data_subjects) {
    subjects.push_back({{"id", id}, {"description", text.in(lang)}});
    subject_ids.push_back(id);
  }
  doc["data_subjects"] = subjects;

  json activities = json::array();
  for (const auto& [purpose, text] : inv.purposes) {
    json cats = json::array(), bases = json::array(), retention = json::array();
    std::set<std::string> recipients, seen_bases;
    for (const auto& c : inv.categories) {
      if (!c.collected) continue;
      bool uses = false;
      for (const auto& p : c.purposes) uses = uses || p == purpose;
      if (!uses) continue;
      cats.push_back(c.id);
      const std::string key = article_of(c.legal_basis.basis) + "|" + c.legal_basis.detail.in(lang);
      if (seen_bases.insert(key).second) bases.push_back(basis_json(c.legal_basis, lang));
      for (const auto& r : c.recipients) recipients.insert(r);
      retention.push_back({{"category", c.id}, {"text", retention_text(c.retention)}});
    }
    if (cats.empty()) continue;  // a purpose only of data not collected
    activities.push_back({{"purpose", purpose},
                          {"description", text.in(lang)},
                          {"legal_bases", bases},
                          {"data_subjects", subject_ids},
                          {"categories_of_data", cats},
                          {"recipients", std::vector<std::string>(recipients.begin(), recipients.end())},
                          {"retention", retention}});
  }
  doc["processing_activities"] = activities;

  json categories = json::array(), not_collected = json::array();
  for (const auto& c : inv.categories) {
    json j = {{"id", c.id},
              {"name", c.name.in(lang)},
              {"description", c.description.in(lang)},
              {"fields", c.fields},
              {"purposes", c.purposes},
              {"legal_basis", basis_json(c.legal_basis, lang)},
              {"source", std::string(to_string(c.source))},
              {"recipients", c.recipients},
              {"retention", retention_json(c.retention)},
              {"erasure", {{"outcome", std::string(to_string(c.erasure.outcome))}, {"text", outcome_text(c)}}}};
    if (c.erasure.until) j["erasure"]["until"] = retention_json(*c.erasure.until);
    if (c.erasure.basis) j["erasure"]["legal_basis"] = basis_json(*c.erasure.basis, lang);
    if (c.collected) categories.push_back(std::move(j));
    else not_collected.push_back({{"id", c.id}, {"name", c.name.in(lang)}});
  }
  doc["categories_of_data"] = categories;
  doc["not_collected"] = not_collected;

  json recipients = json::array();
  for (const auto& [id, text] : inv.recipients) {
    json transfers = json::array();
    for (const auto& t : inv.transfers) {
      if (t.recipient == id) transfers.push_back({{"destination", t.destination.in(lang)}, {"safeguard", t.safeguard.in(lang)}});
    }
    recipients.push_back({{"id", id}, {"description", text.in(lang)}, {"third_country_transfers", transfers}});
  }
  doc["recipients"] = recipients;
  json transfers = json::array();
  for (const auto& t : inv.transfers) {
    transfers.push_back({{"recipient", t.recipient}, {"destination", t.destination.in(lang)}, {"safeguard", t.safeguard.in(lang)}});
  }
  doc["third_country_transfers"] = transfers;
  doc["security_measures"] = security_measures();
  return doc;
}

// Markdown table cells: no line breaks, pipes escaped.
std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out;
}

std::string join(const json& list, const std::string& sep = ", ") {
  std::string out;
  for (const auto& v : list) out += (out.empty() ? "" : sep) + (v.is_string() ? v.get<std::string>() : v.dump());
  return out.empty() ? "none" : out;
}

std::string str(const json& v) { return v.is_string() ? v.get<std::string>() : std::string("—"); }

}  // namespace

std::vector<std::string> security_measures() {
  return {
      "Encryption at rest: the whole database is encrypted with SQLCipher under a 256-bit key derived from the master key "
      "(a 0600 key file, or a passphrase stretched with Argon2id); the master key can be rotated (comptoir rekey).",
      "Per-customer keys: every personal field that identifies or describes a customer is additionally sealed with "
      "XChaCha20-Poly1305 under that customer's own data key, with associated data binding table, column and row; the "
      "data keys are stored only wrapped by a key-wrapping key.",
      "Crypto-shredding: erasing a customer (on request or at the end of retention) destroys their data key first, so "
      "sealed copies anywhere (backups, free pages) become unreadable.",
      "Pseudonymisation: customers are found by a keyed BLAKE2b blind index of their channel address; addresses are never "
      "stored in the clear.",
      "Minimisation: only data declared collected in the data inventory is stored; undeclared data (e.g. messaging profile "
      "names) is dropped on arrival; IP addresses are not stored.",
      "Storage limitation: a retention sweep deletes records when their declared retention ends, in small transactions; "
      "legal holds on orders kept for the books end by themselves.",
      "Keys in memory are held in locked, guarded memory (libsodium), compared in constant time and never written to logs.",
      "Access control: the admin API requires bearer tokens with a role (owner, operator, auditor); tokens are stored only "
      "as keyed hashes, can be revoked, and failed authentications are rate-limited.",
      "Authenticated channels: WhatsApp webhooks are checked against their HMAC-SHA256 signature and Telegram webhooks "
      "against their secret token, in constant time.",
      "Logs and audit events hold pseudonymous ids, counts and codes only, never names, addresses, phone numbers or chat "
      "texts.",
      "Network: the server listens on loopback by default; Internet exposure is documented through a TLS reverse proxy, "
      "with request size limits, timeouts and a bounded request queue.",
  };
}

std::string ropa_json(const Inventory& inventory, const RopaContext& context) { return build(inventory, context).dump(2); }

std::string ropa_markdown(const Inventory& inventory, const RopaContext& context) {
  const json d = build(inventory, context);
  std::string m;
  m += "# Records of processing activities (Art. 30(1) GDPR)\n\n";
  m += "Generated " + d["generated_at"].get<std::string>() + " by Comptoir from the data inventory (format " +
       std::string(kRopaFormat) + ").\n\n";
  m += "## Controller\n\n";
  const auto& c = d["controller"];
  m += "- Name: " + cell(str(c["name"])) + "\n";
  m += "- Address: " + cell(c["address"].get<std::string>().empty() ? "—" : c["address"].get<std::string>()) + "\n";
  m += "- Contact: " + cell(c["email"].get<std::string>().empty() ? "—" : c["email"].get<std::string>()) +
       (c["phone"].get<std::string>().empty() ? "" : ", " + cell(c["phone"].get<std::string>())) + "\n";
  m += "- Data protection officer: " + cell(str(d["data_protection_officer"])) + "\n";
  m += "- Supervisory authority: " + cell(str(d["supervisory_authority"]["name"])) +
       (d["supervisory_authority"]["url"].get<std::string>().empty() ? "" : " (" + d["supervisory_authority"]["url"].get<std::string>() + ")") +
       "\n\n";
  m += "## Categories of data subjects\n\n";
  for (const auto& s : d["data_subjects"]) m += "- `" + s["id"].get<std::string>() + "`: " + cell(s["description"]) + "\n";
  m += "\n## Processing activities\n\n";
  m += "| purpose | legal basis | categories of data | recipients | time limits for erasure |\n|---|---|---|---|---|\n";
  for (const auto& a : d["processing_activities"]) {
    std::string bases, retention;
    for (const auto& b : a["legal_bases"]) {
      bases += (bases.empty() ? "" : "; ") + b["article"].get<std::string>() +
               (b["detail"].is_string() ? ": " + b["detail"].get<std::string>() : std::string());
    }
    for (const auto& r : a["retention"]) {
      retention += (retention.empty() ? "" : "; ") + r["category"].get<std::string>() + ": " + r["text"].get<std::string>();
    }
    m += "| " + cell(a["description"].get<std::string>()) + " (`" + a["purpose"].get<std::string>() + "`) | " + cell(bases) +
         " | " + cell(join(a["categories_of_data"])) + " | " + cell(join(a["recipients"])) + " | " + cell(retention) + " |\n";
  }
  m += "\n## Categories of personal data\n\n";
  m += "| category | description | legal basis | source | recipients | retention | on erasure |\n|---|---|---|---|---|---|---|\n";
  for (const auto& k : d["categories_of_data"]) {
    m += "| " + cell(k["name"].get<std::string>()) + " (`" + k["id"].get<std::string>() + "`) | " +
         cell(k["description"].get<std::string>()) + " | " + k["legal_basis"]["article"].get<std::string>() + " | " +
         k["source"].get<std::string>() + " | " + cell(join(k["recipients"])) + " | " + cell(k["retention"]["text"]) + " | " +
         cell(k["erasure"]["text"]) + " |\n";
  }
  if (!d["not_collected"].empty()) {
    m += "\nDeclared but not collected: ";
    std::string list;
    for (const auto& k : d["not_collected"]) list += (list.empty() ? "" : ", ") + k["name"].get<std::string>() + " (`" + k["id"].get<std::string>() + "`)";
    m += list + ".\n";
  }
  m += "\n## Recipients\n\n";
  for (const auto& r : d["recipients"]) m += "- `" + r["id"].get<std::string>() + "`: " + cell(r["description"]) + "\n";
  m += "\n## Transfers to third countries\n\n";
  if (d["third_country_transfers"].empty()) m += "None.\n";
  for (const auto& t : d["third_country_transfers"]) {
    m += "- `" + t["recipient"].get<std::string>() + "` → " + cell(t["destination"]) + ". Safeguard: " + cell(t["safeguard"]) + "\n";
  }
  m += "\n## Technical and organisational security measures (Art. 32)\n\n";
  for (const auto& s : d["security_measures"]) m += "- " + s.get<std::string>() + "\n";
  return m;
}

}  // namespace comptoir::privacy

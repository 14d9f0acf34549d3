#include "src/rights/export.h"

#include <map>

#include <nlohmann/json.hpp>

#include "privacy/registry.h"
#include "src/common/encoding.h"
#include "storage/row_reader.h"

namespace comptoir::rights {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

std::string table_of(std::string_view field) { return std::string(field.substr(0, field.find('.'))); }

// The registered fields of `table` that belong to `category` (explicitly or through "table.*").
std::vector<const privacy::RegisteredField*> fields_of(const privacy::Category& category, const std::string& table) {
  std::vector<const privacy::RegisteredField*> out;
  for (const auto& f : privacy::registered_fields()) {
    if (table_of(f.name) != table) continue;
    for (const auto& declared : category.fields) {
      if (declared == f.name || declared == table + ".*") {
        out.push_back(&f);
        break;
      }
    }
  }
  return out;
}

ordered_json texts(const std::vector<std::string>& ids, const std::map<std::string, privacy::LocalText, std::less<>>& table,
                   const std::string& lang) {
  ordered_json a = ordered_json::array();
  for (const auto& id : ids) {
    auto it = table.find(id);
    a.push_back({{"id", id}, {"text", it == table.end() ? id : it->second.in(lang)}});
  }
  return a;
}

ordered_json retention_json(const privacy::Retention& r) {
  return {{"duration", r.duration.text}, {"from", std::string(privacy::to_string(r.from))}};
}

ordered_json basis_json(const privacy::Basis& b, const std::string& lang) {
  ordered_json j = {{"article", "Art. 6(1)(" + std::string(privacy::letter(b.basis)) + ") GDPR"}};
  if (!b.detail.empty()) j["detail"] = b.detail.in(lang);
  return j;
}

// A stored value as JSON. Sealed text that is itself a JSON document (conversation state, queued
// replies) is embedded as such, so the export stays readable.
ordered_json value_json(const storage::Value& v) {
  if (std::holds_alternative<std::monostate>(v)) return nullptr;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return base64url_encode(std::get<std::vector<std::uint8_t>>(v));
}

ordered_json opened_json(const std::string& text) {
  if (!text.empty() && (text.front() == '{' || text.front() == '[')) {
    ordered_json j = ordered_json::parse(text, nullptr, false);
    if (!j.is_discarded()) return j;
  }
  return text;
}

struct Texts {
  const char* en;
  const char* fr;
  const char* de;
};

constexpr Texts kComplaint = {
    "You have the right to lodge a complaint with a supervisory authority (Art. 77 GDPR), in particular in the "
    "Member State of your habitual residence, place of work or of the alleged infringement.",
    "Vous avez le droit d'introduire une réclamation auprès d'une autorité de contrôle (art. 77 RGPD), en particulier "
    "dans l'État membre de votre résidence habituelle, de votre lieu de travail ou du lieu de la violation alléguée.",
    "Sie haben das Recht, sich bei einer Aufsichtsbehörde zu beschweren (Art. 77 DSGVO), insbesondere in dem "
    "Mitgliedstaat Ihres gewöhnlichen Aufenthalts, Ihres Arbeitsplatzes oder des Orts des mutmaßlichen Verstoßes."};

constexpr Texts kNoAutomatedDecisions = {
    "No decision about you is based solely on automated processing, and no profile of you is built (Art. 22 GDPR).",
    "Aucune décision vous concernant n'est fondée exclusivement sur un traitement automatisé, et aucun profil de vous "
    "n'est établi (art. 22 RGPD).",
    "Keine Sie betreffende Entscheidung beruht ausschließlich auf einer automatisierten Verarbeitung, und es wird kein "
    "Profil von Ihnen erstellt (Art. 22 DSGVO)."};

std::string localized(const Texts& t, const std::string& lang) {
  if (lang == "fr") return t.fr;
  if (lang == "de") return t.de;
  return t.en;
}

}  // namespace

Result<std::string> export_subject(storage::Tx& tx, const privacy::Inventory& inventory, privacy::Vault& vault,
                                   const ExportSubject& subject, const ExportContext& context, const Clock& clock) {
  const std::string& lang = context.language;
  ordered_json doc;
  doc["format"] = kExportFormat;
  doc["generated_at"] = format_rfc3339(clock.now());
  doc["language"] = lang;
  const auto& c = inventory.controller;
  doc["controller"] = {{"name", c.name.empty() ? context.shop_name : c.name},
                       {"address", c.address},
                       {"contact", c.email.empty() ? context.shop_contact : c.email},
                       {"phone", c.phone},
                       {"dpo", c.dpo}};
  doc["subject"] = {{"reference", subject.subject_id}};
  ordered_json categories = ordered_json::array();
  ordered_json not_collected = ordered_json::array();
  for (const auto& cat : inventory.categories) {
    if (!cat.collected) {
      not_collected.push_back({{"id", cat.id}, {"name", cat.name.in(lang)}, {"description", cat.description.in(lang)}});
      continue;
    }
    ordered_json cj;
    cj["id"] = cat.id;
    cj["name"] = cat.name.in(lang);
    cj["description"] = cat.description.in(lang);
    cj["purposes"] = texts(cat.purposes, inventory.purposes, lang);
    cj["legal_basis"] = basis_json(cat.legal_basis, lang);
    cj["source"] = std::string(privacy::to_string(cat.source));
    cj["recipients"] = texts(cat.recipients, inventory.recipients, lang);
    cj["retention"] = retention_json(cat.retention);
    ordered_json erasure = {{"outcome", std::string(privacy::to_string(cat.erasure.outcome))}};
    if (cat.erasure.until) erasure["until"] = retention_json(*cat.erasure.until);
    if (cat.erasure.basis) erasure["legal_basis"] = basis_json(*cat.erasure.basis, lang);
    cj["erasure"] = erasure;

    // The tables this category's fields live in, in registry order.
    ordered_json records = ordered_json::array();
    bool linked = false, unlinked = false;
    for (const auto& table : storage::customer_tables()) {
      const std::string name(table.name);
      const auto fields = fields_of(cat, name);
      if (fields.empty()) continue;
      if (!table.linked) {
        unlinked = true;
        continue;
      }
      linked = true;
      std::vector<storage::Column> columns;
      for (const auto* f : fields) {
        const std::string column(f->name.substr(f->name.find('.') + 1));
        columns.push_back({column});
        if (f->protection == privacy::Protection::sealed) columns.push_back({column, true});
      }
      auto rows = storage::customer_rows(tx, name, columns, subject.customer_id);
      if (!rows) return std::unexpected(rows.error());
      for (const auto& row : rows->rows) {
        ordered_json fields_json = ordered_json::object();
        std::size_t col = 0;
        for (const auto* f : fields) {
          const storage::Value& v = row[col++];
          if (f->protection != privacy::Protection::sealed) {
            fields_json[std::string(f->name)] = value_json(v);
            continue;
          }
          const storage::Value& place_row = row[col++];
          const auto* sealed = std::get_if<std::vector<std::uint8_t>>(&v);
          if (sealed == nullptr) {
            fields_json[std::string(f->name)] = nullptr;
            continue;
          }
          std::string row_key;
          if (const auto* s = std::get_if<std::string>(&place_row)) row_key = *s;
          else if (const auto* i = std::get_if<std::int64_t>(&place_row)) row_key = std::to_string(*i);
          const std::string column(f->place_column);
          auto opened = vault.open(tx, subject.subject_id, {name, column, row_key}, *sealed);
          if (!opened) return std::unexpected(opened.error());
          fields_json[std::string(f->name)] = opened_json(*opened);
        }
        records.push_back({{"table", name}, {"fields", std::move(fields_json)}});
      }
    }
    cj["records"] = std::move(records);
    if (unlinked && !linked) cj["note"] = "not linked to the customer: it cannot be found for them and expires with its retention";
    categories.push_back(std::move(cj));
  }
  doc["categories"] = std::move(categories);
  doc["not_collected"] = std::move(not_collected);
  doc["supervisory_authority"] = {{"name", inventory.supervisory_authority.name.in(lang)},
                                  {"url", inventory.supervisory_authority.url},
                                  {"right_to_complain", localized(kComplaint, lang)}};
  // Art. 15(1)(h): Comptoir takes no decision based solely on automated processing and builds no
  // profiles; the menus only answer what the customer chose.
  doc["automated_decision_making"] = {{"used", false}, {"explanation", localized(kNoAutomatedDecisions, lang)}};
  doc["rights"] = {"access (Art. 15)", "rectification (Art. 16)", "erasure (Art. 17)", "restriction (Art. 18)",
                   "portability (Art. 20)", "objection (Art. 21)", "withdrawal of consent (Art. 7(3))",
                   "complaint to a supervisory authority (Art. 77)"};
  return doc.dump(2);
}

}  // namespace comptoir::rights

#include "src/rights/export_page.h"

#include <map>

#include <nlohmann/json.hpp>

#include "privacy/notice.h"  // html_escape
#include "src/rights/export.h"

namespace comptoir::rights {

using privacy::html_escape;

using nlohmann::ordered_json;

namespace {

struct Labels {
  const char* title;
  const char* intro;
  const char* generated;
  const char* reference;
  const char* controller;
  const char* name;
  const char* address;
  const char* contact;
  const char* phone;
  const char* dpo;
  const char* data_we_hold;
  const char* purposes;
  const char* legal_basis;
  const char* source;
  const char* recipients;
  const char* retention;
  const char* after_erasure;
  const char* records;
  const char* no_records;
  const char* field;
  const char* value;
  const char* not_collected;
  const char* your_rights;
  const char* complaint;
  const char* automated;
  const char* until;
  const char* from;
  std::map<std::string, std::string> sources;
  std::map<std::string, std::string> outcomes;
};

const Labels& labels(std::string_view lang) {
  static const Labels en{
      "Your personal data",
      "This page shows every piece of personal data the shop holds about you, and why. The same data is available as a "
      "JSON file (format comptoir.export.v1).",
      "Generated",
      "Your pseudonymous reference",
      "Who is responsible (controller)",
      "Name", "Address", "Contact", "Phone", "Data protection officer",
      "The data we hold about you",
      "Purposes", "Legal basis", "Source", "Recipients", "Retention", "After an erasure", "Records",
      "We hold no record of this category about you.", "Field", "Value",
      "Categories we do not collect",
      "Your rights",
      "Right to complain",
      "Automated decisions",
      "until", "from",
      {{"customer", "you"}, {"messaging_platform", "the messaging platform you wrote from"}, {"derived", "derived by the shop"}},
      {{"erase", "erased"},
       {"keep_restricted", "kept, detached from you and restricted, for the legal retention period"},
       {"expire", "not linked to you: it expires with its retention"},
       {"unlink", "kept without its link to you"}}};
  static const Labels fr{
      "Vos données personnelles",
      "Cette page montre toutes les données personnelles que la boutique détient sur vous, et pourquoi. Les mêmes "
      "données sont disponibles sous forme de fichier JSON (format comptoir.export.v1).",
      "Généré le",
      "Votre référence pseudonyme",
      "Responsable du traitement",
      "Nom", "Adresse", "Contact", "Téléphone", "Délégué à la protection des données",
      "Les données que nous détenons sur vous",
      "Finalités", "Base légale", "Source", "Destinataires", "Conservation", "Après un effacement", "Enregistrements",
      "Nous ne détenons aucun enregistrement de cette catégorie vous concernant.", "Champ", "Valeur",
      "Catégories que nous ne collectons pas",
      "Vos droits",
      "Droit de réclamation",
      "Décisions automatisées",
      "jusqu'au", "à partir de",
      {{"customer", "vous"}, {"messaging_platform", "la messagerie depuis laquelle vous avez écrit"}, {"derived", "déduit par la boutique"}},
      {{"erase", "effacé"},
       {"keep_restricted", "conservé, détaché de vous et limité, pendant la durée légale de conservation"},
       {"expire", "non lié à vous : expire avec sa durée de conservation"},
       {"unlink", "conservé sans lien avec vous"}}};
  static const Labels de{
      "Ihre personenbezogenen Daten",
      "Diese Seite zeigt alle personenbezogenen Daten, die der Shop über Sie gespeichert hat, und warum. Dieselben "
      "Daten gibt es als JSON-Datei (Format comptoir.export.v1).",
      "Erstellt",
      "Ihre pseudonyme Kennung",
      "Verantwortlicher",
      "Name", "Anschrift", "Kontakt", "Telefon", "Datenschutzbeauftragte(r)",
      "Die Daten, die wir über Sie speichern",
      "Zwecke", "Rechtsgrundlage", "Herkunft", "Empfänger", "Speicherdauer", "Nach einer Löschung", "Datensätze",
      "Wir speichern keine Datensätze dieser Kategorie über Sie.", "Feld", "Wert",
      "Kategorien, die wir nicht erheben",
      "Ihre Rechte",
      "Beschwerderecht",
      "Automatisierte Entscheidungen",
      "bis", "ab",
      {{"customer", "Sie"}, {"messaging_platform", "der Messenger, über den Sie geschrieben haben"}, {"derived", "vom Shop abgeleitet"}},
      {{"erase", "gelöscht"},
       {"keep_restricted", "aufbewahrt, von Ihnen getrennt und eingeschränkt, für die gesetzliche Aufbewahrungsfrist"},
       {"expire", "nicht mit Ihnen verknüpft: läuft mit seiner Speicherdauer ab"},
       {"unlink", "ohne Verknüpfung mit Ihnen aufbewahrt"}}};
  if (lang == "fr") return fr;
  if (lang == "de") return de;
  return en;
}

std::string text_of(const ordered_json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return "";
  return j.dump();
}

std::string str(const ordered_json& o, const char* key) {
  if (!o.is_object() || !o.contains(key)) return "";
  return text_of(o[key]);
}

std::string lookup(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? key : it->second;
}

// A stored value: text as it is; structured values (a conversation state) as indented JSON.
std::string value_html(const ordered_json& v) {
  if (v.is_null()) return "<span class=\"none\">—</span>";
  if (v.is_object() || v.is_array()) return "<pre>" + html_escape(v.dump(2)) + "</pre>";
  return html_escape(text_of(v));
}

std::string retention_html(const ordered_json& r, const Labels& l) {
  if (!r.is_object()) return "";
  return html_escape(str(r, "duration")) + " " + html_escape(l.from) + " <code>" + html_escape(str(r, "from")) + "</code>";
}

std::string list_texts(const ordered_json& a) {
  std::string out = "<ul>";
  if (a.is_array()) {
    for (const auto& x : a) out += "<li>" + html_escape(x.is_object() ? str(x, "text") : text_of(x)) + "</li>";
  }
  return out + "</ul>";
}

constexpr const char* kStyle =
    "body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}"
    "h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd}"
    "h3{font-size:1.05rem;margin-bottom:.25rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}"
    "dt{font-weight:600}dd{margin:0}table{border-collapse:collapse;width:100%;margin:.5rem 0}"
    "td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}"
    "pre{white-space:pre-wrap;margin:0;font-size:.85rem}.none{color:#888}section{margin-bottom:1.5rem}";

}  // namespace

Result<std::string> export_page(const std::string& export_json, std::string_view language) {
  const ordered_json doc = ordered_json::parse(export_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || str(doc, "format") != kExportFormat || !doc.contains("categories") ||
      !doc["categories"].is_array()) {
    return fail(Errc::invalid_argument, "not an export document");
  }
  const std::string lang = language == "fr" || language == "de" ? std::string(language) : std::string("en");
  const Labels& l = labels(lang);
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"" + lang + "\"><head><meta charset=\"utf-8\">";
  h += "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">";
  h += "<meta name=\"referrer\" content=\"no-referrer\">";
  h += "<title>" + html_escape(l.title) + "</title><style>" + std::string(kStyle) + "</style></head><body>\n";
  h += "<h1>" + html_escape(l.title) + "</h1>\n<p>" + html_escape(l.intro) + "</p>\n<dl>";
  h += "<dt>" + html_escape(l.generated) + "</dt><dd>" + html_escape(str(doc, "generated_at")) + "</dd>";
  h += "<dt>" + html_escape(l.reference) + "</dt><dd><code>" + html_escape(str(doc["subject"], "reference")) + "</code></dd>";
  h += "</dl>\n";

  h += "<h2 id=\"controller\">" + html_escape(l.controller) + "</h2>\n<dl>";
  const ordered_json& c = doc.contains("controller") ? doc["controller"] : ordered_json::object();
  for (const auto& [key, label] : std::vector<std::pair<const char*, const char*>>{
           {"name", l.name}, {"address", l.address}, {"contact", l.contact}, {"phone", l.phone}, {"dpo", l.dpo}}) {
    const std::string v = str(c, key);
    if (!v.empty()) h += "<dt>" + html_escape(label) + "</dt><dd>" + html_escape(v) + "</dd>";
  }
  h += "</dl>\n";

  h += "<h2 id=\"data\">" + html_escape(l.data_we_hold) + "</h2>\n";
  for (const auto& cat : doc["categories"]) {
    const std::string id = str(cat, "id");
    h += "<section id=\"" + html_escape(id) + "\"><h3>" + html_escape(str(cat, "name")) + "</h3>";
    h += "<p>" + html_escape(str(cat, "description")) + "</p><dl>";
    h += "<dt>" + html_escape(l.purposes) + "</dt><dd>" + list_texts(cat.value("purposes", ordered_json::array())) + "</dd>";
    const ordered_json& b = cat.contains("legal_basis") ? cat["legal_basis"] : ordered_json::object();
    h += "<dt>" + html_escape(l.legal_basis) + "</dt><dd>" + html_escape(str(b, "article"));
    if (!str(b, "detail").empty()) h += " — " + html_escape(str(b, "detail"));
    h += "</dd>";
    h += "<dt>" + html_escape(l.source) + "</dt><dd>" + html_escape(lookup(l.sources, str(cat, "source"))) + "</dd>";
    h += "<dt>" + html_escape(l.recipients) + "</dt><dd>" + list_texts(cat.value("recipients", ordered_json::array())) + "</dd>";
    h += "<dt>" + html_escape(l.retention) + "</dt><dd>" + retention_html(cat.value("retention", ordered_json()), l) + "</dd>";
    const ordered_json& e = cat.contains("erasure") ? cat["erasure"] : ordered_json::object();
    h += "<dt>" + html_escape(l.after_erasure) + "</dt><dd>" + html_escape(lookup(l.outcomes, str(e, "outcome")));
    if (e.is_object() && e.contains("until")) h += " (" + html_escape(l.until) + " " + retention_html(e["until"], l) + ")";
    if (e.is_object() && e.contains("legal_basis")) h += " — " + html_escape(str(e["legal_basis"], "article"));
    h += "</dd></dl>";
    if (!str(cat, "note").empty()) h += "<p class=\"none\">" + html_escape(str(cat, "note")) + "</p>";
    h += "<h4>" + html_escape(l.records) + "</h4>";
    const ordered_json& records = cat.contains("records") ? cat["records"] : ordered_json::array();
    if (!records.is_array() || records.empty()) {
      h += "<p class=\"none\">" + html_escape(l.no_records) + "</p>";
    } else {
      for (const auto& r : records) {
        h += "<table><tr><th>" + html_escape(l.field) + "</th><th>" + html_escape(l.value) + "</th></tr>";
        if (r.is_object() && r.contains("fields") && r["fields"].is_object()) {
          for (const auto& [field, value] : r["fields"].items()) {
            h += "<tr><td><code>" + html_escape(field) + "</code></td><td>" + value_html(value) + "</td></tr>";
          }
        }
        h += "</table>";
      }
    }
    h += "</section>\n";
  }

  if (doc.contains("not_collected") && doc["not_collected"].is_array() && !doc["not_collected"].empty()) {
    h += "<h2 id=\"not_collected\">" + html_escape(l.not_collected) + "</h2>\n<ul>";
    for (const auto& n : doc["not_collected"]) {
      h += "<li id=\"" + html_escape(str(n, "id")) + "\"><strong>" + html_escape(str(n, "name")) + "</strong>: " +
           html_escape(str(n, "description")) + "</li>";
    }
    h += "</ul>\n";
  }
  h += "<h2 id=\"rights\">" + html_escape(l.your_rights) + "</h2>\n" + list_texts(doc.value("rights", ordered_json::array()));
  const ordered_json& sa = doc.contains("supervisory_authority") ? doc["supervisory_authority"] : ordered_json::object();
  h += "<h2 id=\"complaint\">" + html_escape(l.complaint) + "</h2>\n<p>" + html_escape(str(sa, "right_to_complain")) + "</p>";
  h += "<p>" + html_escape(str(sa, "name"));
  const std::string url = str(sa, "url");
  // Only web addresses become links (never javascript: or data: URLs).
  if (url.starts_with("https://") || url.starts_with("http://")) {
    h += " — <a href=\"" + html_escape(url) + "\" rel=\"noopener noreferrer\">" + html_escape(url) + "</a>";
  } else if (!url.empty()) {
    h += " — " + html_escape(url);
  }
  h += "</p>\n";
  if (doc.contains("automated_decision_making")) {
    h += "<h2 id=\"automated\">" + html_escape(l.automated) + "</h2>\n<p>" +
         html_escape(str(doc["automated_decision_making"], "explanation")) + "</p>\n";
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace comptoir::rights

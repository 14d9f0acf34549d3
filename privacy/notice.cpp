#include "privacy/notice.h"

#include <sodium.h>

#include <nlohmann/json.hpp>

#include "src/assets/assets.h"
#include "src/common/encoding.h"
#include "src/common/files.h"
#include "src/config/json_reader.h"

namespace comptoir::privacy {

using nlohmann::json;

namespace {

const std::vector<std::string> kLanguages = {"en", "fr", "de"};

std::string replace_all(std::string s, std::string_view key, std::string_view value) {
  for (auto pos = s.find(key); pos != std::string::npos; pos = s.find(key, pos + value.size())) {
    s.replace(pos, key.size(), value);
  }
  return s;
}

std::string strip_comments(std::string s) {
  for (auto start = s.find("<!--"); start != std::string::npos; start = s.find("<!--", start)) {
    const auto end = s.find("-->", start + 4);
    if (end == std::string::npos) {
      s.erase(start);
      break;
    }
    std::size_t stop = end + 3;
    while (stop < s.size() && (s[stop] == '\n' || s[stop] == '\r')) ++stop;
    s.erase(start, stop - start);
  }
  return s;
}

// The wording of one language; every lookup of a missing key is a bug caught at build().
class Strings {
 public:
  explicit Strings(const json& lang) : lang_(lang) {}
  std::string get(const std::string& key, std::initializer_list<std::pair<std::string_view, std::string>> args = {}) const {
    auto it = lang_.find(key);
    std::string s = (it != lang_.end() && it->is_string()) ? it->get<std::string>() : key;
    for (const auto& [k, v] : args) s = replace_all(std::move(s), "{" + std::string(k) + "}", v);
    return s;
  }

 private:
  const json& lang_;
};

std::string duration_text(const Duration& d, const Strings& s) {
  std::vector<std::string> parts;
  auto add = [&](int n, const char* unit) {
    if (n == 0) return;
    const std::string base = std::string("unit.") + unit;
    parts.push_back(n == 1 ? s.get(base + ".one") : s.get(base + ".many", {{"n", std::to_string(n)}}));
  };
  add(d.years, "years");
  add(d.months, "months");
  add(d.days, "days");
  add(d.hours, "hours");
  add(d.minutes, "minutes");
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += (i + 1 == parts.size()) ? s.get("unit.and") : ", ";
    out += parts[i];
  }
  return out;
}

std::string retention_text(const Retention& r, const Strings& s) {
  return s.get("retention.rule", {{"duration", duration_text(r.duration, s)},
                                  {"event", s.get("event." + std::string(to_string(r.from)))}});
}

std::string basis_text(const Basis& b, const Strings& s, const std::string& lang) {
  return s.get("basis." + std::string(letter(b.basis)), {{"detail", b.detail.in(lang)}});
}

std::string request_forms(const Strings& s);

std::string render(const Inventory& inv, const NoticeSettings& settings, const Strings& s, const std::string& lang,
                   const std::string& merchant_part) {
  const std::string shop = html_escape(settings.shop_name.empty() ? "this shop" : settings.shop_name);
  const std::string contact_raw = !inv.controller.email.empty() ? inv.controller.email : settings.shop_contact;
  const std::string contact = html_escape(contact_raw.empty() ? (settings.shop_name.empty() ? "the shop" : settings.shop_name)
                                                              : contact_raw);
  std::string h;
  h += "<h1>" + s.get("title", {{"shop", shop}}) + "</h1>\n";
  h += replace_all(replace_all(strip_comments(merchant_part), "{shop}", shop), "{contact}", contact);
  if (!h.ends_with('\n')) h += '\n';

  // Who is responsible.
  h += "<h2>" + html_escape(s.get("controller.heading")) + "</h2>\n<p>";
  const std::string controller = inv.controller.name.empty() ? shop : html_escape(inv.controller.name);
  h += s.get("controller.text", {{"controller", controller}});
  auto line = [&](const std::string& key, const std::string& value, const char* slot) {
    if (!value.empty()) h += "<br>" + s.get(key, {{slot, html_escape(value)}});
  };
  line("controller.address", inv.controller.address, "address");
  line("controller.email", contact_raw, "email");
  line("controller.phone", inv.controller.phone, "phone");
  line("controller.dpo", inv.controller.dpo, "dpo");
  h += "</p>\n";

  // Every collected category.
  h += "<h2>" + html_escape(s.get("data.heading")) + "</h2>\n<p>" + html_escape(s.get("data.intro")) + "</p>\n";
  std::vector<const Category*> not_collected;
  for (const auto& c : inv.categories) {
    if (!c.collected) {
      not_collected.push_back(&c);
      continue;
    }
    h += "<section class=\"category\" id=\"" + c.id + "\">\n<h3>" + html_escape(c.name.in(lang)) + "</h3>\n<p>" +
         html_escape(c.description.in(lang)) + "</p>\n<dl>\n";
    std::string purposes;
    for (const auto& p : c.purposes) {
      auto it = inv.purposes.find(p);
      if (it == inv.purposes.end()) continue;
      purposes += (purposes.empty() ? "" : "; ") + html_escape(it->second.in(lang));
    }
    h += "<dt>" + html_escape(s.get("data.purposes")) + "</dt><dd>" + purposes + "</dd>\n";
    h += "<dt>" + html_escape(s.get("data.basis")) + "</dt><dd>" + html_escape(basis_text(c.legal_basis, s, lang)) + "</dd>\n";
    h += "<dt>" + html_escape(s.get("data.source")) + "</dt><dd>" +
         html_escape(s.get("source." + std::string(to_string(c.source)))) + "</dd>\n";
    std::string recipients;
    for (const auto& r : c.recipients) {
      auto it = inv.recipients.find(r);
      if (it == inv.recipients.end()) continue;
      recipients += (recipients.empty() ? "" : "; ") + html_escape(it->second.in(lang));
    }
    if (recipients.empty()) recipients = html_escape(s.get("recipients.none"));
    h += "<dt>" + html_escape(s.get("data.recipients")) + "</dt><dd>" + recipients + "</dd>\n";
    h += "<dt>" + html_escape(s.get("data.retention")) + "</dt><dd>" + html_escape(retention_text(c.retention, s)) + "</dd>\n";
    std::string erasure;
    switch (c.erasure.outcome) {
      case ErasureOutcome::erase: erasure = s.get("erasure.erase"); break;
      case ErasureOutcome::expire: erasure = s.get("erasure.expire"); break;
      case ErasureOutcome::unlink: erasure = s.get("erasure.unlink"); break;
      case ErasureOutcome::keep_restricted:
        erasure = s.get("erasure.keep_restricted",
                        {{"until", c.erasure.until ? retention_text(*c.erasure.until, s) : std::string()},
                         {"basis", c.erasure.basis ? basis_text(*c.erasure.basis, s, lang) : std::string()}});
        break;
    }
    h += "<dt>" + html_escape(s.get("data.erasure")) + "</dt><dd>" + html_escape(erasure) + "</dd>\n</dl>\n</section>\n";
  }

  // Transfers outside the EEA (Art. 13(1)(f)): where to, and on which safeguard.
  h += "<h2>" + html_escape(s.get("transfers.heading")) + "</h2>\n";
  if (inv.transfers.empty()) {
    h += "<p>" + html_escape(s.get("transfers.none")) + "</p>\n";
  } else {
    h += "<p>" + html_escape(s.get("transfers.intro")) + "</p>\n<ul class=\"transfers\">\n";
    for (const auto& t : inv.transfers) {
      h += "<li>" + html_escape(t.destination.in(lang)) + "<br>" +
           html_escape(s.get("transfers.safeguard", {{"safeguard", t.safeguard.in(lang)}})) + "</li>\n";
    }
    h += "</ul>\n";
  }

  h += "<h2>" + html_escape(s.get("not_collected.heading")) + "</h2>\n<ul>\n";
  for (const Category* c : not_collected) {
    h += "<li><strong>" + html_escape(c->name.in(lang)) + "</strong>: " + html_escape(c->description.in(lang)) + "</li>\n";
  }
  h += "<li>" + html_escape(s.get("not_collected.ip")) + "</li>\n</ul>\n";

  h += "<h2>" + html_escape(s.get("rights.heading")) + "</h2>\n<p>" + html_escape(s.get("rights.text")) + "</p>\n<p>" +
       s.get("rights.how", {{"contact", contact}}) + "</p>\n";
  std::string authority = html_escape(inv.supervisory_authority.name.in(lang));
  if (!inv.supervisory_authority.url.empty()) {
    authority += " (<a href=\"" + html_escape(inv.supervisory_authority.url) + "\" rel=\"noopener noreferrer\">" +
                 html_escape(s.get("complaint.link")) + "</a>)";
  }
  h += "<p>" + s.get("complaint", {{"authority", authority}}) + "</p>\n";
  h += request_forms(s);
  return h;
}

// The forms of a data-subject request (POST /privacy/v1/requests, then …/verify), driven by
// /static/privacy.js; the texts the script shows come with the page, in its language.
std::string request_forms(const Strings& s) {
  const auto e = [&](const char* key) { return html_escape(s.get(key)); };
  std::string h = "<section id=\"requests\" class=\"requests\" aria-labelledby=\"requests-heading\"";
  for (const char* key : {"sent", "wrong", "locked", "expired", "done", "download", "receipt", "invalid", "busy", "failed"}) {
    h += std::string(" data-") + key + "=\"" + e((std::string("requests.") + key).c_str()) + "\"";
  }
  h += ">\n<h2 id=\"requests-heading\">" + e("requests.heading") + "</h2>\n<p>" + e("requests.intro") + "</p>\n";
  h += "<form id=\"request-form\" novalidate>\n<label for=\"rq-type\">" + e("requests.type") +
       "</label>\n<select id=\"rq-type\" name=\"type\">\n";
  for (const char* t : {"access", "erasure", "rectification", "restriction", "objection"}) {
    h += std::string("<option value=\"") + t + "\">" + e((std::string("requests.type.") + t).c_str()) + "</option>\n";
  }
  h += "</select>\n<label for=\"rq-channel\">" + e("requests.channel") +
       "</label>\n<select id=\"rq-channel\" name=\"channel\">\n<option value=\"whatsapp\">WhatsApp</option>\n"
       "<option value=\"telegram\">Telegram</option>\n<option value=\"webchat\">" +
       e("requests.channel.webchat") + "</option>\n</select>\n<label for=\"rq-address\">" + e("requests.address") +
       "</label>\n<input id=\"rq-address\" name=\"address\" autocomplete=\"off\" maxlength=\"256\" required>\n"
       "<div id=\"rq-changes\" hidden>\n<label for=\"rq-name\">" + e("requests.new_name") +
       "</label>\n<input id=\"rq-name\" name=\"recipient_name\" autocomplete=\"name\" maxlength=\"100\">\n"
       "<label for=\"rq-delivery\">" + e("requests.new_address") +
       "</label>\n<input id=\"rq-delivery\" name=\"delivery_address\" autocomplete=\"street-address\" maxlength=\"300\">\n"
       "</div>\n<button type=\"submit\">" + e("requests.send") + "</button>\n</form>\n";
  h += "<form id=\"code-form\" hidden novalidate>\n<label for=\"rq-code\">" + e("requests.code") +
       "</label>\n<input id=\"rq-code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" "
       "pattern=\"[0-9]{6,8}\" maxlength=\"8\" required>\n<button type=\"submit\">" + e("requests.confirm") +
       "</button>\n</form>\n<p id=\"rq-status\" role=\"status\" aria-live=\"polite\"></p>\n"
       "<div id=\"rq-result\" hidden></div>\n</section>\n<script src=\"/static/privacy.js\"></script>\n";
  return h;
}

std::string document(const std::string& lang, const std::string& title, const std::string& body) {
  return "<!doctype html>\n<html lang=\"" + lang +
         "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" + title + "</title><link rel=\"stylesheet\" href=\"/static/chat.css\"></head><body><main class=\"notice\">\n" +
         body + "</main></body></html>\n";
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

Result<Notice> Notice::build(const Inventory& inventory, const NoticeSettings& settings) {
  auto strings_text = assets::find("privacy/notice.json");
  if (!strings_text) return fail(Errc::internal, "the built-in privacy notice wording is missing");
  auto strings = config::parse_json_with_comments(*strings_text, "notice.json (built in)");
  if (!strings) return std::unexpected(strings.error());
  const json& en = (*strings)["en"];
  Notice n;
  n.default_language_ = settings.default_language;
  for (const auto& lang : kLanguages) {
    const json& table = (*strings)[lang];
    for (const auto& [key, value] : en.items()) {
      if (!table.contains(key)) return fail(Errc::internal, "privacy notice wording: " + lang + " lacks \"" + key + "\"");
    }
    std::string merchant;
    if (!settings.merchant_dir.empty()) {
      const auto file = settings.merchant_dir / (lang + ".html");
      auto text = files::read(file, 256u << 10);
      if (!text) return fail(Errc::config, "privacy.notice_dir: cannot read " + file.string() + ": " + text.error().message);
      merchant = std::move(*text);
    } else {
      auto text = assets::find("privacy/" + lang + ".html");
      if (!text) return fail(Errc::internal, "the built-in privacy notice part " + lang + ".html is missing");
      merchant = std::string(*text);
    }
    const Strings s(table);
    const std::string body = render(inventory, settings, s, lang, merchant);
    const std::string shop = html_escape(settings.shop_name.empty() ? "this shop" : settings.shop_name);
    // The version is the hash of exactly the bytes served (curl … | sha256sum gives it).
    std::string page = document(lang, s.get("title", {{"shop", shop}}), body);
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(page.data()), page.size());
    const std::string version = hex_encode(std::span<const std::uint8_t>(digest.data(), digest.size()));
    n.versions_[lang] = version;
    n.pages_[lang] = std::move(page);
  }
  return n;
}

const std::string& Notice::resolve(std::string_view language) const {
  static const std::string kEn = "en";
  for (const auto& l : kLanguages) {
    if (l == language) return l;
  }
  for (const auto& l : kLanguages) {
    if (l == default_language_) return l;
  }
  return kEn;
}

const std::string& Notice::page(std::string_view language) const { return pages_.at(resolve(language)); }
const std::string& Notice::version(std::string_view language) const { return versions_.at(resolve(language)); }

}  // namespace comptoir::privacy

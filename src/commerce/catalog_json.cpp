#include "src/commerce/catalog_json.h"

#include <cmath>
#include <set>

#include "src/common/files.h"
#include "src/common/text.h"

namespace comptoir::commerce {

using nlohmann::json;

namespace {

std::string at(const std::string& where, const std::string& field) {
  return where.empty() ? field : where + "." + field;
}

Status bad(const std::string& where, const std::string& field, const std::string& problem) {
  const std::string msg = at(where, field) + ": " + problem;
  return fail(Errc::invalid_argument, msg, msg);
}

bool valid_lang(const std::string& l) {
  return l.size() == 2 && std::islower(static_cast<unsigned char>(l[0])) && std::islower(static_cast<unsigned char>(l[1]));
}

Status read_texts(const json& j, const std::string& where, const std::string& field, std::size_t max_len,
                  const std::string& default_language, std::vector<storage::LocalizedName>& texts, bool is_name) {
  auto set = [&](const std::string& lang, const std::string& value) {
    for (auto& t : texts) {
      if (t.lang == lang) {
        (is_name ? t.name : t.description) = value;
        return;
      }
    }
    storage::LocalizedName n;
    n.lang = lang;
    (is_name ? n.name : n.description) = value;
    texts.push_back(std::move(n));
  };
  auto check = [&](const std::string& value, const std::string& path) -> Status {
    if (!text::is_valid_utf8(value) || !text::no_control_chars(value, !is_name)) return bad(where, path, "invalid characters");
    if (text::utf8_length(value) > max_len) return bad(where, path, "longer than " + std::to_string(max_len) + " characters");
    if (is_name && text::trim(value).empty()) return bad(where, path, "must not be empty");
    return ok();
  };
  if (j.is_string()) {
    const auto& v = j.get_ref<const std::string&>();
    if (auto st = check(v, field); !st) return st;
    set(default_language, v);
    return ok();
  }
  if (!j.is_object() || j.empty()) return bad(where, field, "must be a string or an object of language → text");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!valid_lang(it.key())) return bad(where, field + "." + it.key(), "not a two-letter language code");
    if (!it->is_string()) return bad(where, field + "." + it.key(), "must be a string");
    if (auto st = check(it->get_ref<const std::string&>(), field + "." + it.key()); !st) return st;
    set(it.key(), it->get<std::string>());
  }
  return ok();
}

const std::set<std::string>& product_keys() {
  // "names"/"descriptions" are what product_to_json writes, so a GET body can be PUT back.
  static const std::set<std::string> keys = {"sku",      "category", "price", "currency", "vat_rate", "stock",
                                             "active",   "position", "name",  "description", "names",
                                             "descriptions"};
  return keys;
}

Status apply(storage::ProductRecord& p, const json& j, const std::string& default_language, const std::string& where,
             bool require_all) {
  if (!j.is_object()) return bad(where, "(product)", "must be an object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!product_keys().count(it.key())) return bad(where, it.key(), "unknown field");
  }
  if (require_all) {
    for (const char* k : {"sku", "category", "price", "vat_rate"}) {
      if (!j.contains(k)) return bad(where, k, "is required");
    }
    if (!j.contains("name") && !j.contains("names")) return bad(where, "name", "is required");
  }
  if (j.contains("sku")) {
    if (!j["sku"].is_string()) return bad(where, "sku", "must be a string");
    p.sku = j["sku"].get<std::string>();
    if (auto st = validate_sku(p.sku); !st) return bad(where, "sku", st.error().message);
  }
  if (j.contains("category")) {
    if (!j["category"].is_string()) return bad(where, "category", "must be a string");
    p.category = j["category"].get<std::string>();
    if (validate_sku(p.category).has_value() == false) return bad(where, "category", "must be 1–40 letters, digits, '.', '_' or '-'");
  }
  if (j.contains("price")) {
    const auto& v = j["price"];
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 100000000) {
      return bad(where, "price", "must be an integer number of minor units (cents) between 0 and 100000000");
    }
    p.price = v.get<std::int64_t>();
  }
  if (j.contains("currency")) {
    const auto& v = j["currency"];
    if (!v.is_string() || v.get<std::string>().size() != 3) return bad(where, "currency", "must be a three-letter ISO 4217 code");
    p.currency = v.get<std::string>();
    for (char& c : p.currency) {
      if (!std::isalpha(static_cast<unsigned char>(c))) return bad(where, "currency", "must be a three-letter ISO 4217 code");
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  if (j.contains("vat_rate")) {
    auto r = vat_rate_from_json(j["vat_rate"]);
    if (!r) return bad(where, "vat_rate", r.error().message);
    p.vat_rate = *r;
  }
  if (j.contains("stock")) {
    const auto& v = j["stock"];
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 1000000000) {
      return bad(where, "stock", "must be an integer between 0 and 1000000000");
    }
    p.stock = v.get<std::int64_t>();
  }
  if (j.contains("active")) {
    if (!j["active"].is_boolean()) return bad(where, "active", "must be true or false");
    p.active = j["active"].get<bool>();
  }
  if (j.contains("position")) {
    const auto& v = j["position"];
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 1000000) {
      return bad(where, "position", "must be an integer between 0 and 1000000");
    }
    p.position = static_cast<int>(v.get<std::int64_t>());
  }
  if (j.contains("name")) {
    if (auto st = read_texts(j["name"], where, "name", 80, default_language, p.texts, true); !st) return st;
  }
  if (j.contains("names")) {
    if (auto st = read_texts(j["names"], where, "names", 80, default_language, p.texts, true); !st) return st;
  }
  if (j.contains("description")) {
    if (auto st = read_texts(j["description"], where, "description", 1000, default_language, p.texts, false); !st) {
      return st;
    }
  }
  if (j.contains("descriptions") && !(j["descriptions"].is_object() && j["descriptions"].empty())) {
    if (auto st = read_texts(j["descriptions"], where, "descriptions", 1000, default_language, p.texts, false); !st) {
      return st;
    }
  }
  for (const auto& t : p.texts) {
    if (text::trim(t.name).empty()) return bad(where, "name." + t.lang, "a description needs a name in the same language");
  }
  return ok();
}

}  // namespace

Status validate_sku(std::string_view sku) {
  if (sku.empty() || sku.size() > 40) return fail(Errc::invalid_argument, "must be 1–40 characters");
  for (char c : sku) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return fail(Errc::invalid_argument, "may contain only letters, digits, '.', '_' and '-'");
    }
  }
  return ok();
}

Result<int> vat_rate_from_json(const json& v) {
  if (!v.is_number()) return fail(Errc::invalid_argument, "must be a number (percent, e.g. 20 or 5.5)");
  double pct = v.get<double>();
  if (!(pct >= 0.0 && pct <= 100.0)) return fail(Errc::invalid_argument, "must be between 0 and 100 (percent)");
  const double bp = pct * 100.0;
  const double rounded = std::round(bp);
  if (std::fabs(bp - rounded) > 1e-6) return fail(Errc::invalid_argument, "may have at most two decimals");
  return static_cast<int>(rounded);
}

json vat_rate_to_json(int bp) {
  if (bp % 100 == 0) return json(bp / 100);
  return json(static_cast<double>(bp) / 100.0);
}

Result<storage::ProductRecord> product_from_json(const json& j, const std::string& default_language,
                                                 const std::string& default_currency, const std::string& where) {
  storage::ProductRecord p;
  p.currency = default_currency;
  if (auto st = apply(p, j, default_language, where, true); !st) return std::unexpected(st.error());
  return p;
}

Result<storage::ProductRecord> patch_product(const storage::ProductRecord& base, const json& patch,
                                             const std::string& default_language) {
  storage::ProductRecord p = base;
  if (patch.is_object() && patch.contains("sku") && patch["sku"] != base.sku) {
    return fail(Errc::invalid_argument, "sku: cannot be changed", "sku: cannot be changed");
  }
  if (auto st = apply(p, patch, default_language, "", false); !st) return std::unexpected(st.error());
  return p;
}

json product_to_json(const storage::ProductRecord& p, const std::string& default_language) {
  json names = json::object(), descriptions = json::object();
  std::string name;
  for (const auto& t : p.texts) {
    names[t.lang] = t.name;
    if (!t.description.empty()) descriptions[t.lang] = t.description;
    if (t.lang == default_language || name.empty()) name = t.name;
  }
  return {{"sku", p.sku},
          {"category", p.category},
          {"name", name},
          {"names", names},
          {"descriptions", descriptions},
          {"price", p.price},
          {"currency", p.currency},
          {"vat_rate", vat_rate_to_json(p.vat_rate)},
          {"stock", p.stock},
          {"active", p.active},
          {"position", p.position}};
}

Result<CatalogData> load_catalog_file(const std::filesystem::path& path, const std::string& default_language,
                                      const std::string& default_currency) {
  auto text = files::read(path, 16u << 20);
  if (!text) return std::unexpected(text.error());
  return parse_catalog(*text, path.string(), default_language, default_currency);
}

Result<CatalogData> parse_catalog(std::string_view text, const std::string& file, const std::string& default_language,
                                  const std::string& default_currency) {
  json j;
  try {
    j = json::parse(text.begin(), text.end(), nullptr, true, true);
  } catch (const json::parse_error& e) {
    return fail(Errc::invalid_argument, file + ": malformed JSON at byte " + std::to_string(e.byte));
  }
  if (!j.is_object() || !j.contains("categories") || !j["categories"].is_array() || !j.contains("products") ||
      !j["products"].is_array()) {
    return fail(Errc::invalid_argument, file + ": needs \"categories\" and \"products\" arrays");
  }
  std::string currency = default_currency;
  if (j.contains("currency") && j["currency"].is_string()) currency = j["currency"].get<std::string>();
  CatalogData data;
  std::set<std::string> cat_ids, skus;
  int pos = 0;
  for (const auto& c : j["categories"]) {
    const std::string where = file + ": categories[" + std::to_string(pos) + "]";
    if (!c.is_object() || !c.contains("id") || !c["id"].is_string() || !validate_sku(c["id"].get<std::string>())) {
      return fail(Errc::invalid_argument, where + ".id: must be 1–40 letters, digits, '.', '_' or '-'");
    }
    storage::CategoryRecord rec;
    rec.id = c["id"].get<std::string>();
    rec.position = pos++;
    if (!cat_ids.insert(rec.id).second) return fail(Errc::invalid_argument, where + ".id: duplicate category");
    std::vector<storage::LocalizedName> names;
    if (!c.contains("name")) return fail(Errc::invalid_argument, where + ".name: is required");
    if (auto st = read_texts(c["name"], where, "name", 40, default_language, names, true); !st) return std::unexpected(st.error());
    rec.names = std::move(names);
    data.categories.push_back(std::move(rec));
  }
  int i = 0;
  for (const auto& pj : j["products"]) {
    const std::string where = file + ": products[" + std::to_string(i) + "]";
    auto p = product_from_json(pj, default_language, currency, where);
    if (!p) return std::unexpected(p.error());
    if (!cat_ids.count(p->category)) return fail(Errc::invalid_argument, where + ".category: unknown category \"" + p->category + "\"");
    if (!skus.insert(p->sku).second) return fail(Errc::invalid_argument, where + ".sku: duplicate SKU");
    if (!pj.contains("position")) p->position = i;
    data.products.push_back(std::move(*p));
    ++i;
  }
  return data;
}

Status import_catalog(storage::Database& db, const CatalogData& data, std::int64_t now) {
  storage::CatalogStore store(db);
  return db.write([&](storage::Tx& tx) -> Status {
    for (const auto& c : data.categories) {
      if (auto st = store.upsert_category(tx, c); !st) return st;
    }
    for (auto p : data.products) {
      p.updated_at = now;
      if (auto st = store.upsert_product(tx, p); !st) return st;
    }
    return ok();
  });
}

}  // namespace comptoir::commerce

// The catalog's JSON form, shared by the catalog file (config/catalog.example.json, loaded by
// `init`) and the admin products API, so the two can never disagree. Product JSON:
//   {"sku": "BRD-001", "category": "bakery", "price": 320, "currency": "EUR", "vat_rate": 5.5,
//    "stock": 40, "active": true, "position": 1,
//    "name": {"en": "…", "fr": "…"}, "description": {"en": "…"}}
// price: integer minor units, VAT included; vat_rate: percent with at most two decimals.
// "name" may also be a plain string (taken as the default language). Pure functions.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/common/error.h"
#include "storage/catalog_store.h"
#include "storage/database.h"

namespace comptoir::commerce {

struct CatalogData {
  std::vector<storage::CategoryRecord> categories;
  std::vector<storage::ProductRecord> products;
};

// Errc::invalid_argument with a message naming the field ("products[3].price: …").
Result<storage::ProductRecord> product_from_json(const nlohmann::json& j, const std::string& default_language,
                                                 const std::string& default_currency, const std::string& where = "");
// Applies the members present in `patch` to `base` (PATCH semantics); same errors.
Result<storage::ProductRecord> patch_product(const storage::ProductRecord& base, const nlohmann::json& patch,
                                             const std::string& default_language);
nlohmann::json product_to_json(const storage::ProductRecord& p, const std::string& default_language);

// Parses catalog JSON text; `name` appears in error messages.
Result<CatalogData> parse_catalog(std::string_view text, const std::string& name, const std::string& default_language,
                                  const std::string& default_currency);
Result<CatalogData> load_catalog_file(const std::filesystem::path& path, const std::string& default_language,
                                      const std::string& default_currency);
// Inserts or replaces every category and product in one transaction.
Status import_catalog(storage::Database& db, const CatalogData& data, std::int64_t now);

Status validate_sku(std::string_view sku);
// "5.5" → 550 basis points; Errc::invalid_argument unless 0 ≤ rate ≤ 100 with ≤ 2 decimals.
Result<int> vat_rate_from_json(const nlohmann::json& v);
nlohmann::json vat_rate_to_json(int basis_points);

}  // namespace comptoir::commerce

// A small JSON Schema (draft 2020-12) validator for the subset docs/export.schema.json uses:
// type, const, enum, pattern, minLength, minItems, required, properties, additionalProperties
// (boolean or schema), propertyNames, items, and local "$ref": "#/$defs/NAME". Annotations
// ($schema, $id, title, description, format, $defs) are accepted and not checked. Any other
// keyword makes validation fail, so a schema can never use a rule this validator silently
// ignores. Test code only; header-only.
#pragma once

#include <nlohmann/json.hpp>

#include <regex>
#include <set>
#include <string>
#include <vector>

namespace comptoir::testing {

class SchemaValidator {
 public:
  explicit SchemaValidator(nlohmann::json schema) : root_(std::move(schema)) {}

  // Every violation, as "JSON pointer: what"; empty when `doc` is valid.
  std::vector<std::string> validate(const nlohmann::json& doc) const {
    std::vector<std::string> errors;
    check(root_, doc, "", errors);
    return errors;
  }

 private:
  static std::string type_of(const nlohmann::json& v) {
    if (v.is_null()) return "null";
    if (v.is_boolean()) return "boolean";
    if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
    if (v.is_number()) return "number";
    if (v.is_string()) return "string";
    if (v.is_array()) return "array";
    return "object";
  }
  static bool has_type(const nlohmann::json& v, const std::string& t) {
    const std::string actual = type_of(v);
    return actual == t || (t == "number" && actual == "integer");
  }

  const nlohmann::json& resolve(const std::string& ref, std::vector<std::string>& errors, const std::string& at) const {
    static const nlohmann::json kEmpty = nlohmann::json::object();
    const std::string prefix = "#/$defs/";
    if (ref.rfind(prefix, 0) != 0 || !root_.contains("$defs") || !root_["$defs"].contains(ref.substr(prefix.size()))) {
      errors.push_back(at + ": unresolvable $ref " + ref);
      return kEmpty;
    }
    return root_["$defs"][ref.substr(prefix.size())];
  }

  void check(const nlohmann::json& s, const nlohmann::json& v, const std::string& at, std::vector<std::string>& errors) const {
    static const std::set<std::string> kKnown = {"$schema", "$id", "title", "description", "format", "$defs", "$ref",
                                                 "type", "const", "enum", "pattern", "minLength", "minItems", "required",
                                                 "properties", "additionalProperties", "propertyNames", "items"};
    if (!s.is_object()) {
      errors.push_back(at + ": schema is not an object");
      return;
    }
    for (const auto& [k, _] : s.items()) {
      if (!kKnown.contains(k)) errors.push_back(at + ": schema keyword \"" + k + "\" is not supported by this validator");
    }
    if (s.contains("$ref")) check(resolve(s["$ref"].get<std::string>(), errors, at), v, at, errors);
    if (s.contains("type")) {
      bool ok = false;
      if (s["type"].is_array()) {
        for (const auto& t : s["type"]) ok = ok || has_type(v, t.get<std::string>());
      } else {
        ok = has_type(v, s["type"].get<std::string>());
      }
      if (!ok) {
        errors.push_back(at + ": is " + type_of(v) + ", expected " + s["type"].dump());
        return;
      }
    }
    if (s.contains("const") && v != s["const"]) errors.push_back(at + ": must be " + s["const"].dump());
    if (s.contains("enum")) {
      bool found = false;
      for (const auto& e : s["enum"]) found = found || e == v;
      if (!found) errors.push_back(at + ": " + v.dump() + " is not one of " + s["enum"].dump());
    }
    if (v.is_string()) {
      const std::string text = v.get<std::string>();
      if (s.contains("pattern") && !std::regex_search(text, std::regex(s["pattern"].get<std::string>(), std::regex::ECMAScript))) {
        errors.push_back(at + ": \"" + text + "\" does not match " + s["pattern"].get<std::string>());
      }
      if (s.contains("minLength") && text.size() < s["minLength"].get<std::size_t>()) errors.push_back(at + ": too short");
    }
    if (v.is_array()) {
      if (s.contains("minItems") && v.size() < s["minItems"].get<std::size_t>()) errors.push_back(at + ": too few items");
      if (s.contains("items")) {
        for (std::size_t i = 0; i < v.size(); ++i) check(s["items"], v[i], at + "/" + std::to_string(i), errors);
      }
    }
    if (v.is_object()) {
      if (s.contains("required")) {
        for (const auto& r : s["required"]) {
          if (!v.contains(r.get<std::string>())) errors.push_back(at + ": lacks \"" + r.get<std::string>() + "\"");
        }
      }
      for (const auto& [k, child] : v.items()) {
        const std::string where = at + "/" + k;
        if (s.contains("propertyNames")) check(s["propertyNames"], nlohmann::json(k), where + " (name)", errors);
        if (s.contains("properties") && s["properties"].contains(k)) {
          check(s["properties"][k], child, where, errors);
        } else if (s.contains("additionalProperties")) {
          const auto& ap = s["additionalProperties"];
          if (ap.is_boolean()) {
            if (!ap.get<bool>()) errors.push_back(where + ": is not allowed here");
          } else {
            check(ap, child, where, errors);
          }
        }
      }
    }
  }

  nlohmann::json root_;
};

}  // namespace comptoir::testing

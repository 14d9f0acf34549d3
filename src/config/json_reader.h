// Strict reading of a JSON configuration tree: every key must be known, every value must have the
// expected type and range, and every problem is reported with its JSON path
// ("server.port: must be an integer between 0 and 65535"). Errors accumulate so a merchant sees
// them all at once. Not thread-safe; used only while loading a config.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/common/error.h"
#include "src/common/secret.h"

namespace comptoir::config {

// Parses JSON text that may contain // and /* */ comments. On a syntax error the message names
// `source_name`, line and column: "comptoir.json:4:17: syntax error: …".
Result<nlohmann::json> parse_json_with_comments(std::string_view text, std::string_view source_name);

class ErrorList {
 public:
  void add(std::string path, std::string problem);
  bool empty() const { return errors_.empty(); }
  const std::vector<std::string>& items() const { return errors_; }
  std::string joined() const;  // one error per line

 private:
  std::vector<std::string> errors_;
};

class ObjectReader {
 public:
  // `path` is the dotted path of this object ("" for the root). `base_dir` resolves relative paths.
  ObjectReader(const nlohmann::json& object, std::string path, ErrorList& errors,
               std::filesystem::path base_dir);

  bool has(std::string_view key) const;
  // Each getter leaves `out` unchanged when the key is absent, records an error on a wrong type
  // or range, and returns true only when a valid value was read.
  bool string(std::string_view key, std::string& out, std::size_t max_len = 4096, bool allow_empty = false);
  bool integer(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max);
  bool boolean(std::string_view key, bool& out);
  // A path; relative paths resolve against the config file's folder.
  bool path(std::string_view key, std::filesystem::path& out);
  // A string among `allowed`.
  bool choice(std::string_view key, std::string& out, const std::vector<std::string_view>& allowed);
  // A secret given inline as `key` or in a file named by `key`_file (not both). Returns nullopt
  // when neither is present. A file that cannot be read is an error naming `key`_file.
  std::optional<SecretBytes> secret(std::string_view key, std::size_t max_len = 4096);
  // Sub-object; nullopt if absent (or not an object, which records an error).
  std::optional<ObjectReader> object(std::string_view key);
  // Records an error for a required key that is missing.
  void require(std::string_view key);
  // Records "path.key: unknown key" for every key no getter asked about.
  void finish();

  std::string child_path(std::string_view key) const;
  void error(std::string_view key, std::string problem);
  ErrorList& errors() { return *errors_; }
  const std::filesystem::path& base_dir() const { return base_dir_; }
  bool secret_was_inline() const { return secret_inline_; }

 private:
  const nlohmann::json* lookup(std::string_view key);

  const nlohmann::json* object_;
  std::string path_;
  ErrorList* errors_;
  std::filesystem::path base_dir_;
  std::set<std::string, std::less<>> known_;
  bool secret_inline_ = false;
};

}  // namespace comptoir::config

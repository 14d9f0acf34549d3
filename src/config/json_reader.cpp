#include "src/config/json_reader.h"

#include "src/common/files.h"

namespace comptoir::config {

namespace {

// Line and column (1-based) of a byte offset in `text`.
std::pair<std::size_t, std::size_t> line_col(std::string_view text, std::size_t offset) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

std::string type_name(const nlohmann::json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_null()) return "null";
  return "a value";
}

}  // namespace

Result<nlohmann::json> parse_json_with_comments(std::string_view text, std::string_view source_name) {
  try {
    return nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/true,
                                 /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is the 1-based position just after the offending character.
    const std::size_t at = e.byte > 0 ? e.byte - 1 : 0;
    auto [line, col] = line_col(text, at);
    std::string what = e.what();
    // nlohmann's message looks like "[json.exception.parse_error.101] parse error at line 1,
    // column 5: syntax error while parsing …"; keep the part after the location.
    if (auto pos = what.find(": "); pos != std::string::npos) what = what.substr(pos + 2);
    // "…; last read: '<token so far>'" quotes the input, which may be an unterminated or invalid
    // passphrase string: never echo it.
    if (auto pos = what.find("; last read: "); pos != std::string::npos) what.erase(pos);
    return fail(Errc::config, std::string(source_name) + ":" + std::to_string(line) + ":" +
                                  std::to_string(col) + ": malformed JSON: " + what);
  } catch (const nlohmann::json::exception& e) {
    // Not a syntax error but still unusable input, e.g. out_of_range.406 "number overflow parsing
    // '1e400'" (no position is available for these). Must not escape as an exception.
    std::string what = e.what();
    if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    return fail(Errc::config, std::string(source_name) + ": malformed JSON: " + what);
  }
}

void ErrorList::add(std::string path, std::string problem) {
  errors_.push_back((path.empty() ? std::string("(root)") : path) + ": " + problem);
}

std::string ErrorList::joined() const {
  std::string out;
  for (const auto& e : errors_) {
    if (!out.empty()) out.push_back('\n');
    out += e;
  }
  return out;
}

ObjectReader::ObjectReader(const nlohmann::json& object, std::string path, ErrorList& errors,
                           std::filesystem::path base_dir)
    : object_(&object), path_(std::move(path)), errors_(&errors), base_dir_(std::move(base_dir)) {}

std::string ObjectReader::child_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void ObjectReader::error(std::string_view key, std::string problem) {
  errors_->add(child_path(key), std::move(problem));
}

bool ObjectReader::has(std::string_view key) const {
  return object_->is_object() && object_->contains(key);
}

const nlohmann::json* ObjectReader::lookup(std::string_view key) {
  known_.emplace(key);
  if (!object_->is_object()) return nullptr;
  auto it = object_->find(key);
  if (it == object_->end()) return nullptr;
  return &*it;
}

bool ObjectReader::string(std::string_view key, std::string& out, std::size_t max_len, bool allow_empty) {
  const auto* v = lookup(key);
  if (v == nullptr) return false;
  if (!v->is_string()) {
    error(key, "must be a string, not " + type_name(*v));
    return false;
  }
  const auto& s = v->get_ref<const std::string&>();
  if (s.empty() && !allow_empty) {
    error(key, "must not be empty");
    return false;
  }
  if (s.size() > max_len) {
    error(key, "is longer than " + std::to_string(max_len) + " characters");
    return false;
  }
  if (s.find('\0') != std::string::npos) {
    error(key, "must not contain NUL characters");
    return false;
  }
  out = s;
  return true;
}

bool ObjectReader::integer(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max) {
  const auto* v = lookup(key);
  if (v == nullptr) return false;
  const std::string range = "must be an integer between " + std::to_string(min) + " and " +
                            std::to_string(max);
  if (!v->is_number_integer()) {
    error(key, range + ", not " + type_name(*v));
    return false;
  }
  std::int64_t value;
  if (v->is_number_unsigned()) {
    const auto u = v->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(max)) {
      error(key, range);
      return false;
    }
    value = static_cast<std::int64_t>(u);
  } else {
    value = v->get<std::int64_t>();
  }
  if (value < min || value > max) {
    error(key, range);
    return false;
  }
  out = value;
  return true;
}

bool ObjectReader::boolean(std::string_view key, bool& out) {
  const auto* v = lookup(key);
  if (v == nullptr) return false;
  if (!v->is_boolean()) {
    error(key, "must be true or false, not " + type_name(*v));
    return false;
  }
  out = v->get<bool>();
  return true;
}

bool ObjectReader::path(std::string_view key, std::filesystem::path& out) {
  std::string s;
  if (!string(key, s, 4096)) return false;
  std::filesystem::path p(s);
  out = (p.is_absolute() ? p : base_dir_ / p).lexically_normal();
  // "dir/." normalizes to "dir/"; drop the trailing separator so the path names the directory.
  if (!out.has_filename() && out.has_parent_path() && out != out.root_path()) out = out.parent_path();
  return true;
}

bool ObjectReader::choice(std::string_view key, std::string& out,
                          const std::vector<std::string_view>& allowed) {
  std::string s;
  const auto* v = lookup(key);
  if (v == nullptr) return false;
  if (!string(key, s, 256)) return false;
  for (auto a : allowed) {
    if (s == a) {
      out = s;
      return true;
    }
  }
  std::string list;
  for (auto a : allowed) {
    if (!list.empty()) list += ", ";
    list += '"';
    list += a;
    list += '"';
  }
  error(key, "must be one of " + list);
  return false;
}

std::optional<SecretBytes> ObjectReader::secret(std::string_view key, std::size_t max_len) {
  const std::string file_key = std::string(key) + "_file";
  const auto* inline_v = lookup(key);
  const auto* file_v = lookup(file_key);
  if (inline_v != nullptr && file_v != nullptr) {
    error(key, "give either " + std::string(key) + " or " + file_key + ", not both");
    return std::nullopt;
  }
  if (inline_v != nullptr) {
    // Never echo the value in an error.
    if (!inline_v->is_string() || inline_v->get_ref<const std::string&>().empty()) {
      error(key, "must be a non-empty string");
      return std::nullopt;
    }
    const auto& s = inline_v->get_ref<const std::string&>();
    if (s.size() > max_len) {
      error(key, "is longer than " + std::to_string(max_len) + " characters");
      return std::nullopt;
    }
    secret_inline_ = true;
    return SecretBytes::copy_of(std::string_view(s));
  }
  if (file_v != nullptr) {
    std::filesystem::path p;
    if (!path(file_key, p)) return std::nullopt;
    auto content = files::read_secret(p, max_len + 2);
    if (!content) {
      error(file_key, content.error().message);
      return std::nullopt;
    }
    // A trailing newline (as editors and `echo` leave) is not part of the secret.
    std::size_t n = content->size();
    while (n > 0 && (content->data()[n - 1] == '\n' || content->data()[n - 1] == '\r')) --n;
    if (n == 0) {
      error(file_key, "names an empty file");
      return std::nullopt;
    }
    if (n > max_len) {
      error(file_key, "holds more than " + std::to_string(max_len) + " characters");
      return std::nullopt;
    }
    return SecretBytes::copy_of(std::span<const std::uint8_t>(content->data(), n));
  }
  return std::nullopt;
}

std::optional<ObjectReader> ObjectReader::object(std::string_view key) {
  const auto* v = lookup(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_object()) {
    error(key, "must be an object, not " + type_name(*v));
    return std::nullopt;
  }
  return ObjectReader(*v, child_path(key), *errors_, base_dir_);
}

void ObjectReader::require(std::string_view key) {
  if (!has(key)) error(key, "is required");
}

void ObjectReader::finish() {
  if (!object_->is_object()) return;
  for (auto it = object_->begin(); it != object_->end(); ++it) {
    if (known_.find(it.key()) == known_.end()) error(it.key(), "unknown key");
  }
}

}  // namespace comptoir::config

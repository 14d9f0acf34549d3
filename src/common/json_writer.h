// A small JSON text writer for documents of a fixed shape built on hot paths (the bodies of
// outbound WhatsApp and Telegram messages, the conversation state): it appends straight to one
// string, without building a document tree first. Parsing stays with nlohmann/json.
//
// Strings are written as JSON strings in UTF-8: '"', '\' and control characters are escaped, and
// each malformed UTF-8 sequence becomes one U+FFFD (as in nlohmann's replace mode), so the output
// is always valid JSON whatever the input (where nlohmann's default dump() would throw).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace comptoir {

// Appends `s` to `out` as a quoted JSON string (see above).
void append_json_string(std::string& out, std::string_view s);

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  // The name of the next member of the open object: a value (or container) must follow.
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(std::int64_t n);
  JsonWriter& value(int n) { return value(static_cast<std::int64_t>(n)); }
  JsonWriter& value(bool b);
  // key(name).value(v)
  template <class T>
  JsonWriter& member(std::string_view name, const T& v) {
    return key(name).value(v);
  }

  // The text so far; complete once every container is closed.
  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void before_value();

  std::string out_;
  std::vector<bool> has_element_;  // one per open container
  bool after_key_ = false;
};

}  // namespace comptoir

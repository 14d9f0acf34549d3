// Structured logging: one JSON object per line on stderr (or an injected sink for tests).
// Redaction is part of the logger, not of callers' discipline: field names that denote secrets
// (token, secret, key, passphrase, password, authorization, cookie) are replaced by "[redacted]",
// and anything shaped like a Comptoir API token (cpt_…) or web chat session (wcs_…) is masked
// wherever it appears in a value.
// Personal data must never be passed in at all (log pseudonymous ids instead).
// Thread-safe: lines from concurrent threads never interleave.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace comptoir::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

// Parses "debug" | "info" | "warn" | "error"; returns false for anything else.
bool parse_level(std::string_view text, Level& out);
std::string_view to_string(Level level);

using Value = std::variant<std::string, std::int64_t, std::uint64_t, double, bool>;

struct Field {
  std::string name;
  Value value;
  Field(std::string n, std::string v) : name(std::move(n)), value(std::move(v)) {}
  Field(std::string n, const char* v) : name(std::move(n)), value(std::string(v)) {}
  Field(std::string n, std::string_view v) : name(std::move(n)), value(std::string(v)) {}
  Field(std::string n, bool v) : name(std::move(n)), value(v) {}
  Field(std::string n, double v) : name(std::move(n)), value(v) {}
  Field(std::string n, int v) : name(std::move(n)), value(static_cast<std::int64_t>(v)) {}
  Field(std::string n, long v) : name(std::move(n)), value(static_cast<std::int64_t>(v)) {}
  Field(std::string n, long long v) : name(std::move(n)), value(static_cast<std::int64_t>(v)) {}
  Field(std::string n, unsigned v) : name(std::move(n)), value(static_cast<std::uint64_t>(v)) {}
  Field(std::string n, unsigned long v) : name(std::move(n)), value(static_cast<std::uint64_t>(v)) {}
  Field(std::string n, unsigned long long v)
      : name(std::move(n)), value(static_cast<std::uint64_t>(v)) {}
};

using Sink = std::function<void(std::string_view line)>;

// Global logger configuration (set once at startup, before threads start).
void set_level(Level level);
Level level();
void set_sink(Sink sink);  // nullptr restores stderr
bool enabled(Level level);

void write(Level level, std::string_view event, std::initializer_list<Field> fields = {});
void write(Level level, std::string_view event, const std::vector<Field>& fields);

inline void debug(std::string_view e, std::initializer_list<Field> f = {}) { write(Level::debug, e, f); }
inline void info(std::string_view e, std::initializer_list<Field> f = {}) { write(Level::info, e, f); }
inline void warn(std::string_view e, std::initializer_list<Field> f = {}) { write(Level::warn, e, f); }
inline void error(std::string_view e, std::initializer_list<Field> f = {}) { write(Level::error, e, f); }

// Exposed for tests and for other JSON writers that must follow the same rules.
bool is_sensitive_name(std::string_view name);
std::string mask_tokens(std::string_view value);
std::string json_escape(std::string_view text);
// Renders one line (without the trailing newline), applying the redaction rules.
std::string format_line(std::string_view time, Level level, std::string_view event,
                        const std::vector<Field>& fields);

}  // namespace comptoir::log

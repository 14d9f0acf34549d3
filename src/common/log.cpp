#include "src/common/log.h"

#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "src/common/env.h"

namespace comptoir::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::mutex g_mutex;
Sink g_sink;  // guarded by g_mutex

constexpr std::string_view kTokenPrefix = "cpt_";     // admin API tokens
constexpr std::string_view kSessionPrefix = "wcs_";   // web chat sessions

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

}  // namespace

bool parse_level(std::string_view text, Level& out) {
  if (text == "debug") out = Level::debug;
  else if (text == "info") out = Level::info;
  else if (text == "warn") out = Level::warn;
  else if (text == "error") out = Level::error;
  else return false;
  return true;
}

std::string_view to_string(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "info";
}

void set_level(Level level) { g_level.store(static_cast<int>(level)); }
Level level() { return static_cast<Level>(g_level.load()); }
bool enabled(Level l) { return static_cast<int>(l) >= g_level.load(); }

void set_sink(Sink sink) {
  std::lock_guard lock(g_mutex);
  g_sink = std::move(sink);
}

bool is_sensitive_name(std::string_view name) {
  std::string lower;
  lower.reserve(name.size());
  for (char c : name) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  // Identifiers of secrets are public (a token id names a token, it does not grant anything).
  if (lower.ends_with("_id") || lower == "id") return false;
  for (std::string_view bad : {"token", "secret", "key", "passphrase", "password", "authorization",
                               "cookie", "session"}) {
    if (lower.find(bad) != std::string::npos) return true;
  }
  return false;
}

std::string mask_tokens(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  std::size_t i = 0;
  while (i < value.size()) {
    bool masked = false;
    for (std::string_view prefix : {kTokenPrefix, kSessionPrefix}) {
      if (value.compare(i, prefix.size(), prefix) != 0) continue;
      std::size_t j = i + prefix.size();
      while (j < value.size() && is_token_char(value[j])) ++j;
      if (j - i - prefix.size() >= 16) {
        out.append(prefix).append("[redacted]");
        i = j;
        masked = true;
        break;
      }
    }
    if (masked) continue;
    out.push_back(value[i]);
    ++i;
  }
  return out;
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

std::string format_line(std::string_view time, Level lvl, std::string_view event,
                        const std::vector<Field>& fields) {
  std::string line = "{\"time\":\"";
  line += json_escape(time);
  line += "\",\"level\":\"";
  line += to_string(lvl);
  line += "\",\"event\":\"";
  line += json_escape(mask_tokens(event));
  line += '"';
  for (const Field& f : fields) {
    line += ",\"";
    line += json_escape(f.name);
    line += "\":";
    if (is_sensitive_name(f.name)) {
      line += "\"[redacted]\"";
      continue;
    }
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) {
            line += '"';
            line += json_escape(mask_tokens(v));
            line += '"';
          } else if constexpr (std::is_same_v<T, bool>) {
            line += v ? "true" : "false";
          } else if constexpr (std::is_same_v<T, double>) {
            // JSON has no NaN/Infinity; std::to_string would print "nan" (invalid JSON) and
            // "0.000000" for 1e-9. Shortest round-trip form instead.
            if (!std::isfinite(v)) {
              line += "null";
            } else {
              char buf[32];
              const auto r = std::to_chars(buf, buf + sizeof buf, v);
              line.append(buf, r.ptr);
            }
          } else {
            line += std::to_string(v);
          }
        },
        f.value);
  }
  line += '}';
  return line;
}

void write(Level lvl, std::string_view event, const std::vector<Field>& fields) {
  if (!enabled(lvl)) return;
  std::string line = format_line(format_rfc3339(SystemClock{}.now(), true), lvl, event, fields);
  std::lock_guard lock(g_mutex);
  if (g_sink) {
    g_sink(line);
  } else {
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
}

void write(Level lvl, std::string_view event, std::initializer_list<Field> fields) {
  if (!enabled(lvl)) return;
  write(lvl, event, std::vector<Field>(fields));
}

}  // namespace comptoir::log

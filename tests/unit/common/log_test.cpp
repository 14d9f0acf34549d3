// Tests for src/common/log: redaction of sensitive field names, masking of API tokens anywhere in
// a value, JSON escaping, line format, level filtering and non-interleaving under concurrency.
#include "src/common/log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/common/encoding.h"
#include "src/common/env.h"
#include "src/common/secret.h"

namespace comptoir::log {
namespace {

// A token shaped like the ones src/access issues: "cpt_" + 43 base64url characters.
std::string make_token() {
  const SecretBytes raw = SecretBytes::random(32);
  return "cpt_" + base64url_encode(raw.span());
}

nlohmann::json parse_line(const std::string& line) {
  return nlohmann::json::parse(line);  // throws (and fails the test) if the line is not JSON
}

// Captures every line written through the logger while in scope; restores stderr and the level.
class CapturedLog {
 public:
  CapturedLog() : saved_level_(level()) {
    set_sink([this](std::string_view line) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(line);
    });
  }
  ~CapturedLog() {
    set_sink(nullptr);
    set_level(saved_level_);
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  Level saved_level_;
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

TEST(LogRedaction, SensitiveFieldNamesAreRecognised) {
  for (const char* name : {"token", "api_key", "passphrase", "password", "secret", "key",
                           "authorization", "Authorization", "cookie", "Set-Cookie", "session",
                           "client_secret", "API_KEY", "access_token", "hash_key", "tokens"}) {
    EXPECT_TRUE(is_sensitive_name(name)) << name;
  }
}

TEST(LogRedaction, IdentifiersAndOrdinaryNamesAreNotSensitive) {
  for (const char* name : {"token_id", "TOKEN_ID", "key_id", "session_id", "id", "ID", "event",
                           "status", "path", "count", "role", "subject", "label", ""}) {
    EXPECT_FALSE(is_sensitive_name(name)) << name;
  }
}

TEST(LogRedaction, SensitiveFieldValueIsReplacedWhateverItsType) {
  const std::string line = format_line(
      "2026-01-01T00:00:00Z", Level::info, "login",
      {Field("token", "abc-very-secret"), Field("api_key", "k-123"), Field("passphrase", "hunter2"),
       Field("password", 12345), Field("session", true), Field("token_id", "tok_42")});
  EXPECT_EQ(line.find("abc-very-secret"), std::string::npos);
  EXPECT_EQ(line.find("k-123"), std::string::npos);
  EXPECT_EQ(line.find("hunter2"), std::string::npos);
  EXPECT_EQ(line.find("12345"), std::string::npos);
  const auto j = parse_line(line);
  EXPECT_EQ(j["token"], "[redacted]");
  EXPECT_EQ(j["api_key"], "[redacted]");
  EXPECT_EQ(j["passphrase"], "[redacted]");
  EXPECT_EQ(j["password"], "[redacted]");
  EXPECT_EQ(j["session"], "[redacted]");
  EXPECT_EQ(j["token_id"], "tok_42");
}

TEST(LogRedaction, TokenIsMaskedAnywhereInAValue) {
  const std::string token = make_token();
  ASSERT_EQ(token.size(), 4u + 43u);
  EXPECT_EQ(mask_tokens(token), "cpt_[redacted]");
  EXPECT_EQ(mask_tokens("Bearer " + token), "Bearer cpt_[redacted]");
  EXPECT_EQ(mask_tokens("GET /x?t=" + token + "&y=1"), "GET /x?t=cpt_[redacted]&y=1");
  EXPECT_EQ(mask_tokens("(" + token + ")."), "(cpt_[redacted]).");
  EXPECT_EQ(mask_tokens("a" + token + " b " + token), "acpt_[redacted] b cpt_[redacted]");
}

TEST(LogRedaction, ShortOrAbsentTokenShapesAreLeftAlone) {
  EXPECT_EQ(mask_tokens(""), "");
  EXPECT_EQ(mask_tokens("cpt_"), "cpt_");
  EXPECT_EQ(mask_tokens("nothing to see"), "nothing to see");
  const std::string fifteen = "cpt_" + std::string(15, 'a');
  EXPECT_EQ(mask_tokens(fifteen), fifteen);
  EXPECT_EQ(mask_tokens("cpt_" + std::string(16, 'a')), "cpt_[redacted]");
  EXPECT_EQ(mask_tokens("cpt_cpt_" + std::string(16, 'b')), "cpt_[redacted]");
}

TEST(LogRedaction, TokenInEventAndOrdinaryFieldIsMaskedInTheLine) {
  const std::string token = make_token();
  const std::string line =
      format_line("t", Level::warn, "bad " + token, {Field("url", "/api?token=" + token)});
  EXPECT_EQ(line.find(token), std::string::npos) << line;
  EXPECT_EQ(line.find(token.substr(4)), std::string::npos) << line;
  const auto j = parse_line(line);
  EXPECT_EQ(j["event"], "bad cpt_[redacted]");
  EXPECT_EQ(j["url"], "/api?token=cpt_[redacted]");
}

TEST(LogEscape, QuotesBackslashesAndControlCharactersAreEscaped) {
  EXPECT_EQ(json_escape("plain"), "plain");
  EXPECT_EQ(json_escape("a\"b"), "a\\\"b");
  EXPECT_EQ(json_escape("a\\b"), "a\\\\b");
  EXPECT_EQ(json_escape("l1\nl2\r\t"), "l1\\nl2\\r\\t");
  EXPECT_EQ(json_escape(std::string_view("\x01\x1f\x7f", 3)), "\\u0001\\u001f\\u007f");
  EXPECT_EQ(json_escape(std::string_view("a\0b", 3)), "a\\u0000b");
  EXPECT_EQ(json_escape("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 passes through
}

TEST(LogEscape, InjectedNewlineCannotForgeASecondLine) {
  const std::string line = format_line("t", Level::info, "evt\n{\"level\":\"error\"}",
                                       {Field("name\"x", "v\n\"injected\":1")});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto j = parse_line(line);
  EXPECT_EQ(j["event"], "evt\n{\"level\":\"error\"}");
  EXPECT_EQ(j["name\"x"], "v\n\"injected\":1");
  EXPECT_EQ(j["level"], "info");
}

TEST(LogFormat, LineHasTimeLevelEventAndTypedFieldsInOrder) {
  const std::string line = format_line(
      "2026-11-28T20:24:29.123Z", Level::error, "started",
      {Field("port", 8080), Field("big", std::uint64_t{18446744073709551615u}),
       Field("neg", -5L), Field("ok", false), Field("ratio", 0.5), Field("host", "127.0.0.1")});
  EXPECT_EQ(line.rfind("{\"time\":\"2026-11-28T20:24:29.123Z\",\"level\":\"error\",\"event\":\"started\",", 0),
            0u)
      << line;
  EXPECT_EQ(line.back(), '}');
  const auto j = parse_line(line);
  EXPECT_EQ(j["port"].get<int>(), 8080);
  EXPECT_EQ(j["big"].get<std::uint64_t>(), 18446744073709551615u);
  EXPECT_EQ(j["neg"].get<int>(), -5);
  EXPECT_EQ(j["ok"].get<bool>(), false);
  EXPECT_DOUBLE_EQ(j["ratio"].get<double>(), 0.5);
  EXPECT_EQ(j["host"], "127.0.0.1");
}

TEST(LogFormat, NonFiniteAndTinyDoublesStillGiveValidJson) {
  const std::string line =
      format_line("t", Level::info, "e",
                  {Field("nan", std::numeric_limits<double>::quiet_NaN()),
                   Field("inf", std::numeric_limits<double>::infinity()),
                   Field("ninf", -std::numeric_limits<double>::infinity()),
                   Field("tiny", 1e-9), Field("huge", 1e300)});
  const auto j = parse_line(line);
  EXPECT_TRUE(j["nan"].is_null());
  EXPECT_TRUE(j["inf"].is_null());
  EXPECT_TRUE(j["ninf"].is_null());
  EXPECT_DOUBLE_EQ(j["tiny"].get<double>(), 1e-9);
  EXPECT_DOUBLE_EQ(j["huge"].get<double>(), 1e300);
}

TEST(LogLevel, ParseAndPrintRoundTrip) {
  for (Level l : {Level::debug, Level::info, Level::warn, Level::error}) {
    Level parsed = l == Level::debug ? Level::error : Level::debug;
    ASSERT_TRUE(parse_level(to_string(l), parsed));
    EXPECT_EQ(parsed, l);
  }
  Level out = Level::warn;
  EXPECT_FALSE(parse_level("INFO", out));
  EXPECT_FALSE(parse_level("", out));
  EXPECT_FALSE(parse_level("warning", out));
  EXPECT_EQ(out, Level::warn);  // unchanged on failure
}

TEST(LogLevel, LinesBelowTheLevelAreDropped) {
  CapturedLog cap;
  set_level(Level::warn);
  EXPECT_FALSE(enabled(Level::info));
  EXPECT_TRUE(enabled(Level::error));
  debug("d");
  info("i");
  warn("w");
  error("e", {Field("n", 1)});
  const auto lines = cap.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(parse_line(lines[0])["event"], "w");
  EXPECT_EQ(parse_line(lines[1])["event"], "e");
  EXPECT_EQ(parse_line(lines[1])["level"], "error");
}

TEST(LogSink, WriteUsesCurrentUtcTimeAndRedacts) {
  CapturedLog cap;
  set_level(Level::debug);
  const std::string token = make_token();
  const auto before = std::chrono::system_clock::now();
  std::vector<Field> fields{Field("api_key", "zzz-secret"), Field("note", "t=" + token)};
  write(Level::debug, "x", fields);
  const auto after = std::chrono::system_clock::now();
  const auto lines = cap.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find('\n'), std::string::npos);
  EXPECT_EQ(lines[0].find("zzz-secret"), std::string::npos);
  EXPECT_EQ(lines[0].find(token), std::string::npos);
  const auto j = parse_line(lines[0]);
  const auto t = parse_rfc3339(j["time"].get<std::string>());
  ASSERT_TRUE(t.has_value()) << j["time"];
  EXPECT_GE(*t, std::chrono::floor<std::chrono::milliseconds>(before));
  EXPECT_LE(*t, after);
}

TEST(LogSink, NullSinkRestoresStderr) {
  CapturedLog cap;
  set_sink(nullptr);
  ::testing::internal::CaptureStderr();
  info("to-stderr", {Field("password", "p4ss")});
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(err.empty());
  EXPECT_EQ(err.back(), '\n');
  EXPECT_EQ(err.find("p4ss"), std::string::npos);
  EXPECT_EQ(parse_line(err.substr(0, err.size() - 1))["event"], "to-stderr");
  EXPECT_TRUE(cap.lines().empty());
}

TEST(LogConcurrency, ConcurrentLinesNeverInterleave) {
  const Level saved = level();
  set_level(Level::info);
  // The sink deliberately takes no lock of its own: the logger must serialize calls. An
  // overlapping call is detected directly, and the shared buffer would be torn otherwise.
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  std::string buffer;
  set_sink([&](std::string_view line) {
    if (inside.fetch_add(1) != 0) overlapped = true;
    for (char c : line) buffer.push_back(c);
    buffer.push_back('\n');
    inside.fetch_sub(1);
  });
  constexpr int kThreads = 8;
  constexpr int kLines = 300;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([t] {
        const std::string payload(200, static_cast<char>('a' + t));
        for (int i = 0; i < kLines; ++i) info("line", {Field("thread", t), Field("i", i), Field("p", payload)});
      });
    }
  }
  set_sink(nullptr);
  set_level(saved);
  EXPECT_FALSE(overlapped.load());
  std::vector<std::vector<int>> seen(kThreads);
  std::size_t start = 0, count = 0;
  while (start < buffer.size()) {
    const std::size_t end = buffer.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    const auto j = parse_line(buffer.substr(start, end - start));
    const int t = j["thread"].get<int>();
    ASSERT_GE(t, 0);
    ASSERT_LT(t, kThreads);
    EXPECT_EQ(j["p"].get<std::string>(), std::string(200, static_cast<char>('a' + t)));
    seen[static_cast<std::size_t>(t)].push_back(j["i"].get<int>());
    start = end + 1;
    ++count;
  }
  EXPECT_EQ(count, static_cast<std::size_t>(kThreads * kLines));
  for (const auto& s : seen) {
    ASSERT_EQ(s.size(), static_cast<std::size_t>(kLines));
    for (int i = 0; i < kLines; ++i) EXPECT_EQ(s[static_cast<std::size_t>(i)], i);  // per-thread order kept
  }
}

}  // namespace
}  // namespace comptoir::log

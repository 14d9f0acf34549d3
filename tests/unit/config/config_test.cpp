// Tests for src/config/config: every key with its default and its range, strict unknown-key and
// type errors naming the JSON path, accumulated errors, malformed JSON positions, data_dir
// resolution, and the passphrase rules (inline vs file vs env, file permissions, no echo).
#include "src/config/config.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace comptoir::config {
namespace {

namespace fs = std::filesystem;
using comptoir::testing::minimal_config;
using comptoir::testing::TempDir;
using comptoir::testing::write_text;

// A source name that is not a file: parse() then has no file whose permissions it could check.
constexpr std::string_view kSource = "in-memory-config.json";

Result<Config> parse_text(const std::string& text, const fs::path& base = "/etc/comptoir") {
  return parse(text, kSource, base);
}

// A config with data_dir set and `members` (comma-separated JSON members) added at the top level.
std::string with(const std::string& members) {
  return "{\"data_dir\": \"/var/lib/comptoir\"" + (members.empty() ? "" : ", " + members) + "}";
}

std::string error_of(const Result<Config>& r) {
  if (r.has_value()) return "<no error>";
  EXPECT_EQ(r.error().code, Errc::config);
  return r.error().message;
}

void chmod_or_fail(const fs::path& p, mode_t mode) { ASSERT_EQ(::chmod(p.c_str(), mode), 0); }

// --- defaults and every key --------------------------------------------------------------------

TEST(ConfigDefaults, MinimalConfigGetsDocumentedDefaults) {
  const auto r = parse_text(R"({"data_dir": "/srv/comptoir"})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const Config& c = *r;
  EXPECT_EQ(c.data_dir, "/srv/comptoir");
  EXPECT_TRUE(c.source.empty());
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.server.threads, 64);
  EXPECT_EQ(c.server.max_queued, 256);
  EXPECT_EQ(c.server.max_body_bytes, 4u << 20);
  EXPECT_EQ(c.server.timeouts.read_seconds, 10);
  EXPECT_EQ(c.server.timeouts.write_seconds, 10);
  EXPECT_EQ(c.server.timeouts.keep_alive_seconds, 5);
  EXPECT_TRUE(c.key.passphrase_env.empty());
  EXPECT_FALSE(c.key.passphrase.has_value());
  EXPECT_EQ(c.key.argon2, Argon2Strength::moderate);
  EXPECT_FALSE(c.key.uses_passphrase());
  EXPECT_EQ(c.log.level, log::Level::info);
}

TEST(ConfigDefaults, EveryKeyIsAcceptedWithItsDefaultValue) {
  const auto r = parse_text(R"({
    "$schema": "https://comptoir.example/schema/config.json",
    "data_dir": "/srv/comptoir",
    "server": {
      "host": "127.0.0.1", "port": 8080, "threads": 64, "max_queued": 256,
      "max_body_bytes": 4194304,
      "timeouts": {"read_seconds": 10, "write_seconds": 10, "keep_alive_seconds": 5}
    },
    "key": {"argon2": "moderate"},
    "log": {"level": "info"}
  })");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const auto d = parse_text(R"({"data_dir": "/srv/comptoir"})");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(r->server.host, d->server.host);
  EXPECT_EQ(r->server.port, d->server.port);
  EXPECT_EQ(r->server.threads, d->server.threads);
  EXPECT_EQ(r->server.max_queued, d->server.max_queued);
  EXPECT_EQ(r->server.max_body_bytes, d->server.max_body_bytes);
  EXPECT_EQ(r->server.timeouts.read_seconds, d->server.timeouts.read_seconds);
  EXPECT_EQ(r->server.timeouts.write_seconds, d->server.timeouts.write_seconds);
  EXPECT_EQ(r->server.timeouts.keep_alive_seconds, d->server.timeouts.keep_alive_seconds);
  EXPECT_EQ(r->key.argon2, d->key.argon2);
  EXPECT_EQ(r->log.level, d->log.level);
}

TEST(ConfigDefaults, EmptySectionsKeepDefaults) {
  const auto r = parse_text(with(R"("server": {"timeouts": {}}, "key": {}, "log": {})"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->server.port, 8080);
  EXPECT_EQ(r->server.timeouts.keep_alive_seconds, 5);
  EXPECT_FALSE(r->key.uses_passphrase());
}

TEST(ConfigKeys, EveryKeyTakesANonDefaultValue) {
  const auto r = parse_text(R"({
    "data_dir": "/data",
    "server": {
      "host": "0.0.0.0", "port": 9443, "threads": 3, "max_queued": 17, "max_body_bytes": 2048,
      "timeouts": {"read_seconds": 11, "write_seconds": 12, "keep_alive_seconds": 13}
    },
    "key": {"passphrase_env": "COMPTOIR_PASSPHRASE", "argon2": "sensitive"},
    "log": {"level": "debug"}
  })");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->server.host, "0.0.0.0");
  EXPECT_EQ(r->server.port, 9443);
  EXPECT_EQ(r->server.threads, 3);
  EXPECT_EQ(r->server.max_queued, 17);
  EXPECT_EQ(r->server.max_body_bytes, 2048u);
  EXPECT_EQ(r->server.timeouts.read_seconds, 11);
  EXPECT_EQ(r->server.timeouts.write_seconds, 12);
  EXPECT_EQ(r->server.timeouts.keep_alive_seconds, 13);
  EXPECT_EQ(r->key.passphrase_env, "COMPTOIR_PASSPHRASE");
  EXPECT_FALSE(r->key.passphrase.has_value());
  EXPECT_TRUE(r->key.uses_passphrase());
  EXPECT_EQ(r->key.argon2, Argon2Strength::sensitive);
  EXPECT_EQ(r->log.level, log::Level::debug);
}

// --- ranges ------------------------------------------------------------------------------------

struct RangeCase {
  std::string members;  // JSON placed at the top level
  std::string error;    // expected whole error message, or "" when the value is accepted
  std::function<std::int64_t(const Config&)> get;
  std::int64_t value = 0;
};

std::string server(const std::string& key, std::int64_t v) {
  return "\"server\": {\"" + key + "\": " + std::to_string(v) + "}";
}
std::string timeout(const std::string& key, std::int64_t v) {
  return "\"server\": {\"timeouts\": {\"" + key + "\": " + std::to_string(v) + "}}";
}

TEST(ConfigRanges, EveryBoundaryIsInclusiveAndOneBeyondIsRejected) {
  auto port = [](const Config& c) -> std::int64_t { return c.server.port; };
  auto threads = [](const Config& c) -> std::int64_t { return c.server.threads; };
  auto queued = [](const Config& c) -> std::int64_t { return c.server.max_queued; };
  auto body = [](const Config& c) { return static_cast<std::int64_t>(c.server.max_body_bytes); };
  auto rd = [](const Config& c) -> std::int64_t { return c.server.timeouts.read_seconds; };
  auto wr = [](const Config& c) -> std::int64_t { return c.server.timeouts.write_seconds; };
  auto ka = [](const Config& c) -> std::int64_t { return c.server.timeouts.keep_alive_seconds; };
  const std::string port_err = "server.port: must be an integer between 0 and 65535";
  const std::string threads_err = "server.threads: must be an integer between 1 and 256";
  const std::string queued_err = "server.max_queued: must be an integer between 1 and 65536";
  const std::string body_err = "server.max_body_bytes: must be an integer between 1024 and 67108864";
  const std::vector<RangeCase> cases = {
      {server("port", -1), port_err, port},
      {server("port", 0), "", port, 0},
      {server("port", 65535), "", port, 65535},
      {server("port", 65536), port_err, port},
      {server("threads", 0), threads_err, threads},
      {server("threads", 1), "", threads, 1},
      {server("threads", 256), "", threads, 256},
      {server("threads", 257), threads_err, threads},
      {server("max_queued", 0), queued_err, queued},
      {server("max_queued", 1), "", queued, 1},
      {server("max_queued", 65536), "", queued, 65536},
      {server("max_queued", 65537), queued_err, queued},
      {server("max_body_bytes", 1023), body_err, body},
      {server("max_body_bytes", 1024), "", body, 1024},
      {server("max_body_bytes", 64 << 20), "", body, 64 << 20},
      {server("max_body_bytes", (64 << 20) + 1), body_err, body},
  };
  std::vector<RangeCase> all = cases;
  for (const auto& [key, get] : std::vector<std::pair<std::string, std::function<std::int64_t(const Config&)>>>{
           {"read_seconds", rd}, {"write_seconds", wr}, {"keep_alive_seconds", ka}}) {
    const std::string err = "server.timeouts." + key + ": must be an integer between 1 and 300";
    all.push_back({timeout(key, 0), err, get});
    all.push_back({timeout(key, 1), "", get, 1});
    all.push_back({timeout(key, 300), "", get, 300});
    all.push_back({timeout(key, 301), err, get});
  }
  for (const RangeCase& c : all) {
    SCOPED_TRACE(c.members);
    const auto r = parse_text(with(c.members));
    if (c.error.empty()) {
      ASSERT_TRUE(r.has_value()) << r.error().message;
      EXPECT_EQ(c.get(*r), c.value);
    } else {
      EXPECT_EQ(error_of(r), c.error);
    }
  }
}

TEST(ConfigRanges, WhatsAppMessageAgeIsBetweenOneHourAndSevenDays) {
  auto wa = [](const std::string& extra) {
    return with(R"("channels": {"whatsapp": {"app_secret": "0123456789abcdef0123", "verify_token": "0123456789abcdef",)"
                R"( "access_token": "0123456789abcdef0123", "phone_number_id": "106540352242922")" + extra + "}}");
  };
  const auto defaults = parse_text(wa(""));
  ASSERT_TRUE(defaults.has_value()) << defaults.error().message;
  EXPECT_EQ(defaults->channels.whatsapp->max_message_age_hours, 24);
  const std::string err = "channels.whatsapp.max_message_age_hours: must be an integer between 1 and 168";
  EXPECT_EQ(error_of(parse_text(wa(R"(, "max_message_age_hours": 0)"))), err);
  EXPECT_EQ(error_of(parse_text(wa(R"(, "max_message_age_hours": 169)"))), err);
  for (int hours : {1, 168}) {
    const auto r = parse_text(wa(R"(, "max_message_age_hours": )" + std::to_string(hours)));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->channels.whatsapp->max_message_age_hours, hours);
  }
}

TEST(ConfigRanges, HugeAndNonIntegerNumbersAreRejectedByPath) {
  EXPECT_EQ(error_of(parse_text(with(R"("server": {"port": 18446744073709551615})"))),
            "server.port: must be an integer between 0 and 65535");
  EXPECT_EQ(error_of(parse_text(with(R"("server": {"port": -9223372036854775808})"))),
            "server.port: must be an integer between 0 and 65535");
  EXPECT_EQ(error_of(parse_text(with(R"("server": {"port": 99999999999999999999999})"))),
            "server.port: must be an integer between 0 and 65535, not a number");
  EXPECT_EQ(error_of(parse_text(with(R"("server": {"port": 8080.0})"))),
            "server.port: must be an integer between 0 and 65535, not a number");
  EXPECT_EQ(error_of(parse_text(with(R"("server": {"threads": 1e3})"))),
            "server.threads: must be an integer between 1 and 256, not a number");
  EXPECT_EQ(error_of(parse_text(with(R"("server": {"max_body_bytes": 1e300})"))),
            "server.max_body_bytes: must be an integer between 1024 and 67108864, not a number");
  // Beyond double range: a config error, not an escaping exception.
  const std::string e = error_of(parse_text(with(R"("server": {"max_body_bytes": 1e400})")));
  EXPECT_EQ(e.rfind("in-memory-config.json: malformed JSON: number overflow", 0), 0u) << e;
}

TEST(ConfigRanges, HostLength) {
  const std::string ok(253, 'h');
  const auto r = parse_text(with("\"server\": {\"host\": \"" + ok + "\"}"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->server.host, ok);
  EXPECT_EQ(error_of(parse_text(with("\"server\": {\"host\": \"" + ok + "h\"}"))),
            "server.host: is longer than 253 characters");
  EXPECT_EQ(error_of(parse_text(with(R"("server": {"host": ""})"))), "server.host: must not be empty");
  EXPECT_EQ(error_of(parse_text(with(R"("server": {"host": "a\u0000b"})"))),
            "server.host: must not contain NUL characters");
}

// --- unknown keys and wrong types --------------------------------------------------------------

TEST(ConfigStrict, UnknownKeysAreReportedWithTheirPath) {
  EXPECT_EQ(error_of(parse_text(with(R"("server": {"prot": 8080})"))), "server.prot: unknown key");
  EXPECT_EQ(error_of(parse_text(with(R"("server": {"timeouts": {"x": 1}})"))),
            "server.timeouts.x: unknown key");
  EXPECT_EQ(error_of(parse_text(with(R"("colour": "blue")"))), "colour: unknown key");
  EXPECT_EQ(error_of(parse_text(with(R"("key": {"passphrase_envv": "X"})"))),
            "key.passphrase_envv: unknown key");
  EXPECT_EQ(error_of(parse_text(with(R"("log": {"lvl": "debug"})"))), "log.lvl: unknown key");
  EXPECT_EQ(error_of(parse_text(with(R"("Server": {})"))), "Server: unknown key");  // case matters
  EXPECT_EQ(error_of(parse_text(with(R"("server": {"port": 1, "Port": 2})"))), "server.Port: unknown key");
}

TEST(ConfigStrict, WrongTypesNameThePath) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"data_dir": 5})", "data_dir: must be a string, not a number"},
      {with(R"("server": [])"), "server: must be an object, not an array"},
      {with(R"("server": {"host": 1})"), "server.host: must be a string, not a number"},
      {with(R"("server": {"port": "8080"})"),
       "server.port: must be an integer between 0 and 65535, not a string"},
      {with(R"("server": {"threads": true})"),
       "server.threads: must be an integer between 1 and 256, not a boolean"},
      {with(R"("server": {"timeouts": 5})"), "server.timeouts: must be an object, not a number"},
      {with(R"("server": {"timeouts": {"read_seconds": null}})"),
       "server.timeouts.read_seconds: must be an integer between 1 and 300, not null"},
      {with(R"("key": "secret")"), "key: must be an object, not a string"},
      {with(R"("key": {"argon2": 3})"), "key.argon2: must be a string, not a number"},
      {with(R"("key": {"passphrase_env": true})"), "key.passphrase_env: must be a string, not a boolean"},
      {with(R"("key": {"passphrase": 1234})"), "key.passphrase: must be a non-empty string"},
      {with(R"("key": {"passphrase_file": ["a"]})"), "key.passphrase_file: must be a string, not an array"},
      {with(R"("log": null)"), "log: must be an object, not null"},
      {with(R"("log": {"level": 1})"), "log.level: must be a string, not a number"},
      {with(R"("$schema": {})"), "$schema: must be a string, not an object"},
  };
  for (const auto& [text, expected] : cases) EXPECT_EQ(error_of(parse_text(text)), expected) << text;
}

TEST(ConfigStrict, TopLevelMustBeAnObject) {
  for (const char* text : {"[]", "\"text\"", "null", "42", "true"}) {
    EXPECT_EQ(error_of(parse_text(text)), "in-memory-config.json: the top level must be a JSON object") << text;
  }
}

TEST(ConfigStrict, SeveralErrorsAreReportedTogetherOnePerLine) {
  const auto r = parse_text(R"({
    "server": {"port": 70000, "threads": 0, "prot": 1, "timeouts": {"read_seconds": 0, "x": 1}},
    "key": {"argon2": "max"},
    "log": {"level": "loud"},
    "extra": true
  })");
  EXPECT_EQ(error_of(r),
            "data_dir: is required\n"
            "server.port: must be an integer between 0 and 65535\n"
            "server.threads: must be an integer between 1 and 256\n"
            "server.timeouts.read_seconds: must be an integer between 1 and 300\n"
            "server.timeouts.x: unknown key\n"
            "server.prot: unknown key\n"
            "key.argon2: must be one of \"interactive\", \"moderate\", \"sensitive\"\n"
            "log.level: must be one of \"debug\", \"info\", \"warn\", \"error\"\n"
            "extra: unknown key");
}

TEST(ConfigStrict, SchemaKeyIsAcceptedAndIgnored) {
  const auto r = parse_text(with(R"("$schema": "./comptoir.schema.json")"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
}

// --- JSON syntax and comments ------------------------------------------------------------------

TEST(ConfigSyntax, MalformedJsonReportsLineAndColumn) {
  // Line 3 is `  "server": {"port": 70000,}`; the stray '}' is column 28.
  const auto r = parse_text("{\"data_dir\": \"d\",\n\n  \"server\": {\"port\": 70000,}\n}\n");
  const std::string e = error_of(r);
  EXPECT_EQ(e.rfind("in-memory-config.json:3:28: malformed JSON", 0), 0u) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;  // one error, one line
}

TEST(ConfigSyntax, MissingCommaAndTruncation) {
  // Line 2 is `  "server": {}` directly after a member without a comma: the error is at line 2.
  std::string e = error_of(parse_text("{\"data_dir\": \"d\"\n  \"server\": {}}"));
  EXPECT_EQ(e.rfind("in-memory-config.json:2:", 0), 0u) << e;
  EXPECT_NE(e.find("malformed JSON"), std::string::npos) << e;
  e = error_of(parse_text("{\"data_dir\": \"d\",\n \"server\": {\"port\": 1"));
  EXPECT_EQ(e.rfind("in-memory-config.json:2:", 0), 0u) << e;
  e = error_of(parse_text(""));
  EXPECT_EQ(e.rfind("in-memory-config.json:1:1: malformed JSON", 0), 0u) << e;
}

TEST(ConfigSyntax, CrlfLineEndingsCountLinesCorrectly) {
  const auto r = parse_text("{\r\n\"data_dir\": \"d\",\r\n\"server\": {,}\r\n}");
  const std::string e = error_of(r);
  EXPECT_EQ(e.rfind("in-memory-config.json:3:12: malformed JSON", 0), 0u) << e;
}

TEST(ConfigSyntax, CommentsAreAcceptedAnywhereBetweenTokens) {
  const auto r = parse_text(R"(// Comptoir configuration
/* block
   comment */
{
  // the data directory
  "data_dir": /* inline */ "/srv/comptoir", // trailing
  "server" /* before colon */ : {
    "port": 9000 /* after value */,
    "host": "http://not-a-comment" // url-like string
  },
  "log": {"level": "warn"} /* last member */
}
// after the object
/* and a block at the very end */)");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->data_dir, "/srv/comptoir");
  EXPECT_EQ(r->server.port, 9000);
  EXPECT_EQ(r->server.host, "http://not-a-comment");
  EXPECT_EQ(r->log.level, log::Level::warn);
}

TEST(ConfigSyntax, UnterminatedCommentIsMalformed) {
  const std::string e = error_of(parse_text(with("") + "\n/* never closed"));
  EXPECT_EQ(e.rfind("in-memory-config.json:", 0), 0u) << e;
  EXPECT_NE(e.find("malformed JSON"), std::string::npos) << e;
}

// --- data_dir ----------------------------------------------------------------------------------

TEST(ConfigDataDir, IsRequired) {
  EXPECT_EQ(error_of(parse_text("{}")), "data_dir: is required");
  EXPECT_EQ(error_of(parse_text(R"({"server": {"port": 1}})")), "data_dir: is required");
  EXPECT_EQ(error_of(parse_text(R"({"data_dir": ""})")), "data_dir: must not be empty");
}

TEST(ConfigDataDir, RelativePathResolvesAgainstBaseDir) {
  auto r = parse_text(R"({"data_dir": "data"})", "/etc/comptoir");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->data_dir, "/etc/comptoir/data");
  r = parse_text(R"({"data_dir": "../var/./data"})", "/etc/comptoir");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->data_dir, "/etc/var/data");
  r = parse_text(R"({"data_dir": "/abs/data"})", "/etc/comptoir");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->data_dir, "/abs/data");
  r = parse_text(R"({"data_dir": "."})", "/etc/comptoir");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->data_dir.string(), "/etc/comptoir");  // no trailing separator
}

TEST(ConfigDataDir, LoadResolvesAgainstTheConfigFilesFolder) {
  TempDir dir;
  fs::create_directories(dir / "etc" / "comptoir");
  const fs::path file = dir / "etc" / "comptoir" / "comptoir.json";
  write_text(file, R"({"data_dir": "state"})");
  auto r = load(file);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->data_dir, dir / "etc" / "comptoir" / "state");
  EXPECT_EQ(r->source, file);
  write_text(file, R"({"data_dir": "../../data"})");
  r = load(file);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->data_dir, (dir / "data").lexically_normal());
}

// --- load ------------------------------------------------------------------------------------

TEST(ConfigLoad, MinimalConfigHelperLoads) {
  TempDir dir;
  write_text(dir / "c.json", minimal_config(dir / "data", "\"log\": {\"level\": \"error\"}"));
  auto r = load(dir / "c.json");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->data_dir, dir / "data");
  EXPECT_EQ(r->server.port, 0);
  EXPECT_EQ(r->log.level, log::Level::error);
}

TEST(ConfigLoad, MissingFileOrDirectoryIsAConfigError) {
  TempDir dir;
  auto r = load(dir / "absent.json");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_NE(r.error().message.find((dir / "absent.json").string()), std::string::npos);
  r = load(dir.path());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::config);
}

TEST(ConfigLoad, OversizedFileIsRejected) {
  TempDir dir;
  write_text(dir / "big.json", with("\"$schema\": \"x\"") + std::string((1u << 20) + 1, ' '));
  auto r = load(dir / "big.json");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_NE(r.error().message.find("larger than"), std::string::npos) << r.error().message;
}

TEST(ConfigLoad, ErrorsNameTheFile) {
  TempDir dir;
  write_text(dir / "c.json", "{\n\"data_dir\": \"d\"\n\"x\": 1}");
  auto r = load(dir / "c.json");
  ASSERT_FALSE(r.has_value());
  // The position is on line 3, where the missing comma is noticed.
  EXPECT_EQ(r.error().message.rfind((dir / "c.json").string() + ":3:", 0), 0u)
      << r.error().message;
}

// --- key: passphrase sources -----------------------------------------------------------------

TEST(ConfigKey, PassphraseFileIsReadAndTrailingNewlineStripped) {
  TempDir dir;
  write_text(dir / "pass", "correct horse battery staple\n");
  write_text(dir / "c.json", with(R"("key": {"passphrase_file": "pass"})"));
  auto r = load(dir / "c.json");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_TRUE(r->key.passphrase.has_value());
  EXPECT_EQ(r->key.passphrase->view(), "correct horse battery staple");
  EXPECT_TRUE(r->key.uses_passphrase());
  EXPECT_TRUE(r->key.passphrase_env.empty());
}

TEST(ConfigKey, PassphraseFileWithAbsolutePathAndCrlf) {
  TempDir dir;
  write_text(dir / "p.txt", "s3cret value\r\n");
  const auto r = parse_text(with("\"key\": {\"passphrase_file\": \"" + (dir / "p.txt").string() + "\"}"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->key.passphrase->view(), "s3cret value");
}

TEST(ConfigKey, InlinePassphraseIsKeptExactly) {
  const auto r = parse_text(with(R"("key": {"passphrase": " spaces kept \n"})"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_TRUE(r->key.passphrase.has_value());
  EXPECT_EQ(r->key.passphrase->view(), " spaces kept \n");
  EXPECT_TRUE(r->key.uses_passphrase());
}

TEST(ConfigKey, PassphraseLengthLimit) {
  const std::string max(1024, 'p');
  EXPECT_TRUE(parse_text(with("\"key\": {\"passphrase\": \"" + max + "\"}")).has_value());
  EXPECT_EQ(error_of(parse_text(with("\"key\": {\"passphrase\": \"" + max + "p\"}"))),
            "key.passphrase: is longer than 1024 characters");
  TempDir dir;
  write_text(dir / "max", max + "\n");
  write_text(dir / "over", max + "p\n");
  EXPECT_TRUE(parse_text(with(R"("key": {"passphrase_file": "max"})"), dir.path()).has_value());
  EXPECT_EQ(error_of(parse_text(with(R"("key": {"passphrase_file": "over"})"), dir.path())),
            "key.passphrase_file: holds more than 1024 characters");
}

TEST(ConfigKey, BothInlineAndFileIsAnError) {
  TempDir dir;
  write_text(dir / "pass", "file-secret-7781\n");
  const auto r = parse_text(with(R"("key": {"passphrase": "inline-secret-4410", "passphrase_file": "pass"})"),
                            dir.path());
  const std::string e = error_of(r);
  EXPECT_EQ(e, "key.passphrase: give either passphrase or passphrase_file, not both");
}

TEST(ConfigKey, MissingOrEmptyPassphraseFileIsAnErrorNamingTheKey) {
  TempDir dir;
  std::string e = error_of(parse_text(with(R"("key": {"passphrase_file": "nope.txt"})"), dir.path()));
  EXPECT_EQ(e.rfind("key.passphrase_file: ", 0), 0u) << e;
  EXPECT_NE(e.find((dir / "nope.txt").string()), std::string::npos) << e;
  write_text(dir / "empty", "\r\n");
  e = error_of(parse_text(with(R"("key": {"passphrase_file": "empty"})"), dir.path()));
  EXPECT_EQ(e, "key.passphrase_file: names an empty file");
  EXPECT_EQ(error_of(parse_text(with(R"("key": {"passphrase": ""})"))), "key.passphrase: must be a non-empty string");
}

TEST(ConfigKey, PassphraseEnvAcceptsVariableNames) {
  for (const char* name : {"COMPTOIR_PASSPHRASE", "pass", "_X", "A1_b2"}) {
    const auto r = parse_text(with(std::string("\"key\": {\"passphrase_env\": \"") + name + "\"}"));
    ASSERT_TRUE(r.has_value()) << name << ": " << r.error().message;
    EXPECT_EQ(r->key.passphrase_env, name);
    EXPECT_TRUE(r->key.uses_passphrase());
  }
  const std::string longest(128, 'V');
  EXPECT_TRUE(parse_text(with("\"key\": {\"passphrase_env\": \"" + longest + "\"}")).has_value());
}

TEST(ConfigKey, PassphraseEnvRejectsInvalidCharacters) {
  const std::string expected = "key.passphrase_env: must be an environment variable name (letters, digits, _)";
  for (const char* name : {"MY-PASS", "A B", "X=Y", "$HOME", "P\\u00c4SS", "a.b", "x\\ny", "a-b-c;rm"}) {
    EXPECT_EQ(error_of(parse_text(with(std::string("\"key\": {\"passphrase_env\": \"") + name + "\"}"))),
              expected)
        << name;  // exactly one line even with several bad characters
  }
  EXPECT_EQ(error_of(parse_text(with(R"("key": {"passphrase_env": ""})"))), "key.passphrase_env: must not be empty");
  EXPECT_EQ(error_of(parse_text(with("\"key\": {\"passphrase_env\": \"" + std::string(129, 'V') + "\"}"))),
            "key.passphrase_env: is longer than 128 characters");
}

TEST(ConfigKey, PassphraseEnvWithAnotherSourceIsAnError) {
  const std::string expected = "key.passphrase_env: give only one of passphrase_env, passphrase, passphrase_file";
  EXPECT_EQ(error_of(parse_text(with(R"("key": {"passphrase_env": "P", "passphrase": "pw-5512"})"))), expected);
  TempDir dir;
  write_text(dir / "p", "pw-5512");
  EXPECT_EQ(error_of(parse_text(with(R"("key": {"passphrase_env": "P", "passphrase_file": "p"})"), dir.path())),
            expected);
}

TEST(ConfigKey, Argon2Choices) {
  const std::vector<std::pair<std::string, Argon2Strength>> ok = {
      {"interactive", Argon2Strength::interactive},
      {"moderate", Argon2Strength::moderate},
      {"sensitive", Argon2Strength::sensitive}};
  for (const auto& [text, strength] : ok) {
    const auto r = parse_text(with("\"key\": {\"argon2\": \"" + text + "\"}"));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->key.argon2, strength);
    EXPECT_EQ(to_string(strength), text);
  }
  const std::string expected = "key.argon2: must be one of \"interactive\", \"moderate\", \"sensitive\"";
  for (const char* bad : {"Moderate", "strong", "low", " moderate"}) {
    EXPECT_EQ(error_of(parse_text(with(std::string("\"key\": {\"argon2\": \"") + bad + "\"}"))), expected) << bad;
  }
  EXPECT_EQ(error_of(parse_text(with(R"("key": {"argon2": ""})"))), "key.argon2: must not be empty");
}

TEST(ConfigLog, LevelChoices) {
  const std::vector<std::pair<std::string, log::Level>> ok = {
      {"debug", log::Level::debug}, {"info", log::Level::info}, {"warn", log::Level::warn},
      {"error", log::Level::error}};
  for (const auto& [text, level] : ok) {
    const auto r = parse_text(with("\"log\": {\"level\": \"" + text + "\"}"));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->log.level, level);
  }
  for (const char* bad : {"verbose", "INFO", "warning", "trace"}) {
    EXPECT_EQ(error_of(parse_text(with(std::string("\"log\": {\"level\": \"") + bad + "\"}"))),
              "log.level: must be one of \"debug\", \"info\", \"warn\", \"error\"")
        << bad;
  }
}

// --- inline secret and file permissions ------------------------------------------------------

TEST(ConfigPermissions, InlinePassphraseNeedsAnOwnerOnlyConfigFile) {
  TempDir dir;
  const fs::path file = dir / "comptoir.json";
  write_text(file, with(R"("key": {"passphrase": "inline-pw-90210"})"));
  const std::string expected =
      "key.passphrase: an inline secret needs a config file that only its owner can read (chmod "
      "600), or use passphrase_file / passphrase_env";
  for (mode_t bad : {mode_t{0644}, mode_t{0640}, mode_t{0604}, mode_t{0660}, mode_t{0601}}) {
    chmod_or_fail(file, bad);
    auto r = load(file);
    EXPECT_EQ(error_of(r), expected) << std::oct << bad;
  }
  for (mode_t good : {mode_t{0600}, mode_t{0400}}) {
    chmod_or_fail(file, good);
    auto r = load(file);
    ASSERT_TRUE(r.has_value()) << std::oct << good << ": " << r.error().message;
    EXPECT_EQ(r->key.passphrase->view(), "inline-pw-90210");
  }
}

TEST(ConfigPermissions, FileAndEnvPassphrasesAllowAReadableConfig) {
  TempDir dir;
  write_text(dir / "pass", "pw\n");
  chmod_or_fail(dir / "pass", 0600);
  write_text(dir / "a.json", with(R"("key": {"passphrase_file": "pass"})"));
  write_text(dir / "b.json", with(R"("key": {"passphrase_env": "COMPTOIR_PW"})"));
  write_text(dir / "c.json", with(""));
  for (const char* name : {"a.json", "b.json", "c.json"}) {
    chmod_or_fail(dir / name, 0644);
    auto r = load(dir / name);
    EXPECT_TRUE(r.has_value()) << name << ": " << r.error().message;
  }
}

TEST(ConfigPermissions, PermissionErrorIsAddedToOtherErrors) {
  TempDir dir;
  const fs::path file = dir / "c.json";
  write_text(file, R"({"key": {"passphrase": "inline-pw-31337"}, "server": {"port": -5}})");
  chmod_or_fail(file, 0644);
  const std::string e = error_of(load(file));
  EXPECT_EQ(e.rfind("data_dir: is required\nserver.port: must be an integer between 0 and 65535\n"
                    "key.passphrase: an inline secret needs",
                    0),
            0u)
      << e;
}

// --- secrets never appear in errors ----------------------------------------------------------

TEST(ConfigSecrecy, SecretValueNeverAppearsInAnyError) {
  const std::string secret = "Zq9-secret-passphrase";
  TempDir dir;
  write_text(dir / "pass", secret + "\n");
  write_text(dir / "long", secret + std::string(2000, 'Z'));
  const std::vector<std::string> texts = {
      with("\"key\": {\"passphrase\": \"" + secret + "\", \"passphrase_file\": \"pass\"}"),
      with("\"key\": {\"passphrase\": \"" + secret + "\", \"passphrase_env\": \"P\"}"),
      with("\"key\": {\"passphrase_file\": \"pass\", \"passphrase_env\": \"P\"}"),
      with("\"key\": {\"passphrase_file\": \"long\"}"),
      with("\"key\": {\"passphrase\": \"" + secret + std::string(1100, 'Z') + "\"}"),
      with("\"key\": {\"passphrase\": \"" + secret + "\", \"argon2\": \"x\"}, \"bogus\": 1"),
      "{\"key\": {\"passphrase\": \"" + secret + "\"}}",
      // Malformed JSON: the parser's own message must not quote the secret either.
      with("\"key\": {\"passphrase\": \"" + secret),
      with("\"key\": {\"passphrase\": \"" + secret + "\n\"}"),
      with("\"key\": {\"passphrase\": \"" + secret + "\\x\"}"),
      with("\"key\": {\"passphrase\": \"" + secret + "\" 5}"),
  };
  for (const std::string& text : texts) {
    const auto r = parse_text(text, dir.path());
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_EQ(r.error().message.find("Zq9"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().public_message.find("Zq9"), std::string::npos);
  }
}

TEST(ConfigSecrecy, PermissionRefusalDoesNotEchoTheSecret) {
  TempDir dir;
  write_text(dir / "c.json", with(R"("key": {"passphrase": "Zq9-inline"})"));
  chmod_or_fail(dir / "c.json", 0644);
  const std::string e = error_of(load(dir / "c.json"));
  EXPECT_NE(e, "<no error>");
  EXPECT_EQ(e.find("Zq9"), std::string::npos) << e;
}

}  // namespace
}  // namespace comptoir::config

namespace comptoir::config {
namespace {

// --- retention ---------------------------------------------------------------------------------

TEST(ConfigRetention, DefaultsRangesAndUnknownKeys) {
  const auto d = parse_text(with(""));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->retention.sweep_interval_seconds, 3600);
  EXPECT_EQ(d->retention.batch_size, 100);
  const auto r = parse_text(with(R"("retention": {"sweep_interval_seconds": 60, "batch_size": 2000})"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->retention.sweep_interval_seconds, 60);
  EXPECT_EQ(r->retention.batch_size, 2000);
  EXPECT_EQ(error_of(parse_text(with(R"("retention": {"sweep_interval_seconds": 0})"))),
            "retention.sweep_interval_seconds: must be an integer between 1 and 604800");
  EXPECT_EQ(error_of(parse_text(with(R"("retention": {"sweep_interval_seconds": 604801})"))),
            "retention.sweep_interval_seconds: must be an integer between 1 and 604800");
  EXPECT_EQ(error_of(parse_text(with(R"("retention": {"batch_size": 0})"))),
            "retention.batch_size: must be an integer between 1 and 100000");
  EXPECT_NE(error_of(parse_text(with(R"("retention": {"sweep": 5})"))).find("retention.sweep"), std::string::npos);
}

}  // namespace
}  // namespace comptoir::config

namespace comptoir::config {
namespace {

TEST(ConfigAudit, CheckpointSettingsHaveDefaultsAndRanges) {
  auto d = parse(R"({"data_dir": "/srv/comptoir"})", "in-memory-config.json", "/etc/comptoir");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->audit.checkpoint_every_events, 1000);
  EXPECT_EQ(d->audit.checkpoint_every_seconds, 300);
  auto r = parse(R"({"data_dir": "/d", "audit": {"checkpoint_every_events": 1, "checkpoint_every_seconds": 86400}})",
                 "in-memory-config.json", "/etc/comptoir");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->audit.checkpoint_every_events, 1);
  EXPECT_EQ(r->audit.checkpoint_every_seconds, 86400);
  for (const char* bad : {R"("checkpoint_every_events": 0)", R"("checkpoint_every_events": 1000001)",
                          R"("checkpoint_every_seconds": 0)", R"("checkpoint_every_seconds": 86401)", R"("every": 5)"}) {
    auto e = parse(std::string(R"({"data_dir": "/d", "audit": {)") + bad + "}}", "in-memory-config.json", "/etc/comptoir");
    ASSERT_FALSE(e.has_value()) << bad;
    EXPECT_NE(e.error().message.find("audit."), std::string::npos) << e.error().message;
  }
}

}  // namespace
}  // namespace comptoir::config

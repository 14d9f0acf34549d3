// Tests for src/config/json_reader: JSON with comments, error positions, and the strict
// ObjectReader (types, ranges, unknown keys, secrets inline or from a file).
#include "src/config/json_reader.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <string>

#include "tests/support/temp_dir.h"

namespace comptoir::config {
namespace {

using comptoir::testing::TempDir;
using comptoir::testing::write_text;
using nlohmann::json;

// Parses `text` (must be valid) and gives a reader over it with its own error list.
struct Fixture {
  explicit Fixture(const std::string& text, std::filesystem::path base = "/base")
      : doc(json::parse(text)), reader(doc, "", errors, std::move(base)) {}
  json doc;
  ErrorList errors;
  ObjectReader reader;
};

// --- parse_json_with_comments ----------------------------------------------------------------

TEST(JsonParse, AcceptsLineAndBlockComments) {
  const auto r = parse_json_with_comments(
      "// leading\n/* block\n spanning */ {\"a\": /* inline */ 1, // trailing\n \"b\": \"//not a "
      "comment\", \"c\": \"/* nor this */\"}\n// end\n",
      "c.json");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)["a"], 1);
  EXPECT_EQ((*r)["b"], "//not a comment");
  EXPECT_EQ((*r)["c"], "/* nor this */");
}

TEST(JsonParse, ErrorNamesSourceLineAndColumn) {
  // Line 3 is `  "b": 2,}`: the offending '}' is column 10.
  const auto r = parse_json_with_comments("{\n  \"a\": 1,\n  \"b\": 2,}\n", "comptoir.json");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_EQ(r.error().message.rfind("comptoir.json:3:10: malformed JSON: ", 0), 0u) << r.error().message;
}

TEST(JsonParse, ErrorPositionCountsCommentLines) {
  const auto r = parse_json_with_comments("// one\n/* two\nthree */\n{\"a\":}", "x.json");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message.rfind("x.json:4:6: malformed JSON", 0), 0u) << r.error().message;
}

TEST(JsonParse, ErrorOnFirstLineAndFirstColumn) {
  auto r = parse_json_with_comments("]", "f");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message.rfind("f:1:1: malformed JSON", 0), 0u) << r.error().message;
  r = parse_json_with_comments("{\"a\":1,,}", "f");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message.rfind("f:1:8: malformed JSON", 0), 0u) << r.error().message;
}

TEST(JsonParse, TruncatedAndEmptyInputAreErrors) {
  for (const char* text : {"", "   ", "{", "{\"a\":", "{\"a\": \"unterminated", "/* open comment",
                           "{\"a\":1} trailing", "{'a':1}", "{\"a\":01}", "{\"a\":NaN}",
                           "{\"a\":\"\\x\"}"}) {
    const auto r = parse_json_with_comments(text, "t.json");
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_EQ(r.error().code, Errc::config);
    EXPECT_EQ(r.error().message.rfind("t.json:", 0), 0u) << r.error().message;
    EXPECT_NE(r.error().message.find("malformed JSON"), std::string::npos) << r.error().message;
  }
}

TEST(JsonParse, ErrorNeverEchoesTheOffendingText) {
  // nlohmann's messages quote the token being read ("last read: '…'"); for an unterminated or
  // invalid string that is the secret itself, which must not reach the operator's terminal.
  const std::string secret = "Tr0ub4dor-and-3";
  for (const std::string& text :
       {"{\"key\": {\"passphrase\": \"" + secret,                       // unterminated
        "{\"key\": {\"passphrase\": \"" + secret + "\n\"}}",            // raw newline inside
        "{\"key\": {\"passphrase\": \"" + secret + "\t\"}}",            // raw tab inside
        "{\"key\": {\"passphrase\": \"" + secret + "\\q\"}}",           // invalid escape
        "{\"key\": {\"passphrase\": \"" + secret + "\\ud800\"}}",       // lone surrogate
        "{\"key\": {\"passphrase\": \"" + secret + "\xff\"}}",          // invalid UTF-8
        "{\"key\": {\"passphrase\": " + secret + "}}"}) {               // unquoted
    const auto r = parse_json_with_comments(text, "s.json");
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_EQ(r.error().message.find("Tr0ub"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.rfind("s.json:1:", 0), 0u) << r.error().message;
  }
}

TEST(JsonParse, NumberOverflowIsAnErrorNotAnException) {
  // nlohmann reports 1e400 as out_of_range.406, not as a parse_error; it used to escape as an
  // exception (terminating the server at startup, aborting the fuzz target).
  for (const char* text : {"{\"a\": 1e400}", "{\"a\": -1e400}", "[1.5e99999]"}) {
    const auto r = parse_json_with_comments(text, "n.json");
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_EQ(r.error().code, Errc::config);
    EXPECT_EQ(r.error().message.rfind("n.json: malformed JSON: number overflow", 0), 0u) << r.error().message;
  }
  const auto tiny = parse_json_with_comments("{\"a\": 1e-400}", "n.json");  // underflow is fine
  ASSERT_TRUE(tiny.has_value());
  EXPECT_EQ((*tiny)["a"].get<double>(), 0.0);
}

// --- ErrorList ---------------------------------------------------------------------------------

TEST(JsonErrorList, JoinsOneErrorPerLine) {
  ErrorList e;
  EXPECT_TRUE(e.empty());
  EXPECT_EQ(e.joined(), "");
  e.add("server.port", "bad");
  e.add("", "top problem");
  EXPECT_FALSE(e.empty());
  ASSERT_EQ(e.items().size(), 2u);
  EXPECT_EQ(e.joined(), "server.port: bad\n(root): top problem");
}

// --- ObjectReader getters ----------------------------------------------------------------------

TEST(JsonReaderString, ReadsAndValidates) {
  Fixture f(R"({"s": "hello", "empty": "", "num": 3, "nul": "a\u0000b", "long": "abcdef"})");
  std::string out = "unchanged";
  EXPECT_TRUE(f.reader.string("s", out));
  EXPECT_EQ(out, "hello");

  out = "unchanged";
  EXPECT_FALSE(f.reader.string("absent", out));
  EXPECT_EQ(out, "unchanged");
  EXPECT_TRUE(f.errors.empty());

  EXPECT_FALSE(f.reader.string("empty", out));
  std::string e2 = "x";
  EXPECT_FALSE(f.reader.string("num", e2));
  EXPECT_FALSE(f.reader.string("nul", e2));
  EXPECT_FALSE(f.reader.string("long", e2, 5));
  EXPECT_EQ(e2, "x");
  EXPECT_EQ(f.errors.joined(),
            "empty: must not be empty\n"
            "num: must be a string, not a number\n"
            "nul: must not contain NUL characters\n"
            "long: is longer than 5 characters");
}

TEST(JsonReaderString, AllowEmptyAndExactMaxLength) {
  Fixture f(R"({"empty": "", "six": "abcdef"})");
  std::string out = "x";
  EXPECT_TRUE(f.reader.string("empty", out, 10, /*allow_empty=*/true));
  EXPECT_EQ(out, "");
  EXPECT_TRUE(f.reader.string("six", out, 6));
  EXPECT_EQ(out, "abcdef");
  EXPECT_TRUE(f.errors.empty()) << f.errors.joined();
}

TEST(JsonReaderInteger, RangeBoundsAreInclusive) {
  Fixture f(R"({"lo": 10, "hi": 20, "below": 9, "above": 21, "neg": -1})");
  std::int64_t v = 0;
  EXPECT_TRUE(f.reader.integer("lo", v, 10, 20));
  EXPECT_EQ(v, 10);
  EXPECT_TRUE(f.reader.integer("hi", v, 10, 20));
  EXPECT_EQ(v, 20);
  v = 7;
  EXPECT_FALSE(f.reader.integer("below", v, 10, 20));
  EXPECT_FALSE(f.reader.integer("above", v, 10, 20));
  EXPECT_FALSE(f.reader.integer("neg", v, 0, 20));
  EXPECT_EQ(v, 7);
  EXPECT_EQ(f.errors.joined(),
            "below: must be an integer between 10 and 20\n"
            "above: must be an integer between 10 and 20\n"
            "neg: must be an integer between 0 and 20");
}

TEST(JsonReaderInteger, RejectsNonIntegersNamingTheType) {
  Fixture f(R"({"f": 8.0, "s": "8", "b": true, "n": null, "a": [8], "o": {}})");
  std::int64_t v = 1;
  for (const char* k : {"f", "s", "b", "n", "a", "o"}) EXPECT_FALSE(f.reader.integer(k, v, 0, 10)) << k;
  EXPECT_EQ(v, 1);
  EXPECT_EQ(f.errors.joined(),
            "f: must be an integer between 0 and 10, not a number\n"
            "s: must be an integer between 0 and 10, not a string\n"
            "b: must be an integer between 0 and 10, not a boolean\n"
            "n: must be an integer between 0 and 10, not null\n"
            "a: must be an integer between 0 and 10, not an array\n"
            "o: must be an integer between 0 and 10, not an object");
}

TEST(JsonReaderInteger, ExtremeValuesDoNotWrap) {
  Fixture f(R"({"umax": 18446744073709551615, "imax": 9223372036854775807,
                "imin": -9223372036854775808, "over": 9223372036854775808,
                "huge": 1e300, "bigint": 123456789012345678901234567890})");
  std::int64_t v = 0;
  EXPECT_FALSE(f.reader.integer("umax", v, 0, 65535));
  EXPECT_FALSE(f.reader.integer("over", v, 0, 65535));
  EXPECT_FALSE(f.reader.integer("imin", v, 0, 65535));
  EXPECT_FALSE(f.reader.integer("huge", v, 0, 65535));
  EXPECT_FALSE(f.reader.integer("bigint", v, 0, 65535));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(f.reader.integer("imax", v, 0, INT64_MAX));
  EXPECT_EQ(v, INT64_MAX);
  EXPECT_TRUE(f.reader.integer("imin", v, INT64_MIN, 0));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_EQ(f.errors.items().size(), 5u) << f.errors.joined();
}

TEST(JsonReaderBoolean, AcceptsOnlyJsonBooleans) {
  Fixture f(R"({"t": true, "f": false, "s": "true", "n": 1})");
  bool b = false;
  EXPECT_TRUE(f.reader.boolean("t", b));
  EXPECT_TRUE(b);
  EXPECT_TRUE(f.reader.boolean("f", b));
  EXPECT_FALSE(b);
  b = true;
  EXPECT_FALSE(f.reader.boolean("s", b));
  EXPECT_FALSE(f.reader.boolean("n", b));
  EXPECT_TRUE(b);
  EXPECT_EQ(f.errors.joined(), "s: must be true or false, not a string\nn: must be true or false, not a number");
}

TEST(JsonReaderPath, RelativePathsResolveAgainstBaseDir) {
  Fixture f(R"({"rel": "data", "dotted": "./a/../b//c", "up": "../x", "abs": "/srv/d"})", "/etc/comptoir");
  std::filesystem::path p;
  EXPECT_TRUE(f.reader.path("rel", p));
  EXPECT_EQ(p, "/etc/comptoir/data");
  EXPECT_TRUE(f.reader.path("dotted", p));
  EXPECT_EQ(p, "/etc/comptoir/b/c");
  EXPECT_TRUE(f.reader.path("up", p));
  EXPECT_EQ(p, "/etc/x");
  EXPECT_TRUE(f.reader.path("abs", p));
  EXPECT_EQ(p, "/srv/d");
  EXPECT_TRUE(f.errors.empty());
}

TEST(JsonReaderPath, NormalisedWithoutTrailingSeparator) {
  // Regression: "." used to give "/etc/comptoir/" (trailing separator), which broke the demo.
  Fixture f(R"({"dot": ".", "slash": "data/", "root": "/", "abs": "/srv/./a/../d/", "dotdot": ".."})",
            "/etc/comptoir");
  std::filesystem::path p;
  ASSERT_TRUE(f.reader.path("dot", p));
  EXPECT_EQ(p.string(), "/etc/comptoir");
  ASSERT_TRUE(f.reader.path("slash", p));
  EXPECT_EQ(p.string(), "/etc/comptoir/data");
  ASSERT_TRUE(f.reader.path("root", p));
  EXPECT_EQ(p.string(), "/");
  ASSERT_TRUE(f.reader.path("abs", p));
  EXPECT_EQ(p.string(), "/srv/d");
  ASSERT_TRUE(f.reader.path("dotdot", p));
  EXPECT_EQ(p.string(), "/etc");
}

TEST(JsonReaderChoice, AcceptsListedValuesOnly) {
  Fixture f(R"({"ok": "b", "case": "B", "other": "d", "num": 2})");
  std::string out = "keep";
  EXPECT_TRUE(f.reader.choice("ok", out, {"a", "b", "c"}));
  EXPECT_EQ(out, "b");
  out = "keep";
  EXPECT_FALSE(f.reader.choice("case", out, {"a", "b", "c"}));
  EXPECT_FALSE(f.reader.choice("other", out, {"a", "b", "c"}));
  EXPECT_FALSE(f.reader.choice("num", out, {"a", "b", "c"}));
  EXPECT_FALSE(f.reader.choice("absent", out, {"a"}));
  EXPECT_EQ(out, "keep");
  EXPECT_EQ(f.errors.joined(),
            "case: must be one of \"a\", \"b\", \"c\"\n"
            "other: must be one of \"a\", \"b\", \"c\"\n"
            "num: must be a string, not a number");
}

TEST(JsonReaderObject, NestedPathsAndUnknownKeys) {
  Fixture f(R"({"a": {"b": {"c": 1, "zz": 2}, "y": 3}, "top": 4, "arr": []})");
  auto a = f.reader.object("a");
  ASSERT_TRUE(a.has_value());
  auto b = a->object("b");
  ASSERT_TRUE(b.has_value());
  std::int64_t v = 0;
  EXPECT_TRUE(b->integer("c", v, 0, 10));
  EXPECT_EQ(b->child_path("c"), "a.b.c");
  b->finish();
  a->finish();
  EXPECT_FALSE(f.reader.object("arr").has_value());
  EXPECT_FALSE(f.reader.object("missing").has_value());
  f.reader.finish();
  EXPECT_EQ(f.errors.joined(),
            "a.b.zz: unknown key\n"
            "a.y: unknown key\n"
            "arr: must be an object, not an array\n"
            "top: unknown key");
}

TEST(JsonReaderObject, RequireAndKeysAskedButAbsent) {
  Fixture f(R"({"present": 1})");
  EXPECT_TRUE(f.reader.has("present"));
  EXPECT_FALSE(f.reader.has("missing"));
  f.reader.require("present");
  f.reader.require("missing");
  std::int64_t v = 0;
  f.reader.integer("present", v, 0, 5);
  std::string s;
  f.reader.string("optional", s);  // asked, absent: neither an error nor unknown
  f.reader.finish();
  EXPECT_EQ(f.errors.joined(), "missing: is required");
}

TEST(JsonReaderObject, ErrorHelperUsesChildPath) {
  Fixture f(R"({"server": {}})");
  auto s = f.reader.object("server");
  ASSERT_TRUE(s.has_value());
  s->error("port", "custom problem");
  EXPECT_EQ(f.errors.joined(), "server.port: custom problem");
  EXPECT_EQ(&s->errors(), &f.errors);
  EXPECT_EQ(s->base_dir(), "/base");
}

// --- secrets -----------------------------------------------------------------------------------

TEST(JsonReaderSecret, InlineSecret) {
  Fixture f(R"({"passphrase": "open sesame"})");
  EXPECT_FALSE(f.reader.secret_was_inline());
  auto s = f.reader.secret("passphrase");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->view(), "open sesame");
  EXPECT_TRUE(f.reader.secret_was_inline());
  f.reader.finish();
  EXPECT_TRUE(f.errors.empty()) << f.errors.joined();
}

TEST(JsonReaderSecret, AbsentIsNotAnError) {
  Fixture f(R"({})");
  EXPECT_FALSE(f.reader.secret("passphrase").has_value());
  EXPECT_FALSE(f.reader.secret_was_inline());
  EXPECT_TRUE(f.errors.empty());
}

TEST(JsonReaderSecret, FileSecretRelativeToBaseDirWithNewlineStripped) {
  TempDir dir;
  write_text(dir / "pass.txt", "from file\r\n\n");
  Fixture f(R"({"passphrase_file": "pass.txt"})", dir.path());
  auto s = f.reader.secret("passphrase");
  ASSERT_TRUE(s.has_value()) << f.errors.joined();
  EXPECT_EQ(s->view(), "from file");
  EXPECT_FALSE(f.reader.secret_was_inline());
  f.reader.finish();
  EXPECT_TRUE(f.errors.empty()) << f.errors.joined();
}

TEST(JsonReaderSecret, InnerWhitespaceAndLeadingNewlinesAreKept) {
  TempDir dir;
  write_text(dir / "p", "\n two\nlines \n");
  Fixture f(R"({"p_file": "p"})", dir.path());
  auto s = f.reader.secret("p");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->view(), "\n two\nlines ");
}

TEST(JsonReaderSecret, LengthLimitsForInlineAndFile) {
  TempDir dir;
  write_text(dir / "exact", std::string(8, 'e') + "\n");
  write_text(dir / "long", std::string(9, 'l'));
  write_text(dir / "huge", std::string(5000, 'h'));
  Fixture f(R"({"a": "12345678", "b": "123456789"})", dir.path());
  EXPECT_TRUE(f.reader.secret("a", 8).has_value());
  EXPECT_FALSE(f.reader.secret("b", 8).has_value());
  Fixture g(R"({"exact_file": "exact", "long_file": "long", "huge_file": "huge"})", dir.path());
  auto exact = g.reader.secret("exact", 8);
  ASSERT_TRUE(exact.has_value()) << g.errors.joined();
  EXPECT_EQ(exact->size(), 8u);
  EXPECT_FALSE(g.reader.secret("long", 8).has_value());
  EXPECT_FALSE(g.reader.secret("huge", 8).has_value());
  EXPECT_EQ(f.errors.joined(), "b: is longer than 8 characters");
  ASSERT_EQ(g.errors.items().size(), 2u) << g.errors.joined();
  EXPECT_EQ(g.errors.items()[0], "long_file: holds more than 8 characters");
  EXPECT_EQ(g.errors.items()[1].rfind("huge_file: ", 0), 0u);
  EXPECT_EQ(g.errors.joined().find("hhhh"), std::string::npos);
  EXPECT_EQ(g.errors.joined().find("llll"), std::string::npos);
}

TEST(JsonReaderSecret, BothGivenIsAnErrorWithoutTheValue) {
  TempDir dir;
  write_text(dir / "p", "file-secret-value");
  Fixture f(R"({"passphrase": "inline-secret-value", "passphrase_file": "p"})", dir.path());
  EXPECT_FALSE(f.reader.secret("passphrase").has_value());
  f.reader.finish();  // both keys were looked at: neither is "unknown"
  EXPECT_EQ(f.errors.joined(), "passphrase: give either passphrase or passphrase_file, not both");
}

TEST(JsonReaderSecret, BadInlineAndFileValues) {
  TempDir dir;
  write_text(dir / "empty", "\n");
  Fixture f(R"({"a": "", "b": 42, "c_file": "empty", "d_file": "missing", "e_file": 5})", dir.path());
  for (const char* k : {"a", "b", "c", "d", "e"}) EXPECT_FALSE(f.reader.secret(k).has_value()) << k;
  ASSERT_EQ(f.errors.items().size(), 5u) << f.errors.joined();
  EXPECT_EQ(f.errors.items()[0], "a: must be a non-empty string");
  EXPECT_EQ(f.errors.items()[1], "b: must be a non-empty string");
  EXPECT_EQ(f.errors.items()[2], "c_file: names an empty file");
  EXPECT_EQ(f.errors.items()[3].rfind("d_file: cannot read " + (dir / "missing").string(), 0), 0u)
      << f.errors.items()[3];
  EXPECT_EQ(f.errors.items()[4], "e_file: must be a string, not a number");
}

}  // namespace
}  // namespace comptoir::config

// JsonWriter: what it writes parses back (with nlohmann/json) to exactly what was written, for
// any input bytes; separators, nesting, escapes and the U+FFFD replacement of malformed UTF-8.
#include "src/common/json_writer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

namespace comptoir {
namespace {

using nlohmann::json;

std::string as_json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(JsonWriterTest, WritesNestedDocumentsWithSeparators) {
  JsonWriter w;
  w.begin_object().member("a", 1).member("b", "two").member("c", true).member("d", false);
  w.key("e").begin_array().value(std::int64_t{-9007199254740993}).begin_object().end_object().begin_array().end_array();
  w.value("x").end_array();
  w.key("f").begin_object().member("g", std::string("h")).end_object();
  w.end_object();
  EXPECT_EQ(w.text(), R"({"a":1,"b":"two","c":true,"d":false,"e":[-9007199254740993,{},[],"x"],"f":{"g":"h"}})");
  const json j = json::parse(w.text());
  EXPECT_EQ(j["e"][0].get<std::int64_t>(), -9007199254740993);
  EXPECT_EQ(j["f"]["g"], "h");
}

TEST(JsonWriterTest, EmptyContainersAndTopLevelValues) {
  EXPECT_EQ(JsonWriter().begin_object().end_object().take(), "{}");
  EXPECT_EQ(JsonWriter().begin_array().end_array().take(), "[]");
  EXPECT_EQ(JsonWriter().value("s").take(), "\"s\"");
  EXPECT_EQ(JsonWriter().value(0).take(), "0");
}

TEST(JsonWriterTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(as_json_string("a\"b\\c/d"), R"("a\"b\\c/d")");
  EXPECT_EQ(as_json_string("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(as_json_string(std::string("\x00\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\x7f\"");
  EXPECT_EQ(as_json_string(""), "\"\"");
}

TEST(JsonWriterTest, KeepsWellFormedUtf8AsItIs) {
  const std::string s = "Crème brûlée · 🍰 € 𝄞 \xEF\xBF\xBF";
  EXPECT_EQ(as_json_string(s), "\"" + s + "\"");
  EXPECT_EQ(json::parse(as_json_string(s)).get<std::string>(), s);
}

TEST(JsonWriterTest, ReplacesEachMalformedSequenceWithOneReplacementCharacter) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(as_json_string("a\xFF" "b"), "\"a" + r + "b\"");
  EXPECT_EQ(as_json_string("\xC3"), "\"" + r + "\"");               // truncated two-byte sequence
  EXPECT_EQ(as_json_string("\xC0\xAF"), "\"" + r + r + "\"");       // overlong '/'
  EXPECT_EQ(as_json_string("\xED\xA0\x80"), "\"" + r + r + r + "\"");  // a UTF-16 surrogate
  EXPECT_EQ(as_json_string("\xF4\x90\x80\x80"), "\"" + r + r + r + r + "\"");  // above U+10FFFF
  EXPECT_EQ(as_json_string("\xE2\x82"), "\"" + r + "\"");           // cut short at the end: one
  EXPECT_EQ(as_json_string("\xE2\x82z"), "\"" + r + "z\"");         // cut short: one, then the next
  EXPECT_EQ(as_json_string("\xF0\x9F\x8D"), "\"" + r + "\"");
  EXPECT_EQ(as_json_string("\x80" "ok"), "\"" + r + "ok\"");        // a lone continuation byte
}

TEST(JsonWriterTest, AnyBytesParseBackAsTheSameStringOnceRepaired) {
  std::mt19937 rng(20261129);
  std::uniform_int_distribution<int> len(0, 40), byte(0, 255), pick(0, 3);
  const std::string pieces[] = {"é", "€", "🍰", "\"", "\\", "\n"};
  for (int round = 0; round < 4000; ++round) {
    std::string s;
    const int n = len(rng);
    for (int i = 0; i < n; ++i) {
      if (pick(rng) == 0) s += pieces[static_cast<std::size_t>(byte(rng)) % std::size(pieces)];
      else s.push_back(static_cast<char>(byte(rng)));
    }
    const std::string text = as_json_string(s);
    const json j = json::parse(text, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "round " << round;
    // nlohmann's own repair of the same bytes (replace each malformed byte with U+FFFD) agrees.
    const std::string repaired = json(s).dump(-1, ' ', false, json::error_handler_t::replace);
    EXPECT_EQ(j.get<std::string>(), json::parse(repaired).get<std::string>()) << "round " << round;
  }
}

}  // namespace
}  // namespace comptoir

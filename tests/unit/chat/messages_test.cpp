// Unit tests of the message catalogs (src/chat/messages.h): the built-in en/fr/de catalogs are
// complete (every required text, every command, greetings, the same placeholders as English), a
// catalog lacking any required text is refused by name, and money / percent formatting per
// language.
#include "src/chat/messages.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/app/shop_setup.h"
#include "src/assets/assets.h"
#include "tests/unit/commerce/shop_fixture.h"

namespace comptoir::chat {
namespace {

using nlohmann::json;
using testing::why;

const std::vector<std::string> kLanguages = {"en", "fr", "de"};

std::string builtin(const std::string& lang) {
  auto body = assets::find("messages/" + lang + ".json");
  EXPECT_TRUE(body.has_value()) << lang;
  return body ? std::string(*body) : std::string();
}

std::set<std::string> placeholders(const std::string& text) {
  std::set<std::string> out;
  for (std::size_t i = text.find('{'); i != std::string::npos; i = text.find('{', i + 1)) {
    const auto close = text.find('}', i);
    if (close == std::string::npos) break;
    out.insert(text.substr(i + 1, close - i - 1));
  }
  return out;
}

TEST(Messages, BuiltInCatalogsLoadAndAreComplete) {
  config::Config cfg;
  auto m = app::load_messages(cfg);
  ASSERT_TRUE(m.has_value()) << why(m);
  EXPECT_EQ(m->languages(), (std::vector<std::string>{"de", "en", "fr"}));
  EXPECT_EQ(m->default_language(), "en");
  for (const auto& lang : kLanguages) {
    ASSERT_TRUE(m->supports(lang));
    const auto& c = m->get(lang);
    EXPECT_EQ(c.language(), lang);
    EXPECT_FALSE(c.language_name().empty());
    EXPECT_FALSE(c.greetings().empty()) << lang;
    for (auto key : required_text_keys()) {
      EXPECT_TRUE(c.has(std::string(key))) << lang << ": " << key;
      EXPECT_FALSE(c.text(std::string(key)).empty()) << lang << ": " << key;
    }
    for (auto id : command_ids()) EXPECT_FALSE(c.command_words(std::string(id)).empty()) << lang << ": command " << id;
  }
}

TEST(Messages, TranslationsUseTheSamePlaceholdersAsEnglish) {
  config::Config cfg;
  auto m = app::load_messages(cfg);
  ASSERT_TRUE(m.has_value());
  for (auto key : required_text_keys()) {
    const auto want = placeholders(m->get("en").text(std::string(key)));
    for (const auto& lang : {"fr", "de"}) {
      EXPECT_EQ(placeholders(m->get(lang).text(std::string(key))), want) << lang << ": " << key;
    }
  }
}

TEST(Messages, BuiltInCatalogsAreTheFilesInConfig) {
  auto from_dir = Messages::load(std::filesystem::path(COMPTOIR_SOURCE_DIR) / "config" / "messages", "en");
  ASSERT_TRUE(from_dir.has_value()) << why(from_dir);
  config::Config cfg;
  auto built_in = app::load_messages(cfg);
  ASSERT_TRUE(built_in.has_value());
  for (const auto& lang : kLanguages) {
    EXPECT_EQ(from_dir->get(lang).texts(), built_in->get(lang).texts()) << lang;
  }
}

TEST(Messages, ACatalogMissingAnyRequiredTextIsRefusedByName) {
  for (const auto& lang : kLanguages) {
    const json full = json::parse(builtin(lang));
    for (auto key : required_text_keys()) {
      json broken = full;
      ASSERT_EQ(broken["texts"].erase(std::string(key)), 1u) << lang << ": " << key;
      std::vector<std::pair<std::string, std::string>> sources;
      for (const auto& other : kLanguages) {
        sources.emplace_back(other + ".json", other == lang ? broken.dump() : builtin(other));
      }
      auto m = Messages::from_sources(sources, "en");
      ASSERT_FALSE(m.has_value()) << lang << ": " << key;
      EXPECT_EQ(m.error().code, Errc::config);
      EXPECT_NE(m.error().message.find(lang + ".json: texts." + std::string(key) + ": missing"), std::string::npos)
          << m.error().message;
    }
  }
}

TEST(Messages, ACatalogWithoutStopWordsIsRefused) {
  // Customers must always be able to stop marketing messages, whatever the merchant edited.
  for (const auto& lang : kLanguages) {
    for (const bool empty : {false, true}) {
      json broken = json::parse(builtin(lang));
      if (empty) broken["commands"]["unsubscribe"] = json::array();
      else broken["commands"].erase("unsubscribe");
      auto m = Messages::from_sources({{lang + ".json", broken.dump()}}, lang);
      ASSERT_FALSE(m.has_value()) << lang;
      EXPECT_EQ(m.error().code, Errc::config);
      EXPECT_NE(m.error().message.find(lang + ".json: commands.unsubscribe: missing"), std::string::npos) << m.error().message;
    }
  }
}

TEST(Messages, StopWordsAreRecognisedInEveryLanguage) {
  config::Config cfg;
  auto m = app::load_messages(cfg);
  ASSERT_TRUE(m.has_value());
  for (const std::string w : {"stop", "/stop", "unsubscribe", "abmelden", "desabonner", "se desabonner"}) {
    EXPECT_EQ(m->command_for(w), "unsubscribe") << w;
  }
  // The checkout's own cancel commands are not stop words.
  EXPECT_EQ(m->command_for("stop checkout"), "cancel");
  EXPECT_EQ(m->command_for("annuler"), "cancel");
}

TEST(Messages, MalformedCatalogsAreRefused) {
  const std::string en = builtin("en");
  auto with = [&](const std::function<void(json&)>& change) {
    json j = json::parse(en);
    change(j);
    return Messages::from_sources({{"en.json", j.dump()}}, "en");
  };
  EXPECT_FALSE(Messages::from_sources({{"en.json", "{not json"}}, "en").has_value());
  EXPECT_FALSE(with([](json& j) { j["texts"]["unknown"] = 3; }).has_value());
  EXPECT_FALSE(with([](json& j) { j["language"] = "english"; }).has_value());
  EXPECT_FALSE(with([](json& j) { j["commands"]["teleport"] = json::array({"beam me up"}); }).has_value());
  EXPECT_FALSE(with([](json& j) { j["greetings"] = "hi"; }).has_value());
  // Two catalogs for one language, or none for the default language.
  EXPECT_FALSE(Messages::from_sources({{"a.json", en}, {"b.json", en}}, "en").has_value());
  auto no_default = Messages::from_sources({{"en.json", en}}, "fr");
  ASSERT_FALSE(no_default.has_value());
  EXPECT_EQ(no_default.error().code, Errc::config);
  EXPECT_TRUE(with([](json&) {}).has_value());
}

TEST(Messages, GreetingsAndCommandsAreRecognisedInEveryLanguage) {
  config::Config cfg;
  auto m = app::load_messages(cfg);
  ASSERT_TRUE(m.has_value());
  const std::map<std::string, std::string> greetings = {
      {"hi", "en"}, {"hello", "en"}, {"salut", "fr"}, {"bonjour", "fr"}, {"hallo", "de"}, {"guten tag", "de"},
      {"gruss gott", "de"}};
  for (const auto& [g, lang] : greetings) EXPECT_EQ(m->greeting_language(g), lang) << g;
  EXPECT_EQ(m->greeting_language("good bye"), "");
  EXPECT_EQ(m->command_for("warenkorb"), "cart");
  EXPECT_EQ(m->command_for("panier"), "cart");
  EXPECT_EQ(m->command_for("hinzufugen"), "add");  // folded: "hinzufügen"
  EXPECT_EQ(m->command_for("ajouter"), "add");
  EXPECT_EQ(m->command_for("language"), "language");
  EXPECT_EQ(m->command_for("baguette"), "");
}

TEST(Messages, MoneyAndPercentFollowTheLanguage) {
  config::Config cfg;
  auto m = app::load_messages(cfg);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->get("en").money(123456, "EUR"), "€1,234.56");
  EXPECT_EQ(m->get("fr").money(123456, "EUR"), "1 234,56 €");
  EXPECT_EQ(m->get("de").money(123456, "EUR"), "1.234,56 €");
  EXPECT_EQ(m->get("en").money(5, "EUR"), "€0.05");
  EXPECT_EQ(m->get("de").money(-250, "EUR"), "-2,50 €");
  EXPECT_EQ(m->get("en").money(100, "CHF"), "CHF 1.00");
  EXPECT_EQ(m->get("en").percent(550), "5.5 %");
  EXPECT_EQ(m->get("fr").percent(550), "5,5 %");
  EXPECT_EQ(m->get("de").percent(2000), "20 %");
  EXPECT_EQ(m->get("en").percent(1925), "19.25 %");
  EXPECT_EQ(m->get("en").percent(205), "2.05 %");
  // Unknown languages fall back to the default language.
  EXPECT_EQ(m->get("xx").language(), "en");
}

}  // namespace
}  // namespace comptoir::chat

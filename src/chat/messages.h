// Message catalogs: every word a customer reads comes from config/messages/<lang>.json (en, fr,
// de shipped; a merchant may edit them or add a language). A catalog holds the texts (with
// named {slots}), the greetings and command words it recognises, and number formatting.
// Catalogs are checked at load time against the keys the engine uses, so a missing text is a
// startup error, never a blank message. Immutable after loading; thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/common/error.h"

namespace comptoir::chat {

class MessageCatalog {
 public:
  // Parses one catalog; Errc::config with a message naming `source` and the problem.
  static Result<MessageCatalog> parse(std::string_view json_text, std::string_view source);

  const std::string& language() const { return language_; }
  const std::string& language_name() const { return language_name_; }
  const std::vector<std::string>& greetings() const { return greetings_; }  // folded
  // Folded command words for a command id ("cart" → {"cart", "basket"}).
  const std::vector<std::string>& command_words(const std::string& command) const;

  bool has(const std::string& key) const { return texts_.count(key) > 0; }
  // The text for `key` with its {slots} filled in. A missing key yields the key itself
  // (cannot happen after Messages::load has checked completeness).
  std::string text(const std::string& key,
                   std::initializer_list<std::pair<std::string_view, std::string>> values = {}) const;
  std::string text(const std::string& key, const std::vector<std::pair<std::string, std::string>>& values) const;
  // 1234 minor units → "12.34 €" / "12,34 €" per the catalog's format.
  std::string money(std::int64_t minor, const std::string& currency) const;
  // 550 basis points → "5.5 %" / "5,5 %".
  std::string percent(int basis_points) const;
  const std::map<std::string, std::string>& texts() const { return texts_; }

 private:
  static Result<MessageCatalog> parse_checked(std::string_view json_text, std::string_view source);
  std::string language_, language_name_;
  std::vector<std::string> greetings_;
  std::map<std::string, std::vector<std::string>> commands_;
  std::map<std::string, std::string> texts_;
  std::string decimal_separator_ = ".";
  std::string thousands_separator_ = ",";
  std::string money_pattern_ = "{symbol}{amount}";
};

class Messages {
 public:
  // Loads every <lang>.json in `dir`, or the catalogs built into the binary when `dir` is empty.
  // Fails (Errc::config) if a catalog is malformed or lacks a text the engine needs.
  static Result<Messages> load(const std::filesystem::path& dir, const std::string& default_language);
  static Result<Messages> from_sources(const std::vector<std::pair<std::string, std::string>>& name_and_text,
                                       const std::string& default_language);

  bool supports(const std::string& lang) const { return catalogs_.count(lang) > 0; }
  // The catalog for `lang`, or the default language's.
  const MessageCatalog& get(const std::string& lang) const;
  std::vector<std::string> languages() const;
  const std::string& default_language() const { return default_language_; }
  // The language whose greetings contain `folded_text`, if any; `preferred` (the customer's
  // current language) wins when several have it ("start" is a greeting everywhere).
  std::string greeting_language(const std::string& folded_text, const std::string& preferred = "") const;
  // The command id whose words (in any language) match `folded_word`, or "".
  std::string command_for(const std::string& folded_word) const;

 private:
  std::map<std::string, MessageCatalog> catalogs_;
  std::string default_language_;
};

// Every text key the engine uses; each catalog must define all of them.
const std::vector<std::string_view>& required_text_keys();
// The command ids a catalog may give words for. "unsubscribe" (the words that stop marketing
// messages) is required in every catalog; the others are optional.
const std::vector<std::string_view>& command_ids();

}  // namespace comptoir::chat

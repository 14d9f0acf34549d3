#include "src/chat/marketing.h"

#include "src/common/text.h"

namespace comptoir::chat {

Marketing::Marketing(storage::Database& db, commerce::CustomerDirectory& customers, Engine& engine, Deliver deliver,
                     std::function<void()> after_commit)
    : db_(db), customers_(customers), engine_(engine), deliver_(std::move(deliver)), after_commit_(std::move(after_commit)) {}

Status Marketing::validate(const std::map<std::string, std::string>& text) const {
  const auto& messages = engine_.messages();
  if (text.empty()) return fail(Errc::invalid_argument, "no text", "text must have at least one language");
  for (const auto& [lang, body] : text) {
    if (!messages.supports(lang)) {
      return fail(Errc::invalid_argument, "unsupported language",
                  "text." + text::utf8_truncate(lang, 10) + ": no message catalog for this language");
    }
    if (!text::is_valid_utf8(body) || !text::no_control_chars(body, true)) {
      return fail(Errc::invalid_argument, "bad characters", "text." + lang + ": must be UTF-8 without control characters (line breaks allowed)");
    }
    if (text::trim(body).empty()) return fail(Errc::invalid_argument, "empty text", "text." + lang + ": must not be empty");
    if (text::utf8_length(body) > kMaxTextChars) {
      return fail(Errc::invalid_argument, "text too long",
                  "text." + lang + ": at most " + std::to_string(kMaxTextChars) + " characters");
    }
  }
  if (!text.count(messages.default_language())) {
    return fail(Errc::invalid_argument, "no default language text",
                "text." + messages.default_language() + ": the shop's default language is required");
  }
  return ok();
}

Result<int> Marketing::queue(const std::map<std::string, std::string>& text,
                             const std::function<Status(storage::Tx&, int queued)>& also) {
  if (auto st = validate(text); !st) return std::unexpected(st.error());
  const std::string fallback = engine_.messages().default_language();
  int queued = 0;
  auto st = db_.write([&](storage::Tx& tx) -> Status {
    queued = 0;
    auto audience = engine_.consent().marketing_audience(tx);
    if (!audience) return std::unexpected(audience.error());
    for (const std::int64_t id : *audience) {
      auto c = customers_.by_id(tx, id);
      if (!c) return std::unexpected(c.error());
      if (!c->has_value()) continue;
      const auto it = text.find((*c)->language);
      const std::string& lang = it != text.end() ? it->first : fallback;
      if (auto s = deliver_(tx, **c, engine_.marketing_message(text.at(lang), lang)); !s) {
        if (s.error().code == Errc::gone) continue;  // the customer's data was erased: nobody to write to
        return s;
      }
      ++queued;
    }
    return also ? also(tx, queued) : ok();
  });
  if (!st) return std::unexpected(st.error());
  if (queued > 0 && after_commit_) after_commit_();
  return queued;
}

}  // namespace comptoir::chat

// Text helpers for matching what people type: case- and accent-insensitive folding of UTF-8
// (Latin-1 Supplement and Latin Extended-A letters fold to ASCII; ß → ss), trimming, and
// validation of UTF-8. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace comptoir::text {

// Lower-cases and strips accents: "Crème Brûlée" → "creme brulee". Invalid UTF-8 bytes are kept.
std::string fold(std::string_view s);
std::string_view trim(std::string_view s);
// Collapses runs of whitespace to one space and trims.
std::string squash_spaces(std::string_view s);
bool is_valid_utf8(std::string_view s);
// Number of code points (for length limits); counts invalid bytes as one each.
std::size_t utf8_length(std::string_view s);
// Cuts to at most `max_chars` code points, on a code point boundary.
std::string utf8_truncate(std::string_view s, std::size_t max_chars);
std::vector<std::string> split_words(std::string_view s);
// Splits text into chunks of at most `max_chars` code points, at line breaks where one falls in
// the second half of a chunk (messaging platforms limit a message's length).
std::vector<std::string> split_for_messages(std::string_view s, std::size_t max_chars);
// True if `s` has no control characters other than \n (and, if allow_newline is false, none at all).
bool no_control_chars(std::string_view s, bool allow_newline);

}  // namespace comptoir::text

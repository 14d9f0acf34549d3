// Files built into the binary so `comptoir` runs from any directory: the shipped message
// catalogs (config/messages/*.json), the example catalog, the web chat page. The sources stay
// in the repository as ordinary files; the build embeds them (cmake/embed.cmake).
// Read-only, thread-safe.
#pragma once

#include <optional>
#include <string_view>

namespace comptoir::assets {

// Names: "messages/en.json", "messages/fr.json", "messages/de.json", "catalog.example.json",
// "static/chat.html".
std::optional<std::string_view> find(std::string_view name);

}  // namespace comptoir::assets

// The data-subject export (export.h) as one readable HTML page: the same document, every
// category with its purposes, legal basis, source, recipients, retention, erasure outcome and
// records, the categories not collected, the rights, the supervisory authority. Self-contained
// (inline style, no script, no external resource) and every value HTML-escaped, so hostile
// values typed by anyone (a name, an address, a chat text) are shown, never run.
// Headings in English, French or German (other languages: English). Pure function, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "src/common/error.h"

namespace comptoir::rights {

// Errc::invalid_argument when `export_json` is not an export document ("comptoir.export.v1").
Result<std::string> export_page(const std::string& export_json, std::string_view language);


}  // namespace comptoir::rights

// What every `comptoir` command shares: its exit codes, how an error is reported, and how the
// config file is loaded (the log level taken from it at once).
#pragma once

#include <string>

#include "src/common/error.h"
#include "src/config/config.h"

namespace comptoir::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;  // a bad option or config

// Prints "comptoir: MESSAGE" to stderr; returns kExitUsage for config and argument errors,
// kExitFailure otherwise.
int report_error(const Error& e);

Result<config::Config> load_config(const std::string& path);

}  // namespace comptoir::app

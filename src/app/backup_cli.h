// The `backup` and `restore` commands (src/app/backup.h does the work). Registered on the CLI by
// one call from cli.cpp; the returned function runs whichever of them was parsed (nullopt when
// neither was). Also the one place that decides which audit recorder CLI commands use.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "src/audit/recorder.h"
#include "storage/database.h"

namespace CLI {
class App;
}

namespace comptoir::app {

std::function<std::optional<int>()> register_backup_commands(CLI::App& app);

// The audit recorder of a CLI command that has `db` open. Until the tamper-evident audit log
// lands (issue 7), events are written to the log as one info line each ("audit.<action>");
// replacing this function's body wires the real log for every CLI command.
std::unique_ptr<audit::Recorder> cli_recorder(storage::Database& db);

}  // namespace comptoir::app

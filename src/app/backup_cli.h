// The `backup` and `restore` commands (src/app/backup.h does the work). Registered on the CLI by
// one call from cli.cpp; the returned function runs whichever of them was parsed (nullopt when
// neither was). Also the one place that decides which audit recorder CLI commands use.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "privacy/keys.h"
#include "src/audit/recorder.h"
#include "src/common/error.h"
#include "src/config/config.h"
#include "storage/database.h"

namespace CLI {
class App;
}

namespace comptoir::app {

std::function<std::optional<int>()> register_backup_commands(CLI::App& app);

// The audit recorder of a backup or restore: the tamper-evident audit log of `db` (docs/audit-log.md),
// signing its checkpoints with the key ring's audit key. Errc::crypto if the signer cannot be made.
Result<std::unique_ptr<audit::Recorder>> cli_recorder(const config::Config& cfg, storage::Database& db,
                                                      const privacy::KeyRing& keys);

}  // namespace comptoir::app

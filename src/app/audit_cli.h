// `comptoir audit …`: export the log as JSON lines, print the public key, verify an export
// offline or the live log. See docs/audit-log.md. Registered from cli.cpp.
#pragma once

#include <memory>
#include <optional>

namespace CLI {
class App;
}

namespace comptoir::app {

struct AuditCommands;

// Adds the `audit` subcommand and its subcommands to `app`. The result holds the parsed options.
std::shared_ptr<AuditCommands> add_audit_commands(CLI::App& app);
// Runs the audit subcommand that was parsed and returns its exit code; nullopt when none was.
std::optional<int> run_audit_commands(const AuditCommands& commands);

}  // namespace comptoir::app

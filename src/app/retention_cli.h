// The accountability commands of the command line: `retention run -c FILE [--dry-run]
// [--now RFC3339] [--json]` and `ropa -c FILE [--format json|md] [--lang en|fr|de]`. cli.cpp
// registers them before parsing and runs them when one was given. Exit codes as cli.h.
#pragma once

#include <memory>

namespace CLI {
class App;
}

namespace comptoir::app {

class AccountabilityCommands {
 public:
  struct State;
  explicit AccountabilityCommands(std::unique_ptr<State> state);
  ~AccountabilityCommands();
  AccountabilityCommands(AccountabilityCommands&&) noexcept;

  bool parsed() const;  // after CLI::App::parse: one of these commands was given
  int run() const;      // runs it; the exit code

 private:
  std::unique_ptr<State> state_;
};

AccountabilityCommands register_accountability_commands(CLI::App& app);

}  // namespace comptoir::app

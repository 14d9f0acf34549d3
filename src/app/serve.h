// Running the server: open the data dir, wire the services, serve until SIGINT/SIGTERM.
// Call from the main thread only.
#pragma once

#include <functional>

#include "src/access/tokens.h"
#include "src/config/config.h"

namespace comptoir::app {

struct ServeHooks {
  // Called once the socket is bound, before serving starts (the demo prints its banner here).
  std::function<void(int port, access::TokenService& tokens)> on_listening;
};

// Returns the process exit code: 0 after a clean shutdown, 1 when startup failed (the reason is
// printed as one line on stderr).
int serve(const config::Config& cfg, const ServeHooks& hooks = {});

// Blocks SIGINT/SIGTERM in the calling thread (and threads it creates later) and ignores SIGPIPE.
void block_termination_signals();

}  // namespace comptoir::app

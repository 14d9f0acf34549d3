// The command line: parses argv with CLI11 and runs one command. Exit codes: 0 success,
// 1 runtime failure (wrong key, I/O, …), 2 usage or configuration error.
#pragma once

namespace comptoir::app {

int run_cli(int argc, char** argv);

}  // namespace comptoir::app

#include "src/app/cli_support.h"

#include <cstdio>

#include "src/common/log.h"

namespace comptoir::app {

int report_error(const Error& e) {
  std::fprintf(stderr, "comptoir: %s\n", e.message.c_str());
  return e.code == Errc::config || e.code == Errc::invalid_argument ? kExitUsage : kExitFailure;
}

Result<config::Config> load_config(const std::string& path) {
  auto cfg = config::load(path);
  if (cfg) log::set_level(cfg->log.level);
  return cfg;
}

}  // namespace comptoir::app

// `comptoir retention run` and `comptoir ropa`: the retention rules applied on demand (or
// previewed with --dry-run, at any --now), and the records of processing (Art. 30) printed.
#include "src/app/retention_cli.h"

#include <cstdio>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "privacy/ropa.h"
#include "privacy/vault.h"
#include "src/app/data_dir.h"
#include "src/app/shop_setup.h"
#include "src/app/audit_setup.h"
#include "src/app/cli_support.h"
#include "src/audit/recorder.h"
#include "src/common/env.h"
#include "src/common/log.h"
#include "src/retention/engine.h"
#include "storage/subject_key_store.h"

namespace comptoir::app {

namespace {

void print_table(const retention::Report& r) {
  const std::string when = format_rfc3339(TimePoint(std::chrono::seconds(r.now)));
  if (r.dry_run) {
    std::printf("retention at %s: dry run, nothing was changed; a real run would do this:\n", when.c_str());
  } else {
    std::printf("retention at %s:%s\n", when.c_str(), r.interrupted ? " interrupted, the rest is done next run" : "");
  }
  std::printf("%-20s %-38s %8s %8s %8s %8s %8s %8s\n", "CATEGORY", "RETENTION", "EXPIRED", "ERASED", "CLEARED",
              "DETACHED", "UNLINKED", "RELEASED");
  for (const auto& c : r.categories) {
    const auto& n = c.counts;
    std::printf("%-20s %-38s %8lld %8lld %8lld %8lld %8lld %8lld\n", c.category.c_str(), c.rule.c_str(),
                static_cast<long long>(n.expired), static_cast<long long>(n.erased), static_cast<long long>(n.cleared),
                static_cast<long long>(n.detached), static_cast<long long>(n.unlinked), static_cast<long long>(n.released));
  }
  std::printf("customers %s: %lld (their keys %s)\n", r.dry_run ? "to erase" : "erased",
              static_cast<long long>(r.customers_erased), r.dry_run ? "would be shredded" : "shredded");
  for (const auto& note : r.notes) std::printf("note: %s\n", note.c_str());
}

void print_json(const retention::Report& r) {
  nlohmann::json categories = nlohmann::json::array();
  for (const auto& c : r.categories) {
    const auto& n = c.counts;
    categories.push_back({{"category", c.category},
                          {"retention", c.rule},
                          {"expired", n.expired},
                          {"erased", n.erased},
                          {"cleared", n.cleared},
                          {"detached", n.detached},
                          {"unlinked", n.unlinked},
                          {"released", n.released}});
  }
  nlohmann::json j = {{"now", format_rfc3339(TimePoint(std::chrono::seconds(r.now)))},
                      {"dry_run", r.dry_run},
                      {"interrupted", r.interrupted},
                      {"customers_erased", r.customers_erased},
                      {"transactions", r.transactions},
                      {"categories", categories},
                      {"notes", r.notes}};
  std::cout << j.dump(2) << std::endl;
}

}  // namespace

struct AccountabilityCommands::State {
  std::string config_path;
  bool dry_run = false;
  bool json = false;
  std::string now_text;
  std::string format = "md";
  std::string language = "en";
  CLI::App* run = nullptr;
  CLI::App* ropa = nullptr;
};

AccountabilityCommands::AccountabilityCommands(std::unique_ptr<State> state) : state_(std::move(state)) {}
AccountabilityCommands::~AccountabilityCommands() = default;
AccountabilityCommands::AccountabilityCommands(AccountabilityCommands&&) noexcept = default;

AccountabilityCommands register_accountability_commands(CLI::App& app) {
  auto s = std::make_unique<AccountabilityCommands::State>();
  auto* retention = app.add_subcommand("retention", "apply the data inventory's retention rules");
  retention->require_subcommand(1);
  s->run = retention->add_subcommand(
      "run", "delete what the retention rules say has expired; print per category what expired and what was done");
  s->run->add_option("-c,--config", s->config_path, "configuration file (JSON, comments allowed)")->required();
  s->run->add_flag("--dry-run", s->dry_run, "only show what a run would do; change nothing");
  s->run->add_option("--now", s->now_text, "apply the rules as at this time (RFC 3339, e.g. 2036-01-01T00:00:00Z)");
  s->run->add_flag("--json", s->json, "JSON output");
  s->ropa = app.add_subcommand("ropa", "print the records of processing activities (Art. 30 GDPR)");
  s->ropa->add_option("-c,--config", s->config_path, "configuration file (JSON, comments allowed)")->required();
  s->ropa->add_option("--format", s->format, "json | md (default md)")->check(CLI::IsMember({"json", "md"}));
  s->ropa->add_option("--lang", s->language, "language of the inventory's texts: en | fr | de (default en)")
      ->check(CLI::IsMember({"en", "fr", "de"}));
  return AccountabilityCommands(std::move(s));
}

bool AccountabilityCommands::parsed() const { return state_->run->parsed() || state_->ropa->parsed(); }

int AccountabilityCommands::run() const {
  const State& s = *state_;
  auto cfg = load_config(s.config_path);
  if (!cfg) return report_error(cfg.error());
  log::set_level(cfg->log.level);
  auto privacy_setup = load_privacy(*cfg);
  if (!privacy_setup) return report_error(privacy_setup.error());

  if (s.ropa->parsed()) {
    privacy::RopaContext rc;
    rc.shop_name = cfg->shop.name;
    rc.shop_contact = cfg->shop.contact;
    rc.language = s.language;
    rc.generated_at = unix_seconds(system_clock().now());
    const std::string text = s.format == "json" ? privacy::ropa_json(privacy_setup->inventory, rc)
                                                : privacy::ropa_markdown(privacy_setup->inventory, rc);
    std::cout << text << (text.ends_with('\n') ? "" : "\n") << std::flush;
    return kExitOk;
  }

  TimePoint now = system_clock().now();
  if (!s.now_text.empty()) {
    auto parsed = parse_rfc3339(s.now_text);
    if (!parsed) {
      std::fprintf(stderr, "comptoir: --now must be an RFC 3339 time such as 2036-01-01T00:00:00Z\n");
      return kExitUsage;
    }
    now = *parsed;
  }
  OpenDataDirOptions opts;
  opts.migrate = !s.dry_run;  // a dry run writes nothing, not even a migration
  auto opened = open_audited(*cfg, opts, system_clock());
  if (!opened) return report_error(opened.error());
  auto* dd = &opened->dd;
  storage::Database& db = *dd->db;
  if (s.dry_run && db.schema_version() != db.latest_schema_version()) {
    std::fprintf(stderr, "comptoir: the database needs upgrading first (schema %d, this version uses %d): run "
                         "`comptoir retention run` without --dry-run or start `comptoir serve` once\n",
                 db.schema_version(), db.latest_schema_version());
    return kExitFailure;
  }
  const Clock& clock = system_clock();
  storage::SubjectKeyStore subject_keys(db);
  privacy::Vault vault(subject_keys, dd->keys->key_wrapping(), clock);
  retention::Engine engine(db, privacy_setup->inventory, vault, *opened->log, retention::Settings{cfg->retention.batch_size});
  auto report = engine.run(now, s.dry_run);
  if (!report) return report_error(report.error());
  if (!s.dry_run) {
    log::info("retention.run", {{"customers_erased", report->customers_erased}, {"transactions", report->transactions}});
  }
  if (s.json) print_json(*report);
  else print_table(*report);
  return kExitOk;
}

}  // namespace comptoir::app

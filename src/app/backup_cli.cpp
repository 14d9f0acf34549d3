#include "src/app/backup_cli.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <vector>

#include "src/app/audit_setup.h"
#include "src/app/backup.h"
#include "src/app/cli_support.h"
#include "src/audit/log.h"
#include "src/audit/signing.h"
#include "src/app/shop_setup.h"
#include "src/common/log.h"

namespace comptoir::app {

namespace {

// The audit log with the signer it needs, owned together (a command's lifetime).
class CommandAuditLog final : public audit::Recorder {
 public:
  CommandAuditLog(storage::Database& db, audit::Signer signer, const config::Config& cfg)
      : signer_(std::move(signer)), log_(db, signer_, system_clock(), audit_settings(cfg)) {}
  ~CommandAuditLog() override {
    // The command's events are covered by a signed checkpoint before it exits.
    if (auto c = log_.checkpoint(); !c) log::warn("audit.checkpoint_failed", {{"error", c.error().message}});
  }
  Status record(storage::Tx& tx, const audit::Event& event) override { return log_.record(tx, event); }
  Status record(const audit::Event& event) override { return log_.record(event); }

 private:
  audit::Signer signer_;
  audit::AuditLog log_;
};

struct Options {
  std::string config_path;
  std::string out;
  std::string from;
  std::string old_key_file;
  std::string old_passphrase_env;
  std::vector<std::string> journals;
  bool without_journal = false;
};

int cmd_backup(const Options& o) {
  auto cfg = load_config(o.config_path);
  if (!cfg) return report_error(cfg.error());
  log::set_level(cfg->log.level);
  auto r = backup_data_dir(*cfg, o.out, cli_recorder);
  if (!r) return report_error(r.error());
  std::printf("backup written to %s (%llu bytes)\n", r->file.c_str(), static_cast<unsigned long long>(r->bytes));
  std::printf("  taken at %s, schema %d: %lld customers, %lld orders, %lld erased subjects\n",
              format_rfc3339(TimePoint(std::chrono::seconds(r->taken_at))).c_str(), r->schema_version,
              static_cast<long long>(r->counts.customers), static_cast<long long>(r->counts.orders),
              static_cast<long long>(r->counts.tombstones));
  std::printf("  encrypted under the current master key: keep that key (apart from the backups) as long as the backup\n");
  return 0;
}

int cmd_restore(const Options& o) {
  auto cfg = load_config(o.config_path);
  if (!cfg) return report_error(cfg.error());
  log::set_level(cfg->log.level);
  auto privacy = load_privacy(*cfg);
  if (!privacy) return report_error(privacy.error());
  RestoreOptions ro;
  ro.from = o.from;
  if (!o.old_key_file.empty()) ro.old_key_file = fs::path(o.old_key_file);
  if (!o.old_passphrase_env.empty()) ro.old_passphrase_env = o.old_passphrase_env;
  for (const auto& j : o.journals) ro.journals.emplace_back(j);
  ro.without_journal = o.without_journal;
  auto r = restore_data_dir(*cfg, privacy->inventory, ro, cli_recorder);
  if (!r) return report_error(r.error());
  std::printf("restored %s from %s (taken at %s)\n", cfg->data_dir.c_str(), o.from.c_str(),
              format_rfc3339(TimePoint(std::chrono::seconds(r->taken_at))).c_str());
  std::printf("  erasures re-applied: %zu known, %zu made after the backup; %zu customers erased again, %zu keys shredded\n",
              r->erasures_known, r->erasures_after_backup, r->customers_erased, r->keys_shredded);
  std::printf("  erasure sources: live database %s, %s %s%s\n", r->live_database_read ? "read" : "not available",
              "erasures.journal", r->journal_read ? "read" : "not available",
              o.journals.empty() ? "" : ", plus the --journal copies");
  std::printf("  audit log: %zu events recorded after the backup carried over", r->audit_events_carried);
  if (r->audit_events_left > 0) {
    std::printf("; %zu that do not continue this backup's chain left in the replaced database", r->audit_events_left);
  }
  std::printf("\n");
  if (r->reencrypted) std::printf("  the backup was made under an earlier master key: re-encrypted under the current one\n");
  if (r->data_dir_meta_restored) std::printf("  data-dir.json was missing: written from the backup\n");
  std::printf("  now: schema %d, %lld customers, %lld orders\n", r->schema_version,
              static_cast<long long>(r->counts.customers), static_cast<long long>(r->counts.orders));
  if (r->previous_database) {
    std::printf("  the database it replaced is kept as %s; delete it once you are satisfied\n", r->previous_database->c_str());
  }
  return 0;
}

}  // namespace

Result<std::unique_ptr<audit::Recorder>> cli_recorder(const config::Config& cfg, storage::Database& db,
                                                      const privacy::KeyRing& keys) {
  auto signer = audit::Signer::from_seed(keys.audit_signing_seed());
  if (!signer) return std::unexpected(signer.error());
  return std::unique_ptr<audit::Recorder>(std::make_unique<CommandAuditLog>(db, std::move(*signer), cfg));
}

std::function<std::optional<int>()> register_backup_commands(CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* backup = app.add_subcommand("backup", "write a consistent, encrypted backup (also while the server is serving)");
  backup->add_option("-c,--config", o->config_path, "configuration file (JSON, comments allowed)")->required();
  backup->add_option("--out", o->out, "the backup file to write (must not exist)")->required();
  auto* restore = app.add_subcommand(
      "restore", "restore a backup (server stopped), erasing again everyone erased since the backup was taken");
  restore->add_option("-c,--config", o->config_path, "configuration file (JSON, comments allowed)")->required();
  restore->add_option("--from", o->from, "the backup file")->required();
  auto* old_key = restore->add_option("--old-key-file", o->old_key_file,
                                      "the master key file in use when the backup was taken, if rotated since");
  restore->add_option("--old-passphrase-env", o->old_passphrase_env,
                      "environment variable holding the passphrase in use when the backup was taken, if rotated since")
      ->excludes(old_key);
  restore->add_option("--journal", o->journals, "a copy of the erasure journal kept elsewhere (repeatable)");
  restore->add_flag("--without-journal", o->without_journal,
                    "the data dir is lost and no journal copy exists: restore without re-applying later erasures");
  return [o, backup, restore]() -> std::optional<int> {
    if (backup->parsed()) return cmd_backup(*o);
    if (restore->parsed()) return cmd_restore(*o);
    return std::nullopt;
  };
}

}  // namespace comptoir::app

#include "src/app/audit_cli.h"

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "src/app/audit_setup.h"
#include "src/app/cli_support.h"
#include "src/audit/chain.h"
#include "src/common/encoding.h"
#include "src/common/log.h"

namespace comptoir::app {

struct AuditCommands {
  CLI::App* export_cmd = nullptr;
  CLI::App* public_key_cmd = nullptr;
  CLI::App* verify_cmd = nullptr;
  std::string config_path, out_path, file_path, public_key_hex;
};

namespace {

// Writes whole buffers to a file descriptor.
Status write_all(int fd, const std::string& data, const std::string& path) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(Errc::io, "write " + path + ": " + std::strerror(errno));
    off += static_cast<std::size_t>(n);
  }
  return ok();
}

int cmd_export(const AuditCommands& a) {
  auto cfg = load_config(a.config_path);
  if (!cfg) return report_error(cfg.error());
  auto opened = open_audited(*cfg, {}, system_clock());
  if (!opened) return report_error(opened.error());
  audit::AuditLog& log = *opened->log;
  audit::Event e;
  e.action = "audit.exported";
  e.resource = "audit_log";
  e.purpose = "accountability (Art. 5(2))";
  e.details = {{"via", "cli"}};
  if (auto st = log.record(e); !st) return report_error(st.error());
  // The export ends with a checkpoint of its last event, so that a cut file is detected.
  auto head = log.checkpoint();
  if (!head) return report_error(head.error());
  if (!head->has_value()) return report_error(Error{Errc::internal, "the audit log is empty", {}});
  const audit::Checkpoint last = **head;

  const int fd = ::open(a.out_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int err = errno;
    return report_error(Error{err == EEXIST ? Errc::conflict : Errc::io,
                        "cannot create " + a.out_path + ": " + std::strerror(err) + (err == EEXIST ? " (choose a new file)" : ""),
                        {}});
  }
  std::int64_t events = 0, checkpoints = 0;
  std::string buffer;
  auto flush = [&](bool force) -> Status {
    if (!force && buffer.size() < (1u << 20)) return ok();
    auto st = write_all(fd, buffer, a.out_path);
    buffer.clear();
    return st;
  };
  auto st = log.walk(
      [&](const audit::Record& r) -> Status {
        ++events;
        buffer += audit::to_json(r);
        buffer += '\n';
        return flush(false);
      },
      [&](const audit::Checkpoint& c) -> Status {
        ++checkpoints;
        buffer += audit::to_json(c);
        buffer += '\n';
        return flush(false);
      },
      last.seq);
  if (st) st = flush(true);
  if (st && ::fsync(fd) != 0) st = fail(Errc::io, "fsync " + a.out_path + ": " + std::strerror(errno));
  ::close(fd);
  if (!st) {
    ::unlink(a.out_path.c_str());
    return report_error(st.error());
  }
  std::printf("exported %lld events and %lld checkpoints to %s\n", static_cast<long long>(events),
              static_cast<long long>(checkpoints), a.out_path.c_str());
  std::printf("last checkpoint: seq %lld at %s, head hash %s\n", static_cast<long long>(last.seq), last.time.c_str(),
              hex_encode(last.head_hash).c_str());
  std::printf("verify with: comptoir audit verify --file %s --public-key %s\n", a.out_path.c_str(),
              opened->signer->public_key_hex().c_str());
  return kExitOk;
}

int cmd_public_key(const AuditCommands& a) {
  auto cfg = load_config(a.config_path);
  if (!cfg) return report_error(cfg.error());
  auto opened = open_audited(*cfg, {}, system_clock());
  if (!opened) return report_error(opened.error());
  std::printf("Ed25519 public key of the audit log (give it to the auditor; it verifies every export):\n");
  std::printf("%s\n", opened->signer->public_key_hex().c_str());
  return kExitOk;
}

void print_summary(const audit::Verifier::Summary& s) {
  std::printf("ok: %lld events (seq 1 to %lld), %lld checkpoints, every hash and signature valid\n",
              static_cast<long long>(s.events), static_cast<long long>(s.events), static_cast<long long>(s.checkpoints));
  if (s.last_checkpoint) {
    std::printf("last checkpoint: seq %lld at %s, head hash %s\n", static_cast<long long>(s.last_checkpoint->seq),
                s.last_checkpoint->time.c_str(), hex_encode(s.last_checkpoint->head_hash).c_str());
  }
}

int not_verified(const Error& e) {
  std::fprintf(stderr, "comptoir: audit log NOT verified: %s\n", e.message.c_str());
  return kExitFailure;
}

int cmd_verify_file(const AuditCommands& a) {
  auto key = audit::parse_public_key(a.public_key_hex);
  if (!key) {
    std::fprintf(stderr, "comptoir: --public-key must be 64 hex digits (from `comptoir audit public-key`)\n");
    return kExitUsage;
  }
  std::ifstream in(a.file_path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "comptoir: cannot read %s\n", a.file_path.c_str());
    return kExitFailure;
  }
  auto summary = audit::verify_export(in, *key);
  if (!summary) {
    if (summary.error().code != Errc::corrupt) return report_error(summary.error());
    return not_verified(summary.error());
  }
  print_summary(*summary);
  return kExitOk;
}

int cmd_verify_live(const AuditCommands& a) {
  auto cfg = load_config(a.config_path);
  if (!cfg) return report_error(cfg.error());
  auto opened = open_audited(*cfg, {}, system_clock());
  if (!opened) return report_error(opened.error());
  audit::Verifier v(opened->signer->public_key());
  auto st = opened->log->walk(
      [&](const audit::Record& r) { return v.event(r, "event seq " + std::to_string(r.seq)); },
      [&](const audit::Checkpoint& c) { return v.checkpoint(c, "checkpoint of seq " + std::to_string(c.seq)); });
  if (!st) return st.error().code == Errc::corrupt ? not_verified(st.error()) : report_error(st.error());
  if (auto fin = v.finish(false); !fin) return not_verified(fin.error());
  print_summary(v.summary());
  if (v.summary().unsigned_events > 0) {
    std::printf("%lld events after the last checkpoint are not signed yet (the next checkpoint will cover them)\n",
                static_cast<long long>(v.summary().unsigned_events));
  }
  return kExitOk;
}

}  // namespace

std::shared_ptr<AuditCommands> add_audit_commands(CLI::App& app) {
  auto a = std::make_shared<AuditCommands>();
  auto* audit = app.add_subcommand("audit", "the tamper-evident audit log: export, public key, verification");
  audit->require_subcommand(1);
  a->export_cmd = audit->add_subcommand("export", "write the audit log as JSON lines (events and signed checkpoints)");
  a->export_cmd->add_option("-c,--config", a->config_path, "configuration file")->required();
  a->export_cmd->add_option("--out", a->out_path, "the file to write (must not exist; mode 0600)")->required();
  a->public_key_cmd = audit->add_subcommand("public-key", "print the Ed25519 public key that verifies the log (hex, last line)");
  a->public_key_cmd->add_option("-c,--config", a->config_path, "configuration file")->required();
  a->verify_cmd = audit->add_subcommand(
      "verify", "check the hash chain and checkpoint signatures: of an export (--file, --public-key) or of the live log (-c)");
  auto* config_opt = a->verify_cmd->add_option("-c,--config", a->config_path, "configuration file (verify the live log)");
  auto* file_opt = a->verify_cmd->add_option("--file", a->file_path, "an export (JSON lines) to verify offline");
  auto* key_opt = a->verify_cmd->add_option("--public-key", a->public_key_hex, "the audit log's public key (hex)");
  file_opt->excludes(config_opt);
  key_opt->excludes(config_opt);
  file_opt->needs(key_opt);
  key_opt->needs(file_opt);
  return a;
}

std::optional<int> run_audit_commands(const AuditCommands& a) {
  if (a.export_cmd->parsed()) return cmd_export(a);
  if (a.public_key_cmd->parsed()) return cmd_public_key(a);
  if (a.verify_cmd->parsed()) {
    if (!a.file_path.empty()) return cmd_verify_file(a);
    if (!a.config_path.empty()) return cmd_verify_live(a);
    std::fprintf(stderr, "comptoir: audit verify needs --file FILE --public-key HEX, or -c CONFIG\n");
    return kExitUsage;
  }
  return std::nullopt;
}

}  // namespace comptoir::app

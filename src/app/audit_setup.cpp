#include "src/app/audit_setup.h"

#include "src/common/log.h"

namespace comptoir::app {

audit::LogSettings audit_settings(const config::Config& cfg) {
  audit::LogSettings s;
  s.checkpoint_every_events = cfg.audit.checkpoint_every_events;
  s.checkpoint_every_seconds = cfg.audit.checkpoint_every_seconds;
  return s;
}

Status record_rotation(audit::AuditLog& log, const RotationEvent& r) {
  audit::Event e;
  e.actor = audit::Actor::system_actor();
  e.action = "key.rotation";
  e.resource = "rotation:" + r.rotation_id;
  e.purpose = "security";
  e.outcome = std::string(to_string(r.outcome));
  e.counts = {{"subject_keys_rewrapped", r.subject_keys_rewrapped}, {"started_at", r.started_at},
              {"finished_at", r.finished_at}};
  e.details = {{"from", r.from_source},
               {"to", r.to_source},
               {"old_key_file_kept", r.old_key_file_kept ? "true" : "false"},
               {"finished_by_recovery", r.finished_by_recovery ? "true" : "false"}};
  auto seen = log.recorded(e.action, e.resource);
  if (!seen) return std::unexpected(seen.error());
  if (*seen) return ok();
  return log.record(e);
}

Result<AuditedDataDir> open_audited(const config::Config& cfg, OpenDataDirOptions options, const Clock& clock,
                                    const RotationEvent* just_done) {
  std::vector<RotationEvent> rotations;
  if (just_done != nullptr) rotations.push_back(*just_done);
  auto chained = options.on_rotation;
  options.on_rotation = [&](const RotationEvent& e) {
    rotations.push_back(e);
    if (chained) chained(e);
  };
  auto dd = open_data_dir(cfg, options);
  if (!dd) return std::unexpected(dd.error());
  AuditedDataDir out;
  out.dd = std::move(*dd);
  auto signer = audit::Signer::from_seed(out.dd.keys->audit_signing_seed());
  if (!signer) return std::unexpected(signer.error());
  out.signer = std::make_unique<audit::Signer>(std::move(*signer));
  out.log = std::make_unique<audit::AuditLog>(*out.dd.db, *out.signer, clock, audit_settings(cfg));
  auto meta = read_meta(out.dd.paths.meta_file);
  if (meta && meta->last_rotation) {
    RotationEvent last;
    last.rotation_id = meta->last_rotation->id;
    last.started_at = meta->last_rotation->started_at;
    last.from_source = meta->last_rotation->from_source;
    last.to_source = meta->source;
    last.subject_keys_rewrapped = meta->last_rotation->subject_keys_rewrapped;
    last.old_key_file_kept = meta->last_rotation->old_key_file_kept;
    rotations.push_back(last);
  }
  for (const auto& r : rotations) {
    if (auto st = record_rotation(*out.log, r); !st) return std::unexpected(st.error());
  }
  return out;
}

}  // namespace comptoir::app

// The audit log as the commands open it: the data dir opened with the audit signer and log
// built from its key ring, and key rotations finished by that opening recorded (deduplicated by
// rotation id). Also the events the app itself records (startup summary, rotations).
// Not thread-safe; used at startup and by CLI commands.
#pragma once

#include <memory>
#include <vector>

#include "src/app/data_dir.h"
#include "src/app/rotation.h"
#include "src/audit/log.h"
#include "src/audit/signing.h"
#include "src/config/config.h"

namespace comptoir::app {

audit::LogSettings audit_settings(const config::Config& cfg);

// A data dir opened with its audit log. Members are declared so that the log goes before the
// database it writes to.
struct AuditedDataDir {
  OpenedDataDir dd;
  std::unique_ptr<audit::Signer> signer;
  std::unique_ptr<audit::AuditLog> log;
};

// open_data_dir(cfg, options), then the signer (from the key ring's audit_signing seed) and the
// log. Rotations are recorded ("key.rotation", once per rotation id): `just_done` (the rotation
// this process has just made), one that the opening finished or undid, and the data dir's last
// completed rotation (data-dir.json), so that a rotation whose record failed is recorded at the
// next opening. Errors as open_data_dir's; Errc::crypto if the signer cannot be made.
Result<AuditedDataDir> open_audited(const config::Config& cfg, OpenDataDirOptions options, const Clock& clock,
                                    const RotationEvent* just_done = nullptr);

// Records a key rotation unless an event of the same rotation id exists already (the observer
// may see one rotation twice: see rotation.h).
Status record_rotation(audit::AuditLog& log, const RotationEvent& event);

}  // namespace comptoir::app

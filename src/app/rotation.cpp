#include "src/app/rotation.h"

#include <chrono>

#include "src/common/env.h"
#include "src/common/log.h"

namespace comptoir::app {

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

std::string time_text(std::int64_t t) { return format_rfc3339(TimePoint(std::chrono::seconds(t))); }

}  // namespace

std::string_view to_string(RotationEvent::Outcome outcome) {
  return outcome == RotationEvent::Outcome::completed ? "completed" : "undone";
}

void log_rotation_event(const RotationEvent& e) {
  // Field names avoid the words the logger redacts ("key", "secret", …): nothing here is secret.
  log::write(log::Level::info, e.outcome == RotationEvent::Outcome::completed ? "rekey.completed" : "rekey.undone",
             std::vector<log::Field>{{"rotation_id", e.rotation_id},
                                     {"started_at", time_text(e.started_at)},
                                     {"finished_at", time_text(e.finished_at)},
                                     {"from_source", e.from_source},
                                     {"to_source", e.to_source},
                                     {"subjects_rewrapped", e.subject_keys_rewrapped},
                                     {"rederived", joined(e.rederived)},
                                     {"carried", joined(e.carried)},
                                     {"old_file_kept", e.old_key_file_kept},
                                     {"by_recovery", e.finished_by_recovery}});
}

}  // namespace comptoir::app

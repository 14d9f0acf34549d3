#include "src/audit/recorder.h"

namespace comptoir::audit {

std::string_view to_string(Actor::Kind kind) {
  switch (kind) {
    case Actor::Kind::system: return "system";
    case Actor::Kind::token: return "token";
    case Actor::Kind::data_subject: return "data_subject";
  }
  return "system";
}

Status MemoryRecorder::record(storage::Tx&, const Event& event) { return record(event); }

Status MemoryRecorder::record(const Event& event) {
  std::lock_guard lock(mutex_);
  events_.push_back(event);
  return ok();
}

std::vector<Event> MemoryRecorder::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

std::vector<Event> MemoryRecorder::with_action(std::string_view action) const {
  std::lock_guard lock(mutex_);
  std::vector<Event> out;
  for (const auto& e : events_) {
    if (e.action == action) out.push_back(e);
  }
  return out;
}

}  // namespace comptoir::audit

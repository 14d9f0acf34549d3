// The record of one master key rotation (`comptoir rekey`): the hook for the audit log, which
// comes with a later feature. A RotationEvent names what happened and when; it holds no key
// material, no check value and no personal data, so it can be logged and stored as it is.
// Plain data; the observer is called on the thread that ran the rotation or the recovery.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace comptoir::app {

struct RotationEvent {
  enum class Outcome {
    completed,  // the data dir now opens with the new master key only
    undone,     // an interrupted rotation was rolled back: the old master key is still in use
  };
  Outcome outcome = Outcome::completed;
  std::string rotation_id;      // "rot_" + 16 hex digits, also recorded in data-dir.json
  std::int64_t started_at = 0;  // unix seconds
  std::int64_t finished_at = 0;  // when the outcome was decided (commit, or undo)
  std::string from_source;      // "key_file" | "passphrase"
  std::string to_source;        // "key_file" | "passphrase"
  std::int64_t subject_keys_rewrapped = 0;
  std::vector<std::string> rederived;  // purposes derived from the new master (database, key_wrapping, key_check)
  std::vector<std::string> carried;    // purposes whose keys were carried over (privacy::kCarriedPurposes)
  bool old_key_file_kept = false;      // a copy of the old key file was kept where the operator asked
  bool finished_by_recovery = false;   // completed or undone when the data dir was next opened after a crash
};

// Receives every rotation event. The audit log will register one; until then the events are
// written to the log as "rekey.completed" / "rekey.undone".
// Delivery is at least once: an event is announced as soon as the outcome is decided (right
// after the commit, or before an undo), before the remaining files are moved, so a crash can
// repeat it (with finished_by_recovery set) but not lose it; deduplicate by rotation_id. The
// durable record of the last completed rotation is data-dir.json's "last_rotation" (same id).
using RotationObserver = std::function<void(const RotationEvent&)>;

std::string_view to_string(RotationEvent::Outcome outcome);

// Writes the event as one info log line (fields as in RotationEvent).
void log_rotation_event(const RotationEvent& event);

}  // namespace comptoir::app

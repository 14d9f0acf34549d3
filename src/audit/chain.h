// The audit log's format, as docs/audit-log.md specifies it for third-party verifiers: the
// canonical byte encoding of an event and its SHA-256 hash chain, the bytes a checkpoint signs,
// the JSON lines of an export, and a streaming Verifier that checks a log entry by entry (used by
// `comptoir audit verify` for files and for the live log). Pure functions and plain values;
// a Verifier is used by one thread.
#pragma once

#include <array>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/audit/recorder.h"
#include "src/audit/signing.h"
#include "src/common/error.h"

namespace comptoir::audit {

using Hash = std::array<std::uint8_t, 32>;

inline constexpr std::string_view kEventDomain = "comptoir.audit.event.v1";

// An event as it stands in the log.
struct Record {
  std::int64_t seq = 0;  // 1, 2, 3, …
  std::string time;      // RFC 3339 UTC with milliseconds, "2026-11-29T01:53:01.123Z"
  Event event;
  Hash prev_hash{};      // all zero for seq 1
  Hash hash{};
};

struct Checkpoint {
  std::int64_t seq = 0;  // the last event it covers
  Hash head_hash{};      // that event's hash
  std::string time;
  Signature signature{};
};

// Checks what an event may hold before it is hashed: every text valid UTF-8 without control
// characters; action 1–64 bytes of [a-z0-9._-]; resource, subject, purpose, outcome, token id and
// role at most 200 bytes; at most 32 counts and 32 details, names 1–64 bytes, detail values at
// most 200 bytes. Errc::invalid_argument naming the field (never its value).
Status validate(const Event& event);

// The canonical encoding (docs/audit-log.md, "Event hash"):
//   "comptoir.audit.event.v1" 0x00 | u64be(seq) | prev_hash | str(time) | str(actor kind) |
//   str(token id) | str(role) | str(action) | str(resource) | str(subject) | str(purpose) |
//   str(outcome) | u32be(#counts) | (str(name) | i64be(value))* | u32be(#details) | (str(name) | str(value))*
// with str(x) = u32be(byte length of x) | x (UTF-8), counts and details in ascending byte order of
// their names.
std::vector<std::uint8_t> encode_event(std::int64_t seq, std::string_view time, const Event& event, const Hash& prev_hash);
// SHA-256 of encode_event(…).
Hash event_hash(std::int64_t seq, std::string_view time, const Event& event, const Hash& prev_hash);
// u64be(seq) | head_hash | str(time): signed as signed_message(kCheckpointContext, payload).
std::vector<std::uint8_t> checkpoint_payload(std::int64_t seq, const Hash& head_hash, std::string_view time);
Checkpoint make_checkpoint(const Signer& signer, std::int64_t seq, const Hash& head_hash, std::string time);
bool checkpoint_signature_valid(const PublicKey& key, const Checkpoint& checkpoint);

// The JSON lines of an export (no trailing newline):
//   {"type":"event","seq":…,"time":"…","actor":{"kind":"…","token_id":"…","role":"…"},"action":"…",
//    "resource":"…","subject":"…","purpose":"…","outcome":"…","counts":{…},"details":{…},
//    "prev_hash":"<hex>","hash":"<hex>"}
//   {"type":"checkpoint","seq":…,"head_hash":"<hex>","time":"…","signature":"<hex>"}
std::string to_json(const Record& record);
std::string to_json(const Checkpoint& checkpoint);
// The counts / details of an event as a JSON object (stored that way in the database).
std::string counts_json(const Event& event);
std::string details_json(const Event& event);
// Parses them back into `event` (Errc::corrupt when malformed).
Status parse_counts_details(std::string_view counts, std::string_view details, Event& event);

// One line of an export, strictly parsed: every field present with its type, nothing else.
struct Line {
  enum class Type { event, checkpoint } type = Type::event;
  Record record;
  Checkpoint checkpoint;
};
// Errc::invalid_argument with the reason (no field values).
Result<Line> parse_line(std::string_view text);

// Checks a log fed in export order. Each call names where the entry came from ("line 12",
// "event 7") so that the first problem can be reported there. Errors are Errc::corrupt with a
// message "<where>: <what is wrong>". After the first error the Verifier stays failed.
class Verifier {
 public:
  explicit Verifier(const PublicKey& key) : key_(key) {}
  // `hash_matches` / `signature_valid`: the entry's own check, when the caller did it already
  // (verify_export checks lines in parallel); computed here otherwise.
  Status event(const Record& record, std::string_view where, std::optional<bool> hash_matches = std::nullopt);
  Status checkpoint(const Checkpoint& checkpoint, std::string_view where,
                    std::optional<bool> signature_valid = std::nullopt);
  // End of the log. `require_sealed`: the last event must be covered by a checkpoint (an export
  // always ends with one; a live log may have events not yet signed). An empty log is an error.
  Status finish(bool require_sealed);

  struct Summary {
    std::int64_t events = 0;
    std::int64_t checkpoints = 0;
    Hash head{};                            // hash of the last event
    std::optional<Checkpoint> last_checkpoint;
    std::int64_t unsigned_events = 0;       // events after the last checkpoint
  };
  const Summary& summary() const { return summary_; }

 private:
  Status failed(std::string_view where, const std::string& what);
  PublicKey key_;
  Summary summary_;
  std::int64_t expected_seq_ = 1;
  Hash prev_{};
  std::string first_unsigned_where_;  // where the first event after the last checkpoint came from
  bool failed_ = false;
};

// Verifies an export read line by line from `in` (what `comptoir audit verify --file` does): every
// line parsed strictly, the chain, every checkpoint, and a last checkpoint covering the last
// event. Lines are parsed and hashed in parallel (up to 8 threads, batches of 16384 lines); the
// links between them are checked in order. Errc::corrupt "line N: …" for the first bad line;
// Errc::io when reading fails.
Result<Verifier::Summary> verify_export(std::istream& in, const PublicKey& key);

}  // namespace comptoir::audit

#include "src/audit/chain.h"

#include <sodium.h>

#include <nlohmann/json.hpp>

#include "src/common/encoding.h"
#include "src/common/text.h"

namespace comptoir::audit {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void put_str(std::vector<std::uint8_t>& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

bool fits(std::string_view s, std::size_t max) {
  return s.size() <= max && text::is_valid_utf8(s) && text::no_control_chars(s, false);
}

bool action_ok(std::string_view a) {
  if (a.empty() || a.size() > 64) return false;
  for (char c : a) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return false;
  }
  return true;
}

std::optional<Hash> hash_from_hex(const json& v) {
  if (!v.is_string()) return std::nullopt;
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() != 64) return std::nullopt;
  auto bytes = hex_decode(s);
  if (!bytes) return std::nullopt;
  Hash h{};
  std::copy(bytes->begin(), bytes->end(), h.begin());
  return h;
}

}  // namespace

Status validate(const Event& e) {
  if (!action_ok(e.action)) return fail(Errc::invalid_argument, "audit event: action must be 1-64 characters of [a-z0-9._-]");
  struct Field {
    const char* name;
    const std::string& value;
  };
  for (const Field& f : {Field{"actor.token_id", e.actor.token_id}, Field{"actor.role", e.actor.role},
                         Field{"resource", e.resource}, Field{"subject", e.subject}, Field{"purpose", e.purpose},
                         Field{"outcome", e.outcome}}) {
    if (!fits(f.value, 200)) {
      return fail(Errc::invalid_argument, std::string("audit event ") + e.action + ": " + f.name +
                                              " must be at most 200 bytes of UTF-8 without control characters");
    }
  }
  if (e.outcome.empty()) return fail(Errc::invalid_argument, "audit event " + e.action + ": outcome is empty");
  if (e.counts.size() > 32 || e.details.size() > 32) {
    return fail(Errc::invalid_argument, "audit event " + e.action + ": at most 32 counts and 32 details");
  }
  for (const auto& [name, value] : e.counts) {
    if (name.empty() || !fits(name, 64)) return fail(Errc::invalid_argument, "audit event " + e.action + ": a count name is empty, too long or not text");
  }
  for (const auto& [name, value] : e.details) {
    if (name.empty() || !fits(name, 64)) return fail(Errc::invalid_argument, "audit event " + e.action + ": a detail name is empty, too long or not text");
    if (!fits(value, 200)) {
      return fail(Errc::invalid_argument, "audit event " + e.action + ": detail " + name +
                                              " must be at most 200 bytes of UTF-8 without control characters");
    }
  }
  return ok();
}

std::vector<std::uint8_t> encode_event(std::int64_t seq, std::string_view time, const Event& e, const Hash& prev) {
  std::vector<std::uint8_t> out;
  out.reserve(256);
  out.insert(out.end(), kEventDomain.begin(), kEventDomain.end());
  out.push_back(0);
  put_u64(out, static_cast<std::uint64_t>(seq));
  out.insert(out.end(), prev.begin(), prev.end());
  put_str(out, time);
  put_str(out, to_string(e.actor.kind));
  put_str(out, e.actor.token_id);
  put_str(out, e.actor.role);
  put_str(out, e.action);
  put_str(out, e.resource);
  put_str(out, e.subject);
  put_str(out, e.purpose);
  put_str(out, e.outcome);
  // std::map orders its keys by std::string's operator<, which compares bytes as unsigned char
  // (char_traits<char>::lt): ascending byte order, as specified.
  put_u32(out, static_cast<std::uint32_t>(e.counts.size()));
  for (const auto& [name, value] : e.counts) {
    put_str(out, name);
    put_u64(out, static_cast<std::uint64_t>(value));
  }
  put_u32(out, static_cast<std::uint32_t>(e.details.size()));
  for (const auto& [name, value] : e.details) {
    put_str(out, name);
    put_str(out, value);
  }
  return out;
}

Hash event_hash(std::int64_t seq, std::string_view time, const Event& e, const Hash& prev) {
  const auto bytes = encode_event(seq, time, e, prev);
  Hash h{};
  crypto_hash_sha256(h.data(), bytes.data(), bytes.size());
  return h;
}

std::vector<std::uint8_t> checkpoint_payload(std::int64_t seq, const Hash& head_hash, std::string_view time) {
  std::vector<std::uint8_t> out;
  out.reserve(8 + 32 + 4 + time.size());
  put_u64(out, static_cast<std::uint64_t>(seq));
  out.insert(out.end(), head_hash.begin(), head_hash.end());
  put_str(out, time);
  return out;
}

Checkpoint make_checkpoint(const Signer& signer, std::int64_t seq, const Hash& head_hash, std::string time) {
  Checkpoint c;
  c.seq = seq;
  c.head_hash = head_hash;
  c.time = std::move(time);
  c.signature = signer.sign(kCheckpointContext, checkpoint_payload(seq, head_hash, c.time));
  return c;
}

bool checkpoint_signature_valid(const PublicKey& key, const Checkpoint& c) {
  return verify(key, kCheckpointContext, checkpoint_payload(c.seq, c.head_hash, c.time), c.signature);
}

std::string counts_json(const Event& e) {
  json j = json::object();
  for (const auto& [name, value] : e.counts) j[name] = value;
  return j.dump();
}

std::string details_json(const Event& e) {
  json j = json::object();
  for (const auto& [name, value] : e.details) j[name] = value;
  return j.dump();
}

namespace {

Status read_counts(const json& j, Event& e) {
  if (!j.is_object()) return fail(Errc::corrupt, "counts is not an object");
  e.counts.clear();
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it->is_number_integer()) return fail(Errc::corrupt, "a count is not an integer");
    e.counts[it.key()] = it->get<std::int64_t>();
  }
  return ok();
}

Status read_details(const json& j, Event& e) {
  if (!j.is_object()) return fail(Errc::corrupt, "details is not an object");
  e.details.clear();
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it->is_string()) return fail(Errc::corrupt, "a detail is not a string");
    e.details[it.key()] = it->get<std::string>();
  }
  return ok();
}

}  // namespace

Status parse_counts_details(std::string_view counts, std::string_view details, Event& e) {
  const json c = json::parse(counts, nullptr, false);
  if (c.is_discarded()) return fail(Errc::corrupt, "stored audit counts are not JSON");
  if (auto st = read_counts(c, e); !st) return st;
  const json d = json::parse(details, nullptr, false);
  if (d.is_discarded()) return fail(Errc::corrupt, "stored audit details are not JSON");
  return read_details(d, e);
}

std::string to_json(const Record& r) {
  ordered_json j;
  j["type"] = "event";
  j["seq"] = r.seq;
  j["time"] = r.time;
  j["actor"] = {{"kind", to_string(r.event.actor.kind)}, {"token_id", r.event.actor.token_id}, {"role", r.event.actor.role}};
  j["action"] = r.event.action;
  j["resource"] = r.event.resource;
  j["subject"] = r.event.subject;
  j["purpose"] = r.event.purpose;
  j["outcome"] = r.event.outcome;
  ordered_json counts = ordered_json::object();
  for (const auto& [name, value] : r.event.counts) counts[name] = value;
  j["counts"] = counts;
  ordered_json details = ordered_json::object();
  for (const auto& [name, value] : r.event.details) details[name] = value;
  j["details"] = details;
  j["prev_hash"] = hex_encode(r.prev_hash);
  j["hash"] = hex_encode(r.hash);
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

std::string to_json(const Checkpoint& c) {
  ordered_json j;
  j["type"] = "checkpoint";
  j["seq"] = c.seq;
  j["head_hash"] = hex_encode(c.head_hash);
  j["time"] = c.time;
  j["signature"] = hex_encode(c.signature);
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

Result<Line> parse_line(std::string_view text) {
  if (text.size() > 64 * 1024) return fail(Errc::invalid_argument, "the line is longer than 64 KiB");
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return fail(Errc::invalid_argument, "not valid JSON");
  if (!j.is_object()) return fail(Errc::invalid_argument, "not a JSON object");
  auto str = [&](const char* name, std::string& out) -> bool {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  auto seq = [&](std::int64_t& out) -> bool {
    auto it = j.find("seq");
    if (it == j.end() || !it->is_number_integer()) return false;
    out = it->get<std::int64_t>();
    return out >= 0;
  };
  std::string type;
  if (!str("type", type)) return fail(Errc::invalid_argument, "\"type\" is missing or not a string");
  Line line;
  if (type == "checkpoint") {
    line.type = Line::Type::checkpoint;
    if (j.size() != 5) return fail(Errc::invalid_argument, "a checkpoint has exactly type, seq, head_hash, time and signature");
    Checkpoint& c = line.checkpoint;
    if (!seq(c.seq)) return fail(Errc::invalid_argument, "checkpoint: \"seq\" is missing or not a non-negative integer");
    auto head = j.contains("head_hash") ? hash_from_hex(j["head_hash"]) : std::nullopt;
    if (!head) return fail(Errc::invalid_argument, "checkpoint: \"head_hash\" must be 64 hex digits");
    c.head_hash = *head;
    if (!str("time", c.time)) return fail(Errc::invalid_argument, "checkpoint: \"time\" is missing or not a string");
    std::string sig;
    if (!str("signature", sig) || sig.size() != 128) return fail(Errc::invalid_argument, "checkpoint: \"signature\" must be 128 hex digits");
    auto bytes = hex_decode(sig);
    if (!bytes) return fail(Errc::invalid_argument, "checkpoint: \"signature\" must be 128 hex digits");
    std::copy(bytes->begin(), bytes->end(), c.signature.begin());
    return line;
  }
  if (type != "event") return fail(Errc::invalid_argument, "\"type\" must be \"event\" or \"checkpoint\"");
  if (j.size() != 13) {
    return fail(Errc::invalid_argument,
                "an event has exactly type, seq, time, actor, action, resource, subject, purpose, outcome, counts, details, "
                "prev_hash and hash");
  }
  Record& r = line.record;
  if (!seq(r.seq)) return fail(Errc::invalid_argument, "event: \"seq\" is missing or not a non-negative integer");
  if (!str("time", r.time)) return fail(Errc::invalid_argument, "event: \"time\" is missing or not a string");
  auto actor = j.find("actor");
  if (actor == j.end() || !actor->is_object() || actor->size() != 3) {
    return fail(Errc::invalid_argument, "event: \"actor\" must be an object of kind, token_id and role");
  }
  auto astr = [&](const char* name, std::string& out) -> bool {
    auto it = actor->find(name);
    if (it == actor->end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  std::string kind;
  if (!astr("kind", kind) || !astr("token_id", r.event.actor.token_id) || !astr("role", r.event.actor.role)) {
    return fail(Errc::invalid_argument, "event: \"actor\" must be an object of kind, token_id and role (strings)");
  }
  if (kind == "system") r.event.actor.kind = Actor::Kind::system;
  else if (kind == "token") r.event.actor.kind = Actor::Kind::token;
  else if (kind == "data_subject") r.event.actor.kind = Actor::Kind::data_subject;
  else return fail(Errc::invalid_argument, "event: actor.kind must be system, token or data_subject");
  if (!str("action", r.event.action) || !str("resource", r.event.resource) || !str("subject", r.event.subject) ||
      !str("purpose", r.event.purpose) || !str("outcome", r.event.outcome)) {
    return fail(Errc::invalid_argument, "event: action, resource, subject, purpose and outcome must be strings");
  }
  if (!j.contains("counts") || !read_counts(j["counts"], r.event)) {
    return fail(Errc::invalid_argument, "event: \"counts\" must be an object of integers");
  }
  if (!j.contains("details") || !read_details(j["details"], r.event)) {
    return fail(Errc::invalid_argument, "event: \"details\" must be an object of strings");
  }
  auto prev = j.contains("prev_hash") ? hash_from_hex(j["prev_hash"]) : std::nullopt;
  auto hash = j.contains("hash") ? hash_from_hex(j["hash"]) : std::nullopt;
  if (!prev || !hash) return fail(Errc::invalid_argument, "event: \"prev_hash\" and \"hash\" must be 64 hex digits");
  r.prev_hash = *prev;
  r.hash = *hash;
  return line;
}

Status Verifier::failed(std::string_view where, const std::string& what) {
  failed_ = true;
  return fail(Errc::corrupt, std::string(where) + ": " + what);
}

Status Verifier::event(const Record& r, std::string_view where) {
  if (failed_) return fail(Errc::corrupt, "verification already failed");
  const std::string seq = std::to_string(r.seq);
  if (r.seq != expected_seq_) {
    return failed(where, "event seq " + seq + " where seq " + std::to_string(expected_seq_) +
                             " was expected (an event was removed, inserted or moved)");
  }
  if (r.prev_hash != prev_) {
    return failed(where, "event seq " + seq + ": prev_hash is not the hash of the event before it (an event was removed, "
                                              "inserted or moved)");
  }
  if (event_hash(r.seq, r.time, r.event, r.prev_hash) != r.hash) {
    return failed(where, "event seq " + seq + ": the hash does not match the event's content (the event was changed)");
  }
  if (summary_.unsigned_events == 0) first_unsigned_where_ = std::string(where);
  ++summary_.events;
  ++summary_.unsigned_events;
  summary_.head = r.hash;
  prev_ = r.hash;
  ++expected_seq_;
  return ok();
}

Status Verifier::checkpoint(const Checkpoint& c, std::string_view where) {
  if (failed_) return fail(Errc::corrupt, "verification already failed");
  const std::string seq = std::to_string(c.seq);
  if (summary_.events == 0 || c.seq != expected_seq_ - 1) {
    return failed(where, "checkpoint of seq " + seq + " does not follow event seq " + seq +
                             " (events were removed, or the checkpoint was moved)");
  }
  if (c.head_hash != prev_) {
    return failed(where, "checkpoint of seq " + seq + ": its head hash is not the hash of event seq " + seq +
                             " (the events before it were changed)");
  }
  if (!checkpoint_signature_valid(key_, c)) {
    return failed(where, "checkpoint of seq " + seq +
                             ": the signature is not valid for this public key (a forged checkpoint, or the wrong key)");
  }
  ++summary_.checkpoints;
  summary_.last_checkpoint = c;
  summary_.unsigned_events = 0;
  return ok();
}

Status Verifier::finish(bool require_sealed) {
  if (failed_) return fail(Errc::corrupt, "verification already failed");
  if (summary_.events == 0) return failed("end", "the log holds no event");
  if (require_sealed && summary_.unsigned_events > 0) {
    return failed(first_unsigned_where_,
                  "this event and the " + std::to_string(summary_.unsigned_events - 1) +
                      " after it are covered by no checkpoint (the log was cut before its last checkpoint; an export "
                      "always ends with one)");
  }
  return ok();
}

Result<Verifier::Summary> verify_export(std::istream& in, const PublicKey& key) {
  Verifier v(key);
  std::string text;
  std::int64_t n = 0;
  while (std::getline(in, text)) {
    ++n;
    const std::string where = "line " + std::to_string(n);
    auto parsed = parse_line(text);
    if (!parsed) return fail(Errc::corrupt, where + ": " + parsed.error().message);
    auto st = parsed->type == Line::Type::event ? v.event(parsed->record, where) : v.checkpoint(parsed->checkpoint, where);
    if (!st) return std::unexpected(st.error());
  }
  if (in.bad()) return fail(Errc::io, "cannot read the export");
  if (auto st = v.finish(true); !st) return std::unexpected(st.error());
  return v.summary();
}

}  // namespace comptoir::audit

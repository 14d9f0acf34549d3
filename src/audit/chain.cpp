#include "src/audit/chain.h"

#include <sodium.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <thread>

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

namespace {

// A strict parser for exactly what an export line may hold: objects, strings and integers.
// Faster than building a DOM, which matters when a million lines are verified. Rejects
// duplicate names, fractions and exponents, leading zeros, raw control characters in strings and
// anything after the value.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool at_end() {
    ws();
    return p_ == end_;
  }
  bool peek(char c) {
    ws();
    return p_ < end_ && *p_ == c;
  }
  bool take(char c) {
    if (!peek(c)) return false;
    ++p_;
    return true;
  }

  bool string(std::string& out) {
    out.clear();
    if (!take('"')) return false;
    while (p_ < end_) {
      const char* run = p_;
      while (p_ < end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20) ++p_;
      out.append(run, static_cast<std::size_t>(p_ - run));
      if (p_ == end_) return false;
      const char c = *p_++;
      if (c == '"') return true;
      if (c != '\\') return false;  // a raw control character
      if (p_ == end_) return false;
      switch (*p_++) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xd800 && cp <= 0xdbff) {
            std::uint32_t low = 0;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            if (!hex4(low) || low < 0xdc00 || low > 0xdfff) return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            return false;
          }
          utf8(cp, out);
          break;
        }
        default: return false;
      }
    }
    return false;
  }

  bool integer(std::int64_t& out) {
    ws();
    const bool negative = p_ < end_ && *p_ == '-';
    if (negative) ++p_;
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
    if (*p_ == '0' && p_ + 1 < end_ && p_[1] >= '0' && p_[1] <= '9') return false;
    std::uint64_t v = 0;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
      const auto d = static_cast<std::uint64_t>(*p_++ - '0');
      if (v > (static_cast<std::uint64_t>(INT64_MAX) + 1 - d) / 10) return false;
      v = v * 10 + d;
    }
    if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    if (!negative && v > static_cast<std::uint64_t>(INT64_MAX)) return false;
    out = negative ? static_cast<std::int64_t>(0 - v) : static_cast<std::int64_t>(v);
    return true;
  }

  // {"name": value, …}: calls member(name) for each, which must consume the value.
  template <class F>
  bool object(F&& member) {
    if (!take('{')) return false;
    std::vector<std::string> seen;
    if (take('}')) return true;
    std::string name;
    for (;;) {
      if (!string(name) || !take(':')) return false;
      for (const auto& s : seen) {
        if (s == name) return false;  // duplicate name
      }
      seen.push_back(name);
      if (!member(name)) return false;
      if (take(',')) continue;
      return take('}');
    }
  }

 private:
  bool hex4(std::uint32_t& out) {
    if (end_ - p_ < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = *p_++;
      out <<= 4;
      if (c >= '0' && c <= '9') out |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') out |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') out |= static_cast<std::uint32_t>(c - 'A' + 10);
      else return false;
    }
    return true;
  }
  static void utf8(std::uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  const char* p_;
  const char* end_;
};

bool parse_counts(Cursor& c, std::map<std::string, std::int64_t>& out) {
  out.clear();
  return c.object([&](const std::string& name) {
    std::int64_t v = 0;
    if (!c.integer(v)) return false;
    out.emplace(name, v);
    return true;
  });
}

bool parse_details(Cursor& c, std::map<std::string, std::string>& out) {
  out.clear();
  std::string v;
  return c.object([&](const std::string& name) {
    if (!c.string(v)) return false;
    out.emplace(name, v);
    return true;
  });
}

bool hash_field(Cursor& c, Hash& out) {
  std::string text;
  if (!c.string(text) || text.size() != 2 * out.size()) return false;
  auto bytes = hex_decode(text);
  if (!bytes) return false;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return true;
}

}  // namespace

Status parse_counts_details(std::string_view counts, std::string_view details, Event& e) {
  Cursor c(counts);
  if (!parse_counts(c, e.counts) || !c.at_end()) return fail(Errc::corrupt, "stored audit counts are not a JSON object of integers");
  Cursor d(details);
  if (!parse_details(d, e.details) || !d.at_end()) return fail(Errc::corrupt, "stored audit details are not a JSON object of strings");
  return ok();
}

Result<Line> parse_line(std::string_view text) {
  if (text.size() > 64 * 1024) return fail(Errc::invalid_argument, "the line is longer than 64 KiB");
  enum Field : unsigned {
    f_type = 1u << 0, f_seq = 1u << 1, f_time = 1u << 2, f_actor = 1u << 3, f_action = 1u << 4, f_resource = 1u << 5,
    f_subject = 1u << 6, f_purpose = 1u << 7, f_outcome = 1u << 8, f_counts = 1u << 9, f_details = 1u << 10,
    f_prev_hash = 1u << 11, f_hash = 1u << 12, f_head_hash = 1u << 13, f_signature = 1u << 14,
  };
  constexpr unsigned kEventFields = f_type | f_seq | f_time | f_actor | f_action | f_resource | f_subject | f_purpose |
                                    f_outcome | f_counts | f_details | f_prev_hash | f_hash;
  constexpr unsigned kCheckpointFields = f_type | f_seq | f_time | f_head_hash | f_signature;
  Line line;
  Record& r = line.record;
  Checkpoint& cp = line.checkpoint;
  std::string type, kind, bad;
  std::int64_t seq = -1;
  std::string time;
  unsigned fields = 0;
  Cursor c(text);
  auto member = [&](const std::string& name) -> bool {
    auto str = [&](unsigned f, std::string& out) {
      fields |= f;
      if (!c.string(out)) bad = "\"" + name + "\" must be a string";
      return bad.empty();
    };
    if (name == "type") return str(f_type, type);
    if (name == "time") return str(f_time, time);
    if (name == "action") return str(f_action, r.event.action);
    if (name == "resource") return str(f_resource, r.event.resource);
    if (name == "subject") return str(f_subject, r.event.subject);
    if (name == "purpose") return str(f_purpose, r.event.purpose);
    if (name == "outcome") return str(f_outcome, r.event.outcome);
    if (name == "seq") {
      fields |= f_seq;
      if (!c.integer(seq) || seq < 0) bad = "\"seq\" must be a non-negative integer";
      return bad.empty();
    }
    if (name == "actor") {
      fields |= f_actor;
      unsigned actor_fields = 0;
      const bool parsed = c.object([&](const std::string& k) {
        if (k == "kind") {
          actor_fields |= 1;
          return c.string(kind);
        }
        if (k == "token_id") {
          actor_fields |= 2;
          return c.string(r.event.actor.token_id);
        }
        if (k == "role") {
          actor_fields |= 4;
          return c.string(r.event.actor.role);
        }
        return false;
      });
      if (!parsed || actor_fields != 7) bad = "\"actor\" must be an object of kind, token_id and role (strings)";
      return bad.empty();
    }
    if (name == "counts") {
      fields |= f_counts;
      if (!parse_counts(c, r.event.counts)) bad = "\"counts\" must be an object of integers";
      return bad.empty();
    }
    if (name == "details") {
      fields |= f_details;
      if (!parse_details(c, r.event.details)) bad = "\"details\" must be an object of strings";
      return bad.empty();
    }
    auto hash = [&](unsigned f, Hash& out) {
      fields |= f;
      if (!hash_field(c, out)) bad = "\"" + name + "\" must be 64 hex digits";
      return bad.empty();
    };
    if (name == "prev_hash") return hash(f_prev_hash, r.prev_hash);
    if (name == "hash") return hash(f_hash, r.hash);
    if (name == "head_hash") return hash(f_head_hash, cp.head_hash);
    if (name == "signature") {
      fields |= f_signature;
      std::string sig;
      auto bytes = c.string(sig) && sig.size() == 128 ? hex_decode(sig) : std::nullopt;
      if (!bytes) {
        bad = "\"signature\" must be 128 hex digits";
        return false;
      }
      std::copy(bytes->begin(), bytes->end(), cp.signature.begin());
      return true;
    }
    bad = "unknown field \"" + (name.size() <= 40 ? name : name.substr(0, 40)) + "\"";
    return false;
  };
  if (!c.peek('{')) return fail(Errc::invalid_argument, "not a JSON object");
  if (!c.object(member) || !c.at_end()) {
    return fail(Errc::invalid_argument, bad.empty() ? std::string("not valid JSON (or a name given twice)") : bad);
  }
  if (type == "checkpoint") {
    line.type = Line::Type::checkpoint;
    if (fields != kCheckpointFields) {
      return fail(Errc::invalid_argument, "a checkpoint has exactly type, seq, head_hash, time and signature");
    }
    cp.seq = seq;
    cp.time = std::move(time);
    return line;
  }
  if (type != "event") return fail(Errc::invalid_argument, "\"type\" must be \"event\" or \"checkpoint\"");
  if (fields != kEventFields) {
    return fail(Errc::invalid_argument,
                "an event has exactly type, seq, time, actor, action, resource, subject, purpose, outcome, counts, details, "
                "prev_hash and hash");
  }
  if (kind == "system") r.event.actor.kind = Actor::Kind::system;
  else if (kind == "token") r.event.actor.kind = Actor::Kind::token;
  else if (kind == "data_subject") r.event.actor.kind = Actor::Kind::data_subject;
  else return fail(Errc::invalid_argument, "event: actor.kind must be system, token or data_subject");
  r.seq = seq;
  r.time = std::move(time);
  return line;
}

Status Verifier::failed(std::string_view where, const std::string& what) {
  failed_ = true;
  return fail(Errc::corrupt, std::string(where) + ": " + what);
}

Status Verifier::event(const Record& r, std::string_view where, std::optional<bool> hash_matches) {
  if (failed_) return fail(Errc::corrupt, "verification already failed");
  auto seq = [&] { return std::to_string(r.seq); };
  if (r.seq != expected_seq_) {
    return failed(where, "event seq " + seq() + " where seq " + std::to_string(expected_seq_) +
                             " was expected (an event was removed, inserted or moved)");
  }
  if (r.prev_hash != prev_) {
    return failed(where, "event seq " + seq() + ": prev_hash is not the hash of the event before it (an event was removed, "
                                                "inserted or moved)");
  }
  const bool matches = hash_matches ? *hash_matches : event_hash(r.seq, r.time, r.event, r.prev_hash) == r.hash;
  if (!matches) {
    return failed(where, "event seq " + seq() + ": the hash does not match the event's content (the event was changed)");
  }
  if (summary_.unsigned_events == 0) first_unsigned_where_ = std::string(where);
  ++summary_.events;
  ++summary_.unsigned_events;
  summary_.head = r.hash;
  prev_ = r.hash;
  ++expected_seq_;
  return ok();
}

Status Verifier::checkpoint(const Checkpoint& c, std::string_view where, std::optional<bool> signature_valid) {
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
  const bool valid = signature_valid ? *signature_valid : checkpoint_signature_valid(key_, c);
  if (!valid) {
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

namespace {

// One line of an export, parsed and with its own checks done (hash or signature), so that lines
// can be checked in parallel; the links between lines are checked in order afterwards.
struct Prechecked {
  Result<Line> line = fail(Errc::internal, "not parsed");
  bool valid = false;  // the event's hash matches its content / the checkpoint's signature is valid
};

void precheck(const std::vector<std::string>& lines, std::vector<Prechecked>& out, std::size_t from, std::size_t to,
              const PublicKey& key) {
  for (std::size_t i = from; i < to; ++i) {
    Prechecked& p = out[i];
    p.line = parse_line(lines[i]);
    if (!p.line) continue;
    if (p.line->type == Line::Type::event) {
      const Record& r = p.line->record;
      p.valid = event_hash(r.seq, r.time, r.event, r.prev_hash) == r.hash;
    } else {
      p.valid = checkpoint_signature_valid(key, p.line->checkpoint);
    }
  }
}

}  // namespace

Result<Verifier::Summary> verify_export(std::istream& in, const PublicKey& key) {
  constexpr std::size_t kBatch = 16384;
  const unsigned workers = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  Verifier v(key);
  std::vector<std::string> lines;
  std::vector<Prechecked> checked;
  std::int64_t n = 0;
  bool eof = false;
  while (!eof) {
    lines.clear();
    std::string text;
    while (lines.size() < kBatch) {
      if (!std::getline(in, text)) {
        eof = true;
        break;
      }
      lines.push_back(std::move(text));
    }
    checked.clear();
    checked.resize(lines.size());
    const std::size_t per = (lines.size() + workers - 1) / workers;
    std::vector<std::thread> pool;
    for (std::size_t from = per; from < lines.size(); from += per) {
      pool.emplace_back(precheck, std::cref(lines), std::ref(checked), from, std::min(lines.size(), from + per), std::cref(key));
    }
    precheck(lines, checked, 0, std::min(lines.size(), per), key);
    for (auto& t : pool) t.join();
    for (auto& p : checked) {
      ++n;
      const std::string where = "line " + std::to_string(n);
      if (!p.line) return fail(Errc::corrupt, where + ": " + p.line.error().message);
      auto st = p.line->type == Line::Type::event ? v.event(p.line->record, where, p.valid)
                                                  : v.checkpoint(p.line->checkpoint, where, p.valid);
      if (!st) return std::unexpected(st.error());
    }
  }
  if (in.bad()) return fail(Errc::io, "cannot read the export");
  if (auto st = v.finish(true); !st) return std::unexpected(st.error());
  return v.summary();
}

}  // namespace comptoir::audit

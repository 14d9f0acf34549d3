// The audit log's format and verifier against adversarial edits: a changed field, a dropped,
// swapped or inserted event, a truncated tail, a forged checkpoint, the wrong key. Each case
// must be caught on the first line that is wrong.
#include <gtest/gtest.h>

#include <sodium.h>

#include <string>
#include <vector>

#include "src/audit/chain.h"
#include "src/audit/signing.h"
#include "src/common/encoding.h"

namespace comptoir::audit {
namespace {

Signer signer_for(std::uint8_t fill) {
  SecretBytes seed(32);
  for (std::size_t i = 0; i < 32; ++i) seed.data()[i] = static_cast<std::uint8_t>(fill + i);
  return *Signer::from_seed(seed);
}

Event sample(int i) {
  Event e;
  e.actor = i % 2 == 0 ? Actor::token("tok_00000000000000" + std::to_string(10 + i % 90), "owner") : Actor::system_actor();
  e.action = i % 3 == 0 ? "order.read" : "customer.consents.read";
  e.resource = "order:C-" + std::to_string(100000 + i);
  e.subject = "sub_" + std::to_string(i);
  e.purpose = "contract";
  e.counts = {{"orders", i}, {"lines", -i}};
  e.details = {{"delivery_details", i % 2 == 0 ? "shown" : "absent"}};
  return e;
}

// An export of `n` events with a checkpoint every `every` events and one at the end.
std::vector<std::string> make_export(const Signer& signer, int n, int every) {
  std::vector<std::string> lines;
  Hash prev{};
  for (int i = 1; i <= n; ++i) {
    Record r;
    r.seq = i;
    r.time = "2026-11-29T01:00:" + std::string(i % 60 < 10 ? "0" : "") + std::to_string(i % 60) + ".000Z";
    r.event = sample(i);
    r.prev_hash = prev;
    r.hash = event_hash(r.seq, r.time, r.event, prev);
    prev = r.hash;
    lines.push_back(to_json(r));
    if (i % every == 0 || i == n) lines.push_back(to_json(make_checkpoint(signer, i, r.hash, "2026-11-29T02:00:00.000Z")));
  }
  return lines;
}

// Verifies lines as `comptoir audit verify --file` does; "" when valid, else the error.
std::string verify_lines(const std::vector<std::string>& lines, const PublicKey& key) {
  Verifier v(key);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string where = "line " + std::to_string(i + 1);
    auto line = parse_line(lines[i]);
    if (!line) return where + ": " + line.error().message;
    auto st = line->type == Line::Type::event ? v.event(line->record, where) : v.checkpoint(line->checkpoint, where);
    if (!st) return st.error().message;
  }
  auto st = v.finish(true);
  return st ? "" : st.error().message;
}

std::string edit(const std::string& line, const std::string& from, const std::string& to) {
  auto at = line.find(from);
  EXPECT_NE(at, std::string::npos) << from << " not in " << line;
  if (at == std::string::npos) return line;
  return line.substr(0, at) + to + line.substr(at + from.size());
}

class Chain : public ::testing::Test {
 protected:
  Signer signer = signer_for(1);
  std::vector<std::string> lines = make_export(signer, 12, 5);
  // Line numbers (1-based) of events 1..12: a checkpoint follows events 5 and 10, and 12.
  static std::size_t line_of(int seq) { return static_cast<std::size_t>(seq + (seq > 5) + (seq > 10)); }
};

TEST_F(Chain, AnUntouchedExportVerifies) {
  ASSERT_EQ(lines.size(), 15u);
  EXPECT_EQ(verify_lines(lines, signer.public_key()), "");
  Verifier v(signer.public_key());
  for (const auto& l : lines) {
    auto p = parse_line(l);
    ASSERT_TRUE(p.has_value());
    ASSERT_TRUE((p->type == Line::Type::event ? v.event(p->record, "x") : v.checkpoint(p->checkpoint, "x")).has_value());
  }
  ASSERT_TRUE(v.finish(true).has_value());
  EXPECT_EQ(v.summary().events, 12);
  EXPECT_EQ(v.summary().checkpoints, 3);
  EXPECT_EQ(v.summary().last_checkpoint->seq, 12);
}

TEST_F(Chain, TheEncodingIsTheSpecifiedOne) {
  // A hand-built encoding of one small event, byte by byte as docs/audit-log.md specifies it.
  Event e;
  e.actor = Actor::token("tok_1", "auditor");
  e.action = "a.b";
  e.outcome = "success";
  e.counts = {{"n", -2}};
  e.details = {{"k", "v"}};
  Hash prev{};
  prev[0] = 0xab;
  std::vector<std::uint8_t> want;
  auto str = [&](std::string_view s) {
    for (int shift = 24; shift >= 0; shift -= 8) want.push_back(static_cast<std::uint8_t>(s.size() >> shift));
    want.insert(want.end(), s.begin(), s.end());
  };
  const std::string domain = "comptoir.audit.event.v1";
  want.insert(want.end(), domain.begin(), domain.end());
  want.push_back(0);
  for (int i = 0; i < 7; ++i) want.push_back(0);
  want.push_back(7);  // seq 7, u64 big-endian
  want.insert(want.end(), prev.begin(), prev.end());
  for (auto s : {"T", "token", "tok_1", "auditor", "a.b", "", "", "", "success"}) str(s);
  want.insert(want.end(), {0, 0, 0, 1});
  str("n");
  for (int i = 0; i < 7; ++i) want.push_back(0xff);
  want.push_back(0xfe);  // -2 as i64 big-endian two's complement
  want.insert(want.end(), {0, 0, 0, 1});
  str("k");
  str("v");
  EXPECT_EQ(encode_event(7, "T", e, prev), want);
  Hash sha{};
  crypto_hash_sha256(sha.data(), want.data(), want.size());
  EXPECT_EQ(event_hash(7, "T", e, prev), sha);
}

TEST_F(Chain, AChangedFieldIsCaughtOnItsLine) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"purpose\":\"contract\"", "\"purpose\":\"marketing\""},
           {"\"orders\":7", "\"orders\":8"},
           {"\"outcome\":\"success\"", "\"outcome\":\"failure\""},
           {"\"kind\":\"system\"", "\"kind\":\"data_subject\""},
           {"\"time\":\"2026-11-29T01:00:07.000Z\"", "\"time\":\"2026-11-29T01:00:08.000Z\""},
           {"\"delivery_details\":\"absent\"", "\"delivery_details\":\"shown\""}}) {
    auto copy = lines;
    copy[line_of(7) - 1] = edit(copy[line_of(7) - 1], from, to);
    const std::string err = verify_lines(copy, signer.public_key());
    EXPECT_EQ(err.rfind("line 8: event seq 7: the hash does not match", 0), 0u) << from << " → " << err;
  }
}

TEST_F(Chain, ADroppedEventIsCaughtOnTheLineAfterIt) {
  auto copy = lines;
  copy.erase(copy.begin() + static_cast<std::ptrdiff_t>(line_of(3) - 1));
  EXPECT_EQ(verify_lines(copy, signer.public_key()).rfind("line 3: event seq 4 where seq 3 was expected", 0), 0u);
  // Also when the ones after it are renumbered: then the chain link breaks.
  copy = make_export(signer, 12, 5);
  copy.erase(copy.begin() + 2);
  copy[2] = edit(copy[2], "\"seq\":4", "\"seq\":3");
  EXPECT_EQ(verify_lines(copy, signer.public_key()).rfind("line 3: event seq 3: prev_hash", 0), 0u)
      << verify_lines(copy, signer.public_key());
}

TEST_F(Chain, SwappedEventsAreCaughtOnTheFirstOfThem) {
  auto copy = lines;
  std::swap(copy[line_of(2) - 1], copy[line_of(3) - 1]);
  EXPECT_EQ(verify_lines(copy, signer.public_key()).rfind("line 2: event seq 3 where seq 2 was expected", 0), 0u);
}

TEST_F(Chain, AnInsertedEventIsCaught) {
  // A well-formed event made by someone without the key, chained to event 3 and numbered 4.
  auto p3 = parse_line(lines[line_of(3) - 1]);
  ASSERT_TRUE(p3.has_value());
  Record fake;
  fake.seq = 4;
  fake.time = "2026-11-29T01:00:03.500Z";
  fake.event = sample(99);
  fake.prev_hash = p3->record.hash;
  fake.hash = event_hash(4, fake.time, fake.event, fake.prev_hash);
  auto copy = lines;
  copy.insert(copy.begin() + static_cast<std::ptrdiff_t>(line_of(4) - 1), to_json(fake));
  // Its own line verifies; the original event 4 after it does not.
  EXPECT_EQ(verify_lines(copy, signer.public_key()).rfind("line 5: event seq 4 where seq 5 was expected", 0), 0u)
      << verify_lines(copy, signer.public_key());
}

TEST_F(Chain, RewritingTheChainAfterAnEditBreaksTheNextCheckpoint) {
  // The attacker changes event 7 and recomputes every hash after it, but cannot sign.
  auto copy = lines;
  Hash prev{};
  for (std::size_t i = 0; i < copy.size(); ++i) {
    auto p = parse_line(copy[i]);
    ASSERT_TRUE(p.has_value());
    if (p->type == Line::Type::checkpoint) {
      p->checkpoint.head_hash = prev;
      copy[i] = to_json(p->checkpoint);
      continue;
    }
    if (p->record.seq == 7) p->record.event.purpose = "marketing";
    p->record.prev_hash = prev;
    p->record.hash = event_hash(p->record.seq, p->record.time, p->record.event, prev);
    prev = p->record.hash;
    copy[i] = to_json(p->record);
  }
  EXPECT_EQ(verify_lines(copy, signer.public_key()).rfind("line 12: checkpoint of seq 10: the signature is not valid", 0), 0u)
      << verify_lines(copy, signer.public_key());
}

TEST_F(Chain, ACutTailIsCaught) {
  // Cut after event 11: the last checkpoint (of event 12) is gone.
  auto copy = lines;
  copy.resize(line_of(11));
  EXPECT_EQ(verify_lines(copy, signer.public_key()).rfind("line 13: this event and the 0 after it are covered by no checkpoint", 0), 0u)
      << verify_lines(copy, signer.public_key());
  // Cut between event 12 and its checkpoint.
  copy = lines;
  copy.pop_back();
  EXPECT_EQ(verify_lines(copy, signer.public_key()).rfind("line 13: this event and the 1 after it", 0), 0u)
      << verify_lines(copy, signer.public_key());
  // Events dropped before a kept checkpoint: the checkpoint no longer follows its event.
  copy = lines;
  copy.erase(copy.begin() + static_cast<std::ptrdiff_t>(line_of(11) - 1), copy.begin() + static_cast<std::ptrdiff_t>(line_of(12)));
  EXPECT_EQ(verify_lines(copy, signer.public_key()).rfind("line 13: checkpoint of seq 12 does not follow event seq 12", 0), 0u)
      << verify_lines(copy, signer.public_key());
  EXPECT_NE(verify_lines({}, signer.public_key()), "");
}

TEST_F(Chain, AForgedCheckpointIsCaught) {
  auto copy = lines;
  const std::size_t cp = line_of(5);  // the line after event 5
  auto p = parse_line(copy[cp]);
  ASSERT_TRUE(p.has_value());
  ASSERT_EQ(p->type, Line::Type::checkpoint);
  // A later time with the old signature.
  auto c = p->checkpoint;
  c.time = "2026-11-29T03:00:00.000Z";
  copy[cp] = to_json(c);
  EXPECT_EQ(verify_lines(copy, signer.public_key()).rfind("line 6: checkpoint of seq 5: the signature is not valid", 0), 0u);
  // Signed by another key.
  copy[cp] = to_json(make_checkpoint(signer_for(9), 5, p->checkpoint.head_hash, p->checkpoint.time));
  EXPECT_EQ(verify_lines(copy, signer.public_key()).rfind("line 6: checkpoint of seq 5: the signature is not valid", 0), 0u);
  // A flipped signature bit.
  c = p->checkpoint;
  c.signature[10] ^= 1;
  copy[cp] = to_json(c);
  EXPECT_EQ(verify_lines(copy, signer.public_key()).rfind("line 6:", 0), 0u);
  // A checkpoint signature is not valid under another context (e.g. an erasure receipt's).
  EXPECT_FALSE(verify(signer.public_key(), kErasureReceiptContext,
                      checkpoint_payload(p->checkpoint.seq, p->checkpoint.head_hash, p->checkpoint.time),
                      p->checkpoint.signature));
}

TEST_F(Chain, TheWrongKeyFailsOnTheFirstCheckpoint) {
  EXPECT_EQ(verify_lines(lines, signer_for(2).public_key()).rfind("line 6: checkpoint of seq 5: the signature is not valid", 0), 0u);
}

TEST_F(Chain, MalformedLinesAreRejectedWithAReason) {
  for (const std::string& bad :
       {std::string("not json"), std::string("[]"), std::string("{\"type\":\"event\"}"), std::string("{\"type\":\"other\"}"),
        edit(lines[0], "\"hash\":\"", "\"hash\":\"zz"), edit(lines[0], "\"seq\":1", "\"seq\":-1"),
        edit(lines[0], "\"counts\":{", "\"counts\":{\"x\":\"1\","), edit(lines[0], "\"type\":\"event\"", "\"type\":\"event\",\"extra\":1"),
        edit(lines[line_of(5)], "\"signature\":\"", "\"signature\":\"00")}) {
    auto copy = lines;
    copy[bad == lines[0] ? 1 : 0] = bad;
    auto p = parse_line(bad);
    EXPECT_FALSE(p.has_value()) << bad;
  }
}

TEST_F(Chain, AnyEquivalentJsonVerifiesTheSame) {
  // Field order, whitespace and escapes do not matter: the verifier hashes the values.
  Signer s = signer_for(3);
  Record r;
  r.seq = 1;
  r.time = "2026-11-29T01:00:00.000Z";
  r.event.action = "x.y";
  r.event.purpose = "Art. 15 accès \xF0\x9F\x98\x80";
  r.event.details = {{"k", "a\"b\\c/"}};
  r.hash = event_hash(1, r.time, r.event, r.prev_hash);
  const std::string zeros(64, '0');
  const std::string line = std::string("{ \"hash\" : \"") + hex_encode(r.hash) + "\", \"prev_hash\":\"" + zeros +
                           "\",\"details\":{\"k\":\"a\\\"b\\\\c\\/\"},\"counts\":{},\"outcome\":\"success\",\"purpose\":"
                           "\"Art. 15 acc\\u00e8s \\ud83d\\ude00\",\"subject\":\"\",\"resource\":\"\",\"action\":\"x.y\","
                           "\"actor\":{\"role\":\"\",\"token_id\":\"\",\"kind\":\"system\"},\"time\":\"" + r.time +
                           "\",\"seq\":1,\"type\":\"event\"}\t";
  const std::string cp = to_json(make_checkpoint(s, 1, r.hash, "t"));
  EXPECT_EQ(verify_lines({line, cp}, s.public_key()), "");
  EXPECT_EQ(verify_lines({to_json(r), cp}, s.public_key()), "");
  auto parsed = parse_line(line);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->record.event.purpose, r.event.purpose);
  EXPECT_EQ(parsed->record.event.details, r.event.details);
}

TEST_F(Chain, TheParserIsStrict) {
  const std::string good = lines[0];
  ASSERT_TRUE(parse_line(good).has_value());
  for (const std::string& bad : {
           edit(good, "\"seq\":1", "\"seq\":01"), edit(good, "\"seq\":1", "\"seq\":1.0"), edit(good, "\"seq\":1", "\"seq\":1e0"),
           edit(good, "\"seq\":1", "\"seq\":\"1\""), edit(good, "\"seq\":1", "\"seq\":1,\"seq\":1"),
           edit(good, "\"purpose\":\"contract\"", "\"purpose\":\"con\ttract\""),
           edit(good, "\"purpose\":\"contract\"", "\"purpose\":\"\\ud800\""),
           edit(good, "\"purpose\":\"contract\"", "\"purpose\":\"\\x41\""),
           edit(good, "\"lines\":-1", "\"lines\":99999999999999999999"),
           edit(good, "\"kind\":\"system\"", "\"kind\":\"root\""),
           good + "x", good.substr(0, good.size() - 1), std::string("{\"type\":\"checkpoint\"}"), std::string()}) {
    EXPECT_FALSE(parse_line(bad).has_value()) << bad;
  }
  // Counts at the limits of int64 are read exactly.
  auto p = parse_line(edit(good, "\"lines\":-1", "\"lines\":-9223372036854775808"));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->record.event.counts.at("lines"), INT64_MIN);
}

TEST(EventValidation, RefusesWhatCouldCarryFreeText) {
  Event ok_event = sample(1);
  EXPECT_TRUE(validate(ok_event).has_value());
  Event e = ok_event;
  e.action = "Order Read";
  EXPECT_FALSE(validate(e).has_value());
  e = ok_event;
  e.details["note"] = std::string(201, 'x');
  EXPECT_FALSE(validate(e).has_value());
  e = ok_event;
  e.resource = "line\nbreak";
  EXPECT_FALSE(validate(e).has_value());
  e = ok_event;
  e.purpose = std::string("\xff\xfe", 2);
  EXPECT_FALSE(validate(e).has_value());
  e = ok_event;
  for (int i = 0; i < 33; ++i) e.counts["c" + std::to_string(i)] = i;
  EXPECT_FALSE(validate(e).has_value());
}

TEST(Signing, TheKeyPairComesFromTheSeed) {
  Signer a = signer_for(1), b = signer_for(1), c = signer_for(2);
  EXPECT_EQ(a.public_key(), b.public_key());
  EXPECT_NE(a.public_key(), c.public_key());
  EXPECT_EQ(a.public_key_hex().size(), 64u);
  EXPECT_EQ(parse_public_key(a.public_key_hex()), a.public_key());
  EXPECT_FALSE(parse_public_key("abc").has_value());
  EXPECT_FALSE(parse_public_key(std::string(64, 'g')).has_value());
  const std::string msg = "payload";
  auto sig = a.sign(kErasureReceiptContext, as_bytes(msg));
  EXPECT_TRUE(verify(a.public_key(), kErasureReceiptContext, as_bytes(msg), sig));
  EXPECT_FALSE(verify(c.public_key(), kErasureReceiptContext, as_bytes(msg), sig));
  EXPECT_FALSE(verify(a.public_key(), kCheckpointContext, as_bytes(msg), sig));
  EXPECT_FALSE(Signer::from_seed(SecretBytes(31)).has_value());
}

}  // namespace
}  // namespace comptoir::audit

// The audit log against the real binary: what serve and the CLI record (startup, token creation
// and revocation, reads of personal data, denied access, failed authentication rate-limited,
// key rotation, shutdown), `comptoir audit export / public-key / verify` including tampered
// exports, and the auditor's HTTP API and scope.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "src/audit/chain.h"
#include "tests/e2e/harness.h"

namespace comptoir::testing::e2e {
namespace {

using nlohmann::json;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

void write_lines(const fs::path& p, const std::vector<std::string>& lines) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  for (const auto& l : lines) out << l << "\n";
}

httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

std::string last_line(const std::string& text) {
  auto lines = lines_of(text);
  return lines.empty() ? "" : lines.back();
}

// The events of an export, parsed.
std::vector<json> events_of(const std::vector<std::string>& lines) {
  std::vector<json> out;
  for (const auto& l : lines) {
    json j = json::parse(l, nullptr, false);
    if (j.is_object() && j.value("type", "") == "event") out.push_back(j);
  }
  return out;
}

std::vector<json> with_action(const std::vector<json>& events, const std::string& action) {
  std::vector<json> out;
  for (const auto& e : events) {
    if (e["action"] == action) out.push_back(e);
  }
  return out;
}

class AuditE2E : public ::testing::Test {
 protected:
  ServerInstance s{"", R"("audit": {"checkpoint_every_events": 4, "checkpoint_every_seconds": 3600})"};

  std::string public_key() {
    auto r = s.cli({"audit", "public-key", "-c", s.config().string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return last_line(r.out);
  }

  // Exports to a new file; returns its lines.
  std::vector<std::string> export_log(const std::string& name) {
    const fs::path out = s.dir() / name;
    auto r = s.cli({"audit", "export", "-c", s.config().string(), "--out", out.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return lines_of(read_all(out));
  }

  RunResult verify(const std::vector<std::string>& lines, const std::string& key, const std::string& name = "x.jsonl") {
    const fs::path f = s.dir() / name;
    write_lines(f, lines);
    return s.cli({"audit", "verify", "--file", f.string(), "--public-key", key});
  }
};

TEST_F(AuditE2E, ServeAndTheCliRecordTheirActionsAndTheExportVerifies) {
  ASSERT_TRUE(s.init());
  ASSERT_TRUE(s.start());
  const std::string owner = s.create_token("owner", "shop owner");
  const std::string auditor = s.create_token("auditor", "external auditor");
  auto c = s.client();
  auto orders = c.Get("/api/v1/orders", bearer(owner));
  ASSERT_TRUE(orders);
  EXPECT_EQ(orders->status, 200);
  // The auditor may not read orders: 403, and recorded.
  auto denied = c.Get("/api/v1/orders/C-000123", bearer(auditor));
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  // A flood of bad tokens: recorded as one event (plus one with the count at shutdown).
  for (int i = 0; i < 30; ++i) {
    auto r = c.Get("/api/v1/whoami", bearer("cpt_notarealtoken" + std::to_string(i)));
    ASSERT_TRUE(r);
  }
  // Revoke the auditor's token from the CLI while serving.
  auto list = s.cli({"token", "list", "-c", s.config().string(), "--json"});
  const json tokens = json::parse(list.out, nullptr, false);
  ASSERT_TRUE(tokens.is_array()) << list.out;
  std::string auditor_id;
  for (const auto& t : tokens) {
    if (t["role"] == "auditor") auditor_id = t["id"];
  }
  ASSERT_FALSE(auditor_id.empty());
  ASSERT_EQ(s.cli({"token", "revoke", "-c", s.config().string(), auditor_id}).exit_code, 0);
  EXPECT_EQ(s.stop(), 0);

  const std::string key = public_key();
  ASSERT_EQ(key.size(), 64u) << key;
  auto lines = export_log("audit.jsonl");
  ASSERT_GT(lines.size(), 5u);
  auto v = verify(lines, key);
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.out.find("ok: "), std::string::npos) << v.out;
  EXPECT_EQ(s.cli({"audit", "verify", "-c", s.config().string()}).exit_code, 0);

  const auto events = events_of(lines);
  ASSERT_EQ(with_action(events, "server.started").size(), 1u);
  const json started = with_action(events, "server.started")[0];
  EXPECT_EQ(started["actor"]["kind"], "system");
  EXPECT_EQ(started["details"]["master_source"], "key_file");
  EXPECT_EQ(started["details"]["audit_checkpoint_every_events"], "4");
  EXPECT_EQ(with_action(events, "token.created").size(), 2u);
  const auto revoked = with_action(events, "token.revoked");
  ASSERT_EQ(revoked.size(), 1u);
  EXPECT_EQ(revoked[0]["resource"], "token:" + auditor_id);
  const auto listed = with_action(events, "orders.listed");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["actor"]["kind"], "token");
  EXPECT_EQ(listed[0]["actor"]["role"], "owner");
  const auto denials = with_action(events, "access.denied");
  ASSERT_EQ(denials.size(), 1u);
  EXPECT_EQ(denials[0]["actor"]["token_id"], auditor_id);
  EXPECT_EQ(denials[0]["details"]["route"], "/api/v1/orders/C-{n}");
  const auto auth = with_action(events, "auth.failed");
  ASSERT_EQ(auth.size(), 2u);
  EXPECT_EQ(auth[0]["counts"]["failures"].get<int>() + auth[1]["counts"]["failures"].get<int>(), 30);
  EXPECT_EQ(with_action(events, "server.stopped").size(), 1u);
  EXPECT_EQ(with_action(events, "audit.exported").size(), 1u);
  // Checkpoints every 4 events, and the export ends with one.
  std::size_t checkpoints = 0;
  for (const auto& l : lines) checkpoints += l.find("\"type\":\"checkpoint\"") != std::string::npos;
  EXPECT_GE(checkpoints, events.size() / 4);
  EXPECT_NE(lines.back().find("\"type\":\"checkpoint\""), std::string::npos);
  // No secret reached the log.
  s.check_no_secrets(read_all(s.dir() / "audit.jsonl"), "the audit export");

  // An export never overwrites a file.
  auto again = s.cli({"audit", "export", "-c", s.config().string(), "--out", (s.dir() / "audit.jsonl").string()});
  EXPECT_NE(again.exit_code, 0);
}

TEST_F(AuditE2E, TamperedExportsFailNamingTheFirstBadLine) {
  ASSERT_TRUE(s.init());
  for (int i = 0; i < 5; ++i) s.create_token("operator", "op " + std::to_string(i));
  const std::string key = public_key();
  auto lines = export_log("audit.jsonl");
  ASSERT_EQ(verify(lines, key).exit_code, 0);
  // Line numbers of events, and of the event lines of a given seq.
  std::vector<std::size_t> event_lines;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find("\"type\":\"event\"") != std::string::npos) event_lines.push_back(i);
  }
  ASSERT_GE(event_lines.size(), 6u);
  auto expect_bad = [&](const std::vector<std::string>& copy, std::size_t line_no, const std::string& what) {
    auto r = verify(copy, key);
    EXPECT_EQ(r.exit_code, 1) << what;
    EXPECT_NE(r.err.find("line " + std::to_string(line_no) + ":"), std::string::npos) << what << ": " << r.err;
  };
  {  // changed
    auto copy = lines;
    const std::size_t at = event_lines[2];
    copy[at].replace(copy[at].find("\"purpose\":\"security\""), 20, "\"purpose\":\"marketin\"");
    expect_bad(copy, at + 1, "changed");
  }
  {  // removed
    auto copy = lines;
    copy.erase(copy.begin() + static_cast<std::ptrdiff_t>(event_lines[1]));
    expect_bad(copy, event_lines[1] + 1, "removed");
  }
  {  // reordered
    auto copy = lines;
    std::swap(copy[event_lines[1]], copy[event_lines[2]]);
    expect_bad(copy, std::min(event_lines[1], event_lines[2]) + 1, "reordered");
  }
  {  // inserted: a copy of an event
    auto copy = lines;
    copy.insert(copy.begin() + static_cast<std::ptrdiff_t>(event_lines[3]), lines[event_lines[1]]);
    expect_bad(copy, event_lines[3] + 1, "inserted");
  }
  {  // cut before the last checkpoint
    auto copy = lines;
    copy.pop_back();
    auto r = verify(copy, key);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("covered by no checkpoint"), std::string::npos) << r.err;
  }
  {  // forged checkpoint
    auto copy = lines;
    std::string& last = copy.back();
    const auto sig = last.find("\"signature\":\"") + 13;
    last[sig] = last[sig] == '0' ? '1' : '0';
    expect_bad(copy, copy.size(), "forged checkpoint");
  }
  {  // wrong key
    std::string other = key;
    other[0] = other[0] == 'a' ? 'b' : 'a';
    auto r = verify(lines, other);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("signature is not valid"), std::string::npos) << r.err;
  }
  auto bad_key = s.cli({"audit", "verify", "--file", (s.dir() / "audit.jsonl").string(), "--public-key", "xyz"});
  EXPECT_EQ(bad_key.exit_code, 2);
}

TEST_F(AuditE2E, TheAuditorReadsTheLogAndNothingElse) {
  ASSERT_TRUE(s.init());
  ASSERT_TRUE(s.start());
  const std::string auditor = s.create_token("auditor");
  const std::string op = s.create_token("operator");
  const std::string owner = s.create_token("owner");
  auto c = s.client();
  // Nothing about customers or orders, nor the catalog or the tokens.
  for (const std::string path : {"/api/v1/orders", "/api/v1/orders/C-000001", "/api/v1/customers/1/consents",
                                 "/api/v1/products", "/api/v1/categories", "/api/v1/tokens"}) {
    auto r = c.Get(path.c_str(), bearer(auditor));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << path;
  }
  auto post = c.Post("/api/v1/marketing/messages", bearer(auditor), R"({"text":{"en":"hi"}})", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 403);
  auto who = c.Get("/api/v1/whoami", bearer(auditor));
  ASSERT_TRUE(who);
  EXPECT_EQ(who->status, 200);

  // The audit log: owner and auditor, not the operator.
  auto ev = c.Get("/api/v1/audit/events?after=0&limit=2", bearer(auditor));
  ASSERT_TRUE(ev);
  ASSERT_EQ(ev->status, 200) << ev->body;
  json page = json::parse(ev->body);
  ASSERT_EQ(page["events"].size(), 2u);
  EXPECT_EQ(page["events"][0]["seq"], 1);
  EXPECT_EQ(page["events"][0]["action"], "server.started");
  EXPECT_EQ(page["next_after"], 2);
  for (const std::string path : {"/api/v1/audit/events", "/api/v1/audit/checkpoints", "/api/v1/audit/public-key"}) {
    auto r = c.Get(path.c_str(), bearer(op));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << path;
    r = c.Get(path.c_str());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << path;
    r = c.Get(path.c_str(), bearer(owner));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << path;
  }
  for (const std::string q : {"after=-1", "after=x", "limit=0", "limit=1001", "after=99999999999999999999"}) {
    auto r = c.Get(("/api/v1/audit/events?" + q).c_str(), bearer(auditor));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << q;
  }
  auto pk = c.Get("/api/v1/audit/public-key", bearer(auditor));
  ASSERT_TRUE(pk);
  const std::string key = json::parse(pk->body)["public_key"];
  EXPECT_EQ(json::parse(pk->body)["algorithm"], "Ed25519");

  // What the API shows verifies like an export: every event, then a checkpoint of the head.
  EXPECT_EQ(s.stop(), 0);  // signs a checkpoint of the last event
  EXPECT_EQ(key, public_key());
  ASSERT_TRUE(s.start());
  auto c2 = s.client();
  std::vector<std::string> events;
  std::int64_t after = 0;
  for (;;) {
    auto r = c2.Get(("/api/v1/audit/events?limit=3&after=" + std::to_string(after)).c_str(), bearer(auditor));
    ASSERT_TRUE(r && r->status == 200);
    json p = json::parse(r->body);
    for (const auto& e : p["events"]) events.push_back(e.dump());
    if (p["next_after"].is_null()) break;
    after = p["next_after"];
  }
  auto cps = c2.Get("/api/v1/audit/checkpoints?limit=1000", bearer(auditor));
  ASSERT_TRUE(cps && cps->status == 200);
  const json checkpoints = json::parse(cps->body)["checkpoints"];
  ASSERT_GE(checkpoints.size(), 1u);
  const auto parsed_key = audit::parse_public_key(key);
  ASSERT_TRUE(parsed_key.has_value());
  audit::Verifier verifier(*parsed_key);
  std::size_t next_cp = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto line = audit::parse_line(events[i]);
    ASSERT_TRUE(line.has_value()) << line.error().message;
    ASSERT_TRUE(verifier.event(line->record, "event " + std::to_string(i + 1)).has_value());
    while (next_cp < checkpoints.size() && checkpoints[next_cp]["seq"] == line->record.seq) {
      auto cp = audit::parse_line(checkpoints[next_cp].dump());
      ASSERT_TRUE(cp.has_value());
      auto st = verifier.checkpoint(cp->checkpoint, "checkpoint");
      ASSERT_TRUE(st.has_value()) << st.error().message;
      ++next_cp;
    }
  }
  EXPECT_EQ(next_cp, checkpoints.size());
  EXPECT_GE(verifier.summary().checkpoints, 1);
  EXPECT_EQ(s.stop(), 0);
}

TEST_F(AuditE2E, AKeyRotationIsRecordedOnce) {
  ASSERT_TRUE(s.init());
  const std::string key = public_key();
  auto r = s.cli({"rekey", "-c", s.config().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The audit key is carried over: exports made before and after verify with the same key.
  EXPECT_EQ(public_key(), key);
  auto lines = export_log("after-rekey.jsonl");
  EXPECT_EQ(verify(lines, key).exit_code, 0);
  const auto rotations = with_action(events_of(lines), "key.rotation");
  ASSERT_EQ(rotations.size(), 1u);
  EXPECT_EQ(rotations[0]["outcome"], "completed");
  EXPECT_EQ(rotations[0]["details"]["from"], "key_file");
  EXPECT_EQ(rotations[0]["resource"].get<std::string>().rfind("rotation:rot_", 0), 0u);
  // Opening the data dir again does not record it again.
  lines = export_log("again.jsonl");
  EXPECT_EQ(with_action(events_of(lines), "key.rotation").size(), 1u);
}

}  // namespace
}  // namespace comptoir::testing::e2e

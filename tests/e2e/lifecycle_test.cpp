// End-to-end tests of the server's life: graceful shutdown with a request in flight, one server
// per data dir, and startup refusals (wrong master key, wrong passphrase, damaged database,
// broken config) that must leave the data dir byte-for-byte as it was.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "tests/e2e/harness.h"

namespace comptoir::testing::e2e {
namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Lifecycle, SigtermLetsAnInFlightUploadFinish) {
  ServerInstance s;
  ASSERT_TRUE(s.init());
  ASSERT_TRUE(s.start());
  const int port = s.port();

  // A slow upload. "Expect: 100-continue" makes the server say when it has taken the request
  // (headers read, a worker committed to it), so the signal provably arrives mid-request.
  const std::string body(64 * 1024, 'u');
  RawConn conn(port);
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send("POST /e2e/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Content-Type: application/octet-stream\r\n"
                        "Content-Length: " + std::to_string(body.size()) + "\r\n"
                        "Expect: 100-continue\r\n\r\n"));
  ASSERT_TRUE(conn.read_until([](const std::string& b) { return contains(b, "100 Continue\r\n\r\n"); }))
      << conn.buffer();
  ASSERT_TRUE(conn.send(body.substr(0, body.size() / 2)));

  s.process().signal(SIGTERM);
  ASSERT_TRUE(await([&] { return contains(s.process().err(), "\"event\":\"shutdown.requested\""); }))
      << s.process().err();
  // The listener is gone, but the process waits for the upload.
  ASSERT_TRUE(await([&] { return port_closed(port); }));
  EXPECT_TRUE(s.process().running());

  ASSERT_TRUE(conn.send(body.substr(body.size() / 2)));
  // The full answer after the 100: an ordinary response (no route takes uploads yet: 404).
  ASSERT_TRUE(conn.consume_through("100 Continue\r\n\r\n"));
  auto response = conn.read_response();
  ASSERT_TRUE(response) << conn.buffer();
  EXPECT_TRUE(response->starts_with("HTTP/1.1 404")) << *response;
  EXPECT_TRUE(contains(*response, "X-Request-Id: ")) << *response;
  auto j = nlohmann::json::parse(response->substr(response->find("\r\n\r\n") + 4), nullptr, false);
  EXPECT_EQ(j["error"]["code"], "not_found") << *response;

  EXPECT_EQ(s.wait_exit(), 0);
  const std::string err = s.process().err();
  EXPECT_LT(err.find("shutdown.requested"), err.find("shutdown.complete"));
}

TEST(Lifecycle, SigintAlsoShutsDownCleanly) {
  ServerInstance s;
  ASSERT_TRUE(s.init());
  ASSERT_TRUE(s.start());
  s.process().signal(SIGINT);
  EXPECT_EQ(s.wait_exit(), 0);
  EXPECT_TRUE(contains(s.process().err(), "\"signal\":\"SIGINT\"")) << s.process().err();
}

TEST(Lifecycle, AnIdleKeepAliveConnectionDoesNotHoldUpShutdownBeyondItsTimeout) {
  ServerInstance s("\"timeouts\": {\"keep_alive_seconds\": 1}");
  ASSERT_TRUE(s.init());
  ASSERT_TRUE(s.start());
  RawConn idle(s.port());
  ASSERT_TRUE(idle.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  auto r = idle.read_response();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->starts_with("HTTP/1.1 200")) << *r;
  // The connection stays open and idle; the server still exits cleanly.
  EXPECT_EQ(s.stop(), 0);
}

TEST(Lifecycle, SecondServerOnTheSamePortFails) {
  ServerInstance first;
  ASSERT_TRUE(first.init());
  ASSERT_TRUE(first.start());
  // Another data dir, the first server's port: bind must fail (no silent port sharing).
  TempDir other;
  write_text(other / "comptoir.json", "{\"data_dir\": \"" + (other / "data").string() +
                                          "\", \"server\": {\"host\": \"127.0.0.1\", \"port\": " +
                                          std::to_string(first.port()) + "}}");
  ASSERT_EQ(run_comptoir({"init", "-c", (other / "comptoir.json").string()}).exit_code, 0);
  auto r = run_comptoir({"serve", "-c", (other / "comptoir.json").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_TRUE(contains(r.err, "cannot listen on 127.0.0.1:" + std::to_string(first.port()))) << r.err;
  auto c = first.client();
  auto h = c.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(first.stop(), 0);
}

TEST(Lifecycle, SecondServerOnTheSameDataDirFails) {
  ServerInstance s;
  ASSERT_TRUE(s.init());
  ASSERT_TRUE(s.start());
  // The first server's start-up work (retention sweep, housekeeping, erasure journal) reads the
  // database in the background; wait until its files are still, so what follows is the second
  // server's doing alone.
  auto before = snapshot(s.data());
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto now = snapshot(s.data());
    if (now == before) break;
    before = std::move(now);
  }
  auto r = s.cli({"serve", "-c", s.config().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_TRUE(contains(r.err, "already serving")) << r.err;
  expect_unchanged(before, snapshot(s.data()));
  // The first one is unaffected.
  auto c = s.client();
  auto h = c.Get("/readyz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(s.stop(), 0);
}

TEST(Lifecycle, WrongMasterKeyIsRefusedAndNothingChanges) {
  ServerInstance s;
  ASSERT_TRUE(s.init());
  std::string key = read_text(s.data() / "master.key");
  ASSERT_EQ(key.size(), 32u);
  for (auto& c : key) c = static_cast<char>(~c);
  write_text(s.data() / "master.key", key);  // keeps the 0600 mode
  const auto before = snapshot(s.data());

  auto r = s.cli({"serve", "-c", s.config().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_TRUE(contains(r.err, "wrong key or not a Comptoir database")) << r.err;
  expect_unchanged(before, snapshot(s.data()));

  // The token commands refuse the same way.
  r = s.cli({"token", "list", "-c", s.config().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "wrong key or not a Comptoir database")) << r.err;
  expect_unchanged(before, snapshot(s.data()));
}

TEST(Lifecycle, TruncatedKeyFileIsRefused) {
  ServerInstance s;
  ASSERT_TRUE(s.init());
  write_text(s.data() / "master.key", read_text(s.data() / "master.key").substr(0, 31));
  const auto before = snapshot(s.data());
  auto r = s.cli({"serve", "-c", s.config().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_TRUE(contains(r.err, "wrong key or not a Comptoir database")) << r.err;
  expect_unchanged(before, snapshot(s.data()));
}

TEST(Lifecycle, KeyFileReadableByOthersIsAConfigError) {
  ServerInstance s;
  ASSERT_TRUE(s.init());
  fs::permissions(s.data() / "master.key", fs::perms::group_read | fs::perms::others_read, fs::perm_options::add);
  auto r = s.cli({"serve", "-c", s.config().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_TRUE(contains(r.err, "chmod 600")) << r.err;
}

TEST(Lifecycle, CorruptedDatabaseIsRefusedAndNothingChanges) {
  ServerInstance s;
  ASSERT_TRUE(s.init());
  const std::string owner = s.create_token("owner");
  ASSERT_TRUE(s.start());
  ASSERT_EQ(s.stop(), 0);
  ASSERT_FALSE(fs::exists(s.data() / "comptoir.db-wal")) << "a clean shutdown checkpoints the WAL";

  const fs::path db = s.data() / "comptoir.db";
  std::string bytes = read_text(db);
  ASSERT_GT(bytes.size(), 8192u);
  // Flip bytes in the middle of the file and in the middle of every page after the first, so
  // that a page in use is hit whatever the schema's layout.
  constexpr std::size_t kPage = 4096;
  for (std::size_t page = 1; page * kPage < bytes.size(); ++page) {
    for (std::size_t i = 0; i < 16; ++i) {
      auto& b = bytes[page * kPage + kPage / 2 + i];
      b = static_cast<char>(~b);
    }
  }
  write_text(db, bytes);
  const auto before = snapshot(s.data());

  auto r = s.cli({"serve", "-c", s.config().string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.term_signal, 0) << "must exit, not crash";
  EXPECT_GE(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  expect_unchanged(before, snapshot(s.data()));
}

TEST(Lifecycle, BrokenConfigExitsTwo) {
  ServerInstance s;
  ASSERT_TRUE(s.init());
  write_text(s.config(), config_text(s.data(), "\"prot\": 1"));
  auto r = s.cli({"serve", "-c", s.config().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "server.prot: unknown key")) << r.err;
  write_text(s.config(), "{ \"data_dir\": ");
  r = s.cli({"serve", "-c", s.config().string()});
  EXPECT_EQ(r.exit_code, 2);
  r = s.cli({"serve", "-c", (s.dir() / "absent.json").string()});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(Lifecycle, ServeWithoutADataDirExitsOne) {
  ServerInstance s;  // no init
  auto r = s.cli({"serve", "-c", s.config().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_TRUE(contains(r.err, "comptoir init")) << r.err;
  EXPECT_FALSE(fs::exists(s.data()));
}

const char* kPassEnv = "COMPTOIR_E2E_PASSPHRASE";
const std::string kPassKey =
    "\"key\": {\"passphrase_env\": \"COMPTOIR_E2E_PASSPHRASE\", \"argon2\": \"interactive\"}";

TEST(Lifecycle, PassphraseDataDirNeverShowsThePassphrase) {
  const std::string passphrase = "Correct-Horse-Battery-Staple-4711";
  ServerInstance s("", kPassKey, {{kPassEnv, passphrase}});
  s.remember(passphrase);
  auto init = s.cli({"init", "-c", s.config().string()});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  s.check_no_secrets(init.out + init.err, "init output");
  EXPECT_FALSE(fs::exists(s.data() / "master.key"));
  for (const auto& [path, bytes] : snapshot(s.data())) s.check_no_secrets(bytes, path);

  const std::string owner = s.create_token("owner");
  ASSERT_FALSE(owner.empty());
  ASSERT_TRUE(s.start());
  auto c = s.client();
  auto r = c.Get("/api/v1/whoami", {{"Authorization", "Bearer " + owner}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(contains(s.process().err(), "\"master_source\":\"passphrase\"")) << s.process().err();
  EXPECT_EQ(s.stop(), 0);  // also searches stderr for the passphrase and the token
  for (const auto& [path, bytes] : snapshot(s.data())) s.check_no_secrets(bytes, path);
}

TEST(Lifecycle, WrongOrMissingPassphraseIsRefusedAndNothingChanges) {
  const std::string passphrase = "Correct-Horse-Battery-Staple-4711";
  ServerInstance s("", kPassKey, {{kPassEnv, passphrase}});
  ASSERT_TRUE(s.init());
  const auto before = snapshot(s.data());

  const std::string wrong = "Correct-Horse-Battery-Staple-4712";
  auto r = run_comptoir({"serve", "-c", s.config().string()}, {{kPassEnv, wrong}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_TRUE(contains(r.err, "wrong key or not a Comptoir database")) << r.err;
  EXPECT_FALSE(contains(r.err, wrong));
  EXPECT_FALSE(contains(r.err, passphrase));
  expect_unchanged(before, snapshot(s.data()));

  r = run_comptoir({"serve", "-c", s.config().string()}, {{kPassEnv, ""}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_TRUE(contains(r.err, kPassEnv)) << r.err;
  expect_unchanged(before, snapshot(s.data()));
}

}  // namespace
}  // namespace comptoir::testing::e2e

// End-to-end tests of `comptoir demo`: first run creates a data dir and prints working URLs and
// an owner token; a second run reuses the data dir.
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/harness.h"

namespace comptoir::testing::e2e {
namespace {

struct DemoRun {
  int port = 0;
  std::string token;
  std::string out;
};

// Starts the demo, waits for its banner, checks the URLs and the token against the server,
// stops it with SIGTERM.
DemoRun run_demo(const fs::path& demo_dir, const fs::path& log_dir) {
  DemoRun run;
  Process p({"demo", "--data-dir", demo_dir.string(), "--port", "0"}, log_dir);
  auto port = p.wait_for_port();
  EXPECT_TRUE(port) << p.err();
  if (!port) return run;
  run.port = *port;
  EXPECT_TRUE(await([&] { return p.out().find("Press Ctrl-C to stop.") != std::string::npos; })) << p.out();
  run.out = p.out();
  const std::string base = "http://127.0.0.1:" + std::to_string(run.port);
  EXPECT_NE(run.out.find(base + "/"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(base + "/healthz"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(base + "/api/v1/"), std::string::npos) << run.out;
  std::smatch m;
  EXPECT_TRUE(std::regex_search(run.out, m, std::regex(R"(Owner token:\s+(cpt_[A-Za-z0-9_-]{43})\n)"))) << run.out;
  if (!m.empty()) run.token = m[1].str();

  httplib::Client c("127.0.0.1", run.port);
  c.set_read_timeout(20, 0);
  auto h = c.Get("/healthz");
  EXPECT_TRUE(h && h->status == 200);
  auto r = c.Get("/api/v1/whoami", {{"Authorization", "Bearer " + run.token}});
  EXPECT_TRUE(r);
  if (r) {
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(nlohmann::json::parse(r->body, nullptr, false)["role"], "owner") << r->body;
  }
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(), 0);
  const std::string err = p.err();
  EXPECT_NE(err.find("shutdown.complete"), std::string::npos) << err;
  if (!run.token.empty()) {
    EXPECT_EQ(err.find(run.token), std::string::npos) << "the token reached the log";
  }
  return run;
}

TEST(Demo, FirstRunCreatesTheDataDirAndPrintsAWorkingOwnerToken) {
  TempDir tmp;
  const fs::path dir = tmp / "demo";
  const DemoRun first = run_demo(dir, tmp.path());
  ASSERT_FALSE(first.token.empty());
  EXPECT_TRUE(fs::is_regular_file(dir / "comptoir.json"));
  EXPECT_TRUE(fs::is_regular_file(dir / "comptoir.db"));

  // Second run: same data dir, no re-creation; the first token still works, and the printed
  // `token create` hint points at a config the CLI accepts.
  const auto key_before = read_text(dir / "master.key");
  Process p({"demo", "--data-dir", dir.string(), "--port", "0"}, tmp.path());
  auto port = p.wait_for_port();
  ASSERT_TRUE(port) << p.err();
  ASSERT_TRUE(await([&] { return p.out().find("Press Ctrl-C to stop.") != std::string::npos; })) << p.out();
  EXPECT_EQ(p.err().find("created demo data dir"), std::string::npos) << p.err();
  EXPECT_EQ(read_text(dir / "master.key"), key_before);
  httplib::Client c("127.0.0.1", *port);
  c.set_read_timeout(20, 0);
  auto r = c.Get("/api/v1/whoami", {{"Authorization", "Bearer " + first.token}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;

  auto list = run_comptoir({"token", "list", "-c", (dir / "comptoir.json").string(), "--json"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  auto j = nlohmann::json::parse(list.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << list.out;
  EXPECT_EQ(j.size(), 2u) << "one owner token per demo run";
  EXPECT_EQ(list.out.find(first.token), std::string::npos);

  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(), 0);
}

TEST(Demo, RefusesADirectoryThatIsNotADemoDataDir) {
  TempDir tmp;
  fs::create_directories(tmp / "other");
  write_text(tmp / "other" / "file.txt", "keep me");
  auto r = run_comptoir({"demo", "--data-dir", (tmp / "other").string(), "--port", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a demo data dir"), std::string::npos) << r.err;
  EXPECT_EQ(read_text(tmp / "other" / "file.txt"), "keep me");
}

}  // namespace
}  // namespace comptoir::testing::e2e

// End-to-end tests of the command line: init, version, check-config and the token commands,
// run against the real `comptoir` binary in temp dirs.
#include <sys/stat.h>

#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/harness.h"

namespace comptoir::testing::e2e {
namespace {

const std::regex kTokenLine("^cpt_[A-Za-z0-9_-]{43}\n$");

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

TEST(CliInit, CreatesThePrivateDataDir) {
  ServerInstance s;
  auto r = s.cli({"init", "-c", s.config().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("created data dir"), std::string::npos) << r.out;
  EXPECT_EQ(mode_of(s.data()), 0700u);
  for (const char* name : {"master.key", "data-dir.json", "comptoir.db"}) {
    EXPECT_TRUE(fs::is_regular_file(s.data() / name)) << name;
    EXPECT_EQ(mode_of(s.data() / name), 0600u) << name;
  }
  EXPECT_EQ(fs::file_size(s.data() / "master.key"), 32u);
  // The key never leaves its file: not in the metadata, not in the output.
  const std::string key = read_text(s.data() / "master.key");
  EXPECT_EQ(read_text(s.data() / "data-dir.json").find(key), std::string::npos);
}

TEST(CliInit, SecondInitFailsAndChangesNothing) {
  ServerInstance s;
  ASSERT_TRUE(s.init());
  const auto before = snapshot(s.data());
  auto r = s.cli({"init", "-c", s.config().string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("refusing to overwrite"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_EQ(snapshot(s.data()), before);
}

TEST(CliInit, RefusesANonEmptyDirectory) {
  ServerInstance s;
  fs::create_directories(s.data());
  write_text(s.data() / "notes.txt", "mine");
  auto r = s.cli({"init", "-c", s.config().string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(read_text(s.data() / "notes.txt"), "mine");
  EXPECT_FALSE(fs::exists(s.data() / "master.key"));
}

TEST(CliVersion, PrintsComptoirAndLibraryVersions) {
  auto r = run_comptoir({"version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(^comptoir \d+\.\d+\.\d+\n)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\nSQLCipher \d+\.\d+\.\d+)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\nSQLite \d+\.\d+\.\d+)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\nlibsodium \d+\.\d+\.\d+)"))) << r.out;
}

TEST(CliUsage, UnknownCommandAndMissingOptionsExitTwo) {
  EXPECT_EQ(run_comptoir({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(run_comptoir({}).exit_code, 2);
  EXPECT_EQ(run_comptoir({"serve"}).exit_code, 2);  // -c is required
  EXPECT_EQ(run_comptoir({"token", "create", "-c", "x.json"}).exit_code, 2);  // --role is required
}

class CheckConfig : public ::testing::Test {
 protected:
  RunResult check(const std::string& text) {
    write_text(path_, text);
    return run_comptoir({"check-config", "-c", path_.string()});
  }
  TempDir tmp_;
  fs::path path_ = tmp_ / "comptoir.json";
};

TEST_F(CheckConfig, AcceptsAGoodFile) {
  auto r = check(config_text(tmp_ / "data", "\"threads\": 2, \"max_queued\": 16",
                             "// comments are allowed\n  \"log\": {\"level\": \"warn\"}"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(": ok"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp_ / "data")) << "check-config must not create anything";
}

TEST_F(CheckConfig, AcceptsTheMinimalConfig) {
  auto r = check(minimal_config(tmp_ / "data"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CheckConfig, UnknownKeyExitsTwo) {
  auto r = check(config_text(tmp_ / "data", "\"prot\": 8080"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("server.prot: unknown key"), std::string::npos) << r.err;
}

TEST_F(CheckConfig, WrongTypeExitsTwo) {
  auto r = check("{\"data_dir\": \"d\", \"server\": {\"port\": \"8080\"}}");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("server.port"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("string"), std::string::npos) << r.err;
}

TEST_F(CheckConfig, OutOfRangeValueExitsTwo) {
  auto r = check("{\"data_dir\": \"d\", \"server\": {\"port\": 70000}}");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("server.port"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("65535"), std::string::npos) << r.err;
  r = check("{\"data_dir\": \"d\", \"server\": {\"threads\": 0}}");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("server.threads"), std::string::npos) << r.err;
}

TEST_F(CheckConfig, EveryProblemIsListed) {
  auto r = check("{\"data_dir\": \"d\", \"server\": {\"prot\": 1, \"threads\": 0}, \"extra\": true}");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("server.prot"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("server.threads"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("extra"), std::string::npos) << r.err;
}

TEST_F(CheckConfig, MalformedJsonNamesLineAndColumn) {
  // Line 3, column 24 is the second comma.
  auto r = check("{\n  \"data_dir\": \"d\",\n  \"server\": {\"port\": 1,,}\n}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(path_.string() + ":3:24"), std::string::npos) << r.err;
}

TEST_F(CheckConfig, MissingDataDirExitsTwo) {
  auto r = check("{\"server\": {\"port\": 1}}");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("data_dir"), std::string::npos) << r.err;
}

TEST_F(CheckConfig, MissingFileExitsTwo) {
  auto r = run_comptoir({"check-config", "-c", (tmp_ / "absent.json").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("absent.json"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
}

TEST(CliToken, CreatePrintsOnlyTheToken) {
  ServerInstance s;
  ASSERT_TRUE(s.init());
  auto r = s.cli({"token", "create", "-c", s.config().string(), "--role", "operator", "--label", "till 1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_match(r.out, kTokenLine)) << "stdout: [" << r.out << "]";
  const std::string secret = r.out.substr(0, r.out.size() - 1);
  s.remember(secret);
  s.check_no_secrets(r.err, "token create stderr");

  auto list = s.cli({"token", "list", "-c", s.config().string()});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("operator"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("till 1"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("active"), std::string::npos) << list.out;
  s.check_no_secrets(list.out + list.err, "token list output");
}

TEST(CliToken, ListJsonAndRevoke) {
  ServerInstance s;
  ASSERT_TRUE(s.init());
  const std::string secret = s.create_token("auditor", "read \"only\"");
  ASSERT_FALSE(secret.empty());

  auto list = s.cli({"token", "list", "-c", s.config().string(), "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto j = nlohmann::json::parse(list.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << list.out;
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["role"], "auditor");
  EXPECT_EQ(j[0]["label"], "read \"only\"");
  EXPECT_TRUE(j[0]["revoked_at"].is_null());
  const std::string id = j[0]["id"].get<std::string>();
  EXPECT_TRUE(id.starts_with("tok_")) << id;
  s.check_no_secrets(list.out, "token list --json");

  auto rv = s.cli({"token", "revoke", "-c", s.config().string(), id});
  EXPECT_EQ(rv.exit_code, 0) << rv.err;
  EXPECT_EQ(rv.out, "revoked " + id + "\n");
  rv = s.cli({"token", "revoke", "-c", s.config().string(), id});
  EXPECT_EQ(rv.exit_code, 0) << rv.err;
  EXPECT_NE(rv.out.find("already revoked"), std::string::npos) << rv.out;

  list = s.cli({"token", "list", "-c", s.config().string(), "--json"});
  j = nlohmann::json::parse(list.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << list.out;
  EXPECT_TRUE(j[0]["revoked_at"].is_string()) << list.out;
}

TEST(CliToken, RejectsBadInput) {
  ServerInstance s;
  ASSERT_TRUE(s.init());
  auto r = s.cli({"token", "create", "-c", s.config().string(), "--role", "admin"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  r = s.cli({"token", "create", "-c", s.config().string(), "--role", "owner", "--label", std::string(101, 'x')});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  r = s.cli({"token", "revoke", "-c", s.config().string(), "tok_0000000000000000"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
}

TEST(CliToken, NeedsAnInitializedDataDir) {
  ServerInstance s;  // no init
  auto r = s.cli({"token", "list", "-c", s.config().string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("comptoir init"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(s.data()));
}

}  // namespace
}  // namespace comptoir::testing::e2e

// End-to-end tests of `comptoir rekey` against the real binary: the command's output and exit
// codes; a server restarted after a rotation still accepts the admin tokens and web chat sessions
// made before it and finds the same customers; refusals change nothing. Crash safety: the rotation
// is stopped after every step (COMPTOIR_TEST_REKEY_CRASH_AT, which _exit()s as a crash would), in
// key-file and in passphrase mode; then the database must open with exactly one of the two keys
// (the old one before the commit, the new one from it on), and the next command (a token command,
// a second rekey, or serve) must finish or undo the rotation with every piece of data intact.
// Recovery itself is stopped and resumed too, and `rekey` is killed with SIGKILL at varying
// moments of a larger rotation.
#include <signal.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "privacy/blind_index.h"
#include "privacy/keys.h"
#include "privacy/vault.h"
#include "src/access/tokens.h"
#include "src/app/data_dir.h"
#include "src/app/rekey.h"
#include "src/commerce/customers.h"
#include "src/common/encoding.h"
#include "src/common/env.h"
#include "src/config/config.h"
#include "src/http/webchat_session.h"
#include "storage/subject_key_store.h"
#include "storage/token_store.h"
#include "tests/e2e/harness.h"

namespace comptoir::testing::e2e {
namespace {

using nlohmann::json;

const std::string kOldPass = "correct horse battery staple";
const std::string kNewPass = "tremble orbit saffron lighthouse";
const std::string kPassEnv = "COMPTOIR_TEST_REKEY_PASS";
const std::string kNewPassEnv = "COMPTOIR_TEST_REKEY_NEW_PASS";
const std::string kCrashEnv = "COMPTOIR_TEST_REKEY_CRASH_AT";
const std::string kPassphraseKey =
    "\"key\": {\"passphrase_env\": \"" + kPassEnv + "\", \"argon2\": \"interactive\"}";
const privacy::FieldPlace kPlace{"customers", "note", "1"};

int status_of(const httplib::Result& r) { return r ? r->status : -1; }

// A data dir with a config, in key-file or passphrase mode, plus what the test stored in it.
class Shop {
 public:
  explicit Shop(bool passphrase)
      : passphrase_(passphrase),
        s_("", passphrase ? kPassphraseKey : "", passphrase ? std::map<std::string, std::string>{{kPassEnv, kOldPass}, {kNewPassEnv, kNewPass}}
                                                            : std::map<std::string, std::string>{}) {}

  ServerInstance& s() { return s_; }
  bool passphrase() const { return passphrase_; }
  const fs::path& data() const { return s_.data(); }

  // The config as the test process sees it; the passphrase variable holds `pass`.
  config::Config config(const std::string& pass = kOldPass) {
    if (passphrase_) ::setenv(kPassEnv.c_str(), pass.c_str(), 1);
    auto cfg = config::load(s_.config());
    EXPECT_TRUE(cfg.has_value()) << (cfg ? "" : cfg.error().message);
    return cfg ? std::move(*cfg) : config::Config{};
  }

  // init, then tokens, customers (blind index, sealed addresses), a sealed field, a web chat
  // session, and `extra_customers` more customers.
  bool populate(int extra_customers = 0) {
    if (!s_.init()) return false;
    auto dd = app::open_data_dir(config(), {});
    EXPECT_TRUE(dd.has_value()) << (dd ? "" : dd.error().message);
    if (!dd) return false;
    storage::TokenStore token_store(*dd->db);
    access::TokenService tokens(token_store, dd->keys->api_tokens(), system_clock());
    token = tokens.create(access::Role::owner, "before")->secret;
    s_.remember(token);
    http::WebchatSessions sessions(dd->keys->webchat_sessions());
    session = sessions.mint();
    s_.remember(session);
    addresses = {{privacy::Channel::whatsapp, "+33 6 12 34 56 78"}, {privacy::Channel::webchat, session},
                 {privacy::Channel::telegram, "987654321"}};
    for (int i = 0; i < extra_customers; ++i) {
      addresses.push_back({privacy::Channel::telegram, std::to_string(100000 + i)});
    }
    storage::SubjectKeyStore subject_keys(*dd->db);
    privacy::Vault vault(subject_keys, dd->keys->key_wrapping(), clock_);
    privacy::BlindIndex index(dd->keys->blind_index());
    commerce::CustomerDirectory customers(*dd->db, vault, index, clock_);
    auto st = dd->db->write([&](storage::Tx& tx) -> Status {
      for (const auto& [channel, address] : addresses) {
        auto c = customers.find_or_create(tx, channel, address, "de");
        if (!c) return std::unexpected(c.error());
        customer_ids.push_back(c->id);
      }
      auto subject = vault.create_subject(tx);
      if (!subject) return std::unexpected(subject.error());
      sealed_subject = *subject;
      auto sealed = vault.seal(tx, sealed_subject, kPlace, "Hauptstraße 1, Berlin");
      if (!sealed) return std::unexpected(sealed.error());
      sealed_field = *sealed;
      return ok();
    });
    EXPECT_TRUE(st.has_value()) << (st ? "" : st.error().message);
    old_database_key = SecretBytes::copy_of(dd->keys->database().span());
    audit_seed = hex_encode(dd->keys->audit_signing_seed().span());
    if (!passphrase_) old_key_file = read_text(data() / "master.key");
    return st.has_value();
  }

  // Which key opens comptoir.db as the files are now, without any recovery: "old", "new", or
  // something else (a failure).
  std::string raw_state() {
    const bool old_opens = storage::Database::open(data() / "comptoir.db", old_database_key, {}).has_value();
    bool new_opens = false;
    if (auto master = new_master_candidate()) {
      auto key = privacy::derive_subkey(*master, privacy::KeyPurpose::database);
      new_opens = storage::Database::open(data() / "comptoir.db", key, {}).has_value();
    }
    if (old_opens && !new_opens) return "old";
    if (new_opens && !old_opens) return "new";
    return old_opens ? "both" : "neither";
  }

  // Every stored piece works with the data dir as the config (with passphrase `pass`) opens it.
  void expect_intact(const std::string& pass) {
    auto dd = app::open_data_dir(config(pass), {});
    ASSERT_TRUE(dd.has_value()) << dd.error().message;
    storage::TokenStore token_store(*dd->db);
    access::TokenService tokens(token_store, dd->keys->api_tokens(), system_clock());
    EXPECT_TRUE(tokens.authenticate(token).has_value()) << "admin token";
    EXPECT_TRUE(http::WebchatSessions(dd->keys->webchat_sessions()).valid(session)) << "web chat session";
    EXPECT_EQ(hex_encode(dd->keys->audit_signing_seed().span()), audit_seed) << "audit seed";
    storage::SubjectKeyStore subject_keys(*dd->db);
    privacy::Vault vault(subject_keys, dd->keys->key_wrapping(), clock_);
    privacy::BlindIndex index(dd->keys->blind_index());
    commerce::CustomerDirectory customers(*dd->db, vault, index, clock_);
    ASSERT_TRUE(dd->db->read([&](storage::Tx& tx) -> Status {
      std::size_t found = 0, opened = 0;
      for (std::size_t i = 0; i < addresses.size(); ++i) {
        auto c = customers.find(tx, addresses[i].first, addresses[i].second);
        if (c && c->has_value() && (*c)->id == customer_ids[i]) {
          ++found;
          if (customers.address_of(tx, **c).has_value()) ++opened;
        }
      }
      EXPECT_EQ(found, addresses.size()) << "customers found by blind index";
      EXPECT_EQ(opened, addresses.size()) << "sealed addresses that open";
      auto field = vault.open(tx, sealed_subject, kPlace, sealed_field);
      EXPECT_TRUE(field.has_value() && *field == "Hauptstraße 1, Berlin") << "sealed field";
      return ok();
    }).has_value());
  }

  // Runs `comptoir ARGS -c CONFIG` with the shop's environment plus `env`.
  RunResult run(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                const std::string& pass = kOldPass) {
    args.push_back("-c");
    args.push_back(s_.config().string());
    std::map<std::string, std::string> all = s_.env();
    if (passphrase_) all[kPassEnv] = pass;
    for (const auto& [k, v] : env) all[k] = v;
    return run_comptoir(args, all, std::chrono::seconds(120));
  }
  std::vector<std::string> rekey_args() const {
    if (passphrase_) return {"rekey", "--new-passphrase-env", kNewPassEnv};
    return {"rekey"};
  }

  std::string token, session, sealed_subject, audit_seed, old_key_file;
  std::vector<std::uint8_t> sealed_field;
  std::vector<std::pair<privacy::Channel, std::string>> addresses;
  std::vector<std::int64_t> customer_ids;
  SecretBytes old_database_key;

 private:
  // The new master key, if the files already hold enough to compute it.
  std::optional<SecretBytes> new_master_candidate() {
    if (!passphrase_) {
      for (const char* name : {"master.key.new", "master.key"}) {
        if (!fs::exists(data() / name)) continue;
        const std::string k = read_text(data() / name);
        if (k.size() == 32 && k != old_key_file) return SecretBytes::copy_of(std::string_view(k));
      }
      return std::nullopt;
    }
    for (const char* name : {"data-dir.json.new", "data-dir.json"}) {
      if (!fs::exists(data() / name)) continue;
      auto meta = app::read_meta(data() / name);
      if (!meta || meta->source != "passphrase") continue;
      auto master = privacy::master_from_passphrase(SecretBytes::copy_of(std::string_view(kNewPass)), meta->argon2);
      if (master && privacy::key_check_value(*master) == meta->key_check) return std::move(*master);
    }
    return std::nullopt;
  }

  bool passphrase_;
  ServerInstance s_;
  FakeClock clock_{TimePoint(std::chrono::seconds(1800000000))};
};

// True for the steps from the commit on.
bool committed_at(std::string_view step) {
  bool committed = false;
  for (std::string_view s : app::kRekeySteps) {
    committed = committed || s == "committed";
    if (s == step) return committed;
  }
  ADD_FAILURE() << "unknown step " << step;
  return false;
}

bool is_rotation_file(const std::string& name) {
  return name.starts_with("master.key.new") || name.starts_with("data-dir.json.new") ||
         name.starts_with("comptoir.db.rekey");
}

void expect_no_rotation_files(const fs::path& data) {
  for (const auto& e : fs::directory_iterator(data)) {
    EXPECT_FALSE(is_rotation_file(e.path().filename().string())) << e.path();
  }
}

// --- the command ----------------------------------------------------------------------------------

TEST(Rekey, KeyFileRotationReportsWhatChangedAndPrintsNoSecrets) {
  Shop shop(false);
  ASSERT_TRUE(shop.populate());
  auto r = shop.run({"rekey"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rotated the master key of " + shop.data().string()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4 subject keys are rewrapped"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("old key file: overwritten and removed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nothing to change"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("\"event\":\"rekey.completed\""), std::string::npos) << r.err;
  const std::string new_key = read_text(shop.data() / "master.key");
  for (const std::string& secret : {shop.old_key_file, new_key}) {
    for (const std::string& form : {secret, hex_encode(secret), base64url_encode(as_bytes(secret))}) {
      EXPECT_EQ(r.out.find(form), std::string::npos);
      EXPECT_EQ(r.err.find(form), std::string::npos);
    }
  }
  shop.s().check_no_secrets(r.out + r.err, "rekey output");
  EXPECT_EQ(shop.raw_state(), "new");
  shop.expect_intact(kOldPass);
  expect_no_rotation_files(shop.data());
}

TEST(Rekey, ServerAfterARotationKeepsTokensSessionsAndCustomers) {
  ServerInstance s;
  ASSERT_TRUE(s.init());
  ASSERT_TRUE(s.start());
  const std::string token = s.create_token("owner");
  auto c = s.client();
  auto created = c.Post("/webchat/v1/sessions", "", "application/json");
  ASSERT_EQ(status_of(created), 201);
  const std::string session = json::parse(created->body)["session"].get<std::string>();
  s.remember(session);
  const httplib::Headers as_customer = {{"Authorization", "Bearer " + session}};
  ASSERT_EQ(status_of(c.Post("/webchat/v1/messages", as_customer, R"({"text":"hello"})", "application/json")), 200);

  // Refused while the server runs.
  auto refused = s.cli({"rekey", "-c", s.config().string()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(count_lines(refused.err), 1u) << refused.err;
  EXPECT_NE(refused.err.find("server is running"), std::string::npos) << refused.err;
  EXPECT_EQ(s.stop(), 0);
  const std::string key_before = read_text(s.data() / "master.key");

  auto r = s.cli({"rekey", "-c", s.config().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_text(s.data() / "master.key"), key_before);

  ASSERT_TRUE(s.start());
  auto c2 = s.client();
  auto who = c2.Get("/api/v1/whoami", {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(status_of(who), 200) << "an admin token made before the rotation";
  auto msg = c2.Post("/webchat/v1/messages", as_customer, R"({"text":"hello"})", "application/json");
  EXPECT_EQ(status_of(msg), 200) << "a web chat session made before the rotation";
  EXPECT_EQ(s.stop(), 0);

  // The same customer, found through the blind index, not a new one.
  auto cfg = config::load(s.config());
  ASSERT_TRUE(cfg.has_value());
  auto dd = app::open_data_dir(*cfg, {});
  ASSERT_TRUE(dd.has_value()) << dd.error().message;
  storage::SubjectKeyStore subject_keys(*dd->db);
  EXPECT_EQ(subject_keys.count().value(), 1) << "one customer, one subject";
}

TEST(Rekey, PassphraseRotationTellsWhatToChangeInTheConfig) {
  Shop shop(true);
  ASSERT_TRUE(shop.populate());
  auto r = shop.run(shop.rekey_args());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("new master key: the passphrase from " + kNewPassEnv), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("key.passphrase_env names " + kPassEnv), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("set key.passphrase_env to " + kNewPassEnv), std::string::npos) << r.out;
  for (const std::string& p : {kOldPass, kNewPass}) {
    EXPECT_EQ(r.out.find(p), std::string::npos);
    EXPECT_EQ(r.err.find(p), std::string::npos);
  }
  // The old passphrase: the usual refusal. The new one in the configured variable: serves.
  auto old = shop.run({"token", "list"});
  EXPECT_EQ(old.exit_code, 1);
  EXPECT_NE(old.err.find("wrong key or not a Comptoir database"), std::string::npos) << old.err;
  EXPECT_EQ(shop.run({"token", "list"}, {}, kNewPass).exit_code, 0);
  shop.expect_intact(kNewPass);
}

TEST(Rekey, UsageErrorsAndAWrongKeyChangeNothing) {
  Shop shop(false);
  ASSERT_TRUE(shop.populate());
  const auto before = snapshot(shop.data());
  auto r = shop.run({"rekey", "--new-key-file", "--new-passphrase-env", "X"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = shop.run({"rekey", "--new-passphrase-env", "COMPTOIR_TEST_SURELY_UNSET"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  r = shop.run({"rekey", "--keep-old-key", (shop.data() / "copy.key").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(snapshot(shop.data()), before);

  std::string wrong = shop.old_key_file;
  for (auto& ch : wrong) ch = static_cast<char>(~ch);
  write_text(shop.data() / "master.key", wrong);
  const auto wrong_before = snapshot(shop.data());
  r = shop.run({"rekey"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("wrong key or not a Comptoir database"), std::string::npos) << r.err;
  EXPECT_EQ(snapshot(shop.data()), wrong_before);
  write_text(shop.data() / "master.key", shop.old_key_file);

  Shop pass(true);
  ASSERT_TRUE(pass.populate());
  const auto pass_before = snapshot(pass.data());
  r = pass.run({"rekey"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--new-passphrase-env"), std::string::npos) << r.err;
  EXPECT_EQ(snapshot(pass.data()), pass_before);
}

TEST(Rekey, KeepOldKeyWritesThePrivateCopy) {
  Shop shop(false);
  ASSERT_TRUE(shop.populate());
  const fs::path kept = shop.s().dir() / "old-master.key";
  auto r = shop.run({"rekey", "--keep-old-key", kept.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("old key file: kept at " + kept.string()), std::string::npos) << r.out;
  EXPECT_EQ(read_text(kept), shop.old_key_file);
  struct stat st {};
  ASSERT_EQ(::stat(kept.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// --- crash safety ---------------------------------------------------------------------------------

struct CrashCase {
  bool passphrase;
  std::string_view step;
  std::string recover_with;  // "token" | "rekey" | "serve"
};

void PrintTo(const CrashCase& c, std::ostream* os) {
  *os << (c.passphrase ? "passphrase" : "key file") << ", crash after " << c.step << ", recovered by " << c.recover_with;
}

std::string case_name(const ::testing::TestParamInfo<CrashCase>& info) {
  return std::string(info.param.passphrase ? "Passphrase_" : "KeyFile_") + std::string(info.param.step) + "_" +
         info.param.recover_with;
}

std::vector<CrashCase> crash_cases() {
  std::vector<CrashCase> out;
  const char* recoveries[] = {"token", "rekey", "serve"};
  int i = 0;
  for (bool passphrase : {false, true}) {
    for (std::string_view step : app::kRekeySteps) {
      if (passphrase && step == "key_written") continue;  // no key file to write
      out.push_back({passphrase, step, recoveries[i++ % 3]});
    }
  }
  return out;
}

class RekeyCrash : public ::testing::TestWithParam<CrashCase> {};

TEST_P(RekeyCrash, DataDirOpensWithOneKeyAndTheNextCommandRecovers) {
  const CrashCase& p = GetParam();
  Shop shop(p.passphrase);
  ASSERT_TRUE(shop.populate(5));
  auto crashed = shop.run(shop.rekey_args(), {{kCrashEnv, std::string(p.step)}});
  ASSERT_EQ(crashed.exit_code, app::kRekeyCrashExitCode) << "the crash point was not reached: " << crashed.err;
  EXPECT_TRUE(crashed.out.empty()) << crashed.out;

  // Without any recovery, exactly one key opens the database: the old one before the commit,
  // the new one from the commit on.
  const bool committed = committed_at(p.step);
  EXPECT_EQ(shop.raw_state(), committed ? "new" : "old");

  // The key the data dir will open with: where the config reads it from.
  const std::string pass = committed ? kNewPass : kOldPass;
  // After these steps data-dir.json.new exists: the next command finishes (or, before the commit,
  // undoes) the rotation. After meta_installed the rotation is complete; before prepared, only
  // leftovers are removed.
  const bool prepared = p.step == "prepared" || p.step == "committed" || p.step == "key_installed";
  if (p.recover_with == "token") {
    auto r = shop.run({"token", "list"}, {}, pass);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    if (prepared) {
      EXPECT_NE(r.err.find(committed ? "\"event\":\"rekey.completed\"" : "\"event\":\"rekey.undone\""), std::string::npos)
          << r.err;
      EXPECT_NE(r.err.find("\"by_recovery\":true"), std::string::npos) << r.err;
    } else {
      EXPECT_EQ(r.err.find("\"event\":\"rekey."), std::string::npos) << r.err;
    }
    if (!p.passphrase) {
      EXPECT_EQ(read_text(shop.data() / "master.key") == shop.old_key_file, !committed);
    }
  } else if (p.recover_with == "rekey") {
    // A second rekey finishes or undoes a prepared rotation and stops; otherwise (leftovers
    // only, or a rotation already complete) the second run does a whole rotation of its own.
    auto r = shop.run(shop.rekey_args(), {}, pass);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    if (prepared && committed) {
      EXPECT_NE(r.out.find("after it was committed, and finished it"), std::string::npos) << r.out;
    } else if (prepared) {
      EXPECT_NE(r.out.find("before it was committed, and undid it"), std::string::npos) << r.out;
    } else {
      EXPECT_NE(r.out.find("rotated the master key"), std::string::npos) << r.out;
    }
    if (!prepared) {
      // Rotated by the second run: the new passphrase is in use from now on.
      shop.expect_intact(kNewPass);
      expect_no_rotation_files(shop.data());
      return;
    }
  } else {
    auto& s = shop.s();
    auto env = s.env();
    if (p.passphrase) env[kPassEnv] = pass;
    Process serve({"serve", "-c", s.config().string()}, s.dir(), env);
    auto port = serve.wait_for_port();
    ASSERT_TRUE(port.has_value()) << serve.err();
    httplib::Client c("127.0.0.1", *port);
    auto who = c.Get("/api/v1/whoami", {{"Authorization", "Bearer " + shop.token}});
    EXPECT_EQ(status_of(who), 200);
    serve.signal(SIGTERM);
    EXPECT_EQ(serve.wait(std::chrono::seconds(60)), 0) << serve.err();
  }
  expect_no_rotation_files(shop.data());
  EXPECT_EQ(shop.raw_state(), committed ? "new" : "old");
  shop.expect_intact(pass);
}

INSTANTIATE_TEST_SUITE_P(EveryStep, RekeyCrash, ::testing::ValuesIn(crash_cases()), case_name);

TEST(RekeyCrashRecovery, RecoveryStoppedAtEachOfItsOwnStepsResumes) {
  Shop shop(false);
  ASSERT_TRUE(shop.populate());
  ASSERT_EQ(shop.run({"rekey"}, {{kCrashEnv, "committed"}}).exit_code, app::kRekeyCrashExitCode);
  for (const char* step : {"key_installed", "meta_installed"}) {
    SCOPED_TRACE(step);
    auto r = shop.run({"token", "list"}, {{kCrashEnv, step}});
    EXPECT_EQ(r.exit_code, app::kRekeyCrashExitCode) << r.err;
    EXPECT_EQ(shop.raw_state(), "new");
  }
  // With the metadata installed nothing is pending any more: no crash point is reached.
  auto r = shop.run({"token", "list"}, {{kCrashEnv, "cleaned"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_no_rotation_files(shop.data());
  EXPECT_NE(read_text(shop.data() / "master.key"), shop.old_key_file);
  shop.expect_intact(kOldPass);
}

TEST(RekeyCrashRecovery, KillNineAtVaryingMomentsNeverLosesTheDataDir) {
  Shop shop(false);
  ASSERT_TRUE(shop.populate(1500));  // enough rows for the rotation to take a while
  std::vector<int> delays_ms = {0, 15, 40, 80, 150, 250, 400, 650, 1000, 1500, 2500};
  int killed = 0, finished = 0, interrupted = 0, on_new_key = 0;
  for (int delay : delays_ms) {
    SCOPED_TRACE(delay);
    const std::string key_before = read_text(shop.data() / "master.key");
    Process rekey({"rekey", "-c", shop.s().config().string()}, shop.s().dir(), shop.s().env());
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    if (rekey.running()) {
      rekey.signal(SIGKILL);
      ++killed;
    } else {
      ++finished;
    }
    rekey.wait(std::chrono::seconds(120));
    // The files alone: the database opens with the key before or the key after, nothing else.
    shop.old_key_file = key_before;
    shop.old_database_key = SecretBytes();
    {
      auto m = SecretBytes::copy_of(std::string_view(key_before));
      shop.old_database_key = privacy::derive_subkey(m, privacy::KeyPurpose::database);
    }
    const std::string state = shop.raw_state();
    EXPECT_TRUE(state == "old" || state == "new") << state;
    if (app::rotation_pending(app::DataDirPaths::of(shop.data()))) ++interrupted;
    if (state == "new") ++on_new_key;
    // The next command recovers, and everything is there.
    auto r = shop.run({"token", "list"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_no_rotation_files(shop.data());
    EXPECT_EQ(read_text(shop.data() / "master.key") != key_before, state == "new");
    shop.expect_intact(kOldPass);
  }
  std::printf("kill -9 test: %d rotations killed (%d left rotation files to recover), %d finished before the kill; "
              "%d of %zu runs ended on the new key\n",
              killed, interrupted, finished, on_new_key, delays_ms.size());
  EXPECT_GT(killed, 0);
}

}  // namespace
}  // namespace comptoir::testing::e2e

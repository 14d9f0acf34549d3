// Integration tests of the master key rotation (src/app/rekey.h) on real data dirs: rotating a
// key-file and a passphrase data dir, switching between the two, keeping the old key file, two
// rotations in a row; afterwards the old key is refused with the usual "wrong key" message and
// opens no subject key, while sealed fields, customer lookups (blind index), admin tokens, web
// chat sessions and the audit seed keep working. Refusals (wrong current key, a running server,
// the data dir in use, bad options) change nothing. Recovery of interrupted rotations from the
// files they leave; the crash points themselves are exercised by tests/e2e/rekey_test.cpp.
#include "src/app/rekey.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "privacy/blind_index.h"
#include "privacy/vault.h"
#include "src/access/tokens.h"
#include "src/commerce/customers.h"
#include "src/common/encoding.h"
#include "src/common/env.h"
#include "src/common/log.h"
#include "src/config/config.h"
#include "src/http/webchat_session.h"
#include "storage/subject_key_store.h"
#include "storage/token_store.h"
#include "tests/integration/file_checks.h"
#include "tests/support/temp_dir.h"

namespace comptoir::app {
namespace {

using comptoir::testing::minimal_config;
using comptoir::testing::mode_of;
using comptoir::testing::read_text;
using comptoir::testing::same_files;
using comptoir::testing::snapshot;
using comptoir::testing::TempDir;
using comptoir::testing::write_bytes;
using comptoir::testing::write_text;
using nlohmann::json;

constexpr std::string_view kWrongKeyPrefix = "wrong key or not a Comptoir database";
const std::string kOldPass = "correct horse battery staple";
const std::string kNewPass = "tremble orbit saffron lighthouse";

class ScopedEnv {
 public:
  explicit ScopedEnv(const std::string& value) : name_("COMPTOIR_TEST_PASS_" + random_id("", 6)) {
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_.c_str()); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  const std::string& name() const { return name_; }
  void set(const std::string& value) const { ::setenv(name_.c_str(), value.c_str(), 1); }

 private:
  std::string name_;
};

// Copies of the keys of one ring, kept by the test to check what still works afterwards.
struct KeyCopy {
  SecretBytes database, key_wrapping, blind_index, audit_seed, api_tokens, webchat;
  std::string check;
  static KeyCopy of(const privacy::KeyRing& r) {
    return {SecretBytes::copy_of(r.database().span()),     SecretBytes::copy_of(r.key_wrapping().span()),
            SecretBytes::copy_of(r.blind_index().span()),  SecretBytes::copy_of(r.audit_signing_seed().span()),
            SecretBytes::copy_of(r.api_tokens().span()),   SecretBytes::copy_of(r.webchat_sessions().span()),
            r.check_value()};
  }
};

struct Address {
  privacy::Channel channel;
  std::string address;
};

// What the test put in the data dir before the rotation.
struct Contents {
  std::vector<std::string> tokens;
  std::vector<Address> addresses;  // one customer each
  std::vector<std::int64_t> customer_ids;
  std::vector<std::string> subject_ids;
  std::string webchat_session;
  std::string sealed_subject;
  std::vector<std::uint8_t> sealed_field;
  std::optional<KeyCopy> keys;
};

const privacy::FieldPlace kPlace{"customers", "note", "1"};

class RekeyTest : public ::testing::Test {
 protected:
  TempDir tmp;
  fs::path root = tmp / "data";
  FakeClock clock{TimePoint(std::chrono::seconds(1800000000))};

  config::Config make_config(const std::string& extra = "") const {
    auto cfg = config::parse(minimal_config(root, extra), "test-config.json", tmp.path());
    EXPECT_TRUE(cfg.has_value()) << (cfg ? "" : cfg.error().message);
    return cfg ? std::move(*cfg) : config::Config{};
  }
  config::Config passphrase_config(const ScopedEnv& env) const {
    return make_config("\"key\": {\"passphrase_env\": \"" + env.name() + "\", \"argon2\": \"interactive\"}");
  }
  config::Config passphrase_config(const std::string& env_name) const {
    return make_config("\"key\": {\"passphrase_env\": \"" + env_name + "\", \"argon2\": \"interactive\"}");
  }

  void init_ok(const config::Config& cfg) const {
    auto st = init_data_dir(cfg);
    ASSERT_TRUE(st.has_value()) << st.error().message;
  }

  static Result<OpenedDataDir> open(const config::Config& cfg) { return open_data_dir(cfg, {}); }

  // Tokens, customers on every channel (sealed addresses, blind index), a sealed field, a web
  // chat session: everything a rotation must keep working.
  Contents populate(const config::Config& cfg) {
    Contents c;
    auto dd = open(cfg);
    EXPECT_TRUE(dd.has_value()) << (dd ? "" : dd.error().message);
    if (!dd) return c;
    storage::TokenStore token_store(*dd->db);
    access::TokenService tokens(token_store, dd->keys->api_tokens(), system_clock());
    for (auto role : {access::Role::owner, access::Role::operator_}) {
      auto t = tokens.create(role, "before the rotation");
      EXPECT_TRUE(t.has_value());
      if (t) c.tokens.push_back(t->secret);
    }
    http::WebchatSessions sessions(dd->keys->webchat_sessions());
    c.webchat_session = sessions.mint();
    c.addresses = {{privacy::Channel::whatsapp, "+33 6 12 34 56 78"},
                   {privacy::Channel::telegram, "123456789"},
                   {privacy::Channel::webchat, c.webchat_session}};
    for (int i = 0; i < 40; ++i) c.addresses.push_back({privacy::Channel::whatsapp, "+4915112345" + std::to_string(100 + i)});
    storage::SubjectKeyStore subject_keys(*dd->db);
    privacy::Vault vault(subject_keys, dd->keys->key_wrapping(), clock);
    privacy::BlindIndex index(dd->keys->blind_index());
    commerce::CustomerDirectory customers(*dd->db, vault, index, clock);
    auto st = dd->db->write([&](storage::Tx& tx) -> Status {
      for (const auto& a : c.addresses) {
        auto cu = customers.find_or_create(tx, a.channel, a.address, "fr");
        if (!cu) return std::unexpected(cu.error());
        c.customer_ids.push_back(cu->id);
        c.subject_ids.push_back(cu->subject_id);
      }
      auto subject = vault.create_subject(tx);
      if (!subject) return std::unexpected(subject.error());
      c.sealed_subject = *subject;
      auto sealed = vault.seal(tx, c.sealed_subject, kPlace, "Rue des Lilas 4, Lyon");
      if (!sealed) return std::unexpected(sealed.error());
      c.sealed_field = *sealed;
      return ok();
    });
    EXPECT_TRUE(st.has_value()) << (st ? "" : st.error().message);
    // One shredded subject: stays gone.
    auto shredded = vault.create_subject();
    EXPECT_TRUE(shredded.has_value());
    EXPECT_TRUE(vault.shred(*shredded).has_value());
    c.keys = KeyCopy::of(*dd->keys);
    return c;
  }

  // Everything in `c` works with the data dir as `cfg` opens it now.
  void expect_intact(const config::Config& cfg, const Contents& c) {
    auto dd = open(cfg);
    ASSERT_TRUE(dd.has_value()) << dd.error().message;
    storage::TokenStore token_store(*dd->db);
    access::TokenService tokens(token_store, dd->keys->api_tokens(), system_clock());
    for (const auto& t : c.tokens) EXPECT_TRUE(tokens.authenticate(t).has_value()) << "admin token no longer valid";
    http::WebchatSessions sessions(dd->keys->webchat_sessions());
    EXPECT_TRUE(sessions.valid(c.webchat_session)) << "web chat session no longer valid";
    EXPECT_EQ(hex_encode(dd->keys->audit_signing_seed().span()), hex_encode(c.keys->audit_seed.span()))
        << "the auditor's key would change";
    storage::SubjectKeyStore subject_keys(*dd->db);
    privacy::Vault vault(subject_keys, dd->keys->key_wrapping(), clock);
    privacy::BlindIndex index(dd->keys->blind_index());
    commerce::CustomerDirectory customers(*dd->db, vault, index, clock);
    auto st = dd->db->read([&](storage::Tx& tx) -> Status {
      for (std::size_t i = 0; i < c.addresses.size(); ++i) {
        auto found = customers.find(tx, c.addresses[i].channel, c.addresses[i].address);
        EXPECT_TRUE(found.has_value() && found->has_value()) << "customer " << i << " not found by blind index";
        if (!found || !found->has_value()) continue;
        EXPECT_EQ((*found)->id, c.customer_ids[i]);
        auto address = customers.address_of(tx, **found);
        EXPECT_TRUE(address.has_value()) << (address ? "" : address.error().message);
        if (address) {
          EXPECT_EQ(*address, *privacy::normalize_address(c.addresses[i].channel, c.addresses[i].address));
        }
      }
      auto field = vault.open(tx, c.sealed_subject, kPlace, c.sealed_field);
      EXPECT_TRUE(field.has_value()) << (field ? "" : field.error().message);
      if (field) {
        EXPECT_EQ(*field, "Rue des Lilas 4, Lyon");
      }
      return ok();
    });
    EXPECT_TRUE(st.has_value());
  }

  // The old database key does not open the database, and the check value changed.
  void expect_old_keys_useless(const Contents& c) {
    auto db = storage::Database::open(root / "comptoir.db", c.keys->database, {});
    ASSERT_FALSE(db.has_value()) << "the old database key still opens the database";
    EXPECT_EQ(db.error().code, Errc::wrong_key);
    auto meta = read_meta(root / "data-dir.json");
    ASSERT_TRUE(meta.has_value());
    EXPECT_NE(meta->key_check, c.keys->check);
  }

  void expect_no_rotation_files() const {
    for (const char* name : {"master.key.new", "data-dir.json.new", "comptoir.db.rekey",
                             "comptoir.db.rekey-wal", "comptoir.db.rekey-shm", "comptoir.db.rekey-journal"}) {
      EXPECT_FALSE(fs::exists(root / name)) << name;
    }
    for (const auto& e : fs::directory_iterator(root)) {
      EXPECT_FALSE(e.path().filename().string().find(".tmp-") != std::string::npos) << e.path();
    }
  }

  json read_meta_json() const { return json::parse(read_text(root / "data-dir.json")); }
};

// Every subject key of the data dir fails to open with `wrapping`.
void expect_no_subject_key_opens(OpenedDataDir& dd, const SecretBytes& wrapping, const Contents& c) {
  storage::SubjectKeyStore subject_keys(*dd.db);
  const FakeClock clock{TimePoint(std::chrono::seconds(1800000000))};
  privacy::Vault old_vault(subject_keys, wrapping, clock);
  std::size_t opened = 0;
  for (const auto& id : c.subject_ids) {
    auto sealed = old_vault.seal(id, kPlace, "x");
    if (sealed) ++opened;
  }
  auto field = old_vault.open(c.sealed_subject, kPlace, c.sealed_field);
  EXPECT_FALSE(field.has_value());
  EXPECT_EQ(opened, 0u) << "subject keys still open with the old key-wrapping key";
}

// --- key file -----------------------------------------------------------------------------------

TEST_F(RekeyTest, KeyFileRotationKeepsEverythingWorkingAndRetiresTheOldKey) {
  const auto cfg = make_config();
  init_ok(cfg);
  const Contents c = populate(cfg);
  const std::string old_key = read_text(root / "master.key");

  std::vector<RotationEvent> events;
  RekeyOptions o;
  o.on_rotation = [&](const RotationEvent& e) { events.push_back(e); };
  auto r = rekey_data_dir(cfg, o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->kind, RekeyResult::Kind::rotated);
  EXPECT_TRUE(r->config_changes.empty());
  EXPECT_EQ(r->event.subject_keys_rewrapped, static_cast<std::int64_t>(c.subject_ids.size()) + 1);
  EXPECT_EQ(r->event.from_source, "key_file");
  EXPECT_EQ(r->event.to_source, "key_file");
  EXPECT_FALSE(r->event.old_key_file_kept);
  EXPECT_FALSE(r->event.finished_by_recovery);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].rotation_id, r->event.rotation_id);
  EXPECT_TRUE(events[0].rotation_id.starts_with("rot_"));

  // A new key file, private; the old one gone; no rotation files left.
  const std::string new_key = read_text(root / "master.key");
  EXPECT_EQ(new_key.size(), 32u);
  EXPECT_NE(new_key, old_key);
  EXPECT_EQ(mode_of(root / "master.key"), 0600u);
  EXPECT_EQ(mode_of(root / "comptoir.db"), 0600u);
  EXPECT_EQ(mode_of(root / "data-dir.json"), 0600u);
  expect_no_rotation_files();
  const json meta = read_meta_json();
  EXPECT_EQ(meta.at("comptoir_data_dir"), 2);
  EXPECT_EQ(meta.at("last_rotation").at("id"), r->event.rotation_id);
  EXPECT_EQ(meta.at("carried_keys").size(), 4u);
  // No key in the metadata, in either form.
  const std::string meta_text = read_text(root / "data-dir.json");
  for (const SecretBytes* k : {&c.keys->api_tokens, &c.keys->blind_index, &c.keys->webchat, &c.keys->audit_seed}) {
    EXPECT_EQ(meta_text.find(hex_encode(k->span())), std::string::npos);
  }
  EXPECT_EQ(meta_text.find(hex_encode(new_key)), std::string::npos);

  expect_intact(cfg, c);
  expect_old_keys_useless(c);
  {
    auto dd = open(cfg);
    ASSERT_TRUE(dd.has_value());
    expect_no_subject_key_opens(*dd, c.keys->key_wrapping, c);
  }

  // The old key file, put back, gets the usual clear refusal and changes nothing.
  write_bytes(root / "master.key", old_key);
  const auto before = snapshot(root);
  auto refused = open(cfg);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::wrong_key);
  EXPECT_TRUE(refused.error().message.starts_with(kWrongKeyPrefix)) << refused.error().message;
  EXPECT_TRUE(same_files(before, snapshot(root)));
  write_bytes(root / "master.key", new_key);
  expect_intact(cfg, c);
}

TEST_F(RekeyTest, TwoRotationsInARowCarryTheKeysTwice) {
  const auto cfg = make_config();
  init_ok(cfg);
  const Contents c = populate(cfg);
  ASSERT_TRUE(rekey_data_dir(cfg, {}).has_value());
  // Something written between the rotations survives the second one.
  std::string middle_token;
  {
    auto dd = open(cfg);
    ASSERT_TRUE(dd.has_value());
    storage::TokenStore store(*dd->db);
    access::TokenService tokens(store, dd->keys->api_tokens(), system_clock());
    middle_token = tokens.create(access::Role::auditor, "between rotations")->secret;
  }
  auto second = rekey_data_dir(cfg, {});
  ASSERT_TRUE(second.has_value()) << second.error().message;
  expect_intact(cfg, c);
  auto dd = open(cfg);
  ASSERT_TRUE(dd.has_value());
  storage::TokenStore store(*dd->db);
  access::TokenService tokens(store, dd->keys->api_tokens(), system_clock());
  EXPECT_TRUE(tokens.authenticate(middle_token).has_value());
}

TEST_F(RekeyTest, KeepOldKeyKeepsACopyThatOpensOlderBackups) {
  const auto cfg = make_config();
  init_ok(cfg);
  const Contents c = populate(cfg);
  const std::string old_key = read_text(root / "master.key");
  // A backup as docs/operations.md describes it: the database and data-dir.json.
  const fs::path backup = tmp / "backup";
  fs::create_directory(backup);
  fs::copy_file(root / "comptoir.db", backup / "comptoir.db");
  fs::copy_file(root / "data-dir.json", backup / "data-dir.json");

  RekeyOptions o;
  o.keep_old_key = tmp / "old-master.key";
  auto r = rekey_data_dir(cfg, o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->event.old_key_file_kept);
  EXPECT_EQ(read_text(tmp / "old-master.key"), old_key);
  EXPECT_EQ(mode_of(tmp / "old-master.key"), 0600u);
  expect_intact(cfg, c);

  // The kept key opens the old backup.
  fs::copy_file(tmp / "old-master.key", backup / "master.key");
  const fs::path data = root;
  root = backup;
  expect_intact(make_config(), c);
  root = data;
}

TEST_F(RekeyTest, KeepOldKeyRefusesAnExistingPathBeforeChangingAnything) {
  const auto cfg = make_config();
  init_ok(cfg);
  write_text(tmp / "taken", "mine");
  const auto before = snapshot(root);
  RekeyOptions o;
  o.keep_old_key = tmp / "taken";
  auto r = rekey_data_dir(cfg, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::conflict);
  EXPECT_TRUE(same_files(before, snapshot(root)));
  EXPECT_EQ(read_text(tmp / "taken"), "mine");
  // Inside the data dir: pointless (and it would collide with the rotation's own files).
  for (const char* name : {"master.key.new", "old.key"}) {
    o.keep_old_key = root / name;
    r = rekey_data_dir(cfg, o);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << r.error().message;
    EXPECT_TRUE(same_files(before, snapshot(root)));
  }
}

// --- passphrase ---------------------------------------------------------------------------------

TEST_F(RekeyTest, PassphraseRotationNeedsTheNewPassphraseAfterwards) {
  ScopedEnv old_env(kOldPass);
  ScopedEnv new_env(kNewPass);
  const auto cfg = passphrase_config(old_env);
  init_ok(cfg);
  const Contents c = populate(cfg);
  const json old_meta = read_meta_json();

  RekeyOptions o;
  o.new_passphrase_env = new_env.name();
  auto r = rekey_data_dir(cfg, o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->event.from_source, "passphrase");
  EXPECT_EQ(r->event.to_source, "passphrase");
  ASSERT_EQ(r->config_changes.size(), 1u);
  EXPECT_NE(r->config_changes[0].find(new_env.name()), std::string::npos) << r->config_changes[0];
  EXPECT_FALSE(fs::exists(root / "master.key"));
  expect_no_rotation_files();
  const json meta = read_meta_json();
  EXPECT_NE(meta.at("master_key").at("salt"), old_meta.at("master_key").at("salt")) << "a fresh salt";
  for (const auto& [path, bytes] : snapshot(root)) {
    EXPECT_EQ(bytes.find("tremble orbit"), std::string::npos) << path;
    EXPECT_EQ(bytes.find("correct horse"), std::string::npos) << path;
  }

  // The old passphrase: the usual refusal, nothing changed.
  const auto before = snapshot(root);
  auto refused = open(cfg);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::wrong_key);
  EXPECT_TRUE(refused.error().message.starts_with(kWrongKeyPrefix)) << refused.error().message;
  EXPECT_TRUE(same_files(before, snapshot(root)));
  // The new one, through either variable.
  expect_intact(passphrase_config(new_env), c);
  old_env.set(kNewPass);
  expect_intact(cfg, c);
  expect_old_keys_useless(c);
}

TEST_F(RekeyTest, SamePassphraseVariableStillRotatesTheMasterKey) {
  ScopedEnv env(kOldPass);
  const auto cfg = passphrase_config(env);
  init_ok(cfg);
  const Contents c = populate(cfg);
  RekeyOptions o;
  o.new_passphrase_env = env.name();  // same passphrase, new salt, new master
  auto r = rekey_data_dir(cfg, o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->config_changes.empty());
  expect_intact(cfg, c);
  expect_old_keys_useless(c);
}

TEST_F(RekeyTest, SwitchingFromAKeyFileToAPassphraseAndBack) {
  ScopedEnv env(kNewPass);
  const auto key_cfg = make_config();
  init_ok(key_cfg);
  const Contents c = populate(key_cfg);

  RekeyOptions to_pass;
  to_pass.new_passphrase_env = env.name();
  auto r = rekey_data_dir(key_cfg, to_pass);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->event.to_source, "passphrase");
  ASSERT_EQ(r->config_changes.size(), 1u);
  EXPECT_NE(r->config_changes[0].find("\"passphrase_env\": \"" + env.name() + "\""), std::string::npos)
      << r->config_changes[0];
  EXPECT_FALSE(fs::exists(root / "master.key")) << "the key file is gone";
  expect_no_rotation_files();
  // The old config is now a clear configuration error; the new one works.
  auto mismatch = open(key_cfg);
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_EQ(mismatch.error().code, Errc::config);
  const auto pass_cfg = passphrase_config(env);
  expect_intact(pass_cfg, c);

  RekeyOptions to_file;
  to_file.new_key_file = true;
  auto back = rekey_data_dir(pass_cfg, to_file);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->event.to_source, "key_file");
  ASSERT_EQ(back->config_changes.size(), 1u);
  EXPECT_NE(back->config_changes[0].find("remove the key.passphrase_env"), std::string::npos);
  EXPECT_EQ(mode_of(root / "master.key"), 0600u);
  expect_intact(key_cfg, c);
  expect_old_keys_useless(c);
}

TEST_F(RekeyTest, PassphraseDataDirNeedsAnExplicitNewKeySource) {
  ScopedEnv env(kOldPass);
  const auto cfg = passphrase_config(env);
  init_ok(cfg);
  const auto before = snapshot(root);
  auto r = rekey_data_dir(cfg, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_NE(r.error().message.find("--new-passphrase-env"), std::string::npos) << r.error().message;
  RekeyOptions keep;
  keep.new_passphrase_env = env.name();
  keep.keep_old_key = tmp / "old.key";
  r = rekey_data_dir(cfg, keep);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_FALSE(fs::exists(tmp / "old.key"));
  EXPECT_TRUE(same_files(before, snapshot(root)));
}

TEST_F(RekeyTest, MissingOrWeakNewPassphraseIsRefusedBeforeAnything) {
  const auto cfg = make_config();
  init_ok(cfg);
  const auto before = snapshot(root);
  RekeyOptions o;
  o.new_passphrase_env = "COMPTOIR_TEST_UNSET_" + random_id("", 4);
  auto r = rekey_data_dir(cfg, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_NE(r.error().message.find(*o.new_passphrase_env), std::string::npos);
  ScopedEnv weak("short pass!");
  o.new_passphrase_env = weak.name();
  r = rekey_data_dir(cfg, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_EQ(r.error().message.find("short pass!"), std::string::npos) << "the passphrase leaked";
  o.new_passphrase_env = "NOT A NAME";
  r = rekey_data_dir(cfg, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  o.new_key_file = true;
  o.new_passphrase_env = weak.name();
  r = rekey_data_dir(cfg, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_TRUE(same_files(before, snapshot(root)));
}

// --- refusals -----------------------------------------------------------------------------------

TEST_F(RekeyTest, WrongCurrentKeyFileIsRefusedAndNothingChanges) {
  const auto cfg = make_config();
  init_ok(cfg);
  const Contents c = populate(cfg);
  const std::string key = read_text(root / "master.key");
  write_bytes(root / "master.key", std::string(SecretBytes::random(32).view()));
  const auto before = snapshot(root);
  auto r = rekey_data_dir(cfg, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::wrong_key);
  EXPECT_TRUE(r.error().message.starts_with(kWrongKeyPrefix)) << r.error().message;
  EXPECT_TRUE(same_files(before, snapshot(root)));
  write_bytes(root / "master.key", key);
  expect_intact(cfg, c);
}

TEST_F(RekeyTest, WrongCurrentPassphraseIsRefusedAndNothingChanges) {
  ScopedEnv env(kOldPass);
  ScopedEnv new_env(kNewPass);
  const auto cfg = passphrase_config(env);
  init_ok(cfg);
  env.set("correct horse battery stapler");
  const auto before = snapshot(root);
  RekeyOptions o;
  o.new_passphrase_env = new_env.name();
  auto r = rekey_data_dir(cfg, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::wrong_key);
  EXPECT_TRUE(same_files(before, snapshot(root)));
}

TEST_F(RekeyTest, RefusedWhileAServerHoldsTheServeLock) {
  const auto cfg = make_config();
  init_ok(cfg);
  auto serve_lock = ServeLock::acquire(DataDirPaths::of(root));
  ASSERT_TRUE(serve_lock.has_value());
  const auto before = snapshot(root);
  auto r = rekey_data_dir(cfg, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::conflict);
  EXPECT_NE(r.error().message.find("server is running"), std::string::npos) << r.error().message;
  EXPECT_TRUE(same_files(before, snapshot(root)));
}

TEST_F(RekeyTest, RefusedWhileAnotherCommandHasTheDataDirOpen) {
  const auto cfg = make_config();
  init_ok(cfg);
  auto other = open(cfg);  // e.g. a token command
  ASSERT_TRUE(other.has_value());
  const auto before = snapshot(root);
  auto r = rekey_data_dir(cfg, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::conflict);
  EXPECT_NE(r.error().message.find("in use"), std::string::npos) << r.error().message;
  EXPECT_TRUE(same_files(before, snapshot(root)));
  other = fail(Errc::internal, "closed");
  EXPECT_TRUE(rekey_data_dir(cfg, {}).has_value());
}

TEST_F(RekeyTest, OtherCommandsAreRefusedWhileARotationHoldsTheDataDir) {
  const auto cfg = make_config();
  init_ok(cfg);
  auto lock = DataDirLock::exclusive(DataDirPaths::of(root));
  ASSERT_TRUE(lock.has_value());
  auto dd = open(cfg);
  ASSERT_FALSE(dd.has_value());
  EXPECT_EQ(dd.error().code, Errc::unavailable);
  EXPECT_NE(dd.error().message.find("rekey"), std::string::npos) << dd.error().message;
  lock = DataDirLock();
  EXPECT_TRUE(open(cfg).has_value());
}

TEST_F(RekeyTest, MissingDataDirIsNotFound) {
  auto r = rekey_data_dir(make_config(), {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_FALSE(fs::exists(root));
}

// --- recovery from the files an interrupted rotation leaves -------------------------------------

TEST_F(RekeyTest, LeftoversOfAnUnpreparedRotationAreRemovedOnOpen) {
  const auto cfg = make_config();
  init_ok(cfg);
  const Contents c = populate(cfg);
  const auto before = snapshot(root);
  write_bytes(root / "master.key.new", std::string(SecretBytes::random(32).view()));
  write_text(root / "comptoir.db.rekey", "half a database");
  write_text(root / "comptoir.db.rekey-journal", "its journal");
  write_text(root / "data-dir.json.new.tmp-abcdef", "{");
  std::vector<RotationEvent> events;
  OpenDataDirOptions o;
  o.on_rotation = [&](const RotationEvent& e) { events.push_back(e); };
  {
    auto dd = open_data_dir(cfg, o);
    ASSERT_TRUE(dd.has_value()) << dd.error().message;
  }
  EXPECT_TRUE(events.empty()) << "nothing had been prepared";
  expect_no_rotation_files();
  EXPECT_TRUE(same_files(before, snapshot(root)));
  expect_intact(cfg, c);
}

TEST_F(RekeyTest, PreparedButUncommittedRotationIsRolledBackOnOpen) {
  const auto cfg = make_config();
  init_ok(cfg);
  const Contents c = populate(cfg);
  const std::string key = read_text(root / "master.key");
  // As if a rotation had stopped right after `prepared`: new database, key file and metadata.
  json new_meta = read_meta_json();
  new_meta["comptoir_data_dir"] = 2;
  new_meta["key_check"] = std::string(32, '0');
  new_meta["last_rotation"] = {{"id", "rot_0123456789abcdef"}, {"from", "key_file"}, {"started_at", "2026-01-01T00:00:00Z"}};
  write_text(root / "data-dir.json.new", new_meta.dump());
  write_bytes(root / "master.key.new", std::string(SecretBytes::random(32).view()));
  write_text(root / "comptoir.db.rekey", "the new database");
  std::vector<RotationEvent> events;
  OpenDataDirOptions o;
  o.on_rotation = [&](const RotationEvent& e) { events.push_back(e); };
  {
    auto dd = open_data_dir(cfg, o);
    ASSERT_TRUE(dd.has_value()) << dd.error().message;
  }
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].outcome, RotationEvent::Outcome::undone);
  EXPECT_EQ(events[0].rotation_id, "rot_0123456789abcdef");
  EXPECT_TRUE(events[0].finished_by_recovery);
  expect_no_rotation_files();
  EXPECT_EQ(read_text(root / "master.key"), key);
  expect_intact(cfg, c);
}

TEST_F(RekeyTest, RekeyFinishesAnInterruptedRotationInsteadOfStartingAnother) {
  const auto cfg = make_config();
  init_ok(cfg);
  json new_meta = read_meta_json();
  write_text(root / "data-dir.json.new", new_meta.dump());
  write_text(root / "comptoir.db.rekey", "the new database");
  const std::string key = read_text(root / "master.key");
  auto r = rekey_data_dir(cfg, {});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->kind, RekeyResult::Kind::undid_interrupted);
  EXPECT_EQ(read_text(root / "master.key"), key) << "no new rotation was started";
  expect_no_rotation_files();
}

TEST_F(RekeyTest, EventsAndLogsHoldNoKeyMaterial) {
  ScopedEnv env(kOldPass);
  ScopedEnv new_env(kNewPass);
  const auto cfg = passphrase_config(env);
  init_ok(cfg);
  const Contents c = populate(cfg);
  std::string logged;
  log::set_sink([&](std::string_view line) { logged.append(line).append("\n"); });
  RekeyOptions o;
  o.new_passphrase_env = new_env.name();
  auto r = rekey_data_dir(cfg, o);
  log::set_sink(nullptr);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_NE(logged.find("\"event\":\"rekey.completed\""), std::string::npos) << logged;
  EXPECT_NE(logged.find("\"subjects_rewrapped\":" + std::to_string(r->event.subject_keys_rewrapped)), std::string::npos)
      << logged;
  EXPECT_EQ(logged.find("[redacted]"), std::string::npos) << "event fields must not look like secrets: " << logged;
  const json meta = read_meta_json();
  for (const std::string& secret :
       {kOldPass, kNewPass, hex_encode(c.keys->database.span()), hex_encode(c.keys->api_tokens.span()),
        c.keys->check, meta.at("key_check").get<std::string>(), c.webchat_session, std::string("+33 6 12")}) {
    EXPECT_EQ(logged.find(secret), std::string::npos) << logged;
  }
  for (const auto& s : c.subject_ids) EXPECT_EQ(logged.find(s), std::string::npos);
}

}  // namespace
}  // namespace comptoir::app

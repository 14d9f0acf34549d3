// Integration tests of the data dir (src/app/data_dir.h) on real files: `init` in key-file and
// passphrase mode, reopening, refusing wrong keys / passphrases / weak settings / foreign or
// tampered files without changing anything, file privacy, and the serve lock.
#include "src/app/data_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "src/access/tokens.h"
#include "src/common/encoding.h"
#include "src/common/env.h"
#include "src/config/config.h"
#include "storage/token_store.h"
#include "tests/integration/file_checks.h"
#include "tests/support/temp_dir.h"

namespace comptoir::app {
namespace {

using comptoir::testing::damage_page;
using comptoir::testing::minimal_config;
using comptoir::testing::mode_of;
using comptoir::testing::read_text;
using comptoir::testing::same_files;
using comptoir::testing::ScopedUmask;
using comptoir::testing::snapshot;
using comptoir::testing::TempDir;
using comptoir::testing::write_bytes;
using comptoir::testing::write_text;
using nlohmann::json;

constexpr std::string_view kWrongKeyPrefix = "wrong key or not a Comptoir database";

// An environment variable set for the scope, with a name no other test uses.
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
  void unset() const { ::unsetenv(name_.c_str()); }

 private:
  std::string name_;
};

class DataDirTest : public ::testing::Test {
 protected:
  TempDir tmp;
  fs::path root = tmp / "data";

  config::Config make_config(const std::string& extra = "") const {
    auto cfg = config::parse(minimal_config(root, extra), "test-config.json", tmp.path());
    EXPECT_TRUE(cfg.has_value()) << (cfg ? "" : cfg.error().message);
    return cfg ? std::move(*cfg) : config::Config{};
  }
  config::Config passphrase_config(const ScopedEnv& env) const {
    return make_config("\"key\": {\"passphrase_env\": \"" + env.name() + "\", \"argon2\": \"interactive\"}");
  }

  void init_ok(const config::Config& cfg) const {
    auto st = init_data_dir(cfg);
    ASSERT_TRUE(st.has_value()) << st.error().message;
  }

  static Result<OpenedDataDir> open(const config::Config& cfg, bool integrity = false) {
    OpenDataDirOptions o;
    o.integrity_check = integrity;
    return open_data_dir(cfg, o);
  }

  // Opening must fail with `code`, and leave every file in the data dir as it was.
  void expect_refused_unchanged(const config::Config& cfg, Errc code, bool integrity = false) const {
    const auto before = snapshot(root);
    auto opened = open(cfg, integrity);
    ASSERT_FALSE(opened.has_value()) << "opened a data dir that should have been refused";
    EXPECT_EQ(opened.error().code, code) << to_string(opened.error().code) << ": " << opened.error().message;
    if (code == Errc::wrong_key) {
      EXPECT_TRUE(opened.error().message.starts_with(kWrongKeyPrefix)) << opened.error().message;
    }
    EXPECT_TRUE(same_files(before, snapshot(root)));
  }

  json read_meta() const { return json::parse(read_text(root / "data-dir.json")); }
  void write_meta(const json& meta) const { write_text(root / "data-dir.json", meta.dump(2) + "\n"); }
};

std::string issue_token(OpenedDataDir& dd, const std::string& label) {
  storage::TokenStore store(*dd.db);
  access::TokenService tokens(store, dd.keys->api_tokens(), system_clock());
  auto t = tokens.create(access::Role::operator_, label);
  EXPECT_TRUE(t.has_value());
  return t ? t->secret : std::string();
}

bool token_works(OpenedDataDir& dd, const std::string& secret) {
  storage::TokenStore store(*dd.db);
  access::TokenService tokens(store, dd.keys->api_tokens(), system_clock());
  return tokens.authenticate(secret).has_value();
}

// --- init, key-file mode ------------------------------------------------------------------------

TEST_F(DataDirTest, InitCreatesAPrivateDirWithKeyFileMetadataAndMigratedDatabase) {
  const auto cfg = make_config();
  init_ok(cfg);
  EXPECT_EQ(mode_of(root), 0700u);
  const auto paths = DataDirPaths::of(root);
  ASSERT_TRUE(fs::is_regular_file(paths.key_file));
  EXPECT_EQ(mode_of(paths.key_file), 0600u);
  EXPECT_EQ(fs::file_size(paths.key_file), 32u);
  EXPECT_EQ(mode_of(paths.meta_file) & 077, 0u);
  EXPECT_TRUE(fs::is_regular_file(paths.database));

  const json meta = read_meta();
  EXPECT_EQ(meta.at("comptoir_data_dir"), 1);
  EXPECT_EQ(meta.at("master_key").at("source"), "key_file");
  const std::string check = meta.at("key_check").get<std::string>();
  EXPECT_EQ(check.size(), 32u);
  EXPECT_TRUE(hex_decode(check).has_value());
  // The metadata holds no key material.
  const std::string key_hex = hex_encode(read_text(paths.key_file));
  EXPECT_EQ(read_text(paths.meta_file).find(key_hex), std::string::npos);

  // After init the database is closed: one self-contained file, no WAL left.
  EXPECT_FALSE(fs::exists(paths.database.string() + "-wal"));
  EXPECT_FALSE(fs::exists(paths.database.string() + "-shm"));

  auto opened = open(cfg, /*integrity=*/true);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_EQ(opened->db->schema_version(), opened->db->latest_schema_version());
  EXPECT_EQ(opened->keys->check_value(), check);
  EXPECT_TRUE(opened->db->ping());
}

TEST_F(DataDirTest, InitCreatesMissingParentDirectories) {
  root = tmp / "a" / "b" / "data";
  init_ok(make_config());
  EXPECT_EQ(mode_of(root), 0700u);
  EXPECT_TRUE(open(make_config()).has_value());
}

TEST_F(DataDirTest, TwoInitsMakeDifferentMasterKeys) {
  init_ok(make_config());
  const std::string first = read_text(root / "master.key");
  const std::string first_check = read_meta().at("key_check");
  root = tmp / "other";
  init_ok(make_config());
  EXPECT_NE(read_text(root / "master.key"), first);
  EXPECT_NE(read_meta().at("key_check").get<std::string>(), first_check);
}

TEST_F(DataDirTest, InitIntoAnExistingEmptyDirTightensItsMode) {
  fs::create_directory(root);
  ASSERT_EQ(::chmod(root.c_str(), 0755), 0);
  init_ok(make_config());
  EXPECT_EQ(mode_of(root), 0700u);
  EXPECT_TRUE(fs::exists(root / "master.key"));
}

TEST_F(DataDirTest, InitRefusesANonEmptyDirAndLeavesItUntouched) {
  fs::create_directory(root);
  ASSERT_EQ(::chmod(root.c_str(), 0755), 0);
  write_text(root / "notes.txt", "the merchant's own file\n");
  const auto before = snapshot(root);
  auto st = init_data_dir(make_config());
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Errc::conflict);
  EXPECT_TRUE(same_files(before, snapshot(root)));
  EXPECT_EQ(mode_of(root), 0755u) << "a refused init must not touch the directory either";
}

TEST_F(DataDirTest, InitRefusesToOverwriteAnExistingDataDir) {
  const auto cfg = make_config();
  init_ok(cfg);
  const auto before = snapshot(root);
  auto st = init_data_dir(cfg);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Errc::conflict);
  EXPECT_TRUE(same_files(before, snapshot(root)));
  EXPECT_TRUE(open(cfg).has_value());
}

TEST_F(DataDirTest, InitRefusesAPathThatIsAFile) {
  write_text(root, "not a directory");
  auto st = init_data_dir(make_config());
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Errc::conflict);
  EXPECT_EQ(read_text(root), "not a directory");
}

// --- open, key-file mode ------------------------------------------------------------------------

TEST_F(DataDirTest, ReopenKeepsDataAcrossOpens) {
  const auto cfg = make_config();
  init_ok(cfg);
  std::string secret;
  {
    auto dd = open(cfg);
    ASSERT_TRUE(dd.has_value()) << dd.error().message;
    secret = issue_token(*dd, "reopen");
  }
  auto dd = open(cfg, true);
  ASSERT_TRUE(dd.has_value()) << dd.error().message;
  EXPECT_TRUE(token_works(*dd, secret));
}

TEST_F(DataDirTest, OpeningAMissingDataDirIsNotFound) {
  auto dd = open(make_config());
  ASSERT_FALSE(dd.has_value());
  EXPECT_EQ(dd.error().code, Errc::not_found);
  EXPECT_FALSE(fs::exists(root));
}

TEST_F(DataDirTest, AnotherKeyFileIsAWrongKeyAndChangesNothing) {
  const auto cfg = make_config();
  init_ok(cfg);
  const auto key_file = root / "master.key";
  ::chmod(key_file.c_str(), 0600);
  write_bytes(key_file, std::string(SecretBytes::random(32).view()));
  ASSERT_EQ(mode_of(key_file), 0600u);
  expect_refused_unchanged(cfg, Errc::wrong_key);
}

TEST_F(DataDirTest, KeyFileOfTheWrongLengthIsAWrongKey) {
  const auto cfg = make_config();
  init_ok(cfg);
  const auto key_file = root / "master.key";
  const std::string key = read_text(key_file);
  for (const std::string& bad : {key.substr(0, 31), key + "x", std::string()}) {
    SCOPED_TRACE(bad.size());
    write_bytes(key_file, bad);
    expect_refused_unchanged(cfg, Errc::wrong_key);
  }
  write_bytes(key_file, key);
  EXPECT_TRUE(open(cfg).has_value());
}

TEST_F(DataDirTest, MissingKeyFileIsAWrongKey) {
  const auto cfg = make_config();
  init_ok(cfg);
  fs::remove(root / "master.key");
  expect_refused_unchanged(cfg, Errc::wrong_key);
}

TEST_F(DataDirTest, KeyFileReadableByOthersIsRefused) {
  const auto cfg = make_config();
  init_ok(cfg);
  const auto key_file = root / "master.key";
  for (mode_t m : {mode_t{0644}, mode_t{0640}, mode_t{0604}, mode_t{0660}}) {
    SCOPED_TRACE(m);
    ASSERT_EQ(::chmod(key_file.c_str(), m), 0);
    const auto before = snapshot(root);
    auto dd = open(cfg);
    ASSERT_FALSE(dd.has_value());
    EXPECT_EQ(dd.error().code, Errc::config);
    EXPECT_NE(dd.error().message.find("chmod 600"), std::string::npos) << dd.error().message;
    EXPECT_TRUE(same_files(before, snapshot(root)));
    EXPECT_EQ(mode_of(key_file), m) << "the weak setting is refused, not silently fixed";
  }
  ASSERT_EQ(::chmod(key_file.c_str(), 0600), 0);
  EXPECT_TRUE(open(cfg).has_value());
  ASSERT_EQ(::chmod(key_file.c_str(), 0400), 0);  // read-only for the owner is fine
  EXPECT_TRUE(open(cfg).has_value());
}

TEST_F(DataDirTest, TamperedKeyCheckIsAWrongKey) {
  const auto cfg = make_config();
  init_ok(cfg);
  json meta = read_meta();
  std::string check = meta.at("key_check");
  check[0] = check[0] == '0' ? '1' : '0';
  meta["key_check"] = check;
  write_meta(meta);
  expect_refused_unchanged(cfg, Errc::wrong_key);
}

TEST_F(DataDirTest, MissingOrForeignMetadataIsAWrongKey) {
  const auto cfg = make_config();
  init_ok(cfg);
  const json good = read_meta();
  const std::string good_text = read_text(root / "data-dir.json");

  fs::remove(root / "data-dir.json");
  expect_refused_unchanged(cfg, Errc::wrong_key);

  for (const std::string& text : {std::string("not json at all"), std::string("[]"), std::string("{}"),
                                  std::string("{\"comptoir_data_dir\": 2}")}) {
    SCOPED_TRACE(text);
    write_text(root / "data-dir.json", text);
    expect_refused_unchanged(cfg, Errc::wrong_key);
  }
  json unknown_source = good;
  unknown_source["master_key"]["source"] = "hsm";
  write_meta(unknown_source);
  expect_refused_unchanged(cfg, Errc::wrong_key);

  write_text(root / "data-dir.json", good_text);
  EXPECT_TRUE(open(cfg).has_value());
}

// Metadata with members of the wrong JSON type is untrusted input: it must give an error value,
// never an exception or an assertion failure.
TEST_F(DataDirTest, MetadataWithWrongTypesIsRefusedWithoutThrowing) {
  const auto cfg = make_config();
  init_ok(cfg);
  const json good = read_meta();
  std::vector<json> bad;
  {
    json m = good;
    m["comptoir_data_dir"] = "1";
    bad.push_back(m);
  }
  {
    json m = good;
    m["master_key"]["source"] = 7;
    bad.push_back(m);
  }
  {
    json m = good;
    m["key_check"] = 12345;
    bad.push_back(m);
  }
  {
    json m = good;
    m["master_key"] = "key_file";
    bad.push_back(m);
  }
  for (const json& m : bad) {
    SCOPED_TRACE(m.dump());
    write_meta(m);
    const auto before = snapshot(root);
    Result<OpenedDataDir> dd = fail(Errc::internal, "not run");
    EXPECT_NO_THROW(dd = open(cfg));
    ASSERT_FALSE(dd.has_value());
    EXPECT_EQ(dd.error().code, Errc::wrong_key) << dd.error().message;
    EXPECT_TRUE(same_files(before, snapshot(root)));
  }
}

TEST_F(DataDirTest, DatabaseFromAnotherDataDirIsAWrongKey) {
  const auto cfg = make_config();
  init_ok(cfg);
  const fs::path mine = root;
  root = tmp / "other";
  init_ok(make_config());
  fs::copy_file(root / "comptoir.db", mine / "comptoir.db", fs::copy_options::overwrite_existing);
  root = mine;
  expect_refused_unchanged(cfg, Errc::wrong_key);
}

TEST_F(DataDirTest, DamagedDatabaseIsCorruptWithTheIntegrityCheck) {
  const auto cfg = make_config();
  init_ok(cfg);
  {
    auto dd = open(cfg);
    ASSERT_TRUE(dd.has_value());
    for (int i = 0; i < 150; ++i) issue_token(*dd, "filler token number " + std::to_string(i));
  }
  const auto db_file = root / "comptoir.db";
  const std::size_t pages = fs::file_size(db_file) / 4096;
  ASSERT_GE(pages, 4u);
  damage_page(db_file, pages);
  expect_refused_unchanged(cfg, Errc::corrupt, /*integrity=*/true);
}

// A copy of a running data dir (main file plus WAL): with the wrong master key, the key check
// stops the open before SQLite ever sees the files, so even the WAL stays exactly as it was.
TEST_F(DataDirTest, CrashImageWithAWrongKeyIsLeftExactlyAsItWas) {
  const auto cfg = make_config();
  init_ok(cfg);
  TempDir copy_parent;
  const fs::path copy = copy_parent / "data";
  std::string secret;
  {
    auto dd = open(cfg);
    ASSERT_TRUE(dd.has_value());
    secret = issue_token(*dd, "in the wal");
    ASSERT_TRUE(fs::exists(root / "comptoir.db-wal"));
    fs::copy(root, copy, fs::copy_options::recursive);
  }
  fs::remove(copy / "comptoir.db-shm");
  const fs::path original = root;
  root = copy;
  const auto cfg_copy = make_config();
  const auto key_file = copy / "master.key";
  const std::string key = read_text(key_file);
  write_bytes(key_file, std::string(SecretBytes::random(32).view()));
  ::chmod(key_file.c_str(), 0600);
  expect_refused_unchanged(cfg_copy, Errc::wrong_key);
  // With the right key, the committed token is there.
  write_bytes(key_file, key);
  auto dd = open(cfg_copy, true);
  ASSERT_TRUE(dd.has_value()) << dd.error().message;
  EXPECT_TRUE(token_works(*dd, secret));
  root = original;
}

// --- passphrase mode ----------------------------------------------------------------------------

TEST_F(DataDirTest, PassphraseModeHasNoKeyFileAndReopensWithTheSamePassphrase) {
  ScopedEnv env("correct horse battery staple");
  const auto cfg = passphrase_config(env);
  init_ok(cfg);
  EXPECT_EQ(mode_of(root), 0700u);
  EXPECT_FALSE(fs::exists(root / "master.key"));
  const json meta = read_meta();
  const json& mk = meta.at("master_key");
  EXPECT_EQ(mk.at("source"), "passphrase");
  EXPECT_EQ(mk.at("kdf"), "argon2id13");
  EXPECT_GT(mk.at("opslimit").get<std::uint64_t>(), 0u);
  EXPECT_GT(mk.at("memlimit").get<std::uint64_t>(), 0u);
  auto salt = hex_decode(mk.at("salt").get<std::string>());
  ASSERT_TRUE(salt.has_value());
  EXPECT_EQ(salt->size(), 16u);
  // Neither the passphrase nor anything derived from it but the check value is stored.
  for (const auto& [path, bytes] : snapshot(root)) {
    EXPECT_EQ(bytes.find("correct horse"), std::string::npos) << path;
  }

  std::string secret;
  {
    auto dd = open(cfg);
    ASSERT_TRUE(dd.has_value()) << dd.error().message;
    EXPECT_EQ(dd->keys->check_value(), meta.at("key_check").get<std::string>());
    secret = issue_token(*dd, "passphrase");
  }
  auto dd = open(cfg, true);
  ASSERT_TRUE(dd.has_value()) << dd.error().message;
  EXPECT_TRUE(token_works(*dd, secret));
}

TEST_F(DataDirTest, WrongPassphraseIsAWrongKeyAndChangesNothing) {
  ScopedEnv env("correct horse battery staple");
  const auto cfg = passphrase_config(env);
  init_ok(cfg);
  env.set("correct horse battery stapler");
  expect_refused_unchanged(cfg, Errc::wrong_key);
  env.set("correct horse battery staple");
  EXPECT_TRUE(open(cfg).has_value());
}

TEST_F(DataDirTest, MissingPassphraseVariableIsAConfigError) {
  ScopedEnv env("correct horse battery staple");
  const auto cfg = passphrase_config(env);
  init_ok(cfg);
  env.unset();
  expect_refused_unchanged(cfg, Errc::config);
  env.set("");
  expect_refused_unchanged(cfg, Errc::config);
}

TEST_F(DataDirTest, InitWithoutThePassphraseVariableFailsAndLeavesNothing) {
  ScopedEnv env("unused");
  env.unset();
  auto st = init_data_dir(passphrase_config(env));
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Errc::config);
  EXPECT_NE(st.error().message.find(env.name()), std::string::npos) << st.error().message;
  EXPECT_FALSE(fs::exists(root));
}

TEST_F(DataDirTest, TooShortPassphraseIsRefusedAtInitAndLeavesNothing) {
  ScopedEnv env("short pass!");  // 11 characters
  auto st = init_data_dir(passphrase_config(env));
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Errc::config);
  EXPECT_EQ(st.error().message.find("short pass!"), std::string::npos) << "the passphrase leaked";
  EXPECT_FALSE(fs::exists(root));
  // In an existing empty directory, the directory stays and stays empty.
  fs::create_directory(root);
  st = init_data_dir(passphrase_config(env));
  ASSERT_FALSE(st.has_value());
  EXPECT_TRUE(fs::is_directory(root));
  EXPECT_TRUE(fs::is_empty(root));
}

TEST_F(DataDirTest, KeySourceMismatchBetweenConfigAndDataDirIsAConfigError) {
  ScopedEnv env("correct horse battery staple");
  // Key-file data dir, passphrase config.
  init_ok(make_config());
  expect_refused_unchanged(passphrase_config(env), Errc::config);
  // Passphrase data dir, key-file config.
  root = tmp / "pass";
  init_ok(passphrase_config(env));
  expect_refused_unchanged(make_config(), Errc::config);
}

TEST_F(DataDirTest, WeakenedArgon2ParametersInTheMetadataAreRefused) {
  ScopedEnv env("correct horse battery staple");
  const auto cfg = passphrase_config(env);
  init_ok(cfg);
  const json good = read_meta();
  {
    json m = good;
    m["master_key"]["opslimit"] = 1;
    write_meta(m);
    expect_refused_unchanged(cfg, Errc::corrupt);
  }
  {
    json m = good;
    m["master_key"]["memlimit"] = 8192;
    write_meta(m);
    expect_refused_unchanged(cfg, Errc::corrupt);
  }
  {
    json m = good;
    m["master_key"]["salt"] = "00112233";
    write_meta(m);
    expect_refused_unchanged(cfg, Errc::corrupt);
  }
  write_meta(good);
  EXPECT_TRUE(open(cfg).has_value());
}

TEST_F(DataDirTest, MalformedArgon2ParametersAreRefusedWithoutCrashing) {
  ScopedEnv env("correct horse battery staple");
  const auto cfg = passphrase_config(env);
  init_ok(cfg);
  const json good = read_meta();
  std::vector<json> bad;
  for (const char* member : {"opslimit", "memlimit", "salt"}) {
    json m = good;
    m["master_key"].erase(member);
    bad.push_back(m);
  }
  {
    json m = good;
    m["master_key"]["opslimit"] = "2";
    bad.push_back(m);
  }
  {
    json m = good;
    m["master_key"]["salt"] = 42;
    bad.push_back(m);
  }
  {
    json m = good;
    m["master_key"]["salt"] = "not hex";
    bad.push_back(m);
  }
  for (const json& m : bad) {
    SCOPED_TRACE(m.dump());
    write_meta(m);
    const auto before = snapshot(root);
    Result<OpenedDataDir> dd = fail(Errc::internal, "not run");
    EXPECT_NO_THROW(dd = open(cfg));
    ASSERT_FALSE(dd.has_value());
    EXPECT_EQ(dd.error().code, Errc::corrupt) << dd.error().message;
    EXPECT_TRUE(same_files(before, snapshot(root)));
  }
}

// --- what is on disk ----------------------------------------------------------------------------

void expect_private_and_encrypted(const fs::path& root) {
  EXPECT_EQ(mode_of(root), 0700u);
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    ++files;
    EXPECT_EQ(mode_of(e.path()) & 077, 0u) << e.path() << " mode " << std::oct << mode_of(e.path());
    if (e.is_regular_file()) {
      EXPECT_FALSE(read_text(e.path()).starts_with("SQLite format 3")) << e.path();
    }
  }
  EXPECT_GE(files, 3u);
}

TEST_F(DataDirTest, EveryFileIsPrivateAndNoneIsAPlaintextDatabase) {
  ScopedUmask umask(022);  // the library must not rely on the CLI's umask
  const auto cfg = make_config();
  init_ok(cfg);
  expect_private_and_encrypted(root);
  {
    auto dd = open(cfg);
    ASSERT_TRUE(dd.has_value());
    auto lock = ServeLock::acquire(dd->paths);
    ASSERT_TRUE(lock.has_value()) << lock.error().message;
    issue_token(*dd, "while serving");
    ASSERT_TRUE(fs::exists(root / "comptoir.db-wal"));
    ASSERT_TRUE(fs::exists(root / "serve.lock"));
    expect_private_and_encrypted(root);  // with the WAL, shared memory and lock file present
  }
  expect_private_and_encrypted(root);
}

TEST_F(DataDirTest, EveryFileIsPrivateInPassphraseModeToo) {
  ScopedUmask umask(022);
  ScopedEnv env("correct horse battery staple");
  const auto cfg = passphrase_config(env);
  init_ok(cfg);
  auto dd = open(cfg);
  ASSERT_TRUE(dd.has_value());
  issue_token(*dd, "x");
  expect_private_and_encrypted(root);
}

// --- concurrent use -------------------------------------------------------------------------

TEST_F(DataDirTest, ServerAndCliCanOpenTheDataDirAtOnceAndBothWrite) {
  const auto cfg = make_config();
  init_ok(cfg);
  auto server = open(cfg);
  ASSERT_TRUE(server.has_value());
  auto lock = ServeLock::acquire(server->paths);
  ASSERT_TRUE(lock.has_value());
  std::string from_cli;
  {
    auto cli = open(cfg);  // the CLI does not take the serve lock
    ASSERT_TRUE(cli.has_value()) << cli.error().message;
    from_cli = issue_token(*cli, "made by the CLI");
  }
  const std::string from_server = issue_token(*server, "made by the server");
  EXPECT_TRUE(token_works(*server, from_cli));
  EXPECT_TRUE(token_works(*server, from_server));
}

TEST_F(DataDirTest, ServeLockCannotBeTakenTwice) {
  init_ok(make_config());
  const auto paths = DataDirPaths::of(root);
  {
    auto first = ServeLock::acquire(paths);
    ASSERT_TRUE(first.has_value()) << first.error().message;
    auto second = ServeLock::acquire(paths);
    ASSERT_FALSE(second.has_value());
    EXPECT_EQ(second.error().code, Errc::conflict);
    // Moving the lock keeps it held.
    ServeLock moved(std::move(*first));
    auto third = ServeLock::acquire(paths);
    ASSERT_FALSE(third.has_value());
    EXPECT_EQ(third.error().code, Errc::conflict);
  }
  auto again = ServeLock::acquire(paths);
  EXPECT_TRUE(again.has_value()) << "the lock must be released when its holder goes away";
}

TEST(DataDirPaths, LayoutIsFixed) {
  const auto p = DataDirPaths::of("/srv/comptoir");
  EXPECT_EQ(p.root, fs::path("/srv/comptoir"));
  EXPECT_EQ(p.key_file, fs::path("/srv/comptoir/master.key"));
  EXPECT_EQ(p.meta_file, fs::path("/srv/comptoir/data-dir.json"));
  EXPECT_EQ(p.database, fs::path("/srv/comptoir/comptoir.db"));
  EXPECT_EQ(p.lock_file, fs::path("/srv/comptoir/serve.lock"));
  // Only during (or after an interrupted) master key rotation.
  EXPECT_EQ(p.new_key_file, fs::path("/srv/comptoir/master.key.new"));
  EXPECT_EQ(p.new_meta_file, fs::path("/srv/comptoir/data-dir.json.new"));
  EXPECT_EQ(p.new_database, fs::path("/srv/comptoir/comptoir.db.rekey"));
}

TEST_F(DataDirTest, CommandsShareTheDataDirLockAndARotationExcludesThem) {
  const auto cfg = make_config();
  init_ok(cfg);
  const auto paths = DataDirPaths::of(root);
  {
    auto a = open(cfg);
    auto b = open(cfg);
    ASSERT_TRUE(a.has_value() && b.has_value()) << "two commands may have the data dir open at once";
    auto ex = DataDirLock::exclusive(paths);
    ASSERT_FALSE(ex.has_value());
    EXPECT_EQ(ex.error().code, Errc::conflict);
  }
  auto ex = DataDirLock::exclusive(paths);
  ASSERT_TRUE(ex.has_value()) << ex.error().message;
  const auto before = snapshot(root);
  auto refused = open(cfg);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::unavailable);
  EXPECT_TRUE(same_files(before, snapshot(root)));
  ASSERT_TRUE(ex->downgrade().has_value());
  EXPECT_TRUE(open(cfg).has_value()) << "a shared lock admits other commands";
}

TEST_F(DataDirTest, MalformedCarriedKeysAreCorruptNotAnException) {
  const auto cfg = make_config();
  init_ok(cfg);
  const json good = read_meta();
  for (const json& carried : {json("text"), json{{"api_tokens", 5}}, json{{"api_tokens", "not hex"}},
                              json{{"api_tokens", "00"}}}) {
    SCOPED_TRACE(carried.dump());
    json m = good;
    m["comptoir_data_dir"] = 2;
    m["carried_keys"] = carried;
    write_meta(m);
    const auto before = snapshot(root);
    Result<OpenedDataDir> dd = fail(Errc::internal, "not run");
    EXPECT_NO_THROW(dd = open(cfg));
    ASSERT_FALSE(dd.has_value());
    EXPECT_EQ(dd.error().code, Errc::corrupt) << dd.error().message;
    EXPECT_TRUE(same_files(before, snapshot(root)));
  }
  write_meta(good);
  EXPECT_TRUE(open(cfg).has_value());
}

}  // namespace
}  // namespace comptoir::app

// Backups and restores (src/app/backup.h) on real data dirs: customers A and B order through the
// chat engine on the real SQLCipher file, a backup is taken while the data dir is open (as while
// serving), A is erased, the backup is restored: A is not back (no customer, key shredded, order
// detached, not exportable), B is intact. Also: the disaster case (live data dir gone), a backup
// made before a master key rotation, and every refusal (not a backup, damaged, another shop,
// wrong or missing old key, a server running) with nothing changed in the data dir.
#include "src/app/backup.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sqlcipher/sqlite3.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "privacy/blind_index.h"
#include "privacy/notice.h"
#include "privacy/vault.h"
#include "src/app/data_dir.h"
#include "src/app/rekey.h"
#include "src/app/shop_setup.h"
#include "src/chat/engine.h"
#include "src/commerce/customers.h"
#include "src/commerce/shop.h"
#include "src/rights/erasure.h"
#include "src/rights/erasure_journal.h"
#include "src/rights/export.h"
#include "storage/backup_store.h"
#include "storage/subject_key_store.h"
#include "tests/integration/file_checks.h"
#include "tests/support/temp_dir.h"

namespace comptoir::app {
namespace {

using comptoir::testing::minimal_config;
using comptoir::testing::same_files;
using comptoir::testing::snapshot;
using comptoir::testing::TempDir;
using comptoir::testing::write_text;
using nlohmann::json;

constexpr const char* kNameA = "Aurélie Quenouille-Brandt";
constexpr const char* kAddressA = "7 impasse des Hiboux Distraits, 31000 Toulouse";
constexpr const char* kNameB = "Benedikt Krummhorn";
constexpr const char* kAddressB = "Kastanienweg 12, 04109 Leipzig";
constexpr const char* kA = "wcs_backup_customer_a_000000001";
constexpr const char* kB = "wcs_backup_customer_b_000000002";

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The stack `serve` builds on an open data dir, enough to chat, erase and export.
struct Live {
  OpenedDataDir dd;
  std::unique_ptr<storage::SubjectKeyStore> keys;
  std::unique_ptr<privacy::Vault> vault;
  std::unique_ptr<privacy::BlindIndex> index;
  std::unique_ptr<commerce::CustomerDirectory> customers;
  std::unique_ptr<commerce::Shop> shop;
  std::unique_ptr<chat::Messages> messages;
  std::unique_ptr<chat::Engine> engine;
  std::unique_ptr<privacy::Notice> notice;
  privacy::Inventory inventory = *privacy::default_inventory();

  static std::unique_ptr<Live> open(const config::Config& cfg) {
    auto l = std::make_unique<Live>();
    auto dd = open_data_dir(cfg, {});
    EXPECT_TRUE(dd.has_value()) << (dd ? "" : dd.error().message);
    if (!dd) return nullptr;
    l->dd = std::move(*dd);
    storage::Database& db = *l->dd.db;
    l->keys = std::make_unique<storage::SubjectKeyStore>(db);
    l->vault = std::make_unique<privacy::Vault>(*l->keys, l->dd.keys->key_wrapping(), system_clock());
    l->index = std::make_unique<privacy::BlindIndex>(l->dd.keys->blind_index());
    l->customers = std::make_unique<commerce::CustomerDirectory>(db, *l->vault, *l->index, system_clock());
    l->shop = std::make_unique<commerce::Shop>(db, *l->customers, shop_settings(cfg), system_clock());
    l->messages = std::make_unique<chat::Messages>(*load_messages(cfg));
    privacy::NoticeSettings ns;
    ns.shop_name = "Backup test shop";
    l->notice = std::make_unique<privacy::Notice>(*privacy::Notice::build(l->inventory, ns));
    chat::EngineSettings s = engine_settings(cfg, 8080);
    s.notice_version = [n = l->notice.get()](const std::string& lang) { return n->version(lang); };
    l->engine = std::make_unique<chat::Engine>(db, *l->customers, *l->shop, *l->messages, s, system_clock());
    return l;
  }

  void say(const std::string& address, const std::string& text, const std::string& option = "") {
    chat::Inbound in;
    in.address = address;
    in.text = text;
    in.option = option;
    auto r = engine->handle(in);
    ASSERT_TRUE(r.has_value()) << r.error().message;
  }

  void checkout(const std::string& address, const std::string& name, const std::string& delivery) {
    say(address, "hello");
    say(address, "", "add:BRD-BAGUETTE:2");
    say(address, "", "checkout");
    say(address, "", "ful:delivery");
    say(address, name);
    say(address, delivery);
    say(address, "", "confirm");
  }

  std::optional<commerce::Customer> customer(const std::string& address) {
    std::optional<commerce::Customer> out;
    EXPECT_TRUE(dd.db->read([&](storage::Tx& tx) -> Status {
                      auto c = customers->find(tx, privacy::Channel::webchat, address);
                      if (!c) return std::unexpected(c.error());
                      out = *c;
                      return ok();
                    }).has_value());
    return out;
  }

  // Erases the customer at `address`; returns their subject id.
  std::string erase(const std::string& address) {
    auto c = customer(address);
    EXPECT_TRUE(c.has_value());
    if (!c) return "";
    auto st = dd.db->write([&](storage::Tx& tx) -> Status {
      auto r = rights::erase_subject(tx, inventory, *vault, {c->id, c->subject_id}, system_clock());
      if (!r) return std::unexpected(r.error());
      return ok();
    });
    EXPECT_TRUE(st.has_value()) << (st ? "" : st.error().message);
    return c->subject_id;
  }

  Result<std::string> export_of(const commerce::Customer& c) {
    Result<std::string> out = std::string();
    auto st = dd.db->read([&](storage::Tx& tx) -> Status {
      out = rights::export_subject(tx, inventory, *vault, {c.id, c.subject_id}, {}, system_clock());
      return ok();
    });
    if (!st) return std::unexpected(st.error());
    return out;
  }

  std::int64_t count(const std::string& sql) {
    std::int64_t n = -1;
    dd.db->run([&](sqlite3* h) {
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr);
      if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
      sqlite3_finalize(st);
      return 0;
    });
    return n;
  }
};

std::unique_ptr<audit::MemoryRecorder> g_events;
RecorderFactory memory_recorder() {
  return [](const config::Config&, storage::Database&, const privacy::KeyRing&) -> Result<std::unique_ptr<audit::Recorder>> {
    struct Forward final : audit::Recorder {
      Status record(storage::Tx& tx, const audit::Event& e) override { return g_events->record(tx, e); }
      Status record(const audit::Event& e) override { return g_events->record(e); }
    };
    return std::unique_ptr<audit::Recorder>(std::make_unique<Forward>());
  };
}

class BackupTest : public ::testing::Test {
 protected:
  TempDir tmp;
  fs::path root = tmp / "data";
  config::Config cfg;
  privacy::Inventory inventory = *privacy::default_inventory();

  void SetUp() override {
    g_events = std::make_unique<audit::MemoryRecorder>();
    cfg = make_config(root);
    ASSERT_TRUE(init_data_dir(cfg).has_value());
    auto dd = open_data_dir(cfg, {});
    ASSERT_TRUE(dd.has_value());
    auto catalog = load_catalog(cfg, std::nullopt);
    ASSERT_TRUE(catalog.has_value());
    ASSERT_TRUE(commerce::import_catalog(*dd->db, *catalog, unix_seconds(system_clock().now())).has_value());
  }

  config::Config make_config(const fs::path& data_dir) {
    const fs::path file = data_dir.parent_path() / (data_dir.filename().string() + ".json");
    write_text(file, minimal_config(data_dir, "\"log\": {\"level\": \"error\"}"));
    auto c = config::load(file);
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
    return std::move(*c);
  }

  // A, B order; a backup is taken while the data dir is open; then A is erased.
  std::string order_backup_erase(const fs::path& backup_file) {
    auto live = Live::open(cfg);
    live->checkout(kA, kNameA, kAddressA);
    live->checkout(kB, kNameB, kAddressB);
    auto b = backup_data_dir(cfg, backup_file, memory_recorder());
    EXPECT_TRUE(b.has_value()) << (b ? "" : b.error().message);
    if (b) {
      EXPECT_EQ(b->counts.customers, 2);
      EXPECT_EQ(b->counts.orders, 2);
      EXPECT_EQ(b->counts.tombstones, 0);
    }
    return live->erase(kA);
  }

  Result<RestoreResult> restore(const fs::path& from, RestoreOptions o = {}) {
    o.from = from;
    return restore_data_dir(cfg, inventory, o, memory_recorder());
  }

  // After a restore: A is not back, B is intact.
  void expect_a_gone_b_intact(const std::string& subject_a) {
    auto live = Live::open(cfg);
    ASSERT_TRUE(live);
    EXPECT_FALSE(live->customer(kA).has_value()) << "the erased customer is back";
    auto dead = live->keys->is_shredded(subject_a);
    ASSERT_TRUE(dead.has_value());
    EXPECT_TRUE(*dead);
    EXPECT_FALSE(live->keys->find(subject_a)->has_value()) << "the erased customer's key is back";
    EXPECT_EQ(live->count("SELECT count(*) FROM customers WHERE subject_id = '" + subject_a + "'"), 0);
    // A's order is kept for the books, detached and without delivery details.
    EXPECT_EQ(live->count("SELECT count(*) FROM orders WHERE customer_id IS NULL AND recipient_name_sealed IS NULL AND "
                          "delivery_address_sealed IS NULL AND restricted_until IS NOT NULL"),
              1);
    auto b = live->customer(kB);
    ASSERT_TRUE(b.has_value()) << "the other customer is gone";
    auto doc = live->export_of(*b);
    ASSERT_TRUE(doc.has_value()) << doc.error().message;
    EXPECT_NE(doc->find(kNameB), std::string::npos);
    EXPECT_NE(doc->find(kAddressB), std::string::npos);
    EXPECT_EQ(doc->find(kNameA), std::string::npos);
    EXPECT_EQ(live->count("SELECT count(*) FROM orders WHERE customer_id IS NOT NULL AND recipient_name_sealed IS NOT NULL"), 1);
  }
};

TEST_F(BackupTest, RestoringAnOlderBackupNeverBringsAnErasedPersonBack) {
  const fs::path file = tmp / "shop.backup";
  const std::string a = order_backup_erase(file);
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(g_events->with_action("backup.created").size(), 1u);
  EXPECT_EQ(g_events->with_action("backup.created")[0].counts.at("customers"), 2);
  // Nothing personal is readable in the backup file.
  const std::string bytes = read_all(file);
  for (const char* p : {kNameA, kAddressA, kNameB, kAddressB, kA, kB}) EXPECT_EQ(bytes.find(p), std::string::npos) << p;
  EXPECT_TRUE(bytes.starts_with(kBackupMagic));
  // The journal outside the database names A (pseudonymously) once something synced it; the
  // restore finds A in the live tombstones in any case.
  auto r = restore(file);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->live_database_read);
  EXPECT_EQ(r->erasures_known, 1u);
  EXPECT_EQ(r->erasures_after_backup, 1u);
  EXPECT_EQ(r->customers_erased, 1u);
  EXPECT_EQ(r->keys_shredded, 1u);
  EXPECT_EQ(r->counts.customers, 1);
  EXPECT_EQ(r->counts.orders, 2);
  ASSERT_TRUE(r->previous_database.has_value());
  EXPECT_TRUE(fs::exists(*r->previous_database));
  auto restored = g_events->with_action("backup.restored");
  ASSERT_EQ(restored.size(), 1u);
  EXPECT_EQ(restored[0].counts.at("customers_erased"), 1);
  for (const auto& e : g_events->events()) {
    EXPECT_EQ(e.subject, "") << "audit events of backups name nobody";
  }
  auto journal = rights::read_journal(root / rights::kJournalFileName);
  ASSERT_TRUE(journal.has_value());
  ASSERT_EQ(journal->size(), 1u);
  EXPECT_EQ((*journal)[0].subject_id, a);
  expect_a_gone_b_intact(a);

  // Restoring the same backup again changes nothing about that.
  auto again = restore(file);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->customers_erased, 1u);
  expect_a_gone_b_intact(a);
}

TEST_F(BackupTest, TheJournalAloneIsEnoughWhenTheLiveDatabaseIsDamaged) {
  const fs::path file = tmp / "shop.backup";
  const std::string a = order_backup_erase(file);
  {
    auto dd = open_data_dir(cfg, {});
    ASSERT_TRUE(dd.has_value());
    ASSERT_EQ(*rights::ErasureJournal(root / rights::kJournalFileName).sync_from(*dd->db), 1u);
  }
  // The live database is destroyed (the reason for the restore).
  write_text(root / "comptoir.db", std::string(8192, 'x'));
  auto r = restore(file);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_FALSE(r->live_database_read);
  EXPECT_TRUE(r->journal_read);
  EXPECT_EQ(r->customers_erased, 1u);
  expect_a_gone_b_intact(a);
}

TEST_F(BackupTest, DisasterCaseRefusesWithoutAJournalAndUsesACopy) {
  const fs::path file = tmp / "shop.backup";
  const std::string a = order_backup_erase(file);
  {
    auto dd = open_data_dir(cfg, {});
    ASSERT_TRUE(dd.has_value());
    ASSERT_TRUE(rights::ErasureJournal(root / rights::kJournalFileName).sync_from(*dd->db).has_value());
  }
  // The operator kept a copy of the journal and of the key file; the data dir is lost.
  fs::copy_file(root / rights::kJournalFileName, tmp / "journal.copy");
  fs::copy_file(root / "master.key", tmp / "master.key.copy");
  fs::remove_all(root);
  ASSERT_TRUE(fs::create_directory(root));
  fs::permissions(root, fs::perms::owner_all);
  fs::copy_file(tmp / "master.key.copy", root / "master.key");
  fs::permissions(root / "master.key", fs::perms::owner_read | fs::perms::owner_write);

  const auto before = snapshot(root);
  auto refused = restore(file);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::conflict);
  EXPECT_NE(refused.error().message.find("--journal"), std::string::npos) << refused.error().message;
  EXPECT_TRUE(same_files(before, snapshot(root)));

  RestoreOptions o;
  o.journals = {tmp / "journal.copy"};
  auto r = restore(file, o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->data_dir_meta_restored);
  EXPECT_FALSE(r->previous_database.has_value());
  EXPECT_EQ(r->customers_erased, 1u);
  expect_a_gone_b_intact(a);
}

TEST_F(BackupTest, DisasterCaseWithoutAnyJournalMustBeSaidAndThenRestoresTheBackupAsItWas) {
  const fs::path file = tmp / "shop.backup";
  const std::string a = order_backup_erase(file);
  fs::remove(root / "comptoir.db");
  fs::remove(root / rights::kJournalFileName);
  RestoreOptions o;
  o.without_journal = true;
  auto r = restore(file, o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->erasures_known, 0u);
  auto live = Live::open(cfg);
  EXPECT_TRUE(live->customer(kA).has_value()) << "documented: with no journal anywhere, later erasures are unknown";
}

TEST_F(BackupTest, RefusalsChangeNothing) {
  const fs::path file = tmp / "shop.backup";
  order_backup_erase(file);
  const std::string good = read_all(file);
  auto refused = [&](const std::string& bytes, Errc code, const std::string& words, RestoreOptions o = {}) {
    SCOPED_TRACE(words);
    static int serial = 0;
    const fs::path f = tmp / ("variant-" + std::to_string(++serial));
    std::ofstream(f, std::ios::binary) << bytes;
    const auto before = snapshot(root);
    auto r = restore(f, std::move(o));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, code) << r.error().message;
    EXPECT_NE(r.error().message.find(words), std::string::npos) << r.error().message;
    EXPECT_TRUE(same_files(before, snapshot(root)));
  };
  refused("SQLite format 3\0 not a backup", Errc::invalid_argument, "is not a Comptoir backup");
  refused("", Errc::invalid_argument, "is not a Comptoir backup");
  std::string damaged = good;
  damaged[damaged.size() - 5000] ^= 0x40;  // a byte of the database
  refused(damaged, Errc::corrupt, "does not match its checksum");
  damaged = good;
  const auto at = damaged.find("\"customers\":2");
  ASSERT_NE(at, std::string::npos);
  damaged[at + 12] = '3';  // the header
  refused(damaged, Errc::corrupt, "MAC");
  refused(good.substr(0, good.size() - 1), Errc::corrupt, "damaged");
  refused(good + "x", Errc::corrupt, "damaged");
  refused(good.substr(0, 40), Errc::corrupt, "damaged");

  // Another shop's backup.
  const fs::path other_root = tmp / "other";
  const config::Config other = make_config(other_root);
  ASSERT_TRUE(init_data_dir(other).has_value());
  const fs::path other_file = tmp / "other.backup";
  ASSERT_TRUE(backup_data_dir(other, other_file, memory_recorder()).has_value());
  refused(read_all(other_file), Errc::conflict, "a backup of another shop");

  // A server is running.
  {
    auto serving = ServeLock::acquire(DataDirPaths::of(root));
    ASSERT_TRUE(serving.has_value());
    refused(good, Errc::conflict, "stop it first");
  }
  // Another command has the data dir open (e.g. a backup in progress).
  {
    auto open = open_data_dir(cfg, {});
    ASSERT_TRUE(open.has_value());
    refused(good, Errc::conflict, "in use by another comptoir process");
  }
}

TEST_F(BackupTest, ABackupFromBeforeARotationNeedsTheOldKeyAndIsReencrypted) {
  const fs::path file = tmp / "shop.backup";
  const std::string a = order_backup_erase(file);
  RekeyOptions ro;
  ro.keep_old_key = tmp / "old.key";
  ASSERT_TRUE(rekey_data_dir(cfg, ro).has_value());

  const auto before = snapshot(root);
  auto no_key = restore(file);
  ASSERT_FALSE(no_key.has_value());
  EXPECT_EQ(no_key.error().code, Errc::wrong_key);
  EXPECT_NE(no_key.error().message.find("--old-key-file"), std::string::npos);
  RestoreOptions wrong;
  write_text(tmp / "wrong.key", std::string(32, 'k'));
  wrong.old_key_file = tmp / "wrong.key";
  auto bad = restore(file, wrong);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Errc::wrong_key);
  EXPECT_TRUE(same_files(before, snapshot(root)));

  RestoreOptions o;
  o.old_key_file = tmp / "old.key";
  auto r = restore(file, o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->reencrypted);
  EXPECT_EQ(r->customers_erased, 1u);
  // The data dir opens with the current key only, and B's sealed data opens (keys rewrapped).
  expect_a_gone_b_intact(a);
}

TEST(ErasureJournal, TornLinesAreIgnoredMalformedOnesReportedDuplicatesSkipped) {
  TempDir tmp;
  const fs::path f = tmp / "erasures.journal";
  rights::ErasureJournal j(f);
  const std::string s1 = "sub_" + std::string(32, 'a'), s2 = "sub_" + std::string(32, 'b');
  ASSERT_EQ(*j.append({{s1, 100}, {s1, 200}}), 1u);
  ASSERT_EQ(*j.append({{s1, 300}, {s2, 400}}), 1u);
  auto read = rights::read_journal(f);
  ASSERT_TRUE(read.has_value());
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].erased_at, 100);
  // A crash in the middle of an append leaves a torn line: ignored, and the next append ends it.
  std::ofstream(f, std::ios::app) << "sub_cccc";
  EXPECT_EQ(rights::read_journal(f)->size(), 2u);
  const std::string s3 = "sub_" + std::string(32, 'c');
  ASSERT_EQ(*j.append({{s3, 500}}), 1u);
  EXPECT_EQ(rights::read_journal(f)->size(), 3u);
  std::ofstream(f, std::ios::app) << "Alice Example 12\n";
  auto bad = rights::read_journal(f);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Errc::corrupt);
  EXPECT_NE(bad.error().message.find(":5:"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(j.append({{"Alice", 1}}).has_value());
  EXPECT_EQ(rights::read_journal(tmp / "missing").error().code, Errc::not_found);
}

}  // namespace
}  // namespace comptoir::app

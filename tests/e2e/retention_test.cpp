// Retention and the records of processing against the real binary. A WhatsApp customer orders
// with delivery (the order is then completed), a second one orders for pickup and leaves items in
// the cart; then `comptoir retention run --now <future>` walks the years: each step first as a
// dry run (the database file unchanged, the same counts a real run then reports), then for real,
// and the rows are checked in the database itself — conversation states, carts, outgoing
// messages and inbound ids gone, delivery details cleared, the customers erased with their keys,
// orders detached then released at the end of their legal hold, consent records unlinked and
// deleted only after their five years. The sweeper inside `serve` removes what has expired at
// startup. The RoPA is served to owner and auditor (not operator) and printed by `comptoir ropa`.
#include <gtest/gtest.h>
#include <sqlcipher/sqlite3.h>

#include <fstream>
#include <sstream>

#include "src/app/data_dir.h"
#include "src/config/config.h"
#include "tests/e2e/channels_harness.h"
#include "tests/e2e/harness.h"

namespace comptoir::testing::e2e {
namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Opens the data dir as the CLI does (the server must be stopped) and answers single numbers.
class Inspector {
 public:
  explicit Inspector(const ServerInstance& s) {
    auto cfg = config::load(s.config());
    EXPECT_TRUE(cfg.has_value());
    if (!cfg) return;
    app::OpenDataDirOptions o;
    o.migrate = false;
    auto dd = app::open_data_dir(*cfg, o);
    EXPECT_TRUE(dd.has_value()) << (dd ? "" : dd.error().message);
    if (dd) dd_.emplace(std::move(*dd));
  }
  std::int64_t n(const std::string& sql) {
    std::int64_t v = -1;
    if (!dd_) return v;
    dd_->db->run([&](sqlite3* h) {
      sqlite3_stmt* st = nullptr;
      EXPECT_EQ(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
      if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
      sqlite3_finalize(st);
      return 0;
    });
    return v;
  }
  void exec(const std::string& sql) {
    dd_->db->run([&](sqlite3* h) {
      EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql;
      return 0;
    });
  }

 private:
  std::optional<app::OpenedDataDir> dd_;
};

std::string iso(std::int64_t t) { return format_rfc3339(TimePoint(std::chrono::seconds(t))); }

// `retention run --json` (dry or not) at `now`: the parsed report, by category.
struct SweepRun {
  json report;
  json of(const std::string& category) const {
    for (const auto& c : report["categories"]) {
      if (c["category"] == category) return c;
    }
    ADD_FAILURE() << "no category " << category;
    return json::object();
  }
  std::int64_t get(const std::string& category, const std::string& what) const { return of(category).value(what, -1); }
};

SweepRun retention(ServerInstance& s, std::int64_t now, bool dry) {
  std::vector<std::string> args = {"retention", "run", "-c", s.config().string(), "--now", iso(now), "--json"};
  if (dry) args.push_back("--dry-run");
  auto r = s.cli(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  SweepRun run;
  run.report = json::parse(r.out, nullptr, false);
  EXPECT_TRUE(run.report.is_object()) << r.out;
  return run;
}

// A dry run (file unchanged), then the real run, which must do exactly what the dry run said.
SweepRun dry_then_real(ServerInstance& s, std::int64_t now) {
  const fs::path db = s.data() / "comptoir.db";
  const std::string before = read_all(db);
  SweepRun dry = retention(s, now, true);
  EXPECT_TRUE(read_all(db) == before) << "a dry run changed the database file";
  EXPECT_EQ(dry.report.value("dry_run", false), true);
  SweepRun real = retention(s, now, false);
  EXPECT_EQ(real.report.value("dry_run", true), false);
  EXPECT_EQ(dry.report["categories"], real.report["categories"]) << "dry:\n" << dry.report.dump(1) << "\nreal:\n" << real.report.dump(1);
  EXPECT_EQ(dry.report["customers_erased"], real.report["customers_erased"]);
  return real;
}

TEST(RetentionE2E, TheYearsPassOverEveryCategoryOfTheDefaultInventory) {
  ChannelShop shop;
  ASSERT_TRUE(shop.start());
  const std::int64_t t0 = unix_now();
  WaCustomer zoe(shop, "33611220001", "Zoé Rétention");
  zoe.say("add baguette 1");
  zoe.choose("checkout");
  zoe.choose("ful:delivery");
  zoe.say("Zoé Rétention");
  shop.personal("7 rue du Temps Passé, Paris");
  zoe.say("7 rue du Temps Passé, Paris");
  zoe.choose("confirm");
  WaCustomer max(shop, "33611220002", "Max Panier");
  max.say("add baguette 2");
  max.choose("checkout");
  max.choose("ful:pickup");
  max.choose("confirm");
  max.say("add baguette 1");  // left in the cart
  auto admin = shop.s->client();
  for (const char* status : {"accepted", "shipped", "completed"}) {
    auto r = admin.Post("/api/v1/orders/C-000001/status", {{"Authorization", "Bearer " + shop.op}},
                    json{{"status", status}}.dump(), "application/json");
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
  }
  shop.settled();
  shop.stop();

  std::int64_t outbox = 0, inbound = 0, consents = 0, order_rows = 0;
  {
    Inspector db(*shop.s);
    outbox = db.n("SELECT COUNT(*) FROM outbox");
    inbound = db.n("SELECT COUNT(*) FROM inbound_messages");
    consents = db.n("SELECT COUNT(*) FROM consent_records");
    order_rows = db.n("SELECT COUNT(*) FROM orders") + db.n("SELECT COUNT(*) FROM order_lines") + db.n("SELECT COUNT(*) FROM order_vat");
    ASSERT_EQ(db.n("SELECT COUNT(*) FROM customers"), 2);
    ASSERT_EQ(db.n("SELECT COUNT(*) FROM orders"), 2);
    ASSERT_EQ(db.n("SELECT COUNT(*) FROM orders WHERE recipient_name_sealed IS NOT NULL"), 1);
    ASSERT_EQ(db.n("SELECT COUNT(*) FROM conversations"), 2);
    ASSERT_EQ(db.n("SELECT COUNT(*) FROM cart_items"), 1);
    ASSERT_EQ(consents, 2) << "one notice acknowledgement per order";
    ASSERT_GT(outbox, 0);
    ASSERT_GT(inbound, 0);
  }
  std::map<std::string, std::int64_t> expired;  // over all runs
  auto add = [&](const SweepRun& r) {
    for (const auto& c : r.report["categories"]) expired[c["category"]] += c["expired"].get<std::int64_t>();
  };

  // Nothing has expired right now.
  SweepRun r = dry_then_real(*shop.s, t0);
  add(r);
  for (const auto& c : r.report["categories"]) EXPECT_EQ(c["expired"], 0) << c.dump();

  // 100 days on: conversation states, carts, outgoing messages and inbound ids are gone; the
  // completed order's delivery details are cleared; nobody is erased yet.
  r = dry_then_real(*shop.s, t0 + 100 * 86400);
  add(r);
  EXPECT_EQ(r.get("conversation_state", "erased"), 2);
  EXPECT_EQ(r.get("cart", "erased"), 1);
  EXPECT_EQ(r.get("outgoing_messages", "erased"), outbox);
  EXPECT_EQ(r.get("inbound_message_ids", "erased"), inbound);
  EXPECT_EQ(r.get("delivery_details", "cleared"), 1);
  EXPECT_EQ(r.report["customers_erased"], 0);
  {
    Inspector db(*shop.s);
    for (const char* t : {"conversations", "cart_items", "outbox", "chat_messages", "inbound_messages"}) {
      EXPECT_EQ(db.n(std::string("SELECT COUNT(*) FROM ") + t), 0) << t;
    }
    EXPECT_EQ(db.n("SELECT COUNT(*) FROM orders WHERE recipient_name_sealed IS NOT NULL OR delivery_address_sealed IS NOT NULL"), 0);
    EXPECT_EQ(db.n("SELECT COUNT(*) FROM customers"), 2);
  }

  // Three years on: both customers were inactive for two years — erased, keys shredded, orders
  // detached and restricted, consent records unlinked.
  r = dry_then_real(*shop.s, t0 + 3 * 366 * 86400);
  add(r);
  EXPECT_EQ(r.report["customers_erased"], 2);
  EXPECT_EQ(r.get("customer_record", "erased"), 2);
  EXPECT_EQ(r.get("channel_address", "erased"), 2);
  EXPECT_EQ(r.get("order_records", "detached"), order_rows);
  EXPECT_EQ(r.get("consent_records", "unlinked"), consents);
  {
    Inspector db(*shop.s);
    EXPECT_EQ(db.n("SELECT COUNT(*) FROM customers"), 0);
    EXPECT_EQ(db.n("SELECT COUNT(*) FROM subject_keys"), 0);
    EXPECT_EQ(db.n("SELECT COUNT(*) FROM shredded_subjects"), 2);
    EXPECT_EQ(db.n("SELECT COUNT(*) FROM orders WHERE customer_id IS NULL AND restricted_until IS NOT NULL"), 2);
    EXPECT_EQ(db.n("SELECT COUNT(*) FROM consent_records WHERE customer_id IS NULL"), consents);
  }

  // Six years on: the consent records' five years have passed; the orders are still held.
  r = dry_then_real(*shop.s, t0 + 6 * 366 * 86400);
  add(r);
  EXPECT_EQ(r.get("consent_records", "erased"), consents);
  EXPECT_EQ(r.get("order_records", "released"), 0);
  {
    Inspector db(*shop.s);
    EXPECT_EQ(db.n("SELECT COUNT(*) FROM consent_records"), 0);
    EXPECT_EQ(db.n("SELECT COUNT(*) FROM orders"), 2);
  }

  // Twelve years on: the legal hold (ten years after the end of the fiscal year) has ended.
  r = dry_then_real(*shop.s, t0 + 12 * 366 * 86400);
  add(r);
  EXPECT_EQ(r.get("order_records", "released"), order_rows);
  {
    Inspector db(*shop.s);
    for (const char* t : {"orders", "order_lines", "order_vat", "customers", "consent_records", "conversations"}) {
      EXPECT_EQ(db.n(std::string("SELECT COUNT(*) FROM ") + t), 0) << t;
    }
  }
  // Every collected category of the default inventory had something expire; the two not
  // collected had nothing to.
  for (const char* c : {"customer_record", "channel_address", "conversation_state", "cart", "delivery_details",
                        "order_records", "outgoing_messages", "inbound_message_ids", "consent_records"}) {
    EXPECT_GT(expired[c], 0) << c;
  }
  EXPECT_EQ(expired["platform_profile"], 0);
  EXPECT_EQ(expired["chat_transcript"], 0);
  // The command's text output names the categories and what was done.
  auto text = shop.s->cli({"retention", "run", "-c", shop.s->config().string(), "--dry-run", "--now", iso(t0 + 20 * 366 * 86400)});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("dry run, nothing was changed"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("order_records"), std::string::npos);
  EXPECT_NE(text.out.find("RELEASED"), std::string::npos);
  shop.check_output(text.out + text.err, "retention output");
}

TEST(RetentionE2E, ABadNowIsRefusedAndChangesNothing) {
  ServerInstance s;
  ASSERT_TRUE(s.init());
  const std::string before = read_all(s.data() / "comptoir.db");
  for (const std::string bad : {"tomorrow", "2036-13-01T00:00:00Z", "2036-01-01", "2036-01-01T00:00:00"}) {
    auto r = s.cli({"retention", "run", "-c", s.config().string(), "--now", bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("--now must be an RFC 3339 time"), std::string::npos) << bad << ": " << r.err;
  }
  EXPECT_TRUE(read_all(s.data() / "comptoir.db") == before);
}

TEST(RetentionE2E, TheSweeperInsideServeRemovesWhatHasExpired) {
  ServerInstance s("", R"("retention": {"sweep_interval_seconds": 3600, "batch_size": 2})");
  ASSERT_TRUE(s.init());
  {
    Inspector db(s);
    // Unlinked consent records (the housekeeping thread never touches them), five past their
    // five years, one fresh.
    const std::string insert = "INSERT INTO consent_records (customer_id, kind, notice_version, language, channel, "
                               "created_at) VALUES (NULL, 'notice_acknowledged', '" + std::string(64, 'c') + "', 'en', 'webchat', ";
    for (int i = 0; i < 5; ++i) db.exec(insert + "1000000000)");
    db.exec(insert + std::to_string(unix_now()) + ")");
  }
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(await([&] { return s.process().err().find("\"event\":\"retention.swept\"") != std::string::npos; }));
  EXPECT_EQ(s.stop(), 0);
  const std::string err = s.process().err();
  const auto line = err.substr(err.find("\"event\":\"retention.swept\""));
  EXPECT_NE(line.find("\"erased\":5"), std::string::npos) << line.substr(0, line.find('\n'));
  Inspector db(s);
  EXPECT_EQ(db.n("SELECT COUNT(*) FROM consent_records"), 1);
}

TEST(RecordsOfProcessingE2E, OwnerAndAuditorReadItOperatorDoesNot) {
  ServerInstance s("", R"("shop": {"name": "Épicerie Art. 30", "contact": "dpo@epicerie.example"})");
  ASSERT_TRUE(s.init());
  const std::string owner = s.create_token("owner"), auditor = s.create_token("auditor"), op = s.create_token("operator");
  ASSERT_TRUE(s.start());
  auto c = s.client();
  for (const auto& token : {owner, auditor}) {
    auto r = c.Get("/api/v1/records-of-processing", {{"Authorization", "Bearer " + token}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j["format"], "comptoir.ropa.v1");
    EXPECT_EQ(j["controller"]["name"], "Épicerie Art. 30");
    EXPECT_EQ(j["controller"]["email"], "dpo@epicerie.example");
    EXPECT_FALSE(j["processing_activities"].empty());
    EXPECT_FALSE(j["security_measures"].empty());
    EXPECT_EQ(j["third_country_transfers"].size(), 2u);
    bool orders = false;
    for (const auto& k : j["categories_of_data"]) {
      if (k["id"] == "order_records") {
        orders = true;
        EXPECT_EQ(k["retention"]["duration"], "P10Y");
        EXPECT_EQ(k["erasure"]["outcome"], "keep_restricted");
      }
    }
    EXPECT_TRUE(orders);
  }
  auto md = c.Get("/api/v1/records-of-processing?format=md&lang=fr", {{"Authorization", "Bearer " + auditor}});
  ASSERT_TRUE(md);
  EXPECT_EQ(md->status, 200);
  EXPECT_NE(md->get_header_value("Content-Type").find("text/markdown"), std::string::npos);
  EXPECT_NE(md->body.find("# Records of processing activities"), std::string::npos);
  EXPECT_NE(md->body.find("Fiche client"), std::string::npos) << "the inventory's texts in French";
  auto denied = c.Get("/api/v1/records-of-processing", {{"Authorization", "Bearer " + op}});
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  auto anonymous = c.Get("/api/v1/records-of-processing");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  auto bad = c.Get("/api/v1/records-of-processing?format=pdf", {{"Authorization", "Bearer " + owner}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(s.stop(), 0);

  auto as_json = s.cli({"ropa", "-c", s.config().string(), "--format", "json"});
  EXPECT_EQ(as_json.exit_code, 0) << as_json.err;
  const json j = json::parse(as_json.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << as_json.out;
  EXPECT_EQ(j["controller"]["name"], "Épicerie Art. 30");
  auto as_md = s.cli({"ropa", "-c", s.config().string(), "--format", "md"});
  EXPECT_EQ(as_md.exit_code, 0) << as_md.err;
  EXPECT_NE(as_md.out.find("## Transfers to third countries"), std::string::npos);
  EXPECT_NE(as_md.out.find("## Technical and organisational security measures"), std::string::npos);
  auto wrong = s.cli({"ropa", "-c", s.config().string(), "--format", "pdf"});
  EXPECT_EQ(wrong.exit_code, 2);
}

}  // namespace
}  // namespace comptoir::testing::e2e

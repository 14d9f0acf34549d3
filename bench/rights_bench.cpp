// rights_bench: how long the export (Art. 15/20) of a customer with many orders takes, and how
// long an erasure (Art. 17) takes depending on how many other customers the shop has. Builds real
// SQLCipher databases in a temp dir (the example catalog, customers created through the customer
// directory, orders placed through the shop with sealed delivery details) and times
// rights::export_subject and rights::erase_subject (each erasure in its own durable write, commit
// included). Prints figures; never fails because the machine is slow. Figures and the command:
// docs/performance.md ("Data-subject rights").
//
//   rights_bench [--customers 1000,100000] [--orders 1000] [--erasures 30]
//
// Exit codes: 0 done; 1 a step failed (the figures would mean nothing); 2 usage.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "privacy/blind_index.h"
#include "privacy/inventory.h"
#include "privacy/vault.h"
#include "src/app/shop_setup.h"
#include "src/commerce/catalog_json.h"
#include "src/commerce/customers.h"
#include "src/commerce/shop.h"
#include "src/common/env.h"
#include "src/common/log.h"
#include "src/common/secret.h"
#include "src/rights/erasure.h"
#include "src/rights/export.h"
#include "storage/database.h"
#include "storage/subject_key_store.h"

namespace {

using namespace comptoir;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "rights_bench: %s\n", what.c_str());
  std::exit(1);
}

template <class T>
T must(Result<T> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().message);
  return std::move(*r);
}
void must(const Status& s, const char* what) {
  if (!s) die(std::string(what) + ": " + s.error().message);
}

double ms_since(Steady::time_point t0) {
  return std::chrono::duration<double, std::milli>(Steady::now() - t0).count();
}

struct Stats {
  double median = 0, p95 = 0, max = 0;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Stats s;
  if (v.empty()) return s;
  s.median = v[v.size() / 2];
  s.p95 = v[std::min(v.size() - 1, v.size() * 95 / 100)];
  s.max = v.back();
  return s;
}

// A shop database with its stack.
struct World {
  fs::path dir;
  SecretBytes db_key = SecretBytes::random(32);
  SecretBytes wrap_key = SecretBytes::random(32);
  SecretBytes index_key = SecretBytes::random(32);
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<storage::SubjectKeyStore> keys;
  std::unique_ptr<privacy::Vault> vault;
  std::unique_ptr<privacy::BlindIndex> index;
  std::unique_ptr<commerce::CustomerDirectory> customers;
  std::unique_ptr<commerce::Shop> shop;
  privacy::Inventory inventory = must(privacy::default_inventory(), "inventory");
  std::vector<std::string> skus;

  explicit World(fs::path d) : dir(std::move(d)) {
    fs::create_directories(dir);
    storage::OpenOptions o;
    o.create = true;
    db = must(storage::Database::open(dir / "comptoir.db", db_key, o), "open");
    must(db->migrate(), "migrate");
    keys = std::make_unique<storage::SubjectKeyStore>(*db);
    vault = std::make_unique<privacy::Vault>(*keys, wrap_key, system_clock());
    index = std::make_unique<privacy::BlindIndex>(index_key);
    customers = std::make_unique<commerce::CustomerDirectory>(*db, *vault, *index, system_clock());
    config::Config cfg;
    shop = std::make_unique<commerce::Shop>(*db, *customers, app::shop_settings(cfg), system_clock());
    auto catalog = must(app::load_catalog(cfg, std::nullopt), "catalog");
    for (auto& p : catalog.products) {
      p.stock = 1'000'000'000;  // never the limit here
      if (p.active) skus.push_back(p.sku);
    }
    must(commerce::import_catalog(*db, catalog, unix_seconds(system_clock().now())), "import catalog");
  }
  ~World() {
    shop.reset();
    customers.reset();
    vault.reset();
    keys.reset();
    db->close();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  // Creates customer `n` with `orders` delivery orders of two lines each and a cart line left.
  commerce::Customer customer_with_orders(storage::Tx& tx, const std::string& address, int orders, std::size_t seed) {
    auto c = must(customers->find_or_create(tx, privacy::Channel::webchat, address, "fr"), "customer");
    for (int i = 0; i < orders; ++i) {
      must(shop->add_to_cart(tx, c.id, skus[(seed + static_cast<std::size_t>(i)) % skus.size()], 2), "add");
      must(shop->add_to_cart(tx, c.id, skus[(seed + static_cast<std::size_t>(i) + 7) % skus.size()], 1), "add");
      auto placed = must(shop->place_order(tx, c, commerce::Fulfilment::delivery,
                                           commerce::DeliveryDetails{"Camille Martin-" + std::to_string(seed),
                                                                     std::to_string(i + 1) + " rue des Lilas, 75011 Paris"}),
                         "place order");
      if (!placed.order) die("an order was not placed");
    }
    must(shop->add_to_cart(tx, c.id, skus[seed % skus.size()], 1), "add");
    return c;
  }

  // `n` customers with one order each, in batches.
  void populate(std::size_t n, std::size_t offset) {
    constexpr std::size_t kBatch = 500;
    for (std::size_t start = 0; start < n; start += kBatch) {
      must(db->write([&](storage::Tx& tx) -> Status {
             for (std::size_t i = start; i < std::min(n, start + kBatch); ++i) {
               customer_with_orders(tx, "wcs_bench_other_" + std::to_string(offset + i) + "_padding_xx", 1, i);
             }
             return ok();
           }),
           "populate");
    }
  }
};

struct Figures {
  std::size_t customers = 0;
  double populate_s = 0;
  Stats export_1000;
  std::size_t export_bytes = 0;
  Stats erasure;
  double erasure_big = 0;
};

Figures run(std::size_t others, int orders, int erasures) {
  Figures f;
  f.customers = others;
  World w(fs::temp_directory_path() / ("comptoir-rights-bench-" + std::to_string(::getpid()) + "-" + std::to_string(others)));
  auto t0 = Steady::now();
  w.populate(others, 0);
  // The customer with many orders, and the customers to erase (5 orders each, like a regular).
  commerce::Customer big;
  must(w.db->write([&](storage::Tx& tx) -> Status {
         big = w.customer_with_orders(tx, "wcs_bench_big_customer_padding_000001", orders, 3);
         return ok();
       }),
       "big customer");
  std::vector<commerce::Customer> victims;
  must(w.db->write([&](storage::Tx& tx) -> Status {
         victims.clear();
         for (int i = 0; i < erasures; ++i) {
           victims.push_back(w.customer_with_orders(tx, "wcs_bench_victim_" + std::to_string(i) + "_padding_xxxxxx", 5,
                                                    static_cast<std::size_t>(i)));
         }
         return ok();
       }),
       "victims");
  f.populate_s = ms_since(t0) / 1000.0;

  // Export: a read transaction, as the request handler will run it.
  std::vector<double> times;
  for (int run = 0; run < 7; ++run) {
    auto t = Steady::now();
    std::string doc;
    must(w.db->read([&](storage::Tx& tx) -> Status {
           doc = must(rights::export_subject(tx, w.inventory, *w.vault, {big.id, big.subject_id}, {"fr", "Shop", "shop@x"},
                                             system_clock()),
                      "export");
           return ok();
         }),
         "export read");
    times.push_back(ms_since(t));
    f.export_bytes = doc.size();
  }
  f.export_1000 = stats(times);

  // Erasure: each in its own write (durable commit included).
  times.clear();
  for (const auto& v : victims) {
    auto t = Steady::now();
    must(w.db->write([&](storage::Tx& tx) -> Status {
           auto r = rights::erase_subject(tx, w.inventory, *w.vault, {v.id, v.subject_id}, system_clock());
           if (!r) return std::unexpected(r.error());
           return ok();
         }),
         "erase");
    times.push_back(ms_since(t));
  }
  f.erasure = stats(times);
  auto t = Steady::now();
  must(w.db->write([&](storage::Tx& tx) -> Status {
         auto r = rights::erase_subject(tx, w.inventory, *w.vault, {big.id, big.subject_id}, system_clock());
         if (!r) return std::unexpected(r.error());
         return ok();
       }),
       "erase big");
  f.erasure_big = ms_since(t);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  ensure_sodium();
  log::set_level(log::Level::warn);
  std::vector<std::size_t> sizes = {1000, 100000};
  int orders = 1000, erasures = 30;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "rights_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--customers") {
      sizes.clear();
      std::string list = next();
      std::size_t pos = 0;
      while (pos <= list.size()) {
        const auto comma = list.find(',', pos);
        sizes.push_back(std::stoul(list.substr(pos, comma - pos)));
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
    } else if (a == "--orders") {
      orders = std::stoi(next());
    } else if (a == "--erasures") {
      erasures = std::stoi(next());
    } else {
      std::fprintf(stderr, "usage: rights_bench [--customers 1000,100000] [--orders 1000] [--erasures 30]\n");
      return 2;
    }
  }
  const auto v = storage::library_versions();
  std::printf("rights_bench: SQLCipher %s (SQLite %s), WAL synced before each write returns; %d orders for the exported customer, %d "
              "erasures of customers with 5 orders each\n",
              v.sqlcipher.c_str(), v.sqlite.c_str(), orders, erasures);
  std::printf("%-10s %-9s %-28s %-10s %-30s %s\n", "customers", "setup_s", "export_ms (median/p95/max)", "export_kb",
              "erasure_ms (median/p95/max)", "erasure_ms_of_exported");
  for (auto n : sizes) {
    const Figures f = run(n, orders, erasures);
    std::printf("%-10zu %-9.1f %6.1f / %6.1f / %6.1f       %-10zu %6.2f / %6.2f / %6.2f          %.1f\n", f.customers,
                f.populate_s, f.export_1000.median, f.export_1000.p95, f.export_1000.max, f.export_bytes / 1024,
                f.erasure.median, f.erasure.p95, f.erasure.max, f.erasure_big);
    std::fflush(stdout);
  }
  return 0;
}

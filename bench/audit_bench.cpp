// Audit log benchmark (issue 7). Prints figures; never part of the test suite.
//
// 1. Appending under load: --threads threads each make --writes Database::write calls (group
//    commit) on a real SQLCipher file. Each write inserts one row into a table of its own (a
//    stand-in for the action being audited) and, in the "with audit" run, appends one audit event
//    in the same transaction. Printed: writes/s of both runs, the marginal cost of the audit
//    event per write (difference of the runs' wall time per write), and the time spent inside
//    AuditLog::record itself (measured around the call, summed over all calls).
// 2. Verification: --events events (default 1,000,000) are appended (checkpoint every 1000),
//    exported as JSON lines, and the export is verified as `comptoir audit verify --file` does;
//    the live log is verified as `comptoir audit verify -c` does.
//
//   build/bench/audit_bench [--dir DIR] [--threads 16] [--writes 2000] [--events 1000000]
#include <sodium.h>
#include <sqlcipher/sqlite3.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "src/audit/chain.h"
#include "src/audit/log.h"
#include "storage/database.h"
#include "storage/sqlite.h"

using namespace comptoir;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

audit::Event sample_event(int i) {
  audit::Event e;
  e.actor = audit::Actor::token("tok_0123456789abcdef", "operator");
  e.action = "order.read";
  e.resource = "order:C-" + std::to_string(100000 + i);
  e.subject = "sub_7f3a9c0e1d2b4a5f6e7d8c9b0a1f2e3d";
  e.purpose = "contract";
  e.details = {{"delivery_details", "shown"}};
  return e;
}

std::unique_ptr<storage::Database> open_new(const fs::path& file, const SecretBytes& key) {
  storage::OpenOptions o;
  o.create = true;
  auto db = storage::Database::open(file, key, o);
  if (!db || !(*db)->migrate()) {
    std::fprintf(stderr, "cannot create %s\n", file.c_str());
    std::exit(1);
  }
  auto st = (*db)->transaction([](sqlite3* h) {
    return storage::exec(h, "CREATE TABLE bench_actions (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER NOT NULL);");
  });
  if (!st) std::exit(1);
  return std::move(*db);
}

struct LoadResult {
  double wall = 0;
  double in_record = 0;  // seconds inside AuditLog::record, summed
};

LoadResult run_load(storage::Database& db, audit::AuditLog* log, int threads, int writes) {
  std::atomic<long long> record_ns{0};
  std::vector<std::thread> pool;
  const auto t0 = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < writes; ++i) {
        const audit::Event e = sample_event(t * writes + i);
        auto st = db.write([&](storage::Tx& tx) -> Status {
          storage::Stmt s(tx, "INSERT INTO bench_actions (name, n) VALUES (?, ?)");
          s.bind(1, e.resource).bind(2, static_cast<std::int64_t>(i));
          if (auto r = s.run(); !r) return r;
          if (log == nullptr) return ok();
          const auto r0 = Clock::now();
          auto r = log->record(tx, e);
          record_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - r0).count();
          return r;
        });
        if (!st) {
          std::fprintf(stderr, "write failed: %s\n", st.error().message.c_str());
          std::exit(1);
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  return {seconds_since(t0), static_cast<double>(record_ns.load()) / 1e9};
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = fs::temp_directory_path();
  int threads = 16, writes = 2000;
  long long events = 1000000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--dir") dir = argv[i + 1];
    else if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--writes") writes = std::atoi(argv[i + 1]);
    else if (a == "--events") events = std::atoll(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: audit_bench [--dir DIR] [--threads N] [--writes N] [--events N]\n");
      return 2;
    }
  }
  ensure_sodium();
  const fs::path work = dir / ("audit_bench." + std::to_string(::getpid()));
  fs::create_directories(work);
  const SecretBytes key = SecretBytes::random(32);
  const auto signer = audit::Signer::from_seed(SecretBytes::random(32));
  SystemClock clock;

  // 1. Appending under load.
  const long long total = static_cast<long long>(threads) * writes;
  LoadResult plain, audited;
  {
    auto db = open_new(work / "plain.db", key);
    plain = run_load(*db, nullptr, threads, writes);
  }
  {
    auto db = open_new(work / "audited.db", key);
    audit::AuditLog log(*db, *signer, clock, {1000, 300});
    audited = run_load(*db, &log, threads, writes);
    audit::Verifier v(signer->public_key());
    auto st = log.walk([&](const audit::Record& r) { return v.event(r, "seq " + std::to_string(r.seq)); },
                       [&](const audit::Checkpoint& c) { return v.checkpoint(c, "checkpoint"); });
    if (!st || !v.finish(false) || v.summary().events != total) {
      std::fprintf(stderr, "the log written under load does not verify\n");
      return 1;
    }
  }
  std::printf("append under load: %d threads x %d writes (group commit), one audit event per write\n", threads, writes);
  std::printf("  without audit: %.2f s, %.0f writes/s\n", plain.wall, static_cast<double>(total) / plain.wall);
  std::printf("  with audit:    %.2f s, %.0f writes/s (%.1f us per write, amortized)\n", audited.wall,
              static_cast<double>(total) / audited.wall, audited.wall / static_cast<double>(total) * 1e6);
  std::printf("  marginal cost of the audit event: %.1f us per event (amortized)\n",
              (audited.wall - plain.wall) / static_cast<double>(total) * 1e6);
  std::printf("  inside AuditLog::record:          %.1f us per event (head read, hash, insert, checkpoint share)\n",
              audited.in_record / static_cast<double>(total) * 1e6);

  // 2. Verifying `events` events.
  {
    auto db = open_new(work / "big.db", key);
    audit::AuditLog log(*db, *signer, clock, {1000, 300});
    const auto t0 = Clock::now();
    constexpr long long kBatch = 10000;
    for (long long done = 0; done < events;) {
      const long long n = std::min(kBatch, events - done);
      auto st = db->write([&](storage::Tx& tx) -> Status {
        for (long long i = 0; i < n; ++i) {
          if (auto r = log.record(tx, sample_event(static_cast<int>(done + i))); !r) return r;
        }
        return ok();
      });
      if (!st) {
        std::fprintf(stderr, "append failed: %s\n", st.error().message.c_str());
        return 1;
      }
      done += n;
    }
    if (!log.checkpoint()) return 1;
    const double appended = seconds_since(t0);
    std::printf("verification: %lld events appended in %.1f s (%.1f us per event, 10,000 per transaction)\n", events,
                appended, appended / static_cast<double>(events) * 1e6);

    const fs::path file = work / "export.jsonl";
    auto t1 = Clock::now();
    {
      std::ofstream out(file, std::ios::binary);
      auto st = log.walk(
          [&](const audit::Record& r) -> Status {
            out << audit::to_json(r) << '\n';
            return ok();
          },
          [&](const audit::Checkpoint& c) -> Status {
            out << audit::to_json(c) << '\n';
            return ok();
          });
      if (!st) return 1;
    }
    std::printf("  export: %.1f s, %.0f MB\n", seconds_since(t1), static_cast<double>(fs::file_size(file)) / 1e6);

    t1 = Clock::now();
    std::ifstream in(file, std::ios::binary);
    auto summary = audit::verify_export(in, signer->public_key());
    const double file_s = seconds_since(t1);
    if (!summary) {
      std::fprintf(stderr, "the export does not verify: %s\n", summary.error().message.c_str());
      return 1;
    }
    std::printf("  verify the export (JSON lines): %.2f s for %lld events and %lld checkpoints\n", file_s,
                static_cast<long long>(summary->events), static_cast<long long>(summary->checkpoints));

    t1 = Clock::now();
    audit::Verifier v(signer->public_key());
    auto st = log.walk([&](const audit::Record& r) { return v.event(r, "seq"); },
                       [&](const audit::Checkpoint& c) { return v.checkpoint(c, "checkpoint"); });
    if (!st || !v.finish(true)) {
      std::fprintf(stderr, "the live log does not verify\n");
      return 1;
    }
    std::printf("  verify the live log (database):  %.2f s\n", seconds_since(t1));
  }
  fs::remove_all(work);
  return 0;
}

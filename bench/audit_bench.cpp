// Audit log benchmark (issue 7). Prints figures; never part of the test suite.
//
// 1. Appending under load: --threads threads each make --writes Database::write calls (group
//    commit) on a real SQLCipher file. Each write inserts one row into a table of its own (a
//    stand-in for the action being audited) and, in the "with audit" runs, appends one audit
//    event in the same transaction. --rounds rounds alternate the two. Printed (medians): the
//    time spent inside AuditLog::record itself (measured around the call on the committing
//    thread, summed over all calls: the cost an event adds to the serialized writer), the
//    process CPU time per write with and without the event, and the wall time per write.
// 2. Verification: --events events (default 1,000,000) are appended (checkpoint every 1000),
//    exported as JSON lines, and the export is verified as `comptoir audit verify --file` does;
//    the live log is verified as `comptoir audit verify -c` does.
//
//   build/bench/audit_bench [--dir DIR] [--threads 16] [--writes 2000] [--rounds 5] [--events 1000000]
#include <sodium.h>
#include <sqlcipher/sqlite3.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
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
using Steady = std::chrono::steady_clock;

namespace {

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double seconds_since(Steady::time_point t0) { return std::chrono::duration<double>(Steady::now() - t0).count(); }

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
  const auto t0 = Steady::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < writes; ++i) {
        const audit::Event e = sample_event(t * writes + i);
        auto st = db.write([&](storage::Tx& tx) -> Status {
          storage::Stmt s(tx, "INSERT INTO bench_actions (name, n) VALUES (?, ?)");
          s.bind(1, e.resource).bind(2, static_cast<std::int64_t>(i));
          if (auto r = s.run(); !r) return r;
          if (log == nullptr) return ok();
          const auto r0 = Steady::now();
          auto r = log->record(tx, e);
          record_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now() - r0).count();
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
  int threads = 16, writes = 2000, rounds = 5;
  long long events = 1000000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--dir") dir = argv[i + 1];
    else if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--writes") writes = std::atoi(argv[i + 1]);
    else if (a == "--events") events = std::atoll(argv[i + 1]);
    else if (a == "--rounds") rounds = std::max(1, std::atoi(argv[i + 1]));
    else {
      std::fprintf(stderr, "usage: audit_bench [--dir DIR] [--threads N] [--writes N] [--rounds N] [--events N]\n");
      return 2;
    }
  }
  ensure_sodium();
  const fs::path work = dir / ("audit_bench." + std::to_string(::getpid()));
  fs::create_directories(work);
  const SecretBytes key = SecretBytes::random(32);
  const auto signer = audit::Signer::from_seed(SecretBytes::random(32));
  SystemClock clock;

  // 1. Appending under load: rounds alternate between the two databases so that the machine's
  // load (shared disk and cores) hits both alike; medians are printed.
  const long long total = static_cast<long long>(threads) * writes;
  std::vector<double> plain_wall, audited_wall, plain_cpu, audited_cpu, in_record;
  {
    auto plain_db = open_new(work / "plain.db", key);
    auto audited_db = open_new(work / "audited.db", key);
    audit::AuditLog log(*audited_db, *signer, clock, {1000, 300});
    for (int round = 0; round < rounds; ++round) {
      double cpu0 = cpu_seconds();
      LoadResult p = run_load(*plain_db, nullptr, threads, writes);
      plain_cpu.push_back(cpu_seconds() - cpu0);
      plain_wall.push_back(p.wall);
      cpu0 = cpu_seconds();
      LoadResult a = run_load(*audited_db, &log, threads, writes);
      audited_cpu.push_back(cpu_seconds() - cpu0);
      audited_wall.push_back(a.wall);
      in_record.push_back(a.in_record);
    }
    audit::Verifier v(signer->public_key());
    auto st = log.walk([&](const audit::Record& r) { return v.event(r, "seq " + std::to_string(r.seq)); },
                       [&](const audit::Checkpoint& c) { return v.checkpoint(c, "checkpoint"); });
    if (!st || !v.finish(false) || v.summary().events != total * rounds) {
      std::fprintf(stderr, "the log written under load does not verify\n");
      return 1;
    }
  }
  const double n = static_cast<double>(total);
  std::printf("append under load: %d threads x %d writes (group commit), one audit event per write, %d rounds\n",
              threads, writes, rounds);
  std::printf("  inside AuditLog::record (head read, hash, insert, checkpoint share): median %.1f us per event\n",
              median(in_record) / n * 1e6);
  std::printf("  process CPU per write: %.1f us without audit, %.1f us with (+%.1f us per event)\n",
              median(plain_cpu) / n * 1e6, median(audited_cpu) / n * 1e6,
              (median(audited_cpu) - median(plain_cpu)) / n * 1e6);
  std::printf("  wall per write (commit and fsync shared by the batch): %.1f us without audit, %.1f us with\n",
              median(plain_wall) / n * 1e6, median(audited_wall) / n * 1e6);
  std::printf("  rounds (wall s, without / with):");
  for (int r = 0; r < rounds; ++r) std::printf(" %.2f/%.2f", plain_wall[static_cast<std::size_t>(r)], audited_wall[static_cast<std::size_t>(r)]);
  std::printf("\n");

  // 2. Verifying `events` events.
  {
    auto db = open_new(work / "big.db", key);
    audit::AuditLog log(*db, *signer, clock, {1000, 300});
    const auto t0 = Steady::now();
    constexpr long long kBatch = 10000;
    for (long long done = 0; done < events;) {
      const long long batch = std::min(kBatch, events - done);
      auto st = db->write([&](storage::Tx& tx) -> Status {
        for (long long i = 0; i < batch; ++i) {
          if (auto r = log.record(tx, sample_event(static_cast<int>(done + i))); !r) return r;
        }
        return ok();
      });
      if (!st) {
        std::fprintf(stderr, "append failed: %s\n", st.error().message.c_str());
        return 1;
      }
      done += batch;
    }
    if (!log.checkpoint()) return 1;
    const double appended = seconds_since(t0);
    std::printf("verification: %lld events appended in %.1f s (%.1f us per event, 10,000 per transaction)\n", events,
                appended, appended / static_cast<double>(events) * 1e6);

    const fs::path file = work / "export.jsonl";
    auto t1 = Steady::now();
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

    t1 = Steady::now();
    double cpu0 = cpu_seconds();
    std::ifstream in(file, std::ios::binary);
    auto summary = audit::verify_export(in, signer->public_key());
    const double file_s = seconds_since(t1), file_cpu = cpu_seconds() - cpu0;
    if (!summary) {
      std::fprintf(stderr, "the export does not verify: %s\n", summary.error().message.c_str());
      return 1;
    }
    std::printf("  verify the export (JSON lines): %.2f s (CPU %.2f s, all threads) for %lld events and %lld checkpoints\n",
                file_s, file_cpu, static_cast<long long>(summary->events), static_cast<long long>(summary->checkpoints));

    t1 = Steady::now();
    cpu0 = cpu_seconds();
    audit::Verifier v(signer->public_key());
    auto st = log.walk([&](const audit::Record& r) { return v.event(r, "seq"); },
                       [&](const audit::Checkpoint& c) { return v.checkpoint(c, "checkpoint"); });
    if (!st || !v.finish(true)) {
      std::fprintf(stderr, "the live log does not verify\n");
      return 1;
    }
    std::printf("  verify the live log (database):  %.2f s (CPU %.2f s, one thread)\n", seconds_since(t1), cpu_seconds() - cpu0);
  }
  fs::remove_all(work);
  return 0;
}

// Crash safety of the WhatsApp channel and the outbox: signed webhooks from many customers are
// sent concurrently, the server is killed with SIGKILL in the middle, restarted on the same data
// dir (new ephemeral port), and every webhook is sent again — those that got no 200 and, as Meta
// does, those that did. Then: every message that was acknowledged before the kill is reported as
// a duplicate (its effects were durable), the outbox holds exactly one set of replies per
// message (nothing processed twice, nothing lost), every reply was delivered, and each customer
// received their replies — at most one more than that, the one message the worker may have had in
// flight for them when it was killed (an outbound send is at-least-once by nature).
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/channels_harness.h"

namespace comptoir::testing::e2e {
namespace {

constexpr int kCustomers = 30;
constexpr int kMessagesEach = 10;
constexpr int kTotal = kCustomers * kMessagesEach;

std::string phone_of(int c) { return "3367" + std::to_string(1000000 + c); }

struct Webhook {
  std::string phone;
  std::string body;  // signed as Meta would, escaped
};

// Posts every webhook in `items` from `threads` parallel clients to `port`; records the HTTP
// status (0 = no answer) and the result JSON of each.
void post_all(int port, const std::vector<Webhook>& items, std::vector<int>& status, std::vector<json>& result,
              std::atomic<int>& acked, int threads) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      httplib::Client c("127.0.0.1", port);
      c.set_connection_timeout(5, 0);
      c.set_read_timeout(20, 0);
      const SecretBytes secret = SecretBytes::copy_of(kAppSecret);
      for (std::size_t i = next++; i < items.size(); i = next++) {
        httplib::Headers h = {{"X-Hub-Signature-256", channels::whatsapp::sign(items[i].body, secret)}};
        auto r = c.Post("/webhooks/whatsapp", h, items[i].body, "application/json");
        if (r && r->status == 200) {
          result[i] = json::parse(r->body, nullptr, false);
          status[i] = 200;
          ++acked;
        } else {
          status[i] = r ? r->status : 0;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
}

TEST(CrashSafety, KillNineUnderLoadThenRestart) {
  ChannelShop shop;
  ChannelOptions o;
  o.senders = 8;
  ASSERT_TRUE(shop.start(o));

  // How many outbound messages one "hello" gives (the same for every message below).
  const std::string probe = "33600000999";
  shop.personal(probe);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(shop.whatsapp(wa::envelope(json::array({wa::text(probe, "wamid.PROBE." + std::to_string(i), "hello")})))["processed"], 1);
    ASSERT_TRUE(shop.settled());
  }
  const std::size_t probe_sent = shop.graph.sent_to(probe).size();
  ASSERT_EQ(probe_sent % 2, 0u);
  const std::size_t k = probe_sent / 2;
  ASSERT_GE(k, 1u);

  // 300 distinct messages from 30 customers, interleaved so each customer has several in flight.
  std::vector<Webhook> items;
  for (int m = 0; m < kMessagesEach; ++m) {
    for (int c = 0; c < kCustomers; ++c) {
      const std::string phone = phone_of(c);
      const std::string id = "wamid.CRASH." + std::to_string(c) + "." + std::to_string(m);
      items.push_back({phone, meta_escaped(wa::envelope(json::array({wa::text(phone, id, "hello")}), nullptr, phone,
                                                        "Client Numéro " + std::to_string(c)))});
    }
  }
  for (int c = 0; c < kCustomers; ++c) {
    shop.personal(phone_of(c));
    shop.personal("Client Numéro " + std::to_string(c));
  }

  // Round 1: the server is killed with SIGKILL once a third of the messages were acknowledged.
  std::vector<int> status1(items.size(), -1);
  std::vector<json> result1(items.size());
  std::atomic<int> acked1{0};
  std::thread load([&] { post_all(shop.s->port(), items, status1, result1, acked1, 12); });
  const bool reached = await([&] { return acked1.load() >= kTotal / 3; }, std::chrono::seconds(60));
  shop.s->process().signal(SIGKILL);
  load.join();
  EXPECT_TRUE(reached) << "only " << acked1.load() << " acknowledged before the deadline";
  EXPECT_EQ(shop.s->process().wait(std::chrono::seconds(30)), -1);  // killed by the signal
  const int acked_before_kill = acked1.load();
  EXPECT_LT(acked_before_kill, kTotal) << "the server finished before the kill: the test proves less than it should";
  std::vector<int> lost;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (status1[i] == 200) {
      EXPECT_EQ(result1[i]["processed"], 1) << i;
    } else {
      lost.push_back(static_cast<int>(i));
    }
  }
  const std::string first_run_output = shop.s->process().err();
  shop.check_output(first_run_output, "stderr of the killed server");

  // Round 2: restart on the same data dir (a new ephemeral port); Meta redelivers everything.
  ASSERT_TRUE(shop.s->start());
  std::vector<int> status2(items.size(), -1);
  std::vector<json> result2(items.size());
  std::atomic<int> acked2{0};
  post_all(shop.s->port(), items, status2, result2, acked2, 12);
  EXPECT_EQ(acked2.load(), kTotal);
  int processed_now = 0;
  std::vector<std::size_t> processed_twice;
  for (std::size_t i = 0; i < items.size(); ++i) {
    ASSERT_EQ(status2[i], 200) << i;
    ASSERT_TRUE(result2[i].is_object()) << i;
    const int p = result2[i].value("processed", -1), d = result2[i].value("duplicates", -1);
    EXPECT_EQ(p + d, 1) << i << ": " << result2[i].dump();
    // Acknowledged before the kill: its effects were committed, so now it is a duplicate.
    if (status1[i] == 200 && d != 1) processed_twice.push_back(i);
    processed_now += p;
  }
  EXPECT_TRUE(processed_twice.empty()) << processed_twice.size() << " messages acknowledged before the kill were processed "
                                       << "again after the restart (the first is #" << (processed_twice.empty() ? 0 : processed_twice[0]) << ")";
  EXPECT_LE(processed_now, static_cast<int>(lost.size()));
  std::printf("crash test: %d of %d acknowledged before SIGKILL, %d processed after the restart, %zu replies each\n",
              acked_before_kill, kTotal, processed_now, k);

  // Every reply is delivered: nothing pending, nothing failed.
  ASSERT_TRUE(shop.settled(std::chrono::seconds(90)));
  const json counts = shop.outbox()["counts"];
  const std::size_t expected_rows = (kTotal + 2) * k;  // exactly one set of replies per message
  EXPECT_EQ(counts["pending"], 0);
  EXPECT_EQ(counts["failed"], 0) << shop.outbox("?status=failed").dump();
  EXPECT_EQ(counts["sent"].get<std::size_t>() + counts["delivered"].get<std::size_t>() + counts["read"].get<std::size_t>(),
            expected_rows)
      << counts.dump();

  // Each customer received their replies; a duplicate only for a send in flight at the kill.
  std::size_t total = 0;
  for (int c = 0; c < kCustomers; ++c) {
    const std::size_t got = shop.graph.sent_to(phone_of(c)).size();
    EXPECT_GE(got, kMessagesEach * k) << "customer " << c << " is missing replies";
    EXPECT_LE(got, kMessagesEach * k + 1) << "customer " << c << " got replies twice";
    total += got;
  }
  EXPECT_LE(total, kTotal * k + kCustomers);
  EXPECT_GE(total, kTotal * k);
  shop.stop();
}

}  // namespace
}  // namespace comptoir::testing::e2e

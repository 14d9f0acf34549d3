// End-to-end test of overload: with one worker and a queue of one, a connection beyond the
// queue is answered 503 with Retry-After instead of waiting or being dropped, and the server
// recovers once the load goes away.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/harness.h"

namespace comptoir::testing::e2e {
namespace {

TEST(Overload, FullQueueGives503WithRetryAfter) {
  // A long keep-alive so that an idle connection holds the only worker for the whole test.
  ServerInstance s("\"threads\": 1, \"max_queued\": 1, \"timeouts\": {\"keep_alive_seconds\": 120}");
  ASSERT_TRUE(s.init());
  ASSERT_TRUE(s.start());

  // 1. Hold the worker: a keep-alive connection that has been served once. The worker stays with
  //    it, waiting for its next request, for as long as it is open (deterministic: the response
  //    proves the worker took this connection).
  RawConn hold(s.port());
  ASSERT_TRUE(hold.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  auto first = hold.read_response();
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->starts_with("HTTP/1.1 200")) << *first;
  ASSERT_EQ(first->find("Connection: close"), std::string::npos) << *first;

  // 2. Fill the queue: a connection that sends only part of its request. The listener accepts
  //    connections in arrival order, so it is queued before the next one is even accepted.
  RawConn queued(s.port());
  ASSERT_TRUE(queued.connected());
  ASSERT_TRUE(queued.send("GET /healthz HTTP/1.1\r\n"));

  // 3. One more: 503 with Retry-After and the usual JSON error body.
  {
    auto c = s.client();
    auto r = c.Get("/healthz");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 503) << r->body;
    EXPECT_EQ(r->get_header_value("Retry-After"), "1");
    const std::string rid = r->get_header_value("X-Request-Id");
    EXPECT_FALSE(rid.empty());
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r->body;
    EXPECT_EQ(j["error"]["code"], "unavailable");
    EXPECT_EQ(j["error"]["request_id"], rid);
  }

  // 4. Load gone: the server serves again (awaited: the worker first has to notice the closes).
  hold.close();
  queued.close();
  EXPECT_TRUE(await([&] {
    auto c = s.client();
    auto r = c.Get("/healthz");
    return r && r->status == 200;
  }));
  EXPECT_EQ(s.stop(), 0);
}

}  // namespace
}  // namespace comptoir::testing::e2e

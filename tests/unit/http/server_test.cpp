// http::Server in process, with a TokenService on a temp SQLCipher database and a FakeClock:
// status mapping, error bodies, request ids, readiness, limits, and the failed-authentication
// window moving with the injected clock.
#include "src/http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "src/http/internal.h"
#include "storage/database.h"
#include "storage/token_store.h"
#include "tests/support/temp_dir.h"

namespace comptoir::http {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A client writing to a connection the server has closed must get EPIPE, not SIGPIPE.
[[maybe_unused]] const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

// Sends `request` on a fresh loopback connection and returns what the server sends back: until
// it closes the connection, or until one second of silence after a response began (httplib
// keeps the connection open), or 20 s.
std::string raw_exchange(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, 1000);
      if (r < 0) break;
      if (r == 0) {
        if (!out.empty()) break;  // a second of silence after the answer
        continue;
      }
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

class InProcessServer : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::OpenOptions options;
    options.create = true;
    auto db = storage::Database::open(tmp_ / "test.db", db_key_, options);
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    ASSERT_TRUE(db_->migrate());
    store_ = std::make_unique<storage::TokenStore>(*db_);
    tokens_ = std::make_unique<access::TokenService>(*store_, hash_key_, clock_);
  }
  void TearDown() override {
    if (server_) {
      server_->stop();
      if (thread_.joinable()) thread_.join();
      EXPECT_TRUE(run_status_) << run_status_.error().message;
    }
  }

  void start(ServerOptions o = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    Services s;
    s.tokens = tokens_.get();
    s.clock = &clock_;
    s.ready = [this] { return ready_.load(); };
    server_ = std::make_unique<Server>(o, s);
    auto port = server_->bind();
    ASSERT_TRUE(port) << port.error().message;
    port_ = *port;
    thread_ = std::thread([this] { run_status_ = server_->run(); });
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(20, 0);
    return c;
  }

  std::string token(access::Role role) {
    auto t = tokens_->create(role, "unit");
    EXPECT_TRUE(t);
    return t ? t->secret : "";
  }

  static void expect_error(const httplib::Result& r, int status, const std::string& code) {
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, status) << r->body;
    auto j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r->body;
    EXPECT_EQ(j["error"]["code"], code) << r->body;
    EXPECT_EQ(j["error"]["request_id"], r->get_header_value("X-Request-Id"));
    EXPECT_FALSE(r->get_header_value("X-Request-Id").empty());
  }

  testing::TempDir tmp_;
  SecretBytes db_key_ = SecretBytes::random(32);
  SecretBytes hash_key_ = SecretBytes::random(32);
  FakeClock clock_{TimePoint(std::chrono::seconds(1'800'000'000))};
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::TokenStore> store_;
  std::unique_ptr<access::TokenService> tokens_;
  std::atomic<bool> ready_{true};
  std::unique_ptr<Server> server_;
  std::thread thread_;
  Status run_status_;
  int port_ = 0;
};

TEST(StatusMapping, EveryErrorCodeHasOneStatus) {
  EXPECT_EQ(status_for(Errc::invalid_argument), 400);
  EXPECT_EQ(status_for(Errc::unauthorized), 401);
  EXPECT_EQ(status_for(Errc::forbidden), 403);
  EXPECT_EQ(status_for(Errc::not_found), 404);
  EXPECT_EQ(status_for(Errc::conflict), 409);
  EXPECT_EQ(status_for(Errc::gone), 410);
  EXPECT_EQ(status_for(Errc::payload_too_large), 413);
  EXPECT_EQ(status_for(Errc::rate_limited), 429);
  EXPECT_EQ(status_for(Errc::unavailable), 503);
  for (Errc e : {Errc::wrong_key, Errc::corrupt, Errc::io, Errc::config, Errc::crypto, Errc::internal}) {
    EXPECT_EQ(status_for(e), 500) << to_string(e);
  }
  EXPECT_EQ(code_for_status(401), "unauthorized");
  EXPECT_EQ(code_for_status(413), "payload_too_large");
  EXPECT_EQ(code_for_status(429), "rate_limited");
  EXPECT_EQ(code_for_status(503), "unavailable");
  EXPECT_EQ(code_for_status(502), "internal");
  EXPECT_EQ(code_for_status(418), "bad_request");
}

TEST(ErrorBody, InternalErrorsDoNotShowTheirDetail) {
  httplib::Response res;
  res.set_header("X-Request-Id", "req_test");
  send_error(res, Error{Errc::io, "open /secret/path failed", ""});
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body.find("/secret/path"), std::string::npos) << res.body;
  auto j = json::parse(res.body);
  EXPECT_EQ(j["error"]["code"], "internal");
  EXPECT_EQ(j["error"]["request_id"], "req_test");

  httplib::Response shown;
  send_error(shown, Error{Errc::not_found, "row 42 missing", "no such token"});
  EXPECT_EQ(shown.status, 404);
  EXPECT_EQ(json::parse(shown.body)["error"]["message"], "no such token");
}

TEST_F(InProcessServer, ServesHealthWhoamiAndTokens) {
  const std::string owner = token(access::Role::owner);
  const std::string op = token(access::Role::operator_);
  start();
  auto c = client();
  auto h = c.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->get_header_value("Content-Security-Policy"), "default-src 'self'; frame-ancestors 'none'");
  EXPECT_EQ(h->get_header_value("Referrer-Policy"), "no-referrer");

  auto w = c.Get("/api/v1/whoami", {{"Authorization", "Bearer " + op}});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->status, 200);
  EXPECT_EQ(json::parse(w->body)["role"], "operator");
  expect_error(c.Get("/api/v1/tokens", {{"Authorization", "Bearer " + op}}), 403, "forbidden");
  auto t = c.Get("/api/v1/tokens", {{"Authorization", "Bearer " + owner}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->status, 200);
  EXPECT_EQ(json::parse(t->body)["tokens"].size(), 2u);
  EXPECT_EQ(t->body.find(owner), std::string::npos);

  auto landing = c.Get("/");
  ASSERT_TRUE(landing);
  EXPECT_EQ(landing->status, 200);
  EXPECT_EQ(landing->get_header_value("Content-Type"), "text/html; charset=utf-8");
  expect_error(c.Get("/nope"), 404, "not_found");
}

TEST_F(InProcessServer, ReadinessFollowsTheDatabaseProbe) {
  start();
  auto c = client();
  auto r = c.Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ready_ = false;
  r = c.Get("/readyz");
  expect_error(r, 503, "unavailable");
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  // Liveness does not depend on the database.
  auto h = c.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
}

TEST_F(InProcessServer, FailedAuthenticationWindowFollowsTheClock) {
  ServerOptions o;
  o.auth_failures_per_minute = 3;
  const std::string owner = token(access::Role::owner);
  start(o);
  auto c = client();
  const httplib::Headers bad = {{"Authorization", "Bearer cpt_" + std::string(43, 'x')}};
  for (int i = 0; i < 3; ++i) {
    auto r = c.Get("/api/v1/whoami", bad);
    expect_error(r, 401, "unauthorized");
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer realm=\"comptoir\"");
  }
  auto r = c.Get("/api/v1/whoami", bad);
  expect_error(r, 429, "rate_limited");
  EXPECT_EQ(r->get_header_value("Retry-After"), "60");
  // No token at all counts as a failed authentication too.
  expect_error(c.Get("/api/v1/whoami"), 429, "rate_limited");
  // A valid token is never locked out (everyone behind a reverse proxy shares one address).
  r = c.Get("/api/v1/whoami", {{"Authorization", "Bearer " + owner}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  clock_.advance(45s);
  r = c.Get("/api/v1/whoami", bad);
  expect_error(r, 429, "rate_limited");
  EXPECT_EQ(r->get_header_value("Retry-After"), "15");
  clock_.advance(15s);  // the window is over
  expect_error(c.Get("/api/v1/whoami", bad), 401, "unauthorized");
  // A 403 (valid token, wrong role) is not a failed authentication.
  const std::string auditor = token(access::Role::auditor);
  for (int i = 0; i < 5; ++i) {
    expect_error(c.Get("/api/v1/tokens", {{"Authorization", "Bearer " + auditor}}), 403, "forbidden");
  }
  expect_error(c.Get("/api/v1/whoami", bad), 401, "unauthorized");
}

TEST_F(InProcessServer, BodyAndHeaderLimits) {
  ServerOptions o;
  o.max_body_bytes = 2048;
  o.read_timeout_seconds = 60;  // a regression below would show as a long wait, not a quick 400
  start(o);
  auto c = client();
  // Refused from the announced length, without waiting for the body (which is never sent).
  std::string refused = raw_exchange(port_, "POST /api/v1/whoami HTTP/1.1\r\nHost: x\r\nContent-Length: 2049\r\n\r\n");
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 413")) << refused;
  EXPECT_NE(refused.find("\"payload_too_large\""), std::string::npos) << refused;
  // At the limit the body is accepted (and the route answers: there is no POST route, 404).
  expect_error(c.Post("/api/v1/whoami", std::string(2048, 'b'), "text/plain"), 404, "not_found");
  // Bodies without a Content-Length are refused at once (httplib would read them without limit,
  // or wait for the peer to close), and the connection is closed.
  const auto started = std::chrono::steady_clock::now();
  std::string answer = raw_exchange(port_, "POST /api/v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 411")) << answer;
  EXPECT_NE(answer.find("\"length_required\""), std::string::npos) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  EXPECT_EQ(answer.find("HTTP/1.1", 1), std::string::npos) << "one response only: " << answer;
  // The unread chunks (here: a request) are never taken for a request.
  answer = raw_exchange(port_, "PUT /api/v1/whoami HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "22\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\r\n0\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 411")) << answer;
  EXPECT_EQ(answer.find("HTTP/1.1", 1), std::string::npos) << "one response only: " << answer;
  answer = raw_exchange(port_, "POST /api/v1/whoami HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 411")) << answer;
  answer = raw_exchange(port_, "POST /api/v1/whoami HTTP/1.1\r\nHost: x\r\nContent-Length: 12x\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400")) << answer;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s) << "a refused body must not be waited for";
  // A body-less DELETE or GET needs no length.
  expect_error(c.Delete("/api/v1/nothing"), 404, "not_found");
  httplib::Headers many;
  for (int i = 0; i < 101; ++i) many.emplace("X-H" + std::to_string(i), "v");
  expect_error(c.Get("/healthz", many), 431, "bad_request");
  auto h = c.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
}

TEST_F(InProcessServer, BindFailsCleanlyOnAPortInUse) {
  start();
  Services s;
  s.tokens = tokens_.get();
  s.clock = &clock_;
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = port_;
  Server second(o, s);
  auto r = second.bind();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_NE(r.error().message.find("127.0.0.1:" + std::to_string(port_)), std::string::npos);
  auto run = second.run();
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().code, Errc::internal);
}

TEST_F(InProcessServer, StopReturnsFromRun) {
  start();
  auto c = client();
  ASSERT_TRUE(c.Get("/healthz"));
  server_->stop();
  thread_.join();
  EXPECT_TRUE(run_status_);
  httplib::Client after("127.0.0.1", port_);
  after.set_connection_timeout(2, 0);
  EXPECT_FALSE(after.Get("/healthz"));
}

// Regression: httplib ignores stop() until listen has started, so a stop() racing with run()
// (SIGTERM right after the "listening" line) was lost and run() never returned.
TEST(ServerLifecycle, StopRightAfterStartIsNeverLost) {
  FakeClock clock{TimePoint(std::chrono::seconds(1'800'000'000))};
  for (int i = 0; i < 50; ++i) {
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.threads = 1;
    Services s;
    s.clock = &clock;
    Server server(o, s);
    ASSERT_TRUE(server.bind());
    auto done = std::async(std::launch::async, [&] { return server.run(); });
    if (i % 2 == 0) std::this_thread::yield();
    server.stop();
    if (done.wait_for(20s) != std::future_status::ready) {
      ADD_FAILURE() << "run() did not return after stop() (iteration " << i << ")";
      server.stop();  // unblock it now that it is surely running
    }
    EXPECT_TRUE(done.get());
  }
}

TEST(ServerLifecycle, StopBeforeRunMakesRunReturnAtOnce) {
  FakeClock clock{TimePoint(std::chrono::seconds(1'800'000'000))};
  ServerOptions o;
  o.port = 0;
  Services s;
  s.clock = &clock;
  Server server(o, s);
  ASSERT_TRUE(server.bind());
  server.stop();
  EXPECT_TRUE(server.run());
}

}  // namespace
}  // namespace comptoir::http

#include "src/http/server.h"

#include <sys/socket.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <thread>

#include "src/common/encoding.h"
#include "src/common/log.h"
#include "src/http/bounded_queue.h"
#include "src/http/internal.h"

namespace comptoir::http {

namespace {

thread_local std::chrono::steady_clock::time_point t_request_start;

bool acceptable_request_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

void ensure_request_id(const httplib::Request& req, httplib::Response& res) {
  if (res.has_header("X-Request-Id")) return;
  std::string id = req.get_header_value("X-Request-Id");
  if (!acceptable_request_id(id)) id = random_id("req_", 8);
  res.set_header("X-Request-Id", id);
}

httplib::Server::HandlerResponse length_required(httplib::Response& res) {
  res.set_header("Connection", "close");  // the unread body must not be taken for a request
  send_error(res, 411, "length_required", "a request body needs a Content-Length header");
  return httplib::Server::HandlerResponse::Handled;
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions o, Services s)
      : ctx{o, std::move(s), FailureLimiter(o.auth_failures_per_minute, std::chrono::seconds(60)),
            FailureLimiter(o.webchat_sessions_per_minute, std::chrono::seconds(60)),
            FailureLimiter(o.webchat_messages_per_minute, std::chrono::seconds(60), 100000)} {}
  Context ctx;
  httplib::Server server;
  std::atomic<bool> bound{false};
  int listen_fd = -1;  // the listening socket, to raise httplib's backlog of 5
  // httplib's stop() does nothing until listen_after_bind() has started running, so a stop()
  // that comes early (a signal right after bind) is remembered here instead of being lost.
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> run_entered{false};
  std::atomic<bool> run_finished{false};
};

Server::Server(ServerOptions options, Services services)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(services))) {
  auto& svr = impl_->server;
  auto& ctx = impl_->ctx;
  const auto& o = ctx.options;

  svr.new_task_queue = [o] {
    return new BoundedTaskQueue(static_cast<std::size_t>(o.threads), static_cast<std::size_t>(o.max_queued),
                                static_cast<std::size_t>(o.max_queued));
  };
  svr.set_tcp_nodelay(true);
  // httplib's default is SO_REUSEPORT, which lets a second server bind the same port and take
  // half of the connections. SO_REUSEADDR only allows a quick restart; a port in use fails bind().
  svr.set_socket_options([impl = impl_.get()](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    impl->listen_fd = sock;
  });
  svr.set_payload_max_length(o.max_body_bytes);
  svr.set_read_timeout(o.read_timeout_seconds, 0);
  svr.set_write_timeout(o.write_timeout_seconds, 0);
  svr.set_keep_alive_timeout(o.keep_alive_seconds);
  svr.set_keep_alive_max_count(100);

  const std::size_t max_body = o.max_body_bytes;
  svr.set_pre_routing_handler([max_body](const httplib::Request& req, httplib::Response& res) {
    t_request_start = std::chrono::steady_clock::now();
    ensure_request_id(req, res);
    if (in_overflow_lane()) {
      res.set_header("Retry-After", "1");
      res.set_header("Connection", "close");
      send_error(res, 503, "unavailable", "the server is busy; retry shortly");
      return httplib::Server::HandlerResponse::Handled;
    }
    // Header-count limit (cpp-httplib 0.11 has none of its own).
    if (req.headers.size() > 100) {
      res.set_header("Connection", "close");  // the unread body must not be taken for a request
      send_error(res, 431, "bad_request", "too many request headers");
      return httplib::Server::HandlerResponse::Handled;
    }
    // cpp-httplib 0.11 applies the body limit to Content-Length bodies only: a chunked body, or a
    // POST/PUT/PATCH without a length (read until the peer closes), would be read into memory
    // without bound. Such requests are refused before anything is read (RFC 9112 section 6.3).
    if (req.has_header("Transfer-Encoding")) return length_required(res);
    // Refuse an announced oversized body before reading (and discarding) it.
    if (req.has_header("Content-Length")) {
      const std::string& len = req.get_header_value("Content-Length");
      std::size_t value = 0;
      bool numeric = !len.empty() && len.size() <= 19;
      for (char c : len) {
        if (c < '0' || c > '9') {
          numeric = false;
          break;
        }
        value = value * 10 + static_cast<std::size_t>(c - '0');
      }
      if (!numeric || value > max_body) {
        res.set_header("Connection", "close");
        if (numeric) send_error(res, 413, "payload_too_large", "request body is too large");
        else send_error(res, 400, "bad_request", "malformed Content-Length");
        return httplib::Server::HandlerResponse::Handled;
      }
    } else if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH" || req.method == "PRI") {
      return length_required(res);
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  svr.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    ensure_request_id(req, res);
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // already JSON
    const std::string_view code = code_for_status(res.status);
    std::string message;
    switch (res.status) {
      case 404: message = "no such endpoint"; break;
      case 405: message = "method not allowed here"; break;
      case 413: message = "request body is too large"; break;
      case 414: message = "request URI is too long"; break;
      case 400: message = "malformed HTTP request"; break;
      default: message = std::string(code);
    }
    send_error(res, res.status, code, message);
    return httplib::Server::HandlerResponse::Handled;
  }));

  svr.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    ensure_request_id(req, res);
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    // Exception texts can quote input; log only their type-level summary, truncated.
    if (what.size() > 200) what.resize(200);
    log::error("request.exception", {{"request_id", request_id_of(res)}, {"path", req.path}, {"detail", what}});
    res.body.clear();
    send_error(res, 500, "internal", "internal error; see the server log for request " + request_id_of(res));
  });

  svr.set_post_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    ensure_request_id(req, res);
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    if (!res.has_header("Content-Security-Policy")) {
      res.set_header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
    }
    if (log::enabled(log::Level::info)) {
      const auto elapsed = std::chrono::steady_clock::now() - t_request_start;
      const double ms = t_request_start.time_since_epoch().count() == 0
                            ? 0.0
                            : std::chrono::duration<double, std::milli>(elapsed).count();
      // The path is logged without its query string (queries may carry identifiers).
      log::info("http.request", {{"request_id", request_id_of(res)},
                                 {"method", req.method},
                                 {"path", req.path.size() > 200 ? req.path.substr(0, 200) : req.path},
                                 {"status", res.status},
                                 {"ms", ms}});
    }
    t_request_start = {};
  });

  install_routes(svr, ctx);
}

Server::~Server() { stop(); }

Result<int> Server::bind() {
  const int port = impl_->ctx.options.port == 0
                       ? impl_->server.bind_to_any_port(impl_->ctx.options.host)
                       : (impl_->server.bind_to_port(impl_->ctx.options.host, impl_->ctx.options.port)
                              ? impl_->ctx.options.port
                              : -1);
  if (port <= 0) {
    return fail(Errc::io, "cannot listen on " + impl_->ctx.options.host + ":" +
                              std::to_string(impl_->ctx.options.port) +
                              " (address in use, or not an address of this machine)");
  }
  // cpp-httplib 0.11 listens with a backlog of 5: a burst of new connections overflows it and
  // clients wait for SYN retransmits. Listening again on the bound socket raises the backlog.
  if (impl_->listen_fd >= 0) ::listen(impl_->listen_fd, SOMAXCONN);
  impl_->bound = true;
  return port;
}

Status Server::run() {
  if (!impl_->bound) return fail(Errc::internal, "run() before bind()");
  impl_->run_entered = true;
  if (impl_->stop_requested) {
    impl_->run_finished = true;
    return ok();
  }
  // listen_after_bind() returns true after stop(), false only if accepting failed.
  const bool clean = impl_->server.listen_after_bind();
  impl_->run_finished = true;
  if (!clean) return fail(Errc::io, "the listening socket failed");
  return ok();
}

void Server::stop() {
  if (!impl_) return;
  impl_->stop_requested = true;
  // If run() has been entered but httplib is not running yet, wait until it is (a moment), so
  // that its stop() takes effect; if run() has not been entered, it sees stop_requested.
  while (impl_->run_entered && !impl_->run_finished && !impl_->server.is_running()) std::this_thread::yield();
  impl_->server.stop();
}

}  // namespace comptoir::http

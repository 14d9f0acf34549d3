// The HTTP front door: cpp-httplib with TCP_NODELAY, a bounded worker pool (503 + Retry-After
// when the queue is full), body-size limits (413), read/write/keep-alive timeouts, a request id on
// every response, JSON error bodies, one catch-all per request, and structured access logs.
// httplib types stay inside src/http/*.cpp.
// Lifecycle: construct, bind(), then run() on one thread; stop() from any other thread makes
// run() return after in-flight requests finish.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "src/access/tokens.h"
#include "src/audit/auth_failures.h"
#include "src/audit/log.h"
#include "src/audit/recorder.h"
#include "src/chat/engine.h"
#include "src/chat/inbox.h"
#include "src/commerce/shop.h"
#include "src/common/env.h"
#include "src/common/error.h"

namespace comptoir::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 64;
  int max_queued = 256;
  std::size_t max_body_bytes = 4u << 20;
  int read_timeout_seconds = 10;
  int write_timeout_seconds = 10;
  int keep_alive_seconds = 5;
  // Failed authentications allowed per client address per minute before 429.
  int auth_failures_per_minute = 10;
  // Web chat: new sessions per client address per minute, messages per session per minute.
  int webchat_sessions_per_minute = 600;
  int webchat_messages_per_minute = 120;
};

class WebchatSessions;
}  // namespace comptoir::http
namespace comptoir::channels {
class ChannelHub;
}
namespace comptoir::privacy {
class Notice;
struct Inventory;
}
namespace comptoir::chat {
class Marketing;
}
namespace comptoir::commerce {
class ConsentLedger;
}
namespace comptoir::rights {
class RequestService;
}
namespace comptoir::http {

struct Services {
  access::TokenService* tokens = nullptr;
  std::function<bool()> ready;  // true when the database answers
  const Clock* clock = nullptr;
  // Chat commerce (absent in a server that only serves the admin API, e.g. some tests).
  chat::Engine* engine = nullptr;
  chat::Inbox* inbox = nullptr;
  commerce::Shop* shop = nullptr;
  const WebchatSessions* webchat = nullptr;
  channels::ChannelHub* hub = nullptr;  // WhatsApp / Telegram webhooks
  // Consent ledger (GET /api/v1/customers/{id}/consents) and marketing messages
  // (POST /api/v1/marketing/messages); absent in a server without chat commerce.
  commerce::ConsentLedger* consent = nullptr;
  chat::Marketing* marketing = nullptr;
  std::string default_language = "en";
  // The privacy notice generated from the data inventory; absent: /privacy answers 404.
  const privacy::Notice* notice = nullptr;
  // The audit log (docs/audit-log.md): every read of personal data through the admin API, every
  // step of a data-subject request and every security-relevant event is recorded here.
  audit::Recorder* audit = nullptr;
  // The audit log's read side for the auditor's routes (/api/v1/audit/*; absent: 404), and the
  // rate-limited recording of failed authentications (absent: not recorded).
  audit::AuditLog* audit_log = nullptr;
  audit::AuthFailures* auth_failures = nullptr;
  // The data inventory, for the records of processing (GET /api/v1/records-of-processing), with
  // the shop's name and contact standing in for an empty controller name / e-mail; absent: 404.
  const privacy::Inventory* inventory = nullptr;
  std::string shop_name;
  std::string shop_contact;
  // Data-subject requests (/privacy/v1/requests, /api/v1/privacy/requests); absent: no such routes.
  rights::RequestService* requests = nullptr;
};

class Server {
 public:
  Server(ServerOptions options, Services services);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns the port (useful with port 0). Errc::io on failure.
  Result<int> bind();
  // Serves until stop(); returns once every in-flight request has finished.
  Status run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace comptoir::http

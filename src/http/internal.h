// Internal to src/http: shared helpers for handlers. The one place where error codes become
// HTTP statuses (status_for) and where error bodies get their shape.
#pragma once

#include <httplib.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/access/tokens.h"
#include "src/common/error.h"
#include "src/http/rate_limiter.h"
#include "src/http/server.h"

namespace comptoir::http {

int status_for(Errc code);
std::string_view code_for_status(int status);

void send_json(httplib::Response& res, int status, const nlohmann::json& body);
// {"error":{"code":"…","message":"…","request_id":"…"}}
void send_error(httplib::Response& res, int status, std::string_view code, std::string_view message);
void send_error(httplib::Response& res, const Error& error);

std::string request_id_of(const httplib::Response& res);

struct Context {
  ServerOptions options;
  Services services;
  FailureLimiter auth_failures;
  FailureLimiter webchat_sessions;  // counts sessions minted per client address
  FailureLimiter webchat_messages;  // counts messages per session
};

// Parses a JSON request body; on failure writes 400/415 and returns nullopt.
std::optional<nlohmann::json> json_body(const httplib::Request& req, httplib::Response& res);

void install_webchat_routes(httplib::Server& server, Context& ctx);
void install_commerce_routes(httplib::Server& server, Context& ctx);
void install_webhook_routes(httplib::Server& server, Context& ctx);
void install_consent_routes(httplib::Server& server, Context& ctx);
void install_audit_routes(httplib::Server& server, Context& ctx);

// Records `event` in the audit log (when there is one) before personal data is sent: on failure
// writes a 500 and returns false, so nothing is shown that the log does not know about.
bool audited(Context& ctx, httplib::Response& res, const audit::Event& event);
// The actor of a request made with `who`'s token.
audit::Actor actor_of(const access::Principal& who);
void install_ropa_routes(httplib::Server& server, Context& ctx);
void install_privacy_request_routes(httplib::Server& server, Context& ctx);

// Authenticates the bearer token and checks the role. On failure writes the 401/403/429 response
// and returns nullopt.
std::optional<access::Principal> authorize(Context& ctx, const httplib::Request& req,
                                           httplib::Response& res,
                                           std::initializer_list<access::Role> allowed);

void install_routes(httplib::Server& server, Context& ctx);

}  // namespace comptoir::http

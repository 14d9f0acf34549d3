// The durable outbox for push channels (WhatsApp, Telegram). Replies are rendered into platform
// API calls and written, sealed under the customer's key, in the same transaction as the change
// that caused them (Outbox::enqueue); a worker (OutboxWorker) sends them: one message per
// customer at a time so each customer's messages arrive in order, retries with exponential
// backoff and jitter on network errors, 5xx and rate limits, and records permanent errors.
// A body is dropped as soon as the platform accepted it. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "src/chat/engine.h"
#include "src/commerce/customers.h"
#include "src/common/env.h"
#include "src/common/error.h"
#include "src/common/secret.h"
#include "storage/outbox_store.h"

namespace comptoir::channels {

struct WhatsAppSettings {
  bool enabled = false;
  SecretBytes app_secret, verify_token, access_token;
  std::string phone_number_id;
  std::string graph_base_url = "https://graph.facebook.com/v21.0";
  std::string template_name;      // sent instead of free-form text outside the 24-hour window
  std::string template_language = "en";
  bool read_profile_name = false;  // the data inventory collects "platform_profile"
  // A message older than this when it reaches us (Meta retries a webhook for up to 7 days) is
  // recorded as seen and acknowledged, but not acted upon: the customer has moved on and the
  // 24-hour window for a reply has closed.
  std::int64_t max_message_age_seconds = 24 * 3600;
};

struct TelegramSettings {
  bool enabled = false;
  SecretBytes bot_token, secret_token;
  std::string api_base_url = "https://api.telegram.org";
  bool read_profile_name = false;  // the data inventory collects "platform_profile"
};

struct OutboxSettings {
  int senders = 8;                  // parallel HTTP senders
  int max_attempts = 12;            // then the message is marked failed
  int max_backoff_seconds = 600;
  int http_timeout_seconds = 15;
};

// One HTTP POST of a JSON body. Returns the status (0 on a network error) and the body.
struct HttpResult {
  int status = 0;
  std::string body;
};
class Transport {
 public:
  virtual ~Transport() = default;
  // `base_url` like "https://graph.facebook.com/v21.0"; `path` starts with '/'.
  virtual HttpResult post_json(const std::string& base_url, const std::string& path, const std::string& bearer,
                               const std::string& body) = 0;
};
// cpp-httplib with keep-alive connections, one client per thread and base URL.
std::unique_ptr<Transport> make_http_transport(int timeout_seconds);

class Outbox {
 public:
  Outbox(storage::Database& db, commerce::CustomerDirectory& customers, const chat::Messages& messages,
         const Clock& clock);
  // Renders `replies` for the customer's channel and queues them in the caller's transaction.
  Status enqueue(storage::Tx& tx, const commerce::Customer& customer, const std::vector<chat::Reply>& replies);
  // A last message to a customer being erased in the caller's transaction (the confirmation of
  // the erasure): rendered for `channel` and `address` (taken before the erasure), sealed under
  // a throw-away subject key of its own, without a link to the customer; the worker sends it
  // and then shreds that key. WhatsApp: sent as if inside the 24-hour window. Telegram: a
  // `callback_id` (the erasure confirmed by a button) is answered the same way, so the button
  // stops spinning although the customer it came from is gone.
  Status enqueue_detached(storage::Tx& tx, privacy::Channel channel, const std::string& address,
                          const std::string& language, const std::vector<chat::Reply>& replies,
                          const std::string& callback_id = {});
  static std::string detached_row(const std::string& subject) { return "detached:" + subject; }
  // Telegram: every callback query must be answered (it stops the button's spinner).
  Status enqueue_callback_answer(storage::Tx& tx, const commerce::Customer& customer, const std::string& callback_id);
  // Wakes the worker (after the caller's transaction committed).
  void notify();
  void set_notifier(std::function<void()> fn) { notify_ = std::move(fn); }

  static std::string place_row(std::int64_t customer_id) { return "customer:" + std::to_string(customer_id); }

 private:
  Status put(storage::Tx& tx, const commerce::Customer& customer, const std::string& kind, const std::string& body);

  storage::Database& db_;
  commerce::CustomerDirectory& customers_;
  const chat::Messages& messages_;
  const Clock& clock_;
  storage::OutboxStore store_;
  std::function<void()> notify_;
};

class OutboxWorker {
 public:
  OutboxWorker(storage::Database& db, commerce::CustomerDirectory& customers, const WhatsAppSettings& whatsapp,
               const TelegramSettings& telegram, OutboxSettings settings, Transport& transport, const Clock& clock);
  ~OutboxWorker();
  void start();
  // Finishes the sends in progress and returns; unsent messages stay queued for the next start.
  void stop();
  void wake();
  // One round: send what is due now. Returns how many messages were attempted (for tests).
  Result<int> run_once();

 private:
  struct Attempt;
  void loop();
  bool route(Attempt& a);
  void send(Attempt& a);
  void send_all(const std::vector<Attempt*>& attempts);
  void sender_loop();

  storage::Database& db_;
  commerce::CustomerDirectory& customers_;
  const WhatsAppSettings& whatsapp_;
  const TelegramSettings& telegram_;
  OutboxSettings settings_;
  Transport& transport_;
  const Clock& clock_;
  storage::OutboxStore store_;

  std::mutex mutex_;
  std::condition_variable cv_;
  bool woken_ = false;
  std::atomic<bool> stopping_{false};
  std::thread thread_;

  // The sender threads and the round they are working on (under round_mutex_).
  std::mutex round_mutex_;
  std::condition_variable round_cv_, round_done_cv_;
  std::vector<std::thread> senders_;
  const std::vector<Attempt*>* round_ = nullptr;
  std::size_t round_next_ = 0, round_left_ = 0;
  bool senders_stopping_ = false;
};

}  // namespace comptoir::channels

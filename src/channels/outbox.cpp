#include "src/channels/outbox.h"

#include <sodium.h>

#include <algorithm>
#include <map>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "src/channels/telegram.h"
#include "src/channels/whatsapp.h"
#include "src/common/log.h"
#include "src/common/threads.h"

namespace comptoir::channels {

using nlohmann::json;

namespace {

constexpr std::int64_t kWindowSeconds = 24 * 3600;

class HttpTransport final : public Transport {
 public:
  explicit HttpTransport(int timeout_seconds) : timeout_(timeout_seconds) {}

  HttpResult post_json(const std::string& base_url, const std::string& path, const std::string& bearer,
                       const std::string& body) override {
    // "https://host[:port][/prefix]" → client for scheme://host:port, and the prefix for paths.
    const auto scheme_end = base_url.find("://");
    const auto path_start = base_url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
    const std::string origin = path_start == std::string::npos ? base_url : base_url.substr(0, path_start);
    const std::string prefix = path_start == std::string::npos ? "" : base_url.substr(path_start);
    auto client = take(origin);
    httplib::Headers headers;
    if (!bearer.empty()) headers.emplace("Authorization", "Bearer " + bearer);
    auto res = client->Post(prefix + path, headers, body, "application/json");
    HttpResult out;
    if (res) {
      out.status = res->status;
      out.body = std::move(res->body);
    }  // else a network error: status 0
    give_back(origin, std::move(client));
    return out;
  }

 private:
  // Idle keep-alive clients, reused across sender threads and rounds, so connections (and TLS
  // sessions) to the platform are not rebuilt for every message.
  std::unique_ptr<httplib::Client> take(const std::string& origin) {
    {
      std::lock_guard lock(mutex_);
      auto it = idle_.find(origin);
      if (it != idle_.end()) {
        auto c = std::move(it->second);
        idle_.erase(it);
        return c;
      }
    }
    auto c = std::make_unique<httplib::Client>(origin);
    c->set_keep_alive(true);
    c->set_tcp_nodelay(true);
    c->set_connection_timeout(timeout_, 0);
    c->set_read_timeout(timeout_, 0);
    c->set_write_timeout(timeout_, 0);
    return c;
  }
  void give_back(const std::string& origin, std::unique_ptr<httplib::Client> c) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < 64) idle_.emplace(origin, std::move(c));
  }

  int timeout_;
  std::mutex mutex_;
  std::multimap<std::string, std::unique_ptr<httplib::Client>> idle_;
};

}  // namespace

std::unique_ptr<Transport> make_http_transport(int timeout_seconds) {
  return std::make_unique<HttpTransport>(timeout_seconds);
}

// ---------------------------------------------------------------------------------- Outbox

Outbox::Outbox(storage::Database& db, commerce::CustomerDirectory& customers, const chat::Messages& messages,
               const Clock& clock)
    : db_(db), customers_(customers), messages_(messages), clock_(clock), store_(db) {}

Status Outbox::put(storage::Tx& tx, const commerce::Customer& customer, const std::string& kind, const std::string& body) {
  auto sealed = customers_.vault().seal(tx, customer.subject_id, {"outbox", "body", place_row(customer.id)}, body);
  if (!sealed) return std::unexpected(sealed.error());
  storage::OutboxRecord r;
  r.customer_id = customer.id;
  r.channel = std::string(privacy::to_string(customer.channel));
  r.kind = kind;
  r.body_sealed = std::move(*sealed);
  r.created_at = r.next_attempt_at = unix_seconds(clock_.now());
  auto id = store_.enqueue(tx, r);
  if (!id) return std::unexpected(id.error());
  return ok();
}

Status Outbox::enqueue(storage::Tx& tx, const commerce::Customer& customer, const std::vector<chat::Reply>& replies) {
  if (customer.channel == privacy::Channel::webchat) return fail(Errc::internal, "web chat has no outbox");
  auto address = customers_.address_of(tx, customer);
  if (!address) return std::unexpected(address.error());
  for (const auto& reply : replies) {
    std::vector<std::string> bodies;
    if (customer.channel == privacy::Channel::whatsapp) {
      whatsapp::RenderOptions ro;
      ro.list_button = messages_.get(customer.language).text("menu.choose");
      bodies = whatsapp::render(reply, *address, ro);
    } else {
      bodies = telegram::render(reply, *address);
    }
    for (const auto& b : bodies) {
      if (auto st = put(tx, customer, "message", b); !st) return st;
    }
  }
  return ok();
}

Status Outbox::enqueue_detached(storage::Tx& tx, privacy::Channel channel, const std::string& address,
                                const std::string& language, const std::vector<chat::Reply>& replies,
                                const std::string& callback_id) {
  if (channel == privacy::Channel::webchat) return fail(Errc::internal, "web chat has no outbox");
  auto subject = customers_.vault().create_subject(tx);
  if (!subject) return std::unexpected(subject.error());
  const auto queue = [&](const std::string& kind, const std::string& body) -> Status {
    auto sealed = customers_.vault().seal(tx, *subject, {"outbox", "body", detached_row(*subject)}, body);
    if (!sealed) return std::unexpected(sealed.error());
    storage::OutboxRecord r;
    r.channel = std::string(privacy::to_string(channel));
    r.kind = kind;
    r.body_sealed = std::move(*sealed);
    r.detached_subject = *subject;
    r.created_at = r.next_attempt_at = unix_seconds(clock_.now());
    auto id = store_.enqueue(tx, r);
    if (!id) return std::unexpected(id.error());
    return ok();
  };
  if (channel == privacy::Channel::telegram && !callback_id.empty()) {
    if (auto s = queue("callback_answer", telegram::render_callback_answer(callback_id)); !s) return s;
  }
  for (const auto& reply : replies) {
    std::vector<std::string> bodies;
    if (channel == privacy::Channel::whatsapp) {
      whatsapp::RenderOptions ro;
      ro.list_button = messages_.get(language).text("menu.choose");
      bodies = whatsapp::render(reply, address, ro);
    } else {
      bodies = telegram::render(reply, address);
    }
    for (const auto& b : bodies) {
      if (auto s = queue("message", b); !s) return s;
    }
  }
  return ok();
}

Status Outbox::enqueue_callback_answer(storage::Tx& tx, const commerce::Customer& customer, const std::string& callback_id) {
  return put(tx, customer, "callback_answer", telegram::render_callback_answer(callback_id));
}

void Outbox::notify() {
  if (notify_) notify_();
}

// ---------------------------------------------------------------------------------- Worker

struct OutboxWorker::Attempt {
  storage::OutboxRecord record;
  std::string body;          // opened
  std::string base_url, path, bearer;
  bool outside_window = false;
  // outcome
  enum class Kind { sent, retry, permanent } kind = Kind::retry;
  std::string external_id, error;
  int retry_after = 0;
};

OutboxWorker::OutboxWorker(storage::Database& db, commerce::CustomerDirectory& customers,
                           const WhatsAppSettings& whatsapp, const TelegramSettings& telegram, OutboxSettings settings,
                           Transport& transport, const Clock& clock)
    : db_(db), customers_(customers), whatsapp_(whatsapp), telegram_(telegram), settings_(settings),
      transport_(transport), clock_(clock), store_(db) {}

OutboxWorker::~OutboxWorker() { stop(); }

void OutboxWorker::start() {
  stopping_ = false;
  thread_ = std::thread([this] {
    lower_thread_priority(kRequestThreadNice);
    loop();
  });
}

void OutboxWorker::stop() {
  stopping_ = true;
  wake();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(round_mutex_);
    senders_stopping_ = true;
  }
  round_cv_.notify_all();
  for (auto& t : senders_) t.join();
  senders_.clear();
  std::lock_guard lock(round_mutex_);
  senders_stopping_ = false;  // start() may run the worker again
}

// Sends every attempt, spread over the sender threads (kept for the worker's lifetime, started
// on first use) and the calling thread, and returns when all are answered.
void OutboxWorker::send_all(const std::vector<Attempt*>& attempts) {
  if (attempts.empty()) return;
  const std::size_t helpers = static_cast<std::size_t>(std::max(1, settings_.senders)) - 1;
  if (attempts.size() == 1 || helpers == 0) {
    for (auto* a : attempts) send(*a);
    return;
  }
  std::unique_lock lock(round_mutex_);
  while (senders_.size() < helpers) senders_.emplace_back([this] { sender_loop(); });
  round_ = &attempts;
  round_next_ = 0;
  round_left_ = attempts.size();
  round_cv_.notify_all();
  while (round_next_ < attempts.size()) {
    Attempt* a = attempts[round_next_++];
    lock.unlock();
    send(*a);
    lock.lock();
    --round_left_;
  }
  round_done_cv_.wait(lock, [&] { return round_left_ == 0; });
  round_ = nullptr;
}

void OutboxWorker::sender_loop() {
  lower_thread_priority(kRequestThreadNice);
  std::unique_lock lock(round_mutex_);
  for (;;) {
    round_cv_.wait(lock, [&] { return senders_stopping_ || (round_ != nullptr && round_next_ < round_->size()); });
    if (senders_stopping_) return;
    Attempt* a = (*round_)[round_next_++];
    lock.unlock();
    send(*a);
    lock.lock();
    if (--round_left_ == 0) round_done_cv_.notify_one();
  }
}

void OutboxWorker::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_one();
}

void OutboxWorker::loop() {
  while (!stopping_) {
    auto n = run_once();
    if (!n) log::error("outbox.round_failed", {{"error", n.error().message}});
    if (n && *n > 0) continue;  // more may be due right away
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return woken_ || stopping_.load(); });
    woken_ = false;
  }
}

// Where and how the opened body goes: the platform's URL, path and credentials (a Telegram entry
// names its method and carries its payload). False, with a permanent failure recorded, when the
// channel is not configured or the entry is malformed.
bool OutboxWorker::route(Attempt& a) {
  if (a.record.channel == "whatsapp" && whatsapp_.enabled) {
    a.base_url = whatsapp_.graph_base_url;
    a.path = "/" + whatsapp_.phone_number_id + "/messages";
    a.bearer = std::string(whatsapp_.access_token.view());
    return true;
  }
  if (a.record.channel == "telegram" && telegram_.enabled) {
    json env = json::parse(a.body, nullptr, false);
    if (!env.is_object() || !env.contains("method") || !env["method"].is_string() || !env.contains("payload")) {
      a.kind = Attempt::Kind::permanent;
      a.error = "malformed outbox entry";
      return false;
    }
    a.base_url = telegram_.api_base_url;
    a.path = "/bot" + std::string(telegram_.bot_token.view()) + "/" + env["method"].get<std::string>();
    a.body = env["payload"].dump();
    return true;
  }
  a.kind = Attempt::Kind::permanent;
  a.error = a.record.channel == "whatsapp"   ? "WhatsApp channel is not configured"
            : a.record.channel == "telegram" ? "Telegram channel is not configured"
                                             : "unknown channel " + a.record.channel;
  return false;
}

void OutboxWorker::send(Attempt& a) {
  // WhatsApp echoes the tracker in the message's statuses, which so find this entry by its key.
  const auto http = a.record.channel == "whatsapp"
                        ? transport_.post_json(a.base_url, a.path, a.bearer, whatsapp::with_tracker(a.body, a.record.id))
                        : transport_.post_json(a.base_url, a.path, a.bearer, a.body);
  if (a.record.channel == "whatsapp") {
    const auto o = whatsapp::classify_response(http.status, http.body);
    a.kind = static_cast<Attempt::Kind>(o.kind);
    a.external_id = o.external_id;
    a.error = o.error;
    a.retry_after = o.retry_after_seconds;
  } else {
    const auto o = telegram::classify_response(http.status, http.body);
    a.kind = static_cast<Attempt::Kind>(o.kind);
    a.external_id = a.record.kind == "message" ? o.external_id : std::string();
    a.error = o.error;
    a.retry_after = o.retry_after_seconds;
  }
}

Result<int> OutboxWorker::run_once() {
  const std::int64_t now = unix_seconds(clock_.now());
  // One read (one turn on the connection) finds what is due, with the keys to open it; the
  // bodies are opened after the connection is given back, so decrypting them does not hold up
  // the database's writer.
  std::vector<storage::DueMessage> due;
  auto st = db_.read([&](storage::Tx& tx) -> Status {
    auto d = store_.due_with_keys(tx, now, 512);
    if (!d) return std::unexpected(d.error());
    due = std::move(*d);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  if (due.empty()) return 0;
  std::vector<Attempt> attempts;
  attempts.reserve(due.size());
  for (auto& m : due) {
    Attempt a;
    a.record = std::move(m.record);
    // Without a customer: the last message to a customer erased since (Outbox::enqueue_detached).
    const bool detached = !a.record.customer_id && !a.record.detached_subject.empty();
    if (!detached && !m.customer_found) {
      a.kind = Attempt::Kind::permanent;
      a.error = "customer no longer exists";
      attempts.push_back(std::move(a));
      continue;
    }
    const std::string row = detached ? Outbox::detached_row(m.subject_id) : Outbox::place_row(*a.record.customer_id);
    const privacy::FieldPlace place{"outbox", "body", row};
    auto body = customers_.vault().open_with_wrapped_key(m.subject_id, m.wrapped_key, place, a.record.body_sealed);
    if (!body) {
      a.kind = Attempt::Kind::permanent;
      a.error = !detached && body.error().code == Errc::gone ? "customer erased" : "body does not open";
      attempts.push_back(std::move(a));
      continue;
    }
    a.body = std::move(*body);
    // WhatsApp: a detached message goes as if inside the 24-hour window (see enqueue_detached).
    if (route(a) && !detached && a.record.channel == "whatsapp") {
      a.outside_window = !m.last_inbound_at || now - *m.last_inbound_at > kWindowSeconds;
    }
    attempts.push_back(std::move(a));
  }

  // Outside WhatsApp's 24-hour window only an approved template may be sent.
  std::vector<Attempt*> to_send;
  for (auto& a : attempts) {
    if (a.base_url.empty()) continue;  // already decided
    if (a.outside_window) {
      if (whatsapp_.template_name.empty()) {
        a.kind = Attempt::Kind::permanent;
        a.error = "131047 outside the 24-hour window and no template configured";
        continue;
      }
      json body = json::parse(a.body, nullptr, false);
      const std::string to = body.is_object() ? body.value("to", std::string()) : std::string();
      a.body = whatsapp::render_template(to, whatsapp_.template_name, whatsapp_.template_language);
    }
    to_send.push_back(&a);
  }

  // Send in parallel: the due list holds at most one message per customer, so order per
  // customer is kept.
  send_all(to_send);

  const std::int64_t at = unix_seconds(clock_.now());
  // Decided before the write, so that running its callback again (Database::write may) changes
  // nothing: the same backoff, and the failures logged once, after the commit.
  std::vector<std::int64_t> retry_at(attempts.size(), 0);
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    const auto& a = attempts[i];
    if (a.kind == Attempt::Kind::retry && a.record.attempts + 1 < settings_.max_attempts) {
      // Exponential backoff with full jitter, honouring the platform's Retry-After.
      const std::int64_t cap = std::min<std::int64_t>(settings_.max_backoff_seconds, std::int64_t{1} << std::min<std::int64_t>(a.record.attempts, 20));
      const std::int64_t delay = std::max<std::int64_t>(a.retry_after, 1 + static_cast<std::int64_t>(randombytes_uniform(static_cast<std::uint32_t>(cap))));
      retry_at[i] = at + delay;
    }
  }
  auto applied = db_.write([&](storage::Tx& tx) -> Status {
    for (std::size_t i = 0; i < attempts.size(); ++i) {
      const auto& a = attempts[i];
      Status s = ok();
      if (a.kind == Attempt::Kind::sent) {
        s = store_.mark_sent(tx, a.record.id, a.record.channel, a.external_id, at);
        if (s && a.outside_window && a.record.customer_id) {
          // One template invites the customer back; the other messages queued with this one
          // (the rest of a multi-part reply) would each become the same template: spam.
          s = store_.supersede_pending(tx, *a.record.customer_id, a.record.channel, a.record.id, a.record.created_at,
                                       "outside the 24-hour window: the template sent as outbox " +
                                           std::to_string(a.record.id) + " stands for this message",
                                       at);
        }
      } else if (retry_at[i] != 0) {
        s = store_.mark_retry(tx, a.record.id, retry_at[i], a.error, at);
      } else {
        s = store_.mark_failed(tx, a.record.id, a.kind == Attempt::Kind::retry ? "gave up: " + a.error : a.error, at);
      }
      if (!s) return s;
      // The last message to an erased customer is done with: its throw-away key goes too.
      if (!a.record.detached_subject.empty() && retry_at[i] == 0) {
        auto shredded = customers_.vault().shred(tx, a.record.detached_subject);
        if (!shredded) return std::unexpected(shredded.error());
      }
    }
    return ok();
  });
  if (!applied) return std::unexpected(applied.error());
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    const auto& a = attempts[i];
    if (a.kind != Attempt::Kind::sent && retry_at[i] == 0) {
      log::warn("outbox.failed", {{"outbox_id", a.record.id}, {"channel", a.record.channel}, {"error", a.error}});
    }
  }
  return static_cast<int>(attempts.size());
}

}  // namespace comptoir::channels

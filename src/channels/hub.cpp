#include "src/channels/hub.h"

#include <sodium.h>

#include "src/channels/telegram.h"
#include "src/channels/whatsapp.h"
#include "src/common/log.h"

namespace comptoir::channels {

ChannelHub::ChannelHub(storage::Database& db, chat::Engine& engine, Outbox& outbox, const WhatsAppSettings& whatsapp,
                       const TelegramSettings& telegram, const Clock& clock)
    : db_(db), engine_(engine), outbox_(outbox), whatsapp_(whatsapp), telegram_(telegram), clock_(clock), store_(db) {}

bool ChannelHub::whatsapp_verify(std::string_view mode, std::string_view token) const {
  if (!whatsapp_.enabled || mode != "subscribe") return false;
  const auto& expected = whatsapp_.verify_token;
  if (token.size() != expected.size() || expected.empty()) return false;
  return sodium_memcmp(token.data(), expected.data(), expected.size()) == 0;
}

bool ChannelHub::whatsapp_signature_ok(std::string_view body, std::string_view header) const {
  return whatsapp_.enabled && whatsapp::signature_valid(body, header, whatsapp_.app_secret);
}

namespace {

chat::Inbound inbound_from(const whatsapp::Message& m) {
  chat::Inbound in;
  in.channel = privacy::Channel::whatsapp;
  in.address = m.from;
  in.alias = m.user_id;
  in.profile_name = m.profile_name;
  if (m.type == "text") {
    in.text = m.text;
  } else if ((m.type == "interactive" || m.type == "button") && !m.option.empty()) {
    in.option = m.option;
  } else if (m.type == "button" && !m.text.empty()) {
    in.text = m.text;  // a template button whose payload is not one of our ids: read its label
  } else if (m.type == "order") {
    for (const auto& i : m.order) in.order.push_back({i.sku, i.quantity});
  } else if (m.type == "location" && !m.location.empty()) {
    in.location = m.location;
  } else {
    in.unsupported = true;
  }
  return in;
}

}  // namespace

Result<WebhookResult> ChannelHub::whatsapp_webhook(std::string_view body) {
  auto hook = whatsapp::parse_webhook(body, {.read_profile_name = whatsapp_.read_profile_name});
  if (!hook) return std::unexpected(hook.error());
  WebhookResult r;
  r.skipped = hook->skipped;
  const std::int64_t now = unix_seconds(clock_.now());
  bool queued = false;
  for (const auto& s : hook->statuses) {
    if (s.phone_number_id != whatsapp_.phone_number_id) {
      ++r.skipped;
      continue;
    }
    bool known = false;  // set afresh on every run: Database::write may run this more than once
    auto st = db_.write([&](storage::Tx& tx) -> Status {
      known = false;
      storage::OutboxStore::StatusTarget target{.outbox_id = whatsapp::outbox_id_of(s.tracker)};
      if (!target.outbox_id && !s.recipient.empty()) {
        // Without our tracker (a message sent before it existed): among the recipient's messages.
        auto customer = engine_.customers().find(tx, privacy::Channel::whatsapp, s.recipient);
        if (!customer && customer.error().code != Errc::invalid_argument) return std::unexpected(customer.error());
        if (customer && customer->has_value()) target.customer_id = (*customer)->id;
      }
      auto applied = store_.apply_status(tx, "whatsapp", s.id, target, s.status, s.error, now);
      if (!applied) return std::unexpected(applied.error());
      known = *applied;
      return ok();
    });
    if (!st) return std::unexpected(st.error());
    if (known) ++r.statuses;
  }
  for (const auto& m : hook->messages) {
    if (m.phone_number_id != whatsapp_.phone_number_id) {
      ++r.skipped;  // another number of the same business account: not ours to answer
      continue;
    }
    chat::Inbound in = inbound_from(m);
    if (in.text.size() > chat::kMaxTextBytes) in.text.resize(chat::kMaxTextBytes);
    const bool stale = m.timestamp > 0 && now - m.timestamp > whatsapp_.max_message_age_seconds;
    const std::string key = engine_.customers().index().message_key(privacy::Channel::whatsapp, m.id);
    bool duplicate = false, malformed = false;
    auto st = db_.write([&](storage::Tx& tx) -> Status {
      duplicate = malformed = false;  // Database::write may run this more than once
      auto fresh = store_.record_inbound(tx, "whatsapp", key, now);
      if (!fresh) return std::unexpected(fresh.error());
      if (!*fresh) {
        duplicate = true;
        return ok();
      }
      if (stale) return ok();  // seen, so Meta's further retries are duplicates; nothing else
      if (m.type == "system") {
        // A notice from WhatsApp, not from the customer: never answered. A changed number moves
        // the customer to it (their cart, orders and conversation stay theirs).
        if (m.new_wa_id.empty()) return ok();
        auto moved = engine_.customers().change_address(tx, privacy::Channel::whatsapp, m.from, m.new_wa_id);
        if (!moved) {
          if (moved.error().code == Errc::invalid_argument) {
            malformed = true;
            return ok();
          }
          return std::unexpected(moved.error());
        }
        return ok();
      }
      auto handled = engine_.handle(tx, in);
      if (!handled) {
        if (handled.error().code == Errc::invalid_argument) {  // malformed content or address: acknowledged, no reply
          malformed = true;
          return ok();
        }
        return std::unexpected(handled.error());
      }
      if (handled->erased) {  // the customer erased their data in this message: confirm without them
        return outbox_.enqueue_detached(tx, in.channel, in.address, handled->customer.language, handled->replies);
      }
      if (auto s = store_.set_last_inbound(tx, handled->customer.id, m.timestamp > 0 ? m.timestamp : now); !s) return s;
      return outbox_.enqueue(tx, handled->customer, handled->replies);
    });
    if (!st) {
      if (st.error().code == Errc::invalid_argument) {
        ++r.skipped;  // e.g. an address that is not a phone number or user id
        continue;
      }
      return std::unexpected(st.error());
    }
    if (duplicate) {
      ++r.duplicates;
    } else if (stale) {
      ++r.stale;
    } else if (malformed) {
      ++r.skipped;  // recorded as seen (Meta's retries are ignored), logged by the caller
    } else {
      ++r.processed;
      queued = true;
    }
  }
  if (queued) outbox_.notify();
  return r;
}

Result<std::int64_t> ChannelHub::key_recorded_inbound_ids() {
  Result<std::int64_t> keyed = 0;
  auto st = db_.write([&](storage::Tx& tx) -> Status {
    keyed = store_.key_recorded_inbound_ids(tx, [this](const std::string& channel, const std::string& id) {
      privacy::Channel c;
      return privacy::parse_channel(channel, c) ? engine_.customers().index().message_key(c, id) : std::string();
    });
    if (!keyed) return std::unexpected(keyed.error());
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return keyed;
}

bool ChannelHub::telegram_secret_ok(std::string_view header) const {
  return telegram_.enabled && telegram::secret_valid(header, telegram_.secret_token);
}

Result<WebhookResult> ChannelHub::telegram_update(std::string_view body) {
  auto u = telegram::parse_update(body, {.read_profile_name = telegram_.read_profile_name});
  if (!u) return std::unexpected(u.error());
  WebhookResult r;
  if ((u->kind != "message" && u->kind != "callback_query") || u->chat_id.empty()) {
    r.skipped = 1;
    return r;
  }
  chat::Inbound in;
  in.channel = privacy::Channel::telegram;
  in.address = u->chat_id;
  in.profile_name = u->profile_name;
  if (u->kind == "callback_query") in.option = u->callback_data;
  else if (u->unsupported) in.unsupported = true;
  else in.text = u->text;
  if (u->kind == "callback_query" && in.option.empty()) in.unsupported = true;
  if (in.text.size() > chat::kMaxTextBytes) in.text.resize(chat::kMaxTextBytes);
  const std::int64_t now = unix_seconds(clock_.now());
  const std::string key = engine_.customers().index().message_key(privacy::Channel::telegram, std::to_string(u->update_id));
  bool duplicate = false;
  auto st = db_.write([&](storage::Tx& tx) -> Status {
    duplicate = false;  // Database::write may run this more than once: `in` stays unchanged
    auto fresh = store_.record_inbound(tx, "telegram", key, now);
    if (!fresh) return std::unexpected(fresh.error());
    if (!*fresh) {
      duplicate = true;
      return ok();
    }
    auto handled = engine_.handle(tx, in);
    if (!handled) {
      if (handled.error().code != Errc::invalid_argument) return std::unexpected(handled.error());
      // A malformed callback id: still answer the callback so the button stops spinning.
      chat::Inbound unsupported;
      unsupported.channel = privacy::Channel::telegram;
      unsupported.address = u->chat_id;
      unsupported.unsupported = true;
      unsupported.profile_name = in.profile_name;
      handled = engine_.handle(tx, unsupported);
      if (!handled) return std::unexpected(handled.error());
    }
    if (handled->erased) {  // the customer erased their data in this message: confirm without them
      return outbox_.enqueue_detached(tx, in.channel, in.address, handled->customer.language, handled->replies,
                                      u->callback_id);
    }
    if (!u->callback_id.empty()) {
      if (auto s = outbox_.enqueue_callback_answer(tx, handled->customer, u->callback_id); !s) return s;
    }
    return outbox_.enqueue(tx, handled->customer, handled->replies);
  });
  if (!st) {
    if (st.error().code == Errc::invalid_argument) {
      r.skipped = 1;
      return r;
    }
    return std::unexpected(st.error());
  }
  if (duplicate) {
    r.duplicates = 1;
  } else {
    r.processed = 1;
    outbox_.notify();
  }
  return r;
}

}  // namespace comptoir::channels

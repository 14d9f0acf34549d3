#include "src/chat/inbox.h"

#include <nlohmann/json.hpp>

#include "src/common/json_writer.h"

namespace comptoir::chat {

using nlohmann::json;

namespace {

std::string row_of(std::int64_t customer_id) { return "customer:" + std::to_string(customer_id); }

std::string encode(const Reply& r) {
  JsonWriter w;
  w.begin_object().member("text", r.text).key("options").begin_array();
  for (const auto& o : r.options) {
    w.begin_object().member("id", o.id).member("title", o.title).member("description", o.description).end_object();
  }
  w.end_array();
  return w.end_object().take();
}

Reply decode(const std::string& s) {
  Reply r;
  json j = json::parse(s, nullptr, false);
  if (!j.is_object()) return r;
  r.text = j.value("text", "");
  if (j.contains("options") && j["options"].is_array()) {
    for (const auto& o : j["options"]) {
      if (o.is_object()) r.options.push_back({o.value("id", ""), o.value("title", ""), o.value("description", "")});
    }
  }
  return r;
}

}  // namespace

Inbox::Inbox(storage::Database& db, commerce::CustomerDirectory& customers, const Clock& clock)
    : db_(db), customers_(customers), store_(db), clock_(clock) {}

Status Inbox::deliver(storage::Tx& tx, const commerce::Customer& customer, const Reply& reply) {
  auto sealed = customers_.vault().seal(tx, customer.subject_id, {"chat_messages", "body", row_of(customer.id)}, encode(reply));
  if (!sealed) return std::unexpected(sealed.error());
  storage::ChatMessageRecord m;
  m.customer_id = customer.id;
  m.body_sealed = std::move(*sealed);
  m.created_at = unix_seconds(clock_.now());
  auto id = store_.add_chat_message(tx, m);
  if (!id) return std::unexpected(id.error());
  return ok();
}

Result<std::vector<InboxMessage>> Inbox::fetch(privacy::Channel channel, const std::string& address, std::int64_t after,
                                               int limit) {
  std::vector<InboxMessage> out;
  auto st = db_.read([&](storage::Tx& tx) -> Status {
    auto c = customers_.find(tx, channel, address);
    if (!c) return std::unexpected(c.error());
    if (!c->has_value()) return ok();
    auto rows = store_.chat_messages_after(tx, (*c)->id, after, limit);
    if (!rows) return std::unexpected(rows.error());
    for (const auto& r : *rows) {
      auto body = customers_.vault().open(tx, (*c)->subject_id, {"chat_messages", "body", row_of((*c)->id)}, r.body_sealed);
      if (!body) {
        if (body.error().code == Errc::gone) continue;
        return std::unexpected(body.error());
      }
      out.push_back({r.id, r.created_at, decode(*body)});
    }
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

}  // namespace comptoir::chat

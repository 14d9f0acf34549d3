#include "storage/customer_store.h"

#include "storage/sqlite.h"

namespace comptoir::storage {

namespace {

constexpr const char* kColumns =
    "id, subject_id, channel, address_index, address_sealed, language, created_at, last_active_at";

CustomerRecord read_row(const Stmt& s) {
  CustomerRecord c;
  c.id = s.int64(0);
  c.subject_id = s.text(1);
  c.channel = s.text(2);
  c.address_index = s.text(3);
  c.address_sealed = s.blob(4);
  c.language = s.text(5);
  c.created_at = s.int64(6);
  c.last_active_at = s.int64(7);
  return c;
}

Result<std::optional<CustomerRecord>> one(Stmt& s) {
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<CustomerRecord>();
  return std::optional<CustomerRecord>(read_row(s));
}

}  // namespace

Result<std::optional<CustomerRecord>> CustomerStore::by_index(Tx& tx, const std::string& address_index) {
  Stmt s(tx, std::string("SELECT ") + kColumns + " FROM customers WHERE address_index = ?");
  s.bind(1, address_index);
  return one(s);
}

Result<std::optional<CustomerRecord>> CustomerStore::by_alias(Tx& tx, const std::string& alias_index) {
  Stmt s(tx, std::string("SELECT ") + kColumns +
                 " FROM customers WHERE id = (SELECT customer_id FROM customer_aliases WHERE address_index = ?)");
  s.bind(1, alias_index);
  return one(s);
}

Result<bool> CustomerStore::add_alias(Tx& tx, std::int64_t customer_id, const std::string& alias_index, std::int64_t at) {
  Stmt s(tx,
         "INSERT OR IGNORE INTO customer_aliases (address_index, customer_id, created_at)"
         " SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM customers WHERE address_index = ?1)");
  s.bind(1, alias_index).bind(2, customer_id).bind(3, at);
  if (auto st = s.run(); !st) return std::unexpected(st.error());
  return sqlite3_changes(tx.handle()) == 1;
}

Status CustomerStore::set_address(Tx& tx, std::int64_t id, const std::string& address_index,
                                  const std::vector<std::uint8_t>& sealed) {
  Stmt s(tx, "UPDATE OR FAIL customers SET address_index = ?, address_sealed = ? WHERE id = ?");
  s.bind(1, address_index).bind_blob(2, sealed).bind(3, id);
  return s.run();
}

Result<std::optional<CustomerRecord>> CustomerStore::by_id(Tx& tx, std::int64_t id) {
  Stmt s(tx, std::string("SELECT ") + kColumns + " FROM customers WHERE id = ?");
  s.bind(1, id);
  return one(s);
}

Result<std::optional<CustomerRecord>> CustomerStore::by_id(std::int64_t id) {
  Result<std::optional<CustomerRecord>> out;
  auto st = db_.read([&](Tx& tx) -> Status {
    out = by_id(tx, id);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Result<std::int64_t> CustomerStore::insert(Tx& tx, const CustomerRecord& c) {
  Stmt s(tx,
         "INSERT INTO customers (subject_id, channel, address_index, address_sealed, language, created_at, last_active_at)"
         " VALUES (?,?,?,?,?,?,?)");
  s.bind(1, c.subject_id).bind(2, c.channel).bind(3, c.address_index).bind_blob(4, c.address_sealed)
      .bind(5, c.language).bind(6, c.created_at).bind(7, c.last_active_at);
  if (auto st = s.run(); !st) return std::unexpected(st.error());
  return sqlite3_last_insert_rowid(tx.handle());
}

Status CustomerStore::set_language(Tx& tx, std::int64_t id, const std::string& language) {
  Stmt s(tx, "UPDATE OR FAIL customers SET language = ? WHERE id = ?");
  s.bind(1, language).bind(2, id);
  return s.run();
}

Status CustomerStore::touch(Tx& tx, std::int64_t id, std::int64_t at) {
  Stmt s(tx, "UPDATE OR FAIL customers SET last_active_at = ? WHERE id = ?");
  s.bind(1, at).bind(2, id);
  return s.run();
}

Status CustomerStore::set_profile_name(Tx& tx, std::int64_t id, const std::vector<std::uint8_t>& sealed) {
  Stmt s(tx, "UPDATE customers SET profile_name_sealed = ? WHERE id = ?");
  s.bind_blob(1, sealed).bind(2, id);
  return s.run();
}

Result<std::int64_t> CustomerStore::add_transcript(Tx& tx, std::int64_t customer_id, std::string_view direction,
                                                   const std::vector<std::uint8_t>& body_sealed, std::int64_t at) {
  Stmt s(tx, "INSERT INTO chat_transcript (customer_id, direction, body_sealed, created_at) VALUES (?,?,?,?)");
  s.bind(1, customer_id).bind(2, direction).bind_blob(3, body_sealed).bind(4, at);
  if (auto st = s.run(); !st) return std::unexpected(st.error());
  return sqlite3_last_insert_rowid(tx.handle());
}

Result<std::optional<ConversationRecord>> CustomerStore::conversation(Tx& tx, std::int64_t customer_id) {
  Stmt s(tx, "SELECT state, updated_at FROM conversations WHERE customer_id = ?");
  s.bind(1, customer_id);
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<ConversationRecord>();
  return std::optional<ConversationRecord>(ConversationRecord{s.blob(0), s.int64(1)});
}

Status CustomerStore::save_conversation(Tx& tx, std::int64_t customer_id, const ConversationRecord& c) {
  // An UPDATE, else an INSERT, rather than INSERT OR REPLACE: same result, but a REPLACE (like
  // any UPDATE that may abort half-way) makes SQLite open a statement journal, i.e. copy and
  // encrypt the page first. Single-row UPDATE OR FAIL statements need none (see sqlite.h).
  Stmt u(tx, "UPDATE OR FAIL conversations SET state = ?, updated_at = ? WHERE customer_id = ?");
  u.bind_blob(1, c.state_sealed).bind(2, c.updated_at).bind(3, customer_id);
  if (auto st = u.run(); !st) return st;
  if (sqlite3_changes(tx.handle()) > 0) return ok();
  Stmt s(tx, "INSERT INTO conversations (customer_id, state, updated_at) VALUES (?,?,?)");
  s.bind(1, customer_id).bind_blob(2, c.state_sealed).bind(3, c.updated_at);
  return s.run();
}

Result<std::int64_t> CustomerStore::add_chat_message(Tx& tx, const ChatMessageRecord& m) {
  Stmt s(tx, "INSERT INTO chat_messages (customer_id, body_sealed, created_at) VALUES (?,?,?)");
  s.bind(1, m.customer_id).bind_blob(2, m.body_sealed).bind(3, m.created_at);
  if (auto st = s.run(); !st) return std::unexpected(st.error());
  return sqlite3_last_insert_rowid(tx.handle());
}

Result<std::vector<ChatMessageRecord>> CustomerStore::chat_messages_after(Tx& tx, std::int64_t customer_id,
                                                                          std::int64_t after, int limit) {
  std::vector<ChatMessageRecord> out;
  {
    Stmt s(tx,
           "SELECT id, customer_id, body_sealed, created_at FROM chat_messages WHERE customer_id = ? AND id > ?"
           " ORDER BY id LIMIT ?");
    s.bind(1, customer_id).bind(2, after).bind(3, std::int64_t{limit});
    for (;;) {
      auto row = s.step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      out.push_back({s.int64(0), s.int64(1), s.blob(2), s.int64(3)});
    }
  }
  return out;
}

}  // namespace comptoir::storage

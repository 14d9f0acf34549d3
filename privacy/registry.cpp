#include "privacy/registry.h"

#include <algorithm>
#include <set>

#include "storage/row_reader.h"

namespace comptoir::privacy {

namespace {

using P = Protection;

// Keep in step with storage/migrations.cpp; tests/integration/registry_schema_test.cpp fails
// when a column is in neither list.
constexpr RegisteredField kFields[] = {
    // The customer record (pseudonymous).
    {"customers.subject_id", P::database, false, "pseudonymous id of the customer's key"},
    {"customers.channel", P::database, false, "which messaging channel the customer uses"},
    {"customers.language", P::database, false, "the customer's chosen language"},
    {"customers.created_at", P::database, false, "when the customer first wrote"},
    {"customers.last_active_at", P::database, false, "when the customer last wrote"},
    {"customers.last_inbound_at", P::database, false, "the platform's time of the last message (24-hour window)"},
    // How to reach them.
    {"customers.address_sealed", P::sealed, false, "WhatsApp id, Telegram chat id or web chat session id", "address"},
    {"customers.address_index", P::blind_index, false, "keyed hash of the address, to find the customer"},
    {"customer_aliases.address_index", P::blind_index, false, "keyed hash of another id of the customer (WhatsApp user id)"},
    {"customer_aliases.created_at", P::database, false, "when that id was first seen"},
    // Only if declared.
    {"customers.profile_name_sealed", P::sealed, true, "the messaging profile name the platform sends", "profile_name_sealed"},
    // Conversation.
    {"conversations.state", P::sealed, false, "menu position, cart page, details typed during checkout", "state"},
    {"conversations.updated_at", P::database, false, "when the conversation last moved"},
    {"cart_items.sku", P::database, false, "product in the cart"},
    {"cart_items.quantity", P::database, false, "quantity in the cart"},
    {"cart_items.added_at", P::database, false, "when it was added"},
    // Orders.
    {"orders.number", P::database, false, "order number"},
    {"orders.status", P::database, false, "order status"},
    {"orders.fulfilment", P::database, false, "pickup or delivery"},
    {"orders.currency", P::database, false, "currency"},
    {"orders.language", P::database, false, "language of the order"},
    {"orders.items_total", P::database, false, "items total"},
    {"orders.delivery_fee", P::database, false, "delivery fee"},
    {"orders.total", P::database, false, "order total"},
    {"orders.vat_total", P::database, false, "VAT total"},
    {"orders.created_at", P::database, false, "when the order was placed"},
    {"orders.updated_at", P::database, false, "when its status last changed"},
    {"orders.restricted_until", P::database, false, "end of the restriction of an order kept after an erasure"},
    {"order_lines.line_no", P::database, false, "line number"},
    {"order_lines.sku", P::database, false, "product"},
    {"order_lines.name", P::database, false, "product name at the time"},
    {"order_lines.unit_price", P::database, false, "price at the time"},
    {"order_lines.quantity", P::database, false, "quantity"},
    {"order_lines.vat_rate", P::database, false, "VAT rate"},
    {"order_lines.line_total", P::database, false, "line total"},
    {"order_vat.vat_rate", P::database, false, "VAT rate"},
    {"order_vat.net", P::database, false, "net amount at that rate"},
    {"order_vat.vat", P::database, false, "VAT at that rate"},
    {"order_vat.gross", P::database, false, "gross amount at that rate"},
    {"orders.recipient_name_sealed", P::sealed, false, "recipient name (delivery only)", "recipient_name"},
    {"orders.delivery_address_sealed", P::sealed, false, "delivery address (delivery only)", "delivery_address"},
    // Messages owed to the customer, until delivered.
    {"outbox.channel", P::database, false, "channel of a reply"},
    {"outbox.kind", P::database, false, "message or button acknowledgement"},
    {"outbox.body_sealed", P::sealed, false, "reply text, until the platform accepted it", "body"},
    {"outbox.status", P::database, false, "pending, sent, delivered, read or failed"},
    {"outbox.attempts", P::database, false, "delivery attempts"},
    {"outbox.next_attempt_at", P::database, false, "next attempt"},
    {"outbox.last_error", P::database, false, "the platform's error code and title (never content)"},
    {"outbox.external_id", P::database, false, "the platform's message id"},
    {"outbox.created_at", P::database, false, "when the reply was queued"},
    {"outbox.updated_at", P::database, false, "when its status last changed"},
    {"chat_messages.body_sealed", P::sealed, false, "a message for a web chat customer, until fetched", "body"},
    {"chat_messages.created_at", P::database, false, "when it was queued"},
    // Ids of inbound platform messages (no content, no customer link), for de-duplication.
    {"inbound_messages.channel", P::database, false, "channel"},
    {"inbound_messages.external_id", P::database, false, "keyed hash of the platform's message or update id"},
    {"inbound_messages.received_at", P::database, false, "when it arrived"},
    // Statuses that overtook the answer to our send (no content, no customer link), for a day.
    {"early_statuses.channel", P::database, false, "channel"},
    {"early_statuses.external_id", P::database, false, "the platform's message id"},
    {"early_statuses.status", P::database, false, "sent, delivered, read or failed"},
    {"early_statuses.error", P::database, false, "the platform's error code and title (never content)"},
    {"early_statuses.received_at", P::database, false, "when it arrived"},
    // The consent ledger (append-only; no personal data beyond the link to the customer).
    {"consent_records.kind", P::database, false, "notice acknowledged, marketing consent given or withdrawn"},
    {"consent_records.notice_version", P::database, false, "hash of the privacy notice shown"},
    {"consent_records.language", P::database, false, "the customer's language"},
    {"consent_records.channel", P::database, false, "the channel it happened on"},
    {"consent_records.order_number", P::database, false, "the order placed with the acknowledgement"},
    {"consent_records.created_at", P::database, false, "when"},
    // Only if declared: the transcript of the conversation.
    {"chat_transcript.direction", P::database, true, "in (from the customer) or out (from the shop)"},
    {"chat_transcript.body_sealed", P::sealed, true, "the text of the message", "body_sealed"},
    {"chat_transcript.created_at", P::database, true, "when it was written"},
    // Data-subject requests (the register of Art. 12(3)): what was asked, when, and how it ended.
    {"privacy_requests.type", P::database, false, "access, erasure, rectification, restriction or objection"},
    {"privacy_requests.channel", P::database, false, "the chat channel the request names"},
    {"privacy_requests.origin", P::database, false, "opened on the privacy page, in the chat, or by staff"},
    {"privacy_requests.actor", P::database, false, "the data subject, or the id of the staff token that opened it"},
    {"privacy_requests.received_at", P::database, false, "when the request arrived"},
    {"privacy_requests.due_at", P::database, false, "one month after it arrived"},
    {"privacy_requests.extended_until", P::database, false, "the extended due date, if extended"},
    {"privacy_requests.extension_reason", P::database, false, "why staff extended it (staff-written text)"},
    {"privacy_requests.verified_at", P::database, false, "when the requester proved they hold the chat"},
    {"privacy_requests.completed_at", P::database, false, "when it was carried out"},
    {"privacy_requests.outcome", P::database, false, "how it ended (a short code)"},
    {"privacy_requests.attempts", P::database, false, "wrong verification codes entered"},
    {"privacy_requests.locked_at", P::database, false, "when too many wrong codes locked it"},
    {"privacy_requests.receipt", P::database, false, "the signed erasure receipt (categories and outcomes)"},
    {"privacy_requests.lifted_at", P::database, false, "when a restriction was lifted"},
    {"privacy_requests.changes_sealed", P::sealed, false, "rectification: the new values, until applied", "changes"},
    {"processing_restrictions.request_id", P::database, false, "the request that restricted the processing"},
    {"processing_restrictions.since", P::database, false, "since when the processing is restricted"},
};

constexpr NonPersonalColumn kNonPersonal[] = {
    {"api_tokens.id", "staff credentials, not customer data"},
    {"api_tokens.token_hash", "staff credentials, not customer data"},
    {"api_tokens.role", "staff credentials, not customer data"},
    {"api_tokens.label", "operator-chosen label of a staff credential (documented: no names)"},
    {"api_tokens.created_at", "staff credentials, not customer data"},
    {"api_tokens.last_used_at", "staff credentials, not customer data"},
    {"api_tokens.revoked_at", "staff credentials, not customer data"},
    {"subject_keys.subject_id", "key material: the pseudonymous id a wrapped key belongs to"},
    {"subject_keys.wrapped_key", "key material"},
    {"subject_keys.wrap_version", "key material"},
    {"subject_keys.created_at", "key material"},
    {"shredded_subjects.subject_id", "tombstone of a destroyed key: the id no longer links to anything"},
    {"shredded_subjects.shredded_at", "tombstone of a destroyed key"},
    {"categories.id", "catalog"},
    {"categories.position", "catalog"},
    {"category_names.category_id", "catalog"},
    {"category_names.lang", "catalog"},
    {"category_names.name", "catalog"},
    {"products.sku", "catalog"},
    {"products.category", "catalog"},
    {"products.price", "catalog"},
    {"products.currency", "catalog"},
    {"products.vat_rate", "catalog"},
    {"products.stock", "catalog"},
    {"products.active", "catalog"},
    {"products.position", "catalog"},
    {"products.updated_at", "catalog"},
    {"product_texts.sku", "catalog"},
    {"product_texts.lang", "catalog"},
    {"product_texts.name", "catalog"},
    {"product_texts.description", "catalog"},
    {"customers.id", "row key: links the customer's rows, carries no data of its own"},
    {"conversations.customer_id", "link to the customer row"},
    {"customer_aliases.customer_id", "link to the customer row"},
    {"cart_items.customer_id", "link to the customer row"},
    {"orders.id", "row key"},
    {"orders.customer_id", "link to the customer row (cleared when an order is kept detached)"},
    {"order_lines.order_id", "link to the order row"},
    {"order_vat.order_id", "link to the order row"},
    {"chat_messages.id", "row key"},
    {"chat_messages.customer_id", "link to the customer row"},
    {"outbox.id", "row key"},
    {"outbox.customer_id", "link to the customer row"},
    {"consent_records.id", "row key: the order of consent events"},
    {"consent_records.customer_id", "link to the customer row (cut when the customer is erased)"},
    {"chat_transcript.id", "row key"},
    {"chat_transcript.customer_id", "link to the customer row"},
    // The audit log (docs/audit-log.md): ids, roles, codes and counts only, never personal data.
    {"audit_events.seq", "audit log: order of events"},
    {"audit_events.time", "audit log: when"},
    {"audit_events.actor_kind", "audit log: system, staff token or data subject"},
    {"audit_events.actor_token_id", "audit log: the staff token's public id"},
    {"audit_events.actor_role", "audit log: the staff token's role"},
    {"audit_events.action", "audit log: what was done (a code)"},
    {"audit_events.resource", "audit log: what it was done to (an order number, a row id, a token id)"},
    {"audit_events.subject_ref", "audit log: the random pseudonymous subject id (as subject_keys.subject_id), never a name or address"},
    {"audit_events.purpose", "audit log: purpose or legal basis (a fixed text)"},
    {"audit_events.outcome", "audit log: success, failure, denied (a code)"},
    {"audit_events.counts", "audit log: counts (numbers only)"},
    {"audit_events.details", "audit log: settings and reason codes set by the code, never customer input"},
    {"audit_events.prev_hash", "audit log: hash chain"},
    {"audit_events.hash", "audit log: hash chain"},
    {"audit_checkpoints.id", "audit log: order of checkpoints"},
    {"audit_checkpoints.seq", "audit log: the last event a checkpoint covers"},
    {"audit_checkpoints.head_hash", "audit log: hash chain"},
    {"audit_checkpoints.time", "audit log: when signed"},
    {"audit_checkpoints.signature", "audit log: Ed25519 signature"},
    {"consent_deletion_permits.record_id", "id of a consent record being deleted at the end of its retention; empty at every commit"},
    {"privacy_requests.id", "row key: random, unguessable request id"},
    {"privacy_requests.customer_id", "link to the customer row (NULL for an unknown address; cut when the customer is erased)"},
    {"privacy_requests.code_hash", "keyed hash of a one-time verification code (a credential, expires in minutes)"},
    {"privacy_requests.code_expires_at", "expiry of the verification code"},
    {"privacy_requests.export_hash", "keyed hash of a one-time download token (a credential)"},
    {"privacy_requests.export_expires_at", "expiry of the download token"},
    {"privacy_requests.export_used_at", "when the download token was used"},
    {"processing_restrictions.customer_id", "link to the customer row"},
    {"outbox.detached_subject", "pseudonymous id of the throw-away key of a last message to an erased customer (shredded once sent)"},
};


std::string table_of(std::string_view field) { return std::string(field.substr(0, field.find('.'))); }

}  // namespace

std::span<const RegisteredField> registered_fields() { return kFields; }
std::span<const NonPersonalColumn> non_personal_columns() { return kNonPersonal; }


const RegisteredField* registered_field(std::string_view name) {
  for (const auto& f : kFields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

Status check_inventory(const Inventory& inventory) {
  std::vector<std::string> problems;
  for (const auto& c : inventory.categories) {
    for (const auto& f : c.fields) {
      if (f.ends_with(".*")) {
        const std::string table = table_of(f);
        const bool any = std::any_of(std::begin(kFields), std::end(kFields),
                                     [&](const RegisteredField& r) { return table_of(r.name) == table; });
        if (!any) {
          problems.push_back("category " + c.id + " declares \"" + f + "\", but the code stores no personal field in a table \"" +
                             table + "\"");
        }
      } else if (registered_field(f) == nullptr) {
        problems.push_back("category " + c.id + " declares the field \"" + f + "\", which the code does not store");
      }
    }
  }
  for (const auto& r : kFields) {
    const Category* c = inventory.category_of_field(r.name);
    if (c == nullptr) {
      problems.push_back("the code stores the personal field \"" + std::string(r.name) + "\" (" + std::string(r.what) +
                         "), which no category of the inventory declares");
    } else if (!c->collected && !r.optional) {
      problems.push_back("category " + c->id + " is declared \"collected\": false, but the shop cannot work without \"" +
                         std::string(r.name) + "\" (" + std::string(r.what) + ")");
    }
  }
  // A field named both explicitly and through "table.*" in different categories is ambiguous.
  for (const auto& r : kFields) {
    std::set<std::string> owners;
    const std::string star = table_of(r.name) + ".*";
    for (const auto& c : inventory.categories) {
      for (const auto& f : c.fields) {
        if (f == r.name || f == star) owners.insert(c.id);
      }
    }
    if (owners.size() > 1) {
      std::string list;
      for (const auto& o : owners) list += (list.empty() ? "" : ", ") + o;
      problems.push_back("the field \"" + std::string(r.name) + "\" is declared in several categories: " + list);
    }
  }
  // Erasure must be possible as declared: only rows that can be detached may be kept, and a kept
  // row can only lose fields that may be empty (its sealed ones).
  for (const auto& r : kFields) {
    const Category* c = inventory.category_of_field(r.name);
    if (c == nullptr) continue;
    const storage::CustomerTable* t = storage::customer_table(table_of(r.name));
    if (t == nullptr) continue;
    if (c->erasure.outcome == ErasureOutcome::keep_restricted && !t->retainable) {
      problems.push_back("category " + c->id + " keeps \"" + std::string(r.name) +
                         "\" after an erasure, but rows of " + std::string(t->name) +
                         " cannot be kept apart from the customer (only orders, their lines and VAT lines can)");
    }
    if (c->erasure.outcome == ErasureOutcome::unlink && !t->own_link) {
      problems.push_back("category " + c->id + " unlinks \"" + std::string(r.name) + "\" on erasure, but rows of " +
                         std::string(t->name) + " have no link of their own to cut");
    }
    if (c->erasure.outcome != ErasureOutcome::keep_restricted && t->retainable && r.protection != Protection::sealed) {
      bool table_keeps = false;
      for (const auto& other : kFields) {
        if (table_of(other.name) != table_of(r.name)) continue;
        const Category* oc = inventory.category_of_field(other.name);
        table_keeps = table_keeps || (oc != nullptr && oc->erasure.outcome == ErasureOutcome::keep_restricted);
      }
      if (table_keeps) {
        problems.push_back("category " + c->id + " erases \"" + std::string(r.name) + "\", but the rest of its row is kept and " +
                           "this field cannot be emptied: declare it in the kept category");
      }
    }
  }
  if (problems.empty()) return ok();
  std::string msg = "the data inventory does not match the personal data the code stores:";
  for (const auto& p : problems) msg += "\n  - " + p;
  return fail(Errc::config, msg);
}

}  // namespace comptoir::privacy

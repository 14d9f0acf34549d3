#include "storage/migrations.h"

namespace comptoir::storage {

namespace {

// Conventions: times are Unix seconds (INTEGER); personal fields are sealed envelopes (BLOB) made
// by privacy/vault.h, never plaintext; ids that reach logs are random, not derived from people.
constexpr Migration kMigrations[] = {
    {1, "API tokens and per-subject data keys", R"sql(
CREATE TABLE api_tokens (
  id           TEXT PRIMARY KEY,              -- public id, e.g. tok_3f2a9c01d4e5b6a7
  token_hash   BLOB NOT NULL UNIQUE,          -- keyed BLAKE2b-256 of the secret; the secret is never stored
  role         TEXT NOT NULL CHECK (role IN ('owner', 'operator', 'auditor')),
  label        TEXT NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at   INTEGER
);

CREATE TABLE subject_keys (
  subject_id   TEXT PRIMARY KEY,              -- random pseudonymous id of a data subject
  wrapped_key  BLOB NOT NULL,                 -- the subject's data key, sealed under the key-wrapping key
  wrap_version INTEGER NOT NULL DEFAULT 1,
  created_at   INTEGER NOT NULL
);

-- Tombstones of shredded subject keys: lets the vault tell "erased" from "never existed", and
-- lets a restore re-apply erasures made after a backup was taken.
CREATE TABLE shredded_subjects (
  subject_id   TEXT PRIMARY KEY,
  shredded_at  INTEGER NOT NULL
);
)sql"},
    {2, "catalog, customers, carts, conversations, orders, web chat messages", R"sql(
CREATE TABLE categories (
  id         TEXT PRIMARY KEY,
  position   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE category_names (
  category_id TEXT NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
  lang        TEXT NOT NULL,
  name        TEXT NOT NULL,
  PRIMARY KEY (category_id, lang)
);

CREATE TABLE products (
  sku        TEXT PRIMARY KEY,
  category   TEXT NOT NULL REFERENCES categories(id),
  price      INTEGER NOT NULL CHECK (price >= 0),       -- minor units, VAT included
  currency   TEXT NOT NULL,
  vat_rate   INTEGER NOT NULL CHECK (vat_rate >= 0 AND vat_rate <= 10000),  -- basis points
  stock      INTEGER NOT NULL CHECK (stock >= 0),
  active     INTEGER NOT NULL DEFAULT 1,
  position   INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);
CREATE INDEX products_category ON products(category, position, sku);
CREATE TABLE product_texts (
  sku         TEXT NOT NULL REFERENCES products(sku) ON DELETE CASCADE ON UPDATE CASCADE,
  lang        TEXT NOT NULL,
  name        TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (sku, lang)
);

-- A data subject reachable on one channel address. The address is stored only sealed under the
-- subject's key; lookups use its blind index.
CREATE TABLE customers (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  subject_id     TEXT NOT NULL UNIQUE,
  channel        TEXT NOT NULL,
  address_index  TEXT NOT NULL UNIQUE,
  address_sealed BLOB NOT NULL,
  language       TEXT NOT NULL DEFAULT 'en',
  created_at     INTEGER NOT NULL,
  last_active_at INTEGER NOT NULL
);

CREATE TABLE conversations (
  customer_id INTEGER PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
  state       BLOB NOT NULL,      -- sealed: may hold a half-typed delivery name or address
  updated_at  INTEGER NOT NULL
);

CREATE TABLE cart_items (
  customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  sku         TEXT NOT NULL,
  quantity    INTEGER NOT NULL CHECK (quantity > 0),
  added_at    INTEGER NOT NULL,
  PRIMARY KEY (customer_id, sku)
);

CREATE TABLE orders (
  id                      INTEGER PRIMARY KEY AUTOINCREMENT,  -- numbers are never reused
  number                  TEXT NOT NULL UNIQUE,
  customer_id             INTEGER REFERENCES customers(id) ON DELETE SET NULL,
  status                  TEXT NOT NULL CHECK (status IN ('placed','accepted','ready','shipped','completed','cancelled')),
  fulfilment              TEXT NOT NULL CHECK (fulfilment IN ('pickup','delivery')),
  currency                TEXT NOT NULL,
  language                TEXT NOT NULL,
  items_total             INTEGER NOT NULL,
  delivery_fee            INTEGER NOT NULL,
  total                   INTEGER NOT NULL,
  vat_total               INTEGER NOT NULL,
  recipient_name_sealed   BLOB,
  delivery_address_sealed BLOB,
  created_at              INTEGER NOT NULL,
  updated_at              INTEGER NOT NULL
);
CREATE INDEX orders_customer ON orders(customer_id, id);
CREATE INDEX orders_status ON orders(status, created_at);
CREATE INDEX orders_created ON orders(created_at);

CREATE TABLE order_lines (
  order_id   INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
  line_no    INTEGER NOT NULL,
  sku        TEXT NOT NULL,
  name       TEXT NOT NULL,
  unit_price INTEGER NOT NULL,
  quantity   INTEGER NOT NULL CHECK (quantity > 0),
  vat_rate   INTEGER NOT NULL,
  line_total INTEGER NOT NULL,
  PRIMARY KEY (order_id, line_no)
);

CREATE TABLE order_vat (
  order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
  vat_rate INTEGER NOT NULL,
  net      INTEGER NOT NULL,
  vat      INTEGER NOT NULL,
  gross    INTEGER NOT NULL,
  PRIMARY KEY (order_id, vat_rate)
);

-- Messages the shop sent on its own (order status news) to customers of pull channels (web
-- chat), fetched with GET /webchat/v1/messages?after=N. Bodies are sealed.
CREATE TABLE chat_messages (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  body_sealed BLOB NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE INDEX chat_messages_customer ON chat_messages(customer_id, id);
)sql"},
    {3, "messaging channels: inbound de-duplication, durable outbox, 24-hour windows", R"sql(
-- Platform message ids seen, so a retried webhook is processed once (a unique key, not a cache).
CREATE TABLE inbound_messages (
  channel     TEXT NOT NULL,
  external_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (channel, external_id)
) WITHOUT ROWID;
CREATE INDEX inbound_messages_received ON inbound_messages(received_at);

-- Every message we owe a customer on a push channel, written in the same transaction as the
-- change that caused it, then sent by a worker. Bodies are sealed and dropped once accepted.
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  customer_id     INTEGER REFERENCES customers(id) ON DELETE CASCADE,
  channel         TEXT NOT NULL,
  kind            TEXT NOT NULL,       -- message | callback_answer
  body_sealed     BLOB,                -- NULL once accepted by the platform
  status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'delivered', 'read', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,                -- platform error code and title; never message content
  external_id     TEXT,                -- wamid or Telegram message id
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX outbox_pending ON outbox(status, next_attempt_at, id);
CREATE INDEX outbox_customer ON outbox(customer_id, id);
CREATE UNIQUE INDEX outbox_external ON outbox(channel, external_id) WHERE external_id IS NOT NULL;

-- When the customer last wrote (the platform's timestamp): WhatsApp allows free-form replies
-- for 24 hours after it.
ALTER TABLE customers ADD COLUMN last_inbound_at INTEGER;
)sql"},
    {4, "declared-only personal data (profile name, chat transcript); orders kept after an erasure", R"sql(
-- Stored only when the data inventory declares the category collected (docs/privacy.md);
-- otherwise the platform's profile name is dropped on arrival and texts are never kept.
ALTER TABLE customers ADD COLUMN profile_name_sealed BLOB;

CREATE TABLE chat_transcript (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  direction   TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  body_sealed BLOB NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE INDEX chat_transcript_customer ON chat_transcript(customer_id, id);
CREATE INDEX chat_transcript_created ON chat_transcript(created_at);

-- An order whose customer asked for erasure but which the law requires to keep (the books): it is
-- detached (customer_id NULL, delivery details gone) and restricted until this time.
ALTER TABLE orders ADD COLUMN restricted_until INTEGER;
)sql"},
    {5, "consent ledger: privacy notice acknowledgements and marketing consent, append-only", R"sql(
-- One row per consent event, never changed afterwards. The current marketing state of a customer
-- is their latest marketing_given / marketing_withdrawn row (by id). Holds no personal data
-- beyond the link to the customer: the notice version is a hash of the notice text, not the text.
CREATE TABLE consent_records (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,  -- the order of events; never reused
  customer_id    INTEGER REFERENCES customers(id) ON DELETE SET NULL,  -- kept, unlinked, if the customer row goes
  kind           TEXT NOT NULL CHECK (kind IN ('notice_acknowledged', 'marketing_given', 'marketing_withdrawn')),
  notice_version TEXT NOT NULL CHECK (length(notice_version) = 64 AND notice_version NOT GLOB '*[^0-9a-f]*'),
                                                     -- lower-case hex SHA-256 of the notice served at /privacy
  language       TEXT NOT NULL CHECK (length(language) = 2),  -- the customer's, in which the notice was linked
  channel        TEXT NOT NULL CHECK (channel IN ('whatsapp', 'telegram', 'webchat')),
  order_number   TEXT,                               -- notice_acknowledged at checkout: the order placed
  created_at     INTEGER NOT NULL
);
CREATE INDEX consent_records_customer ON consent_records(customer_id, id);
CREATE INDEX consent_records_kind ON consent_records(kind, customer_id, id);

-- Append-only: no row is ever changed or deleted. The one change allowed is the unlinking done by
-- ON DELETE SET NULL when a customer row is deleted.
CREATE TRIGGER consent_records_immutable
BEFORE UPDATE OF id, kind, notice_version, language, channel, order_number, created_at ON consent_records
BEGIN
  SELECT RAISE(ABORT, 'consent_records is append-only');
END;
CREATE TRIGGER consent_records_unlink_only
BEFORE UPDATE OF customer_id ON consent_records
WHEN NEW.customer_id IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'consent_records is append-only');
END;
CREATE TRIGGER consent_records_no_delete
BEFORE DELETE ON consent_records
BEGIN
  SELECT RAISE(ABORT, 'consent_records is append-only');
END;
)sql"},
    {6, "audit log: hash-chained events and signed checkpoints, append-only", R"sql(
-- The tamper-evident audit log (docs/audit-log.md). Each event's hash commits to the previous
-- event's hash over the canonical encoding of the event; checkpoints sign (seq, head hash, time)
-- with Ed25519. No personal data: ids, roles, codes and counts only. Times are RFC 3339 UTC text
-- with milliseconds, exactly as hashed.
CREATE TABLE audit_events (
  seq            INTEGER PRIMARY KEY,        -- 1, 2, 3, … without gaps
  time           TEXT NOT NULL,
  actor_kind     TEXT NOT NULL CHECK (actor_kind IN ('system', 'token', 'data_subject')),
  actor_token_id TEXT NOT NULL DEFAULT '',
  actor_role     TEXT NOT NULL DEFAULT '',
  action         TEXT NOT NULL,
  resource       TEXT NOT NULL DEFAULT '',
  subject_ref    TEXT NOT NULL DEFAULT '',   -- pseudonymous subject id, '' for none
  purpose        TEXT NOT NULL DEFAULT '',
  outcome        TEXT NOT NULL,
  counts         TEXT NOT NULL DEFAULT '{}', -- JSON object of name -> integer
  details        TEXT NOT NULL DEFAULT '{}', -- JSON object of name -> short string
  prev_hash      BLOB NOT NULL CHECK (length(prev_hash) = 32),
  hash           BLOB NOT NULL CHECK (length(hash) = 32)
);
-- Finds an earlier record of the same key rotation (delivered at least once).
CREATE INDEX audit_events_rotation ON audit_events(resource) WHERE action = 'key.rotation';

CREATE TABLE audit_checkpoints (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  seq            INTEGER NOT NULL,           -- the last event covered
  head_hash      BLOB NOT NULL CHECK (length(head_hash) = 32),
  time           TEXT NOT NULL,
  signature      BLOB NOT NULL CHECK (length(signature) = 64)
);
CREATE INDEX audit_checkpoints_seq ON audit_checkpoints(seq, id);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
  SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
  SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;
)sql"},
    {7, "retention: consent records may be deleted only by the retention sweep, record by record", R"sql(
-- The ids of the consent records the retention sweep (storage/retention_store.cpp) is deleting
-- because their declared retention has ended. The sweep writes them, deletes exactly those records
-- and empties this table again, all in one transaction; it is empty at every commit.
CREATE TABLE consent_deletion_permits (
  record_id INTEGER PRIMARY KEY
);

-- Consent records stay append-only: no update (the triggers of migration 5 are kept) and no
-- delete, except of a record the retention sweep has named in consent_deletion_permits.
DROP TRIGGER consent_records_no_delete;
CREATE TRIGGER consent_records_no_delete
BEFORE DELETE ON consent_records
WHEN NOT EXISTS (SELECT 1 FROM consent_deletion_permits WHERE record_id = OLD.id)
BEGIN
  SELECT RAISE(ABORT, 'consent_records is append-only');
END;
)sql"},
    {8, "data-subject requests (Art. 12, 15-21) and restrictions of processing (Art. 18)", R"sql(
-- One row per request a data subject (or an operator on their behalf) opened. The address given
-- is never stored, not even as a blind index: a request for an address we do not know is stored
-- without a customer link, so its answer looks the same. Holds no personal data beyond the link
-- to the customer and, for a rectification until it is applied, the new values (sealed).
CREATE TABLE privacy_requests (
  id                TEXT PRIMARY KEY,   -- "prq_" + 32 hex digits, random: unguessable
  type              TEXT NOT NULL CHECK (type IN ('access', 'erasure', 'rectification', 'restriction', 'objection')),
  channel           TEXT NOT NULL CHECK (channel IN ('whatsapp', 'telegram', 'webchat')),
  origin            TEXT NOT NULL CHECK (origin IN ('web', 'chat', 'operator')),
  customer_id       INTEGER REFERENCES customers(id) ON DELETE SET NULL,  -- NULL: unknown address, or unlinked
  actor             TEXT NOT NULL,      -- "data_subject" or "token:tok_…" (operator opening it)
  received_at       INTEGER NOT NULL,
  due_at            INTEGER NOT NULL,   -- received + one month (Art. 12(3))
  extended_until    INTEGER,            -- at most two further months
  extension_reason  TEXT,
  verified_at       INTEGER,
  completed_at      INTEGER,
  outcome           TEXT,               -- short code: exported, erased, rectified, restricted, objected, nothing_held
  code_hash         BLOB,               -- keyed BLAKE2b of the verification code; never the code
  code_expires_at   INTEGER,
  attempts          INTEGER NOT NULL DEFAULT 0,
  locked_at         INTEGER,            -- too many wrong codes
  changes_sealed    BLOB,               -- rectification: the new values, sealed; cleared once applied
  receipt           TEXT,               -- erasure: the signed receipt (no personal data)
  export_hash       BLOB UNIQUE,        -- access: keyed BLAKE2b of the one-time download token
  export_expires_at INTEGER,
  export_used_at    INTEGER,
  lifted_at         INTEGER             -- restriction: when it was lifted
);
CREATE INDEX privacy_requests_received ON privacy_requests(received_at);
CREATE INDEX privacy_requests_customer ON privacy_requests(customer_id);

-- Customers whose data is restricted (Art. 18): kept, but not used for marketing or new
-- processing until the restriction is lifted (the row deleted).
-- A last message to a customer who has just been erased (the confirmation of the erasure): the
-- customer row and key are gone, so the message is sealed under a throw-away subject key of its
-- own, shredded as soon as the message was sent or has failed.
ALTER TABLE outbox ADD COLUMN detached_subject TEXT;

CREATE TABLE processing_restrictions (
  customer_id  INTEGER PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
  request_id   TEXT NOT NULL,
  since        INTEGER NOT NULL
);
)sql"},
    {9, "backups: tombstones by time, for keeping the erasure journal outside the database in step", R"sql(
-- The erasure journal (docs/operations.md, "Backups and restores") copies the tombstones of
-- shredded subject keys to a file beside the database; it reads the ones made since its last
-- entry.
CREATE INDEX shredded_subjects_at ON shredded_subjects(shredded_at);
)sql"},
    {10, "WhatsApp statuses that arrive before the Graph API's answer", R"sql(
-- A status webhook can overtake the answer to our send (which tells us the message's wamid). Such
-- a status waits here, and is applied when the send is recorded; unclaimed ones go after a day.
-- Holds no personal data: the platform's message id, a status, an error code and title.
CREATE TABLE early_statuses (
  channel     TEXT NOT NULL,
  external_id TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
  error       TEXT NOT NULL DEFAULT '',
  received_at INTEGER NOT NULL,
  PRIMARY KEY (channel, external_id, status)
) WITHOUT ROWID;
CREATE INDEX early_statuses_received ON early_statuses(received_at);
)sql"},
    {11, "other ids of a customer on the same channel (WhatsApp's business-scoped user id)", R"sql(
-- WhatsApp is replacing the phone number (wa_id) by a business-scoped user id for customers who
-- turn on usernames; a message may carry both, and later only the user id. The second id is kept
-- as a blind index only (never in the clear), so that it finds the same customer.
CREATE TABLE customer_aliases (
  address_index TEXT PRIMARY KEY,
  customer_id   INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  created_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX customer_aliases_customer ON customer_aliases(customer_id);
)sql"},
    {12, "outbox indexes that do not cost a page write per message sent", R"sql(
-- WhatsApp's message ids are random: indexing them cost a page write (one more page for SQLCipher
-- to encrypt) per message sent. A status now names its outbox entry by the id sent along with the
-- message (biz_opaque_callback_data), or is looked for among its customer's latest entries.
DROP INDEX outbox_external;
-- Only waiting and failed entries are looked up by status: a message moving from sent to
-- delivered to read no longer moves index entries.
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox(id) WHERE status = 'pending';
CREATE INDEX outbox_failed ON outbox(id) WHERE status = 'failed';
)sql"},
    {13, "inbound message keys in arrival order: one index page written per message, not two", R"sql(
-- Keyed by (channel, key) WITHOUT ROWID and indexed on received_at, a message's record touched two
-- random pages: its key's, and its place among the same second's entries, which the index orders
-- by key. As a rowid table the records are appended in arrival order (rows of one commit share a
-- page) and only the unique index on (channel, key) takes a random page; old records are the
-- first rows, so expiring them needs no index on received_at.
CREATE TABLE inbound_messages_v13 (
  channel     TEXT NOT NULL,
  external_id TEXT NOT NULL,       -- privacy::BlindIndex::message_key of the platform's id
  received_at INTEGER NOT NULL,
  UNIQUE (channel, external_id)
);
INSERT INTO inbound_messages_v13 (channel, external_id, received_at)
  SELECT channel, external_id, received_at FROM inbound_messages ORDER BY received_at;
DROP TABLE inbound_messages;
ALTER TABLE inbound_messages_v13 RENAME TO inbound_messages;
)sql"},
};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

}  // namespace comptoir::storage

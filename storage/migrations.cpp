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
};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

}  // namespace comptoir::storage

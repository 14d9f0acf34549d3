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
};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

}  // namespace comptoir::storage

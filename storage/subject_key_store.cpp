#include "storage/subject_key_store.h"

#include "storage/sqlite.h"

namespace comptoir::storage {

Status SubjectKeyStore::insert(Tx& tx, const WrappedSubjectKey& k) {
  Stmt tomb(tx, "SELECT 1 FROM shredded_subjects WHERE subject_id = ?");
  tomb.bind(1, k.subject_id);
  auto t = tomb.step();
  if (!t) return std::unexpected(t.error());
  if (*t) return fail(Errc::conflict, "subject id was used before");
  Stmt s(tx, "INSERT INTO subject_keys (subject_id, wrapped_key, wrap_version, created_at) VALUES (?,?,?,?)");
  s.bind(1, k.subject_id).bind_blob(2, k.wrapped_key).bind(3, std::int64_t{k.wrap_version}).bind(4, k.created_at);
  return s.run();
}

Status SubjectKeyStore::insert(const WrappedSubjectKey& k) {
  return db_.write([&](Tx& tx) { return insert(tx, k); });
}

Result<std::optional<WrappedSubjectKey>> SubjectKeyStore::find(Tx& tx, const std::string& subject_id) {
  Stmt s(tx, "SELECT subject_id, wrapped_key, wrap_version, created_at FROM subject_keys WHERE subject_id = ?");
  s.bind(1, subject_id);
  auto row = s.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<WrappedSubjectKey>();
  WrappedSubjectKey k;
  k.subject_id = s.text(0);
  k.wrapped_key = s.blob(1);
  k.wrap_version = static_cast<int>(s.int64(2));
  k.created_at = s.int64(3);
  return std::optional<WrappedSubjectKey>(std::move(k));
}

Result<std::optional<WrappedSubjectKey>> SubjectKeyStore::find(const std::string& subject_id) {
  Result<std::optional<WrappedSubjectKey>> out;
  auto st = db_.read([&](Tx& tx) -> Status {
    out = find(tx, subject_id);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Result<bool> SubjectKeyStore::shred(Tx& tx, const std::string& subject_id, std::int64_t at) {
  Stmt del(tx, "DELETE FROM subject_keys WHERE subject_id = ?");
  del.bind(1, subject_id);
  if (auto r = del.run(); !r) return std::unexpected(r.error());
  const bool deleted = sqlite3_changes(tx.handle()) > 0;
  Stmt tomb(tx, "INSERT OR IGNORE INTO shredded_subjects (subject_id, shredded_at) VALUES (?, ?)");
  tomb.bind(1, subject_id).bind(2, at);
  if (auto r = tomb.run(); !r) return std::unexpected(r.error());
  return deleted;
}

Result<bool> SubjectKeyStore::shred(const std::string& subject_id, std::int64_t at) {
  Result<bool> out = false;
  auto st = db_.write([&](Tx& tx) -> Status {
    out = shred(tx, subject_id, at);
    if (!out) return std::unexpected(out.error());
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Result<bool> SubjectKeyStore::is_shredded(Tx& tx, const std::string& subject_id) {
  Stmt s(tx, "SELECT 1 FROM shredded_subjects WHERE subject_id = ?");
  s.bind(1, subject_id);
  return s.step();
}

Result<bool> SubjectKeyStore::is_shredded(const std::string& subject_id) {
  Result<bool> out = false;
  auto st = db_.read([&](Tx& tx) -> Status {
    out = is_shredded(tx, subject_id);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

Result<std::int64_t> SubjectKeyStore::count() {
  std::int64_t n = 0;
  auto st = db_.read([&](Tx& tx) -> Status {
    Stmt s(tx, "SELECT count(*) FROM subject_keys");
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    n = s.int64(0);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return n;
}

Result<std::int64_t> SubjectKeyStore::rewrap_all(Tx& tx, const Rewrap& rewrap) {
  constexpr std::int64_t kPage = 500;
  std::int64_t done = 0;
  std::string after;
  for (;;) {
    // Read a page, then update it: no row is changed while a statement is reading the table.
    std::vector<WrappedSubjectKey> page;
    {
      Stmt s(tx.handle(),
             "SELECT subject_id, wrapped_key, wrap_version, created_at FROM subject_keys"
             " WHERE subject_id > ? ORDER BY subject_id LIMIT ?");
      s.bind(1, after).bind(2, kPage);
      for (;;) {
        auto row = s.step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        WrappedSubjectKey k;
        k.subject_id = s.text(0);
        k.wrapped_key = s.blob(1);
        k.wrap_version = static_cast<int>(s.int64(2));
        k.created_at = s.int64(3);
        page.push_back(std::move(k));
      }
    }
    if (page.empty()) return done;
    Stmt u(tx.handle(), "UPDATE subject_keys SET wrapped_key = ? WHERE subject_id = ?");
    for (const auto& k : page) {
      auto wrapped = rewrap(k);
      if (!wrapped) return std::unexpected(wrapped.error());
      u.reset();
      u.bind_blob(1, *wrapped).bind(2, k.subject_id);
      if (auto st = u.run(); !st) return std::unexpected(st.error());
      if (sqlite3_changes(tx.handle()) != 1) return fail(Errc::internal, "subject key vanished while rewrapping");
      ++done;
    }
    after = page.back().subject_id;
  }
}

}  // namespace comptoir::storage

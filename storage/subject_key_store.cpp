#include "storage/subject_key_store.h"

#include "storage/sqlite.h"

namespace comptoir::storage {

Status SubjectKeyStore::insert(const WrappedSubjectKey& k) {
  return db_.transaction([&](sqlite3* db) -> Status {
    Stmt tomb(db, "SELECT 1 FROM shredded_subjects WHERE subject_id = ?");
    tomb.bind(1, k.subject_id);
    auto t = tomb.step();
    if (!t) return std::unexpected(t.error());
    if (*t) return fail(Errc::conflict, "subject id was used before");
    Stmt s(db, "INSERT INTO subject_keys (subject_id, wrapped_key, wrap_version, created_at) VALUES (?,?,?,?)");
    s.bind(1, k.subject_id).bind_blob(2, k.wrapped_key).bind(3, std::int64_t{k.wrap_version}).bind(4, k.created_at);
    return s.run();
  });
}

Result<std::optional<WrappedSubjectKey>> SubjectKeyStore::find(const std::string& subject_id) {
  return db_.run([&](sqlite3* db) -> Result<std::optional<WrappedSubjectKey>> {
    Stmt s(db, "SELECT subject_id, wrapped_key, wrap_version, created_at FROM subject_keys WHERE subject_id = ?");
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
  });
}

Result<bool> SubjectKeyStore::shred(const std::string& subject_id, std::int64_t at) {
  bool deleted = false;
  auto st = db_.transaction([&](sqlite3* db) -> Status {
    Stmt del(db, "DELETE FROM subject_keys WHERE subject_id = ?");
    del.bind(1, subject_id);
    if (auto r = del.run(); !r) return r;
    deleted = sqlite3_changes(db) > 0;
    Stmt tomb(db, "INSERT OR IGNORE INTO shredded_subjects (subject_id, shredded_at) VALUES (?, ?)");
    tomb.bind(1, subject_id).bind(2, at);
    return tomb.run();
  });
  if (!st) return std::unexpected(st.error());
  return deleted;
}

Result<bool> SubjectKeyStore::is_shredded(const std::string& subject_id) {
  return db_.run([&](sqlite3* db) -> Result<bool> {
    Stmt s(db, "SELECT 1 FROM shredded_subjects WHERE subject_id = ?");
    s.bind(1, subject_id);
    return s.step();
  });
}

Result<std::int64_t> SubjectKeyStore::count() {
  return db_.run([&](sqlite3* db) -> Result<std::int64_t> {
    Stmt s(db, "SELECT count(*) FROM subject_keys");
    auto row = s.step();
    if (!row) return std::unexpected(row.error());
    return s.int64(0);
  });
}

}  // namespace comptoir::storage

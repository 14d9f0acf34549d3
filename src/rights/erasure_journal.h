// The erasure journal: a small append-only text file beside the database (DATA_DIR/erasures.journal)
// naming every data subject that was erased, by pseudonymous subject id and time only — no
// personal data. It exists so that restoring a backup never brings an erased person back, even
// when the live database (whose shredded_subjects tombstones say the same) is lost or damaged:
// `comptoir restore` erases everyone in it again. Copies of it may be kept elsewhere (it is
// harmless to copy) and given to a restore. Format and rules: docs/operations.md.
//
//   # comptoir erasure journal v1: <subject id> <unix seconds of the erasure>
//   sub_0123456789abcdef0123456789abcdef 1790000000
//
// Entries are added after the erasure commits (the tombstone in the database is written in the
// same transaction as the erasure); sync_from() copies tombstones that are not yet in the file, so
// an entry missed by a crash is added at the next sync (server start, every housekeeping round,
// every backup, every restore). Thread-safe and safe across processes: every append holds an
// exclusive flock on the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/error.h"
#include "storage/database.h"

namespace comptoir::rights {

struct JournalEntry {
  std::string subject_id;
  std::int64_t erased_at = 0;
};

// True for the vault's subject ids: "sub_" followed by 32 lower-case hex digits.
bool valid_subject_id(std::string_view id);

// The entries of a journal file (first entry per subject id, in file order). A missing file is
// Errc::not_found. A torn last line (no newline: a crash while appending) is ignored; any other
// malformed line is Errc::corrupt naming the file and line number.
Result<std::vector<JournalEntry>> read_journal(const std::filesystem::path& file);

class ErasureJournal {
 public:
  explicit ErasureJournal(std::filesystem::path file) : file_(std::move(file)) {}
  const std::filesystem::path& file() const { return file_; }

  // Appends the entries whose subject ids are not in the file yet (creating it, mode 0600) and
  // fsyncs; a torn last line is cut off first. Returns how many were added.
  Result<std::size_t> append(const std::vector<JournalEntry>& entries);
  // Appends the database's tombstones that the file lacks. `full` reads every tombstone;
  // otherwise only those from a day before the file's latest entry on (enough for erasures
  // committed out of clock order). Returns how many were added.
  Result<std::size_t> sync_from(storage::Database& db, bool full = true);

 private:
  std::filesystem::path file_;
};

inline constexpr std::string_view kJournalFileName = "erasures.journal";

}  // namespace comptoir::rights

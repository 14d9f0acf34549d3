#include "src/rights/erasure_journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>

#include "src/common/files.h"
#include "storage/backup_store.h"

namespace comptoir::rights {

namespace {

constexpr std::string_view kHeader = "# comptoir erasure journal v1: <subject id> <unix seconds of the erasure>\n";
constexpr std::size_t kMaxBytes = 256u << 20;  // ~5 million entries

Error io_error(const std::filesystem::path& file, const char* what) {
  return Error{Errc::io, std::string(what) + " " + file.string() + ": " + std::strerror(errno), {}};
}

// Parses `text`; `file` names it in errors.
Result<std::vector<JournalEntry>> parse(std::string_view text, const std::filesystem::path& file) {
  std::vector<JournalEntry> out;
  std::set<std::string, std::less<>> seen;
  std::size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    ++line_no;
    if (nl == std::string_view::npos) break;  // torn last line: the append it belongs to did not finish
    const std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line.front() == '#') continue;
    const auto sp = line.find(' ');
    std::int64_t at = -1;
    bool good = sp != std::string_view::npos && valid_subject_id(line.substr(0, sp));
    if (good) {
      const std::string_view num = line.substr(sp + 1);
      auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), at);
      good = ec == std::errc() && p == num.data() + num.size() && at >= 0 && !num.empty();
    }
    if (!good) {
      return fail(Errc::corrupt, file.string() + ":" + std::to_string(line_no) + ": not an erasure journal entry");
    }
    std::string id(line.substr(0, sp));
    if (seen.insert(id).second) out.push_back({std::move(id), at});
  }
  return out;
}

// Reads the whole file through `fd` (held locked by the caller).
Result<std::string> read_fd(int fd, const std::filesystem::path& file) {
  std::string text;
  char buf[65536];
  off_t off = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(io_error(file, "read"));
    }
    if (n == 0) return text;
    text.append(buf, static_cast<std::size_t>(n));
    off += n;
    if (text.size() > kMaxBytes) return fail(Errc::corrupt, file.string() + " is larger than an erasure journal can be");
  }
}

}  // namespace

bool valid_subject_id(std::string_view id) {
  if (id.size() != 36 || !id.starts_with("sub_")) return false;
  return std::all_of(id.begin() + 4, id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Result<std::vector<JournalEntry>> read_journal(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return fail(Errc::not_found, "no erasure journal at " + file.string());
  auto text = files::read(file, kMaxBytes);
  if (!text) return std::unexpected(text.error());
  return parse(*text, file);
}

Result<std::size_t> ErasureJournal::append(const std::vector<JournalEntry>& entries) {
  const int fd = ::open(file_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return std::unexpected(io_error(file_, "open"));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }  // also releases the flock
  } closer{fd};
  if (::flock(fd, LOCK_EX) != 0) return std::unexpected(io_error(file_, "lock"));
  auto text = read_fd(fd, file_);
  if (!text) return std::unexpected(text.error());
  std::string add;
  if (text->empty()) add = kHeader;
  if (!text->empty() && text->back() != '\n') {
    // A torn last line (an append a crash interrupted): cut it off before appending.
    const auto keep = text->rfind('\n') + 1;  // 0 when there is no complete line at all
    if (::ftruncate(fd, static_cast<off_t>(keep)) != 0) return std::unexpected(io_error(file_, "truncate"));
    text->resize(keep);
    if (text->empty()) add = kHeader;
  }
  auto existing = parse(*text, file_);
  if (!existing) return std::unexpected(existing.error());
  std::set<std::string, std::less<>> have;
  for (const auto& e : *existing) have.insert(e.subject_id);
  std::size_t added = 0;
  for (const auto& e : entries) {
    if (!valid_subject_id(e.subject_id)) return fail(Errc::invalid_argument, "not a subject id");
    if (!have.insert(e.subject_id).second) continue;
    add += e.subject_id + " " + std::to_string(e.erased_at) + "\n";
    ++added;
  }
  if (added == 0 && !text->empty()) return std::size_t{0};
  std::size_t off = 0;
  while (off < add.size()) {
    const ssize_t n = ::write(fd, add.data() + off, add.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(io_error(file_, "write"));
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return std::unexpected(io_error(file_, "fsync"));
  if (text->empty()) {
    if (auto st = files::fsync_dir(file_.parent_path()); !st) return std::unexpected(st.error());
  }
  return added;
}

Result<std::size_t> ErasureJournal::sync_from(storage::Database& db, bool full) {
  std::int64_t since = 0;
  if (!full) {
    auto existing = read_journal(file_);
    if (existing) {
      for (const auto& e : *existing) since = std::max(since, e.erased_at);
      since = std::max<std::int64_t>(0, since - 86400);
    } else if (existing.error().code != Errc::not_found) {
      return std::unexpected(existing.error());
    }
  }
  std::vector<storage::Tombstone> tombstones;
  auto st = db.read([&](storage::Tx& tx) -> Status {
    auto t = since == 0 ? storage::list_tombstones(tx) : storage::tombstones_since(tx, since);
    if (!t) return std::unexpected(t.error());
    tombstones = std::move(*t);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  std::vector<JournalEntry> entries;
  entries.reserve(tombstones.size());
  for (auto& t : tombstones) {
    if (valid_subject_id(t.subject_id)) entries.push_back({std::move(t.subject_id), t.shredded_at});
  }
  return append(entries);  // creates the file (header only) when there is nothing to add yet
}

}  // namespace comptoir::rights

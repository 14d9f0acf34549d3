// Small, careful file-system helpers: exact modes, atomic replacement, no partial files.
// All functions report failures as Result values naming the path (paths are not personal data).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "src/common/error.h"
#include "src/common/secret.h"

namespace comptoir::files {

namespace fs = std::filesystem;

// Reads a whole file; `max_bytes` guards against reading something unexpectedly huge.
Result<std::string> read(const fs::path& path, std::size_t max_bytes = 16u << 20);
Result<SecretBytes> read_secret(const fs::path& path, std::size_t max_bytes = 4096);

// Creates `path` exclusively (fails if it exists) with `mode`, writes, fsyncs the file and its
// directory. Used for key files, which must never be overwritten by accident.
Status write_new(const fs::path& path, std::string_view data, mode_t mode);
// Writes to a temporary sibling with `mode`, fsyncs, renames over `path`, fsyncs the directory.
Status write_atomic(const fs::path& path, std::string_view data, mode_t mode);

// rename(2), then fsyncs the directory of `to` (both paths in the same directory).
Status rename_durably(const fs::path& from, const fs::path& to);
// Overwrites the file with zeros (best effort: file systems that copy on write, and SSDs, may
// keep the old blocks), fsyncs, unlinks it and fsyncs its directory. A missing file is fine.
Status shred(const fs::path& path);
Status fsync_file(const fs::path& path);

// Creates one directory with exactly `mode` (umask does not apply). Fails if it exists.
Status make_dir(const fs::path& path, mode_t mode);
Status fsync_dir(const fs::path& dir);

// The permission bits of `path` (st_mode & 0777), or an error.
Result<mode_t> permissions(const fs::path& path);

}  // namespace comptoir::files

#include "src/common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "src/common/encoding.h"

namespace comptoir::files {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

Status write_all(int fd, std::string_view data, const fs::path& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::io, "write " + path.string() + ": " + errno_text(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail(Errc::io, "fsync " + path.string() + ": " + errno_text(errno));
  return ok();
}

Result<std::string> read_fd(int fd, const fs::path& path, std::size_t max_bytes) {
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::io, "read " + path.string() + ": " + errno_text(errno));
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      return fail(Errc::invalid_argument, path.string() + ": file is larger than " +
                                              std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace

Result<std::string> read(const fs::path& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(Errc::io, "cannot read " + path.string() + ": " + errno_text(errno));
  auto r = read_fd(fd, path, max_bytes);
  ::close(fd);
  return r;
}

Result<SecretBytes> read_secret(const fs::path& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(Errc::io, "cannot read " + path.string() + ": " + errno_text(errno));
  SecretBytes buf(max_bytes + 1);
  std::size_t done = 0;
  for (;;) {
    if (done == buf.size()) {
      ::close(fd);
      return fail(Errc::invalid_argument,
                  path.string() + ": secret file is larger than " + std::to_string(max_bytes) + " bytes");
    }
    const ssize_t n = ::read(fd, buf.data() + done, buf.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return fail(Errc::io, "read " + path.string() + ": " + errno_text(err));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return SecretBytes::copy_of(std::span<const std::uint8_t>(buf.data(), done));
}

Status write_new(const fs::path& path, std::string_view data, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return fail(Errc::io, "cannot create " + path.string() + ": " + errno_text(errno));
  if (::fchmod(fd, mode) != 0) {
    const int err = errno;
    ::close(fd);
    return fail(Errc::io, "chmod " + path.string() + ": " + errno_text(err));
  }
  auto st = write_all(fd, data, path);
  ::close(fd);
  if (!st) {
    ::unlink(path.c_str());
    return st;
  }
  return fsync_dir(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

Status write_atomic(const fs::path& path, std::string_view data, mode_t mode) {
  const fs::path tmp = path.string() + ".tmp-" + random_id("", 6);
  if (auto st = write_new(tmp, data, mode); !st) return st;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail(Errc::io, "rename to " + path.string() + ": " + errno_text(err));
  }
  return fsync_dir(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

Status rename_durably(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return fail(Errc::io, "rename " + from.string() + " to " + to.string() + ": " + errno_text(errno));
  }
  return fsync_dir(to.parent_path().empty() ? fs::path(".") : to.parent_path());
}

Status fsync_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(Errc::io, "open " + path.string() + ": " + errno_text(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return fail(Errc::io, "fsync " + path.string() + ": " + errno_text(err));
  return ok();
}

Status shred(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return ok();
    // Cannot overwrite (e.g. mode 0400): still remove it below.
  } else {
    struct stat st{};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      const std::string zeros(static_cast<std::size_t>(st.st_size), '\0');
      (void)write_all(fd, zeros, path);  // fsyncs
    }
    ::close(fd);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return fail(Errc::io, "remove " + path.string() + ": " + errno_text(errno));
  }
  return fsync_dir(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

Status make_dir(const fs::path& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0) {
    return fail(errno == EEXIST ? Errc::conflict : Errc::io,
                "cannot create directory " + path.string() + ": " + errno_text(errno));
  }
  if (::chmod(path.c_str(), mode) != 0) {
    return fail(Errc::io, "chmod " + path.string() + ": " + errno_text(errno));
  }
  return ok();
}

Status fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(Errc::io, "open directory " + dir.string() + ": " + errno_text(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return fail(Errc::io, "fsync directory " + dir.string() + ": " + errno_text(err));
  return ok();
}

Result<mode_t> permissions(const fs::path& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    return fail(Errc::io, "stat " + path.string() + ": " + errno_text(errno));
  }
  return static_cast<mode_t>(st.st_mode & 07777);
}

}  // namespace comptoir::files

// Tests for src/common/files: bounded reads, exclusive creation with exact modes, atomic
// replacement, directory creation. Every test works in its own temporary directory.
#include "src/common/files.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace comptoir::files {
namespace {

using comptoir::testing::read_text;
using comptoir::testing::TempDir;
using comptoir::testing::write_text;

// Sets the process umask for the scope (each test runs in its own process under ctest).
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : saved_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(saved_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t saved_;
};

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

TEST(FilesRead, ReadsExactBytes) {
  TempDir dir;
  const std::string content("line1\nline2\r\n\0binary\xff", 21);
  write_text(dir / "f", content);
  auto r = read(dir / "f");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, content);
}

TEST(FilesRead, ReadsEmptyAndMultiChunkFiles) {
  TempDir dir;
  write_text(dir / "empty", "");
  auto e = read(dir / "empty");
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->empty());

  std::string big;
  for (int i = 0; i < 100000; ++i) big.push_back(static_cast<char>('a' + i % 26));
  write_text(dir / "big", big);
  auto b = read(dir / "big");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, big);
}

TEST(FilesRead, EnforcesMaxBytes) {
  TempDir dir;
  write_text(dir / "f", std::string(10000, 'x'));
  auto exact = read(dir / "f", 10000);
  ASSERT_TRUE(exact.has_value());
  EXPECT_EQ(exact->size(), 10000u);
  auto over = read(dir / "f", 9999);
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().code, Errc::invalid_argument);
  EXPECT_NE(over.error().message.find((dir / "f").string()), std::string::npos);
  EXPECT_NE(over.error().message.find("9999"), std::string::npos);
  EXPECT_FALSE(read(dir / "f", 0).has_value());
}

TEST(FilesRead, MissingFileIsIoErrorNamingThePath) {
  TempDir dir;
  auto r = read(dir / "nope");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_NE(r.error().message.find((dir / "nope").string()), std::string::npos);
}

TEST(FilesReadSecret, KeepsEveryByteIncludingTrailingNewline) {
  TempDir dir;
  write_text(dir / "s", "hunter2\n");
  auto s = read_secret(dir / "s");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->view(), "hunter2\n");
  write_text(dir / "crlf", " spaced \r\n");
  auto c = read_secret(dir / "crlf");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->view(), " spaced \r\n");
  write_text(dir / "empty", "");
  auto e = read_secret(dir / "empty");
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->empty());
}

TEST(FilesReadSecret, EnforcesMaxBytesWithoutEchoingContent) {
  TempDir dir;
  write_text(dir / "s", std::string(32, 'k'));
  auto exact = read_secret(dir / "s", 32);
  ASSERT_TRUE(exact.has_value());
  EXPECT_EQ(exact->size(), 32u);
  auto over = read_secret(dir / "s", 31);
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().code, Errc::invalid_argument);
  EXPECT_EQ(over.error().message.find("kkkk"), std::string::npos);
  // Larger than the internal buffer and the default cap.
  write_text(dir / "big", std::string(10000, 'z'));
  auto big = read_secret(dir / "big");
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().message.find("zzzz"), std::string::npos);
  EXPECT_TRUE(read_secret(dir / "big", 10000).has_value());
}

TEST(FilesReadSecret, MissingFileAndDirectoryAreErrors) {
  TempDir dir;
  auto missing = read_secret(dir / "nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::io);
  EXPECT_NE(missing.error().message.find((dir / "nope").string()), std::string::npos);
  auto d = read_secret(dir.path());
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, Errc::io);
}

TEST(FilesWriteNew, CreatesWithExactModeRegardlessOfUmask) {
  TempDir dir;
  {
    ScopedUmask mask(0);
    ASSERT_TRUE(write_new(dir / "a", "secret", 0600).has_value());
  }
  {
    ScopedUmask mask(077);
    ASSERT_TRUE(write_new(dir / "b", "x", 0640).has_value());
  }
  {
    ScopedUmask mask(0222);
    ASSERT_TRUE(write_new(dir / "c", "y", 0600).has_value());
  }
  EXPECT_EQ(permissions(dir / "a").value(), 0600u);
  EXPECT_EQ(permissions(dir / "b").value(), 0640u);
  EXPECT_EQ(permissions(dir / "c").value(), 0600u);
  EXPECT_EQ(read_text(dir / "a"), "secret");
}

TEST(FilesWriteNew, RefusesToOverwrite) {
  TempDir dir;
  write_text(dir / "key", "original");
  ::chmod((dir / "key").c_str(), 0644);
  auto st = write_new(dir / "key", "replacement", 0600);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Errc::io);
  EXPECT_NE(st.error().message.find((dir / "key").string()), std::string::npos);
  EXPECT_EQ(read_text(dir / "key"), "original");
  EXPECT_EQ(permissions(dir / "key").value(), 0644u);
  ASSERT_TRUE(write_new(dir / "fresh", "1", 0600).has_value());
  EXPECT_FALSE(write_new(dir / "fresh", "2", 0600).has_value());
  EXPECT_EQ(read_text(dir / "fresh"), "1");
}

TEST(FilesWriteNew, DoesNotFollowSymlinks) {
  TempDir dir;
  fs::create_symlink(dir / "target", dir / "link");  // dangling
  EXPECT_FALSE(write_new(dir / "link", "data", 0600).has_value());
  EXPECT_FALSE(fs::exists(dir / "target"));
  write_text(dir / "existing", "keep");
  fs::create_symlink(dir / "existing", dir / "link2");
  EXPECT_FALSE(write_new(dir / "link2", "data", 0600).has_value());
  EXPECT_EQ(read_text(dir / "existing"), "keep");
}

TEST(FilesWriteNew, MissingDirectoryIsAnError) {
  TempDir dir;
  auto st = write_new(dir / "no" / "such" / "f", "x", 0600);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Errc::io);
}

TEST(FilesWriteNew, WritesEmptyAndLargeData) {
  TempDir dir;
  ASSERT_TRUE(write_new(dir / "empty", "", 0600).has_value());
  EXPECT_EQ(fs::file_size(dir / "empty"), 0u);
  const std::string big(3u << 20, 'q');
  ASSERT_TRUE(write_new(dir / "big", big, 0600).has_value());
  EXPECT_EQ(read_text(dir / "big"), big);
}

TEST(FilesWriteAtomic, CreatesThenReplaces) {
  TempDir dir;
  ScopedUmask mask(022);
  ASSERT_TRUE(write_atomic(dir / "state.json", "v1", 0644).has_value());
  EXPECT_EQ(read_text(dir / "state.json"), "v1");
  EXPECT_EQ(permissions(dir / "state.json").value(), 0644u);
  ASSERT_TRUE(write_atomic(dir / "state.json", "version two, longer", 0600).has_value());
  EXPECT_EQ(read_text(dir / "state.json"), "version two, longer");
  EXPECT_EQ(permissions(dir / "state.json").value(), 0600u);
  ASSERT_TRUE(write_atomic(dir / "state.json", "", 0600).has_value());
  EXPECT_EQ(read_text(dir / "state.json"), "");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"state.json"});  // no temp files left
}

TEST(FilesWriteAtomic, ReplacesASymlinkRatherThanWritingThroughIt) {
  TempDir dir;
  write_text(dir / "elsewhere", "untouched");
  fs::create_symlink(dir / "elsewhere", dir / "f");
  ASSERT_TRUE(write_atomic(dir / "f", "new", 0600).has_value());
  EXPECT_FALSE(fs::is_symlink(dir / "f"));
  EXPECT_EQ(read_text(dir / "f"), "new");
  EXPECT_EQ(read_text(dir / "elsewhere"), "untouched");
}

TEST(FilesWriteAtomic, FailureLeavesNothingBehind) {
  TempDir dir;
  fs::create_directory(dir / "sub");
  EXPECT_FALSE(write_atomic(dir / "sub" / "missing" / "f", "x", 0600).has_value());
  EXPECT_TRUE(entries(dir / "sub").empty());
  // Renaming a file over a non-empty directory fails; the temporary must be cleaned up.
  fs::create_directory(dir / "sub" / "occupied");
  write_text(dir / "sub" / "occupied" / "inner", "i");
  auto st = write_atomic(dir / "sub" / "occupied", "x", 0600);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Errc::io);
  EXPECT_EQ(entries(dir / "sub"), std::vector<std::string>{"occupied"});
  EXPECT_EQ(read_text(dir / "sub" / "occupied" / "inner"), "i");
}

TEST(FilesMakeDir, CreatesWithExactModeRegardlessOfUmask) {
  TempDir dir;
  {
    ScopedUmask mask(077);
    ASSERT_TRUE(make_dir(dir / "shared", 0750).has_value());
  }
  {
    ScopedUmask mask(0);
    ASSERT_TRUE(make_dir(dir / "private", 0700).has_value());
  }
  EXPECT_TRUE(fs::is_directory(dir / "shared"));
  EXPECT_EQ(permissions(dir / "shared").value(), 0750u);
  EXPECT_EQ(permissions(dir / "private").value(), 0700u);
}

TEST(FilesMakeDir, ExistingIsConflictMissingParentIsIo) {
  TempDir dir;
  ASSERT_TRUE(make_dir(dir / "d", 0700).has_value());
  auto again = make_dir(dir / "d", 0700);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, Errc::conflict);
  EXPECT_NE(again.error().message.find((dir / "d").string()), std::string::npos);
  write_text(dir / "file", "");
  auto over_file = make_dir(dir / "file", 0700);
  ASSERT_FALSE(over_file.has_value());
  EXPECT_EQ(over_file.error().code, Errc::conflict);
  auto orphan = make_dir(dir / "a" / "b", 0700);
  ASSERT_FALSE(orphan.has_value());
  EXPECT_EQ(orphan.error().code, Errc::io);
}

TEST(FilesPermissions, ReportsModeBitsOrError) {
  TempDir dir;
  write_text(dir / "f", "");
  ASSERT_EQ(::chmod((dir / "f").c_str(), 0604), 0);
  EXPECT_EQ(permissions(dir / "f").value(), 0604u);
  ASSERT_EQ(::chmod((dir / "f").c_str(), 0400), 0);
  EXPECT_EQ(permissions(dir / "f").value(), 0400u);
  auto missing = permissions(dir / "missing");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::io);
}

TEST(FilesFsyncDir, WorksOnDirectoriesOnly) {
  TempDir dir;
  EXPECT_TRUE(fsync_dir(dir.path()).has_value());
  write_text(dir / "f", "");
  EXPECT_FALSE(fsync_dir(dir / "f").has_value());
  EXPECT_FALSE(fsync_dir(dir / "missing").has_value());
}

}  // namespace
}  // namespace comptoir::files

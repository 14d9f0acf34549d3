// Test support: a private temporary directory removed at scope exit, and small file helpers.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace comptoir::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_text(const std::filesystem::path& p, const std::string& text);
std::string read_text(const std::filesystem::path& p);
// SHA-256-free fingerprint of every regular file under `dir`: path -> exact contents.
std::map<std::string, std::string> snapshot(const std::filesystem::path& dir);

// A minimal valid config for `data_dir` (port 0 = ephemeral), with optional extra JSON members
// spliced into the top-level object (e.g. "\"log\": {\"level\": \"debug\"}").
std::string minimal_config(const std::filesystem::path& data_dir, const std::string& extra = "");

}  // namespace comptoir::testing

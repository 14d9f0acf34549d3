#include "tests/support/temp_dir.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace comptoir::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "comptoir-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::map<std::string, std::string> snapshot(const std::filesystem::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[e.path().string()] = read_text(e.path());
  }
  return out;
}

std::string minimal_config(const std::filesystem::path& data_dir, const std::string& extra) {
  std::string cfg = "{\n  \"data_dir\": \"" + data_dir.string() + "\",\n  \"server\": {\"host\": \"127.0.0.1\", \"port\": 0}";
  if (!extra.empty()) cfg += ",\n  " + extra;
  cfg += "\n}\n";
  return cfg;
}

}  // namespace comptoir::testing

#include "eval/files.h"

#include <algorithm>
#include <fstream>

#include "base/files.h"

namespace deskpilot::eval {

std::vector<std::filesystem::path> input_files(const std::string& path, const std::vector<std::string>& extensions) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path, ec))
      if (e.is_regular_file() &&
          std::find(extensions.begin(), extensions.end(), e.path().extension().string()) != extensions.end())
        files.push_back(e.path());
    std::sort(files.begin(), files.end());
  } else if (fs::is_regular_file(path, ec)) {
    files.push_back(path);
  }
  return files;
}

bool read_jsonl(const std::string& path, const std::string& what,
                const std::function<bool(const nlohmann::json&)>& take, std::string* error) {
  if (*error = base::unreadable_file_reason(path); !error->empty()) return false;
  std::ifstream in(path);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    bool ok = false;
    try {
      ok = take(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception&) {
    }
    if (!ok) {
      *error = path + ": line " + std::to_string(n) + ": not " + what;
      return false;
    }
  }
  return true;
}

}  // namespace deskpilot::eval

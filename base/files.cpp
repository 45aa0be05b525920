#include "base/files.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "base/process.h"

namespace deskpilot::base {

std::string unreadable_file_reason(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return path + ": cannot open: " + (errno == ENOENT ? std::string("no such file") : std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return path + ": cannot open: it is a directory, not a file";
  if (!S_ISREG(st.st_mode)) return path + ": cannot open: not a regular file";
  if (::access(path.c_str(), R_OK) != 0) return path + ": cannot open: " + std::strerror(errno);
  return "";
}

bool read_file(const std::string& path, std::string* out, std::string* error) {
  if (std::string why = unreadable_file_reason(path); !why.empty()) {
    *error = why;
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = path + ": cannot open";
    return false;
  }
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    *error = path + ": read error";
    return false;
  }
  return true;
}

namespace {

// PREFIX-PID-XXXXXX folders of ours whose PID no longer runs.
void remove_orphaned_scratch_dirs(const std::filesystem::path& base, const std::string& prefix) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(base, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix + "-", 0) != 0) continue;
    const std::string rest = name.substr(prefix.size() + 1);
    const size_t dash = rest.find('-');
    if (dash == 0 || dash == std::string::npos || rest.find_first_not_of("0123456789") != dash) continue;
    struct stat st;
    if (::lstat(entry.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::getuid()) continue;
    const pid_t owner = static_cast<pid_t>(std::stol(rest.substr(0, dash)));
    if (owner == ::getpid() || process_alive(owner)) continue;
    std::filesystem::remove_all(entry.path(), ec);
  }
}

}  // namespace

std::string make_scratch_dir(const std::string& prefix, std::string* error) {
  std::error_code ec;
  std::filesystem::path base = std::filesystem::temp_directory_path(ec);
  if (ec) base = "/tmp";
  remove_orphaned_scratch_dirs(base, prefix);
  std::string path = (base / (prefix + "-" + std::to_string(getpid()) + "-XXXXXX")).string();
  if (!mkdtemp(path.data())) {
    *error = "cannot make a scratch folder in " + base.string() + ": " + std::strerror(errno);
    return "";
  }
  return path;
}

}  // namespace deskpilot::base

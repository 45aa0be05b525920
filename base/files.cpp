#include "base/files.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace deskpilot::base {

bool read_file(const std::string& path, std::string* out, std::string* error) {
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

std::string make_scratch_dir(const std::string& prefix, std::string* error) {
  std::error_code ec;
  std::filesystem::path base = std::filesystem::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string path = (base / (prefix + "-XXXXXX")).string();
  if (!mkdtemp(path.data())) {
    *error = "cannot make a scratch folder in " + base.string() + ": " + std::strerror(errno);
    return "";
  }
  return path;
}

}  // namespace deskpilot::base

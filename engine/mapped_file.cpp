#include "engine/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace deskpilot::engine {

std::unique_ptr<MappedFile> MappedFile::open(const std::string& path, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = path + ": " + std::strerror(errno);
    return nullptr;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    *error = path + ": " + (S_ISDIR(st.st_mode) ? std::string("a directory, not a file") : std::strerror(errno));
    close(fd);
    return nullptr;
  }
  std::unique_ptr<MappedFile> f(new MappedFile());
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ > 0) {
    f->map_ = mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (f->map_ == MAP_FAILED) {
      f->map_ = nullptr;
      *error = path + ": mmap: " + std::strerror(errno);
      close(fd);
      return nullptr;
    }
  }
  close(fd);
  return f;
}

MappedFile::~MappedFile() {
  if (map_) munmap(map_, size_);
}

}  // namespace deskpilot::engine

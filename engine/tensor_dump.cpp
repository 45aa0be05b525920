#include "engine/tensor_dump.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

namespace deskpilot::engine {
namespace {

class TensorDumper {
 public:
  explicit TensorDumper(std::string dir) : dir_(std::move(dir)) {}

  void operator()(const std::string& name, const std::vector<int64_t>& shape, const float* data) {
    const int n = seen_[name]++;
    const std::string file = n == 0 ? name + ".bin" : name + "." + std::to_string(n) + ".bin";
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    std::ofstream(dir_ + "/" + file, std::ios::binary)
        .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(count * sizeof(float)));
    index_.push_back({{"name", name}, {"shape", shape}, {"file", file}, {"dtype", "F32"}});
    std::ofstream(dir_ + "/index.json") << index_.dump(1) << "\n";
  }

 private:
  std::string dir_;
  std::map<std::string, int> seen_;
  nlohmann::json index_ = nlohmann::json::array();
};

}  // namespace

TensorSink tensor_dump_sink(const std::string& dir, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    *error = dir + ": cannot create the folder: " + ec.message();
    return {};
  }
  auto dumper = std::make_shared<TensorDumper>(dir);
  return [dumper](const std::string& name, const std::vector<int64_t>& shape, const float* data) {
    (*dumper)(name, shape, data);
  };
}

}  // namespace deskpilot::engine

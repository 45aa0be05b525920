#include "engine/device.h"

#include <chrono>
#include <cstring>
#include <vector>

#include "base/clock.h"

#ifdef DESKPILOT_HAVE_CUDA
#include "kernels/cuda/runtime.h"
#endif

namespace deskpilot::engine {

const char* device_name(Device device) { return device == Device::kCuda ? "cuda" : "cpu"; }

bool cuda_usable(std::string* why) {
#ifdef DESKPILOT_HAVE_CUDA
  if (kernels::cuda::device_count() > 0) return true;
  if (why) *why = kernels::cuda::device_description(0);
  return false;
#else
  if (why) *why = "this build has no CUDA (configure with nvcc installed, or -DDESKPILOT_CUDA=ON)";
  return false;
#endif
}

bool resolve_device(std::string_view text, Device* device, std::string* error) {
  if (text == "cpu") {
    *device = Device::kCpu;
    return true;
  }
  if (text == "cuda" || text == "auto") {
    std::string why;
    if (cuda_usable(&why)) {
      *device = Device::kCuda;
      return true;
    }
    if (text == "auto") {
      *device = Device::kCpu;
      return true;
    }
    if (error) *error = why;
    return false;
  }
  if (error) *error = "expected cpu, cuda or auto, got '" + std::string(text) + "'";
  return false;
}

double copy_bandwidth_gbs(Device device) {
#ifdef DESKPILOT_HAVE_CUDA
  if (device == Device::kCuda) return kernels::cuda::copy_bandwidth_gbs();
#endif
  (void)device;
  const size_t bytes = size_t{256} << 20;
  std::vector<char> a(bytes, 1), b(bytes, 2);
  std::memcpy(b.data(), a.data(), bytes);  // pages touched
  const int reps = 8;
  const auto t = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) {
    std::memcpy(b.data(), a.data(), bytes);
    a[static_cast<size_t>(i)] = b[bytes - 1 - static_cast<size_t>(i)];  // keep the copies
  }
  const double s = base::seconds_since(t);
  return s > 0 ? 2.0 * static_cast<double>(bytes) * reps / s / 1e9 : 0;
}

std::string device_description(Device device) {
#ifdef DESKPILOT_HAVE_CUDA
  if (device == Device::kCuda) return "cuda: " + kernels::cuda::device_description(0);
#endif
  return device_name(device);
}

}  // namespace deskpilot::engine

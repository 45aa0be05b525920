#include "engine/device.h"

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
    if (error) *error = "--device cuda: " + why;
    return false;
  }
  if (error) *error = "--device: expected cpu, cuda or auto, got '" + std::string(text) + "'";
  return false;
}

std::string device_description(Device device) {
#ifdef DESKPILOT_HAVE_CUDA
  if (device == Device::kCuda) return "cuda: " + kernels::cuda::device_description(0);
#endif
  return device_name(device);
}

}  // namespace deskpilot::engine

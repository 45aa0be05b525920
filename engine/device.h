// Where a model runs: the CPU (always there) or one NVIDIA GPU (when the
// build has CUDA and the machine a usable device). "auto" picks the GPU when
// there is one. Every command that loads a model takes --device cpu|cuda|auto.
#pragma once

#include <string>
#include <string_view>

namespace deskpilot::engine {

enum class Device { kCpu, kCuda };

const char* device_name(Device device);  // "cpu", "cuda"

// Whether this build and machine can run on the GPU; *why (when not) says
// which is missing: the build, the driver or the device.
bool cuda_usable(std::string* why);

// "cpu", "cuda" or "auto" -> a device this machine can run. false and *error
// for another word (the words allowed), or for "cuda" where it is not usable
// (the reason); callers name the setting ("--device cuda: ...").
bool resolve_device(std::string_view text, Device* device, std::string* error);

// Memory bandwidth of the device in GB/s, measured now with a large copy
// (read + write): the reference of the decode roofline. 0 when it fails.
double copy_bandwidth_gbs(Device device);

// One line for logs: "cpu" or "cuda: NVIDIA H200 (sm_90, 139 GiB)".
std::string device_description(Device device);

}  // namespace deskpilot::engine

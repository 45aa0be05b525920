// The CUDA runtime as the rest of deskpilot sees it: plain C++ types only, so
// that callers need no CUDA headers. Compiled only when CUDA is enabled.
#pragma once

#include <string>

namespace deskpilot::kernels::cuda {

// Number of usable CUDA devices; 0 when there is no driver or no GPU.
int device_count();
// "NVIDIA H200 (sm_90, 139 GiB)" or the reason there is none.
std::string device_description(int device);
// Device-to-device copy bandwidth in GB/s (read + write, 1 GiB x 10): the
// reference a memory-bound kernel is measured against; 0 when it cannot run.
double copy_bandwidth_gbs();

}  // namespace deskpilot::kernels::cuda

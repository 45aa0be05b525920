// The CUDA runtime as the rest of deskpilot sees it: plain C++ types only, so
// that callers need no CUDA headers. Compiled only when CUDA is enabled.
#pragma once

#include <string>

namespace deskpilot::kernels::cuda {

// Number of usable CUDA devices; 0 when there is no driver or no GPU.
int device_count();
// "NVIDIA H200 (sm_90, 139 GiB)" or the reason there is none.
std::string device_description(int device);

}  // namespace deskpilot::kernels::cuda

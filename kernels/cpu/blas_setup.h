// OpenBLAS, for linear()'s prefill blocks: loaded by kernels/ itself, at
// first use, so that it runs the kernels this CPU can run.
//
// OpenBLAS picks its kernels once, as the library initialises, from the
// CPU's family and model numbers; a CPU newer than the library (Debian 12
// ships 0.3.21: an Emerald Rapids Xeon, family 6 model 207, reads as
// "Prescott") gets its SSE3 kernels, a third of the speed of its AVX-512
// ones. So OPENBLAS_CORETYPE is set from what the CPU and the OS support
// (AVX-512 with BF16: Cooperlake; AVX-512: SkylakeX; AVX2 + FMA: Haswell),
// unless the user has set it, before OpenBLAS initialises: before dlopen
// where kernels/ opens it itself (the engine-only build), and before any
// library's initialiser where the program links it through OpenCV (see
// blas_setup.cpp). Internal to kernels/cpu.
#pragma once

#include <cstdint>

namespace deskpilot::kernels {

// c (m, n), row stride ldc = a (m, k) · bᵀ, b (n, k), all row-major FP32, on
// the calling thread. False, with nothing written, where this build has no
// OpenBLAS or the library could not be opened (said once on stderr).
bool blas_sgemm_nt(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c, int64_t ldc);

// OpenBLAS's name for the kernels it runs ("SkylakeX", "Haswell", ...), or
// "none" where there is no OpenBLAS.
const char* blas_core();

}  // namespace deskpilot::kernels

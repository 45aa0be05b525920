// BF16 weights on CPUs with AVX-512 BF16 (Zen 4, Cooper Lake, Sapphire
// Rapids): y = x · Wᵀ + b with vdpbf16ps, which multiplies pairs of BF16
// values and adds both products to an FP32 lane, 32 products an instruction,
// reading the weights as the file stores them (no widening to FP32 first).
// Internal to kernels/cpu; linear() takes it for BF16 weights, any m.
//
// Two arithmetics (Bf16Input). kSplit keeps FP32's accuracy: each value of
// x is split into two BF16 parts, hi = bf16(x) and lo = bf16(x - hi) (both
// rounded to nearest even), so that x - (hi + lo) is within 2^-17 of x;
// each product is w·hi + w·lo, exact products of 8-bit significands summed
// in FP32. kRound takes hi alone, as transformers, vLLM and llama.cpp
// multiply a BF16 model: up to 2^-9 of each value off (the tiny models'
// 1e-4 goldens do not hold) for half the instructions. linear() splits
// decode's few rows, where the weights' bytes bound the time and the split
// costs nothing, and rounds prefill's many rows, where arithmetic bounds it
// (kernels/cpu/gemm.h). The instruction treats BF16 subnormals as zero;
// activations that small are zero to FP32 sums anyway.
//
// The blocking: x is split once per call into (m, kp) hi and lo rows (hi
// alone for kRound), kp =
// k rounded up to 32, zero-padded. Few rows of x (m <= 8, decode): each
// thread takes one run of weight rows and reads each row once, from start
// to end, against every row of x (one stream per thread: the hardware
// prefetcher keeps up; four rows at a time measured 0.8x). Many rows: a
// task is a block of up to 64 weight rows, walked in chunks of kBf16Chunk
// columns (the block's chunk stays in L2, a group of 4 x rows' chunk in
// L1: 2048 columns measured 0.77x), each group of 4 rows of x against each
// group of 4 weight rows: 16 FP32 accumulators of 16 lanes, per 32 columns
// 4 weight loads and 8 x loads for 32 instructions (kSplit) or 4 for 16
// (kRound); each chunk's sums are added into y. kRound's GEMM measured 350
// GFLOPS on a 2-core Zen 4 (m 256, k = n = 3584) whose two cores do 460 at
// most (one vdpbf16ps a cycle each); 6 rows of x a tile (24 sums) ran no
// faster.
#pragma once

#include <cstdint>

namespace deskpilot::kernels {

constexpr int64_t kBf16Chunk = 1024;  // columns of k per pass over a weight block (many rows of x)

// What vdpbf16ps multiplies the weights with.
enum class Bf16Input {
  kSplit,  // hi + lo: FP32's accuracy, twice the instructions (free where the weights' bytes bound the time)
  kRound,  // x rounded to BF16 once (to nearest even), as transformers, vLLM and llama.cpp run BF16 models
};

// Whether this build has the kernel (AVX-512 F/BW/BF16).
bool has_bf16_gemm();

// y (m, n), row stride ldy = x (m, k) · wᵀ + bias (n, or nullptr), w (n, k)
// BF16 row-major, in the arithmetic above, with every OpenMP thread. False,
// with nothing written, where has_bf16_gemm() is false.
bool bf16_gemm(const float* x, int64_t m, int64_t k, const uint16_t* w, int64_t n, const float* bias, float* y,
               int64_t ldy, Bf16Input input = Bf16Input::kSplit);

}  // namespace deskpilot::kernels

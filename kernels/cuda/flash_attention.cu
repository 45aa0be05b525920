#include "kernels/cuda/flash_attention.h"

#include <cuda_bf16.h>

#include <cmath>

#include "kernels/cuda/common.cuh"

namespace deskpilot::kernels::cuda {
namespace {

constexpr int kFlashWarps = 4;
constexpr int kRowsPerWarp = 16;                         // the m of m16n8k16
constexpr int kBlockRows = kFlashWarps * kRowsPerWarp;   // 64 (token, head) rows per block
constexpr int kBlockKeys = 64;                           // keys staged per tile
constexpr int kFlashThreads = kFlashWarps * kWarp;
constexpr int kPad = 8;  // BF16 after each staged row: the fragment loads hit 32 different banks

// Two values as the BF16 pair of one 32-bit mma operand register (the first
// in the low half).
__device__ __forceinline__ uint32_t pack(float lo, float hi) {
  const __nv_bfloat162 p = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&p);
}
__device__ __forceinline__ uint32_t pack_pair(const float* p) {
  const float2 f = *reinterpret_cast<const float2*>(p);
  return pack(f.x, f.y);
}
__device__ __forceinline__ uint32_t pack_pair(const uint16_t* p) { return *reinterpret_cast<const uint32_t*>(p); }

// d += a b for one 16x8x16 tile: a (16x16, row-major) and b (16x8, column-
// major) BF16, d FP32. Fragment layouts (PTX ISA, mma.m16n8k16), with
// g = lane / 4 and c = lane % 4: a = {(g, 2c..2c+1), (g+8, 2c..), (g, 2c+8..),
// (g+8, 2c+8..)}; b = {(k 2c..2c+1, n g), (k 2c+8..2c+9, n g)}; d = {(g, 2c),
// (g, 2c+1), (g+8, 2c), (g+8, 2c+1)}.
__device__ __forceinline__ void mma_bf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
  __trap();  // flash_attention_supported() keeps older devices away
#endif
}

__device__ __forceinline__ float group_max(float v) {  // over the 4 lanes that share a row
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float group_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// Rows [first, last] of the (token, group head) rows: the keys any of them sees.
__device__ KeyRange span_of(int64_t first, int64_t last, int64_t group, int64_t past, const int64_t* starts,
                            int64_t segments) {
  return {key_range(first / group, past, starts, segments).lo, key_range(last / group, past, starts, segments).hi};
}

template <int HD, typename KV>
__global__ void __launch_bounds__(kFlashThreads)
    flash_kernel(const float* __restrict__ q, const KV* __restrict__ k, const KV* __restrict__ v,
                 float* __restrict__ out, uint16_t* __restrict__ out_bf16, int64_t len, int64_t past,
                 const int64_t* past_at, const int64_t* starts,
                 int64_t segments, int64_t q_heads, int64_t kv_heads, float scale_log2) {
  constexpr int kSteps = HD / 16;             // k-steps of Q K^T
  constexpr int kOutTiles = HD / 8;           // n-tiles of P V
  constexpr int kKeyTiles = kBlockKeys / 8;   // n-tiles of Q K^T
  constexpr int kStride = HD + kPad;
  __shared__ __align__(16) uint16_t ks[kBlockKeys * kStride];  // (64 keys, HD) BF16
  __shared__ __align__(16) uint16_t vs[kBlockKeys * kStride];  // (64 keys, HD) BF16

  if (past_at) past = *past_at;
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int g = lane / 4, c = lane % 4;
  const int64_t group = q_heads / kv_heads, kvh = blockIdx.y;
  const int64_t rows = len * group, row0 = static_cast<int64_t>(blockIdx.x) * kBlockRows;
  const int64_t q_row = q_heads * HD, kv_row = kv_heads * HD;

  // This thread's rows g and g + 8 of its warp's 16: row r is token r / group,
  // query head kvh * group + r % group.
  const float* qp[2];
  int64_t op[2];  // offset of the row's output, -1: a padding row
  KeyRange mine[2];
  for (int i = 0; i < 2; ++i) {
    const int64_t r = row0 + warp * kRowsPerWarp + g + 8 * i;
    if (r < rows) {
      const int64_t t = r / group, h = kvh * group + r % group;
      qp[i] = q + t * q_row + h * HD;
      op[i] = t * q_row + h * HD;
      mine[i] = key_range(t, past, starts, segments);
    } else {
      qp[i] = nullptr;
      op[i] = -1;
      mine[i] = {0, 0};
    }
  }
  // The queries as A fragments, BF16, for the whole kernel.
  uint32_t qf[kSteps][4];
  for (int s = 0; s < kSteps; ++s) {
    const int col = s * 16 + c * 2;
    qf[s][0] = qp[0] ? pack_pair(qp[0] + col) : 0u;
    qf[s][1] = qp[1] ? pack_pair(qp[1] + col) : 0u;
    qf[s][2] = qp[0] ? pack_pair(qp[0] + col + 8) : 0u;
    qf[s][3] = qp[1] ? pack_pair(qp[1] + col + 8) : 0u;
  }
  // Key spans (ranges grow with the row): the block's, and this warp's.
  const int64_t block_last = (row0 + kBlockRows < rows ? row0 + kBlockRows : rows) - 1;
  const KeyRange span = span_of(row0, block_last, group, past, starts, segments);
  const int64_t warp_first = row0 + warp * kRowsPerWarp;
  const int64_t warp_last = (warp_first + kRowsPerWarp < rows ? warp_first + kRowsPerWarp : rows) - 1;
  const KeyRange warp_span =
      warp_first < rows ? span_of(warp_first, warp_last, group, past, starts, segments) : KeyRange{0, 0};

  float o[kOutTiles][4];
  for (int n = 0; n < kOutTiles; ++n)
    for (int e = 0; e < 4; ++e) o[n][e] = 0.f;
  float m[2] = {-INFINITY, -INFINITY};  // running max of the scaled scores (log2 units)
  float l[2] = {0.f, 0.f};              // this lane's part of the running sum of p
  for (int64_t kt = span.lo; kt < span.hi; kt += kBlockKeys) {
    __syncthreads();  // the previous tile is consumed
    for (int e = threadIdx.x; e < kBlockKeys * (HD / 2); e += kFlashThreads) {
      const int j = e / (HD / 2), d = (e % (HD / 2)) * 2;
      const int64_t key = kt + j;
      uint32_t kk = 0u, vv = 0u;
      if (key < span.hi) {
        kk = pack_pair(k + key * kv_row + kvh * HD + d);
        vv = pack_pair(v + key * kv_row + kvh * HD + d);
      }
      *reinterpret_cast<uint32_t*>(&ks[j * kStride + d]) = kk;
      *reinterpret_cast<uint32_t*>(&vs[j * kStride + d]) = vv;
    }
    __syncthreads();
    if (kt >= warp_span.hi || kt + kBlockKeys <= warp_span.lo) continue;  // the same for the whole warp

    // S = Q K^T: (16 rows, 64 keys), FP32.
    float s[kKeyTiles][4];
    for (int n = 0; n < kKeyTiles; ++n) {
      for (int e = 0; e < 4; ++e) s[n][e] = 0.f;
      const uint16_t* kr = ks + (n * 8 + g) * kStride + c * 2;
      for (int st = 0; st < kSteps; ++st)
        mma_bf16(s[n], qf[st], pack_pair(kr + st * 16), pack_pair(kr + st * 16 + 8));
    }
    // Mask, scale, and the rows' new maxima.
    float tile_max[2] = {-INFINITY, -INFINITY};
    for (int n = 0; n < kKeyTiles; ++n)
      for (int e = 0; e < 4; ++e) {
        const int i = e / 2;
        const int64_t key = kt + n * 8 + c * 2 + (e & 1);
        s[n][e] = key >= mine[i].lo && key < mine[i].hi ? s[n][e] * scale_log2 : -INFINITY;
        tile_max[i] = fmaxf(tile_max[i], s[n][e]);
      }
    float base[2], correction[2];
    for (int i = 0; i < 2; ++i) {
      const float m_new = fmaxf(m[i], group_max(tile_max[i]));
      base[i] = m_new == -INFINITY ? 0.f : m_new;  // a row with no key yet: p = 0, not NaN
      correction[i] = exp2f(m[i] - base[i]);
      m[i] = m_new;
    }
    float tile_sum[2] = {0.f, 0.f};
    for (int n = 0; n < kKeyTiles; ++n)
      for (int e = 0; e < 4; ++e) {
        s[n][e] = exp2f(s[n][e] - base[e / 2]);
        tile_sum[e / 2] += s[n][e];
      }
    for (int i = 0; i < 2; ++i) l[i] = l[i] * correction[i] + tile_sum[i];
    for (int n = 0; n < kOutTiles; ++n)
      for (int e = 0; e < 4; ++e) o[n][e] *= correction[e / 2];
    // O += P V: P's accumulators are already A fragments (two key tiles per k-step).
    for (int ks16 = 0; ks16 < kBlockKeys / 16; ++ks16) {
      const uint32_t a[4] = {pack(s[2 * ks16][0], s[2 * ks16][1]), pack(s[2 * ks16][2], s[2 * ks16][3]),
                             pack(s[2 * ks16 + 1][0], s[2 * ks16 + 1][1]),
                             pack(s[2 * ks16 + 1][2], s[2 * ks16 + 1][3])};
      const uint16_t* v0 = vs + (ks16 * 16 + c * 2) * kStride + g;
      for (int n = 0; n < kOutTiles; ++n) {
        const uint16_t* vc = v0 + n * 8;
        const uint32_t b0 = static_cast<uint32_t>(vc[0]) | static_cast<uint32_t>(vc[kStride]) << 16;
        const uint32_t b1 =
            static_cast<uint32_t>(vc[8 * kStride]) | static_cast<uint32_t>(vc[9 * kStride]) << 16;
        mma_bf16(o[n], a, b0, b1);
      }
    }
  }
  for (int i = 0; i < 2; ++i) {
    const float total = group_sum(l[i]);
    if (op[i] < 0) continue;
    const float inv = total > 0.f ? 1.f / total : 0.f;
    for (int n = 0; n < kOutTiles; ++n) {
      const float lo = o[n][2 * i] * inv, hi = o[n][2 * i + 1] * inv;
      const int64_t at = op[i] + n * 8 + c * 2;
      if (out_bf16)
        *reinterpret_cast<uint32_t*>(out_bf16 + at) = bf16_bits(lo) | static_cast<uint32_t>(bf16_bits(hi)) << 16;
      else
        *reinterpret_cast<float2*>(out + at) = make_float2(lo, hi);
    }
  }
}

template <int HD, typename KV>
cudaError_t launch(const FlashAttentionArgs& a, const KV* k, const KV* v, dim3 grid, float scale_log2,
                   cudaStream_t stream) {
  flash_kernel<HD, KV><<<grid, kFlashThreads, 0, stream>>>(a.q, k, v, a.out, a.out_bf16, a.len, a.past, a.past_at,
                                                           a.starts, a.segments, a.q_heads, a.kv_heads, scale_log2);
  return cudaGetLastError();
}

template <typename KV>
cudaError_t dispatch(const FlashAttentionArgs& a, dim3 grid, float scale_log2, cudaStream_t stream) {
  const auto* k = static_cast<const KV*>(a.k);
  const auto* v = static_cast<const KV*>(a.v);
  switch (a.head_dim) {
    case 16: return launch<16>(a, k, v, grid, scale_log2, stream);
    case 32: return launch<32>(a, k, v, grid, scale_log2, stream);
    case 64: return launch<64>(a, k, v, grid, scale_log2, stream);
    case 80: return launch<80>(a, k, v, grid, scale_log2, stream);
    case 96: return launch<96>(a, k, v, grid, scale_log2, stream);
    case 128: return launch<128>(a, k, v, grid, scale_log2, stream);
    default: return cudaErrorInvalidValue;
  }
}

bool head_dim_compiled(int64_t head_dim) {
  return head_dim == 16 || head_dim == 32 || head_dim == 64 || head_dim == 80 || head_dim == 96 || head_dim == 128;
}

}  // namespace

bool flash_attention_supported(int64_t head_dim) {
  if (!head_dim_compiled(head_dim)) return false;
  int device = 0, major = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return major >= 8;
}

cudaError_t flash_attention(const FlashAttentionArgs& a, cudaStream_t stream) {
  if (!a.q || !a.k || !a.v || !a.out == !a.out_bf16 || a.len <= 0 || a.q_heads <= 0 || a.kv_heads <= 0 || a.q_heads % a.kv_heads)
    return cudaErrorInvalidValue;
  if (a.starts ? (a.segments <= 0 || a.q_heads != a.kv_heads) : a.past < 0) return cudaErrorInvalidValue;
  if (!head_dim_compiled(a.head_dim)) return cudaErrorInvalidValue;
  const int64_t rows = a.len * (a.q_heads / a.kv_heads);
  const int64_t blocks = (rows + kBlockRows - 1) / kBlockRows;
  if (blocks > 0x7fffffff || a.kv_heads > 65535) return cudaErrorInvalidConfiguration;
  const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(a.kv_heads));
  const float scale_log2 = 1.4426950408889634f / sqrtf(static_cast<float>(a.head_dim));
  return a.storage == KvStorage::kBf16 ? dispatch<uint16_t>(a, grid, scale_log2, stream)
                                       : dispatch<float>(a, grid, scale_log2, stream);
}

}  // namespace deskpilot::kernels::cuda

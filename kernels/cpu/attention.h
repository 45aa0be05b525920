// Causal grouped-query attention over a KV cache, FP32.
//
// Query row i is token `past + i` of the sequence and sees cache rows
// 0..past+i (causality by sequence index, never by rotary position).
// Query head h reads KV head h / (q_heads / kv_heads). Scores are scaled by
// 1 / sqrt(head_dim) and normalised with a max-subtracted softmax.
#pragma once

#include <cstdint>

namespace deskpilot::kernels {

// Where a cache keeps its rows: row t of KV head g starts at
// k + t * token_stride + g * head_stride (floats).
struct KvLayout {
  int64_t token_stride;
  int64_t head_stride;
  // (tokens, kv_heads, head_dim): a model's k/v projections as they come.
  static KvLayout token_major(int64_t kv_heads, int64_t head_dim) { return {kv_heads * head_dim, head_dim}; }
  // (kv_heads, capacity, head_dim): each head's keys contiguous, what decode
  // streams (the CPU KvCache).
  static KvLayout head_major(int64_t capacity, int64_t head_dim) { return {head_dim, capacity * head_dim}; }
};

// q: (len, q_heads, head_dim); k, v: (past + len, kv_heads, head_dim) (the
// cache, rows past.. already written); out: (len, q_heads, head_dim).
void attention_causal(const float* q, const float* k, const float* v, float* out, int64_t len, int64_t past,
                      int64_t q_heads, int64_t kv_heads, int64_t head_dim);
// The same over a cache laid out as `layout` says. Decode (len <= 8) splits
// each KV head's keys into chunks of 256 and scores a chunk for all the
// query heads that share it (each key and value read once), then merges the
// chunks' softmax sums.
void attention_causal(const float* q, const float* k, const float* v, float* out, int64_t len, int64_t past,
                      int64_t q_heads, int64_t kv_heads, int64_t head_dim, KvLayout layout);

// The reference: the same in double, one query at a time.
void attention_causal_reference(const float* q, const float* k, const float* v, float* out, int64_t len, int64_t past,
                                int64_t q_heads, int64_t kv_heads, int64_t head_dim);

// Bidirectional attention within segments (the vision tower: one segment
// per image, or per window). q, k, v, out: (n, heads, head_dim); token t
// attends to every token of its segment [starts[s], starts[s + 1]).
// starts: (segments + 1), starts[0] = 0, starts[segments] = n.
void attention_segments(const float* q, const float* k, const float* v, float* out, int64_t n, int64_t heads,
                        int64_t head_dim, const int64_t* starts, int64_t segments);

void attention_segments_reference(const float* q, const float* k, const float* v, float* out, int64_t n,
                                  int64_t heads, int64_t head_dim, const int64_t* starts, int64_t segments);

}  // namespace deskpilot::kernels

#pragma once
// Row gathers and scatters (embedding lookup, the token permutation of mixture-of-experts) and
// MoE routing (SPEC.md section 5). scatter_add_rows is deterministic: each row of y receives its
// contributions in increasing order of the source row, as on the CPU, through a stable sort of
// the target ids (no floating-point atomics).

#include <cstdint>

#include "common.cuh"

namespace latte::cuda::kernels {

// out[i] = float(table[ids[i]]); one block per output row. Bad ids set the error flag and
// leave a row of zeros.
template <class S>
static __global__ void gather_rows(weight_view table, const std::int32_t* ids, index_t ids_stride, float* out, index_t ldo,
                            int* error_flag) {
  const index_t i = blockIdx.x;
  const std::int32_t id = ids[i * ids_stride];
  float* row = out + i * ldo;
  if (id < 0 || id >= table.rows) {
    if (threadIdx.x == 0) atomicExch(error_flag, detail::error_gather_id);
    for (index_t c = threadIdx.x; c < table.cols; c += blockDim.x) row[c] = 0.0f;
    return;
  }
  for (index_t c = threadIdx.x; c < table.cols; c += blockDim.x) row[c] = detail::load_weight_as<S>(table, id, c);
}

// Few rows: one thread per column walks the rows in order.
static __global__ void scatter_add_columns(const float* x, index_t ldx, const std::int32_t* ids, index_t ids_stride,
                                    const float* weights, index_t w_stride, float* y, index_t ldy, index_t y_rows,
                                    index_t m, index_t d, int* error_flag) {
  const index_t c = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= d) return;
  for (index_t i = 0; i < m; ++i) {
    const std::int32_t id = ids[i * ids_stride];
    if (id < 0 || id >= y_rows) {
      if (c == 0) atomicExch(error_flag, detail::error_scatter_id);
      continue;
    }
    y[id * ldy + c] += weights[i * w_stride] * x[i * ldx + c];
  }
}

// Copies a strided int vector to contiguous memory with its positions alongside.
static __global__ void ids_with_positions(const std::int32_t* ids, index_t ids_stride, index_t m, std::int32_t* keys,
                                   std::int32_t* positions) {
  const index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= m) return;
  keys[i] = ids[i * ids_stride];
  positions[i] = static_cast<std::int32_t>(i);
}

// Many rows: ids sorted stably (keys) with their source rows (order); the block at the first
// position of each run of equal keys sums the run in order.
static __global__ void scatter_add_sorted(const float* x, index_t ldx, const std::int32_t* keys, const std::int32_t* order,
                                   const float* weights, index_t w_stride, float* y, index_t ldy, index_t y_rows,
                                   index_t m, index_t d, int* error_flag) {
  const index_t p = blockIdx.x;
  const std::int32_t id = keys[p];
  if (p > 0 && keys[p - 1] == id) return;
  if (id < 0 || id >= y_rows) {
    if (threadIdx.x == 0) atomicExch(error_flag, detail::error_scatter_id);
    return;
  }
  index_t end = p + 1;
  while (end < m && keys[end] == id) ++end;
  for (index_t c = threadIdx.x; c < d; c += blockDim.x) {
    float acc = y[id * ldy + c];
    for (index_t q = p; q < end; ++q) {
      const index_t i = order[q];
      acc += weights[i * w_stride] * x[i * ldx + c];
    }
    y[id * ldy + c] = acc;
  }
}

struct route_params {
  index_t experts = 0;
  index_t top_k = 1;
  index_t n_group = 1;
  index_t topk_group = 1;
  bool softmax = false;
  bool norm_topk_prob = false;
  float routed_scaling_factor = 1.0f;
  const float* selection_bias = nullptr;
};

// Larger value wins, ties go to the lower index; index -1 is "none".
__device__ inline void better_of(float& bv, int& bi, float ov, int oi) {
  if (oi >= 0 && (bi < 0 || ov > bv || (ov == bv && oi < bi))) { bv = ov; bi = oi; }
}

// Block-wide argmax of values[0..n) over the entries not yet taken; every thread gets the index.
__device__ inline int block_argmax(const float* values, const unsigned char* taken, int n, float* red_v, int* red_i) {
  float bv = -INFINITY;
  int bi = -1;
  for (int e = threadIdx.x; e < n; e += blockDim.x)
    if (!taken[e]) better_of(bv, bi, values[e], e);
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
    const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
    better_of(bv, bi, ov, oi);
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  __syncthreads();
  if (lane == 0) { red_v[warp] = bv; red_i[warp] = bi; }
  __syncthreads();
  bv = -INFINITY;
  bi = -1;
  for (int w = 0; w < static_cast<int>(blockDim.x / 32); ++w) better_of(bv, bi, red_v[w], red_i[w]);
  return bi;
}

// One block per token. Dynamic shared memory: score[n], choice[n] floats, taken[n] bytes,
// group_score[n_group] floats, chosen[top_k] ints.
static __global__ void route(const float* logits, index_t ld, route_params p, std::int32_t* experts, index_t lde,
                      float* weights, index_t ldw) {
  extern __shared__ float shared[];
  __shared__ float red_v[32];
  __shared__ int red_i[32];
  const int n = static_cast<int>(p.experts);
  float* score = shared;
  float* choice = score + n;
  float* group_score = choice + n;
  int* chosen = reinterpret_cast<int*>(group_score + p.n_group);
  unsigned char* taken = reinterpret_cast<unsigned char*>(chosen + p.top_k);
  const float* l = logits + static_cast<index_t>(blockIdx.x) * ld;

  if (p.softmax) {
    float peak = -INFINITY;
    for (int e = threadIdx.x; e < n; e += blockDim.x) peak = fmaxf(peak, l[e]);
    peak = detail::block_max(peak, red_v);
    float sum = 0.0f;
    for (int e = threadIdx.x; e < n; e += blockDim.x) sum += expf(l[e] - peak);
    sum = detail::block_sum(sum, red_v);
    for (int e = threadIdx.x; e < n; e += blockDim.x) score[e] = expf(l[e] - peak) / sum;
  } else {
    for (int e = threadIdx.x; e < n; e += blockDim.x) score[e] = 1.0f / (1.0f + expf(-l[e]));
  }
  for (int e = threadIdx.x; e < n; e += blockDim.x) {
    choice[e] = score[e] + (p.selection_bias != nullptr ? p.selection_bias[e] : 0.0f);
    taken[e] = 0;
  }
  __syncthreads();

  if (p.n_group > 1) {
    const int per_group = n / static_cast<int>(p.n_group);
    for (int g = threadIdx.x; g < p.n_group; g += blockDim.x) {
      float best = -INFINITY, second = -INFINITY;
      for (int e = 0; e < per_group; ++e) {
        const float c = choice[g * per_group + e];
        if (c > best) { second = best; best = c; }
        else if (c > second) second = c;
      }
      group_score[g] = per_group > 1 ? best + second : best;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      // Keep the topk_group best groups (ties: lower group first), as a stable sort would.
      for (int g = 0; g < p.n_group; ++g) taken[g] = 0;
      for (int r = 0; r < p.topk_group; ++r) {
        float bv = -INFINITY;
        int bi = -1;
        for (int g = 0; g < p.n_group; ++g)
          if (!taken[g]) better_of(bv, bi, group_score[g], g);
        taken[bi] = 1;
      }
      for (int g = 0; g < p.n_group; ++g) group_score[g] = taken[g] ? 1.0f : 0.0f;
      for (int g = 0; g < p.n_group; ++g) taken[g] = 0;
    }
    __syncthreads();
    for (int e = threadIdx.x; e < n; e += blockDim.x)
      if (group_score[e / per_group] == 0.0f) choice[e] = -INFINITY;
    __syncthreads();
  }

  for (int j = 0; j < p.top_k; ++j) {
    const int best = block_argmax(choice, taken, n, red_v, red_i);
    if (threadIdx.x == 0) {
      chosen[j] = best;
      taken[best] = 1;
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    // Increasing expert index, as the CPU writes them.
    for (int a = 1; a < p.top_k; ++a)
      for (int b = a; b > 0 && chosen[b - 1] > chosen[b]; --b) {
        const int t = chosen[b];
        chosen[b] = chosen[b - 1];
        chosen[b - 1] = t;
      }
    double total = 0.0;
    for (int j = 0; j < p.top_k; ++j) total += score[chosen[j]];
    const double norm = p.norm_topk_prob ? 1.0 / (total + 1e-20) : 1.0;
    for (int j = 0; j < p.top_k; ++j) {
      experts[blockIdx.x * lde + j] = chosen[j];
      weights[blockIdx.x * ldw + j] = static_cast<float>(score[chosen[j]] * norm * p.routed_scaling_factor);
    }
  }
}

}  // namespace latte::cuda::kernels

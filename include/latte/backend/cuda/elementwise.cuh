#pragma once
// Row-wise kernels: silu_mul, add, softmax, argmax, rmsnorm (SPEC.md section 2), rope (section 4),
// float <-> bf16 conversion and the dequantisation of any weight view (section 8). Float32
// arithmetic in both precisions. Matrices arrive as (pointer, row stride) with unit column stride.

#include <cuda_bf16.h>

#include <cstdint>

#include "common.cuh"

namespace latte::cuda::kernels {

using detail::load_weight;

// out = silu(gate) * up; one thread per element of [m, n].
static __global__ void silu_mul(const float* gate, index_t ldg, const float* up, index_t ldu, float* out, index_t ldo,
                         index_t m, index_t n) {
  const index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= m * n) return;
  const index_t r = i / n, c = i % n;
  const float g = gate[r * ldg + c];
  out[r * ldo + c] = g / (1.0f + expf(-g)) * up[r * ldu + c];
}

// y += alpha * x.
static __global__ void add(const float* x, index_t ldx, float* y, index_t ldy, float alpha, index_t m, index_t n) {
  const index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= m * n) return;
  const index_t r = i / n, c = i % n;
  y[r * ldy + c] += alpha * x[r * ldx + c];
}

// y = beta * y (the k == 0 GEMM).
static __global__ void scale(float* y, index_t ldy, float beta, index_t m, index_t n) {
  const index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= m * n) return;
  const index_t r = i / n, c = i % n;
  y[r * ldy + c] = beta == 0.0f ? 0.0f : beta * y[r * ldy + c];
}

// One block per row.
static __global__ void softmax_rows(float* x, index_t ldx, index_t n) {
  __shared__ float red[32];
  float* row = x + static_cast<index_t>(blockIdx.x) * ldx;
  float peak = -INFINITY;
  for (index_t c = threadIdx.x; c < n; c += blockDim.x) peak = fmaxf(peak, row[c]);
  peak = detail::block_max(peak, red);
  float sum = 0.0f;
  for (index_t c = threadIdx.x; c < n; c += blockDim.x) sum += expf(row[c] - peak);
  sum = detail::block_sum(sum, red);
  const float inv = 1.0f / sum;
  for (index_t c = threadIdx.x; c < n; c += blockDim.x) row[c] = expf(row[c] - peak) * inv;
}

// out[r] = first index of the row's largest value; one block per row.
static __global__ void argmax_rows(const float* x, index_t ldx, index_t n, std::int32_t* out, index_t out_stride) {
  __shared__ float best_value[32];
  __shared__ index_t best_index[32];
  const float* row = x + static_cast<index_t>(blockIdx.x) * ldx;
  float bv = -INFINITY;
  index_t bi = n;
  for (index_t c = threadIdx.x; c < n; c += blockDim.x) {
    const float v = row[c];
    if (v > bv || bi == n) { bv = v; bi = c; }
  }
  // Warp then block reduction: larger value wins, ties go to the lower index.
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
    const index_t oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (oi != n && (bi == n || ov > bv || (ov == bv && oi < bi))) { bv = ov; bi = oi; }
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) { best_value[warp] = bv; best_index[warp] = bi; }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < static_cast<int>(blockDim.x / 32); ++w) {
      const float ov = best_value[w];
      const index_t oi = best_index[w];
      if (oi != n && (bi == n || ov > bv || (ov == bv && oi < bi))) { bv = ov; bi = oi; }
    }
    out[blockIdx.x * out_stride] = static_cast<std::int32_t>(bi == n ? 0 : bi);
  }
}

// y = w * x / sqrt(mean(x^2) + eps); one block per row.
static __global__ void rmsnorm(const float* x, index_t ldx, weight_view w, float eps, float* y, index_t ldy, index_t n) {
  __shared__ float red[32];
  const float* xr = x + static_cast<index_t>(blockIdx.x) * ldx;
  float* yr = y + static_cast<index_t>(blockIdx.x) * ldy;
  float sum = 0.0f;
  for (index_t c = threadIdx.x; c < n; c += blockDim.x) sum += xr[c] * xr[c];
  sum = detail::block_sum(sum, red);
  const float inv = rsqrtf(sum / static_cast<float>(n) + eps);
  for (index_t c = threadIdx.x; c < n; c += blockDim.x) yr[c] = load_weight(w, 0, c) * (xr[c] * inv);
}

// x [tokens, heads, d] (strides xs0, xs1, 1) rotated in place by cos_sin [tokens, d/2, 2]
// (strides cs0, cs1, cs2); one thread per (token, head, pair).
static __global__ void rope(float* x, index_t xs0, index_t xs1, const float* cos_sin, index_t cs0, index_t cs1, index_t cs2,
                     index_t tokens, index_t heads, index_t d, bool interleaved) {
  const index_t half = d / 2;
  const index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= tokens * heads * half) return;
  const index_t j = i % half, h = (i / half) % heads, t = i / (half * heads);
  const float c = cos_sin[t * cs0 + j * cs1], s = cos_sin[t * cs0 + j * cs1 + cs2];
  float* v = x + t * xs0 + h * xs1;
  const index_t a = interleaved ? 2 * j : j;
  const index_t b = interleaved ? 2 * j + 1 : j + half;
  const float x0 = v[a], x1 = v[b];
  v[a] = x0 * c - x1 * s;
  v[b] = x0 * s + x1 * c;
}

// dst (contiguous [rows, cols]) = bf16(src) for a matrix whose row r starts at
// src + (r / rows_per_batch) * batch_stride + (r % rows_per_batch) * row_stride.
static __global__ void rows_to_bf16(const float* src, index_t batch_stride, index_t row_stride, index_t rows_per_batch,
                             __nv_bfloat16* dst, index_t rows, index_t cols) {
  const index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * cols) return;
  const index_t r = i / cols, c = i % cols;
  const float v = src[(r / rows_per_batch) * batch_stride + (r % rows_per_batch) * row_stride + c];
  dst[i] = __float2bfloat16_rn(v);
}

// The same, as a hi + lo pair: hi = bf16(v), lo = bf16(v - hi).
static __global__ void rows_to_bf16_pair(const float* src, index_t batch_stride, index_t row_stride,
                                         index_t rows_per_batch, __nv_bfloat16* hi, __nv_bfloat16* lo, index_t rows,
                                         index_t cols) {
  const index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * cols) return;
  const index_t r = i / cols, c = i % cols;
  const float v = src[(r / rows_per_batch) * batch_stride + (r % rows_per_batch) * row_stride + c];
  const __nv_bfloat16 h = __float2bfloat16_rn(v);
  hi[i] = h;
  lo[i] = __float2bfloat16_rn(v - __bfloat162float(h));
}

static __global__ void f32_to_bf16(const float* src, __nv_bfloat16* dst, index_t n) {
  const index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) dst[i] = __float2bfloat16_rn(src[i]);
}
static __global__ void bf16_to_f32(const __nv_bfloat16* src, float* dst, index_t n) {
  const index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) dst[i] = __bfloat162float(src[i]);
}

// out[r][c] = T(w[r][c]) for r < rows, c < cols of the view; out has row stride ldo. With `lo`
// (bf16 only), the rounding remainder bf16(v - out) goes there. Each thread widens four
// consecutive elements.
template <class S, class T>
__global__ void dequantize(weight_view w, T* out, index_t ldo, T* lo) {
  const index_t quads = (w.cols + 3) / 4;
  const index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= w.rows * quads) return;
  const index_t r = i / quads, c0 = (i % quads) * 4;
  for (index_t c = c0; c < c0 + 4 && c < w.cols; ++c) {
    const float v = detail::load_weight_as<S>(w, r, c);
    if constexpr (sizeof(T) == 4) {
      out[r * ldo + c] = v;
    } else {
      const __nv_bfloat16 h = __float2bfloat16_rn(v);
      out[r * ldo + c] = h;
      if (lo != nullptr) lo[r * ldo + c] = __float2bfloat16_rn(v - __bfloat162float(h));
    }
  }
}

}  // namespace latte::cuda::kernels

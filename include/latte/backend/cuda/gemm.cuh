#pragma once
// y[m, n] = alpha * x[m, k] . op(w) + beta * y through cuBLAS, in the operand precision of the
// backend (options.hpp):
//   f32                    float32 operands, CUBLAS_COMPUTE_32F (no TF32); other weight types are
//                          dequantised (block scales applied) into float32 scratch first
//   bf16_single_pass       x rounded to bf16 in scratch; bf16 weights used in place, others
//                          dequantised to bf16 (f32 weights: CUBLAS_COMPUTE_32F_FAST_16BF); one product
//   bf16 (split)           x as hi + lo bf16: y = W.x_hi + W.x_lo with bf16 weights; weights that
//                          are not bf16 are split too and W_lo.x_hi is added (three products);
//                          f32 weights multiply in float32
// Dequantised weights go through scratch in chunks of output columns.
//
// Row-major to column-major: y^T = op(w)^T x^T, so cuBLAS sees C = y (n x m, ld = y row stride),
// A = w (transposed for the out_in layout), B = x (k x m, ld = x row stride).

#include <cublas_v2.h>
#include <cuda_bf16.h>

#include <algorithm>

#include "../options.hpp"
#include "common.cuh"
#include "elementwise.cuh"

namespace latte::cuda::detail {

// Widens (and scales) a weight view into dst [w.rows, w.cols] (row stride ld) as T.
template <class T>
void dequantize_into(const context& ctx, const weight_view& w, T* dst, index_t ld, T* lo = nullptr) {
  if (w.rows == 0 || w.cols == 0) return;
  const index_t quads = (w.cols + 3) / 4;
  visit_weight_type(w.type, [&](auto s) {
    using S = decltype(s);
    kernels::dequantize<S, T><<<blocks_for(w.rows * quads, 256), 256, 0, ctx.stream>>>(w, dst, ld, lo);
  });
  LATTE_CUDA_LAUNCHED();
}

// x rows to contiguous bf16 [rows, cols]: row r at x + (r / per_batch) * batch_stride + (r % per_batch) * row_stride.
inline void rows_to_bf16(const context& ctx, const float* x, index_t batch_stride, index_t row_stride,
                         index_t per_batch, __nv_bfloat16* dst, index_t rows, index_t cols) {
  if (rows == 0 || cols == 0) return;
  kernels::rows_to_bf16<<<blocks_for(rows * cols, 256), 256, 0, ctx.stream>>>(x, batch_stride, row_stride, per_batch,
                                                                               dst, rows, cols);
  LATTE_CUDA_LAUNCHED();
}

inline void rows_to_bf16_pair(const context& ctx, const float* x, index_t batch_stride, index_t row_stride,
                              index_t per_batch, __nv_bfloat16* hi, __nv_bfloat16* lo, index_t rows, index_t cols) {
  if (rows == 0 || cols == 0) return;
  kernels::rows_to_bf16_pair<<<blocks_for(rows * cols, 256), 256, 0, ctx.stream>>>(x, batch_stride, row_stride,
                                                                                    per_batch, hi, lo, rows, cols);
  LATTE_CUDA_LAUNCHED();
}

// One (strided-batched) cuBLAS call: C[i] (n x m) = alpha op(A[i]) B[i] + beta C[i].
struct blas_call {
  bool transpose_a = true;  // out_in layout
  index_t m = 0, n = 0, k = 0;
  const void* a = nullptr;
  cudaDataType_t a_type = CUDA_R_32F;
  index_t lda = 0, stride_a = 0;
  const void* b = nullptr;
  cudaDataType_t b_type = CUDA_R_32F;
  index_t ldb = 0, stride_b = 0;
  float* c = nullptr;
  index_t ldc = 0, stride_c = 0;
  index_t batch = 1;
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  float alpha = 1.0f, beta = 0.0f;
};

inline void run_blas(const context& ctx, const blas_call& g) {
  const cublasOperation_t ta = g.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  require(g.m <= INT32_MAX && g.n <= INT32_MAX && g.k <= INT32_MAX && g.lda <= INT32_MAX && g.ldb <= INT32_MAX &&
              g.ldc <= INT32_MAX && g.batch <= INT32_MAX,
          "gemm: sizes beyond 32-bit cuBLAS arguments");
  if (g.batch == 1) {
    LATTE_CUBLAS_CHECK(cublasGemmEx(ctx.blas, ta, CUBLAS_OP_N, static_cast<int>(g.n), static_cast<int>(g.m),
                                    static_cast<int>(g.k), &g.alpha, g.a, g.a_type, static_cast<int>(g.lda), g.b,
                                    g.b_type, static_cast<int>(g.ldb), &g.beta, g.c, CUDA_R_32F,
                                    static_cast<int>(g.ldc), g.compute, CUBLAS_GEMM_DEFAULT));
  } else {
    LATTE_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        ctx.blas, ta, CUBLAS_OP_N, static_cast<int>(g.n), static_cast<int>(g.m), static_cast<int>(g.k), &g.alpha, g.a,
        g.a_type, static_cast<int>(g.lda), g.stride_a, g.b, g.b_type, static_cast<int>(g.ldb), g.stride_b, &g.beta,
        g.c, CUDA_R_32F, static_cast<int>(g.ldc), g.stride_c, static_cast<int>(g.batch), g.compute,
        CUBLAS_GEMM_DEFAULT));
  }
}

// Largest dequantised weight chunk kept in scratch at once (elements).
inline constexpr index_t dequant_chunk_elements = index_t{64} << 20;

// The general strided-batched product: x [batch, m, k] (strides xs0, xs1, 1), y [batch, m, n]
// (strides ys0, ys1, 1), matrix i of w = w.row_range(i * row_step, rows_per_matrix).
inline void gemm_strided(const context& ctx, const float* x, index_t xs0, index_t xs1, const weight_view& w,
                         index_t rows_per_matrix, index_t row_step, float* y, index_t ys0, index_t ys1, index_t batch,
                         index_t m, index_t n, index_t k, const gemm_options& o) {
  const bool out_in = o.layout == weight_layout::out_in;
  const compute_precision mode = ctx.compute;
  const bool f32_mode = mode == compute_precision::f32;
  const bool split = mode == compute_precision::bf16;
  const bool plain = !w.has_block_scales();
  const bool direct_f32 = plain && w.type == dtype::f32;
  const bool direct_bf16 = !f32_mode && plain && w.type == dtype::bf16;
  // f32 weights: float32 products, except in single-pass mode (bf16 tensor cores inside cuBLAS).
  const bool f32_products = f32_mode || (direct_f32 && split);

  blas_call g;
  g.transpose_a = out_in;
  g.m = m;
  g.n = n;
  g.k = k;
  g.c = y;
  g.ldc = ys1;
  g.stride_c = ys0;
  g.batch = batch;
  g.alpha = o.alpha;

  // Scratch: the bf16 x (one or two copies), the dequantised weight (one or two copies).
  const bool x_in_bf16 = !f32_products && !direct_f32;
  const int x_parts = x_in_bf16 ? (split ? 2 : 1) : 0;
  const bool dequantise = !direct_f32 && !direct_bf16;
  const int w_parts = dequantise ? (split && !f32_mode ? 2 : 1) : 0;
  const std::size_t w_elem = f32_mode ? sizeof(float) : sizeof(__nv_bfloat16);
  const index_t w_rows_batched = (batch - 1) * row_step + rows_per_matrix;
  const index_t chunk = batch > 1 ? n
                                  : std::max<index_t>(128, std::min<index_t>(n, dequant_chunk_elements / std::max<index_t>(k, 1)) / 128 * 128);
  const std::size_t w_elements = batch > 1 ? static_cast<std::size_t>(w_rows_batched * w.cols)
                                           : static_cast<std::size_t>(std::min(chunk, n) * k);
  scratch_plan plan;
  std::size_t x_offset[2] = {0, 0}, w_offset[2] = {0, 0};
  for (int i = 0; i < x_parts; ++i) x_offset[i] = plan.add<__nv_bfloat16>(static_cast<std::size_t>(batch * m * k));
  for (int i = 0; i < w_parts; ++i) {
    w_offset[i] = plan.bytes;
    plan.bytes += (w_elements * w_elem + 255) / 256 * 256;
  }
  void* scratch = plan.bytes != 0 ? ctx.reserve(plan.bytes) : nullptr;

  // The x operand(s).
  const void* xb[2] = {x, nullptr};
  cudaDataType_t x_type = CUDA_R_32F;
  index_t ldb = xs1, stride_b = xs0;
  if (x_parts == 1) {
    auto* hi = at<__nv_bfloat16>(scratch, x_offset[0]);
    rows_to_bf16(ctx, x, xs0, xs1, m, hi, batch * m, k);
    xb[0] = hi;
  } else if (x_parts == 2) {
    auto* hi = at<__nv_bfloat16>(scratch, x_offset[0]);
    auto* lo = at<__nv_bfloat16>(scratch, x_offset[1]);
    rows_to_bf16_pair(ctx, x, xs0, xs1, m, hi, lo, batch * m, k);
    xb[0] = hi;
    xb[1] = lo;
  }
  if (x_parts > 0) {
    x_type = CUDA_R_16BF;
    ldb = k;
    stride_b = m * k;
  }
  g.b_type = x_type;
  g.ldb = ldb;
  g.stride_b = stride_b;

  // Sum of the products (weight part, x part) into C, the first with beta.
  auto products = [&](const void* const* wa, int wn, cudaDataType_t a_type, index_t lda, index_t stride_a,
                      float* c, index_t n_cols) {
    g.a_type = a_type;
    g.lda = lda;
    g.stride_a = stride_a;
    g.c = c;
    g.n = n_cols;
    g.compute = (a_type == CUDA_R_32F && !f32_products) ? CUBLAS_COMPUTE_32F_FAST_16BF : CUBLAS_COMPUTE_32F;
    float beta = o.beta;
    auto one = [&](const void* a, const void* b) {
      g.a = a;
      g.b = b;
      g.beta = beta;
      run_blas(ctx, g);
      beta = 1.0f;
    };
    one(wa[0], xb[0]);
    if (x_parts == 2) one(wa[0], xb[1]);
    if (wn == 2) one(wa[1], xb[0]);
  };

  if (!dequantise) {
    const void* wa[1] = {w.data};
    products(wa, 1, direct_bf16 ? CUDA_R_16BF : CUDA_R_32F, w.row_stride, row_step * w.row_stride, y, n);
    return;
  }

  const cudaDataType_t op_type = f32_mode ? CUDA_R_32F : CUDA_R_16BF;
  auto widen = [&](const weight_view& part, index_t ld, void** dst) {
    dst[0] = at<unsigned char>(scratch, w_offset[0]);
    dst[1] = w_parts == 2 ? at<unsigned char>(scratch, w_offset[1]) : nullptr;
    if (f32_mode)
      dequantize_into(ctx, part, static_cast<float*>(dst[0]), ld);
    else
      dequantize_into(ctx, part, static_cast<__nv_bfloat16*>(dst[0]), ld, static_cast<__nv_bfloat16*>(dst[1]));
  };
  if (batch > 1) {
    // The rows every matrix reads, at once.
    void* wa[2];
    widen(w.row_range(0, w_rows_batched), w.cols, wa);
    products(wa, w_parts, op_type, w.cols, row_step * w.cols, y, n);
    return;
  }
  // Single matrix: chunks of output columns (weight rows for out_in, weight columns for in_out).
  for (index_t j0 = 0; j0 < n; j0 += chunk) {
    const index_t cols = std::min(chunk, n - j0);
    const weight_view part = out_in ? w.row_range(j0, cols) : w.col_range(j0, cols);
    void* wa[2];
    widen(part, part.cols, wa);
    products(wa, w_parts, op_type, part.cols, 0, y + j0, cols);
  }
}

inline void gemm(const context& ctx, matrix_view<const float> x, const weight_view& w, matrix_view<float> y,
                 const gemm_options& o) {
  const bool out_in = o.layout == weight_layout::out_in;
  const index_t m = x.extent(0), k = x.extent(1);
  const index_t n = out_in ? w.rows : w.cols;
  const index_t wk = out_in ? w.cols : w.rows;
  require(wk == k, "gemm: x has ", k, " columns but the weight's inner size is ", wk);
  require(y.extent(0) == m && y.extent(1) == n, "gemm: y is [", y.extent(0), ", ", y.extent(1), "], expected [", m,
          ", ", n, "]");
  require(x.stride(1) == 1 && y.stride(1) == 1, "gemm: x and y need unit column stride");
  if (m == 0 || n == 0) return;
  if (k == 0) {
    kernels::scale<<<blocks_for(m * n, 256), 256, 0, ctx.stream>>>(y.data(), y.stride(0), o.beta, m, n);
    LATTE_CUDA_LAUNCHED();
    return;
  }
  gemm_strided(ctx, x.data(), 0, x.stride(0), w, w.rows, 0, y.data(), 0, y.stride(0), 1, m, n, k, o);
}

inline void gemm_batched(const context& ctx, dtensor_view<const float, 3> x, const weight_view& w,
                         index_t rows_per_matrix, index_t row_step, dtensor_view<float, 3> y, const gemm_options& o) {
  const index_t batch = x.extent(0), m = x.extent(1), k = x.extent(2);
  const bool out_in = o.layout == weight_layout::out_in;
  require(y.extent(0) == batch, "gemm_batched: x has ", batch, " matrices, y ", y.extent(0));
  require(batch == 0 || (batch - 1) * row_step + rows_per_matrix <= w.rows, "gemm_batched: ", batch,
          " matrices of ", rows_per_matrix, " rows every ", row_step, " rows exceed the weight's ", w.rows, " rows");
  const index_t n = out_in ? rows_per_matrix : w.cols;
  const index_t wk = out_in ? w.cols : rows_per_matrix;
  require(wk == k, "gemm_batched: x has ", k, " columns but the weight's inner size is ", wk);
  require(y.extent(1) == m && y.extent(2) == n, "gemm_batched: y is [", y.extent(0), ", ", y.extent(1), ", ",
          y.extent(2), "], expected [", batch, ", ", m, ", ", n, "]");
  require(x.stride(2) == 1 && y.stride(2) == 1, "gemm_batched: x and y need unit inner stride");
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0) {
    for (index_t i = 0; i < batch; ++i) {
      kernels::scale<<<blocks_for(m * n, 256), 256, 0, ctx.stream>>>(y.data() + i * y.stride(0), y.stride(1), o.beta,
                                                                       m, n);
      LATTE_CUDA_LAUNCHED();
    }
    return;
  }
  gemm_strided(ctx, x.data(), x.stride(0), x.stride(1), w, rows_per_matrix, row_step, y.data(), y.stride(0),
               y.stride(1), batch, m, n, k, o);
}

}  // namespace latte::cuda::detail

#pragma once
// y[m, n] = alpha * x[m, k] . op(w) + beta * y through cuBLAS, with the operand precision of the
// backend:
//   bf16 mode, bf16 weight     x is rounded to bf16 in scratch; bf16 x bf16 -> f32, f32 accumulation
//   bf16 mode, f32 weight      f32 operands on bf16 tensor cores (CUBLAS_COMPUTE_32F_FAST_16BF)
//   f32 mode, f32 weight       plain f32 (CUBLAS_COMPUTE_32F, no TF32)
//   anything else (fp8 with    the weight is dequantised (block scales applied) into scratch in the
//   block scales, f16, ...)    operand type, in chunks of output columns, then multiplied as above
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
void dequantize_into(const context& ctx, const weight_view& w, T* dst, index_t ld) {
  if (w.rows == 0 || w.cols == 0) return;
  const index_t quads = (w.cols + 3) / 4;
  visit_weight_type(w.type, [&](auto s) {
    using S = decltype(s);
    kernels::dequantize<S, T><<<blocks_for(w.rows * quads, 256), 256, 0, ctx.stream>>>(w, dst, ld);
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
  const bool f32_mode = ctx.compute == compute_precision::f32;
  const bool plain = !w.has_block_scales();
  const bool direct_bf16 = !f32_mode && plain && w.type == dtype::bf16;
  const bool direct_f32 = plain && w.type == dtype::f32;

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
  g.beta = o.beta;

  // The x operand: f32 in place, or bf16 in scratch.
  const bool bf16_operands = !f32_mode && !direct_f32;
  scratch_plan plan;
  const std::size_t x_offset = bf16_operands ? plan.add<__nv_bfloat16>(static_cast<std::size_t>(batch * m * k)) : 0;

  if (direct_bf16 || direct_f32) {
    void* scratch = plan.bytes != 0 ? ctx.reserve(plan.bytes) : nullptr;
    if (bf16_operands) {
      __nv_bfloat16* xb = at<__nv_bfloat16>(scratch, x_offset);
      rows_to_bf16(ctx, x, xs0, xs1, m, xb, batch * m, k);
      g.b = xb;
      g.b_type = CUDA_R_16BF;
      g.ldb = k;
      g.stride_b = m * k;
    } else {
      g.b = x;
      g.b_type = CUDA_R_32F;
      g.ldb = xs1;
      g.stride_b = xs0;
    }
    g.a = w.data;
    g.a_type = direct_bf16 ? CUDA_R_16BF : CUDA_R_32F;
    g.lda = w.row_stride;
    g.stride_a = row_step * w.row_stride;
    g.compute = direct_f32 && !f32_mode ? CUBLAS_COMPUTE_32F_FAST_16BF : CUBLAS_COMPUTE_32F;
    run_blas(ctx, g);
    return;
  }

  // Dequantise the weight in the operand type. Batched: the rows every matrix reads, at once.
  const std::size_t elem = f32_mode ? sizeof(float) : sizeof(__nv_bfloat16);
  const cudaDataType_t op_type = f32_mode ? CUDA_R_32F : CUDA_R_16BF;
  g.a_type = op_type;
  g.compute = CUBLAS_COMPUTE_32F;
  if (batch > 1) {
    const index_t rows = (batch - 1) * row_step + rows_per_matrix;
    const std::size_t w_offset = plan.bytes;
    plan.bytes += (static_cast<std::size_t>(rows * w.cols) * elem + 255) / 256 * 256;
    void* scratch = ctx.reserve(plan.bytes);
    const weight_view needed = w.row_range(0, rows);
    if (f32_mode) {
      dequantize_into(ctx, needed, at<float>(scratch, w_offset), w.cols);
      g.b = x;
      g.b_type = CUDA_R_32F;
      g.ldb = xs1;
      g.stride_b = xs0;
    } else {
      dequantize_into(ctx, needed, at<__nv_bfloat16>(scratch, w_offset), w.cols);
      __nv_bfloat16* xb = at<__nv_bfloat16>(scratch, x_offset);
      rows_to_bf16(ctx, x, xs0, xs1, m, xb, batch * m, k);
      g.b = xb;
      g.b_type = CUDA_R_16BF;
      g.ldb = k;
      g.stride_b = m * k;
    }
    g.a = at<unsigned char>(scratch, w_offset);
    g.lda = w.cols;
    g.stride_a = row_step * w.cols;
    run_blas(ctx, g);
    return;
  }

  // Single matrix: chunks of output columns (weight rows for out_in, weight columns for in_out).
  const index_t chunk = std::max<index_t>(128, std::min<index_t>(n, dequant_chunk_elements / std::max<index_t>(k, 1)) / 128 * 128);
  const std::size_t w_offset = plan.bytes;
  plan.bytes += (static_cast<std::size_t>(std::min(chunk, n) * k) * elem + 255) / 256 * 256;
  void* scratch = ctx.reserve(plan.bytes);
  if (f32_mode) {
    g.b = x;
    g.b_type = CUDA_R_32F;
    g.ldb = xs1;
  } else {
    __nv_bfloat16* xb = at<__nv_bfloat16>(scratch, x_offset);
    rows_to_bf16(ctx, x, xs0, xs1, m, xb, m, k);
    g.b = xb;
    g.b_type = CUDA_R_16BF;
    g.ldb = k;
  }
  for (index_t j0 = 0; j0 < n; j0 += chunk) {
    const index_t cols = std::min(chunk, n - j0);
    const weight_view part = out_in ? w.row_range(j0, cols) : w.col_range(j0, cols);
    void* dst = at<unsigned char>(scratch, w_offset);
    if (f32_mode)
      dequantize_into(ctx, part, static_cast<float*>(dst), part.cols);
    else
      dequantize_into(ctx, part, static_cast<__nv_bfloat16*>(dst), part.cols);
    g.a = dst;
    g.lda = part.cols;
    g.n = cols;
    g.c = y + j0;
    run_blas(ctx, g);
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

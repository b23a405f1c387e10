// Mixture-of-experts experts by token permutation and grouped GEMMs (SPEC.md section 5):
//
//   1. the (token, slot) pairs are sorted stably by expert (CUB radix sort): each expert's rows
//      are contiguous and in token order;
//   2. the tokens are gathered into that order in the operand type (bf16, or f32 in f32 mode);
//   3. gate and up of every expert in one grouped GEMM (cublasGemmGroupedBatchedEx; two problems
//      per expert), silu(gate) * up, then down in a second grouped GEMM;
//   4. each token sums its top_k rows, weighted, in slot order (deterministic, no atomics).
//
// Weights other than the operand type (fp8 with block scales, f16, f32 in bf16 mode) are
// dequantised one expert at a time and multiplied with cublasGemmEx instead.

#include <cub/device/device_radix_sort.cuh>
#include <cublas_v2.h>
#include <cuda_bf16.h>

#include <algorithm>
#include <vector>

#include "common.cuh"
#include "fused.hpp"
#include "gemm.cuh"

namespace latte::cuda {

namespace kernels {

// keys[s] = expert of slot s = t * top_k + j; counts[e] += 1.
__global__ void moe_slots(const std::int32_t* experts, index_t lde, index_t tokens, index_t top_k, index_t n_experts,
                          std::int32_t* keys, std::int32_t* slots, std::int32_t* counts, int* error_flag) {
  const index_t s = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (s >= tokens * top_k) return;
  const index_t t = s / top_k, j = s % top_k;
  std::int32_t e = experts[t * lde + j];
  if (e < 0 || e >= n_experts) {
    atomicExch(error_flag, detail::error_expert_id);
    e = 0;
  }
  keys[s] = e;
  slots[s] = static_cast<std::int32_t>(s);
  atomicAdd(counts + e, 1);
}

// x_perm[p] = T(x[slot_of[p] / top_k]); inverse[slot_of[p]] = p. One block per row.
template <class T>
__global__ void moe_gather(const float* x, index_t ldx, const std::int32_t* slot_of, index_t top_k, index_t hidden,
                           T* x_perm, std::int32_t* inverse) {
  const index_t p = blockIdx.x;
  const std::int32_t slot = slot_of[p];
  const float* row = x + (slot / top_k) * ldx;
  T* dst = x_perm + p * hidden;
  for (index_t c = threadIdx.x; c < hidden; c += blockDim.x) {
    if constexpr (sizeof(T) == 4)
      dst[c] = row[c];
    else
      dst[c] = __float2bfloat16_rn(row[c]);
  }
  if (threadIdx.x == 0) inverse[slot] = static_cast<std::int32_t>(p);
}

template <class T>
__device__ inline float as_float(T v) {
  if constexpr (sizeof(T) == 4)
    return v;
  else
    return __bfloat162float(v);
}

// act = silu(gate) * up, elementwise over [rows, inter].
template <class T>
__global__ void moe_swiglu(const T* gate, const T* up, T* act, index_t n) {
  const index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float g = as_float(gate[i]);
  const float v = g / (1.0f + expf(-g)) * as_float(up[i]);
  if constexpr (sizeof(T) == 4)
    act[i] = v;
  else
    act[i] = __float2bfloat16_rn(v);
}

// y[t] = (accumulate ? y[t] : 0) + sum_j weights[t, j] * out[inverse[t * top_k + j]], j in order.
template <class T>
__global__ void moe_combine(const T* out, const std::int32_t* inverse, const float* weights, index_t ldw,
                            index_t top_k, index_t hidden, float* y, index_t ldy, bool accumulate) {
  const index_t t = blockIdx.x;
  for (index_t c = threadIdx.x; c < hidden; c += blockDim.x) {
    float acc = accumulate ? y[t * ldy + c] : 0.0f;
    for (index_t j = 0; j < top_k; ++j) {
      const index_t p = inverse[t * top_k + j];
      acc += weights[t * ldw + j] * as_float(out[p * hidden + c]);
    }
    y[t * ldy + c] = acc;
  }
}

}  // namespace kernels

namespace detail {

namespace {

struct grouped_problem {
  const void* a;  // weight (transposed: out_in)
  index_t lda;
  const void* b;  // activations [rows, k], ld k
  void* c;        // output [rows, n], ld n
  int n, rows, k;
};

// One grouped GEMM of many problems, C = W . X^T in column-major terms; falls back to a loop of
// cublasGemmEx where the grouped call is not supported.
void grouped_gemm(const context& ctx, const std::vector<grouped_problem>& problems, cudaDataType_t type,
                  void** device_pointers) {
  if (problems.empty()) return;
  const int count = static_cast<int>(problems.size());
  std::vector<cublasOperation_t> ta(count, CUBLAS_OP_T), tb(count, CUBLAS_OP_N);
  std::vector<int> m(count), n(count), k(count), lda(count), ldb(count), ldc(count), group_size(count, 1);
  std::vector<float> alpha(count, 1.0f), beta(count, 0.0f);
  std::vector<const void*> pointers(3 * static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    const grouped_problem& g = problems[static_cast<std::size_t>(i)];
    m[i] = g.n;
    n[i] = g.rows;
    k[i] = g.k;
    lda[i] = static_cast<int>(g.lda);
    ldb[i] = g.k;
    ldc[i] = g.n;
    pointers[static_cast<std::size_t>(i)] = g.a;
    pointers[static_cast<std::size_t>(count + i)] = g.b;
    pointers[static_cast<std::size_t>(2 * count + i)] = g.c;
  }
  LATTE_CUDA_CHECK(cudaMemcpyAsync(device_pointers, pointers.data(), pointers.size() * sizeof(void*),
                                   cudaMemcpyHostToDevice, ctx.stream));
  const void* const* a_array = const_cast<const void* const*>(device_pointers);
  const void* const* b_array = const_cast<const void* const*>(device_pointers + count);
  void* const* c_array = device_pointers + 2 * count;
  const cublasStatus_t status = cublasGemmGroupedBatchedEx(
      ctx.blas, ta.data(), tb.data(), m.data(), n.data(), k.data(), alpha.data(), a_array, type, lda.data(), b_array,
      type, ldb.data(), beta.data(), c_array, type, ldc.data(), count, group_size.data(), CUBLAS_COMPUTE_32F);
  if (status == CUBLAS_STATUS_SUCCESS) return;
  require(status == CUBLAS_STATUS_NOT_SUPPORTED, "moe_experts: cublasGemmGroupedBatchedEx failed: ",
          cublasGetStatusString(status));
  const float one = 1.0f, zero = 0.0f;
  for (const grouped_problem& g : problems)
    LATTE_CUBLAS_CHECK(cublasGemmEx(ctx.blas, CUBLAS_OP_T, CUBLAS_OP_N, g.n, g.rows, g.k, &one, g.a, type,
                                    static_cast<int>(g.lda), g.b, type, g.k, &zero, g.c, type, g.n, CUBLAS_COMPUTE_32F,
                                    CUBLAS_GEMM_DEFAULT));
}

template <class T>
void run(const context& ctx, matrix_view<const float> x, matrix_view<const std::int32_t> experts,
         matrix_view<const float> weights, std::span<const weight_view> gate, std::span<const weight_view> up,
         std::span<const weight_view> down, matrix_view<float> y, const moe_experts_options& o) {
  constexpr bool f32_ops = sizeof(T) == 4;
  const cudaDataType_t type = f32_ops ? CUDA_R_32F : CUDA_R_16BF;
  const dtype op_dtype = f32_ops ? dtype::f32 : dtype::bf16;
  const index_t tokens = x.extent(0), hidden = x.extent(1), top_k = experts.extent(1);
  const index_t n_experts = static_cast<index_t>(gate.size());
  const index_t inter = gate[0].rows;
  const index_t slots = tokens * top_k;
  require(slots <= INT32_MAX, "moe_experts: too many token slots");

  bool direct = true;
  for (index_t e = 0; e < n_experts; ++e)
    for (const weight_view* w : {&gate[e], &up[e], &down[e]})
      direct = direct && w->type == op_dtype && !w->has_block_scales();

  std::size_t sort_bytes = 0;
  LATTE_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, sort_bytes, static_cast<const std::int32_t*>(nullptr),
                                                   static_cast<std::int32_t*>(nullptr),
                                                   static_cast<const std::int32_t*>(nullptr),
                                                   static_cast<std::int32_t*>(nullptr), static_cast<int>(slots), 0, 32,
                                                   ctx.stream));
  scratch_plan plan;
  const std::size_t keys_in = plan.add<std::int32_t>(slots), keys_out = plan.add<std::int32_t>(slots);
  const std::size_t slots_in = plan.add<std::int32_t>(slots), slots_out = plan.add<std::int32_t>(slots);
  const std::size_t inverse_at = plan.add<std::int32_t>(slots);
  const std::size_t counts_at = plan.add<std::int32_t>(n_experts);
  const std::size_t temp_at = plan.add<unsigned char>(sort_bytes);
  const std::size_t x_at = plan.add<T>(slots * hidden);
  const std::size_t g_at = plan.add<T>(slots * inter), u_at = plan.add<T>(slots * inter);
  const std::size_t a_at = plan.add<T>(slots * inter);
  const std::size_t d_at = plan.add<T>(slots * hidden);
  const std::size_t ptr_at = plan.add<void*>(9 * n_experts);
  const std::size_t w_at = direct ? 0 : plan.add<T>(3 * inter * hidden);
  void* scratch = ctx.reserve(plan.bytes);
  auto* ki = at<std::int32_t>(scratch, keys_in);
  auto* ko = at<std::int32_t>(scratch, keys_out);
  auto* si = at<std::int32_t>(scratch, slots_in);
  auto* so = at<std::int32_t>(scratch, slots_out);
  auto* inverse = at<std::int32_t>(scratch, inverse_at);
  auto* counts = at<std::int32_t>(scratch, counts_at);
  T* x_perm = at<T>(scratch, x_at);
  T* g_out = at<T>(scratch, g_at);
  T* u_out = at<T>(scratch, u_at);
  T* act = at<T>(scratch, a_at);
  T* d_out = at<T>(scratch, d_at);
  void** pointers = at<void*>(scratch, ptr_at);

  LATTE_CUDA_CHECK(cudaMemsetAsync(counts, 0, static_cast<std::size_t>(n_experts) * sizeof(std::int32_t), ctx.stream));
  kernels::moe_slots<<<blocks_for(slots, 256), 256, 0, ctx.stream>>>(experts.data(), experts.stride(0), tokens, top_k,
                                                                      n_experts, ki, si, counts, ctx.error_flag);
  LATTE_CUDA_LAUNCHED();
  int end_bit = 1;
  while ((index_t{1} << end_bit) < n_experts) ++end_bit;
  LATTE_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(at<void>(scratch, temp_at), sort_bytes, ki, ko, si, so,
                                                   static_cast<int>(slots), 0, end_bit, ctx.stream));
  std::vector<std::int32_t> host_counts(static_cast<std::size_t>(n_experts));
  LATTE_CUDA_CHECK(cudaMemcpyAsync(host_counts.data(), counts, host_counts.size() * sizeof(std::int32_t),
                                   cudaMemcpyDeviceToHost, ctx.stream));
  kernels::moe_gather<T><<<static_cast<unsigned>(slots), 256, 0, ctx.stream>>>(x.data(), x.stride(0), so, top_k,
                                                                                hidden, x_perm, inverse);
  LATTE_CUDA_LAUNCHED();
  LATTE_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));

  std::vector<index_t> offset(static_cast<std::size_t>(n_experts) + 1, 0);
  for (index_t e = 0; e < n_experts; ++e) offset[e + 1] = offset[e] + host_counts[static_cast<std::size_t>(e)];

  if (direct) {
    std::vector<grouped_problem> gate_up, down_problems;
    for (index_t e = 0; e < n_experts; ++e) {
      const int rows = host_counts[static_cast<std::size_t>(e)];
      if (rows == 0) continue;
      const index_t r0 = offset[e];
      gate_up.push_back({gate[e].data, gate[e].row_stride, x_perm + r0 * hidden, g_out + r0 * inter,
                         static_cast<int>(inter), rows, static_cast<int>(hidden)});
      gate_up.push_back({up[e].data, up[e].row_stride, x_perm + r0 * hidden, u_out + r0 * inter,
                         static_cast<int>(inter), rows, static_cast<int>(hidden)});
      down_problems.push_back({down[e].data, down[e].row_stride, act + r0 * inter, d_out + r0 * hidden,
                               static_cast<int>(hidden), rows, static_cast<int>(inter)});
    }
    grouped_gemm(ctx, gate_up, type, pointers);
    kernels::moe_swiglu<T><<<blocks_for(slots * inter, 256), 256, 0, ctx.stream>>>(g_out, u_out, act, slots * inter);
    LATTE_CUDA_LAUNCHED();
    grouped_gemm(ctx, down_problems, type, pointers + 3 * gate_up.size());
  } else {
    T* wg = at<T>(scratch, w_at);
    T* wu = wg + inter * hidden;
    T* wd = wu + inter * hidden;
    const float one = 1.0f, zero = 0.0f;
    const int H = static_cast<int>(hidden), I = static_cast<int>(inter);
    for (index_t e = 0; e < n_experts; ++e) {
      const int rows = host_counts[static_cast<std::size_t>(e)];
      if (rows == 0) continue;
      const index_t r0 = offset[e];
      dequantize_into(ctx, gate[e], wg, hidden);
      dequantize_into(ctx, up[e], wu, hidden);
      dequantize_into(ctx, down[e], wd, inter);
      LATTE_CUBLAS_CHECK(cublasGemmEx(ctx.blas, CUBLAS_OP_T, CUBLAS_OP_N, I, rows, H, &one, wg, type, H,
                                      x_perm + r0 * hidden, type, H, &zero, g_out + r0 * inter, type, I,
                                      CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      LATTE_CUBLAS_CHECK(cublasGemmEx(ctx.blas, CUBLAS_OP_T, CUBLAS_OP_N, I, rows, H, &one, wu, type, H,
                                      x_perm + r0 * hidden, type, H, &zero, u_out + r0 * inter, type, I,
                                      CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      kernels::moe_swiglu<T><<<blocks_for(rows * inter, 256), 256, 0, ctx.stream>>>(
          g_out + r0 * inter, u_out + r0 * inter, act + r0 * inter, rows * inter);
      LATTE_CUDA_LAUNCHED();
      LATTE_CUBLAS_CHECK(cublasGemmEx(ctx.blas, CUBLAS_OP_T, CUBLAS_OP_N, H, rows, I, &one, wd, type, I,
                                      act + r0 * inter, type, I, &zero, d_out + r0 * hidden, type, H,
                                      CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    }
  }

  kernels::moe_combine<T><<<static_cast<unsigned>(tokens), 256, 0, ctx.stream>>>(
      d_out, inverse, weights.data(), weights.stride(0), top_k, hidden, y.data(), y.stride(0), o.accumulate);
  LATTE_CUDA_LAUNCHED();
}

}  // namespace

void moe_experts(const context& ctx, matrix_view<const float> x, matrix_view<const std::int32_t> experts,
                 matrix_view<const float> weights, std::span<const weight_view> gate, std::span<const weight_view> up,
                 std::span<const weight_view> down, matrix_view<float> y, const moe_experts_options& o) {
  const index_t tokens = x.extent(0), hidden = x.extent(1), top_k = experts.extent(1);
  require(experts.extent(0) == tokens && weights.extent(0) == tokens && weights.extent(1) == top_k,
          "moe_experts: experts and weights must be [", tokens, ", top_k]");
  require(y.extent(0) == tokens && y.extent(1) == hidden, "moe_experts: y must be [", tokens, ", ", hidden, "]");
  require(!gate.empty() && up.size() == gate.size() && down.size() == gate.size(),
          "moe_experts: gate, up and down need one view per expert");
  require(x.stride(1) == 1 && y.stride(1) == 1 && experts.stride(1) == 1 && weights.stride(1) == 1,
          "moe_experts: needs unit column strides");
  const index_t inter = gate[0].rows;
  for (std::size_t e = 0; e < gate.size(); ++e) {
    require(gate[e].rows == inter && gate[e].cols == hidden && up[e].rows == inter && up[e].cols == hidden,
            "moe_experts: expert ", e, " gate/up must be [", inter, ", ", hidden, "]");
    require(down[e].rows == hidden && down[e].cols == inter, "moe_experts: expert ", e, " down must be [", hidden,
            ", ", inter, "]");
  }
  if (tokens == 0 || top_k == 0) return;
  if (ctx.compute == compute_precision::f32)
    run<float>(ctx, x, experts, weights, gate, up, down, y, o);
  else
    run<__nv_bfloat16>(ctx, x, experts, weights, gate, up, down, y, o);
}

}  // namespace detail
}  // namespace latte::cuda

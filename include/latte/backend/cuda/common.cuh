#pragma once
// Shared pieces of the CUDA backend's kernels: error checks that throw latte::error with the
// CUDA error string, the backend context (stream, cuBLAS handle, workspace, device error flag),
// element loads from any weight storage type, and warp/block reductions. Compiled by nvcc only.

#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../../core/dtype.hpp"
#include "../../core/error.hpp"
#include "../../core/weight_view.hpp"
#include "options.hpp"

#define LATTE_CUDA_CHECK(call)                                                                         \
  do {                                                                                                 \
    const cudaError_t latte_status_ = (call);                                                          \
    if (latte_status_ != cudaSuccess)                                                                  \
      ::latte::fail("CUDA error in ", #call, " (", __FILE__, ":", __LINE__, "): ",                     \
                    cudaGetErrorString(latte_status_));                                                \
  } while (0)

#define LATTE_CUBLAS_CHECK(call)                                                                       \
  do {                                                                                                 \
    const cublasStatus_t latte_status_ = (call);                                                       \
    if (latte_status_ != CUBLAS_STATUS_SUCCESS)                                                        \
      ::latte::fail("cuBLAS error in ", #call, " (", __FILE__, ":", __LINE__, "): ",                   \
                    cublasGetStatusString(latte_status_));                                             \
  } while (0)

// After a launch: configuration errors surface here, execution errors at the next synchronize.
#define LATTE_CUDA_LAUNCHED() LATTE_CUDA_CHECK(cudaGetLastError())

namespace latte::cuda::detail {

// Codes a kernel writes into the device error flag when it meets bad input it must not follow.
enum error_code : int {
  error_none = 0,
  error_gather_id = 1,    // gather_rows: id outside the table
  error_scatter_id = 2,   // scatter_add_rows: id outside y
  error_page = 3,         // mla_decode: page index outside the cache
  error_expert_id = 4,    // moe_experts: expert id outside the expert list
  error_smem_align = 5,   // a kernel found its shared memory misaligned
};

const char* describe(int code) noexcept;

struct context {
  int device = 0;
  compute_precision compute = compute_precision::bf16;
  int sm_count = 0;
  std::size_t smem_optin = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  void* blas_workspace = nullptr;
  int* error_flag = nullptr;  // device int

  // One growable scratch area for the temporaries of a primitive; valid until the next call
  // that reserves (calls are ordered on the stream, so reuse is safe).
  mutable void* scratch = nullptr;
  mutable std::size_t scratch_bytes = 0;

  explicit context(const backend_options& options);
  ~context();
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  void* reserve(std::size_t bytes) const;
};

// Carves aligned pieces out of one reservation.
struct scratch_plan {
  std::size_t bytes = 0;
  template <class T>
  std::size_t add(std::size_t n) {
    const std::size_t offset = bytes;
    bytes += (n * sizeof(T) + 255) / 256 * 256;
    return offset;
  }
};
template <class T>
T* at(void* base, std::size_t offset) {
  return reinterpret_cast<T*>(static_cast<unsigned char*>(base) + offset);
}

inline unsigned blocks_for(std::int64_t n, int threads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

// --- device helpers ---

__device__ inline float bf16_to_float(std::uint16_t bits) { return __uint_as_float(static_cast<unsigned>(bits) << 16); }

// Element (r, c) of a weight view stored as S, as float, block scale applied.
template <class S>
__device__ inline float load_weight_as(const weight_view& w, index_t r, index_t c) {
  const index_t i = r * w.row_stride + c;
  float v;
  if constexpr (std::is_same_v<S, float>)
    v = static_cast<const float*>(w.data)[i];
  else if constexpr (std::is_same_v<S, bf16>)
    v = bf16_to_float(static_cast<const std::uint16_t*>(w.data)[i]);
  else if constexpr (std::is_same_v<S, fp16>)
    v = __half2float(static_cast<const __half*>(w.data)[i]);
  else
    v = fp8_e4m3::from_bits(static_cast<const std::uint8_t*>(w.data)[i]).to_float();
  return w.scale_inv != nullptr ? v * w.scale_at(r, c) : v;
}

// The same for a storage type known only at run time.
__device__ inline float load_weight(const weight_view& w, index_t r, index_t c) {
  switch (w.type) {
    case dtype::f32: return load_weight_as<float>(w, r, c);
    case dtype::bf16: return load_weight_as<bf16>(w, r, c);
    case dtype::f16: return load_weight_as<fp16>(w, r, c);
    case dtype::f8_e4m3: return load_weight_as<fp8_e4m3>(w, r, c);
    default: return 0.0f;
  }
}

// Calls f(S{}) with the storage type of a weight view; fails for non-float types.
template <class F>
decltype(auto) visit_weight_type(dtype t, F&& f) {
  switch (t) {
    case dtype::f32: return f(float{});
    case dtype::bf16: return f(bf16{});
    case dtype::f16: return f(fp16{});
    case dtype::f8_e4m3: return f(fp8_e4m3{});
    default: fail("weight of type ", name_of(t), " cannot be used as a float matrix");
  }
}

__device__ inline float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ inline float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
__device__ inline float block_sum(float v, float* shared32) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) shared32[warp] = v;
  __syncthreads();
  float total = lane < warps ? shared32[lane] : 0.0f;
  return warp_sum(total);
}
__device__ inline float block_max(float v, float* shared32) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) shared32[warp] = v;
  __syncthreads();
  float total = lane < warps ? shared32[lane] : -INFINITY;
  return warp_max(total);
}

}  // namespace latte::cuda::detail

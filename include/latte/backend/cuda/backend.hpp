#pragma once
// latte::cuda::backend: the CUDA policy (backend/concept.hpp). Plain C++: this header needs no
// CUDA headers and no nvcc, so model code instantiated in ordinary .cpp files runs on the GPU
// by linking the static library latte_cuda_backend (alias latte::cuda), which holds the
// kernels (backend/cuda/*.cuh) and the definitions of the members below (backend.cu).
//
// A backend object owns a CUDA stream, a cuBLAS handle and a workspace, shared by its copies
// (a copy is cheap and runs on the same stream). Every primitive is asynchronous on that stream;
// download() and synchronize() wait for it. A backend is not meant to be used from several host
// threads at once. Activations are float32 device memory; weights are weight_views of device
// memory in any storage type. Errors (CUDA, cuBLAS, bad arguments, out-of-range ids seen by a
// kernel) throw latte::error with the CUDA error string.
//
// compute_precision::bf16 (default): GEMMs and attention take bf16 operands with float32
// accumulation. compute_precision::f32: float32 operands and arithmetic throughout.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>

#include "../../core/error.hpp"
#include "../../core/tensor_view.hpp"
#include "../../core/weight_view.hpp"
#include "../concept.hpp"
#include "../options.hpp"
#include "options.hpp"

namespace latte::cuda {

namespace detail {
struct context;  // stream, cuBLAS handle, workspace, error flag (backend.cu)

// Byte-level operations behind the templates below (defined in backend.cu).
void* device_allocate(std::size_t bytes);
void device_free(void* p) noexcept;
void device_zero(void* p, std::size_t bytes, const context& ctx);
void copy_to_device(const void* host, void* device, std::size_t bytes, const context& ctx);
void copy_to_host(const void* device, void* host, std::size_t bytes, const context& ctx);
void copy_on_device(const void* src, void* dst, std::size_t bytes, const context& ctx);
}  // namespace detail

// Owning device memory of n elements (cudaMalloc); move-only.
template <class T>
class device_buffer {
  static_assert(std::is_trivially_copyable_v<T>, "device_buffer holds plain numbers");

 public:
  device_buffer() = default;
  explicit device_buffer(std::size_t n) : size_(n) {
    if (n == 0) return;
    require(n <= (std::size_t(1) << 62) / sizeof(T), "device_buffer: ", n, " elements is more than memory can hold");
    data_ = static_cast<T*>(detail::device_allocate(n * sizeof(T)));
  }
  device_buffer(device_buffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  device_buffer& operator=(device_buffer&& o) noexcept {
    if (this != &o) {
      detail::device_free(data_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  ~device_buffer() { detail::device_free(data_); }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  template <class Extents>
  tensor_view<T, Extents> view(Extents shape) {
    require(static_cast<std::size_t>(shape.size()) <= size_, "device_buffer::view: shape of ", shape.size(),
            " elements exceeds the buffer's ", size_);
    return tensor_view<T, Extents>(data(), shape);
  }
  template <class Extents>
  tensor_view<const T, Extents> view(Extents shape) const {
    require(static_cast<std::size_t>(shape.size()) <= size_, "device_buffer::view: shape of ", shape.size(),
            " elements exceeds the buffer's ", size_);
    return tensor_view<const T, Extents>(data(), shape);
  }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

struct backend {
  backend();
  explicit backend(const backend_options& options);

  static constexpr const char* name = "cuda";
  static constexpr bool host_memory = false;  // buffers are device memory

  template <class T> using buffer = device_buffer<T>;

  // n zero-filled elements (zero bits are the value-initialised float, int, bf16 and fp8).
  template <class T>
  buffer<T> allocate(std::size_t n) const {
    buffer<T> b(n);
    if (n != 0) detail::device_zero(b.data(), n * sizeof(T), *ctx_);
    return b;
  }
  // Asynchronous on the backend's stream; the host memory may be reused on return.
  template <class T>
  void upload(std::span<const T> host, T* dst) const {
    if (!host.empty()) detail::copy_to_device(host.data(), dst, host.size_bytes(), *ctx_);
  }
  template <class T>
  void upload(std::span<T> host, T* dst) const { upload(std::span<const T>(host), dst); }
  // Waits for the stream, then copies.
  template <class T>
  void download(const T* src, std::span<T> host) const {
    if (!host.empty()) detail::copy_to_host(src, host.data(), host.size_bytes(), *ctx_);
  }
  template <class T>
  void copy(const T* src, T* dst, std::size_t n) const {
    if (n != 0) detail::copy_on_device(src, dst, n * sizeof(T), *ctx_);
  }
  // Waits for every primitive issued so far; throws on any pending CUDA or kernel-reported error.
  void synchronize() const;

  // --- the contract (backend/concept.hpp) ---
  void gemm(matrix_view<const float> x, const weight_view& w, matrix_view<float> y, const gemm_options& o = {}) const;
  void gemm_batched(dtensor_view<const float, 3> x, const weight_view& w, index_t rows_per_matrix, index_t row_step,
                    dtensor_view<float, 3> y, const gemm_options& o = {}) const;
  void rmsnorm(matrix_view<const float> x, const weight_view& weight, float eps, matrix_view<float> y) const;
  void silu_mul(matrix_view<const float> gate, matrix_view<const float> up, matrix_view<float> out) const;
  void add(matrix_view<const float> x, matrix_view<float> y, float alpha = 1.0f) const;
  void softmax_rows(matrix_view<float> x) const;
  void rope(dtensor_view<float, 3> x, dtensor_view<const float, 3> cos_sin, rope_layout layout) const;
  void attention(dtensor_view<const float, 3> q, dtensor_view<const float, 3> k, dtensor_view<const float, 3> v,
                 dtensor_view<float, 3> out, const attention_options& o) const;
  void route(matrix_view<const float> logits, const routing_options& o, matrix_view<std::int32_t> experts,
             matrix_view<float> weights) const;
  void gather_rows(const weight_view& table, vector_view<const std::int32_t> ids, matrix_view<float> out) const;
  void scatter_add_rows(matrix_view<const float> x, vector_view<const std::int32_t> ids, vector_view<const float> weights,
                        matrix_view<float> y) const;
  void dequantize(const weight_view& w, matrix_view<float> out) const;
  void argmax_rows(matrix_view<const float> x, vector_view<std::int32_t> out) const;

  // --- fused kernels of this backend (the generic composition stays the reference) ---

  // Flash attention with bf16 operands on tensor cores (the kernel behind attention() in bf16
  // mode, exposed for callers that already hold bf16 activations). Head dims 64 and 128 (dk == dv).
  void attention_bf16(dtensor_view<const bf16, 3> q, dtensor_view<const bf16, 3> k, dtensor_view<const bf16, 3> v,
                      dtensor_view<bf16, 3> out, const attention_options& o) const;
  // Batched form: q [batch, tq, hq, d], k/v [batch, tk, hk, d], out [batch, tq, hq, d], contiguous.
  void attention_bf16_batched(const bf16* q, const bf16* k, const bf16* v, bf16* out, index_t batch, index_t tq,
                              index_t tk, index_t hq, index_t hk, index_t d, const attention_options& o) const;

  // Absorbed MLA decode over a paged latent cache (options.hpp). `out` is [batch, s_q, heads,
  // 512] contiguous; `lse` may be null.
  void mla_decode(const bf16* q, index_t s_q, index_t heads, const paged_latent_cache& cache, float* out, float* lse,
                  const mla_decode_options& o) const;
  void mla_decode(const bf16* q, index_t s_q, index_t heads, const paged_latent_cache& cache, bf16* out, float* lse,
                  const mla_decode_options& o) const;

  // Mixture-of-experts experts by token permutation and grouped GEMMs (options.hpp):
  //   x [tokens, hidden], experts/weights [tokens, top_k], gate/up/down one view per expert,
  //   y [tokens, hidden].
  void moe_experts(matrix_view<const float> x, matrix_view<const std::int32_t> experts,
                   matrix_view<const float> weights, std::span<const weight_view> gate, std::span<const weight_view> up,
                   std::span<const weight_view> down, matrix_view<float> y, const moe_experts_options& o = {}) const;

  // Float conversion helpers for callers of the bf16 entry points.
  void to_bf16(const float* src, bf16* dst, std::size_t n) const;
  void to_f32(const bf16* src, float* dst, std::size_t n) const;

  compute_precision compute() const noexcept;
  int device() const noexcept;
  int multiprocessors() const noexcept;
  void* stream() const noexcept;  // the cudaStream_t, for interoperation

  // Whether a CUDA device can be used here (false when there is none or no driver).
  static bool available() noexcept;

  const detail::context& context() const noexcept { return *ctx_; }

 private:
  std::shared_ptr<detail::context> ctx_;
};

static_assert(backend_policy<backend>);

}  // namespace latte::cuda

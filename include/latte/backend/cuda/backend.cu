// Definitions of latte::cuda::backend's members (backend.hpp): the one translation unit of the
// elementwise, row, routing, GEMM and general attention primitives. The fused kernels live in
// their own units (mla_decode.cu, flash_attention.cu, moe.cu).

#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <cstring>

#include "attention.cuh"
#include "backend.hpp"
#include "common.cuh"
#include "elementwise.cuh"
#include "fused.hpp"
#include "gemm.cuh"
#include "rows.cuh"

namespace latte::cuda {

namespace detail {

const char* describe(int code) noexcept {
  switch (code) {
    case error_gather_id: return "gather_rows: an id lies outside the table";
    case error_scatter_id: return "scatter_add_rows: an id lies outside the output rows";
    case error_page: return "mla_decode: a page index lies outside the paged cache";
    case error_expert_id: return "moe_experts: an expert id lies outside the expert list";
    case error_smem_align: return "a kernel found its shared memory misaligned";
    default: return "unknown kernel error";
  }
}

context::context(const backend_options& options) : device(options.device), compute(options.compute) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess || count == 0)
    fail("cuda backend: no CUDA device is available (", status != cudaSuccess ? cudaGetErrorString(status) : "0 devices",
         ")");
  require(device >= 0 && device < count, "cuda backend: device ", device, " outside [0, ", count, ")");
  LATTE_CUDA_CHECK(cudaSetDevice(device));
  LATTE_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, device));
  int optin = 0;
  LATTE_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  smem_optin = static_cast<std::size_t>(optin);
  LATTE_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  LATTE_CUBLAS_CHECK(cublasCreate(&blas));
  LATTE_CUBLAS_CHECK(cublasSetStream(blas, stream));
  constexpr std::size_t blas_workspace_bytes = std::size_t{32} << 20;  // Hopper's recommended size
  LATTE_CUDA_CHECK(cudaMalloc(&blas_workspace, blas_workspace_bytes));
  LATTE_CUBLAS_CHECK(cublasSetWorkspace(blas, blas_workspace, blas_workspace_bytes));
  LATTE_CUDA_CHECK(cudaMalloc(&error_flag, sizeof(int)));
  LATTE_CUDA_CHECK(cudaMemsetAsync(error_flag, 0, sizeof(int), stream));
  LATTE_CUDA_CHECK(cudaStreamSynchronize(stream));
}

context::~context() {
  if (stream != nullptr) cudaStreamSynchronize(stream);
  if (scratch != nullptr) cudaFree(scratch);
  if (error_flag != nullptr) cudaFree(error_flag);
  if (blas != nullptr) cublasDestroy(blas);
  if (blas_workspace != nullptr) cudaFree(blas_workspace);
  if (stream != nullptr) cudaStreamDestroy(stream);
}

void* context::reserve(std::size_t bytes) const {
  if (bytes <= scratch_bytes) return scratch;
  if (scratch != nullptr) {
    LATTE_CUDA_CHECK(cudaStreamSynchronize(stream));  // kernels in flight may still read it
    LATTE_CUDA_CHECK(cudaFree(scratch));
    scratch = nullptr;
    scratch_bytes = 0;
  }
  const std::size_t rounded = std::max<std::size_t>(bytes + bytes / 4, std::size_t{1} << 20);
  LATTE_CUDA_CHECK(cudaMalloc(&scratch, rounded));
  scratch_bytes = rounded;
  return scratch;
}

void* device_allocate(std::size_t bytes) {
  void* p = nullptr;
  const cudaError_t status = cudaMalloc(&p, bytes);
  if (status != cudaSuccess) fail("cuda backend: cannot allocate ", bytes, " bytes of device memory: ", cudaGetErrorString(status));
  return p;
}
void device_free(void* p) noexcept {
  if (p != nullptr) cudaFree(p);
}
void device_zero(void* p, std::size_t bytes, const context& ctx) {
  LATTE_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, ctx.stream));
}
void copy_to_device(const void* host, void* device, std::size_t bytes, const context& ctx) {
  LATTE_CUDA_CHECK(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, ctx.stream));
}
void copy_to_host(const void* device, void* host, std::size_t bytes, const context& ctx) {
  LATTE_CUDA_CHECK(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, ctx.stream));
  LATTE_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  check_error_flag(ctx);
}
void copy_on_device(const void* src, void* dst, std::size_t bytes, const context& ctx) {
  LATTE_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx.stream));
}

void check_error_flag(const context& ctx) {
  int code = 0;
  LATTE_CUDA_CHECK(cudaMemcpyAsync(&code, ctx.error_flag, sizeof(int), cudaMemcpyDeviceToHost, ctx.stream));
  LATTE_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  if (code != error_none) {
    LATTE_CUDA_CHECK(cudaMemsetAsync(ctx.error_flag, 0, sizeof(int), ctx.stream));
    LATTE_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
    fail("cuda backend: ", describe(code));
  }
}

namespace {

void check_matrix(const matrix_view<const float>& x, const char* what) {
  require(x.stride(1) == 1 || x.extent(1) <= 1, what, ": needs unit column stride");
}
void check_matrix(const matrix_view<float>& x, const char* what) {
  require(x.stride(1) == 1 || x.extent(1) <= 1, what, ": needs unit column stride");
}

// Threads of a row-per-block kernel for rows of n.
int row_threads(index_t n) { return n >= 1024 ? 512 : n >= 256 ? 256 : 128; }

}  // namespace

}  // namespace detail

using detail::blocks_for;

backend::backend() : backend(backend_options{}) {}
backend::backend(const backend_options& options) : ctx_(std::make_shared<detail::context>(options)) {}

bool backend::available() noexcept {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

compute_precision backend::compute() const noexcept { return ctx_->compute; }
int backend::device() const noexcept { return ctx_->device; }
int backend::multiprocessors() const noexcept { return ctx_->sm_count; }
void* backend::stream() const noexcept { return ctx_->stream; }

void backend::synchronize() const {
  LATTE_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));
  detail::check_error_flag(*ctx_);
}

void backend::gemm(matrix_view<const float> x, const weight_view& w, matrix_view<float> y, const gemm_options& o) const {
  detail::gemm(*ctx_, x, w, y, o);
}

void backend::gemm_batched(dtensor_view<const float, 3> x, const weight_view& w, index_t rows_per_matrix,
                           index_t row_step, dtensor_view<float, 3> y, const gemm_options& o) const {
  detail::gemm_batched(*ctx_, x, w, rows_per_matrix, row_step, y, o);
}

void backend::rmsnorm(matrix_view<const float> x, const weight_view& weight, float eps, matrix_view<float> y) const {
  const index_t m = x.extent(0), n = x.extent(1);
  require(weight.rows == 1 && weight.cols == n, "rmsnorm: weight is [", weight.rows, ", ", weight.cols,
          "], expected [1, ", n, "]");
  require(y.extent(0) == m && y.extent(1) == n, "rmsnorm: output shape differs from the input's");
  detail::check_matrix(x, "rmsnorm");
  detail::check_matrix(y, "rmsnorm");
  if (m == 0 || n == 0) return;
  kernels::rmsnorm<<<static_cast<unsigned>(m), detail::row_threads(n), 0, ctx_->stream>>>(x.data(), x.stride(0), weight, eps,
                                                                                    y.data(), y.stride(0), n);
  LATTE_CUDA_LAUNCHED();
}

void backend::silu_mul(matrix_view<const float> gate, matrix_view<const float> up, matrix_view<float> out) const {
  const index_t m = gate.extent(0), n = gate.extent(1);
  require(up.extent(0) == m && up.extent(1) == n && out.extent(0) == m && out.extent(1) == n,
          "silu_mul: gate, up and out must have one shape");
  detail::check_matrix(gate, "silu_mul");
  detail::check_matrix(up, "silu_mul");
  detail::check_matrix(out, "silu_mul");
  if (m * n == 0) return;
  kernels::silu_mul<<<blocks_for(m * n, 256), 256, 0, ctx_->stream>>>(gate.data(), gate.stride(0), up.data(), up.stride(0),
                                                                      out.data(), out.stride(0), m, n);
  LATTE_CUDA_LAUNCHED();
}

void backend::add(matrix_view<const float> x, matrix_view<float> y, float alpha) const {
  const index_t m = x.extent(0), n = x.extent(1);
  require(y.extent(0) == m && y.extent(1) == n, "add: x is [", m, ", ", n, "], y is [", y.extent(0), ", ",
          y.extent(1), "]");
  detail::check_matrix(x, "add");
  detail::check_matrix(y, "add");
  if (m * n == 0) return;
  kernels::add<<<blocks_for(m * n, 256), 256, 0, ctx_->stream>>>(x.data(), x.stride(0), y.data(), y.stride(0), alpha, m, n);
  LATTE_CUDA_LAUNCHED();
}

void backend::softmax_rows(matrix_view<float> x) const {
  const index_t m = x.extent(0), n = x.extent(1);
  detail::check_matrix(x, "softmax_rows");
  if (m == 0 || n == 0) return;
  kernels::softmax_rows<<<static_cast<unsigned>(m), detail::row_threads(n), 0, ctx_->stream>>>(x.data(), x.stride(0), n);
  LATTE_CUDA_LAUNCHED();
}

void backend::argmax_rows(matrix_view<const float> x, vector_view<std::int32_t> out) const {
  const index_t m = x.extent(0), n = x.extent(1);
  require(out.extent(0) == m, "argmax_rows: ", m, " rows but ", out.extent(0), " outputs");
  require(n > 0, "argmax_rows: rows are empty");
  detail::check_matrix(x, "argmax_rows");
  if (m == 0) return;
  kernels::argmax_rows<<<static_cast<unsigned>(m), detail::row_threads(n), 0, ctx_->stream>>>(x.data(), x.stride(0), n,
                                                                                        out.data(), out.stride(0));
  LATTE_CUDA_LAUNCHED();
}

void backend::rope(dtensor_view<float, 3> x, dtensor_view<const float, 3> cos_sin, rope_layout layout) const {
  const index_t tokens = x.extent(0), heads = x.extent(1), d = x.extent(2);
  require(d % 2 == 0, "rope: rotary dimension ", d, " is odd");
  require(cos_sin.extent(0) == tokens && cos_sin.extent(1) == d / 2 && cos_sin.extent(2) == 2,
          "rope: cos_sin is [", cos_sin.extent(0), ", ", cos_sin.extent(1), ", ", cos_sin.extent(2),
          "], expected [", tokens, ", ", d / 2, ", 2]");
  require(x.stride(2) == 1, "rope: x needs unit inner stride");
  const index_t work = tokens * heads * (d / 2);
  if (work == 0) return;
  kernels::rope<<<blocks_for(work, 256), 256, 0, ctx_->stream>>>(
      x.data(), x.stride(0), x.stride(1), cos_sin.data(), cos_sin.stride(0), cos_sin.stride(1), cos_sin.stride(2),
      tokens, heads, d, layout == rope_layout::interleaved_pairs);
  LATTE_CUDA_LAUNCHED();
}

namespace {

template <int KC, int VC>
void launch_attention_rows(const detail::context& ctx, const kernels::attention_params& p) {
  const index_t warps = p.tq * p.hq * p.splits;
  kernels::attention_rows<KC, VC><<<blocks_for(warps, 4), 128, 0, ctx.stream>>>(p);
  LATTE_CUDA_LAUNCHED();
}

template <int KC>
void dispatch_dv(const detail::context& ctx, const kernels::attention_params& p) {
  if (p.dv <= 64) return launch_attention_rows<KC, 2>(ctx, p);
  if (p.dv <= 128) return launch_attention_rows<KC, 4>(ctx, p);
  if (p.dv <= 256) return launch_attention_rows<KC, 8>(ctx, p);
  if (p.dv <= 512) return launch_attention_rows<KC, 16>(ctx, p);
  fail("attention: value head dim ", p.dv, " exceeds 512");
}

}  // namespace

void backend::attention(dtensor_view<const float, 3> q, dtensor_view<const float, 3> k, dtensor_view<const float, 3> v,
                        dtensor_view<float, 3> out, const attention_options& o) const {
  const index_t tq = q.extent(0), hq = q.extent(1), dk = q.extent(2);
  const index_t tk = k.extent(0), hk = k.extent(1), dv = v.extent(2);
  require(k.extent(2) == dk, "attention: keys have ", k.extent(2), " dims, queries ", dk);
  require(v.extent(0) == tk && v.extent(1) == hk, "attention: values are [", v.extent(0), ", ", v.extent(1),
          ", .], keys [", tk, ", ", hk, ", .]");
  require(hk > 0 && hq % hk == 0, "attention: ", hq, " query heads do not divide into ", hk, " KV heads");
  require(out.extent(0) == tq && out.extent(1) == hq && out.extent(2) == dv, "attention: out is [", out.extent(0),
          ", ", out.extent(1), ", ", out.extent(2), "], expected [", tq, ", ", hq, ", ", dv, "]");
  require(q.stride(2) == 1 && k.stride(2) == 1 && v.stride(2) == 1 && out.stride(2) == 1,
          "attention: inner strides must be 1");
  if (tq == 0 || hq == 0 || dv == 0) return;

  // bf16 tensor-core path for the head dims it is built for.
  if (ctx_->compute != compute_precision::f32 && detail::flash_attention_supports(dk, dv)) {
    detail::flash_attention_f32(*ctx_, q, k, v, out, o);
    return;
  }

  kernels::attention_params p{};
  p.q = q.data(); p.qs0 = q.stride(0); p.qs1 = q.stride(1);
  p.k = k.data(); p.ks0 = k.stride(0); p.ks1 = k.stride(1);
  p.v = v.data(); p.vs0 = v.stride(0); p.vs1 = v.stride(1);
  p.out = out.data(); p.os0 = out.stride(0); p.os1 = out.stride(1);
  p.tq = tq; p.tk = tk; p.hq = hq; p.hk = hk; p.dk = dk; p.dv = dv;
  p.scale = o.scale;
  p.causal = o.causal;
  p.query_offset = o.query_offset;
  // Enough warps to fill the device: split the keys when (query, head) pairs are few.
  const index_t pairs = tq * hq;
  const index_t wanted = static_cast<index_t>(ctx_->sm_count) * 32;
  p.splits = pairs >= wanted ? 1 : std::clamp<index_t>((wanted + pairs - 1) / pairs, 1, std::max<index_t>(1, tk / 128));
  p.span = (tk + p.splits - 1) / p.splits;
  if (p.splits > 1) {
    detail::scratch_plan plan;
    const std::size_t acc = plan.add<float>(static_cast<std::size_t>(pairs * p.splits * dv));
    const std::size_t mx = plan.add<float>(static_cast<std::size_t>(pairs * p.splits));
    const std::size_t sm = plan.add<float>(static_cast<std::size_t>(pairs * p.splits));
    void* scratch = ctx_->reserve(plan.bytes);
    p.partial_acc = detail::at<float>(scratch, acc);
    p.partial_max = detail::at<float>(scratch, mx);
    p.partial_sum = detail::at<float>(scratch, sm);
  }
  if (dk <= 64) dispatch_dv<2>(*ctx_, p);
  else if (dk <= 128) dispatch_dv<4>(*ctx_, p);
  else if (dk <= 192) dispatch_dv<6>(*ctx_, p);
  else if (dk <= 256) dispatch_dv<8>(*ctx_, p);
  else if (dk <= 576) dispatch_dv<18>(*ctx_, p);
  else fail("attention: key head dim ", dk, " exceeds 576");
  if (p.splits > 1) {
    kernels::attention_merge<<<static_cast<unsigned>(pairs), 128, 0, ctx_->stream>>>(p);
    LATTE_CUDA_LAUNCHED();
  }
}

void backend::route(matrix_view<const float> logits, const routing_options& o, matrix_view<std::int32_t> experts,
                    matrix_view<float> weights) const {
  const index_t tokens = logits.extent(0), n = logits.extent(1);
  require(o.n_group >= 1 && n % o.n_group == 0, "routing: ", n, " experts do not split into ", o.n_group, " groups");
  require(o.topk_group >= 1 && o.topk_group <= o.n_group, "routing: topk_group ", o.topk_group, " outside [1, ",
          o.n_group, "]");
  require(o.top_k >= 1 && o.top_k <= (n / o.n_group) * o.topk_group, "routing: top_k ", o.top_k,
          " exceeds the ", (n / o.n_group) * o.topk_group, " experts of the kept groups");
  require(experts.extent(0) == tokens && experts.extent(1) == o.top_k && weights.extent(0) == tokens &&
              weights.extent(1) == o.top_k,
          "routing: outputs must be [", tokens, ", ", o.top_k, "]");
  require(logits.stride(1) == 1 && experts.stride(1) == 1 && weights.stride(1) == 1,
          "routing: needs unit column strides");
  if (tokens == 0) return;
  kernels::route_params p;
  p.experts = n;
  p.top_k = o.top_k;
  p.n_group = o.n_group;
  p.topk_group = o.topk_group;
  p.softmax = o.scoring == scoring_func::softmax;
  p.norm_topk_prob = o.norm_topk_prob;
  p.routed_scaling_factor = o.routed_scaling_factor;
  p.selection_bias = o.selection_bias;
  const std::size_t smem = static_cast<std::size_t>(2 * n + o.n_group) * sizeof(float) +
                           static_cast<std::size_t>(o.top_k) * sizeof(int) + static_cast<std::size_t>(n);
  require(smem <= 48 * 1024, "routing: ", n, " experts exceed the kernel's shared memory");
  kernels::route<<<static_cast<unsigned>(tokens), 256, smem, ctx_->stream>>>(logits.data(), logits.stride(0), p,
                                                                             experts.data(), experts.stride(0),
                                                                             weights.data(), weights.stride(0));
  LATTE_CUDA_LAUNCHED();
}

void backend::gather_rows(const weight_view& table, vector_view<const std::int32_t> ids, matrix_view<float> out) const {
  const index_t m = ids.extent(0);
  require(out.extent(0) == m && out.extent(1) == table.cols, "gather_rows: out is [", out.extent(0), ", ",
          out.extent(1), "], expected [", m, ", ", table.cols, "]");
  detail::check_matrix(out, "gather_rows");
  if (m == 0 || table.cols == 0) return;
  const int threads = detail::row_threads(table.cols);
  detail::visit_weight_type(table.type, [&](auto s) {
    using S = decltype(s);
    kernels::gather_rows<S><<<static_cast<unsigned>(m), threads, 0, ctx_->stream>>>(
        table, ids.data(), ids.stride(0), out.data(), out.stride(0), ctx_->error_flag);
  });
  LATTE_CUDA_LAUNCHED();
}

void backend::scatter_add_rows(matrix_view<const float> x, vector_view<const std::int32_t> ids,
                               vector_view<const float> weights, matrix_view<float> y) const {
  const index_t m = x.extent(0), d = x.extent(1);
  require(ids.extent(0) == m && weights.extent(0) == m, "scatter_add_rows: ", m, " rows but ", ids.extent(0),
          " ids and ", weights.extent(0), " weights");
  require(y.extent(1) == d, "scatter_add_rows: y has ", y.extent(1), " columns, x ", d);
  detail::check_matrix(x, "scatter_add_rows");
  detail::check_matrix(y, "scatter_add_rows");
  if (m == 0 || d == 0) return;
  if (m <= 32) {
    kernels::scatter_add_columns<<<blocks_for(d, 128), 128, 0, ctx_->stream>>>(
        x.data(), x.stride(0), ids.data(), ids.stride(0), weights.data(), weights.stride(0), y.data(), y.stride(0),
        y.extent(0), m, d, ctx_->error_flag);
    LATTE_CUDA_LAUNCHED();
    return;
  }
  require(m <= INT32_MAX, "scatter_add_rows: too many rows");
  // Stable sort of (id, row): each target's sources in increasing row order.
  const int count = static_cast<int>(m);
  std::size_t sort_bytes = 0;
  LATTE_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, sort_bytes, static_cast<const std::int32_t*>(nullptr),
                                                   static_cast<std::int32_t*>(nullptr),
                                                   static_cast<const std::int32_t*>(nullptr),
                                                   static_cast<std::int32_t*>(nullptr), count, 0, 32, ctx_->stream));
  detail::scratch_plan plan;
  const std::size_t keys_in = plan.add<std::int32_t>(m), keys_out = plan.add<std::int32_t>(m);
  const std::size_t rows_in = plan.add<std::int32_t>(m), rows_out = plan.add<std::int32_t>(m);
  const std::size_t temp = plan.add<unsigned char>(sort_bytes);
  void* scratch = ctx_->reserve(plan.bytes);
  auto* ki = detail::at<std::int32_t>(scratch, keys_in);
  auto* ko = detail::at<std::int32_t>(scratch, keys_out);
  auto* ri = detail::at<std::int32_t>(scratch, rows_in);
  auto* ro = detail::at<std::int32_t>(scratch, rows_out);
  kernels::ids_with_positions<<<blocks_for(m, 256), 256, 0, ctx_->stream>>>(ids.data(), ids.stride(0), m, ki, ri);
  LATTE_CUDA_LAUNCHED();
  LATTE_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(detail::at<void>(scratch, temp), sort_bytes, ki, ko, ri, ro, count, 0,
                                                   32, ctx_->stream));
  kernels::scatter_add_sorted<<<static_cast<unsigned>(m), 128, 0, ctx_->stream>>>(
      x.data(), x.stride(0), ko, ro, weights.data(), weights.stride(0), y.data(), y.stride(0), y.extent(0), m, d,
      ctx_->error_flag);
  LATTE_CUDA_LAUNCHED();
}

void backend::dequantize(const weight_view& w, matrix_view<float> out) const {
  require(out.extent(0) == w.rows && out.extent(1) == w.cols, "dequantize: out is [", out.extent(0), ", ",
          out.extent(1), "], weight [", w.rows, ", ", w.cols, "]");
  require(out.stride(1) == 1, "dequantize: out needs unit column stride");
  detail::dequantize_into(*ctx_, w, out.data(), out.stride(0));
}

void backend::to_bf16(const float* src, bf16* dst, std::size_t n) const {
  if (n == 0) return;
  kernels::f32_to_bf16<<<blocks_for(static_cast<index_t>(n), 256), 256, 0, ctx_->stream>>>(
      src, reinterpret_cast<__nv_bfloat16*>(dst), static_cast<index_t>(n));
  LATTE_CUDA_LAUNCHED();
}

void backend::to_f32(const bf16* src, float* dst, std::size_t n) const {
  if (n == 0) return;
  kernels::bf16_to_f32<<<blocks_for(static_cast<index_t>(n), 256), 256, 0, ctx_->stream>>>(
      reinterpret_cast<const __nv_bfloat16*>(src), dst, static_cast<index_t>(n));
  LATTE_CUDA_LAUNCHED();
}

// --- fused kernels: thin forwards to their translation units ---

void backend::attention_bf16(dtensor_view<const bf16, 3> q, dtensor_view<const bf16, 3> k,
                             dtensor_view<const bf16, 3> v, dtensor_view<bf16, 3> out,
                             const attention_options& o) const {
  detail::flash_attention(*ctx_, q, k, v, out, o);
}

void backend::attention_bf16_batched(const bf16* q, const bf16* k, const bf16* v, bf16* out, index_t batch, index_t tq,
                                     index_t tk, index_t hq, index_t hk, index_t d, const attention_options& o) const {
  detail::flash_attention_batched(*ctx_, q, k, v, out, batch, tq, tk, hq, hk, d, o);
}

void backend::mla_decode(const bf16* q, index_t s_q, index_t heads, const paged_latent_cache& cache, float* out,
                         float* lse, const mla_decode_options& o) const {
  detail::mla_decode(*ctx_, q, s_q, heads, cache, out, lse, o);
}
void backend::mla_decode(const bf16* q, index_t s_q, index_t heads, const paged_latent_cache& cache, bf16* out,
                         float* lse, const mla_decode_options& o) const {
  detail::mla_decode(*ctx_, q, s_q, heads, cache, out, lse, o);
}

void backend::moe_experts(matrix_view<const float> x, matrix_view<const std::int32_t> experts,
                          matrix_view<const float> weights, std::span<const weight_view> gate,
                          std::span<const weight_view> up, std::span<const weight_view> down, matrix_view<float> y,
                          const moe_experts_options& o) const {
  detail::moe_experts(*ctx_, x, experts, weights, gate, up, down, y, o);
}

}  // namespace latte::cuda

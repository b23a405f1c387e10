// The tensor-core flash attention kernel's launches and explicit instantiations (head dims 64
// and 128), and the float32 contract on top of it (operands rounded to bf16 in scratch).

#include <cuda_bf16.h>

#include "common.cuh"
#include "elementwise.cuh"
#include "gemm.cuh"
#include "flash_attention.cuh"
#include "fused.hpp"

namespace latte::cuda {

namespace kernels {
template __global__ void flash_forward<64>(const flash_params);
template __global__ void flash_forward<128>(const flash_params);

// dst [rows / per_batch, per_batch, cols] strided (batch_stride, row_stride, 1) = float(src).
__global__ void rows_from_bf16(const __nv_bfloat16* src, float* dst, index_t batch_stride, index_t row_stride,
                               index_t per_batch, index_t rows, index_t cols) {
  const index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * cols) return;
  const index_t r = i / cols, c = i % cols;
  dst[(r / per_batch) * batch_stride + (r % per_batch) * row_stride + c] = __bfloat162float(src[i]);
}
}  // namespace kernels

namespace detail {

bool flash_attention_supports(index_t dk, index_t dv) noexcept { return dk == dv && (dk == 64 || dk == 128); }

namespace {

template <int D>
void launch_flash(const context& ctx, const kernels::flash_params& p, index_t batch) {
  using cfg = kernels::flash_config<D>;
  constexpr std::size_t smem = sizeof(kernels::flash_shared<D>);
  static bool configured = false;
  if (!configured) {
    LATTE_CUDA_CHECK(cudaFuncSetAttribute(kernels::flash_forward<D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(smem)));
    configured = true;
  }
  const dim3 grid(static_cast<unsigned>((p.tq + cfg::block_m - 1) / cfg::block_m), static_cast<unsigned>(p.hq),
                  static_cast<unsigned>(batch));
  kernels::flash_forward<D><<<grid, cfg::threads, smem, ctx.stream>>>(p);
  LATTE_CUDA_LAUNCHED();
}

void run_flash(const context& ctx, kernels::flash_params& p, index_t batch, index_t d, const attention_options& o) {
  require(p.hk > 0 && p.hq % p.hk == 0, "attention: ", p.hq, " query heads do not divide into ", p.hk, " KV heads");
  require(d == 64 || d == 128, "flash attention: head dim ", d, " is not 64 or 128");
  p.scale_log2 = o.scale * 1.4426950408889634f;
  p.causal = o.causal;
  p.query_offset = o.query_offset;
  if (p.tq == 0 || batch == 0 || p.hq == 0) return;
  if (d == 64)
    launch_flash<64>(ctx, p, batch);
  else
    launch_flash<128>(ctx, p, batch);
}

}  // namespace

void flash_attention(const context& ctx, dtensor_view<const bf16, 3> q, dtensor_view<const bf16, 3> k,
                     dtensor_view<const bf16, 3> v, dtensor_view<bf16, 3> out, const attention_options& o) {
  const index_t d = q.extent(2);
  require(k.extent(2) == d && v.extent(2) == d && out.extent(2) == d, "flash attention: head dims differ");
  require(v.extent(0) == k.extent(0) && v.extent(1) == k.extent(1), "flash attention: k and v shapes differ");
  require(out.extent(0) == q.extent(0) && out.extent(1) == q.extent(1), "flash attention: out shape differs from q");
  require(q.stride(2) == 1 && k.stride(2) == 1 && v.stride(2) == 1 && out.stride(2) == 1,
          "flash attention: inner strides must be 1");
  require(q.stride(0) % 8 == 0 && q.stride(1) % 8 == 0 && k.stride(0) % 8 == 0 && k.stride(1) % 8 == 0 &&
              v.stride(0) % 8 == 0 && v.stride(1) % 8 == 0,
          "flash attention: strides must be multiples of 8 elements (16-byte loads)");
  kernels::flash_params p{};
  p.q = reinterpret_cast<const __nv_bfloat16*>(q.data());
  p.k = reinterpret_cast<const __nv_bfloat16*>(k.data());
  p.v = reinterpret_cast<const __nv_bfloat16*>(v.data());
  p.o = reinterpret_cast<__nv_bfloat16*>(out.data());
  p.q_row = q.stride(0); p.q_head = q.stride(1);
  p.k_row = k.stride(0); p.k_head = k.stride(1);
  p.v_row = v.stride(0); p.v_head = v.stride(1);
  p.o_row = out.stride(0); p.o_head = out.stride(1);
  p.tq = static_cast<int>(q.extent(0));
  p.tk = static_cast<int>(k.extent(0));
  p.hq = static_cast<int>(q.extent(1));
  p.hk = static_cast<int>(k.extent(1));
  run_flash(ctx, p, 1, d, o);
}

void flash_attention_batched(const context& ctx, const bf16* q, const bf16* k, const bf16* v, bf16* out, index_t batch,
                             index_t tq, index_t tk, index_t hq, index_t hk, index_t d, const attention_options& o) {
  kernels::flash_params p{};
  p.q = reinterpret_cast<const __nv_bfloat16*>(q);
  p.k = reinterpret_cast<const __nv_bfloat16*>(k);
  p.v = reinterpret_cast<const __nv_bfloat16*>(v);
  p.o = reinterpret_cast<__nv_bfloat16*>(out);
  p.q_head = d; p.q_row = hq * d; p.q_batch = tq * hq * d;
  p.k_head = d; p.k_row = hk * d; p.k_batch = tk * hk * d;
  p.v_head = d; p.v_row = hk * d; p.v_batch = tk * hk * d;
  p.o_head = d; p.o_row = hq * d; p.o_batch = tq * hq * d;
  p.tq = static_cast<int>(tq);
  p.tk = static_cast<int>(tk);
  p.hq = static_cast<int>(hq);
  p.hk = static_cast<int>(hk);
  run_flash(ctx, p, batch, d, o);
}

void flash_attention_f32(const context& ctx, dtensor_view<const float, 3> q, dtensor_view<const float, 3> k,
                         dtensor_view<const float, 3> v, dtensor_view<float, 3> out, const attention_options& o) {
  const index_t tq = q.extent(0), hq = q.extent(1), d = q.extent(2);
  const index_t tk = k.extent(0), hk = k.extent(1);
  scratch_plan plan;
  const std::size_t qo = plan.add<__nv_bfloat16>(static_cast<std::size_t>(tq * hq * d));
  const std::size_t ko = plan.add<__nv_bfloat16>(static_cast<std::size_t>(tk * hk * d));
  const std::size_t vo = plan.add<__nv_bfloat16>(static_cast<std::size_t>(tk * hk * d));
  const std::size_t oo = plan.add<__nv_bfloat16>(static_cast<std::size_t>(tq * hq * d));
  void* scratch = ctx.reserve(plan.bytes);
  auto* qb = at<__nv_bfloat16>(scratch, qo);
  auto* kb = at<__nv_bfloat16>(scratch, ko);
  auto* vb = at<__nv_bfloat16>(scratch, vo);
  auto* ob = at<__nv_bfloat16>(scratch, oo);
  rows_to_bf16(ctx, q.data(), q.stride(0), q.stride(1), hq, qb, tq * hq, d);
  rows_to_bf16(ctx, k.data(), k.stride(0), k.stride(1), hk, kb, tk * hk, d);
  rows_to_bf16(ctx, v.data(), v.stride(0), v.stride(1), hk, vb, tk * hk, d);
  flash_attention_batched(ctx, reinterpret_cast<const bf16*>(qb), reinterpret_cast<const bf16*>(kb),
                          reinterpret_cast<const bf16*>(vb), reinterpret_cast<bf16*>(ob), 1, tq, tk, hq, hk, d, o);
  if (tq * hq * d == 0) return;
  kernels::rows_from_bf16<<<blocks_for(tq * hq * d, 256), 256, 0, ctx.stream>>>(ob, out.data(), out.stride(0),
                                                                                out.stride(1), hq, tq * hq, d);
  LATTE_CUDA_LAUNCHED();
}

}  // namespace detail
}  // namespace latte::cuda

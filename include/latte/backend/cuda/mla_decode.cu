// The absorbed MLA decode kernel's launches, tensor maps and explicit instantiations (float32 and
// bf16 outputs).

#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_bf16.h>

#include <algorithm>

#include "common.cuh"
#include "fused.hpp"
#include "mla_decode.cuh"

namespace latte::cuda {

namespace kernels {
#define LATTE_MLA_DECODE_INSTANCE(Out, BlockM)                                                       \
  template __global__ void mla_decode<Out, BlockM>(const __grid_constant__ CUtensorMap,                \
                                                   const __grid_constant__ CUtensorMap, const mla_decode_params);
LATTE_MLA_DECODE_INSTANCE(float, 16)
LATTE_MLA_DECODE_INSTANCE(float, 32)
LATTE_MLA_DECODE_INSTANCE(float, 64)
LATTE_MLA_DECODE_INSTANCE(__nv_bfloat16, 16)
LATTE_MLA_DECODE_INSTANCE(__nv_bfloat16, 32)
LATTE_MLA_DECODE_INSTANCE(__nv_bfloat16, 64)
#undef LATTE_MLA_DECODE_INSTANCE
template __global__ void mla_combine<float>(const mla_decode_params);
template __global__ void mla_combine<__nv_bfloat16>(const mla_decode_params);
}  // namespace kernels

namespace detail {

namespace {

PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static PFN_cuTensorMapEncodeTiled_v12000 encode = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    LATTE_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found));
    require(found == cudaDriverEntryPointSuccess && fn != nullptr,
            "mla_decode: the driver does not provide cuTensorMapEncodeTiled");
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
  }();
  return encode;
}

// A 2-D map over a row-major [rows, 576] bf16 matrix, boxes of 64 columns x box_rows rows with the
// 128-byte swizzle.
CUtensorMap latent_rows_map(const void* base, index_t rows, int box_rows) {
  using cfg = kernels::mla_decode_config;
  require(reinterpret_cast<std::uintptr_t>(base) % 16 == 0, "mla_decode: tensors must be 16-byte aligned");
  require(rows > 0 && rows < (index_t{1} << 31), "mla_decode: ", rows, " rows do not fit a tensor map");
  CUtensorMap map{};
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(cfg::head_dim_k), static_cast<cuuint64_t>(rows)};
  const cuuint64_t strides[1] = {static_cast<cuuint64_t>(cfg::head_dim_k) * 2};
  const cuuint32_t box[2] = {static_cast<cuuint32_t>(cfg::box_cols), static_cast<cuuint32_t>(box_rows)};
  const cuuint32_t element_strides[2] = {1, 1};
  const CUresult status = tensor_map_encoder()(
      &map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, const_cast<void*>(base), dims, strides, box, element_strides,
      CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
      CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  require(status == CUDA_SUCCESS, "mla_decode: cuTensorMapEncodeTiled failed with status ", static_cast<int>(status));
  return map;
}

template <class Out, int BlockM>
void launch_tile(const context& ctx, const CUtensorMap& kv_map, const bf16* q, const kernels::mla_decode_params& p,
                 index_t batch) {
  using cfg = kernels::mla_decode_config;
  constexpr std::size_t smem = sizeof(kernels::mla_decode_shared<BlockM>);
  require(smem <= ctx.smem_optin, "mla_decode: needs ", smem, " bytes of shared memory, the device offers ",
          ctx.smem_optin);
  static bool configured = false;
  if (!configured) {
    LATTE_CUDA_CHECK(cudaFuncSetAttribute(kernels::mla_decode<Out, BlockM>,
                                          cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    configured = true;
  }
  const CUtensorMap q_map = latent_rows_map(q, batch * p.rows, BlockM);
  const index_t m_tiles = (p.rows + BlockM - 1) / BlockM;
  const dim3 grid(static_cast<unsigned>(m_tiles), static_cast<unsigned>(p.splits), static_cast<unsigned>(batch));
  kernels::mla_decode<Out, BlockM><<<grid, cfg::threads, smem, ctx.stream>>>(q_map, kv_map, p);
  LATTE_CUDA_LAUNCHED();
}

template <class Out>
void launch(const context& ctx, const bf16* q, index_t s_q, index_t heads, const paged_latent_cache& cache, Out* out,
            float* lse, const mla_decode_options& o) {
  using cfg = kernels::mla_decode_config;
  require(s_q >= 1 && heads >= 1, "mla_decode: s_q ", s_q, " and heads ", heads, " must be positive");
  require(cache.batch >= 0 && cache.pages != nullptr && cache.page_table != nullptr && cache.seq_lens != nullptr,
          "mla_decode: the paged cache is incomplete");
  require(cache.num_pages > 0 && cache.pages_per_seq > 0, "mla_decode: the paged cache has no pages");
  if (cache.batch == 0) return;
  const index_t rows = s_q * heads;
  require(cache.batch * rows < (index_t{1} << 31), "mla_decode: too many query rows");
  // Row tile: 16 or 32 rows when the sequence has no more, so few heads pay for no padding.
  const int block_m = rows <= 16 ? 16 : rows <= 32 ? 32 : 64;
  const index_t m_tiles = (rows + block_m - 1) / block_m;
  const index_t max_len = cache.max_seq_len > 0 ? cache.max_seq_len : cache.pages_per_seq * cfg::page_size;
  const index_t max_pages = std::max<index_t>(1, (max_len + cfg::page_size - 1) / cfg::page_size);
  require(max_pages <= cache.pages_per_seq, "mla_decode: max_seq_len ", max_len, " needs more than the ",
          cache.pages_per_seq, " pages a sequence has");

  index_t splits = o.num_splits;
  if (splits <= 0) {
    const index_t ctas = m_tiles * cache.batch;
    splits = ctas >= ctx.sm_count ? 1 : std::clamp<index_t>(ctx.sm_count / ctas, 1, max_pages);
  }
  splits = std::clamp<index_t>(splits, 1, max_pages);
  const index_t pages_per_split = (max_pages + splits - 1) / splits;
  splits = (max_pages + pages_per_split - 1) / pages_per_split;

  kernels::mla_decode_params p;
  p.batch = static_cast<int>(cache.batch);
  p.s_q = static_cast<int>(s_q);
  p.heads = static_cast<int>(heads);
  p.rows = static_cast<int>(rows);
  p.pages_per_split = static_cast<int>(pages_per_split);
  p.splits = static_cast<int>(splits);
  p.page_table = cache.page_table;
  p.page_table_stride = cache.pages_per_seq;
  p.seq_lens = cache.seq_lens;
  p.num_pages = static_cast<int>(cache.num_pages);
  p.scale_log2 = o.scale * 1.4426950408889634f;
  p.causal = o.causal;
  p.out = out;
  p.lse = lse;
  p.error_flag = ctx.error_flag;
  if (splits > 1) {
    scratch_plan plan;
    const std::size_t op = plan.add<float>(static_cast<std::size_t>(splits * cache.batch * rows * cfg::head_dim_v));
    const std::size_t lp = plan.add<float>(static_cast<std::size_t>(splits * cache.batch * rows));
    void* scratch = ctx.reserve(plan.bytes);
    p.o_partial = at<float>(scratch, op);
    p.lse_partial = at<float>(scratch, lp);
  }

  const CUtensorMap kv_map = latent_rows_map(cache.pages, cache.num_pages * cfg::page_size, cfg::block_n);
  if (block_m == 16)
    launch_tile<Out, 16>(ctx, kv_map, q, p, cache.batch);
  else if (block_m == 32)
    launch_tile<Out, 32>(ctx, kv_map, q, p, cache.batch);
  else
    launch_tile<Out, 64>(ctx, kv_map, q, p, cache.batch);
  if (splits > 1) {
    kernels::mla_combine<Out><<<dim3(static_cast<unsigned>(rows), static_cast<unsigned>(cache.batch)), 128, 0,
                                ctx.stream>>>(p);
    LATTE_CUDA_LAUNCHED();
  }
}

}  // namespace

void mla_decode(const context& ctx, const bf16* q, index_t s_q, index_t heads, const paged_latent_cache& cache,
                float* out, float* lse, const mla_decode_options& o) {
  launch<float>(ctx, q, s_q, heads, cache, out, lse, o);
}

void mla_decode(const context& ctx, const bf16* q, index_t s_q, index_t heads, const paged_latent_cache& cache,
                bf16* out, float* lse, const mla_decode_options& o) {
  launch<__nv_bfloat16>(ctx, q, s_q, heads, cache, reinterpret_cast<__nv_bfloat16*>(out), lse, o);
}

}  // namespace detail
}  // namespace latte::cuda

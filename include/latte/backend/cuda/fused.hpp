#pragma once
// Entry points of the fused kernels' translation units (flash_attention.cu, mla_decode.cu,
// moe.cu), called by backend.cu. Internal to the CUDA backend.

#include <cstdint>
#include <span>

#include "../../core/bf16.hpp"
#include "../../core/tensor_view.hpp"
#include "../../core/weight_view.hpp"
#include "../options.hpp"
#include "options.hpp"

namespace latte::cuda::detail {

struct context;

void check_error_flag(const context& ctx);

// flash_attention.cu
bool flash_attention_supports(index_t dk, index_t dv) noexcept;
void flash_attention(const context& ctx, dtensor_view<const bf16, 3> q, dtensor_view<const bf16, 3> k,
                     dtensor_view<const bf16, 3> v, dtensor_view<bf16, 3> out, const attention_options& o);
void flash_attention_batched(const context& ctx, const bf16* q, const bf16* k, const bf16* v, bf16* out, index_t batch,
                             index_t tq, index_t tk, index_t hq, index_t hk, index_t d, const attention_options& o);
// The float32 contract on the bf16 kernel: operands rounded to bf16 in scratch.
void flash_attention_f32(const context& ctx, dtensor_view<const float, 3> q, dtensor_view<const float, 3> k,
                         dtensor_view<const float, 3> v, dtensor_view<float, 3> out, const attention_options& o);

// mla_decode.cu
void mla_decode(const context& ctx, const bf16* q, index_t s_q, index_t heads, const paged_latent_cache& cache,
                float* out, float* lse, const mla_decode_options& o);
void mla_decode(const context& ctx, const bf16* q, index_t s_q, index_t heads, const paged_latent_cache& cache,
                bf16* out, float* lse, const mla_decode_options& o);

// moe.cu
void moe_experts(const context& ctx, matrix_view<const float> x, matrix_view<const std::int32_t> experts,
                 matrix_view<const float> weights, std::span<const weight_view> gate, std::span<const weight_view> up,
                 std::span<const weight_view> down, matrix_view<float> y, const moe_experts_options& o);

}  // namespace latte::cuda::detail

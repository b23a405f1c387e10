// The cost model (attention/cost.hpp) for DeepSeek-V3's 671B attention width (SPEC.md sections 1
// and 3): the latent cache of 576 values per token per layer (70,272 B over 61 layers in bf16),
// the naive per-head cache of 40,960 values, GQA with 8 KV heads of 128 at 2,048; FLOPs by the
// documented convention (2 per multiply-accumulate; projections plus attention).

#include <catch2/catch.hpp>

#include <latte/attention/attention.hpp>
#include <latte/backend/cpu/backend.hpp>

using namespace latte;
using namespace latte::attention;

namespace {
using v3_shape = mla_shape<128, 1536, 512, 128, 64, 128>;
constexpr index_t hidden = 7168, layers = 61;
}  // namespace

TEST_CASE("cache bytes per token of the 671B width", "[attention][cost]") {
  constexpr attention_cost latent = mla_cost(v3_shape{}, hidden, absorbed{});
  constexpr attention_cost expanded = mla_cost(v3_shape{}, hidden, naive{});
  constexpr attention_cost gqa8 = gqa_cost(gqa_shape<128, 8, 128>{}, hidden);
  static_assert(latent.cache_values_per_token == 576);
  static_assert(latent.cache_bytes_per_token(dtype::bf16) * layers == 70272);
  static_assert(expanded.cache_values_per_token == 128 * (192 + 128));
  static_assert(expanded.cache_values_per_token == 40960);
  static_assert(gqa8.cache_values_per_token == 2048);
  CHECK(latent.cache_bytes_per_token(dtype::f32) == 2304);
  CHECK(expanded.cache_bytes_per_token(dtype::bf16) * layers == 4997120);
  CHECK(static_cast<double>(expanded.cache_values_per_token) / latent.cache_values_per_token == Approx(71.11).epsilon(1e-3));
  // MLA's cache is that of GQA with 2.25 KV heads of 128 (2.25 x (128 + 128) = 576).
  CHECK(static_cast<double>(latent.cache_values_per_token) / (128 + 128) == 2.25);

  // The modules report the same from their shapes.
  using absorbed_mla = mla<cpu::backend, v3_shape, absorbed>;
  using naive_mla = mla<cpu::backend, v3_shape, naive>;
  static_assert(absorbed_mla::cost(v3_shape{}, hidden).cache_values_per_token == 576);
  static_assert(naive_mla::cost(v3_shape{}, hidden).cache_values_per_token == 40960);
  static_assert(gqa<cpu::backend, gqa_shape<128, 8, 128>>::cost({}, hidden).cache_values_per_token == 2048);
  static_assert(mha<cpu::backend, 128, 128>::cost({}, hidden).cache_values_per_token == 128 * 256);
  static_assert(mqa<cpu::backend, 128, 128>::cost({}, hidden).cache_values_per_token == 256);
}

TEST_CASE("FLOPs per token of the 671B width", "[attention][cost]") {
  constexpr attention_cost latent = mla_cost(v3_shape{}, hidden, absorbed{});
  constexpr attention_cost expanded = mla_cost(v3_shape{}, hidden, naive{});
  // Attention per cached token: absorbed 2 x 128 x (576 + 512) (PERF.md), naive 2 x 128 x (192 + 128).
  static_assert(latent.attention_macs_per_key == 128 * (576 + 512));
  static_assert(expanded.attention_macs_per_key == 128 * (192 + 128));
  // Projections shared by both: q_a 7168 x 1536, q_b 1536 x 24576, kv_a 7168 x 576, o 16384 x 7168.
  constexpr index_t shared = 7168 * 1536 + 1536 * 128 * 192 + 7168 * 576 + 128 * 128 * 7168;
  static_assert(expanded.projection_macs_per_token == shared + 512 * 128 * 256);  // kv_b expands each new token
  static_assert(latent.projection_macs_per_token == shared + 128 * 512 * (128 + 128));  // W_UK and W_UV absorbed
  // The per-layer weight count of SPEC.md section 7 less the norms: every weight is used once per token.
  static_assert(expanded.projection_macs_per_token == 187107328 - 1536 - 512);

  CHECK(latent.decode_flops(4096) == 2.0 * (latent.projection_macs_per_token + 4096.0 * 128 * 1088));
  CHECK(latent.prefill_flops(4) == 2.0 * (4.0 * latent.projection_macs_per_token + (1 + 2 + 3 + 4) * 128.0 * 1088));
  CHECK(latent.prefill_flops_per_token(4) == latent.prefill_flops(4) / 4);

  // GQA-8 with head dim 128: q 7168 x 16384, k and v 7168 x 1024 each, o 16384 x 7168.
  constexpr attention_cost gqa8 = gqa_cost(gqa_shape<128, 8, 128>{}, hidden);
  static_assert(gqa8.projection_macs_per_token == 7168 * 16384 + 2 * 7168 * 1024 + 16384 * 7168);
  static_assert(gqa8.attention_macs_per_key == 128 * 256);
}

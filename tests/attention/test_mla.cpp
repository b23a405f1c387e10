// MLA's two forms (SPEC.md section 3) against each other and against the float64 reference, on
// random non-zero weights: f32, bf16 and fp8 with block scales; with and without q_lora;
// v_head_dim != qk_nope_head_dim; both rope layouts; three sequences of different lengths through
// a batched prefill, a chunked prefill and decode steps. The naive form also agrees with the GQA
// attention primitive fed the same expanded keys and values, and both caches hold what the
// equations say.

#include <catch2/catch.hpp>

#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include <latte/attention/gqa.hpp>
#include <latte/attention/mla.hpp>
#include <latte/backend/cpu/backend.hpp>
#include <latte/core/bf16.hpp>
#include <latte/core/error.hpp>
#include <latte/core/fp8_e4m3.hpp>
#include <latte/reference/mla.hpp>

#include "scenario.hpp"

using namespace latte;
using namespace latte::attention;
using namespace attention_test;

namespace {

using dynamic_mla_shape =
    mla_shape<dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent>;

struct case_config {
  index_t heads = 6, q_lora = 40, kv_lora = 48, nope = 24, rope = 16, v = 20, hidden = 64;
  rope_layout layout = rope_layout::interleaved_pairs;
  index_t block = 16;  // fp8 block size
};

template <class Storage>
const char* storage_name() {
  if constexpr (std::is_same_v<Storage, float>) return "f32";
  else if constexpr (std::is_same_v<Storage, bf16>) return "bf16";
  else return "fp8";
}

// Runs both forms on one plan with the same inputs; checks them against each other, against the
// reference, the caches against the reference's intermediates, and the naive cache through the
// GQA primitive.
template <class Storage>
void check_forms(const case_config& c, const step_plan& plan) {
  const dynamic_mla_shape shape(c.heads, c.q_lora, c.kv_lora, c.nope, c.rope, c.v);
  random_source rng(2024);
  const mla_layer_weights<Storage> weights(rng, shape, c.hidden, c.block);
  const mla_options options{0.0f, 1e-6f, c.layout};
  const cpu::backend backend{};
  const mla<cpu::backend, dynamic_mla_shape, naive> naive_layer(backend, shape, weights.w, options);
  const mla<cpu::backend, dynamic_mla_shape, absorbed> absorbed_layer(backend, shape, weights.w, options);

  std::vector<kv_cache<cpu::backend>> naive_caches;
  std::vector<latent_cache<cpu::backend>> latent_caches;
  random_source inputs_a(5), inputs_b(5);
  const scenario_result by_naive = run_scenario(naive_layer, c.rope, plan, inputs_a, naive_caches);
  const scenario_result by_absorbed = run_scenario(absorbed_layer, c.rope, plan, inputs_b, latent_caches);
  REQUIRE(by_naive.inputs == by_absorbed.inputs);

  std::vector<reference::mla_intermediates> keep(by_naive.inputs.size());
  std::size_t next = 0;
  const auto want = reference_outputs(by_naive, c.hidden, c.rope,
                                      [&](matrix_view<const float> x, dtensor_view<const float, 3> cs, matrix_view<double> out) {
                                        reference::mla_forward(shape, weights.w, options, x, cs, out, &keep[next++]);
                                      });
  const double forms = worst_error(by_absorbed.outputs, std::vector<std::vector<float>>(by_naive.outputs));
  const double naive_error = worst_error(by_naive.outputs, want);
  const double absorbed_error = worst_error(by_absorbed.outputs, want);

  // Caches: naive K = [k_nope_i | k_rope], V = v_i; latent rows = [c_kv | k_rope].
  double naive_cache = 0.0, latent_cache_error = 0.0, primitive = 0.0;
  const index_t h = c.heads, qk = c.nope + c.rope;
  for (std::size_t s = 0; s < keep.size(); ++s) {
    const index_t n = by_naive.lengths[s];
    const auto& cache = naive_caches[s];
    REQUIRE(cache.size() == n);
    const std::vector<float> k(cache.keys().data(), cache.keys().data() + n * h * qk);
    const std::vector<float> v(cache.values().data(), cache.values().data() + n * h * c.v);
    naive_cache = std::max({naive_cache, relative_error(k, keep[s].k), relative_error(v, keep[s].v)});

    std::vector<double> latent_want(static_cast<std::size_t>(n * (c.kv_lora + c.rope)));
    for (index_t t = 0; t < n; ++t) {
      for (index_t j = 0; j < c.kv_lora; ++j)
        latent_want[static_cast<std::size_t>(t * (c.kv_lora + c.rope) + j)] = keep[s].c_kv[static_cast<std::size_t>(t * c.kv_lora + j)];
      for (index_t j = 0; j < c.rope; ++j)
        latent_want[static_cast<std::size_t>(t * (c.kv_lora + c.rope) + c.kv_lora + j)] =
            keep[s].k[static_cast<std::size_t>(t * h * qk + c.nope + j)];
    }
    const auto rows = latent_caches[s].rows();
    const std::vector<float> latent(rows.data(), rows.data() + n * (c.kv_lora + c.rope));
    latent_cache_error = std::max(latent_cache_error, relative_error(latent, latent_want));

    // GQA with heads == kv_heads over the naive cache, queries from the reference.
    using dynamic_gqa = gqa<cpu::backend, gqa_shape<dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent>>;
    const dynamic_gqa core(backend, gqa_shape<dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent>(h, h, qk, c.v),
                           gqa_options{naive_layer.softmax_scale()});
    const std::vector<float> q(keep[s].q.begin(), keep[s].q.end());
    std::vector<float> o(static_cast<std::size_t>(n * h * c.v));
    core.attend(dtensor_view<const float, 3>(q.data(), dextents<3>(n, h, qk)), cache,
                dtensor_view<float, 3>(o.data(), dextents<3>(n, h, c.v)));
    primitive = std::max(primitive, relative_error(o, keep[s].o));
  }

  std::printf("mla %-4s q_lora %-2lld %-11s: absorbed vs naive %.2e, naive %.2e, absorbed %.2e vs float64; caches %.2e / %.2e; "
              "GQA primitive on the naive cache %.2e\n",
              storage_name<Storage>(), static_cast<long long>(c.q_lora),
              c.layout == rope_layout::interleaved_pairs ? "interleaved" : "halves", forms, naive_error, absorbed_error,
              naive_cache, latent_cache_error, primitive);
  CHECK(forms <= 1e-5);
  CHECK(naive_error <= 1e-5);
  CHECK(absorbed_error <= 1e-5);
  CHECK(naive_cache <= 1e-5);
  CHECK(latent_cache_error <= 1e-5);
  CHECK(primitive <= 1e-5);
}

template <class Storage>
void check_grid() {
  for (const index_t q_lora : {index_t{40}, index_t{0}})
    for (const rope_layout layout : {rope_layout::interleaved_pairs, rope_layout::halves}) {
      case_config c;
      c.q_lora = q_lora;
      c.layout = layout;
      check_forms<Storage>(c, default_plan());
    }
}

}  // namespace

TEST_CASE("MLA naive and absorbed agree with each other and the reference: f32 weights", "[attention][mla]") {
  check_grid<float>();
}

TEST_CASE("MLA naive and absorbed agree with each other and the reference: bf16 weights", "[attention][mla]") {
  check_grid<bf16>();
}

TEST_CASE("MLA naive and absorbed agree with each other and the reference: fp8 weights with block scales",
          "[attention][mla]") {
  check_grid<fp8_e4m3>();
  // Blocks of 128 as in the checkpoints: every matrix here is one partial block.
  case_config c;
  c.block = 128;
  check_forms<fp8_e4m3>(c, default_plan());
}

TEST_CASE("MLA forms agree over long chunked prefills and many decode steps", "[attention][mla]") {
  case_config c;
  c.heads = 8;
  c.kv_lora = 64;
  c.nope = 16;
  c.v = 32;
  c.rope = 8;
  // Chunks of 30, 17 and 1 tokens; then ten decode steps.
  step_plan plan{{30, 12, 2}, {17, 40, 1}, {1, 30, 9}};
  for (int i = 0; i < 10; ++i) plan.push_back({1, 1, 1});
  check_forms<bf16>(c, plan);
}

TEST_CASE("MLA refuses weights of the wrong shape, naming them", "[attention][mla]") {
  const dynamic_mla_shape shape(4, 24, 32, 16, 8, 12);
  random_source rng(1);
  mla_layer_weights<float> weights(rng, shape, 48, 128);
  const cpu::backend backend{};
  using absorbed_mla = mla<cpu::backend, dynamic_mla_shape, absorbed>;
  CHECK_NOTHROW(absorbed_mla(backend, shape, weights.w));

  mla_weights bad = weights.w;
  bad.kv_b_proj = weights.w.kv_b_proj.row_range(0, 4 * 27);
  CHECK_THROWS_WITH(absorbed_mla(backend, shape, bad), Catch::Contains("kv_b_proj is [108, 32], expected [112, 32]"));
  bad = weights.w;
  bad.o_proj = weights.w.o_proj.col_range(0, 40);
  CHECK_THROWS_WITH(absorbed_mla(backend, shape, bad), Catch::Contains("o_proj is [48, 40], expected [48, 48]"));
  bad = weights.w;
  bad.q_a_layernorm = weight_view{};
  CHECK_THROWS_WITH(absorbed_mla(backend, shape, bad), Catch::Contains("q_a_layernorm"));

  // Without q_lora the query projection is q_b_proj = q_proj [heads * qk, hidden]; a stray
  // q_a_proj is an error.
  const dynamic_mla_shape no_lora(4, 0, 32, 16, 8, 12);
  CHECK_THROWS_WITH(absorbed_mla(backend, no_lora, weights.w), Catch::Contains("q_a_proj is given but q_lora_rank is 0"));
  bad = weights.w;
  bad.q_a_proj = weight_view{};
  bad.q_a_layernorm = weight_view{};
  CHECK_THROWS_WITH(absorbed_mla(backend, no_lora, bad), Catch::Contains("q_proj (q_b_proj without q_lora) is [96, 24], expected [96, 48]"));
}

TEST_CASE("MLA checks its inputs and caches", "[attention][mla]") {
  const dynamic_mla_shape shape(4, 24, 32, 16, 8, 12);
  random_source rng(1);
  mla_layer_weights<float> weights(rng, shape, 48, 128);
  const cpu::backend backend{};
  const mla<cpu::backend, dynamic_mla_shape, absorbed> layer(backend, shape, weights.w);
  const mla<cpu::backend, dynamic_mla_shape, naive> naive_layer(backend, shape, weights.w);
  std::vector<float> x(2 * 48, 1.0f), out(2 * 48);
  const std::vector<float> table = rope_table(std::vector<index_t>{0, 1}, 8);
  const std::vector<sequence_chunk> chunks{{0, 2}};
  const dtensor_view<const float, 3> cs(table.data(), dextents<3>(2, 4, 2));

  latent_cache<cpu::backend> wrong(backend, 8, 16, 8);
  std::vector<latent_cache<cpu::backend>*> caches{&wrong};
  CHECK_THROWS_WITH(layer.forward(make_matrix_view<const float>(x.data(), 2, 48), cs, chunks,
                                  std::span<latent_cache<cpu::backend>* const>(caches), make_matrix_view(out.data(), 2, 48)),
                    Catch::Contains("latent cache of 16 + 8, the layer needs 32 + 8"));
  auto naive_cache = naive_layer.make_cache(8);
  CHECK(naive_cache.kv_heads() == 4);
  CHECK(naive_cache.key_dim() == 24);
  CHECK(naive_cache.value_dim() == 12);

  auto good = layer.make_cache(8);
  caches = {&good};
  CHECK_THROWS_WITH(layer.forward(make_matrix_view<const float>(x.data(), 2, 48),
                                  dtensor_view<const float, 3>(table.data(), dextents<3>(2, 2, 2)), chunks,
                                  std::span<latent_cache<cpu::backend>* const>(caches), make_matrix_view(out.data(), 2, 48)),
                    Catch::Contains("cos_sin is [2, 2, 2], expected [2, 4, 2]"));
  CHECK_THROWS_WITH(layer.forward(make_matrix_view<const float>(x.data(), 2, 48), cs, chunks,
                                  std::span<latent_cache<cpu::backend>* const>(caches), make_matrix_view(out.data(), 2, 48),
                                  std::span<float>(out)),
                    Catch::Contains("workspace of 96 floats"));
  CHECK(good.size() == 0);
}

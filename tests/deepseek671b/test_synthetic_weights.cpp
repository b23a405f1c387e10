// synthetic_weights: deterministic per (seed, name), independent of the thread count, scaled as
// documented, stored as the checkpoint layouts store them, and held within its memory budget
// (least recently released evicted first; a tensor that cannot fit is refused by name).

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <latte/io/fp8_block.hpp>
#include <latte/io/hub_config.hpp>
#include <latte/model/presets.hpp>
#include <latte/model/synthetic_weights.hpp>

using Catch::Matchers::Contains;
using latte::index_t;
using latte::weight_view;
namespace model = latte::model;
namespace names = latte::model::names;

namespace {

model::config tiny() {
  static const model::config c = latte::io::load_config(std::string(LATTE_TEST_DATA_DIR) + "/dsv3-tiny");
  return c;
}

std::vector<float> values(const weight_view& w) {
  const latte::host_buffer<float> f = latte::io::dequantize(w);
  return {f.begin(), f.end()};
}

std::vector<unsigned char> raw(const weight_view& w) {
  const auto* p = static_cast<const unsigned char*>(w.data);
  return {p, p + w.rows * w.cols * static_cast<index_t>(latte::size_of(w.type))};
}

struct moments {
  double mean = 0, std = 0, min = 1e30, max = -1e30;
};
moments moments_of(const std::vector<float>& v) {
  moments m;
  double sum = 0, square = 0;
  for (float x : v) {
    sum += x;
    square += static_cast<double>(x) * x;
    m.min = std::min<double>(m.min, x);
    m.max = std::max<double>(m.max, x);
  }
  m.mean = sum / static_cast<double>(v.size());
  m.std = std::sqrt(square / static_cast<double>(v.size()) - m.mean * m.mean);
  return m;
}

}  // namespace

TEST_CASE("synthetic tensors depend on the seed and the name only", "[deepseek671b][synthetic]") {
  const std::string q_b = names::attn(1, "q_b_proj");
  model::synthetic_weights one(tiny(), {.seed = 7, .threads = 1});
  model::synthetic_weights two(tiny(), {.seed = 7, .threads = 2});
  model::synthetic_weights other(tiny(), {.seed = 8, .threads = 2});
  const weight_view a = one.get(q_b, 8 * 48, 96);
  CHECK(a.type == latte::dtype::bf16);
  CHECK(raw(a) == raw(two.get(q_b, 8 * 48, 96)));
  CHECK(raw(a) != raw(other.get(q_b, 8 * 48, 96)));
  CHECK(raw(a) != raw(one.get(names::attn(2, "q_b_proj"), 8 * 48, 96)));
  // Made again after eviction, a tensor is the same.
  const std::vector<unsigned char> first = raw(a);
  one.release(q_b);
  one.trim();
  CHECK(one.statistics().tensors_held == 1);
  CHECK(raw(one.get(q_b, 8 * 48, 96)) == first);
}

TEST_CASE("synthetic tensors have the documented scales", "[deepseek671b][synthetic]") {
  model::synthetic_weights w(model::deepseek_v3_671b::make_config(), {.seed = 1});
  // A linear weight [out, in]: mean 0, std 1 / sqrt(in), within +-sqrt(6 / in).
  const moments expert = moments_of(values(w.get(names::expert(3, 17, "down_proj"), 7168, 2048)));
  CHECK(std::fabs(expert.mean) < 1e-4);
  CHECK(expert.std == Approx(1.0 / std::sqrt(2048.0)).epsilon(0.01));
  CHECK(expert.max <= std::sqrt(6.0 / 2048) * 1.004);
  const moments kv_a = moments_of(values(w.get(names::attn(0, "kv_a_proj_with_mqa"), 576, 7168)));
  CHECK(kv_a.std == Approx(1.0 / std::sqrt(7168.0)).epsilon(0.01));
  // Norms in [0.9, 1.1] (to bf16 rounding, steps of 1/128 near 1), the selection bias small and f32.
  const moments norm = moments_of(values(w.get(names::input_norm(5), 1, 7168)));
  CHECK(norm.min >= 0.9 - 1.0 / 256);
  CHECK(norm.max <= 1.1 + 1.0 / 256);
  CHECK(norm.mean == Approx(1.0).epsilon(0.002));
  const weight_view bias = w.get(names::gate_bias(5), 1, 256);
  CHECK(bias.type == latte::dtype::f32);
  const moments b = moments_of(values(bias));
  CHECK(b.min >= -0.05);
  CHECK(b.max <= 0.05);
  CHECK(b.std > 0.01);
}

TEST_CASE("fp8 synthetic weights carry 128 x 128 block scales where the fp8 layout has them",
          "[deepseek671b][synthetic]") {
  const model::config c = model::deepseek_v3_671b::make_config();
  model::synthetic_weights w(c, {.seed = 3, .format = model::weight_format::fp8_blocks});
  const weight_view q_a = w.get(names::attn(0, "q_a_proj"), 1536, 7168);
  REQUIRE(q_a.type == latte::dtype::f8_e4m3);
  REQUIRE(q_a.has_block_scales());
  CHECK(q_a.scale_cols == 56);
  CHECK(q_a.block == 128);
  // The 12 x 56 scales vary by block around sqrt(6 / 7168) / 448.
  const float base = std::sqrt(6.0f / 7168.0f) / 448.0f;
  float lowest = 1e30f, highest = 0;
  for (int i = 0; i < 12 * 56; ++i) {
    lowest = std::min(lowest, q_a.scale_inv[i]);
    highest = std::max(highest, q_a.scale_inv[i]);
  }
  CHECK(lowest >= 0.75f * base);
  CHECK(highest < 1.25f * base);
  CHECK(highest > 1.1f * base);
  const moments m = moments_of(values(q_a));
  CHECK(std::isfinite(m.std));
  CHECK(m.std == Approx(1.0 / std::sqrt(7168.0)).epsilon(0.06));
  // No NaN codes.
  const auto* codes = static_cast<const unsigned char*>(q_a.data);
  bool nan = false;
  for (index_t i = 0; i < 1536 * 7168; ++i) nan = nan || (codes[i] & 0x7f) == 0x7f;
  CHECK_FALSE(nan);
  // Norms, the router gate and the embedding stay bf16 in the fp8 layout, the bias f32.
  CHECK(w.get(names::attn(0, "q_a_layernorm"), 1, 1536).type == latte::dtype::bf16);
  CHECK(w.get(names::gate(3), 256, 7168).type == latte::dtype::bf16);
  CHECK(w.get(names::gate_bias(3), 1, 256).type == latte::dtype::f32);
  CHECK(w.get(names::expert(3, 0, "up_proj"), 2048, 7168).type == latte::dtype::f8_e4m3);
  CHECK(w.statistics().bytes_held == std::size_t{1536 * 7168 + 12 * 56 * 4 + 1536 * 2 + 256 * 7168 * 2 + 256 * 4 +
                                                 2048 * 7168 + 16 * 56 * 4});
}

TEST_CASE("the MTP module's copies of the embedding and head equal the originals", "[deepseek671b][synthetic]") {
  model::config c = tiny();
  c.num_nextn_predict_layers = 1;
  model::synthetic_weights w(c, {.seed = 11});
  CHECK(w.contains("model.layers.4.eh_proj.weight"));
  CHECK(raw(w.get("model.layers.4.embed_tokens.weight", 1024, 256)) == raw(w.get(names::embed, 1024, 256)));
  CHECK(raw(w.get("model.layers.4.shared_head.head.weight", 1024, 256)) == raw(w.get(names::lm_head, 1024, 256)));
  CHECK(raw(w.get("model.layers.4.eh_proj.weight", 256, 512)) != raw(w.get(names::attn(0, "o_proj"), 256, 256)));
  model::synthetic_weights without(c, {.seed = 11, .include_mtp = false});
  CHECK_FALSE(without.contains("model.layers.4.eh_proj.weight"));
}

TEST_CASE("unknown tensors and wrong shapes are refused by name", "[deepseek671b][synthetic]") {
  model::synthetic_weights w(tiny());
  CHECK_THROWS_WITH(w.get("model.layers.9.mlp.gate.weight", 16, 256),
                    Contains("no tensor 'model.layers.9.mlp.gate.weight'"));
  CHECK_THROWS_WITH(w.get(names::attn(0, "o_proj"), 256, 128),
                    Contains("'model.layers.0.self_attn.o_proj.weight' is [256, 256], expected [256, 128]"));
  CHECK_FALSE(w.contains(names::attn(0, "q_proj")));
  CHECK(w.contains(names::attn(0, "q_a_proj")));
  // Releasing what was never made is harmless.
  w.release(names::attn(0, "q_proj"));
  w.release(names::attn(0, "o_proj"));
  CHECK(w.statistics().tensors_held == 0);
}

TEST_CASE("the memory budget is never exceeded; released tensors go least recently released first",
          "[deepseek671b][synthetic]") {
  // Experts of the tiny model: gate/up [64, 256] and down [256, 64], 32 KiB each in bf16.
  const std::size_t expert_bytes = 64 * 256 * 2;
  model::synthetic_weights w(tiny(), {.seed = 5, .memory_budget = 3 * expert_bytes});
  auto expert = [](index_t e) { return names::expert(1, e, "gate_proj"); };
  for (index_t e = 0; e < 3; ++e) w.get(expert(e), 64, 256);
  CHECK(w.statistics().bytes_held == 3 * expert_bytes);
  // Nothing released: a fourth cannot fit beside the three in use.
  CHECK_THROWS_WITH(w.get(expert(3), 64, 256),
                    Contains("'model.layers.1.mlp.experts.3.gate_proj.weight'") &&
                        Contains("memory budget of 98304 bytes"));
  w.release(expert(1));
  w.release(expert(0));
  // Expert 1 was released first: it makes room (its buffer is reused), expert 0 stays.
  w.get(expert(3), 64, 256);
  CHECK(w.statistics().evictions == 1);
  CHECK(w.statistics().buffers_reused == 1);
  const index_t made = w.statistics().tensors_generated;
  w.get(expert(0), 64, 256);  // still held: a hit
  CHECK(w.statistics().tensors_generated == made);
  CHECK(w.statistics().cache_hits == 1);
  // Expert 1 is gone and 0, 2, 3 are in use: refused.
  CHECK_THROWS_WITH(w.get(expert(1), 64, 256), Contains("beside 98304 bytes of tensors in use"));
  w.release(expert(2));
  w.release(expert(3));
  // A smaller tensor evicts the oldest released (expert 2) without reusing its buffer.
  w.get(names::attn(1, "kv_a_layernorm"), 1, 64);
  CHECK(w.statistics().evictions == 2);
  CHECK(w.statistics().buffers_reused == 1);
  CHECK(w.statistics().bytes_held == 2 * expert_bytes + 64 * 2);
  CHECK(w.statistics().bytes_in_use == expert_bytes + 64 * 2);
  CHECK(w.statistics().peak_bytes_held <= 3 * expert_bytes);
  w.trim();
  CHECK(w.statistics().bytes_held == w.statistics().bytes_in_use);
}

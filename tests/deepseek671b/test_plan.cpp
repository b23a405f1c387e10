// The plan of the 671B preset reproduces SPEC.md section 7 exactly, and the plan of the tiny
// model names exactly the tensors (shapes, element types, bytes) of its checkpoints.

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <string>

#include <latte/io/checkpoint.hpp>
#include <latte/io/hub_config.hpp>
#include <latte/model/plan.hpp>
#include <latte/model/presets.hpp>

using latte::index_t;
using latte::model::make_plan;
using latte::model::model_plan;

namespace {
const latte::model::config& full() {
  static const latte::model::config c = latte::model::deepseek_v3_671b::make_config();
  return c;
}
}  // namespace

TEST_CASE("671B: parameters per component are SPEC.md section 7's", "[deepseek671b][plan]") {
  const model_plan p = make_plan(full());
  const auto& u = p.per_unit;
  CHECK(p.layers == 61);
  CHECK(p.dense_layers == 3);
  CHECK(p.moe_layers == 58);
  CHECK(p.routed_experts == 256);
  CHECK(p.shared_experts == 1);
  CHECK(p.experts_per_token == 8);
  CHECK(u.attention == 187'107'328);  // q_a 11.01M, q_b 37.75M, kv_a 4.13M, kv_b 16.78M, o 117.44M, 2 norms
  CHECK(u.attention_norms == 1536 + 512);
  CHECK(u.layer_norms == 2 * 7168);
  CHECK(u.dense_mlp == 396'361'728);
  CHECK(u.routed_expert == 44'040'192);
  CHECK(u.shared_experts == 44'040'192);
  CHECK(u.router == 1'835'264);
  CHECK(u.embedding == 926'679'040);
  CHECK(u.lm_head == 926'679'040);
  CHECK(u.final_norm == 7168);
}

TEST_CASE("671B: the main model holds exactly 671,026,419,200 parameters", "[deepseek671b][plan]") {
  const model_plan p = make_plan(full());
  CHECK(p.total_params == 671'026'419'200);
  // The same sum written out from the components.
  const auto& u = p.per_unit;
  CHECK(p.total_params == 61 * (u.attention + u.layer_norms) + 3 * u.dense_mlp +
                              58 * (u.router + u.shared_experts + 256 * u.routed_expert) + u.embedding + u.lm_head +
                              u.final_norm);
  // Tensors: per layer 2 norms + 7 attention; dense 3; MoE gate, bias, 3 x 256 experts, 3 shared.
  CHECK(p.tensors == 2 + 1 + 61 * 9 + 3 * 3 + 58 * (2 + 3 * 256 + 3));
}

TEST_CASE("671B: activated parameters per token, embedding included, are about 37.55 B", "[deepseek671b][plan]") {
  const model_plan p = make_plan(full());
  // Embedding counted whole; attention, norms, dense MLPs, router + shared + top-8 experts, head.
  CHECK(p.activated_params == 37'552'297'472);
  CHECK(std::round(static_cast<double>(p.activated_params) / 1e7) / 100.0 == Approx(37.55));
  CHECK(p.activated_params_without_embedding == p.activated_params - 926'679'040);
}

TEST_CASE("671B: the MTP module adds about 11.61 B unique parameters", "[deepseek671b][plan]") {
  const model_plan p = make_plan(full());
  CHECK(p.mtp_modules == 1);
  // One MoE decoder layer + enorm + hnorm + eh_proj [7168, 14336] + shared_head.norm.
  const index_t layer = 187'107'328 + 2 * 7168 + 1'835'264 + index_t{257} * 44'040'192;
  CHECK(p.per_unit.mtp_extra == 3 * 7168 + 7168 * 14336);
  CHECK(p.mtp_params == layer + 3 * 7168 + 7168 * 14336);
  CHECK(p.mtp_params == 11'610'068'224);
  CHECK(std::round(static_cast<double>(p.mtp_params) / 1e7) / 100.0 == Approx(11.61));
  // The checkpoint also stores its own copies of the embedding and the head: the hub's "685B".
  CHECK(p.mtp_params_stored == p.mtp_params + 2 * 926'679'040);
  CHECK(std::round(static_cast<double>(p.total_params + p.mtp_params_stored) / 1e9) == 684.0);
}

TEST_CASE("671B: the latent cache is 70,272 bytes per token in bf16", "[deepseek671b][plan]") {
  const model_plan p = make_plan(full());
  CHECK(p.kv_bytes_per_token == 70'272);
  REQUIRE(p.caches.size() == 5);
  CHECK(p.caches[0].values_per_layer == 576);
  CHECK(p.caches[1].values_per_layer == 40'960);  // naive: 128 x (192 + 128), 71x more
  CHECK(p.caches[2].values_per_layer == 128 * 256);
  CHECK(p.caches[3].values_per_layer == 2'048);   // GQA, 8 KV heads of 128
  CHECK(p.caches[4].values_per_layer == 256);
  CHECK(p.caches[3].bytes_per_token == 2'048 * 61 * 2);

  latte::model::plan_options o;
  o.context = 32768;
  o.batch = 4;
  const model_plan q = make_plan(full(), o);
  CHECK(q.cache_bytes == std::size_t{4} * 32768 * 70'272);
  CHECK(q.memory_fp8 == q.fp8_bytes + q.cache_bytes);
}

TEST_CASE("671B: weight bytes in bf16 and in fp8 with block scales", "[deepseek671b][plan]") {
  const model_plan p = make_plan(full());
  // bf16: 2 bytes a parameter, the f32 selection bias 4.
  CHECK(p.bf16_bytes == 2 * static_cast<std::size_t>(p.total_params) + 2 * 58 * 256);
  // fp8: 1 byte a quantised parameter + its scales; embedding, head, norms and gate in bf16.
  const std::size_t bf16_params = 2 * 926'679'040 + 7168 + 61 * (2 * 7168 + 1536 + 512) + 58 * 256 * 7168;
  const std::size_t fp8_params = static_cast<std::size_t>(p.total_params) - bf16_params - 58 * 256;
  CHECK(p.fp8_bytes == fp8_params + 2 * bf16_params + 4 * 58 * 256 + p.fp8_scale_bytes);
  // Scales of one layer's attention: q_a [12, 56], q_b [192, 12], kv_a [5, 56], kv_b [256, 4], o [56, 128].
  const std::size_t attention_scales = 12 * 56 + 192 * 12 + 5 * 56 + 256 * 4 + 56 * 128;
  const std::size_t dense_scales = 3 * 144 * 56, expert_scales = 3 * 16 * 56;
  CHECK(p.fp8_scale_bytes == 4 * (61 * attention_scales + 3 * dense_scales + 58 * 257 * expert_scales));
  // SPEC.md section 8: about 671 GB in fp8, about 1.34 TB in bf16.
  CHECK(std::round(static_cast<double>(p.bf16_bytes) / 1e10) / 100.0 == Approx(1.34));
  CHECK(static_cast<double>(p.fp8_bytes) / 1e9 == Approx(671.0).epsilon(0.01));
}

TEST_CASE("671B: FLOPs per token follow the attention cost model and 2 x the activated weights",
          "[deepseek671b][plan]") {
  latte::model::plan_options o;
  o.context = 1;
  const model_plan p = make_plan(full(), o);
  // With one key, decode = prefill of one token.
  CHECK(p.decode_flops_per_token == Approx(p.prefill_flops_per_token));
  // Linear layers: 2 x the activated weights without embedding, norms and bias (the absorbed
  // form's W_UK / W_UV products per head cost what kv_b_proj holds), and the two attention
  // products over one key.
  const double norms = 61 * (2 * 7168 + 2048) + 7168 + 58 * 256;
  const double products = 61.0 * 128 * (576 + 512);
  CHECK(p.decode_flops_per_token ==
        Approx(2.0 * (static_cast<double>(p.activated_params_without_embedding) - norms + products)));
  o.context = 4096;
  const model_plan q = make_plan(full(), o);
  CHECK(q.decode_flops_per_token - p.decode_flops_per_token == Approx(2.0 * 4095 * 61 * 128 * (576 + 512)));
  CHECK(q.prefill_flops_per_token < q.decode_flops_per_token);
}

TEST_CASE("the plan's JSON carries the headline keys", "[deepseek671b][plan]") {
  const nlohmann::json j = latte::model::to_json(make_plan(full()));
  CHECK(j.at("total_params").get<index_t>() == 671'026'419'200);
  CHECK(j.at("mtp_params").get<index_t>() == 11'610'068'224);
  CHECK(j.at("activated_params").get<index_t>() == 37'552'297'472);
  CHECK(j.at("kv_bytes_per_token").get<index_t>() == 70'272);
  CHECK(j.at("layers").get<index_t>() == 61);
  CHECK(j.at("routed_experts").get<index_t>() == 256);
}

TEST_CASE("bad plan options are refused, naming the option", "[deepseek671b][plan]") {
  latte::model::plan_options o;
  o.context = 0;
  CHECK_THROWS_WITH(make_plan(full(), o), Catch::Contains("context must be positive"));
  o.context = 1;
  o.batch = -1;
  CHECK_THROWS_WITH(make_plan(full(), o), Catch::Contains("batch must be positive"));
}

// The plan of the tiny model against the tensors its checkpoints actually store.
namespace {
struct stored {
  std::vector<index_t> shape;
  latte::dtype type;
  std::size_t bytes;
};
std::map<std::string, stored> read_tensors(const std::string& folder) {
  const auto file = latte::io::safetensors_file::open(std::string(LATTE_TEST_DATA_DIR) + "/" + folder +
                                                      "/model.safetensors");
  std::map<std::string, stored> out;
  for (const auto& t : file.tensors()) out[t.name] = {t.shape, t.type, t.bytes};
  return out;
}
}  // namespace

TEST_CASE("tiny model: the plan's tensors are the bf16 checkpoint's, shape for shape", "[deepseek671b][plan]") {
  const latte::model::config c = latte::io::load_config(std::string(LATTE_TEST_DATA_DIR) + "/dsv3-tiny");
  const auto tensors = latte::model::model_tensors(c);
  const auto actual = read_tensors("dsv3-tiny");
  CHECK(tensors.size() == actual.size());
  index_t params = 0;
  std::size_t bytes = 0;
  for (const auto& t : tensors) {
    INFO(t.name);
    const auto found = actual.find(t.name);
    REQUIRE(found != actual.end());
    CHECK(found->second.shape == t.shape());
    CHECK(found->second.type == latte::model::storage_type(t.role, latte::model::weight_format::bf16));
    params += t.params();
    bytes += found->second.bytes;
  }
  const model_plan p = make_plan(c);
  CHECK(p.tensors == static_cast<index_t>(actual.size()));
  CHECK(p.total_params == params);
  CHECK(p.bf16_bytes == bytes);
  CHECK(p.layers == 4);
  CHECK(p.moe_layers == 3);
  CHECK(p.kv_bytes_per_token == (64 + 16) * 4 * 2);
}

TEST_CASE("tiny model: the fp8 layout is the fp8 checkpoint's, scales and bytes included", "[deepseek671b][plan]") {
  const latte::model::config c = latte::io::load_config(std::string(LATTE_TEST_DATA_DIR) + "/dsv3-tiny-fp8");
  REQUIRE(c.quantization.enabled);
  const auto actual = read_tensors("dsv3-tiny-fp8");
  std::size_t expected_count = 0;
  for (const auto& t : latte::model::model_tensors(c)) {
    INFO(t.name);
    const auto found = actual.find(t.name);
    REQUIRE(found != actual.end());
    ++expected_count;
    const latte::dtype type = latte::model::storage_type(t.role, latte::model::weight_format::fp8_blocks);
    CHECK(found->second.type == type);
    CHECK(found->second.shape == t.shape());
    const bool quantised = type == latte::dtype::f8_e4m3;
    CHECK(quantised == latte::model::is_fp8_quantized(t.role));
    if (quantised) {
      const auto scale = actual.find(t.name + "_scale_inv");
      REQUIRE(scale != actual.end());
      ++expected_count;
      CHECK(scale->second.type == latte::dtype::f32);
      CHECK(scale->second.shape == std::vector<index_t>{t.scale_rows(128), t.scale_cols(128)});
      CHECK(t.stored_bytes(latte::model::weight_format::fp8_blocks) == found->second.bytes + scale->second.bytes);
    } else {
      CHECK(t.stored_bytes(latte::model::weight_format::fp8_blocks) == found->second.bytes);
    }
  }
  CHECK(expected_count == actual.size());
  std::size_t bytes = 0;
  for (const auto& [name, t] : actual) bytes += t.bytes;
  CHECK(make_plan(c).fp8_bytes == bytes);
}

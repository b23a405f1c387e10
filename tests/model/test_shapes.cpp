// Checkpoints of other shapes run through the same code with no change: no query compression,
// softmax routing without groups or bias (V2-Lite style), plain RoPE in the halves layout, other
// group counts, no shared experts, v_head_dim != qk_nope_head_dim, a dense-only model, fp8 and
// f32 storage. Each is compared, absorbed and naive, with the float64 reference decoder.

#include <catch2/catch.hpp>

#include <latte/backend/cpu/backend.hpp>
#include <latte/model/deepseek_v3.hpp>
#include <latte/reference/decoder.hpp>

#include "oracle.hpp"
#include "synthetic_checkpoint.hpp"

namespace {

using latte::index_t;

latte::model::config base_config() {
  latte::model::config c;
  c.vocab_size = 96;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.moe_intermediate_size = 24;
  c.num_hidden_layers = 3;
  c.first_k_dense_replace = 1;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 4;
  c.q_lora_rank = 40;
  c.kv_lora_rank = 32;
  c.qk_nope_head_dim = 16;
  c.qk_rope_head_dim = 8;
  c.v_head_dim = 16;
  c.n_routed_experts = 8;
  c.n_shared_experts = 1;
  c.num_experts_per_tok = 3;
  c.n_group = 4;
  c.topk_group = 2;
  c.norm_topk_prob = true;
  c.routed_scaling_factor = 2.5;
  c.max_position_embeddings = 256;
  c.rope = {.theta = 10000.0, .rotary_dim = 8, .scaling = latte::rope::scaling_type::yarn, .factor = 4.0,
            .original_max_position = 16, .beta_fast = 32.0, .beta_slow = 1.0, .mscale = 1.0, .mscale_all_dim = 1.0};
  return c;
}

template <class Form>
std::vector<float> run_model(const latte::model::config& c, latte::model::weight_source& weights,
                             const std::vector<std::int32_t>& tokens) {
  latte::model::deepseek_v3<latte::cpu::backend, latte::model::runtime_preset, Form> model(latte::cpu::backend{2}, c,
                                                                                            weights);
  auto state = model.make_state(1, static_cast<index_t>(tokens.size()));
  // Prefill most, then decode the rest one by one: both paths meet the reference.
  const std::size_t split = tokens.size() - 3;
  auto first = model.forward(std::span<const std::int32_t>(tokens.data(), split), state,
                             latte::model::logits_for::all_tokens);
  std::vector<float> logits(first.begin(), first.end());
  for (std::size_t t = split; t < tokens.size(); ++t) {
    auto step = model.forward(std::span<const std::int32_t>(&tokens[t], 1), state);
    logits.insert(logits.end(), step.begin(), step.end());
  }
  return logits;
}

void check_against_reference(const latte::model::config& c, latte::dtype storage, double tolerance) {
  c.validate();
  synthetic::checkpoint ckpt(c, storage, 1234);
  std::vector<std::int32_t> tokens;
  std::mt19937 engine(7);
  for (int i = 0; i < 21; ++i) tokens.push_back(static_cast<std::int32_t>(engine() % c.vocab_size));
  const std::vector<double> expected = latte::reference::decoder_forward(c, ckpt.weights(), tokens);
  const std::vector<float> want(expected.begin(), expected.end());
  const double absorbed = oracle::relative_error(run_model<latte::attention::absorbed>(c, ckpt.weights(), tokens), want);
  const double naive = oracle::relative_error(run_model<latte::attention::naive>(c, ckpt.weights(), tokens), want);
  INFO("storage " << latte::name_of(storage) << ": absorbed " << absorbed << ", naive " << naive);
  CHECK(absorbed < tolerance);
  CHECK(naive < tolerance);
}

}  // namespace

TEST_CASE("the tiny model's own shape against the float64 reference decoder", "[model][shapes]") {
  check_against_reference(base_config(), latte::dtype::bf16, 1e-5);
}

TEST_CASE("V2-Lite style: no q_lora, softmax routing, one group, two shared experts, v != nope",
          "[model][shapes]") {
  latte::model::config c = base_config();
  c.q_lora_rank = 0;
  c.scoring = latte::scoring_func::softmax;
  c.n_group = 1;
  c.topk_group = 1;
  c.norm_topk_prob = false;
  c.routed_scaling_factor = 1.0;
  c.n_shared_experts = 2;
  c.v_head_dim = 24;
  c.rope.mscale = 0.707;
  c.rope.mscale_all_dim = 0.707;
  check_against_reference(c, latte::dtype::bf16, 1e-5);
}

TEST_CASE("plain RoPE in the halves layout, other group counts, no shared expert", "[model][shapes]") {
  latte::model::config c = base_config();
  c.rope.scaling = latte::rope::scaling_type::none;
  c.rope.theta = 500000.0;
  c.rope_interleave = latte::rope_layout::halves;
  c.n_routed_experts = 12;
  c.n_group = 3;
  c.topk_group = 1;
  c.num_experts_per_tok = 2;
  c.n_shared_experts = 0;
  c.first_k_dense_replace = 0;
  check_against_reference(c, latte::dtype::f32, 1e-5);
}

TEST_CASE("fp8 block-quantised weights with partial edge blocks", "[model][shapes]") {
  latte::model::config c = base_config();
  c.hidden_size = 160;  // 128 + a partial block of 32
  c.intermediate_size = 136;
  check_against_reference(c, latte::dtype::f8_e4m3, 1e-5);
}

TEST_CASE("a dense-only model (no routed experts)", "[model][shapes]") {
  latte::model::config c = base_config();
  c.n_routed_experts = 0;
  c.num_experts_per_tok = 0;
  c.n_shared_experts = 0;
  check_against_reference(c, latte::dtype::bf16, 1e-5);
}

#pragma once
// The runtime shape of a DeepSeek-V3-family model, named as the hub's config.json names it
// (SPEC.md section 1). io/ fills it from a checkpoint; the static presets in model/presets.hpp
// produce it at compile time. validate() refuses zero or inconsistent values, naming the field.

#include <cstdint>
#include <string>

#include "../backend/options.hpp"
#include "../core/error.hpp"
#include "../core/extents.hpp"
#include "../rope/config.hpp"

namespace latte::model {

struct fp8_quantization {
  bool enabled = false;    // quantization_config.quant_method == "fp8"
  index_t block_rows = 128;  // weight_block_size
  index_t block_cols = 128;
};

struct config {
  index_t vocab_size = 0;
  index_t hidden_size = 0;
  index_t intermediate_size = 0;      // dense MLP
  index_t moe_intermediate_size = 0;  // one expert
  index_t num_hidden_layers = 0;
  index_t first_k_dense_replace = 0;
  index_t moe_layer_freq = 1;
  index_t num_attention_heads = 0;
  index_t num_key_value_heads = 0;    // MLA ignores it
  index_t q_lora_rank = 0;            // 0: no query compression (q_proj), as in V2-Lite
  index_t kv_lora_rank = 0;
  index_t qk_nope_head_dim = 0;
  index_t qk_rope_head_dim = 0;
  index_t v_head_dim = 0;
  index_t n_routed_experts = 0;       // 0: every layer dense
  index_t n_shared_experts = 0;
  index_t num_experts_per_tok = 0;
  index_t n_group = 1;
  index_t topk_group = 1;
  scoring_func scoring = scoring_func::sigmoid;
  std::string topk_method = "noaux_tc";
  bool norm_topk_prob = false;      // hub default
  double routed_scaling_factor = 1.0;
  double rms_norm_eps = 1e-6;
  index_t max_position_embeddings = 0;
  rope::config rope{};               // theta, rotary_dim (= qk_rope_head_dim), YaRN
  rope_layout rope_interleave = rope_layout::interleaved_pairs;
  bool tie_word_embeddings = false;
  index_t num_nextn_predict_layers = 0;
  std::int64_t bos_token_id = 0;
  std::int64_t eos_token_id = 1;
  fp8_quantization quantization{};

  index_t qk_head_dim() const noexcept { return qk_nope_head_dim + qk_rope_head_dim; }
  bool is_moe_layer(index_t layer) const noexcept {
    return n_routed_experts > 0 && layer >= first_k_dense_replace && moe_layer_freq > 0 &&
           layer % moe_layer_freq == 0;
  }

  void validate() const {
    auto positive = [](index_t v, const char* field) {
      require(v > 0, "config: ", field, " must be positive, got ", v);
    };
    positive(vocab_size, "vocab_size");
    positive(hidden_size, "hidden_size");
    positive(num_hidden_layers, "num_hidden_layers");
    require(num_hidden_layers <= 65536, "config: num_hidden_layers ", num_hidden_layers, " exceeds 65536");
    positive(num_attention_heads, "num_attention_heads");
    positive(kv_lora_rank, "kv_lora_rank");
    positive(qk_nope_head_dim, "qk_nope_head_dim");
    positive(qk_rope_head_dim, "qk_rope_head_dim");
    positive(v_head_dim, "v_head_dim");
    positive(max_position_embeddings, "max_position_embeddings");
    require(q_lora_rank >= 0, "config: q_lora_rank must be positive or null, got ", q_lora_rank);
    require(qk_rope_head_dim % 2 == 0, "config: qk_rope_head_dim must be even, got ", qk_rope_head_dim);
    require(rope.rotary_dim == qk_rope_head_dim, "config: rotary dimension ", rope.rotary_dim,
            " differs from qk_rope_head_dim ", qk_rope_head_dim);
    require(rope.theta > 0, "config: rope_theta must be positive, got ", rope.theta);
    require(rms_norm_eps > 0, "config: rms_norm_eps must be positive, got ", rms_norm_eps);
    require(first_k_dense_replace >= 0, "config: first_k_dense_replace must not be negative");
    if (rope.scaling == rope::scaling_type::yarn) {
      require(rope.factor > 0, "config: rope_scaling.factor must be positive, got ", rope.factor);
      require(rope.original_max_position > 0, "config: rope_scaling.original_max_position_embeddings must be positive");
      require(rope.beta_fast > 0 && rope.beta_slow > 0, "config: rope_scaling beta_fast and beta_slow must be positive");
    }
    bool any_dense = n_routed_experts == 0;
    for (index_t l = 0; l < num_hidden_layers && !any_dense; ++l) any_dense = !is_moe_layer(l);
    if (any_dense) positive(intermediate_size, "intermediate_size");
    if (n_routed_experts > 0) {
      positive(moe_intermediate_size, "moe_intermediate_size");
      positive(num_experts_per_tok, "num_experts_per_tok");
      positive(n_group, "n_group");
      positive(topk_group, "topk_group");
      positive(moe_layer_freq, "moe_layer_freq");
      require(n_routed_experts % n_group == 0, "config: n_routed_experts ", n_routed_experts,
              " is not divisible by n_group ", n_group);
      require(topk_group <= n_group, "config: topk_group ", topk_group, " exceeds n_group ", n_group);
      require(num_experts_per_tok <= (n_routed_experts / n_group) * topk_group, "config: num_experts_per_tok ",
              num_experts_per_tok, " exceeds the ", (n_routed_experts / n_group) * topk_group,
              " experts of the topk_group kept groups");
      require(n_shared_experts >= 0, "config: n_shared_experts must not be negative");
      require(routed_scaling_factor > 0, "config: routed_scaling_factor must be positive");
    }
    if (quantization.enabled)
      require(quantization.block_rows > 0 && quantization.block_cols > 0,
              "config: quantization_config.weight_block_size must be positive");
  }
};

}  // namespace latte::model

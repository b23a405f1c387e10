#pragma once
// Compile-time model presets (SPEC.md section 1). A preset fixes every size as a constant — the
// attention shape with static extents, so the compiler sees the real head count and latent
// width — and produces the equivalent runtime config. A preset checked against a checkpoint's
// config fails naming the first field that differs.

#include <string>

#include "../attention/mla_shape.hpp"
#include "../core/error.hpp"
#include "config.hpp"

namespace latte::model {

// Every size taken from config.json at run time.
struct runtime_preset {
  using mla_shape = attention::mla_shape<dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent,
                                         dynamic_extent, dynamic_extent>;
  static constexpr bool is_static = false;
};

// DeepSeek-V3 (671B): 61 layers (3 dense, 58 MoE), 256 routed + 1 shared experts, top-8 of
// 8 groups (4 kept), 128 heads, d_c 512, d_c' 1536, d_h^R 64, YaRN factor 40, one MTP layer.
struct deepseek_v3_671b {
  static constexpr bool is_static = true;
  static constexpr index_t vocab_size = 129280, hidden_size = 7168, intermediate_size = 18432,
                           moe_intermediate_size = 2048, num_hidden_layers = 61, first_k_dense_replace = 3,
                           num_attention_heads = 128, q_lora_rank = 1536, kv_lora_rank = 512, qk_nope_head_dim = 128,
                           qk_rope_head_dim = 64, v_head_dim = 128, n_routed_experts = 256, n_shared_experts = 1,
                           num_experts_per_tok = 8, n_group = 8, topk_group = 4, max_position_embeddings = 163840,
                           num_nextn_predict_layers = 1;
  using mla_shape = attention::mla_shape<num_attention_heads, q_lora_rank, kv_lora_rank, qk_nope_head_dim,
                                         qk_rope_head_dim, v_head_dim>;

  static config make_config() {
    config c;
    c.vocab_size = vocab_size;
    c.hidden_size = hidden_size;
    c.intermediate_size = intermediate_size;
    c.moe_intermediate_size = moe_intermediate_size;
    c.num_hidden_layers = num_hidden_layers;
    c.first_k_dense_replace = first_k_dense_replace;
    c.num_attention_heads = num_attention_heads;
    c.num_key_value_heads = num_attention_heads;
    c.q_lora_rank = q_lora_rank;
    c.kv_lora_rank = kv_lora_rank;
    c.qk_nope_head_dim = qk_nope_head_dim;
    c.qk_rope_head_dim = qk_rope_head_dim;
    c.v_head_dim = v_head_dim;
    c.n_routed_experts = n_routed_experts;
    c.n_shared_experts = n_shared_experts;
    c.num_experts_per_tok = num_experts_per_tok;
    c.n_group = n_group;
    c.topk_group = topk_group;
    c.scoring = scoring_func::sigmoid;
    c.topk_method = "noaux_tc";
    c.norm_topk_prob = true;
    c.routed_scaling_factor = 2.5;
    c.rms_norm_eps = 1e-6;
    c.max_position_embeddings = max_position_embeddings;
    c.rope = {.theta = 10000.0, .rotary_dim = qk_rope_head_dim, .scaling = rope::scaling_type::yarn, .factor = 40.0,
              .original_max_position = 4096, .beta_fast = 32.0, .beta_slow = 1.0, .mscale = 1.0,
              .mscale_all_dim = 1.0};
    c.num_nextn_predict_layers = num_nextn_predict_layers;
    c.quantization = {.enabled = true, .block_rows = 128, .block_cols = 128};
    return c;
  }
};

// DeepSeek-V2-Lite: no query compression, 64 routed + 2 shared experts, softmax scoring.
struct deepseek_v2_lite {
  static constexpr bool is_static = true;
  static constexpr index_t vocab_size = 102400, hidden_size = 2048, intermediate_size = 10944,
                           moe_intermediate_size = 1408, num_hidden_layers = 27, first_k_dense_replace = 1,
                           num_attention_heads = 16, q_lora_rank = 0, kv_lora_rank = 512, qk_nope_head_dim = 128,
                           qk_rope_head_dim = 64, v_head_dim = 128, n_routed_experts = 64, n_shared_experts = 2,
                           num_experts_per_tok = 6, n_group = 1, topk_group = 1, max_position_embeddings = 163840;
  using mla_shape = attention::mla_shape<num_attention_heads, q_lora_rank, kv_lora_rank, qk_nope_head_dim,
                                         qk_rope_head_dim, v_head_dim>;

  static config make_config() {
    config c;
    c.vocab_size = vocab_size;
    c.hidden_size = hidden_size;
    c.intermediate_size = intermediate_size;
    c.moe_intermediate_size = moe_intermediate_size;
    c.num_hidden_layers = num_hidden_layers;
    c.first_k_dense_replace = first_k_dense_replace;
    c.num_attention_heads = num_attention_heads;
    c.num_key_value_heads = num_attention_heads;
    c.q_lora_rank = q_lora_rank;
    c.kv_lora_rank = kv_lora_rank;
    c.qk_nope_head_dim = qk_nope_head_dim;
    c.qk_rope_head_dim = qk_rope_head_dim;
    c.v_head_dim = v_head_dim;
    c.n_routed_experts = n_routed_experts;
    c.n_shared_experts = n_shared_experts;
    c.num_experts_per_tok = num_experts_per_tok;
    c.n_group = n_group;
    c.topk_group = topk_group;
    c.scoring = scoring_func::softmax;
    c.topk_method = "greedy";
    c.norm_topk_prob = false;
    c.routed_scaling_factor = 1.0;
    c.rms_norm_eps = 1e-6;
    c.max_position_embeddings = max_position_embeddings;
    c.rope = {.theta = 10000.0, .rotary_dim = qk_rope_head_dim, .scaling = rope::scaling_type::yarn, .factor = 40.0,
              .original_max_position = 4096, .beta_fast = 32.0, .beta_slow = 1.0, .mscale = 0.707,
              .mscale_all_dim = 0.707};
    return c;
  }
};

// Throws naming the first field in which `loaded` differs from the preset `expected`.
inline void require_same_shape(const config& expected, const config& loaded, const char* preset_name) {
  auto same = [&](auto a, auto b, const char* field) {
    if (a != b) fail("checkpoint does not match the ", preset_name, " preset: ", field, " is ", b, ", expected ", a);
  };
  same(expected.vocab_size, loaded.vocab_size, "vocab_size");
  same(expected.hidden_size, loaded.hidden_size, "hidden_size");
  same(expected.num_hidden_layers, loaded.num_hidden_layers, "num_hidden_layers");
  same(expected.first_k_dense_replace, loaded.first_k_dense_replace, "first_k_dense_replace");
  same(expected.intermediate_size, loaded.intermediate_size, "intermediate_size");
  same(expected.moe_intermediate_size, loaded.moe_intermediate_size, "moe_intermediate_size");
  same(expected.num_attention_heads, loaded.num_attention_heads, "num_attention_heads");
  same(expected.q_lora_rank, loaded.q_lora_rank, "q_lora_rank");
  same(expected.kv_lora_rank, loaded.kv_lora_rank, "kv_lora_rank");
  same(expected.qk_nope_head_dim, loaded.qk_nope_head_dim, "qk_nope_head_dim");
  same(expected.qk_rope_head_dim, loaded.qk_rope_head_dim, "qk_rope_head_dim");
  same(expected.v_head_dim, loaded.v_head_dim, "v_head_dim");
  same(expected.n_routed_experts, loaded.n_routed_experts, "n_routed_experts");
  same(expected.n_shared_experts, loaded.n_shared_experts, "n_shared_experts");
  same(expected.num_experts_per_tok, loaded.num_experts_per_tok, "num_experts_per_tok");
  same(expected.n_group, loaded.n_group, "n_group");
  same(expected.topk_group, loaded.topk_group, "topk_group");
}

}  // namespace latte::model

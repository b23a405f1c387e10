#pragma once
// Weights and options of a Llama-style grouped-query attention layer. Linear weights are
// [out, in] as checkpoints store them, in any storage type (weight_view), no biases.

#include "../backend/options.hpp"
#include "../core/weight_view.hpp"

namespace latte::attention {

struct gqa_weights {
  weight_view q_proj;  // [heads * head_dim, hidden]
  weight_view k_proj;  // [kv_heads * head_dim, hidden]
  weight_view v_proj;  // [kv_heads * value_dim, hidden]
  weight_view o_proj;  // [hidden, heads * value_dim]
};

struct gqa_options {
  float softmax_scale = 0.0f;                // 0: 1 / sqrt(head_dim)
  rope_layout rope = rope_layout::halves;    // which elements the rotary embedding pairs
};

}  // namespace latte::attention

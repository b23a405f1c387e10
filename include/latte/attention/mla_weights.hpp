#pragma once
// Weights and options of one MLA layer (SPEC.md section 3), in checkpoint layout ([out, in],
// row-major) and any storage type, fp8 with 128 x 128 block scales included (SPEC.md section 8).
// Per-head slices are taken with weight_view::row_range, which keeps each slice's place in the
// block-scale grid.

#include "../backend/options.hpp"
#include "../core/weight_view.hpp"

namespace latte::attention {

struct mla_weights {
  weight_view q_a_proj;            // [q_lora, hidden] W_DQ; empty when q_lora_rank == 0
  weight_view q_a_layernorm;       // [1, q_lora]; empty when q_lora_rank == 0
  weight_view q_b_proj;            // [heads * (nope + rope), q_lora] W_UQ, per head rows nope then rope;
                                   // when q_lora_rank == 0 this is q_proj [heads * (nope + rope), hidden]
  weight_view kv_a_proj_with_mqa;  // [kv_lora + rope, hidden] W_DKV: c_kv then k_rope
  weight_view kv_a_layernorm;      // [1, kv_lora]
  weight_view kv_b_proj;           // [heads * (nope + v), kv_lora] W_UKV, per head rows k_nope then v
  weight_view o_proj;              // [hidden, heads * v]
};

struct mla_options {
  float softmax_scale = 0.0f;   // 0: 1 / sqrt(qk_nope_head_dim + qk_rope_head_dim); YaRN scales it (SPEC.md 3)
  float rms_norm_eps = 1e-6f;   // of q_a_layernorm and kv_a_layernorm
  rope_layout rope = rope_layout::interleaved_pairs;  // DeepSeek checkpoints pair (x[2j], x[2j+1])
};

}  // namespace latte::attention

#pragma once
// Named options of the backend primitives. Every backend takes the same structs, so the modules
// above backend/ pass them through without knowing which backend runs.

#include <cstdint>

#include "../core/extents.hpp"

namespace latte {

// How a gemm reads its weight_view.
enum class weight_layout : std::uint8_t {
  out_in,  // w is [n, k]: y = x . w^T (a linear layer, checkpoint layout)
  in_out,  // w is [k, n]: y = x . w
};

struct gemm_options {
  float alpha = 1.0f;  // y = alpha * (x . op(w)) + beta * y
  float beta = 0.0f;
  weight_layout layout = weight_layout::out_in;
};

// Rotary layouts (SPEC.md section 4): which elements form the rotated pairs.
enum class rope_layout : std::uint8_t {
  interleaved_pairs,  // (x[2j], x[2j+1]): DeepSeek checkpoints
  halves,             // (x[j], x[j + d/2]): Llama-style checkpoints
};

// Scaled dot-product attention over one sequence. Query i sits at absolute position
// query_offset + i and, when causal, sees keys 0 .. query_offset + i (bottom-right alignment when
// query_offset = keys - queries).
struct attention_options {
  float scale = 1.0f;
  bool causal = true;
  index_t query_offset = 0;
};

enum class scoring_func : std::uint8_t { sigmoid, softmax };

// Mixture-of-experts routing (SPEC.md section 5).
struct routing_options {
  scoring_func scoring = scoring_func::sigmoid;
  index_t top_k = 1;
  index_t n_group = 1;      // experts are split into n_group equal groups
  index_t topk_group = 1;   // groups kept per token
  bool norm_topk_prob = false;
  float routed_scaling_factor = 1.0f;
  const float* selection_bias = nullptr;  // [experts] e_score_correction_bias, or null; backend memory
};

}  // namespace latte

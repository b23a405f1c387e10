#pragma once
// Parameters of a rotary position embedding (SPEC.md section 4): plain RoPE or YaRN.

#include "../core/extents.hpp"

namespace latte::rope {

enum class scaling_type { none, yarn };

struct config {
  double theta = 10000.0;        // rope_theta
  index_t rotary_dim = 64;       // qk_rope_head_dim
  scaling_type scaling = scaling_type::none;
  double factor = 1.0;           // YaRN s
  index_t original_max_position = 4096;  // original_max_position_embeddings
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;
  double mscale_all_dim = 0.0;   // 0: absent from the config
};

}  // namespace latte::rope

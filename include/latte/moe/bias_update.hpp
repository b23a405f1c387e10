#pragma once
// Load balancing without an auxiliary loss (SPEC.md section 5, the training side): after each
// step every expert's selection bias moves by gamma towards the mean load,
//   bias_e += gamma * sign(mean_load - load_e).
// Over-loaded experts become less likely to be chosen; the routing weights are unaffected.

#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "../core/error.hpp"
#include "../core/extents.hpp"

namespace latte::moe {

// load[e]: tokens routed to expert e in the last step.
inline void update_selection_bias(std::span<float> bias, std::span<const std::int64_t> load, float gamma) {
  require(bias.size() == load.size(), "update_selection_bias: ", bias.size(), " biases for ", load.size(),
          " expert loads");
  require(gamma >= 0.0f, "update_selection_bias: gamma must not be negative, got ", gamma);
  if (load.empty()) return;
  const double mean = static_cast<double>(std::accumulate(load.begin(), load.end(), std::int64_t{0})) /
                      static_cast<double>(load.size());
  for (std::size_t e = 0; e < bias.size(); ++e) {
    const double gap = mean - static_cast<double>(load[e]);
    bias[e] += gamma * static_cast<float>((gap > 0) - (gap < 0));
  }
}

// Tokens per expert from a routing result experts [tokens, top_k].
inline std::vector<std::int64_t> expert_load(std::span<const std::int32_t> experts, index_t n_experts) {
  std::vector<std::int64_t> load(static_cast<std::size_t>(n_experts), 0);
  for (std::int32_t e : experts) {
    require(e >= 0 && e < n_experts, "expert_load: expert ", e, " outside [0, ", n_experts, ")");
    ++load[static_cast<std::size_t>(e)];
  }
  return load;
}

}  // namespace latte::moe

#pragma once
// Reference mixture-of-experts routing in float64, SPEC.md section 5 step by step, per token:
//   s_e = sigmoid(logit_e)             (or softmax over all experts)
//   b_e = s_e + bias_e                 (bias only chooses; 0 without a bias)
//   group score = sum of the two largest b_e of each of n_group equal groups (the one b_e when a
//                 group has a single expert); keep the topk_group best groups, the rest are -inf
//   choose the top_k experts by b_e among the kept groups
//   w_e = s_e;  if norm_topk_prob: w_e /= (sum of the chosen w + 1e-20);  w_e *= routed_scaling_factor
// Equal scores go to the lower index (groups and experts alike). Each token's experts are reported
// in increasing index order, each with its weight.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../backend/options.hpp"
#include "../core/error.hpp"
#include "../core/tensor_view.hpp"

namespace latte::reference {

namespace detail {
inline std::size_t at(index_t i) { return static_cast<std::size_t>(i); }

// Indices of the `count` largest values, larger first, equal values by lower index first.
inline std::vector<index_t> largest(const std::vector<double>& values, index_t count) {
  std::vector<index_t> chosen;
  std::vector<bool> taken(values.size(), false);
  for (index_t round = 0; round < count; ++round) {
    index_t best = -1;
    for (index_t i = 0; i < static_cast<index_t>(values.size()); ++i)
      if (!taken[at(i)] && (best < 0 || values[at(i)] > values[at(best)])) best = i;
    taken[at(best)] = true;
    chosen.push_back(best);
  }
  return chosen;
}
}  // namespace detail

// logits [tokens, experts]; experts [tokens, top_k], weights [tokens, top_k]. The selection bias
// (options.selection_bias, may be null) is read from host memory.
template <class L>
void route(const matrix_view<L>& logits, const routing_options& options, matrix_view<std::int32_t> experts,
           matrix_view<double> weights) {
  using detail::at;
  const index_t tokens = logits.extent(0), n = logits.extent(1);
  const index_t groups = options.n_group, top_k = options.top_k;
  require(groups >= 1 && n % groups == 0, "reference::route: ", n, " experts do not split into ", groups, " groups");
  require(options.topk_group >= 1 && options.topk_group <= groups, "reference::route: topk_group ",
          options.topk_group, " outside [1, ", groups, "]");
  const index_t per_group = n / groups;
  require(top_k >= 1 && top_k <= per_group * options.topk_group, "reference::route: top_k ", top_k,
          " exceeds the experts of the kept groups");
  require(experts.extent(0) == tokens && experts.extent(1) == top_k && weights.extent(0) == tokens &&
              weights.extent(1) == top_k,
          "reference::route: outputs must be [", tokens, ", ", top_k, "]");

  for (index_t t = 0; t < tokens; ++t) {
    std::vector<double> logit(at(n)), s(at(n));
    for (index_t e = 0; e < n; ++e) logit[at(e)] = static_cast<double>(logits(t, e));
    if (options.scoring == scoring_func::sigmoid) {
      for (index_t e = 0; e < n; ++e) s[at(e)] = 1.0 / (1.0 + std::exp(-logit[at(e)]));
    } else {
      const double peak = *std::max_element(logit.begin(), logit.end());
      double sum = 0.0;
      for (index_t e = 0; e < n; ++e) sum += std::exp(logit[at(e)] - peak);
      for (index_t e = 0; e < n; ++e) s[at(e)] = std::exp(logit[at(e)] - peak) / sum;
    }
    std::vector<double> b(s);
    if (options.selection_bias != nullptr)
      for (index_t e = 0; e < n; ++e) b[at(e)] += static_cast<double>(options.selection_bias[e]);

    // Group scores and the kept groups.
    std::vector<double> group_score(at(groups));
    for (index_t g = 0; g < groups; ++g) {
      const std::vector<double> members(b.begin() + g * per_group, b.begin() + (g + 1) * per_group);
      for (index_t i : detail::largest(members, std::min<index_t>(2, per_group))) group_score[at(g)] += members[at(i)];
    }
    std::vector<bool> kept(at(groups), false);
    for (index_t g : detail::largest(group_score, options.topk_group)) kept[at(g)] = true;
    std::vector<double> choice(b);
    for (index_t e = 0; e < n; ++e)
      if (!kept[at(e / per_group)]) choice[at(e)] = -HUGE_VAL;

    std::vector<index_t> chosen = detail::largest(choice, top_k);
    std::sort(chosen.begin(), chosen.end());
    double total = 0.0;
    for (index_t e : chosen) total += s[at(e)];
    for (index_t j = 0; j < top_k; ++j) {
      const index_t e = chosen[at(j)];
      const double w = options.norm_topk_prob ? s[at(e)] / (total + 1e-20) : s[at(e)];
      experts(t, j) = static_cast<std::int32_t>(e);
      weights(t, j) = w * static_cast<double>(options.routed_scaling_factor);
    }
  }
}

}  // namespace latte::reference

#pragma once
// Mixture-of-experts routing (SPEC.md section 5), per token:
//   s = sigmoid(logits) or softmax(logits);  b = s + selection_bias (selection only)
//   group score = sum of the top-2 b in each of n_group groups; keep the topk_group best groups
//   choose top_k experts by b among kept groups; weight w_e = s_e
//   if norm_topk_prob: w /= sum(w) + 1e-20;  w *= routed_scaling_factor
// Ties go to the lower index. Each token's experts are written in increasing expert index.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "../../core/error.hpp"
#include "../../core/tensor_view.hpp"
#include "../options.hpp"
#include "parallel.hpp"

namespace latte::cpu {

inline void validate_routing(index_t n_experts, const routing_options& o) {
  require(o.n_group >= 1 && n_experts % o.n_group == 0, "routing: ", n_experts, " experts do not split into ",
          o.n_group, " groups");
  require(o.topk_group >= 1 && o.topk_group <= o.n_group, "routing: topk_group ", o.topk_group, " outside [1, ",
          o.n_group, "]");
  require(o.top_k >= 1 && o.top_k <= (n_experts / o.n_group) * o.topk_group, "routing: top_k ", o.top_k,
          " exceeds the ", (n_experts / o.n_group) * o.topk_group, " experts of the kept groups");
}

inline void route(int threads, matrix_view<const float> logits, const routing_options& o,
                  matrix_view<std::int32_t> experts, matrix_view<float> weights) {
  const index_t tokens = logits.extent(0), n = logits.extent(1);
  validate_routing(n, o);
  require(experts.extent(0) == tokens && experts.extent(1) == o.top_k && weights.extent(0) == tokens &&
              weights.extent(1) == o.top_k,
          "routing: outputs must be [", tokens, ", ", o.top_k, "]");
  require(logits.stride(1) == 1, "routing: logits need unit column stride");
  const index_t per_group = n / o.n_group;
  constexpr float neg_inf = -std::numeric_limits<float>::infinity();

  parallel_ranges(threads, tokens, 1, [&](index_t begin, index_t end) {
    std::vector<float> score(n), choice(n), group_score(o.n_group);
    std::vector<index_t> order(std::max(n, o.n_group));
    for (index_t t = begin; t < end; ++t) {
      const float* l = &logits(t, 0);
      if (o.scoring == scoring_func::sigmoid) {
        for (index_t e = 0; e < n; ++e) score[e] = 1.0f / (1.0f + std::exp(-l[e]));
      } else {
        const float peak = *std::max_element(l, l + n);
        double sum = 0.0;
        for (index_t e = 0; e < n; ++e) sum += (score[e] = std::exp(l[e] - peak));
        for (index_t e = 0; e < n; ++e) score[e] = static_cast<float>(score[e] / sum);
      }
      for (index_t e = 0; e < n; ++e) choice[e] = score[e] + (o.selection_bias ? o.selection_bias[e] : 0.0f);

      if (o.n_group > 1) {
        for (index_t g = 0; g < o.n_group; ++g) {
          const float* c = &choice[g * per_group];
          float best = neg_inf, second = neg_inf;
          for (index_t e = 0; e < per_group; ++e) {
            if (c[e] > best) { second = best; best = c[e]; }
            else if (c[e] > second) second = c[e];
          }
          group_score[g] = per_group > 1 ? best + second : best;
        }
        std::iota(order.begin(), order.begin() + o.n_group, index_t{0});
        std::stable_sort(order.begin(), order.begin() + o.n_group,
                         [&](index_t a, index_t b) { return group_score[a] > group_score[b]; });
        for (index_t r = o.topk_group; r < o.n_group; ++r)
          std::fill_n(&choice[order[r] * per_group], per_group, neg_inf);
      }

      std::iota(order.begin(), order.begin() + n, index_t{0});
      std::partial_sort(order.begin(), order.begin() + o.top_k, order.begin() + n, [&](index_t a, index_t b) {
        return choice[a] > choice[b] || (choice[a] == choice[b] && a < b);
      });
      std::sort(order.begin(), order.begin() + o.top_k);
      double total = 0.0;
      for (index_t j = 0; j < o.top_k; ++j) total += score[order[j]];
      const double norm = o.norm_topk_prob ? 1.0 / (total + 1e-20) : 1.0;
      for (index_t j = 0; j < o.top_k; ++j) {
        experts(t, j) = static_cast<std::int32_t>(order[j]);
        weights(t, j) = static_cast<float>(score[order[j]] * norm * o.routed_scaling_factor);
      }
    }
  });
}

}  // namespace latte::cpu

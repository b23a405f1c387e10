#pragma once
// The mixture-of-experts router (SPEC.md section 5): float32 logits W_gate x, then the backend's
// group-limited top-k with the selection bias (e_score_correction_bias) used for choosing only.

#include <cstdint>

#include "../backend/concept.hpp"
#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "../core/weight_view.hpp"

namespace latte::moe {

struct router_weights {
  weight_view gate;                 // [experts, hidden]
  const float* selection_bias = nullptr;  // [experts] in backend memory, or null (no bias)
};

// experts [tokens, top_k] and weights [tokens, top_k] for x [tokens, hidden];
// logits: [tokens, experts] floats of backend scratch.
template <backend_policy Backend>
void route_tokens(const Backend& backend, const router_weights& router, routing_options options,
                  matrix_view<const float> x, matrix_view<float> logits, matrix_view<std::int32_t> experts,
                  matrix_view<float> weights) {
  require(x.extent(1) == router.gate.cols, "router: input has ", x.extent(1), " features, gate expects ",
          router.gate.cols);
  backend.gemm(x, router.gate, logits);
  options.selection_bias = router.selection_bias;
  backend.route(logits, options, experts, weights);
}

}  // namespace latte::moe

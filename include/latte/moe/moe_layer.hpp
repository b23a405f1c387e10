#pragma once
// A mixture-of-experts block (SPEC.md section 5):
//   y = sum_e w_e Expert_e(x) + SharedExpert(x)
// Tokens are permuted per expert: the routing result comes to the host, each chosen expert
// gathers its tokens, runs its SwiGLU on them alone and scatters the weighted result back. Only
// experts that some token chose are ever asked for, so a weight source may produce experts on
// first use and evict them afterwards (the expert callbacks below).

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "../backend/concept.hpp"
#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "router.hpp"
#include "swiglu.hpp"

namespace latte::moe {

template <backend_policy Backend>
class moe_layer {
 public:
  using fetch_expert = std::function<swiglu_weights(index_t expert)>;
  using release_expert = std::function<void(index_t expert)>;

  struct shape {
    index_t hidden = 0;
    index_t experts = 0;
    index_t expert_intermediate = 0;
  };

  moe_layer(Backend backend, shape s, router_weights router, routing_options routing,
            std::optional<swiglu_weights> shared, fetch_expert fetch, release_expert release = {})
      : backend_(backend), shape_(s), router_(router), routing_(routing), shared_(shared), fetch_(std::move(fetch)),
        release_(std::move(release)) {
    require(s.hidden > 0 && s.experts > 0 && s.expert_intermediate > 0, "moe: sizes must be positive");
    require(router.gate.rows == s.experts && router.gate.cols == s.hidden, "moe: gate is [", router.gate.rows, ", ",
            router.gate.cols, "], expected [", s.experts, ", ", s.hidden, "]");
    require(static_cast<bool>(fetch_), "moe: no expert source given");
    if (shared_) {
      shared_->validate("moe shared expert");
      require(shared_->hidden() == s.hidden, "moe: shared expert width ", shared_->hidden(), ", expected ", s.hidden);
    }
  }

  const shape& sizes() const noexcept { return shape_; }
  const routing_options& routing() const noexcept { return routing_; }

  // out [tokens, hidden] = MoE(x [tokens, hidden]).
  void forward(matrix_view<const float> x, matrix_view<float> out) {
    const index_t tokens = x.extent(0), k = routing_.top_k;
    require(x.extent(1) == shape_.hidden && out.extent(0) == tokens && out.extent(1) == shape_.hidden,
            "moe: x and out must be [tokens, ", shape_.hidden, "]");
    if (tokens == 0) return;

    auto logits = backend_.template allocate<float>(static_cast<std::size_t>(tokens * shape_.experts));
    auto experts = backend_.template allocate<std::int32_t>(static_cast<std::size_t>(tokens * k));
    auto weights = backend_.template allocate<float>(static_cast<std::size_t>(tokens * k));
    route_tokens(backend_, router_, routing_, x, make_matrix_view(logits.data(), tokens, shape_.experts),
                 make_matrix_view(experts.data(), tokens, k), make_matrix_view(weights.data(), tokens, k));
    last_experts_.resize(static_cast<std::size_t>(tokens * k));
    last_weights_.resize(static_cast<std::size_t>(tokens * k));
    backend_.download(experts.data(), std::span<std::int32_t>(last_experts_));
    backend_.download(weights.data(), std::span<float>(last_weights_));

    // Shared expert first (or zero), then every routed expert adds its weighted share.
    if (shared_) {
      swiglu_forward(backend_, *shared_, x, out);
    } else {
      std::vector<float> zeros(static_cast<std::size_t>(tokens * shape_.hidden), 0.0f);
      for (index_t t = 0; t < tokens; ++t)
        backend_.upload(std::span<const float>(zeros.data() + t * shape_.hidden, static_cast<std::size_t>(shape_.hidden)),
                        &out(t, 0));
    }

    // Permutation: the tokens (and weights) of each expert, in token order.
    std::vector<std::vector<std::int32_t>> rows(static_cast<std::size_t>(shape_.experts));
    std::vector<std::vector<float>> gains(static_cast<std::size_t>(shape_.experts));
    for (index_t t = 0; t < tokens; ++t)
      for (index_t j = 0; j < k; ++j) {
        const std::int32_t e = last_experts_[static_cast<std::size_t>(t * k + j)];
        require(e >= 0 && e < shape_.experts, "moe: router chose expert ", e, " of ", shape_.experts);
        rows[e].push_back(static_cast<std::int32_t>(t));
        gains[e].push_back(last_weights_[static_cast<std::size_t>(t * k + j)]);
      }

    index_t most = 0;
    for (const auto& r : rows) most = std::max<index_t>(most, static_cast<index_t>(r.size()));
    auto ids = backend_.template allocate<std::int32_t>(static_cast<std::size_t>(most));
    auto gain = backend_.template allocate<float>(static_cast<std::size_t>(most));
    auto expert_in = backend_.template allocate<float>(static_cast<std::size_t>(most * shape_.hidden));
    auto expert_out = backend_.template allocate<float>(static_cast<std::size_t>(most * shape_.hidden));
    auto scratch = backend_.template allocate<float>(static_cast<std::size_t>(2 * most * shape_.expert_intermediate));
    weight_view x_table;
    x_table.type = dtype::f32;
    x_table.data = x.data();
    x_table.rows = tokens;
    x_table.cols = shape_.hidden;
    x_table.row_stride = x.stride(0);

    for (index_t e = 0; e < shape_.experts; ++e) {
      const index_t n = static_cast<index_t>(rows[e].size());
      if (n == 0) continue;
      const swiglu_weights w = fetch_(e);
      w.validate("moe expert");
      require(w.hidden() == shape_.hidden && w.intermediate() == shape_.expert_intermediate, "moe: expert ", e,
              " is [", w.intermediate(), " x ", w.hidden(), "], expected [", shape_.expert_intermediate, " x ",
              shape_.hidden, "]");
      backend_.upload(std::span<const std::int32_t>(rows[e]), ids.data());
      backend_.upload(std::span<const float>(gains[e]), gain.data());
      const vector_view<const std::int32_t> id_view = make_vector_view<const std::int32_t>(ids.data(), n);
      const matrix_view<float> in = make_matrix_view(expert_in.data(), n, shape_.hidden);
      const matrix_view<float> result = make_matrix_view(expert_out.data(), n, shape_.hidden);
      backend_.gather_rows(x_table, id_view, in);
      swiglu_forward(backend_, w, in, result, scratch.data());
      backend_.scatter_add_rows(result, id_view, make_vector_view<const float>(gain.data(), n), out);
      if (release_) release_(e);
    }
  }

  // The routing of the last forward on the host: [tokens, top_k] experts (increasing index per
  // token) and their weights (normalised and scaled).
  std::span<const std::int32_t> last_experts() const noexcept { return last_experts_; }
  std::span<const float> last_weights() const noexcept { return last_weights_; }

 private:
  Backend backend_;
  shape shape_;
  router_weights router_;
  routing_options routing_;
  std::optional<swiglu_weights> shared_;
  fetch_expert fetch_;
  release_expert release_;
  std::vector<std::int32_t> last_experts_;
  std::vector<float> last_weights_;
};

}  // namespace latte::moe

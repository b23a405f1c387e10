// The MoE block against a float64 computation of SPEC.md section 5 on random non-zero data: the
// routing picks, the weighted sum over chosen experts, the shared expert; experts are fetched
// only when chosen; and the aux-loss-free bias update.

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <set>
#include <vector>

#include <latte/backend/cpu/backend.hpp>
#include <latte/moe/bias_update.hpp>
#include <latte/moe/moe_layer.hpp>
#include <latte/reference/gemm.hpp>
#include <latte/reference/routing.hpp>
#include <latte/reference/silu_mul.hpp>

using latte::index_t;
using Catch::Matchers::Contains;

namespace {

struct random_weights {
  std::mt19937_64 engine{42};
  std::vector<std::vector<latte::bf16>> store;
  latte::weight_view make(index_t rows, index_t cols) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    auto& v = store.emplace_back(static_cast<std::size_t>(rows * cols));
    for (auto& x : v) x = latte::bf16(u(engine) / std::sqrt(static_cast<float>(cols)));
    return latte::make_weight_view(v.data(), rows, cols);
  }
  latte::moe::swiglu_weights swiglu(index_t hidden, index_t inter) {
    return {make(inter, hidden), make(inter, hidden), make(hidden, inter)};
  }
};

std::vector<double> swiglu_reference(const latte::moe::swiglu_weights& w, const std::vector<float>& x) {
  const index_t hidden = w.hidden(), inter = w.intermediate();
  std::vector<double> g(inter), u(inter), y(hidden);
  latte::reference::gemm(latte::make_matrix_view<const float>(x.data(), 1, hidden), w.gate_proj,
                         latte::make_matrix_view(g.data(), 1, inter));
  latte::reference::gemm(latte::make_matrix_view<const float>(x.data(), 1, hidden), w.up_proj,
                         latte::make_matrix_view(u.data(), 1, inter));
  for (index_t i = 0; i < inter; ++i) g[i] = latte::reference::silu(g[i]) * u[i];
  latte::reference::gemm(latte::make_matrix_view<const double>(g.data(), 1, inter), w.down_proj,
                         latte::make_matrix_view(y.data(), 1, hidden));
  return y;
}

}  // namespace

TEMPLATE_TEST_CASE_SIG("moe_layer equals the float64 sum over chosen experts", "[moe]",
                       ((int Shared, int Groups, int Threads), Shared, Groups, Threads), (1, 4, 1), (1, 4, 2),
                       (0, 1, 2), (2, 2, 2)) {
  const index_t hidden = 48, experts = 8, inter = 20, tokens = 13;
  random_weights rw;
  std::vector<latte::moe::swiglu_weights> expert_weights;
  for (index_t e = 0; e < experts; ++e) expert_weights.push_back(rw.swiglu(hidden, inter));
  std::optional<latte::moe::swiglu_weights> shared;
  if (Shared) shared = rw.swiglu(hidden, inter * Shared);
  const latte::weight_view gate = rw.make(experts, hidden);
  std::vector<float> bias(experts);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float& b : bias) b = 0.1f * u(rw.engine);
  const latte::routing_options routing{.scoring = latte::scoring_func::sigmoid, .top_k = 3, .n_group = Groups,
                                       .topk_group = Groups > 1 ? Groups / 2 : 1, .norm_topk_prob = true,
                                       .routed_scaling_factor = 2.5f};
  std::set<index_t> fetched;
  latte::moe::moe_layer<latte::cpu::backend> layer(
      latte::cpu::backend{Threads}, {hidden, experts, inter}, {gate, bias.data()}, routing, shared,
      [&](index_t e) {
        fetched.insert(e);
        return expert_weights[static_cast<std::size_t>(e)];
      });

  std::vector<float> x(static_cast<std::size_t>(tokens * hidden)), out(x.size());
  for (float& v : x) v = u(rw.engine);
  layer.forward(latte::make_matrix_view<const float>(x.data(), tokens, hidden), latte::make_matrix_view(out.data(), tokens, hidden));

  // Reference: route in float64 from float64 logits, then sum every chosen expert.
  std::vector<double> logits(static_cast<std::size_t>(tokens * experts));
  latte::reference::gemm(latte::make_matrix_view<const float>(x.data(), tokens, hidden), gate,
                         latte::make_matrix_view(logits.data(), tokens, experts));
  latte::routing_options ref_routing = routing;
  ref_routing.selection_bias = bias.data();
  std::vector<std::int32_t> chosen(static_cast<std::size_t>(tokens * 3));
  std::vector<double> gains(chosen.size());
  latte::reference::route(latte::make_matrix_view<const double>(logits.data(), tokens, experts), ref_routing,
                          latte::make_matrix_view(chosen.data(), tokens, 3), latte::make_matrix_view(gains.data(), tokens, 3));
  const auto got_experts = layer.last_experts();
  std::set<index_t> used;
  double diff = 0.0, norm = 0.0;
  for (index_t t = 0; t < tokens; ++t) {
    const std::vector<float> row(x.begin() + t * hidden, x.begin() + (t + 1) * hidden);
    std::vector<double> y(static_cast<std::size_t>(hidden), 0.0);
    if (shared) y = swiglu_reference(*shared, row);
    for (index_t j = 0; j < 3; ++j) {
      const std::int32_t e = chosen[static_cast<std::size_t>(t * 3 + j)];
      CHECK(got_experts[static_cast<std::size_t>(t * 3 + j)] == e);
      CHECK(layer.last_weights()[static_cast<std::size_t>(t * 3 + j)] == Approx(gains[static_cast<std::size_t>(t * 3 + j)]).epsilon(1e-5));
      used.insert(e);
      const std::vector<double> ye = swiglu_reference(expert_weights[static_cast<std::size_t>(e)], row);
      for (index_t d = 0; d < hidden; ++d) y[d] += gains[static_cast<std::size_t>(t * 3 + j)] * ye[d];
    }
    for (index_t d = 0; d < hidden; ++d) {
      diff += std::pow(out[static_cast<std::size_t>(t * hidden + d)] - y[d], 2);
      norm += y[d] * y[d];
    }
  }
  INFO("relative error " << std::sqrt(diff / norm));
  CHECK(std::sqrt(diff / norm) < 1e-5);
  CHECK(fetched == used);  // only chosen experts were ever asked for
}

TEST_CASE("moe_layer refuses mismatched shapes", "[moe][errors]") {
  random_weights rw;
  const latte::weight_view gate = rw.make(8, 48);
  auto fetch = [&](index_t) { return rw.swiglu(48, 20); };
  CHECK_THROWS_WITH(latte::moe::moe_layer<latte::cpu::backend>(latte::cpu::backend{1}, {32, 8, 20}, {gate, nullptr},
                                                               {.top_k = 2}, std::nullopt, fetch),
                    Contains("gate is [8, 48], expected [8, 32]"));
  latte::moe::moe_layer<latte::cpu::backend> layer(latte::cpu::backend{1}, {48, 8, 16}, {gate, nullptr}, {.top_k = 2},
                                                   std::nullopt, fetch);
  std::vector<float> x(48, 0.5f), out(48);
  CHECK_THROWS_WITH(layer.forward(latte::make_matrix_view<const float>(x.data(), 1, 48), latte::make_matrix_view(out.data(), 1, 48)),
                    Contains("expected [16 x 48]"));
}

TEST_CASE("selection bias moves towards the mean load", "[moe][bias]") {
  std::vector<float> bias{0.0f, 0.5f, -0.25f, 0.0f};
  const std::vector<std::int32_t> experts{0, 0, 0, 1, 0, 2, 1, 0};  // loads 5, 2, 1, 0; mean 2
  const auto load = latte::moe::expert_load(experts, 4);
  CHECK(load == std::vector<std::int64_t>{5, 2, 1, 0});
  latte::moe::update_selection_bias(bias, load, 0.01f);
  CHECK(bias[0] == Approx(-0.01f));   // over-loaded: less likely next time
  CHECK(bias[1] == Approx(0.5f));     // at the mean: unchanged
  CHECK(bias[2] == Approx(-0.24f));   // under-loaded: more likely
  CHECK(bias[3] == Approx(0.01f));
  CHECK_THROWS_WITH(latte::moe::update_selection_bias(bias, std::vector<std::int64_t>{1, 2}, 0.01f), Contains("4 biases for 2"));
  CHECK_THROWS_WITH(latte::moe::expert_load(std::vector<std::int32_t>{4}, 4), Contains("expert 4 outside [0, 4)"));
}

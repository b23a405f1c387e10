// cpu::backend::route against reference::route (SPEC.md section 5), on 1, 2 and 3 threads:
// sigmoid and softmax scoring, one and several groups, with and without selection bias and
// normalisation, ties, and the errors of impossible options.
//
// The chosen experts must be identical. Logits lie on a grid of 1/32 in [-4, 4] and biases on
// one of 1/64, so that distinct scores differ by far more than float rounding and the float
// backend and the float64 reference face the same choices; equal logits are equal in both and
// test the tie rule. Weights: relative Frobenius error 1e-6 (a float exp and division per score,
// a few ulp of 2^-24).

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <latte/backend/cpu/backend.hpp>
#include <latte/reference/routing.hpp>

#include "harness.hpp"

using namespace latte;
using namespace latte::test;

namespace {
std::vector<float> grid_values(std::size_t n, std::uint32_t seed, int range, float step) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> pick(-range, range);
  std::vector<float> out(n);
  for (float& v : out) v = static_cast<float>(pick(gen)) * step;
  return out;
}

struct routed {
  std::vector<std::int32_t> experts;
  std::vector<float> weights;
};

routed run_backend(int threads, const matrix_view<const float>& logits, const routing_options& o) {
  const index_t t = logits.extent(0);
  routed r{std::vector<std::int32_t>(static_cast<std::size_t>(t * o.top_k), -1),
           std::vector<float>(static_cast<std::size_t>(t * o.top_k), -1.0f)};
  cpu::backend{threads}.route(logits, o, make_matrix_view(r.experts.data(), t, o.top_k),
                              make_matrix_view(r.weights.data(), t, o.top_k));
  return r;
}

void check_against_reference(const std::vector<float>& logit_values, index_t tokens, index_t experts,
                             const routing_options& o) {
  const matrix_view<const float> logits = make_matrix_view(logit_values.data(), tokens, experts);
  std::vector<std::int32_t> want_experts(static_cast<std::size_t>(tokens * o.top_k));
  double_matrix want_weights(tokens, o.top_k);
  reference::route(logits, o, make_matrix_view(want_experts.data(), tokens, o.top_k), want_weights.view());
  for (int threads : {1, 2, 3}) {
    const routed got = run_backend(threads, logits, o);
    INFO("threads " << threads);
    CHECK(got.experts == want_experts);
    CHECK(relative_frobenius(make_matrix_view<const float>(got.weights.data(), tokens, o.top_k), want_weights) <= 1e-6);
  }
}
}  // namespace

TEST_CASE("route matches the reference over scoring, grouping, bias and normalisation", "[backend][routing]") {
  struct config {
    const char* name;
    index_t experts, n_group, topk_group, top_k;
    scoring_func scoring;
    bool bias, norm;
    float scaling;
  };
  const config c = GENERATE(values<config>({
      {"DeepSeek-V3: 256 experts, 8 groups keep 4, top 8, sigmoid, bias, norm, x2.5", 256, 8, 4, 8,
       scoring_func::sigmoid, true, true, 2.5f},
      {"DeepSeek-V2-Lite: 64 experts, 1 group, top 6, softmax", 64, 1, 1, 6, scoring_func::softmax, false, false, 1.0f},
      {"sigmoid without bias, 4 groups keep 2", 24, 4, 2, 3, scoring_func::sigmoid, false, true, 1.0f},
      {"sigmoid with bias, one group, no norm", 20, 1, 1, 4, scoring_func::sigmoid, true, false, 1.5f},
      {"softmax with groups, bias and norm", 32, 4, 2, 4, scoring_func::softmax, true, true, 1.0f},
      {"one expert per group", 8, 8, 3, 2, scoring_func::sigmoid, true, true, 1.0f},
      {"top_k takes every expert of the kept groups", 12, 3, 2, 8, scoring_func::sigmoid, true, true, 1.0f},
  }));
  INFO(c.name);
  const index_t tokens = 37;
  const std::vector<float> logits = grid_values(static_cast<std::size_t>(tokens * c.experts), 101u, 128, 1.0f / 32);
  const std::vector<float> bias = grid_values(static_cast<std::size_t>(c.experts), 102u, 13, 1.0f / 64);
  routing_options o;
  o.scoring = c.scoring;
  o.top_k = c.top_k;
  o.n_group = c.n_group;
  o.topk_group = c.topk_group;
  o.norm_topk_prob = c.norm;
  o.routed_scaling_factor = c.scaling;
  o.selection_bias = c.bias ? bias.data() : nullptr;
  check_against_reference(logits, tokens, c.experts, o);
}

TEST_CASE("routing ties go to the lower group and the lower expert", "[backend][routing]") {
  routing_options o;
  o.n_group = 4;
  o.topk_group = 2;
  o.top_k = 3;
  o.norm_topk_prob = true;
  SECTION("all scores equal") {
    const std::vector<float> logits(16, 0.0f);
    check_against_reference(logits, 1, 16, o);
    const routed got = run_backend(2, make_matrix_view(logits.data(), 1, 16), o);
    CHECK(got.experts == std::vector<std::int32_t>{0, 1, 2});
    for (float w : got.weights) CHECK(w == Approx(1.0 / 3.0).epsilon(1e-6));
  }
  SECTION("groups 1 and 3 tie for the second place") {
    // Groups of 4: group 2 is best; groups 1 and 3 hold the same values in another order.
    const std::vector<float> logits{0, 0, 0, 0, 2, 1, -1, -1, 3, 3, 0, 0, -1, -1, 1, 2};
    check_against_reference(logits, 1, 16, o);
    const routed got = run_backend(1, make_matrix_view(logits.data(), 1, 16), o);
    CHECK(got.experts == std::vector<std::int32_t>{4, 8, 9});  // from groups 1 and 2, not 3
  }
  SECTION("equal experts across kept groups") {
    // Group scores: s(3) + s(0) = 1.45, s(1) + s(1) = 1.46, s(3) + s(1) = 1.68, 1.46: groups 2 and 1
    // are kept (1 ties with 3 and is lower). Expert 8 comes first, then 4, 5 and 9 are equal: 4, 5.
    const std::vector<float> logits{3, 0, 0, 0, 1, 1, 0, 0, 3, 1, 0, 0, 1, 1, 0, 0};
    check_against_reference(logits, 1, 16, o);
    const routed got = run_backend(3, make_matrix_view(logits.data(), 1, 16), o);
    CHECK(got.experts == std::vector<std::int32_t>{4, 5, 8});
  }
}

TEST_CASE("the selection bias chooses, the unbiased score weighs", "[backend][routing]") {
  const std::vector<float> logits{1.0f, 0.0f, 0.0f, 0.0f};
  const std::vector<float> bias{0.0f, 1.0f, 0.0f, 0.0f};
  routing_options o;
  o.top_k = 1;
  o.routed_scaling_factor = 2.5f;
  o.selection_bias = bias.data();
  routed got = run_backend(1, make_matrix_view(logits.data(), 1, 4), o);
  CHECK(got.experts == std::vector<std::int32_t>{1});
  CHECK(got.weights[0] == Approx(0.5 * 2.5).epsilon(1e-7));  // sigmoid(0) * 2.5, not the biased 1.5
  o.norm_topk_prob = true;
  got = run_backend(1, make_matrix_view(logits.data(), 1, 4), o);
  CHECK(got.weights[0] == Approx(2.5).epsilon(1e-7));
  o.selection_bias = nullptr;
  got = run_backend(1, make_matrix_view(logits.data(), 1, 4), o);
  CHECK(got.experts == std::vector<std::int32_t>{0});
}

TEST_CASE("route rejects impossible options and outputs, naming the op", "[backend][routing][errors]") {
  const std::vector<float> logits(3 * 12, 0.5f);
  const matrix_view<const float> l = make_matrix_view(logits.data(), 3, 12);
  std::vector<std::int32_t> e(64);
  std::vector<float> w(64);
  auto run = [&](const routing_options& o, index_t rows, index_t cols) {
    cpu::backend{2}.route(l, o, make_matrix_view(e.data(), rows, cols), make_matrix_view(w.data(), rows, cols));
  };
  routing_options o;
  o.top_k = 2;
  CHECK_NOTHROW(run(o, 3, 2));
  o.n_group = 5;  // 12 experts do not split into 5 groups
  CHECK_THROWS_WITH(run(o, 3, 2), Catch::StartsWith("routing:"));
  o.n_group = 4;
  o.topk_group = 5;
  CHECK_THROWS_WITH(run(o, 3, 2), Catch::StartsWith("routing:"));
  o.topk_group = 1;
  o.top_k = 4;  // one group of 3 experts kept
  CHECK_THROWS_WITH(run(o, 3, 4), Catch::StartsWith("routing:"));
  o.top_k = 0;
  CHECK_THROWS_WITH(run(o, 3, 0), Catch::StartsWith("routing:"));
  o.top_k = 2;
  CHECK_THROWS_WITH(run(o, 3, 3), Catch::StartsWith("routing:"));
  CHECK_THROWS_WITH(run(o, 2, 2), Catch::StartsWith("routing:"));
}

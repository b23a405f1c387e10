// cpu::backend::rope against reference::rope, both layouts, 1, 2 and 3 threads, strided tokens.
//
// Tolerance: relative Frobenius error 1e-6. Each output is x_a c -+ x_b s in float: two
// products and a sum, a few ulp (2^-24 ~ 6e-8) per element; a wrong pair or angle is off by
// order 1.

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <latte/backend/cpu/backend.hpp>
#include <latte/reference/rope.hpp>

#include "harness.hpp"

using namespace latte;
using namespace latte::test;

namespace {
// A [tokens, d/2, 2] table of (cos, sin) of angles t * theta^(-2j/d), as rope/ would make it.
std::vector<float> rope_table(index_t tokens, index_t d, index_t first_position) {
  std::vector<float> cs(static_cast<std::size_t>(tokens * d));
  for (index_t t = 0; t < tokens; ++t)
    for (index_t j = 0; j < d / 2; ++j) {
      const double angle = static_cast<double>(first_position + t) * std::pow(10000.0, -2.0 * j / d);
      cs[static_cast<std::size_t>((t * (d / 2) + j) * 2)] = static_cast<float>(std::cos(angle));
      cs[static_cast<std::size_t>((t * (d / 2) + j) * 2 + 1)] = static_cast<float>(std::sin(angle));
    }
  return cs;
}

// ||got - want||_F / ||want||_F over [tokens, heads, d].
double relative_error(const dtensor_view<const float, 3>& got, const std::vector<double>& want) {
  double diff = 0.0, norm = 0.0;
  std::size_t i = 0;
  for (index_t t = 0; t < got.extent(0); ++t)
    for (index_t h = 0; h < got.extent(1); ++h)
      for (index_t c = 0; c < got.extent(2); ++c, ++i) {
        const double d = static_cast<double>(got(t, h, c)) - want[i];
        diff += d * d;
        norm += want[i] * want[i];
      }
  return std::sqrt(diff / norm);
}
}  // namespace

TEST_CASE("rope matches the reference in both layouts", "[backend][rope]") {
  const rope_layout layout = GENERATE(rope_layout::interleaved_pairs, rope_layout::halves);
  const auto [tokens, heads, d] = GENERATE(table<index_t, index_t, index_t>({{1, 1, 2}, {17, 3, 64}, {5, 128, 6}}));
  INFO((layout == rope_layout::halves ? "halves" : "interleaved") << " tokens " << tokens << " heads " << heads
                                                                    << " d " << d);
  // x is a slice of a wider per-token row (like the rope part of q): padded strides.
  const index_t head_stride = d + 2, token_stride = heads * head_stride + 5;
  const std::vector<float> x0 = random_values(static_cast<std::size_t>(tokens * token_stride), 91u);
  const std::vector<float> cs = rope_table(tokens, d, 1000);
  const dtensor_view<const float, 3> cos_sin(cs.data(), dextents<3>(tokens, d / 2, 2));
  std::vector<double> want(static_cast<std::size_t>(tokens * heads * d));
  reference::rope(dtensor_view<const float, 3>(x0.data(), dextents<3>(tokens, heads, d), {token_stride, head_stride, 1}),
                  cos_sin, layout, dtensor_view<double, 3>(want.data(), dextents<3>(tokens, heads, d)));
  for (int threads : {1, 2, 3}) {
    std::vector<float> x = x0;
    const dtensor_view<float, 3> xv(x.data(), dextents<3>(tokens, heads, d), {token_stride, head_stride, 1});
    cpu::backend{threads}.rope(xv, cos_sin, layout);
    INFO("threads " << threads);
    CHECK(relative_error(xv, want) <= 1e-6);
    // The padding between heads and tokens is untouched.
    std::size_t changed = 0;
    for (index_t t = 0; t < tokens; ++t)
      for (index_t i = heads * head_stride; i < token_stride; ++i)
        changed += x[static_cast<std::size_t>(t * token_stride + i)] != x0[static_cast<std::size_t>(t * token_stride + i)];
    CHECK(changed == 0);
  }
}

TEST_CASE("rope at position 0 is the identity and the layouts pair different elements", "[backend][rope]") {
  std::vector<float> x{1, 2, 3, 4};
  const std::vector<float> identity{1, 0, 1, 0};  // two pairs at angle 0
  const dtensor_view<const float, 3> cs0(identity.data(), dextents<3>(1, 2, 2));
  cpu::backend{1}.rope(dtensor_view<float, 3>(x.data(), dextents<3>(1, 1, 4)), cs0, rope_layout::interleaved_pairs);
  CHECK(x == std::vector<float>{1, 2, 3, 4});
  // A quarter turn of pair 0 only: interleaved turns (x0, x1), halves turns (x0, x2).
  const std::vector<float> quarter{0, 1, 1, 0};
  const dtensor_view<const float, 3> cs(quarter.data(), dextents<3>(1, 2, 2));
  cpu::backend{1}.rope(dtensor_view<float, 3>(x.data(), dextents<3>(1, 1, 4)), cs, rope_layout::interleaved_pairs);
  CHECK(x == std::vector<float>{-2, 1, 3, 4});
  x = {1, 2, 3, 4};
  cpu::backend{1}.rope(dtensor_view<float, 3>(x.data(), dextents<3>(1, 1, 4)), cs, rope_layout::halves);
  CHECK(x == std::vector<float>{-3, 2, 1, 4});
}

TEST_CASE("rope rejects odd dimensions, wrong tables and strided rows, naming the op", "[backend][rope][errors]") {
  const cpu::backend b{2};
  std::vector<float> x(64, 1.0f), cs(64, 0.5f);
  const dtensor_view<float, 3> x3(x.data(), dextents<3>(2, 2, 4));
  CHECK_NOTHROW(b.rope(x3, dtensor_view<const float, 3>(cs.data(), dextents<3>(2, 2, 2)), rope_layout::halves));
  CHECK_THROWS_WITH(b.rope(dtensor_view<float, 3>(x.data(), dextents<3>(2, 2, 5)),
                           dtensor_view<const float, 3>(cs.data(), dextents<3>(2, 2, 2)), rope_layout::halves),
                    Catch::StartsWith("rope:"));
  CHECK_THROWS_WITH(b.rope(x3, dtensor_view<const float, 3>(cs.data(), dextents<3>(1, 2, 2)), rope_layout::halves),
                    Catch::StartsWith("rope:"));
  CHECK_THROWS_WITH(b.rope(x3, dtensor_view<const float, 3>(cs.data(), dextents<3>(2, 4, 2)), rope_layout::halves),
                    Catch::StartsWith("rope:"));
  CHECK_THROWS_WITH(b.rope(x3, dtensor_view<const float, 3>(cs.data(), dextents<3>(2, 2, 1)), rope_layout::halves),
                    Catch::StartsWith("rope:"));
  CHECK_THROWS_WITH(b.rope(dtensor_view<float, 3>(x.data(), dextents<3>(2, 2, 4), {16, 8, 2}),
                           dtensor_view<const float, 3>(cs.data(), dextents<3>(2, 2, 2)), rope_layout::halves),
                    Catch::StartsWith("rope:"));
}

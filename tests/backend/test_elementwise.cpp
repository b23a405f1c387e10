// cpu::backend's row-wise primitives against the float64 references: rmsnorm, silu_mul, add,
// softmax_rows and argmax_rows, on 1, 2 and 3 threads, odd sizes and padded rows.
//
// Tolerances (relative Frobenius error unless stated):
//   rmsnorm  1e-6: the sum of squares is taken in double; what remains is two float products
//            and the float inverse root, a few ulp (2^-24 ~ 6e-8) per element.
//   silu_mul 1e-6: float exp and a division and a product, a few ulp per element.
//   add      1e-6: one float product and sum per element (at most one ulp of each term).
//   softmax  1e-6: float exp per element, the row sum in double, one float product.
//   argmax   exact.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <latte/backend/cpu/backend.hpp>
#include <latte/reference/argmax.hpp>
#include <latte/reference/rmsnorm.hpp>
#include <latte/reference/silu_mul.hpp>
#include <latte/reference/softmax.hpp>

#include "harness.hpp"

using namespace latte;
using namespace latte::test;

namespace {
constexpr double tolerance = 1e-6;
constexpr float not_a_number = std::numeric_limits<float>::quiet_NaN();

void fill(padded_matrix& m, float v) {
  for (float& e : m.data) e = v;
}
}  // namespace

TEST_CASE("rmsnorm matches the reference for every weight type", "[backend][rmsnorm]") {
  const dtype type = GENERATE(dtype::f32, dtype::bf16, dtype::f16, dtype::f8_e4m3);
  const auto [m, n] = GENERATE(table<index_t, index_t>({{1, 1}, {13, 7}, {5, 1001}, {64, 300}}));
  // Inputs of order 1, and of order 1e-3 where eps (1e-6) is as large as the mean square.
  const float scale = GENERATE(1.0f, 1e-3f);
  INFO(dtype_label(type) << " m " << m << " n " << n << " scale " << scale);
  const stored_weight w(type, 1, n, 41u);
  const padded_matrix x(m, n, 42u, 3, scale);
  double_matrix want(m, n);
  reference::rmsnorm(x.cview(), w.view(), 1e-6, want.view());
  for (int threads : {1, 2, 3}) {
    padded_matrix y(m, n, 0u, 2);
    fill(y, not_a_number);
    cpu::backend{threads}.rmsnorm(x.cview(), w.view(), 1e-6f, y.view());
    INFO("threads " << threads);
    CHECK(relative_frobenius(y.cview(), want) <= tolerance);
  }
}

TEST_CASE("rmsnorm may write over its input", "[backend][rmsnorm]") {
  const stored_weight w(dtype::bf16, 1, 129, 1u);
  padded_matrix x(6, 129, 2u);
  double_matrix want(6, 129);
  reference::rmsnorm(x.cview(), w.view(), 1e-6, want.view());
  cpu::backend{3}.rmsnorm(x.cview(), w.view(), 1e-6f, x.view());
  CHECK(relative_frobenius(x.cview(), want) <= tolerance);
}

TEST_CASE("silu_mul matches the reference", "[backend][silu_mul]") {
  const auto [m, n] = GENERATE(table<index_t, index_t>({{1, 1}, {5, 333}, {40, 129}}));
  padded_matrix gate(m, n, 51u, 3, 8.0f), up(m, n, 52u, 1);
  gate.view()(0, 0) = -80.0f;  // exp(80) is large but finite in float
  if (n > 1) gate.view()(0, 1) = 30.0f;
  double_matrix want(m, n);
  reference::silu_mul(gate.cview(), up.cview(), want.view());
  for (int threads : {1, 2, 3}) {
    padded_matrix out(m, n, 0u, 4);
    fill(out, not_a_number);
    cpu::backend{threads}.silu_mul(gate.cview(), up.cview(), out.view());
    INFO("m " << m << " n " << n << " threads " << threads);
    CHECK(relative_frobenius(out.cview(), want) <= tolerance);
  }
}

TEST_CASE("add accumulates alpha * x into y", "[backend][add]") {
  const float alpha = GENERATE(1.0f, -0.375f);
  const padded_matrix x(17, 259, 61u);
  const padded_matrix y0(17, 259, 62u, 5);
  double_matrix want(17, 259);
  for (index_t i = 0; i < 17; ++i)
    for (index_t j = 0; j < 259; ++j) want.view()(i, j) = y0(i, j) + static_cast<double>(alpha) * x(i, j);
  for (int threads : {1, 2, 3}) {
    padded_matrix y = y0;
    cpu::backend{threads}.add(x.cview(), y.view(), alpha);
    INFO("alpha " << alpha << " threads " << threads);
    CHECK(relative_frobenius(y.cview(), want) <= tolerance);
  }
}

TEST_CASE("softmax_rows matches the reference", "[backend][softmax]") {
  const auto [m, n] = GENERATE(table<index_t, index_t>({{1, 1}, {7, 1001}, {33, 64}}));
  // Values up to 90 in magnitude: exp would overflow float without subtracting the row maximum.
  const padded_matrix x(m, n, 71u, 3, 90.0f);
  double_matrix want(m, n);
  reference::softmax_rows(x.cview(), want.view());
  for (int threads : {1, 2, 3}) {
    padded_matrix y = x;
    cpu::backend{threads}.softmax_rows(y.view());
    INFO("m " << m << " n " << n << " threads " << threads);
    CHECK(relative_frobenius(y.cview(), want) <= tolerance);
  }
}

TEST_CASE("argmax_rows returns the first index of the largest value", "[backend][argmax]") {
  const index_t m = 9, n = 1003;
  padded_matrix x(m, n, 81u, 2);
  x.view()(1, 500) = 5.0f;  // a clear maximum
  x.view()(2, 10) = 2.0f;   // a tie: the first wins
  x.view()(2, 900) = 2.0f;
  for (index_t j = 0; j < n; ++j) x.view()(3, j) = 0.25f;  // all equal: index 0
  for (index_t j = 0; j < n - 1; ++j) x.view()(4, j) = -std::numeric_limits<float>::infinity();
  x.view()(5, n - 1) = 3.0f;  // the last column
  std::vector<std::int32_t> want(static_cast<std::size_t>(m));
  reference::argmax_rows(x.cview(), make_vector_view(want.data(), m));
  CHECK(want[1] == 500);
  CHECK(want[2] == 10);
  CHECK(want[3] == 0);
  CHECK(want[4] == n - 1);
  CHECK(want[5] == n - 1);
  for (int threads : {1, 2, 3}) {
    std::vector<std::int32_t> got(static_cast<std::size_t>(m), -1);
    cpu::backend{threads}.argmax_rows(x.cview(), make_vector_view(got.data(), m));
    INFO("threads " << threads);
    CHECK(got == want);
  }
}

TEST_CASE("row-wise primitives reject mismatched shapes and strides, naming the op", "[backend][errors]") {
  const cpu::backend b{2};
  padded_matrix x(4, 8, 1u), y(4, 8, 2u), z(4, 9, 3u), tall(5, 8, 4u);
  const stored_weight w(dtype::f32, 1, 8, 5u), w9(dtype::f32, 1, 9, 6u), w2(dtype::f32, 2, 8, 7u);
  // Column-major views of the same data: the primitives read rows contiguously.
  const matrix_view<const float> xt(x.data.data(), dextents<2>(4, 8), {1, 4});
  const matrix_view<float> yt(y.data.data(), dextents<2>(4, 8), {1, 4});

  CHECK_THROWS_WITH(b.rmsnorm(x.cview(), w9.view(), 1e-6f, y.view()), Catch::StartsWith("rmsnorm:"));
  CHECK_THROWS_WITH(b.rmsnorm(x.cview(), w2.view(), 1e-6f, y.view()), Catch::StartsWith("rmsnorm:"));
  CHECK_THROWS_WITH(b.rmsnorm(x.cview(), w.view(), 1e-6f, tall.view()), Catch::StartsWith("rmsnorm:"));
  CHECK_THROWS_WITH(b.rmsnorm(xt, w.view(), 1e-6f, y.view()), Catch::StartsWith("rmsnorm:"));

  CHECK_THROWS_WITH(b.silu_mul(x.cview(), z.cview(), y.view()), Catch::StartsWith("silu_mul:"));
  CHECK_THROWS_WITH(b.silu_mul(x.cview(), x.cview(), tall.view()), Catch::StartsWith("silu_mul:"));
  CHECK_THROWS_WITH(b.silu_mul(x.cview(), xt, y.view()), Catch::StartsWith("silu_mul:"));

  CHECK_THROWS_WITH(b.add(x.cview(), z.view()), Catch::StartsWith("add:"));
  CHECK_THROWS_WITH(b.add(x.cview(), yt), Catch::StartsWith("add:"));

  CHECK_THROWS_WITH(b.softmax_rows(yt), Catch::StartsWith("softmax_rows:"));

  std::vector<std::int32_t> ids(4);
  CHECK_THROWS_WITH(b.argmax_rows(x.cview(), make_vector_view(ids.data(), 3)), Catch::StartsWith("argmax_rows:"));
  CHECK_THROWS_WITH(b.argmax_rows(make_matrix_view<const float>(x.data.data(), 4, 0), make_vector_view(ids.data(), 4)),
                    Catch::StartsWith("argmax_rows:"));
  CHECK_THROWS_WITH(b.argmax_rows(xt, make_vector_view(ids.data(), 4)), Catch::StartsWith("argmax_rows:"));
}

TEST_CASE("row-wise primitives accept empty inputs", "[backend][elementwise]") {
  const cpu::backend b{3};
  std::vector<float> buf(8, 1.0f);
  const matrix_view<float> none = make_matrix_view(buf.data(), 0, 8);
  const matrix_view<float> empty_rows = make_matrix_view(buf.data(), 2, 0);
  const stored_weight w(dtype::f32, 1, 8, 1u);
  CHECK_NOTHROW(b.rmsnorm(none, w.view(), 1e-6f, none));
  CHECK_NOTHROW(b.silu_mul(none, none, none));
  CHECK_NOTHROW(b.add(none, none, 1.0f));
  CHECK_NOTHROW(b.softmax_rows(none));
  CHECK_NOTHROW(b.softmax_rows(empty_rows));  // rows of no elements: nothing to read
}

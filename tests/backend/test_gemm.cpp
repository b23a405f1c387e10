// cpu::backend::gemm and gemm_batched against reference::gemm (float64 over the dequantised
// weight), for weights stored in f32, bf16, f16 and fp8 with 128 x 128 block scales, both
// layouts, 1, 2 and 3 threads, decode (m = 1) and prefill shapes, padded row strides, views
// into larger weights, alpha and beta.
//
// Tolerance: relative Frobenius error 1e-5. The backend multiplies exactly the values the
// reference multiplies (widening is exact; an fp8 scale costs one float rounding, 6e-8
// relative) and accumulates in float32: each dot product of length k <= 300 carries a rounding
// error of order sqrt(k) * 2^-24 * |terms| (blocked, FMA) ~ 1e-6 relative, well below 1e-5,
// while a wrong element, block scale, stride or tile edge gives errors of order 1e-2 or more.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <tuple>
#include <vector>

#include <latte/backend/cpu/backend.hpp>
#include <latte/reference/gemm.hpp>

#include "harness.hpp"

using namespace latte;
using namespace latte::test;

namespace {
constexpr double gemm_tolerance = 1e-5;
constexpr float not_a_number = std::numeric_limits<float>::quiet_NaN();

void fill(padded_matrix& y, float v) {
  for (float& e : y.data) e = v;
}

// Runs the backend on 1, 2 and 3 threads and compares each result with `want`. y starts as
// `y0` (NaN unless beta uses it).
void check_gemm(const padded_matrix& x, const weight_view& w, const padded_matrix& y0, const gemm_options& o,
                const double_matrix& want) {
  for (int threads : {1, 2, 3}) {
    padded_matrix y = y0;
    cpu::backend{threads}.gemm(x.cview(), w, y.view(), o);
    INFO("threads " << threads);
    CHECK(relative_frobenius(y.cview(), want) <= gemm_tolerance);
  }
}
}  // namespace

TEST_CASE("gemm matches the reference for every weight type, layout and shape", "[backend][gemm]") {
  const dtype type = GENERATE(dtype::f32, dtype::bf16, dtype::f16, dtype::f8_e4m3);
  const weight_layout layout = GENERATE(weight_layout::out_in, weight_layout::in_out);
  // m, k, n: decode (m <= 4: the widening dot product for out_in weights); odd sizes; fp8
  // partial edge blocks in both directions; tall and narrow (the backend splits rows rather than
  // weight columns).
  const auto [m, k, n] = GENERATE(table<index_t, index_t, index_t>(
      {{1, 300, 270}, {3, 129, 17}, {4, 260, 131}, {7, 131, 259}, {150, 300, 270}, {513, 64, 20}, {1, 1, 1}, {2, 5, 3}}));
  const bool out_in = layout == weight_layout::out_in;
  INFO(dtype_label(type) << (out_in ? " out_in" : " in_out") << " m " << m << " k " << k << " n " << n);

  const stored_weight w(type, out_in ? n : k, out_in ? k : n, 11u + static_cast<std::uint32_t>(k));
  const padded_matrix x(m, k, 7u);
  double_matrix want(m, n);
  gemm_options o;
  o.layout = layout;
  reference::gemm(x.cview(), w.view(), want.view(), o);
  padded_matrix y0(m, n, 0u, 5);
  fill(y0, not_a_number);  // beta 0: y is not read
  check_gemm(x, w.view(), y0, o, want);
}

TEST_CASE("gemm reads sub-views of a weight with their own scale-grid position", "[backend][gemm]") {
  const dtype type = GENERATE(dtype::f8_e4m3, dtype::bf16, dtype::f32);
  const weight_layout layout = GENERATE(weight_layout::out_in, weight_layout::in_out);
  const index_t m = GENERATE(1, 33);
  // [400, 520] in blocks of 128; the view starts inside blocks and ends inside blocks.
  const stored_weight full(type, 400, 520, 3u);
  const weight_view w = full.view().row_range(70, 200).col_range(100, 300);
  const bool out_in = layout == weight_layout::out_in;
  const index_t k = out_in ? w.cols : w.rows, n = out_in ? w.rows : w.cols;
  INFO(dtype_label(type) << (out_in ? " out_in" : " in_out") << " m " << m);

  const padded_matrix x(m, k, 5u);
  double_matrix want(m, n);
  gemm_options o;
  o.layout = layout;
  reference::gemm(x.cview(), w, want.view(), o);
  padded_matrix y0(m, n, 0u);
  fill(y0, not_a_number);
  check_gemm(x, w, y0, o, want);
}

TEST_CASE("gemm applies alpha and beta", "[backend][gemm]") {
  const dtype type = GENERATE(dtype::f32, dtype::f8_e4m3);
  const weight_layout layout = GENERATE(weight_layout::out_in, weight_layout::in_out);
  const auto [alpha, beta] = GENERATE(table<float, float>({{0.75f, -0.5f}, {-2.0f, 1.0f}, {1.0f, 0.0f}, {0.0f, 3.0f}}));
  const index_t m = GENERATE(1, 9), k = 200, n = 150;
  const bool out_in = layout == weight_layout::out_in;
  INFO(dtype_label(type) << (out_in ? " out_in" : " in_out") << " m " << m << " alpha " << alpha << " beta " << beta);

  const stored_weight w(type, out_in ? n : k, out_in ? k : n, 21u);
  const padded_matrix x(m, k, 22u);
  padded_matrix y0(m, n, 23u, 4);
  if (beta == 0.0f) fill(y0, not_a_number);
  double_matrix want(m, n);
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j) want.view()(i, j) = y0(i, j);
  gemm_options o;
  o.alpha = alpha;
  o.beta = beta;
  o.layout = layout;
  reference::gemm(x.cview(), w.view(), want.view(), o);
  check_gemm(x, w.view(), y0, o, want);
}

TEST_CASE("gemm with an empty inner dimension scales y by beta", "[backend][gemm]") {
  std::vector<float> none(1);
  const weight_view w = make_weight_view(none.data(), 4, 0);
  const matrix_view<const float> x = make_matrix_view<const float>(none.data(), 3, 0);
  padded_matrix y(3, 4, 1u);
  const padded_matrix y0 = y;
  cpu::backend{2}.gemm(x, w, y.view(), {1.0f, 2.0f, weight_layout::out_in});
  for (index_t i = 0; i < 3; ++i)
    for (index_t j = 0; j < 4; ++j) REQUIRE(y(i, j) == 2.0f * y0(i, j));
  fill(y, not_a_number);
  cpu::backend{2}.gemm(x, w, y.view(), {});
  for (index_t i = 0; i < 3; ++i)
    for (index_t j = 0; j < 4; ++j) REQUIRE(y(i, j) == 0.0f);
}

TEST_CASE("gemm_batched multiplies matrix i by rows i * row_step of the weight", "[backend][gemm]") {
  const dtype type = GENERATE(dtype::f32, dtype::bf16, dtype::f8_e4m3);
  const weight_layout layout = GENERATE(weight_layout::out_in, weight_layout::in_out);
  // batch 5 >= threads: one worker per matrix; batch 2 < 3 threads: workers inside each matrix.
  const index_t batch = GENERATE(5, 2);
  const index_t rows_per_matrix = 24, row_step = 40, cols = 136, m = 3;
  const bool out_in = layout == weight_layout::out_in;
  const index_t k = out_in ? cols : rows_per_matrix, n = out_in ? rows_per_matrix : cols;
  INFO(dtype_label(type) << (out_in ? " out_in" : " in_out") << " batch " << batch);

  // Like kv_b_proj's k_nope rows of each head: 24 of every 40 rows, across scale-block edges.
  const stored_weight w(type, (batch - 1) * row_step + rows_per_matrix + 7, cols, 31u);
  const index_t xs = k + 2, ys = n + 3;  // padded rows
  const std::vector<float> xd = random_values(static_cast<std::size_t>(batch * m * xs), 32u);
  const dtensor_view<const float, 3> x(xd.data(), dextents<3>(batch, m, k), {m * xs, xs, 1});
  std::vector<double_matrix> want;
  gemm_options o;
  o.layout = layout;
  for (index_t i = 0; i < batch; ++i) {
    want.emplace_back(m, n);
    reference::gemm(make_matrix_view(xd.data() + i * m * xs, m, k, xs), w.view().row_range(i * row_step, rows_per_matrix),
                    want.back().view(), o);
  }
  for (int threads : {1, 2, 3}) {
    std::vector<float> yd(static_cast<std::size_t>(batch * m * ys), not_a_number);
    const dtensor_view<float, 3> y(yd.data(), dextents<3>(batch, m, n), {m * ys, ys, 1});
    cpu::backend{threads}.gemm_batched(x, w.view(), rows_per_matrix, row_step, y, o);
    for (index_t i = 0; i < batch; ++i) {
      INFO("threads " << threads << " matrix " << i);
      CHECK(relative_frobenius(make_matrix_view<const float>(yd.data() + i * m * ys, m, n, ys), want[static_cast<std::size_t>(i)]) <=
            gemm_tolerance);
    }
  }
}

TEST_CASE("gemm and gemm_batched reject mismatched shapes, naming the op", "[backend][gemm][errors]") {
  const cpu::backend b{2};
  std::vector<float> buf(4096, 1.0f);
  const weight_view w = make_weight_view(buf.data(), 8, 16);  // [n 8, k 16]
  const matrix_view<const float> x = make_matrix_view<const float>(buf.data(), 4, 16);
  const matrix_view<float> y = make_matrix_view(buf.data() + 1024, 4, 8);
  CHECK_NOTHROW(b.gemm(x, w, y));
  CHECK_THROWS_WITH(b.gemm(make_matrix_view<const float>(buf.data(), 4, 15), w, y),
                    Catch::StartsWith("gemm:") && Catch::Contains("15"));
  CHECK_THROWS_WITH(b.gemm(x, w, make_matrix_view(buf.data() + 1024, 4, 9)), Catch::StartsWith("gemm:"));
  CHECK_THROWS_WITH(b.gemm(x, w, make_matrix_view(buf.data() + 1024, 3, 8)), Catch::StartsWith("gemm:"));
  // in_out reads w as [k 8, n 16]: x's 16 columns no longer match.
  CHECK_THROWS_WITH(b.gemm(x, w, y, {1.0f, 0.0f, weight_layout::in_out}), Catch::StartsWith("gemm:"));
  // Column-major x.
  const matrix_view<const float> xt(buf.data(), dextents<2>(4, 16), {1, 4});
  CHECK_THROWS_WITH(b.gemm(xt, w, y), Catch::StartsWith("gemm:") && Catch::Contains("unit column stride"));
  // Integer weights are not a float matrix.
  std::vector<std::int32_t> ints(8 * 16);
  weight_view wi = w;
  wi.type = dtype::i32;
  wi.data = ints.data();
  CHECK_THROWS_WITH(b.gemm(x, wi, y), Catch::Contains("i32"));

  const dtensor_view<const float, 3> x3(buf.data(), dextents<3>(3, 2, 16));
  const dtensor_view<float, 3> y3(buf.data() + 1024, dextents<3>(3, 2, 2));
  CHECK_NOTHROW(b.gemm_batched(x3, w, 2, 3, y3));
  CHECK_THROWS_WITH(b.gemm_batched(x3, w, 2, 4, y3), Catch::StartsWith("gemm_batched:"));  // 2 * 4 + 2 > 8 rows
  CHECK_THROWS_WITH(b.gemm_batched(x3, w, 2, 3, dtensor_view<float, 3>(buf.data() + 1024, dextents<3>(2, 2, 2))),
                    Catch::StartsWith("gemm_batched:"));
  CHECK_THROWS_WITH(b.gemm_batched(x3, w, 3, 2, y3), Catch::StartsWith("gemm"));  // y has 2 columns, matrices 3 rows
}

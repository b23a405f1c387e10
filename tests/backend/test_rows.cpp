// cpu::backend gather_rows, scatter_add_rows and dequantize against the float64 references, for
// tables in f32, bf16, f16 and fp8 with 128 x 128 block scales, whole and as sub-views, on 1, 2
// and 3 threads; repeated ids; out-of-range ids are errors.
//
// Tolerances: gather and dequantize widen exactly; only fp8's block scale costs one float
// rounding, so every element is within 2^-24 relative of the reference (0 for the other types).
// scatter_add_rows: relative Frobenius error 1e-6 (one float product and sum per contribution).

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include <latte/backend/cpu/backend.hpp>
#include <latte/reference/dequantize.hpp>
#include <latte/reference/rows.hpp>

#include "harness.hpp"

using namespace latte;
using namespace latte::test;

namespace {
const double one_rounding = std::ldexp(1.0, -24);

double widening_tolerance(dtype t) { return t == dtype::f8_e4m3 ? one_rounding : 0.0; }

void fill(padded_matrix& m, float v) {
  for (float& e : m.data) e = v;
}
}  // namespace

TEST_CASE("gather_rows reads rows of any table type, repeated ids included", "[backend][rows]") {
  const dtype type = GENERATE(dtype::f32, dtype::bf16, dtype::f16, dtype::f8_e4m3);
  const bool sub_view = GENERATE(false, true);
  INFO(dtype_label(type) << (sub_view ? " sub-view" : " whole"));
  const stored_weight full(type, 300, 200, 111u);
  const weight_view table = sub_view ? full.view().row_range(60, 200).col_range(70, 129) : full.view();
  const std::vector<std::int32_t> ids{0, 5, 5, 199, 127, 128, 0, 63, 64, 150, 5};
  const vector_view<const std::int32_t> idv = make_vector_view(ids.data(), static_cast<index_t>(ids.size()));
  double_matrix want(idv.extent(0), table.cols);
  reference::gather_rows(table, idv, want.view());
  for (int threads : {1, 2, 3}) {
    padded_matrix out(idv.extent(0), table.cols, 0u, 3);
    fill(out, std::numeric_limits<float>::quiet_NaN());
    cpu::backend{threads}.gather_rows(table, idv, out.view());
    INFO("threads " << threads);
    CHECK(max_relative_error(out.cview(), want) <= widening_tolerance(type));
  }
}

TEST_CASE("dequantize gives the float weight, block scales applied", "[backend][rows]") {
  const dtype type = GENERATE(dtype::f32, dtype::bf16, dtype::f16, dtype::f8_e4m3);
  const bool sub_view = GENERATE(false, true);
  INFO(dtype_label(type) << (sub_view ? " sub-view" : " whole"));
  const stored_weight full(type, 301, 259, 121u);
  const weight_view w = sub_view ? full.view().row_range(100, 150).col_range(1, 257) : full.view();
  double_matrix want(w.rows, w.cols);
  reference::dequantize(w, want.view());
  for (int threads : {1, 2, 3}) {
    padded_matrix out(w.rows, w.cols, 0u, 1);
    fill(out, std::numeric_limits<float>::quiet_NaN());
    cpu::backend{threads}.dequantize(w, out.view());
    INFO("threads " << threads);
    CHECK(max_relative_error(out.cview(), want) <= widening_tolerance(type));
  }
}

TEST_CASE("scatter_add_rows sums weighted rows into y, repeated ids in order", "[backend][rows]") {
  const index_t d = GENERATE(1, 150, 64);
  const index_t n = 8;
  const std::vector<std::int32_t> ids{0, 3, 3, 7, 0, 5, 3, 1, 1, 6, 0, 2, 3};
  const index_t m = static_cast<index_t>(ids.size());
  const padded_matrix x(m, d, 131u, 2);
  const std::vector<float> weights = random_values(static_cast<std::size_t>(m), 132u);
  const padded_matrix y0(n, d, 133u, 4);
  double_matrix want(n, d);
  for (index_t i = 0; i < n; ++i)
    for (index_t c = 0; c < d; ++c) want.view()(i, c) = y0(i, c);
  const vector_view<const std::int32_t> idv = make_vector_view(ids.data(), m);
  const vector_view<const float> wv = make_vector_view(weights.data(), m);
  reference::scatter_add_rows(x.cview(), idv, wv, want.view());
  for (int threads : {1, 2, 3}) {
    padded_matrix y = y0;
    cpu::backend{threads}.scatter_add_rows(x.cview(), idv, wv, y.view());
    INFO("d " << d << " threads " << threads);
    CHECK(relative_frobenius(y.cview(), want) <= 1e-6);
  }
}

TEST_CASE("row primitives reject out-of-range ids and mismatched shapes, naming the op", "[backend][rows][errors]") {
  const cpu::backend b{3};
  const stored_weight table(dtype::bf16, 10, 6, 1u);
  padded_matrix out(3, 6, 2u), wide(3, 7, 3u), y(4, 6, 4u);
  const std::vector<std::int32_t> ok{0, 9, 4}, negative{0, -1, 4}, too_large{0, 10, 4}, y_too_large{0, 4, 1};
  auto ids = [](const std::vector<std::int32_t>& v) { return make_vector_view(v.data(), static_cast<index_t>(v.size())); };

  CHECK_NOTHROW(b.gather_rows(table.view(), ids(ok), out.view()));
  CHECK_THROWS_WITH(b.gather_rows(table.view(), ids(negative), out.view()),
                    Catch::StartsWith("gather_rows:") && Catch::Contains("-1"));
  CHECK_THROWS_WITH(b.gather_rows(table.view(), ids(too_large), out.view()),
                    Catch::StartsWith("gather_rows:") && Catch::Contains("10"));
  CHECK_THROWS_WITH(b.gather_rows(table.view(), ids(ok), wide.view()), Catch::StartsWith("gather_rows:"));
  CHECK_THROWS_WITH(b.gather_rows(table.view(), ids(ok), y.view()), Catch::StartsWith("gather_rows:"));

  const std::vector<float> w(3, 1.0f);
  const vector_view<const float> wv = make_vector_view(w.data(), 3);
  CHECK_NOTHROW(b.scatter_add_rows(out.cview(), ids({0, 3, 3}), wv, y.view()));
  CHECK_THROWS_WITH(b.scatter_add_rows(out.cview(), ids(y_too_large), wv, y.view()),
                    Catch::StartsWith("scatter_add_rows:") && Catch::Contains("4"));
  CHECK_THROWS_WITH(b.scatter_add_rows(out.cview(), ids(negative), wv, y.view()), Catch::StartsWith("scatter_add_rows:"));
  CHECK_THROWS_WITH(b.scatter_add_rows(out.cview(), ids({0, 1}), make_vector_view(w.data(), 2), y.view()),
                    Catch::StartsWith("scatter_add_rows:"));
  CHECK_THROWS_WITH(b.scatter_add_rows(wide.cview(), ids(ok), wv, y.view()), Catch::StartsWith("scatter_add_rows:"));

  CHECK_THROWS_WITH(b.dequantize(table.view(), wide.view()), Catch::StartsWith("dequantize:"));
  CHECK_THROWS_WITH(b.dequantize(table.view().row_range(0, 3), wide.view()), Catch::StartsWith("dequantize:"));
  CHECK_NOTHROW(b.dequantize(table.view().row_range(2, 3), out.view()));
}

TEST_CASE("allocate, upload and download move host data through backend buffers", "[backend][memory]") {
  const cpu::backend b{2};
  STATIC_REQUIRE(backend_policy<cpu::backend>);
  cpu::backend::buffer<float> buf = b.allocate<float>(1000);
  REQUIRE(buf.size() == 1000);
  for (float v : buf) REQUIRE(v == 0.0f);
  const std::vector<float> src = random_values(1000, 141u);
  b.upload(std::span<const float>(src), buf.data());
  b.synchronize();
  std::vector<float> back(1000);
  b.download(buf.data(), std::span<float>(back));
  CHECK(back == src);
  b.upload(std::span<const float>(), buf.data());  // empty copies are fine
  b.download(buf.data(), std::span<float>());
  const cpu::backend::buffer<std::int32_t> ids = b.allocate<std::int32_t>(0);
  CHECK(ids.empty());
}

TEST_CASE("every fp8 code widens to its exact value", "[backend][rows]") {
  // One row of all 256 codes, read without and with a block scale of 1, whole and from column 3.
  std::vector<fp8_e4m3> codes(256);
  for (int b = 0; b < 256; ++b) codes[static_cast<std::size_t>(b)] = fp8_e4m3::from_bits(static_cast<std::uint8_t>(b));
  const std::vector<float> unit_scales(2, 1.0f);
  for (const float* scales : {static_cast<const float*>(nullptr), unit_scales.data()}) {
    const weight_view w = make_weight_view(codes.data(), 1, 256, scales);
    for (index_t first : {0, 3}) {
      const weight_view v = w.col_range(first, 256 - first);
      std::vector<float> out(static_cast<std::size_t>(v.cols));
      cpu::backend{1}.dequantize(v, make_matrix_view(out.data(), 1, v.cols));
      std::size_t wrong = 0;
      for (index_t c = 0; c < v.cols; ++c) {
        const float want = codes[static_cast<std::size_t>(first + c)].to_float();
        const float got = out[static_cast<std::size_t>(c)];
        const bool same = std::isnan(want) ? std::isnan(got) : got == want && std::signbit(got) == std::signbit(want);
        if (!same && ++wrong <= 4) FAIL_CHECK("code 0x" << std::hex << first + c << ": " << got << ", expected " << want);
      }
      CHECK(wrong == 0);
    }
  }
}

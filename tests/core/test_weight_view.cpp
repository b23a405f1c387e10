// weight_view: construction, row and column ranges (data offset, sizes, and the fp8 scale grid
// position they keep), scale_at, and the errors of ranges outside the matrix.

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include <latte/core/weight_view.hpp>

using namespace latte;

TEST_CASE("make_weight_view describes a contiguous matrix", "[core][weight_view]") {
  std::vector<bf16> q(6 * 10);
  const weight_view w = make_weight_view(q.data(), 6, 10);
  CHECK(w.type == dtype::bf16);
  CHECK(w.data == q.data());
  CHECK(w.rows == 6);
  CHECK(w.cols == 10);
  CHECK(w.row_stride == 10);
  CHECK_FALSE(w.has_block_scales());
  CHECK(w.scale_cols == 0);
  CHECK(w.row0 == 0);
  CHECK(w.col0 == 0);
  CHECK(w.scale_at(5, 9) == 1.0f);

  std::vector<fp8_e4m3> f8(300 * 200);
  std::vector<float> scales(3 * 2);
  const weight_view s = make_weight_view(f8.data(), 300, 200, scales.data());
  CHECK(s.type == dtype::f8_e4m3);
  CHECK(s.has_block_scales());
  CHECK(s.scale_cols == 2);  // ceil(200 / 128)
  CHECK(s.block == 128);
  const weight_view small = make_weight_view(f8.data(), 300, 200, scales.data(), 64);
  CHECK(small.scale_cols == 4);  // ceil(200 / 64)
}

TEST_CASE("row and column ranges point at their first element", "[core][weight_view]") {
  std::vector<float> f(7 * 9);
  for (std::size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(i);
  const weight_view w = make_weight_view(f.data(), 7, 9);
  const weight_view r = w.row_range(2, 3);
  CHECK(r.rows == 3);
  CHECK(r.cols == 9);
  CHECK(r.row_stride == 9);
  CHECK(static_cast<const float*>(r.data)[0] == 18.0f);
  const weight_view c = r.col_range(4, 5);
  CHECK(c.rows == 3);
  CHECK(c.cols == 5);
  CHECK(c.row_stride == 9);  // still rows of the full matrix
  CHECK(static_cast<const float*>(c.data)[0] == 22.0f);
  CHECK(static_cast<const float*>(c.data)[2 * c.row_stride + 4] == 44.0f);  // element (2, 4) = w(4, 8)
  CHECK(c.row0 == 2);
  CHECK(c.col0 == 4);

  // Byte offsets scale with the element size.
  std::vector<fp16> h(7 * 9);
  const weight_view hv = make_weight_view(h.data(), 7, 9).row_range(1, 2).col_range(3, 1);
  CHECK(hv.data == static_cast<const void*>(h.data() + 9 + 3));
  std::vector<fp8_e4m3> q(7 * 9);
  const weight_view qv = make_weight_view(q.data(), 7, 9).col_range(5, 4).row_range(6, 1);
  CHECK(qv.data == static_cast<const void*>(q.data() + 6 * 9 + 5));
  // Empty ranges at the end are allowed.
  CHECK(w.row_range(7, 0).rows == 0);
  CHECK(w.col_range(9, 0).cols == 0);
}

TEST_CASE("sub-views keep their place in the fp8 scale grid", "[core][weight_view]") {
  // [300, 200] in 128 x 128 blocks: a 3 x 2 grid with partial edge blocks.
  const index_t rows = 300, cols = 200;
  std::vector<fp8_e4m3> q(static_cast<std::size_t>(rows * cols));
  std::vector<float> grid{1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  const weight_view w = make_weight_view(q.data(), rows, cols, grid.data());
  auto expected = [&](index_t r, index_t c) { return grid[static_cast<std::size_t>((r / 128) * 2 + c / 128)]; };
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) REQUIRE(w.scale_at(r, c) == expected(r, c));

  // A view that straddles block edges in both directions, built in either order and in steps.
  const index_t r0 = 100, c0 = 120;
  const weight_view a = w.row_range(r0, 170).col_range(c0, 70);
  const weight_view b = w.col_range(c0, 70).row_range(r0, 170);
  const weight_view steps = w.row_range(50, 250).col_range(60, 140).row_range(r0 - 50, 170).col_range(c0 - 60, 70);
  for (const weight_view& v : {a, b, steps}) {
    CHECK(v.row0 == r0);
    CHECK(v.col0 == c0);
    CHECK(v.scale_cols == 2);
    for (index_t r = 0; r < v.rows; ++r)
      for (index_t c = 0; c < v.cols; ++c) REQUIRE(v.scale_at(r, c) == expected(r0 + r, c0 + c));
  }
  CHECK(a.scale_at(0, 0) == 1.0f);
  CHECK(a.scale_at(0, 8) == 2.0f);    // column 128
  CHECK(a.scale_at(28, 0) == 3.0f);   // row 128
  CHECK(a.scale_at(169, 69) == 6.0f); // row 269, column 189
}

TEST_CASE("ranges outside the matrix throw latte::error naming them", "[core][weight_view]") {
  std::vector<float> f(4 * 5);
  const weight_view w = make_weight_view(f.data(), 4, 5);
  CHECK_THROWS_WITH(w.row_range(3, 2), "weight_view: rows [3, 5) outside [0, 4)");
  CHECK_THROWS_WITH(w.col_range(2, 4), "weight_view: columns [2, 6) outside [0, 5)");
  CHECK_THROWS_AS(w.row_range(-1, 1), latte::error);
  CHECK_THROWS_AS(w.col_range(0, -1), latte::error);
  CHECK_THROWS_AS(w.row_range(1, 2).row_range(1, 2), latte::error);  // bounds of the sub-view, not the parent
  CHECK_NOTHROW(w.row_range(1, 2).row_range(1, 1));
}

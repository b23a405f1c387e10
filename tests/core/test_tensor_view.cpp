// tensor_view: row-major and explicit strides, element access, const conversion, contiguity, row
// and column blocks, and require_shape's errors.

#include <catch2/catch.hpp>

#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include <latte/core/tensor_view.hpp>

using namespace latte;

TEST_CASE("a row-major view has the usual strides and addresses", "[core][tensor_view]") {
  std::vector<float> data(2 * 3 * 4);
  std::iota(data.begin(), data.end(), 0.0f);
  const dtensor_view<float, 3> v(data.data(), dextents<3>(2, 3, 4));
  CHECK(v.stride(0) == 12);
  CHECK(v.stride(1) == 4);
  CHECK(v.stride(2) == 1);
  CHECK(v.size() == 24);
  CHECK_FALSE(v.empty());
  CHECK(v.is_contiguous());
  for (index_t i = 0; i < 2; ++i)
    for (index_t j = 0; j < 3; ++j)
      for (index_t k = 0; k < 4; ++k) REQUIRE(v(i, j, k) == static_cast<float>(i * 12 + j * 4 + k));
  v(1, 2, 3) = -1.0f;  // writes through
  CHECK(data[23] == -1.0f);
}

TEST_CASE("static and mixed extents give the same view", "[core][tensor_view]") {
  std::vector<int> data(5 * 4);
  std::iota(data.begin(), data.end(), 0);
  const tensor_view<int, extents<dynamic_extent, 4>> mixed(data.data(), extents<dynamic_extent, 4>(5));
  const tensor_view<int, extents<5, 4>> fixed(data.data(), extents<5, 4>());
  CHECK(mixed.stride(0) == 4);
  CHECK(fixed.stride(0) == 4);
  CHECK(mixed(3, 2) == 14);
  CHECK(fixed(3, 2) == 14);
  CHECK(mixed.shape() == fixed.shape());
}

TEST_CASE("explicit strides address any layout", "[core][tensor_view]") {
  std::vector<float> data(6);
  std::iota(data.begin(), data.end(), 0.0f);
  // A column-major 2 x 3 view of the same memory.
  const matrix_view<float> t(data.data(), dextents<2>(2, 3), {1, 2});
  CHECK(t(0, 0) == 0.0f);
  CHECK(t(1, 0) == 1.0f);
  CHECK(t(0, 2) == 4.0f);
  CHECK(t(1, 2) == 5.0f);
  CHECK_FALSE(t.is_contiguous());
  // A padded row stride.
  const matrix_view<float> p = make_matrix_view(data.data(), 2, 2, 3);
  CHECK(p(1, 1) == 4.0f);
  CHECK(p.stride(0) == 3);
  CHECK_FALSE(p.is_contiguous());
  // Dimensions of extent 1 do not break contiguity whatever their stride.
  const matrix_view<float> row(data.data(), dextents<2>(1, 6), {99, 1});
  CHECK(row.is_contiguous());
}

TEST_CASE("views of T convert to views of const T, not back", "[core][tensor_view]") {
  std::vector<float> data(12, 1.5f);
  const matrix_view<float> m = make_matrix_view(data.data(), 3, 4, 4);
  const matrix_view<const float> c = m;
  CHECK(c.data() == m.data());
  CHECK(c.shape() == m.shape());
  CHECK(c.strides() == m.strides());
  CHECK(c(2, 3) == 1.5f);
  STATIC_REQUIRE(std::is_convertible_v<matrix_view<float>, matrix_view<const float>>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<matrix_view<const float>, matrix_view<float>>);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<matrix_view<float>, matrix_view<const float>>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<matrix_view<float>, matrix_view<const double>>);
  STATIC_REQUIRE(std::is_same_v<decltype(c(0, 0)), const float&>);
}

TEST_CASE("row and column blocks keep the parent's strides", "[core][tensor_view]") {
  std::vector<float> data(5 * 7);
  std::iota(data.begin(), data.end(), 0.0f);
  const matrix_view<float> m = make_matrix_view(data.data(), 5, 7);

  const matrix_view<float> rows = row_block(m, 1, 3);
  CHECK(rows.extent(0) == 3);
  CHECK(rows.extent(1) == 7);
  CHECK(rows.stride(0) == 7);
  CHECK(rows(0, 0) == 7.0f);
  CHECK(rows(2, 6) == 27.0f);
  CHECK(rows.is_contiguous());

  const matrix_view<float> cols = col_block(m, 2, 4);
  CHECK(cols.extent(0) == 5);
  CHECK(cols.extent(1) == 4);
  CHECK(cols.stride(0) == 7);
  CHECK(cols(0, 0) == 2.0f);
  CHECK(cols(4, 3) == 33.0f);
  CHECK_FALSE(cols.is_contiguous());

  const matrix_view<float> both = col_block(row_block(m, 2, 2), 5, 2);
  CHECK(both(0, 0) == 19.0f);
  CHECK(both(1, 1) == 27.0f);

  const matrix_view<const float> cm = m;
  const matrix_view<const float> crows = row_block(cm, 4, 1);
  CHECK(crows(0, 6) == 34.0f);
  CHECK(row_block(m, 5, 0).empty());
}

TEST_CASE("require_shape names the view and the dimension", "[core][tensor_view]") {
  std::vector<float> data(12);
  const dtensor_view<float, 3> v(data.data(), dextents<3>(2, 3, 2));
  CHECK_NOTHROW(require_shape(v, "q", 2, 3, 2));
  try {
    require_shape(v, "q_rope", 2, 4, 2);
    FAIL("require_shape accepted a wrong shape");
  } catch (const latte::error& e) {
    CHECK(std::string(e.what()) == "q_rope: dimension 1 is 3, expected 4");
  }
  CHECK_THROWS_AS(require_shape(v, "x", 3, 3, 2), latte::error);
  CHECK_THROWS_WITH(require_shape(v, "x", 2, 3, 1), "x: dimension 2 is 2, expected 1");
}

TEST_CASE("vector views and default views", "[core][tensor_view]") {
  std::vector<double> data{1, 2, 3};
  const vector_view<double> v = make_vector_view(data.data(), 3);
  CHECK(v.extent(0) == 3);
  CHECK(v(2) == 3.0);
  const matrix_view<float> none;
  CHECK(none.data() == nullptr);
  CHECK(none.empty());
}

// extents: static and dynamic sizes, rank queries, construction forms, size and equality.

#include <catch2/catch.hpp>

#include <type_traits>

#include <latte/core/extents.hpp>

using latte::dextents;
using latte::dynamic_extent;
using latte::extents;
using latte::index_t;

// Everything about a fully static shape is known at compile time.
static_assert(extents<2, 3, 4>::rank() == 3);
static_assert(extents<2, 3, 4>::rank_dynamic() == 0);
static_assert(extents<2, 3, 4>().size() == 24);
static_assert(extents<2, 3, 4>().extent(1) == 3);
static_assert(extents<dynamic_extent, 128>(7).extent(0) == 7);
static_assert(extents<dynamic_extent, 128>(7).size() == 7 * 128);
static_assert(extents<>::rank() == 0 && extents<>().size() == 1);
static_assert(std::is_same_v<dextents<2>, extents<dynamic_extent, dynamic_extent>>);
static_assert(std::is_same_v<extents<4>::index_type, index_t>);

TEST_CASE("only dynamic sizes take storage", "[core][extents]") {
  CHECK(std::is_empty_v<extents<2, 3>>);
  CHECK(sizeof(extents<dynamic_extent, 128>) == sizeof(index_t));
  CHECK(sizeof(extents<dynamic_extent, 4, dynamic_extent>) == 2 * sizeof(index_t));
  CHECK(sizeof(dextents<3>) == 3 * sizeof(index_t));
}

TEST_CASE("rank queries name the static and dynamic dimensions", "[core][extents]") {
  using e = extents<dynamic_extent, 16, dynamic_extent, 5>;
  CHECK(e::rank() == 4);
  CHECK(e::rank_dynamic() == 2);
  CHECK_FALSE(e::is_static(0));
  CHECK(e::is_static(1));
  CHECK_FALSE(e::is_static(2));
  CHECK(e::is_static(3));
  CHECK(e::static_extent(0) == dynamic_extent);
  CHECK(e::static_extent(1) == 16);
  CHECK(e::static_extent(3) == 5);
}

TEST_CASE("dynamic sizes alone or all sizes construct the same shape", "[core][extents]") {
  using e = extents<dynamic_extent, 16, dynamic_extent>;
  const e from_dynamic(3, 9);
  const e from_all(3, 16, 9);
  for (const e& x : {from_dynamic, from_all}) {
    CHECK(x.extent(0) == 3);
    CHECK(x.extent(1) == 16);
    CHECK(x.extent(2) == 9);
    CHECK(x.size() == 3 * 16 * 9);
  }
  CHECK(from_dynamic == from_all);
  // Sizes of any integral type convert.
  const dextents<2> d(std::size_t{4}, 5u);
  CHECK(d.extent(0) == 4);
  CHECK(d.extent(1) == 5);
  // A default-constructed dynamic dimension is 0.
  CHECK(dextents<2>().size() == 0);
}

TEST_CASE("extents compare by sizes, across static and dynamic forms", "[core][extents]") {
  CHECK(extents<2, 3>() == dextents<2>(2, 3));
  CHECK(dextents<2>(2, 3) == extents<2, 3>());
  CHECK(extents<dynamic_extent, 3>(2) == extents<2, dynamic_extent>(3));
  CHECK_FALSE(extents<2, 3>() == dextents<2>(3, 2));
  CHECK(extents<2, 3>() != dextents<2>(2, 4));
  CHECK_FALSE(extents<6>() == extents<2, 3>());  // different rank, same size
  CHECK_FALSE(dextents<1>(0) == dextents<2>(0, 0));
  CHECK(extents<>() == extents<>());
}

TEST_CASE("the size of a shape is the product of its sizes", "[core][extents]") {
  CHECK(dextents<3>(7, 11, 13).size() == 1001);
  CHECK(dextents<3>(7, 0, 13).size() == 0);
  CHECK(dextents<2>(index_t{1} << 20, index_t{1} << 20).size() == index_t{1} << 40);  // no 32-bit overflow
}

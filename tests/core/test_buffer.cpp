// host_buffer: 64-byte alignment, value initialisation, views and their bounds, moves, and the
// errors of impossible sizes.

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include <latte/core/bf16.hpp>
#include <latte/core/buffer.hpp>
#include <latte/core/fp8_e4m3.hpp>

using namespace latte;

namespace {
template <class T>
bool aligned_64(const T* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 64 == 0;
}
}  // namespace

TEMPLATE_TEST_CASE("buffers are 64-byte aligned and value-initialised", "[core][buffer]", float, double, std::uint8_t,
                   bf16, fp8_e4m3, std::int32_t) {
  for (std::size_t n : {std::size_t{1}, std::size_t{3}, std::size_t{63}, std::size_t{64}, std::size_t{1000},
                        std::size_t{4097}}) {
    {
      // Leave dirty memory behind for the next allocation of this size to find.
      host_buffer<TestType> dirty(n);
      std::memset(static_cast<void*>(dirty.data()), 0xab, n * sizeof(TestType));
    }
    const host_buffer<TestType> b(n);
    REQUIRE(b.size() == n);
    CHECK_FALSE(b.empty());
    CHECK(aligned_64(b.data()));
    const unsigned char* bytes = reinterpret_cast<const unsigned char*>(b.data());
    std::size_t nonzero = 0;
    for (std::size_t i = 0; i < n * sizeof(TestType); ++i) nonzero += bytes[i] != 0;
    CHECK(nonzero == 0);
  }
}

TEST_CASE("an empty buffer holds nothing", "[core][buffer]") {
  host_buffer<float> a;
  CHECK(a.empty());
  CHECK(a.size() == 0);
  CHECK(a.data() == nullptr);
  CHECK(a.begin() == a.end());
  host_buffer<float> b(0);
  CHECK(b.empty());
  CHECK(b.span().empty());
}

TEST_CASE("spans, iteration and indexing cover the elements", "[core][buffer]") {
  host_buffer<int> b(10);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<int>(i * i);
  CHECK(b.span().size() == 10);
  CHECK(b.span()[3] == 9);
  int sum = 0;
  for (int v : b) sum += v;
  CHECK(sum == 285);
  const host_buffer<int>& cb = b;
  CHECK(cb[9] == 81);
  CHECK(cb.span().data() == cb.data());
  CHECK(cb.end() - cb.begin() == 10);
}

TEST_CASE("views fit inside the buffer or throw", "[core][buffer]") {
  host_buffer<float> b(12);
  for (std::size_t i = 0; i < 12; ++i) b[i] = static_cast<float>(i);
  const matrix_view<float> m = b.view(dextents<2>(3, 4));
  CHECK(m(2, 1) == 9.0f);
  CHECK(m.stride(0) == 4);
  CHECK_NOTHROW(b.view(dextents<2>(2, 5)));  // a prefix is fine
  CHECK_NOTHROW(b.view(extents<12>()));
  CHECK_THROWS_WITH(b.view(dextents<2>(3, 5)), "host_buffer::view: shape of 15 elements exceeds the buffer's 12");
  CHECK_THROWS_AS(b.view(extents<13>()), latte::error);

  const host_buffer<float>& cb = b;
  const matrix_view<const float> cm = cb.view(dextents<2>(4, 3));
  CHECK(cm(3, 2) == 11.0f);
  CHECK_THROWS_AS(cb.view(dextents<3>(2, 2, 4)), latte::error);
}

TEST_CASE("a buffer moves and cannot be copied", "[core][buffer]") {
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<host_buffer<float>>);
  STATIC_REQUIRE(std::is_nothrow_move_constructible_v<host_buffer<float>>);
  host_buffer<float> a(5);
  a[4] = 2.0f;
  const float* p = a.data();
  host_buffer<float> b(std::move(a));
  CHECK(b.data() == p);
  CHECK(b.size() == 5);
  CHECK(b[4] == 2.0f);
  // The moved-from buffer is empty, not a null pointer with a size.
  CHECK(a.data() == nullptr);
  CHECK(a.size() == 0);
  CHECK(a.span().empty());

  host_buffer<float> c(3);
  c = std::move(b);
  CHECK(c.size() == 5);
  CHECK(c.data() == p);
  CHECK(b.size() == 0);
  CHECK(b.empty());
}

TEST_CASE("impossible sizes throw latte::error", "[core][buffer]") {
  CHECK_THROWS_WITH(host_buffer<float>(std::size_t{1} << 61),
                    Catch::Contains("host_buffer") && Catch::Contains("more than memory can hold"));
#if !defined(__SANITIZE_ADDRESS__)
  // 2^59 floats (2 EiB) pass the size check but no allocator can provide them.
  CHECK_THROWS_WITH(host_buffer<float>(std::size_t{1} << 59), Catch::Contains("host_buffer: cannot allocate"));
#endif
}

// A header that claims an absurd tensor (2^60 elements) is refused by arithmetic, before any
// allocation: this executable replaces operator new to record the largest request.

// The replacement pair below is malloc/free on both sides; GCC cannot see that through inlining.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>

#include <latte/io/checkpoint_weights.hpp>
#include <latte/io/safetensors.hpp>

#include "io_test_support.hpp"

namespace {
std::atomic<std::size_t> largest_allocation{0};
}

void* operator new(std::size_t size) {
  std::size_t seen = largest_allocation.load();
  while (size > seen && !largest_allocation.compare_exchange_weak(seen, size)) {
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
// The nothrow pair too (std::stable_sort's buffer): a sanitizer runtime would otherwise supply it,
// and memory from its allocator would reach the free() above.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return operator new(size);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

using Catch::Matchers::Contains;

TEST_CASE("bad safetensors: a 2^60-element tensor is refused before any allocation", "[io][safetensors][bad]") {
  // 2^60 F32 elements claimed over 4 bytes of data.
  const std::vector<std::byte> image =
      io_test::raw_image(R"({"w":{"dtype":"F32","shape":[1152921504606846976],"data_offsets":[0,4]}})", 4);
  largest_allocation = 0;
  CHECK_THROWS_WITH(latte::io::safetensors_file::view(image, "huge.safetensors"),
                    Contains("huge.safetensors: tensor 'w': shape [1152921504606846976] of F32 needs "
                             "4611686018427387904 bytes") &&
                        Contains("data_offsets [0, 4] hold 4"));
  CHECK(largest_allocation.load() < (std::size_t(1) << 20));

  // The same claim with matching offsets runs past the data instead.
  const std::vector<std::byte> image2 = io_test::raw_image(
      R"({"w":{"dtype":"F32","shape":[1152921504606846976],"data_offsets":[0,4611686018427387904]}})", 4);
  largest_allocation = 0;
  CHECK_THROWS_WITH(latte::io::safetensors_file::view(image2, "huge.safetensors"), Contains("out of range"));
  CHECK(largest_allocation.load() < (std::size_t(1) << 20));

  // And a weight source asked for such a shape refuses by comparison, allocating nothing big.
  const auto dir = io_test::scratch_dir("huge");
  const std::vector<float> v(4);
  latte::io::write_safetensors(dir / "model.safetensors", {latte::io::tensor_to_write::of("w", {2, 2}, v)});
  latte::io::checkpoint_weights weights{latte::io::checkpoint(dir)};
  largest_allocation = 0;
  CHECK_THROWS_WITH(weights.get("w", std::int64_t(1) << 30, std::int64_t(1) << 30),
                    Contains("tensor 'w' is [2, 2], expected [1073741824, 1073741824]"));
  CHECK(largest_allocation.load() < (std::size_t(1) << 20));
}

#pragma once
// Records the largest operator new request of the executable, so that a test can check that an
// absurd size was refused before anything big was allocated. The replacement operators below are
// definitions: include this header in exactly one translation unit of an executable.

// The replacement pair is malloc/free on both sides; GCC cannot see that through inlining.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace limits_test {
inline std::atomic<std::size_t> largest_allocation{0};
}  // namespace limits_test

void* operator new(std::size_t size) {
  std::size_t seen = limits_test::largest_allocation.load();
  while (size > seen && !limits_test::largest_allocation.compare_exchange_weak(seen, size)) {
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
// Every other form that can pair with the ones above, so that no memory of a sanitizer runtime's
// own operator new reaches free() (std::stable_sort's buffer takes the nothrow form).
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return operator new(size);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return operator new(size, tag); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

#pragma once
// host_buffer<T>: owning, 64-byte aligned host memory of n elements, value-initialised.
// Backends hand out their own buffer types with the same members (data, size, view).

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

#include "error.hpp"
#include "tensor_view.hpp"

namespace latte {

template <class T>
class host_buffer {
  static_assert(std::is_trivially_destructible_v<T>, "host_buffer holds plain numbers");

 public:
  host_buffer() = default;
  explicit host_buffer(std::size_t n) : size_(n) {
    if (n == 0) return;
    // fail() is [[noreturn]]: the compiler sees that no impossible size reaches aligned_alloc.
    if (n > (std::size_t(1) << 62) / sizeof(T)) fail("host_buffer: ", n, " elements is more than memory can hold");
    const std::size_t bytes = (n * sizeof(T) + alignment - 1) / alignment * alignment;
    void* p = std::aligned_alloc(alignment, bytes);
    if (p == nullptr) fail("host_buffer: cannot allocate ", bytes, " bytes");
    data_.reset(static_cast<T*>(p));
    for (std::size_t i = 0; i < n; ++i) new (data_.get() + i) T{};
  }

  // A moved-from buffer is empty (its size must not outlive its memory).
  host_buffer(host_buffer&& other) noexcept : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)) {}
  host_buffer& operator=(host_buffer&& other) noexcept {
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }

  T* data() noexcept { return data_.get(); }
  const T* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<T> span() noexcept { return {data(), size_}; }
  std::span<const T> span() const noexcept { return {data(), size_}; }
  T& operator[](std::size_t i) noexcept { return data_.get()[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_.get()[i]; }
  T* begin() noexcept { return data(); }
  T* end() noexcept { return data() + size_; }
  const T* begin() const noexcept { return data(); }
  const T* end() const noexcept { return data() + size_; }

  // A row-major view over the buffer; the shape must fit.
  template <class Extents>
  tensor_view<T, Extents> view(Extents shape) {
    require(static_cast<std::size_t>(shape.size()) <= size_, "host_buffer::view: shape of ", shape.size(),
            " elements exceeds the buffer's ", size_);
    return tensor_view<T, Extents>(data(), shape);
  }
  template <class Extents>
  tensor_view<const T, Extents> view(Extents shape) const {
    require(static_cast<std::size_t>(shape.size()) <= size_, "host_buffer::view: shape of ", shape.size(),
            " elements exceeds the buffer's ", size_);
    return tensor_view<const T, Extents>(data(), shape);
  }

 private:
  static constexpr std::size_t alignment = 64;
  struct free_deleter {
    void operator()(T* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<T, free_deleter> data_;
  std::size_t size_ = 0;
};

}  // namespace latte

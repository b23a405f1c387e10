#pragma once
// tensor_view<T, Extents>: a non-owning view of a strided tensor (row-major by default), after
// std::mdspan with layout_stride. It points at host or device memory alike; element access is
// only meaningful where the memory lives. Shapes in comments read [outer, ..., inner].

#include <array>
#include <cstddef>
#include <type_traits>

#include "config.hpp"
#include "error.hpp"
#include "extents.hpp"

namespace latte {

template <class T, class Extents>
class tensor_view {
 public:
  using element_type = T;
  using extents_type = Extents;
  static constexpr std::size_t rank = Extents::rank();
  using strides_type = std::array<index_t, rank>;

  constexpr tensor_view() noexcept = default;

  // Row-major (contiguous) view.
  constexpr tensor_view(T* data, Extents shape) noexcept : data_(data), shape_(shape) {
    index_t stride = 1;
    for (std::size_t r = rank; r-- > 0;) {
      strides_[r] = stride;
      stride *= shape_.extent(r);
    }
  }

  constexpr tensor_view(T* data, Extents shape, strides_type strides) noexcept
      : data_(data), shape_(shape), strides_(strides) {}

  // A view of const T from a view of T.
  template <class U>
    requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
  constexpr tensor_view(const tensor_view<U, Extents>& other) noexcept
      : data_(other.data()), shape_(other.shape()), strides_(other.strides()) {}

  constexpr T* data() const noexcept { return data_; }
  constexpr const Extents& shape() const noexcept { return shape_; }
  constexpr const strides_type& strides() const noexcept { return strides_; }
  constexpr index_t extent(std::size_t r) const noexcept { return shape_.extent(r); }
  constexpr index_t stride(std::size_t r) const noexcept { return strides_[r]; }
  constexpr index_t size() const noexcept { return shape_.size(); }
  constexpr bool empty() const noexcept { return size() == 0; }

  constexpr bool is_contiguous() const noexcept {
    index_t expected = 1;
    for (std::size_t r = rank; r-- > 0;) {
      if (shape_.extent(r) != 1 && strides_[r] != expected) return false;
      expected *= shape_.extent(r);
    }
    return true;
  }

  template <class... I>
    requires(sizeof...(I) == rank)
  LATTE_HOST_DEVICE constexpr T& operator()(I... indices) const noexcept {
    const std::array<index_t, rank> index{static_cast<index_t>(indices)...};
    index_t offset = 0;
    for (std::size_t r = 0; r < rank; ++r) offset += index[r] * strides_[r];
    return data_[offset];
  }

 private:
  T* data_ = nullptr;
  [[no_unique_address]] Extents shape_{};
  strides_type strides_{};
};

template <class T, std::size_t Rank> using dtensor_view = tensor_view<T, dextents<Rank>>;
template <class T> using vector_view = tensor_view<T, dextents<1>>;
template <class T> using matrix_view = tensor_view<T, dextents<2>>;  // [rows, cols]

// A row-major matrix view with an explicit row stride (leading dimension), the common case.
template <class T>
constexpr matrix_view<T> make_matrix_view(T* data, index_t rows, index_t cols, index_t row_stride) noexcept {
  return matrix_view<T>(data, dextents<2>(rows, cols), {row_stride, 1});
}
template <class T>
constexpr matrix_view<T> make_matrix_view(T* data, index_t rows, index_t cols) noexcept {
  return make_matrix_view(data, rows, cols, cols);
}
template <class T>
constexpr vector_view<T> make_vector_view(T* data, index_t n) noexcept {
  return vector_view<T>(data, dextents<1>(n));
}

// Rows [first, first + count) of a matrix view.
template <class T>
constexpr matrix_view<T> row_block(const matrix_view<T>& m, index_t first, index_t count) noexcept {
  return matrix_view<T>(m.data() + first * m.stride(0), dextents<2>(count, m.extent(1)), m.strides());
}
// Columns [first, first + count) of a matrix view.
template <class T>
constexpr matrix_view<T> col_block(const matrix_view<T>& m, index_t first, index_t count) noexcept {
  return matrix_view<T>(m.data() + first * m.stride(1), dextents<2>(m.extent(0), count), m.strides());
}

// Checks that a view has the expected sizes, naming it in the error.
template <class T, class E, class... Sizes>
void require_shape(const tensor_view<T, E>& v, const char* what, Sizes... sizes) {
  const std::array<index_t, sizeof...(Sizes)> expected{static_cast<index_t>(sizes)...};
  static_assert(sizeof...(Sizes) == E::rank(), "require_shape: one size per dimension");
  for (std::size_t r = 0; r < E::rank(); ++r)
    if (v.extent(r) != expected[r])
      fail(what, ": dimension ", r, " is ", v.extent(r), ", expected ", expected[r]);
}

}  // namespace latte

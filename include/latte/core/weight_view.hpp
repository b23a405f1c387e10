#pragma once
// weight_view: a linear layer's weight matrix [out, in] (row-major, as checkpoints store it) in
// any storage type, with the 128 x 128 block scales of fp8 checkpoints (SPEC.md section 8):
// w[r][c] = q[r][c] * scale_inv[r / 128][c / 128]. Views of row or column ranges keep their
// place in the scale grid, so a head's slice of kv_b_proj dequantises like the whole matrix.
// The memory may be host or device memory; a backend reads it where it lives.

#include <cstdint>

#include "dtype.hpp"
#include "error.hpp"
#include "extents.hpp"

namespace latte {

struct weight_view {
  dtype type = dtype::f32;
  const void* data = nullptr;  // element (0, 0) of this view
  index_t rows = 0;            // out features
  index_t cols = 0;            // in features
  index_t row_stride = 0;      // elements between rows
  // fp8 only: float scale_inv grid [ceil(total_rows / block), scale_cols], and where this view
  // starts in the full matrix, so that scale_inv[(row0 + r) / block][(col0 + c) / block] applies.
  const float* scale_inv = nullptr;
  index_t scale_cols = 0;
  index_t row0 = 0;
  index_t col0 = 0;
  index_t block = 128;

  bool has_block_scales() const noexcept { return scale_inv != nullptr; }

  // Rows [first, first + count).
  weight_view row_range(index_t first, index_t count) const {
    require(first >= 0 && count >= 0 && first + count <= rows, "weight_view: rows [", first, ", ", first + count,
            ") outside [0, ", rows, ")");
    weight_view v = *this;
    v.data = static_cast<const std::uint8_t*>(data) + first * row_stride * static_cast<index_t>(size_of(type));
    v.rows = count;
    v.row0 = row0 + first;
    return v;
  }

  // Columns [first, first + count).
  weight_view col_range(index_t first, index_t count) const {
    require(first >= 0 && count >= 0 && first + count <= cols, "weight_view: columns [", first, ", ",
            first + count, ") outside [0, ", cols, ")");
    weight_view v = *this;
    v.data = static_cast<const std::uint8_t*>(data) + first * static_cast<index_t>(size_of(type));
    v.cols = count;
    v.col0 = col0 + first;
    return v;
  }

  // The scale that multiplies element (r, c) of this view (1 without block scales).
  LATTE_HOST_DEVICE float scale_at(index_t r, index_t c) const noexcept {
    if (scale_inv == nullptr) return 1.0f;
    return scale_inv[((row0 + r) / block) * scale_cols + (col0 + c) / block];
  }
};

// A contiguous weight of element type T, optionally with fp8 block scales.
template <class T>
weight_view make_weight_view(const T* data, index_t rows, index_t cols, const float* scale_inv = nullptr,
                             index_t block = 128) {
  weight_view w;
  w.type = dtype_v<T>;
  w.data = data;
  w.rows = rows;
  w.cols = cols;
  w.row_stride = cols;
  w.scale_inv = scale_inv;
  w.scale_cols = scale_inv != nullptr ? (cols + block - 1) / block : 0;
  w.block = block;
  return w;
}

}  // namespace latte

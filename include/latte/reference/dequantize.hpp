#pragma once
// Reference weight decoding (SPEC.md section 8): element (r, c) of any weight_view as a double,
//   w[r][c] = float(q[r][c]) * scale_inv[(row0 + r) / block][(col0 + c) / block]
// with the scale omitted when the view has none. One element at a time, no tables, no tiles.

#include <cstdint>

#include "../core/dtype.hpp"
#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "../core/weight_view.hpp"

namespace latte::reference {

// The stored element (r, c) of w, decoded exactly, without its block scale.
inline double stored_value(const weight_view& w, index_t r, index_t c) {
  const index_t offset = r * w.row_stride + c;
  switch (w.type) {
    case dtype::f64: return static_cast<const double*>(w.data)[offset];
    case dtype::f32: return static_cast<const float*>(w.data)[offset];
    case dtype::f16: return static_cast<const fp16*>(w.data)[offset].to_float();
    case dtype::bf16: return static_cast<const bf16*>(w.data)[offset].to_float();
    case dtype::f8_e4m3: return static_cast<const fp8_e4m3*>(w.data)[offset].to_float();
    default: fail("reference: weight of type ", name_of(w.type), " is not a float matrix");
  }
}

// The block scale of element (r, c) of w: its place in the full matrix is (row0 + r, col0 + c).
inline double block_scale(const weight_view& w, index_t r, index_t c) {
  if (w.scale_inv == nullptr) return 1.0;
  const index_t block_row = (w.row0 + r) / w.block;
  const index_t block_col = (w.col0 + c) / w.block;
  return w.scale_inv[block_row * w.scale_cols + block_col];
}

// The dequantised element (r, c) of w.
inline double weight_at(const weight_view& w, index_t r, index_t c) {
  return stored_value(w, r, c) * block_scale(w, r, c);
}

// out [rows, cols] = the dequantised weight.
inline void dequantize(const weight_view& w, matrix_view<double> out) {
  require(out.extent(0) == w.rows && out.extent(1) == w.cols, "reference::dequantize: out is [", out.extent(0),
          ", ", out.extent(1), "], weight [", w.rows, ", ", w.cols, "]");
  for (index_t r = 0; r < w.rows; ++r)
    for (index_t c = 0; c < w.cols; ++c) out(r, c) = weight_at(w, r, c);
}

}  // namespace latte::reference

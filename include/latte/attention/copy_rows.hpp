#pragma once
// Copies between two matrices in backend memory through the backend contract: a float32
// weight_view of the source handed to `dequantize` is a plain copy (no scales, no conversion), so
// the same code moves rows on the CPU and on a GPU without knowing which one runs.

#include "../backend/concept.hpp"
#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "../core/weight_view.hpp"

namespace latte::attention::detail {

// src [rows, cols] and dst [rows, cols], each with unit column stride and any row stride.
template <backend_policy Backend>
void copy_rows(const Backend& backend, matrix_view<const float> src, matrix_view<float> dst) {
  require(src.extent(0) == dst.extent(0) && src.extent(1) == dst.extent(1), "copy_rows: source is [",
          src.extent(0), ", ", src.extent(1), "], destination [", dst.extent(0), ", ", dst.extent(1), "]");
  require(src.stride(1) == 1 && dst.stride(1) == 1, "copy_rows: columns must be contiguous");
  if (src.empty()) return;
  weight_view w;
  w.type = dtype::f32;
  w.data = src.data();
  w.rows = src.extent(0);
  w.cols = src.extent(1);
  w.row_stride = src.stride(0);
  backend.dequantize(w, dst);
}

// src [n, heads, d] into dst [n, heads, d]: one copy when both collapse to [n * heads, d] rows,
// else one per head.
template <backend_policy Backend>
void copy_rows(const Backend& backend, dtensor_view<const float, 3> src, dtensor_view<float, 3> dst) {
  const index_t n = src.extent(0), heads = src.extent(1), d = src.extent(2);
  require(dst.extent(0) == n && dst.extent(1) == heads && dst.extent(2) == d, "copy_rows: source is [", n, ", ",
          heads, ", ", d, "], destination [", dst.extent(0), ", ", dst.extent(1), ", ", dst.extent(2), "]");
  if (n == 0 || heads == 0) return;
  const bool collapses = (n == 1 || (src.stride(0) == heads * src.stride(1) && dst.stride(0) == heads * dst.stride(1)));
  if (collapses) {
    copy_rows(backend, make_matrix_view(src.data(), n * heads, d, src.stride(1)),
              make_matrix_view(dst.data(), n * heads, d, dst.stride(1)));
    return;
  }
  for (index_t h = 0; h < heads; ++h)
    copy_rows(backend, make_matrix_view(src.data() + h * src.stride(1), n, d, src.stride(0)),
              make_matrix_view(dst.data() + h * dst.stride(1), n, d, dst.stride(0)));
}

}  // namespace latte::attention::detail

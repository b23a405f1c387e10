#pragma once
// Reference matrix product in float64:
//   y[i][j] = alpha * sum_k x[i][k] * W(j, k) + beta * y[i][j]
// where W(j, k) = w[j][k] for weight_layout::out_in (w is [n, k], a linear layer) and w[k][j] for
// weight_layout::in_out (w is [k, n]); w is dequantised element by element (reference/dequantize.hpp).
// With beta == 0 the old y is not read, so it may hold NaN.

#include "../backend/options.hpp"
#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "../core/weight_view.hpp"
#include "dequantize.hpp"

namespace latte::reference {

// x [m, k] of any arithmetic element type; y [m, n].
template <class X>
void gemm(const matrix_view<X>& x, const weight_view& w, matrix_view<double> y, const gemm_options& options = {}) {
  const bool out_in = options.layout == weight_layout::out_in;
  const index_t m = x.extent(0), k = x.extent(1);
  const index_t n = out_in ? w.rows : w.cols;
  require((out_in ? w.cols : w.rows) == k, "reference::gemm: x has ", k, " columns, the weight's inner size is ",
          out_in ? w.cols : w.rows);
  require(y.extent(0) == m && y.extent(1) == n, "reference::gemm: y is [", y.extent(0), ", ", y.extent(1),
          "], expected [", m, ", ", n, "]");
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j) {
      double sum = 0.0;
      for (index_t p = 0; p < k; ++p)
        sum += static_cast<double>(x(i, p)) * (out_in ? weight_at(w, j, p) : weight_at(w, p, j));
      const double scaled = static_cast<double>(options.alpha) * sum;
      y(i, j) = options.beta == 0.0f ? scaled : scaled + static_cast<double>(options.beta) * y(i, j);
    }
}

}  // namespace latte::reference

#pragma once
// Reference RMSNorm in float64 (SPEC.md section 2), per row of x [m, n]:
//   y[i][c] = weight[c] * x[i][c] / sqrt(mean_c(x[i][c]^2) + eps)
// weight is a [1, n] weight_view of any storage type.

#include <cmath>

#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "../core/weight_view.hpp"
#include "dequantize.hpp"

namespace latte::reference {

template <class X>
void rmsnorm(const matrix_view<X>& x, const weight_view& weight, double eps, matrix_view<double> y) {
  const index_t m = x.extent(0), n = x.extent(1);
  require(weight.rows == 1 && weight.cols == n, "reference::rmsnorm: weight is [", weight.rows, ", ", weight.cols,
          "], expected [1, ", n, "]");
  require(y.extent(0) == m && y.extent(1) == n, "reference::rmsnorm: y's shape differs from x's");
  for (index_t i = 0; i < m; ++i) {
    double sum_of_squares = 0.0;
    for (index_t c = 0; c < n; ++c) sum_of_squares += static_cast<double>(x(i, c)) * static_cast<double>(x(i, c));
    const double rms = std::sqrt(sum_of_squares / static_cast<double>(n) + eps);
    for (index_t c = 0; c < n; ++c) y(i, c) = weight_at(weight, 0, c) * static_cast<double>(x(i, c)) / rms;
  }
}

}  // namespace latte::reference

#pragma once
// Reference softmax over each row in float64: y[i][c] = exp(x[i][c] - max_i) / sum_c exp(x[i][c] - max_i).
// Subtracting the row maximum changes nothing mathematically; it keeps exp finite.

#include <algorithm>
#include <cmath>

#include "../core/error.hpp"
#include "../core/tensor_view.hpp"

namespace latte::reference {

// x [m, n], y [m, n].
template <class X>
void softmax_rows(const matrix_view<X>& x, matrix_view<double> y) {
  const index_t m = x.extent(0), n = x.extent(1);
  require(y.extent(0) == m && y.extent(1) == n, "reference::softmax_rows: y's shape differs from x's");
  for (index_t i = 0; i < m; ++i) {
    double peak = -HUGE_VAL;
    for (index_t c = 0; c < n; ++c) peak = std::max(peak, static_cast<double>(x(i, c)));
    double sum = 0.0;
    for (index_t c = 0; c < n; ++c) sum += std::exp(static_cast<double>(x(i, c)) - peak);
    for (index_t c = 0; c < n; ++c) y(i, c) = std::exp(static_cast<double>(x(i, c)) - peak) / sum;
  }
}

}  // namespace latte::reference

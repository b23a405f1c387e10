#pragma once
// Reference row gathers and scatters in float64: the embedding lookup and the token permutation of
// mixture-of-experts.
//   gather_rows:      out[i][c] = table[ids[i]][c]            (table dequantised, any storage type)
//   scatter_add_rows: y[ids[i]][c] += weights[i] * x[i][c]    for i = 0, 1, ... in order
// Ids outside the table or y throw latte::error.

#include <cstdint>

#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "../core/weight_view.hpp"
#include "dequantize.hpp"

namespace latte::reference {

// table [rows, d], ids [m], out [m, d].
template <class I>
void gather_rows(const weight_view& table, const vector_view<I>& ids, matrix_view<double> out) {
  const index_t m = ids.extent(0);
  require(out.extent(0) == m && out.extent(1) == table.cols, "reference::gather_rows: out is [", out.extent(0), ", ",
          out.extent(1), "], expected [", m, ", ", table.cols, "]");
  for (index_t i = 0; i < m; ++i) {
    const index_t row = static_cast<index_t>(ids(i));
    require(row >= 0 && row < table.rows, "reference::gather_rows: id ", row, " outside [0, ", table.rows, ")");
    for (index_t c = 0; c < table.cols; ++c) out(i, c) = weight_at(table, row, c);
  }
}

// x [m, d], ids [m], weights [m], y [n, d].
template <class X, class I, class W>
void scatter_add_rows(const matrix_view<X>& x, const vector_view<I>& ids, const vector_view<W>& weights,
                      matrix_view<double> y) {
  const index_t m = x.extent(0), d = x.extent(1);
  require(ids.extent(0) == m && weights.extent(0) == m && y.extent(1) == d,
          "reference::scatter_add_rows: shapes of x, ids, weights and y disagree");
  for (index_t i = 0; i < m; ++i) {
    const index_t row = static_cast<index_t>(ids(i));
    require(row >= 0 && row < y.extent(0), "reference::scatter_add_rows: id ", row, " outside [0, ", y.extent(0), ")");
    for (index_t c = 0; c < d; ++c) y(row, c) += static_cast<double>(weights(i)) * static_cast<double>(x(i, c));
  }
}

}  // namespace latte::reference

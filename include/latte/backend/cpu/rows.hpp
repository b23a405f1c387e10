#pragma once
// Row gathers and scatters: embedding lookup and the token permutation of mixture-of-experts.

#include <cstdint>

#include "../../core/error.hpp"
#include "../../core/tensor_view.hpp"
#include "../../core/weight_view.hpp"
#include "convert.hpp"
#include "parallel.hpp"

namespace latte::cpu {

// out[i] = float(table[ids[i]]); ids are range-checked against the table.
inline void gather_rows(int threads, const weight_view& table, vector_view<const std::int32_t> ids,
                        matrix_view<float> out) {
  const index_t m = ids.extent(0);
  require(out.extent(0) == m && out.extent(1) == table.cols, "gather_rows: out is [", out.extent(0), ", ",
          out.extent(1), "], expected [", m, ", ", table.cols, "]");
  require(out.stride(1) == 1, "gather_rows: out needs unit column stride");
  for (index_t i = 0; i < m; ++i)
    require(ids(i) >= 0 && ids(i) < table.rows, "gather_rows: id ", ids(i), " outside [0, ", table.rows, ")");
  parallel_ranges(threads, m, 1, [&](index_t begin, index_t end) {
    for (index_t i = begin; i < end; ++i) widen_block(table, ids(i), 1, 0, table.cols, &out(i, 0), table.cols);
  });
}

// y[ids[i]] += weights[i] * x[i]. Rows of y that several i name are summed in order of i.
inline void scatter_add_rows(int threads, matrix_view<const float> x, vector_view<const std::int32_t> ids,
                             vector_view<const float> weights, matrix_view<float> y) {
  const index_t m = x.extent(0), d = x.extent(1);
  require(ids.extent(0) == m && weights.extent(0) == m, "scatter_add_rows: ", m, " rows but ", ids.extent(0),
          " ids and ", weights.extent(0), " weights");
  require(y.extent(1) == d, "scatter_add_rows: y has ", y.extent(1), " columns, x ", d);
  require(x.stride(1) == 1 && y.stride(1) == 1, "scatter_add_rows: x and y need unit column stride");
  for (index_t i = 0; i < m; ++i)
    require(ids(i) >= 0 && ids(i) < y.extent(0), "scatter_add_rows: id ", ids(i), " outside [0, ", y.extent(0), ")");
  // Columns are split between workers so that no two write one element.
  parallel_ranges(threads, d, 64, [&](index_t c0, index_t c1) {
    for (index_t i = 0; i < m; ++i) {
      const float* xr = &x(i, 0);
      float* yr = &y(ids(i), 0);
      const float w = weights(i);
      for (index_t c = c0; c < c1; ++c) yr[c] += w * xr[c];
    }
  });
}

// out = float(w), block scales applied.
inline void dequantize(int threads, const weight_view& w, matrix_view<float> out) {
  require(out.extent(0) == w.rows && out.extent(1) == w.cols, "dequantize: out is [", out.extent(0), ", ",
          out.extent(1), "], weight [", w.rows, ", ", w.cols, "]");
  require(out.stride(1) == 1, "dequantize: out needs unit column stride");
  parallel_ranges(threads, w.rows, 16, [&](index_t begin, index_t end) {
    widen_block(w, begin, end - begin, 0, w.cols, &out(begin, 0), out.stride(0));
  });
}

}  // namespace latte::cpu

#pragma once
// Row-wise elementwise primitives: silu_mul (SwiGLU's gate, SPEC.md section 5), add, softmax and
// argmax over rows.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../../core/error.hpp"
#include "../../core/tensor_view.hpp"
#include "parallel.hpp"

namespace latte::cpu {

// out = silu(gate) * up, silu(g) = g / (1 + exp(-g)).
inline void silu_mul(int threads, matrix_view<const float> gate, matrix_view<const float> up, matrix_view<float> out) {
  const index_t m = gate.extent(0), n = gate.extent(1);
  require(up.extent(0) == m && up.extent(1) == n && out.extent(0) == m && out.extent(1) == n,
          "silu_mul: gate, up and out must have one shape");
  require(gate.stride(1) == 1 && up.stride(1) == 1 && out.stride(1) == 1,
          "silu_mul: gate, up and out need unit column stride");
  parallel_ranges(threads, m, 1, [&](index_t begin, index_t end) {
    for (index_t r = begin; r < end; ++r) {
      const float* g = &gate(r, 0);
      const float* u = &up(r, 0);
      float* o = &out(r, 0);
      for (index_t c = 0; c < n; ++c) o[c] = g[c] / (1.0f + std::exp(-g[c])) * u[c];
    }
  });
}

// y += alpha * x.
inline void add(int threads, matrix_view<const float> x, matrix_view<float> y, float alpha) {
  const index_t m = x.extent(0), n = x.extent(1);
  require(y.extent(0) == m && y.extent(1) == n, "add: x is [", m, ", ", n, "], y is [", y.extent(0), ", ",
          y.extent(1), "]");
  require(x.stride(1) == 1 && y.stride(1) == 1, "add: x and y need unit column stride");
  parallel_ranges(threads, m, 1, [&](index_t begin, index_t end) {
    for (index_t r = begin; r < end; ++r) {
      const float* xr = &x(r, 0);
      float* yr = &y(r, 0);
      for (index_t c = 0; c < n; ++c) yr[c] += alpha * xr[c];
    }
  });
}

inline void softmax_rows(int threads, matrix_view<float> x) {
  const index_t m = x.extent(0), n = x.extent(1);
  require(x.stride(1) == 1, "softmax_rows: x needs unit column stride");
  if (n == 0) return;  // rows of nothing: no maximum to read
  parallel_ranges(threads, m, 1, [&](index_t begin, index_t end) {
    for (index_t r = begin; r < end; ++r) {
      float* xr = &x(r, 0);
      const float peak = *std::max_element(xr, xr + n);
      double sum = 0.0;
      for (index_t c = 0; c < n; ++c) sum += (xr[c] = std::exp(xr[c] - peak));
      const float inv = static_cast<float>(1.0 / sum);
      for (index_t c = 0; c < n; ++c) xr[c] *= inv;
    }
  });
}

// out[r] = the first index of the largest value in row r.
inline void argmax_rows(int threads, matrix_view<const float> x, vector_view<std::int32_t> out) {
  const index_t m = x.extent(0), n = x.extent(1);
  require(out.extent(0) == m, "argmax_rows: ", m, " rows but ", out.extent(0), " outputs");
  require(n > 0, "argmax_rows: rows are empty");
  require(x.stride(1) == 1, "argmax_rows: x needs unit column stride");
  parallel_ranges(threads, m, 1, [&](index_t begin, index_t end) {
    for (index_t r = begin; r < end; ++r) {
      const float* xr = &x(r, 0);
      out(r) = static_cast<std::int32_t>(std::max_element(xr, xr + n) - xr);
    }
  });
}

}  // namespace latte::cpu

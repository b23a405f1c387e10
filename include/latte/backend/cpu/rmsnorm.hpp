#pragma once
// y = w * x / sqrt(mean(x^2) + eps) per row (SPEC.md section 2); the sum of squares in double.

#include <cmath>
#include <vector>

#include "../../core/error.hpp"
#include "../../core/tensor_view.hpp"
#include "../../core/weight_view.hpp"
#include "convert.hpp"
#include "parallel.hpp"

namespace latte::cpu {

inline void rmsnorm(int threads, matrix_view<const float> x, const weight_view& weight, float eps,
                    matrix_view<float> y) {
  const index_t m = x.extent(0), n = x.extent(1);
  require(weight.rows == 1 && weight.cols == n, "rmsnorm: weight is [", weight.rows, ", ", weight.cols,
          "], expected [1, ", n, "]");
  require(y.extent(0) == m && y.extent(1) == n, "rmsnorm: output shape differs from the input's");
  require(x.stride(1) == 1 && y.stride(1) == 1, "rmsnorm: x and y need unit column stride");
  std::vector<float> w(static_cast<std::size_t>(n));
  widen_block(weight, 0, 1, 0, n, w.data(), n);
  parallel_ranges(threads, m, 1, [&](index_t begin, index_t end) {
    for (index_t r = begin; r < end; ++r) {
      const float* xr = &x(r, 0);
      float* yr = &y(r, 0);
      double sum = 0.0;
      for (index_t c = 0; c < n; ++c) sum += static_cast<double>(xr[c]) * xr[c];
      const float inv = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(n) + eps));
      for (index_t c = 0; c < n; ++c) yr[c] = w[c] * (xr[c] * inv);
    }
  });
}

}  // namespace latte::cpu

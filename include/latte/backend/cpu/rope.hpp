#pragma once
// Rotary position embedding applied in place (SPEC.md section 4). The angles come in as a table
// cos_sin [tokens, d/2, 2] that rope/ computes in double precision; this only rotates.

#include "../../core/error.hpp"
#include "../../core/tensor_view.hpp"
#include "../options.hpp"
#include "parallel.hpp"

namespace latte::cpu {

// x [tokens, heads, d] (unit inner stride); pair j of every head at token t turns by the angle
// whose (cos, sin) is cos_sin(t, j, 0..1).
inline void rope(int threads, dtensor_view<float, 3> x, dtensor_view<const float, 3> cos_sin, rope_layout layout) {
  const index_t tokens = x.extent(0), heads = x.extent(1), d = x.extent(2);
  require(d % 2 == 0, "rope: rotary dimension ", d, " is odd");
  require(cos_sin.extent(0) == tokens && cos_sin.extent(1) == d / 2 && cos_sin.extent(2) == 2,
          "rope: cos_sin is [", cos_sin.extent(0), ", ", cos_sin.extent(1), ", ", cos_sin.extent(2),
          "], expected [", tokens, ", ", d / 2, ", 2]");
  require(x.stride(2) == 1, "rope: x needs unit inner stride");
  const index_t half = d / 2;
  parallel_ranges(threads, tokens, 1, [&](index_t begin, index_t end) {
    for (index_t t = begin; t < end; ++t)
      for (index_t h = 0; h < heads; ++h) {
        float* v = &x(t, h, 0);
        for (index_t j = 0; j < half; ++j) {
          const float c = cos_sin(t, j, 0), s = cos_sin(t, j, 1);
          const index_t a = layout == rope_layout::interleaved_pairs ? 2 * j : j;
          const index_t b = layout == rope_layout::interleaved_pairs ? 2 * j + 1 : j + half;
          const float x0 = v[a], x1 = v[b];
          v[a] = x0 * c - x1 * s;
          v[b] = x0 * s + x1 * c;
        }
      }
  });
}

}  // namespace latte::cpu

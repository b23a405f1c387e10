#pragma once
// Reference rotary embedding in float64 (SPEC.md section 4), given the (cos, sin) table the
// backends take: pair j of every head of token t turns by the angle whose cosine and sine are
// cos_sin[t][j][0] and cos_sin[t][j][1]:
//   out[a] = x[a] cos - x[b] sin,   out[b] = x[a] sin + x[b] cos
// with (a, b) = (2j, 2j + 1) for interleaved pairs and (j, j + d/2) for halves.

#include "../backend/options.hpp"
#include "../core/error.hpp"
#include "../core/tensor_view.hpp"

namespace latte::reference {

// x [tokens, heads, d], cos_sin [tokens, d/2, 2], out [tokens, heads, d].
template <class X, class C>
void rope(const dtensor_view<X, 3>& x, const dtensor_view<C, 3>& cos_sin, rope_layout layout,
          dtensor_view<double, 3> out) {
  const index_t tokens = x.extent(0), heads = x.extent(1), d = x.extent(2);
  require(d % 2 == 0, "reference::rope: rotary dimension ", d, " is odd");
  require(cos_sin.extent(0) == tokens && cos_sin.extent(1) == d / 2 && cos_sin.extent(2) == 2,
          "reference::rope: cos_sin is [", cos_sin.extent(0), ", ", cos_sin.extent(1), ", ", cos_sin.extent(2),
          "], expected [", tokens, ", ", d / 2, ", 2]");
  require(out.extent(0) == tokens && out.extent(1) == heads && out.extent(2) == d,
          "reference::rope: out's shape differs from x's");
  for (index_t t = 0; t < tokens; ++t)
    for (index_t h = 0; h < heads; ++h)
      for (index_t j = 0; j < d / 2; ++j) {
        const index_t a = layout == rope_layout::interleaved_pairs ? 2 * j : j;
        const index_t b = layout == rope_layout::interleaved_pairs ? 2 * j + 1 : j + d / 2;
        const double c = static_cast<double>(cos_sin(t, j, 0)), s = static_cast<double>(cos_sin(t, j, 1));
        const double xa = static_cast<double>(x(t, h, a)), xb = static_cast<double>(x(t, h, b));
        out(t, h, a) = xa * c - xb * s;
        out(t, h, b) = xa * s + xb * c;
      }
}

}  // namespace latte::reference

#pragma once
// Reference SwiGLU gate in float64 (SPEC.md section 5): out = silu(gate) * up elementwise, with
// silu(g) = g / (1 + exp(-g)).

#include <cmath>

#include "../core/error.hpp"
#include "../core/tensor_view.hpp"

namespace latte::reference {

inline double silu(double g) { return g / (1.0 + std::exp(-g)); }

// gate [m, n], up [m, n], out [m, n].
template <class G, class U>
void silu_mul(const matrix_view<G>& gate, const matrix_view<U>& up, matrix_view<double> out) {
  const index_t m = gate.extent(0), n = gate.extent(1);
  require(up.extent(0) == m && up.extent(1) == n && out.extent(0) == m && out.extent(1) == n,
          "reference::silu_mul: gate, up and out must have one shape");
  for (index_t i = 0; i < m; ++i)
    for (index_t c = 0; c < n; ++c)
      out(i, c) = silu(static_cast<double>(gate(i, c))) * static_cast<double>(up(i, c));
}

}  // namespace latte::reference

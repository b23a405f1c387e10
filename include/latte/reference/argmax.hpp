#pragma once
// Reference argmax over each row: the first index holding the row's largest value.

#include <cstdint>

#include "../core/error.hpp"
#include "../core/tensor_view.hpp"

namespace latte::reference {

// x [m, n] (n > 0), out [m].
template <class X>
void argmax_rows(const matrix_view<X>& x, vector_view<std::int32_t> out) {
  const index_t m = x.extent(0), n = x.extent(1);
  require(n > 0 && out.extent(0) == m, "reference::argmax_rows: x is [", m, ", ", n, "], out [", out.extent(0), "]");
  for (index_t i = 0; i < m; ++i) {
    index_t best = 0;
    for (index_t c = 1; c < n; ++c)
      if (x(i, c) > x(i, best)) best = c;
    out(i) = static_cast<std::int32_t>(best);
  }
}

}  // namespace latte::reference

// A program that uses latte as an installed package (find_package) or as a subproject
// (add_subdirectory): one CPU matrix product checked against values worked out by hand.

#if __has_include(<latte/latte.hpp>)
#include <latte/latte.hpp>
#else
#include <latte/backend/cpu/backend.hpp>
#endif

#include <cstdio>

int main() {
  // x [2, 3] times a linear layer's weight w [2 out, 3 in] (bf16-stored): y = x . w^T.
  const float x[] = {1, 2, 3,
                     -1, 0, 2};
  const latte::bf16 w[] = {latte::bf16(0.5f), latte::bf16(-1.0f), latte::bf16(2.0f),
                           latte::bf16(1.0f), latte::bf16(0.25f), latte::bf16(-0.5f)};
  // Row 0: 0.5 - 2 + 6 = 4.5,  1 + 0.5 - 1.5 = 0;  row 1: -0.5 + 0 + 4 = 3.5,  -1 + 0 - 1 = -2.
  const float expected[] = {4.5f, 0.0f,
                            3.5f, -2.0f};
  float y[4] = {};
  const latte::cpu::backend cpu{2};
  cpu.gemm(latte::make_matrix_view(x, 2, 3), latte::make_weight_view(w, 2, 3), latte::make_matrix_view(y, 2, 2));
  for (int i = 0; i < 4; ++i) {
    if (y[i] != expected[i]) {
      std::fprintf(stderr, "consumer: y[%d] = %g, expected %g\n", i, static_cast<double>(y[i]),
                   static_cast<double>(expected[i]));
      return 1;
    }
  }
  std::printf("latte %d.%d.%d: cpu gemm ok\n", LATTE_VERSION_MAJOR, LATTE_VERSION_MINOR, LATTE_VERSION_PATCH);
  return 0;
}

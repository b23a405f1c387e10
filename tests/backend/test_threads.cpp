// cpu::backend opens no threads beyond its `threads`: a backend of one thread runs everything on
// the caller's thread, Eigen's products included (Eigen would otherwise open a team of
// omp_get_max_threads() for a large product), and a backend of t threads leaves at most t - 1
// OpenMP workers behind. Counted from /proc/self/status, so the test cases run in this order in a
// process of their own, and the one-thread case comes first.

#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include <latte/backend/cpu/backend.hpp>

#include "harness.hpp"

using namespace latte;
using namespace latte::test;

namespace {
// The number of threads of this process, or 0 where /proc does not tell.
int process_threads() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  return 0;
}

// Large enough for Eigen to parallelise its products, if it were allowed to.
void run_everything(const cpu::backend& b) {
  const index_t m = 192, n = 320, k = 256;
  const padded_matrix x(m, k, 1u);
  padded_matrix y(m, n, 2u);
  for (dtype t : {dtype::f32, dtype::bf16, dtype::f8_e4m3}) {
    const stored_weight w(t, n, k, 3u);
    b.gemm(x.cview(), w.view(), y.view());
    const std::vector<float> x3 = random_values(static_cast<std::size_t>(2 * m * k), 4u);
    std::vector<float> y3(static_cast<std::size_t>(2 * m * 64));
    b.gemm_batched(dtensor_view<const float, 3>(x3.data(), dextents<3>(2, m, k)), w.view(), 64, 64,
                   dtensor_view<float, 3>(y3.data(), dextents<3>(2, m, 64)));
  }
  const stored_weight norm(dtype::bf16, 1, k, 5u);
  padded_matrix z(m, k, 6u);
  b.rmsnorm(x.cview(), norm.view(), 1e-6f, z.view());
  b.silu_mul(x.cview(), x.cview(), z.view());
  b.softmax_rows(z.view());
  std::vector<float> q = random_values(static_cast<std::size_t>(64 * 8 * 64), 7u);
  const dtensor_view<const float, 3> qv(q.data(), dextents<3>(64, 8, 64));
  std::vector<float> o(q.size());
  b.attention(qv, qv, qv, dtensor_view<float, 3>(o.data(), dextents<3>(64, 8, 64)), attention_options{0.125f});
}
}  // namespace

TEST_CASE("a backend of one thread opens no threads", "[backend][threads]") {
  const int before = process_threads();
  if (before == 0) {
    WARN("/proc/self/status is not readable here");
    return;
  }
  REQUIRE(before == 1);
  run_everything(cpu::backend{1});
  CHECK(process_threads() == 1);
}

TEST_CASE("a backend of t threads opens at most t - 1 more", "[backend][threads]") {
  if (process_threads() == 0) return;
  for (int threads : {2, 3}) {
    run_everything(cpu::backend{threads});
    INFO("threads " << threads);
    CHECK(process_threads() <= threads);
  }
}

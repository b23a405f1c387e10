// CPU GEMM: latte::cpu::backend::gemm against its peers in the same binary.
//
//   f32 1024^3, y = x . w^T (a linear layer):  latte on 1 and 2 threads; Eigen's own product on
//   the same row-major data (Eigen::setNbThreads); OpenBLAS cblas_sgemm when bench/blas/bench.cmake
//   found it (openblas_set_num_threads). Run the OpenBLAS rows with OPENBLAS_CORETYPE and
//   OPENBLAS_L2_SIZE unset (PERF.md), e.g.
//     env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 bench_gemm
//   Stored weights: bf16 and fp8 (128 x 128 block scales), and f32 for comparison, at decode
//   (m = 1) and prefill (m = 256) for [4096, 4096] and [7168, 2048] weights ([out, in]).
//
// Counters are decimal: FLOP/s = 2 m n k per iteration, B/s = weight bytes + x + y per
// iteration, both over real time; the CPU column is the whole process's CPU time (all threads). At decode the weights are rotated over copies totalling more than 512 MiB, so that
// they come from memory rather than from the last-level cache.

#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include <cstdint>
#include <vector>

#include <latte/backend/cpu/backend.hpp>

#if defined(LATTE_BENCH_OPENBLAS)
#include <cblas.h>
extern "C" void openblas_set_num_threads(int threads);
#endif

namespace {

using latte::index_t;

// Deterministic non-zero values in +-[0.25, 1].
std::vector<float> values(std::size_t n, std::uint32_t seed) {
  std::vector<float> v(n);
  std::uint32_t s = seed * 2654435761u + 1u;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    const float magnitude = 0.25f + 0.75f * static_cast<float>(s >> 8) / 16777216.0f;
    x = (s & 1u) ? magnitude : -magnitude;
  }
  return v;
}

void set_counters(benchmark::State& state, double m, double n, double k, double weight_bytes) {
  using benchmark::Counter;
  state.counters["FLOP/s"] = Counter(2.0 * m * n * k, Counter::kIsIterationInvariantRate, Counter::kIs1000);
  state.counters["B/s"] =
      Counter(weight_bytes + 4.0 * (m * k + m * n), Counter::kIsIterationInvariantRate, Counter::kIs1000);
}

constexpr index_t square = 1024;

// --- f32 1024^3 --------------------------------------------------------------------------------

void gemm_f32_latte(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const std::vector<float> x = values(square * square, 1), w = values(square * square, 2);
  std::vector<float> y(square * square);
  const latte::cpu::backend cpu{threads};
  const latte::weight_view wv = latte::make_weight_view(w.data(), square, square);
  for (auto _ : state) {
    cpu.gemm(latte::make_matrix_view(x.data(), square, square), wv, latte::make_matrix_view(y.data(), square, square));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, square, square, square, 4.0 * square * square);
}

void gemm_f32_eigen(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const std::vector<float> x = values(square * square, 1), w = values(square * square, 2);
  std::vector<float> y(square * square);
  using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Map<const row_matrix> xm(x.data(), square, square), wm(w.data(), square, square);
  Eigen::Map<row_matrix> ym(y.data(), square, square);
  Eigen::setNbThreads(threads);
  for (auto _ : state) {
    ym.noalias() = xm * wm.transpose();
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  Eigen::setNbThreads(0);  // back to "as OpenMP allows", which latte's own calls rely on
  set_counters(state, square, square, square, 4.0 * square * square);
}

#if defined(LATTE_BENCH_OPENBLAS)
void gemm_f32_openblas(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const std::vector<float> x = values(square * square, 1), w = values(square * square, 2);
  std::vector<float> y(square * square);
  openblas_set_num_threads(threads);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, square, square, square, 1.0f, x.data(), square, w.data(),
                square, 0.0f, y.data(), square);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, square, square, square, 4.0 * square * square);
}
#endif

// --- stored weights at decode and prefill ------------------------------------------------------

// Weights [n, k] of type T (fp8 with block scales), `copies` of them back to back.
struct weight_copies {
  latte::dtype type;
  index_t n, k, copies;
  std::vector<std::uint8_t> bytes;
  std::vector<float> scales;

  weight_copies(latte::dtype t, index_t rows, index_t cols, index_t c) : type(t), n(rows), k(cols), copies(c) {
    const std::size_t count = static_cast<std::size_t>(n * k);
    bytes.resize(count * latte::size_of(t) * static_cast<std::size_t>(copies));
    const std::vector<float> v = values(count, 3);
    for (index_t copy = 0; copy < copies; ++copy) {
      std::uint8_t* dst = bytes.data() + count * latte::size_of(t) * static_cast<std::size_t>(copy);
      for (std::size_t i = 0; i < count; ++i) {
        switch (t) {
          case latte::dtype::f32: reinterpret_cast<float*>(dst)[i] = v[i]; break;
          case latte::dtype::bf16: reinterpret_cast<latte::bf16*>(dst)[i] = latte::bf16(v[i]); break;
          case latte::dtype::f8_e4m3: dst[i] = latte::fp8_e4m3::from_float(v[i] * 400.0f).bits; break;
          default: break;
        }
      }
    }
    if (t == latte::dtype::f8_e4m3) scales.assign(static_cast<std::size_t>(((n + 127) / 128) * ((k + 127) / 128)), 1.0f / 400.0f);
  }

  latte::weight_view view(index_t copy) const {
    latte::weight_view w;
    w.type = type;
    w.data = bytes.data() + static_cast<std::size_t>(n * k) * latte::size_of(type) * static_cast<std::size_t>(copy);
    w.rows = n;
    w.cols = k;
    w.row_stride = k;
    if (!scales.empty()) {
      w.scale_inv = scales.data();
      w.scale_cols = (k + 127) / 128;
    }
    return w;
  }
};

// Arguments: dtype, m, n, k, threads.
void gemm_stored(benchmark::State& state) {
  const auto type = static_cast<latte::dtype>(state.range(0));
  const index_t m = state.range(1), n = state.range(2), k = state.range(3);
  const int threads = static_cast<int>(state.range(4));
  const double weight_bytes = static_cast<double>(n * k) * static_cast<double>(latte::size_of(type));
  // Decode streams the weights: rotate over more than 512 MiB of them.
  const index_t copies = m == 1 ? static_cast<index_t>(512.0 * 1048576.0 / weight_bytes) + 1 : 1;
  const weight_copies w(type, n, k, copies);
  const std::vector<float> x = values(static_cast<std::size_t>(m * k), 4);
  std::vector<float> y(static_cast<std::size_t>(m * n));
  const latte::cpu::backend cpu{threads};
  index_t copy = 0;
  for (auto _ : state) {
    cpu.gemm(latte::make_matrix_view(x.data(), m, k), w.view(copy), latte::make_matrix_view(y.data(), m, n));
    copy = copy + 1 == copies ? 0 : copy + 1;
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, static_cast<double>(m), static_cast<double>(n), static_cast<double>(k), weight_bytes);
  state.SetLabel(std::string(latte::name_of(type)));
}

void stored_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"dtype", "m", "n", "k", "threads"});
  for (latte::dtype t : {latte::dtype::f32, latte::dtype::bf16, latte::dtype::f8_e4m3})
    for (index_t m : {1, 256})
      for (auto [n, k] : {std::pair<index_t, index_t>{4096, 4096}, {7168, 2048}})
        for (int threads : {1, 2}) b->Args({static_cast<std::int64_t>(t), m, n, k, threads});
}

}  // namespace

BENCHMARK(gemm_f32_latte)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);
BENCHMARK(gemm_f32_eigen)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);
#if defined(LATTE_BENCH_OPENBLAS)
BENCHMARK(gemm_f32_openblas)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);
#endif
BENCHMARK(gemm_stored)->Apply(stored_shapes)->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();

// CPU row-wise primitives at DeepSeek-V3 shapes, on 1 and 2 threads: rmsnorm over the hidden
// size (7168, bf16 weight), silu_mul over the dense MLP's intermediate size (18432), routing of
// 256 experts (8 groups keep 4, top 8, sigmoid with bias) and rope over 128 heads x 64 rotary
// dims (interleaved pairs). All are memory-bound passes: the counter B/s is the decimal rate of
// bytes read and written per iteration (activations, weights and tables once each).

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include <latte/backend/cpu/backend.hpp>

namespace {

using latte::index_t;

std::vector<float> values(std::size_t n, std::uint32_t seed, float scale = 1.0f) {
  std::vector<float> v(n);
  std::uint32_t s = seed * 2654435761u + 1u;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    const float magnitude = 0.25f + 0.75f * static_cast<float>(s >> 8) / 16777216.0f;
    x = scale * ((s & 1u) ? magnitude : -magnitude);
  }
  return v;
}

void set_bytes(benchmark::State& state, double bytes) {
  state.counters["B/s"] =
      benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

// Arguments: tokens, threads.
void rmsnorm(benchmark::State& state) {
  const index_t m = state.range(0), n = 7168;
  const latte::cpu::backend cpu{static_cast<int>(state.range(1))};
  const std::vector<float> x = values(static_cast<std::size_t>(m * n), 1);
  std::vector<latte::bf16> w(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = latte::bf16(1.0f + 0.001f * static_cast<float>(i % 97));
  std::vector<float> y(x.size());
  for (auto _ : state) {
    cpu.rmsnorm(latte::make_matrix_view(x.data(), m, n), latte::make_weight_view(w.data(), 1, n), 1e-6f,
                latte::make_matrix_view(y.data(), m, n));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, 8.0 * static_cast<double>(m * n) + 2.0 * static_cast<double>(n));
}

void silu_mul(benchmark::State& state) {
  const index_t m = state.range(0), n = 18432;
  const latte::cpu::backend cpu{static_cast<int>(state.range(1))};
  const std::vector<float> gate = values(static_cast<std::size_t>(m * n), 2, 4.0f), up = values(gate.size(), 3);
  std::vector<float> out(gate.size());
  for (auto _ : state) {
    cpu.silu_mul(latte::make_matrix_view(gate.data(), m, n), latte::make_matrix_view(up.data(), m, n),
                 latte::make_matrix_view(out.data(), m, n));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, 12.0 * static_cast<double>(m * n));
}

void route(benchmark::State& state) {
  const index_t tokens = state.range(0), experts = 256;
  const latte::cpu::backend cpu{static_cast<int>(state.range(1))};
  const std::vector<float> logits = values(static_cast<std::size_t>(tokens * experts), 4, 3.0f);
  const std::vector<float> bias = values(static_cast<std::size_t>(experts), 5, 0.1f);
  latte::routing_options o;
  o.top_k = 8;
  o.n_group = 8;
  o.topk_group = 4;
  o.norm_topk_prob = true;
  o.routed_scaling_factor = 2.5f;
  o.selection_bias = bias.data();
  std::vector<std::int32_t> chosen(static_cast<std::size_t>(tokens * o.top_k));
  std::vector<float> weights(chosen.size());
  for (auto _ : state) {
    cpu.route(latte::make_matrix_view(logits.data(), tokens, experts), o,
              latte::make_matrix_view(chosen.data(), tokens, o.top_k),
              latte::make_matrix_view(weights.data(), tokens, o.top_k));
    benchmark::DoNotOptimize(weights.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, 4.0 * static_cast<double>(tokens * experts + experts) + 8.0 * static_cast<double>(tokens * o.top_k));
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsIterationInvariantRate,
                                                  benchmark::Counter::kIs1000);
}

void rope(benchmark::State& state) {
  const index_t tokens = state.range(0), heads = 128, d = 64;
  const latte::cpu::backend cpu{static_cast<int>(state.range(1))};
  std::vector<float> x = values(static_cast<std::size_t>(tokens * heads * d), 6);
  std::vector<float> cos_sin(static_cast<std::size_t>(tokens * d));
  for (index_t t = 0; t < tokens; ++t)
    for (index_t j = 0; j < d / 2; ++j) {
      const double angle = static_cast<double>(t) * std::pow(10000.0, -2.0 * static_cast<double>(j) / d);
      cos_sin[static_cast<std::size_t>((t * (d / 2) + j) * 2)] = static_cast<float>(std::cos(angle));
      cos_sin[static_cast<std::size_t>((t * (d / 2) + j) * 2 + 1)] = static_cast<float>(std::sin(angle));
    }
  const latte::dtensor_view<float, 3> xv(x.data(), latte::dextents<3>(tokens, heads, d));
  const latte::dtensor_view<const float, 3> cs(cos_sin.data(), latte::dextents<3>(tokens, d / 2, 2));
  for (auto _ : state) {
    cpu.rope(xv, cs, latte::rope_layout::interleaved_pairs);  // rotates in place, angles stay bounded
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, 8.0 * static_cast<double>(tokens * heads * d) + 4.0 * static_cast<double>(tokens * d));
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"tokens", "threads"});
  for (index_t tokens : {1, 256})
    for (int threads : {1, 2}) b->Args({tokens, threads});
}

}  // namespace

BENCHMARK(rmsnorm)->Apply(shapes)->UseRealTime();
BENCHMARK(silu_mul)->Apply(shapes)->UseRealTime();
BENCHMARK(route)->Apply(shapes)->UseRealTime();
BENCHMARK(rope)->Apply(shapes)->UseRealTime();

BENCHMARK_MAIN();

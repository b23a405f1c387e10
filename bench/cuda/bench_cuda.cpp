// CUDA backend kernels at PERF.md's shapes, timed with CUDA events (manual time), after a
// warm-up, on random non-zero data; the working sets exceed the 50 MB L2 or the L2 is flushed
// before each timed run. Counters are decimal rates (1e9 B/s, 1e12 FLOP/s) per iteration.
//
//   mla_decode/<heads>/<s_q>   absorbed MLA decode, b 128, 4096 cached tokens, paged 64 (pages
//                              shuffled), bf16 out. Bytes: the latent cache (576 x 2 B a token)
//                              + q + out; FLOPs 2 x heads x s_q x (576 + 512) a cached token.
//   flash_prefill              causal GQA prefill, b 8, 4096 tokens, 32 / 8 heads, d 128, bf16;
//                              FLOPs 4 x b x hq x t^2 x d / 2 (causal half).
//   moe_experts                4096 tokens, 256 experts, top-8, hidden 7168, expert 2048 SwiGLU,
//                              bf16 weights; FLOPs 2 x 4096 x 8 x 3 x 7168 x 2048; the whole
//                              permutation, both grouped GEMMs and the weighted combine.

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <numeric>
#include <random>
#include <span>
#include <vector>

#include <latte/backend/cuda/backend.hpp>

namespace {

using latte::bf16;
using latte::index_t;
namespace lc = latte::cuda;

#define BENCH_CUDA_CHECK(call)                                                                   \
  do {                                                                                           \
    const cudaError_t status_ = (call);                                                          \
    if (status_ != cudaSuccess) {                                                                \
      std::fprintf(stderr, "%s failed: %s\n", #call, cudaGetErrorString(status_));               \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)

lc::backend& gpu() {
  static lc::backend b(lc::backend_options{lc::compute_precision::bf16, 0});
  return b;
}

// Fills n elements of device memory with copies of a random block (bf16 in [-1, 1]).
void fill_random_bf16(bf16* dst, std::size_t n, std::uint32_t seed) {
  constexpr std::size_t block = std::size_t{1} << 22;
  std::vector<bf16> host(block + 4096);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (bf16& v : host) v = bf16(dist(gen));
  for (std::size_t i = 0, k = 0; i < n; i += block, ++k) {
    const std::size_t count = std::min(block, n - i);
    gpu().upload(std::span<const bf16>(host.data() + (k * 977) % 4096, count), dst + i);
  }
}

void fill_random_f32(float* dst, std::size_t n, std::uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> host(n);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float& v : host) v = dist(gen);
  gpu().upload(std::span<const float>(host), dst);
}

// Evicts the L2 (50 MB on H100) by writing a larger buffer.
void flush_l2() {
  static lc::device_buffer<std::uint8_t> scratch = gpu().allocate<std::uint8_t>(std::size_t{256} << 20);
  BENCH_CUDA_CHECK(cudaMemsetAsync(scratch.data(), 1, scratch.size(), static_cast<cudaStream_t>(gpu().stream())));
}

struct event_timer {
  cudaEvent_t start{}, stop{};
  event_timer() {
    BENCH_CUDA_CHECK(cudaEventCreate(&start));
    BENCH_CUDA_CHECK(cudaEventCreate(&stop));
  }
  ~event_timer() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
  template <class F>
  double seconds(F&& f) {
    auto stream = static_cast<cudaStream_t>(gpu().stream());
    BENCH_CUDA_CHECK(cudaEventRecord(start, stream));
    f();
    BENCH_CUDA_CHECK(cudaEventRecord(stop, stream));
    BENCH_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0.0f;
    BENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    return ms * 1e-3;
  }
};

void set_rates(benchmark::State& state, double bytes, double flops) {
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
  state.counters["TFLOP/s"] = benchmark::Counter(flops / 1e12, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
  state.counters["bytes"] = bytes;
  state.counters["flops"] = flops;
}

// --- MLA decode ---

void mla_decode(benchmark::State& state) {
  const index_t heads = state.range(0), s_q = state.range(1);
  const index_t batch = 128, cached = 4096, page = 64, dk = 576, dv = 512;
  const index_t pages_per_seq = cached / page, num_pages = batch * pages_per_seq;
  auto pages = gpu().allocate<bf16>(static_cast<std::size_t>(num_pages * page * dk));
  auto q = gpu().allocate<bf16>(static_cast<std::size_t>(batch * s_q * heads * dk));
  auto out = gpu().allocate<bf16>(static_cast<std::size_t>(batch * s_q * heads * dv));
  fill_random_bf16(pages.data(), pages.size(), 1);
  fill_random_bf16(q.data(), q.size(), 2);
  std::vector<std::int32_t> table(static_cast<std::size_t>(num_pages));
  std::iota(table.begin(), table.end(), 0);
  std::shuffle(table.begin(), table.end(), std::mt19937(3));
  auto dtable = gpu().allocate<std::int32_t>(table.size());
  gpu().upload(std::span<const std::int32_t>(table), dtable.data());
  std::vector<std::int32_t> lens(static_cast<std::size_t>(batch), static_cast<std::int32_t>(cached));
  auto dlens = gpu().allocate<std::int32_t>(lens.size());
  gpu().upload(std::span<const std::int32_t>(lens), dlens.data());

  lc::paged_latent_cache cache;
  cache.pages = pages.data();
  cache.num_pages = num_pages;
  cache.page_table = dtable.data();
  cache.pages_per_seq = pages_per_seq;
  cache.seq_lens = dlens.data();
  cache.batch = batch;
  cache.max_seq_len = cached;
  lc::mla_decode_options o;
  o.scale = 0.1352338f;
  auto run = [&] { gpu().mla_decode(q.data(), s_q, heads, cache, out.data(), nullptr, o); };
  for (int i = 0; i < 3; ++i) run();
  gpu().synchronize();
  event_timer timer;
  for (auto _ : state) {
    flush_l2();
    state.SetIterationTime(timer.seconds(run));
  }
  gpu().synchronize();
  const double bytes = static_cast<double>(batch) * cached * dk * 2 + static_cast<double>(q.size()) * 2 +
                       static_cast<double>(out.size()) * 2;
  const double flops = 2.0 * static_cast<double>(batch) * s_q * heads * cached * (dk + dv);
  set_rates(state, bytes, flops);
  state.counters["floor_us"] = std::max(bytes / 3.0e12, flops / 800e12) * 1e6;
}
BENCHMARK(mla_decode)
    ->ArgNames({"heads", "s_q"})
    ->Args({16, 1})
    ->Args({64, 1})
    ->Args({128, 1})
    ->Args({128, 2})
    ->Args({16, 2})
    ->Args({64, 2})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(0.5);

// --- GQA causal prefill ---

void flash_prefill(benchmark::State& state) {
  const index_t batch = 8, t = 4096, hq = 32, hk = 8, d = 128;
  auto q = gpu().allocate<bf16>(static_cast<std::size_t>(batch * t * hq * d));
  auto k = gpu().allocate<bf16>(static_cast<std::size_t>(batch * t * hk * d));
  auto v = gpu().allocate<bf16>(static_cast<std::size_t>(batch * t * hk * d));
  auto out = gpu().allocate<bf16>(q.size());
  fill_random_bf16(q.data(), q.size(), 11);
  fill_random_bf16(k.data(), k.size(), 12);
  fill_random_bf16(v.data(), v.size(), 13);
  const latte::attention_options o{1.0f / std::sqrt(static_cast<float>(d)), true, 0};
  auto run = [&] { gpu().attention_bf16_batched(q.data(), k.data(), v.data(), out.data(), batch, t, t, hq, hk, d, o); };
  for (int i = 0; i < 3; ++i) run();
  gpu().synchronize();
  event_timer timer;
  for (auto _ : state) {
    flush_l2();
    state.SetIterationTime(timer.seconds(run));
  }
  const double flops = 4.0 * batch * hq * static_cast<double>(t) * t * d / 2.0;
  const double bytes = 2.0 * static_cast<double>(q.size() + k.size() + v.size() + out.size());
  set_rates(state, bytes, flops);
  state.counters["floor_us"] = std::max(bytes / 3.0e12, flops / 800e12) * 1e6;
}
BENCHMARK(flash_prefill)->UseManualTime()->Unit(benchmark::kMicrosecond)->MinTime(0.5);

// --- MoE experts ---

void moe_experts(benchmark::State& state) {
  const index_t tokens = 4096, experts = 256, top_k = 8, hidden = 7168, inter = 2048;
  const std::size_t per_matrix = static_cast<std::size_t>(inter * hidden);
  auto weights = gpu().allocate<bf16>(per_matrix * 3 * static_cast<std::size_t>(experts));
  fill_random_bf16(weights.data(), weights.size(), 21);
  std::vector<latte::weight_view> gate, up, down;
  for (index_t e = 0; e < experts; ++e) {
    const bf16* base = weights.data() + per_matrix * 3 * static_cast<std::size_t>(e);
    gate.push_back(latte::make_weight_view(base, inter, hidden));
    up.push_back(latte::make_weight_view(base + per_matrix, inter, hidden));
    down.push_back(latte::make_weight_view(base + 2 * per_matrix, hidden, inter));
  }
  auto x = gpu().allocate<float>(static_cast<std::size_t>(tokens * hidden));
  fill_random_f32(x.data(), x.size(), 22);
  std::vector<std::int32_t> ids(static_cast<std::size_t>(tokens * top_k));
  std::mt19937 gen(23);
  std::vector<std::int32_t> all(static_cast<std::size_t>(experts));
  std::iota(all.begin(), all.end(), 0);
  for (index_t t = 0; t < tokens; ++t) {
    std::shuffle(all.begin(), all.end(), gen);
    std::sort(all.begin(), all.begin() + top_k);
    std::copy_n(all.begin(), top_k, ids.begin() + t * top_k);
  }
  auto dids = gpu().allocate<std::int32_t>(ids.size());
  gpu().upload(std::span<const std::int32_t>(ids), dids.data());
  auto w = gpu().allocate<float>(ids.size());
  fill_random_f32(w.data(), w.size(), 24, 0.0f, 0.3f);
  auto y = gpu().allocate<float>(x.size());
  auto run = [&] {
    gpu().moe_experts(latte::make_matrix_view<const float>(x.data(), tokens, hidden),
                      latte::make_matrix_view<const std::int32_t>(dids.data(), tokens, top_k),
                      latte::make_matrix_view<const float>(w.data(), tokens, top_k), gate, up, down,
                      latte::make_matrix_view(y.data(), tokens, hidden));
  };
  for (int i = 0; i < 2; ++i) run();
  gpu().synchronize();
  event_timer timer;
  for (auto _ : state) state.SetIterationTime(timer.seconds(run));
  const double flops = 2.0 * tokens * top_k * 3.0 * hidden * inter;
  const double bytes = 2.0 * static_cast<double>(weights.size()) + 4.0 * static_cast<double>(x.size() + y.size());
  set_rates(state, bytes, flops);
  state.counters["floor_us"] = std::max(bytes / 3.0e12, flops / 800e12) * 1e6;
}
BENCHMARK(moe_experts)->UseManualTime()->Unit(benchmark::kMicrosecond)->MinTime(1.0);

}  // namespace

int main(int argc, char** argv) {
  if (!lc::backend::available()) {
    std::fprintf(stderr, "bench_cuda: no CUDA device present\n");
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

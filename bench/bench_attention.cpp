// CPU attention: decode and prefill of every variant (GQA family and MLA absorbed / naive), with
// the cache bytes read and the FLOPs done (attention/cost.hpp convention) as decimal-unit rates,
// beside a large memcpy and a large read so that the fraction of memory bandwidth can be read
// off. The PERF.md case is BM_gqa_decode/heads:8/kv_heads:8/dim:128/context:16384.
//
//   bench_attention --benchmark_filter=decode     (threads: the `threads` argument; 0 = all)

#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <span>
#include <vector>

#include <latte/attention/attention.hpp>
#include <latte/backend/cpu/backend.hpp>
#include <latte/backend/cpu/parallel.hpp>
#include <latte/core/bf16.hpp>
#include <latte/core/buffer.hpp>

using namespace latte;
using namespace latte::attention;

namespace {

using dynamic_gqa_shape = gqa_shape<dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent>;
using dynamic_mla_shape =
    mla_shape<dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent>;

cpu::backend backend_with(std::int64_t threads) {
  cpu::backend b;
  if (threads > 0) b.threads = static_cast<int>(threads);
  return b;
}

void fill_random(float* p, std::size_t n, std::uint32_t seed, float scale = 1.0f) {
  std::mt19937 engine(seed);
  std::normal_distribution<float> d(0.0f, scale);
  for (std::size_t i = 0; i < n; ++i) p[i] = d(engine);
}

// Shown as bytes=12.3G/s (cache bytes read) and flops=45.6G/s, decimal units.
void rates(benchmark::State& state, double bytes, double flops) {
  state.counters["bytes"] =
      benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  state.counters["flops"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

// ---- memory ceilings ----

// memcpy of `MiB` MiB split over `threads` workers; GB/s counts bytes read + written.
void BM_memcpy(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0)) << 20;
  const int threads = backend_with(state.range(1)).threads;
  host_buffer<std::uint8_t> src(bytes), dst(bytes);
  std::memset(src.data(), 1, bytes);
  std::memset(dst.data(), 2, bytes);
  for (auto _ : state) {
    cpu::parallel_ranges(threads, static_cast<index_t>(bytes), 1 << 16, [&](index_t begin, index_t end) {
      std::memcpy(dst.data() + begin, src.data() + begin, static_cast<std::size_t>(end - begin));
    });
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.counters["bytes"] = benchmark::Counter(2.0 * static_cast<double>(bytes), benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::kIs1000);
}
BENCHMARK(BM_memcpy)->ArgNames({"MiB", "threads"})->Args({1024, 0})->Args({1024, 1})->Args({1024, 2})->UseRealTime()->Unit(benchmark::kMillisecond);

// A sum over `MiB` MiB of floats: the read-only ceiling attention decode works against.
void BM_memory_read(benchmark::State& state) {
  const auto n = (static_cast<std::size_t>(state.range(0)) << 20) / sizeof(float);
  const int threads = backend_with(state.range(1)).threads;
  host_buffer<float> src(n);
  fill_random(src.data(), std::min<std::size_t>(n, 1 << 20), 1);
  std::vector<float> partial(static_cast<std::size_t>(threads), 0.0f);
  for (auto _ : state) {
    cpu::parallel_ranges(threads, static_cast<index_t>(n), 1 << 14, [&](index_t begin, index_t end) {
      const float sum = Eigen::Map<const Eigen::VectorXf>(src.data() + begin, end - begin).sum();
      partial[static_cast<std::size_t>(begin * threads / static_cast<index_t>(n))] = sum;
    });
    benchmark::DoNotOptimize(partial.data());
  }
  state.counters["bytes"] = benchmark::Counter(static_cast<double>(n * sizeof(float)),
                                               benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_memory_read)->ArgNames({"MiB", "threads"})->Args({1024, 0})->Args({1024, 1})->Args({1024, 2})->UseRealTime()->Unit(benchmark::kMillisecond);

// ---- GQA family: the attention core over a filled cache ----

// One query token attends `context` cached tokens (the cache read is the cost).
void BM_gqa_decode(benchmark::State& state) {
  const index_t heads = state.range(0), kv = state.range(1), d = state.range(2), context = state.range(3);
  const cpu::backend backend = backend_with(state.range(4));
  const gqa<cpu::backend, dynamic_gqa_shape> core(backend, dynamic_gqa_shape(heads, kv, d, d));
  auto cache = core.make_cache(context);
  cache.resize(context);
  fill_random(cache.keys().data(), static_cast<std::size_t>(context * kv * d), 2);
  fill_random(cache.values().data(), static_cast<std::size_t>(context * kv * d), 3);
  std::vector<float> q(static_cast<std::size_t>(heads * d)), out(q.size());
  fill_random(q.data(), q.size(), 4);
  for (auto _ : state) {
    core.attend(dtensor_view<const float, 3>(q.data(), dextents<3>(1, heads, d)), cache,
                dtensor_view<float, 3>(out.data(), dextents<3>(1, heads, d)));
    benchmark::DoNotOptimize(out.data());
  }
  const attention_cost cost = core.cost();
  rates(state, static_cast<double>(context * cost.cache_bytes_per_token(dtype::f32)),
        2.0 * static_cast<double>(cost.attention_macs_per_key * context));
}
BENCHMARK(BM_gqa_decode)
    ->ArgNames({"heads", "kv_heads", "dim", "context", "threads"})
    ->Args({8, 8, 128, 16384, 0})   // PERF.md: CPU attention decode, 8 heads, d 128, 16k cached
    ->Args({8, 8, 128, 16384, 1})
    ->Args({8, 8, 128, 16384, 2})
    ->Args({8, 8, 128, 65536, 0})   // 512 MiB: beyond any last-level cache
    ->Args({8, 8, 128, 65536, 1})
    ->Args({8, 8, 128, 65536, 2})
    ->Args({32, 8, 128, 16384, 0})  // GQA-8
    ->Args({32, 1, 128, 16384, 0})  // MQA
    ->Args({32, 32, 128, 4096, 0})  // MHA
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Causal self-attention of a `tokens`-token prompt.
void BM_gqa_prefill(benchmark::State& state) {
  const index_t heads = state.range(0), kv = state.range(1), d = state.range(2), t = state.range(3);
  const cpu::backend backend = backend_with(state.range(4));
  const gqa<cpu::backend, dynamic_gqa_shape> core(backend, dynamic_gqa_shape(heads, kv, d, d));
  std::vector<float> q(static_cast<std::size_t>(t * heads * d)), k(static_cast<std::size_t>(t * kv * d)), v(k.size()),
      out(q.size());
  fill_random(q.data(), q.size(), 5);
  fill_random(k.data(), k.size(), 6);
  fill_random(v.data(), v.size(), 7);
  for (auto _ : state) {
    core.prefill(dtensor_view<const float, 3>(q.data(), dextents<3>(t, heads, d)),
                 dtensor_view<const float, 3>(k.data(), dextents<3>(t, kv, d)),
                 dtensor_view<const float, 3>(v.data(), dextents<3>(t, kv, d)),
                 dtensor_view<float, 3>(out.data(), dextents<3>(t, heads, d)));
    benchmark::DoNotOptimize(out.data());
  }
  const attention_cost cost = core.cost();
  rates(state, static_cast<double>(t * cost.cache_bytes_per_token(dtype::f32)), cost.prefill_flops(t));
}
BENCHMARK(BM_gqa_prefill)
    ->ArgNames({"heads", "kv_heads", "dim", "tokens", "threads"})
    ->Args({32, 8, 128, 1024, 0})
    ->Args({32, 32, 128, 1024, 0})
    ->Args({32, 1, 128, 1024, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// ---- MLA: full layers (bf16 weights) over a filled cache ----

// DeepSeek-V2-Lite's attention width: 16 heads, no q_lora, d_c 512, nope 128, rope 64, v 128.
constexpr index_t mla_heads = 16, mla_hidden = 2048;

struct mla_bench_weights {
  std::vector<bf16> storage;
  mla_weights w;
  explicit mla_bench_weights(const dynamic_mla_shape& s) {
    const index_t h = s.heads();
    const index_t sizes[] = {h * s.qk_head_dim() * mla_hidden, s.latent_dim() * mla_hidden, s.kv_lora_rank(),
                             h * (s.qk_nope_head_dim() + s.v_head_dim()) * s.kv_lora_rank(), mla_hidden * h * s.v_head_dim()};
    index_t total = 0;
    for (index_t n : sizes) total += n;
    storage.resize(static_cast<std::size_t>(total));
    std::mt19937 engine(8);
    std::normal_distribution<float> d(0.0f, 0.02f);
    for (bf16& x : storage) x = bf16(d(engine));
    const bf16* p = storage.data();
    w.q_b_proj = make_weight_view(p, h * s.qk_head_dim(), mla_hidden);
    p += sizes[0];
    w.kv_a_proj_with_mqa = make_weight_view(p, s.latent_dim(), mla_hidden);
    p += sizes[1];
    for (index_t i = 0; i < s.kv_lora_rank(); ++i) storage[static_cast<std::size_t>(p - storage.data() + i)] = bf16(1.0f);
    w.kv_a_layernorm = make_weight_view(p, 1, s.kv_lora_rank());
    p += sizes[2];
    w.kv_b_proj = make_weight_view(p, h * (s.qk_nope_head_dim() + s.v_head_dim()), s.kv_lora_rank());
    p += sizes[3];
    w.o_proj = make_weight_view(p, mla_hidden, h * s.v_head_dim());
  }
};

template <class Form>
void BM_mla_layer(benchmark::State& state) {
  const index_t tokens = state.range(0), context = state.range(1);
  const cpu::backend backend = backend_with(state.range(2));
  const dynamic_mla_shape shape(mla_heads, 0, 512, 128, 64, 128);
  const mla_bench_weights weights(shape);
  const mla<cpu::backend, dynamic_mla_shape, Form> layer(backend, shape, weights.w);
  auto cache = layer.make_cache(context + tokens);
  cache.resize(context);
  if constexpr (std::is_same_v<Form, absorbed>)
    fill_random(cache.rows().data(), static_cast<std::size_t>(context * cache.row_dim()), 9);
  else {
    fill_random(cache.keys().data(), static_cast<std::size_t>(context * cache.kv_heads() * cache.key_dim()), 9);
    fill_random(cache.values().data(), static_cast<std::size_t>(context * cache.kv_heads() * cache.value_dim()), 10);
  }
  host_buffer<float> x(static_cast<std::size_t>(tokens * mla_hidden)), out(x.size()),
      table(static_cast<std::size_t>(tokens * 32 * 2)), workspace(static_cast<std::size_t>(layer.workspace_floats(tokens)));
  fill_random(x.data(), x.size(), 11);
  for (index_t t = 0; t < tokens; ++t)
    for (index_t j = 0; j < 32; ++j) {
      const double angle = static_cast<double>(context + t) * std::pow(10000.0, -j / 32.0);
      table[static_cast<std::size_t>((t * 32 + j) * 2)] = static_cast<float>(std::cos(angle));
      table[static_cast<std::size_t>((t * 32 + j) * 2 + 1)] = static_cast<float>(std::sin(angle));
    }
  using cache_type = typename decltype(layer)::cache_type;
  cache_type* caches[] = {&cache};
  const sequence_chunk chunks[] = {{0, tokens}};
  for (auto _ : state) {
    cache.resize(context);
    layer.forward(make_matrix_view<const float>(x.data(), tokens, mla_hidden),
                  dtensor_view<const float, 3>(table.data(), dextents<3>(tokens, 32, 2)), chunks,
                  std::span<cache_type* const>(caches), make_matrix_view(out.data(), tokens, mla_hidden),
                  std::span<float>(workspace.data(), workspace.size()));
    benchmark::DoNotOptimize(out.data());
  }
  const attention_cost cost = layer.cost();
  // Cache bytes read: every query token reads the cache up to itself (once per chunk on the CPU).
  const double keys_read = static_cast<double>(context + tokens);
  double flops = 0.0;
  for (index_t t = 1; t <= tokens; ++t) flops += cost.decode_flops(context + t);
  rates(state, keys_read * static_cast<double>(cost.cache_bytes_per_token(dtype::f32)), flops);
}
BENCHMARK_TEMPLATE(BM_mla_layer, absorbed)
    ->ArgNames({"tokens", "context", "threads"})
    ->Args({1, 4096, 0})
    ->Args({1, 16384, 0})
    ->Args({256, 0, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_mla_layer, naive)
    ->ArgNames({"tokens", "context", "threads"})
    ->Args({1, 4096, 0})
    ->Args({1, 16384, 0})
    ->Args({256, 0, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// MLA decode attention alone: the latent cache as one KV head (576 / 512) vs the naive per-head
// cache (192 / 128 per head), 16 heads, one query.
void BM_mla_attention_decode(benchmark::State& state) {
  const bool latent = state.range(0) == 1;
  const index_t context = state.range(1), heads = mla_heads;
  const cpu::backend backend = backend_with(state.range(2));
  const index_t kv = latent ? 1 : heads, dk = latent ? 576 : 192, dv = latent ? 512 : 128;
  host_buffer<float> keys(static_cast<std::size_t>(context * kv * dk)), values(latent ? 0 : static_cast<std::size_t>(context * kv * dv));
  fill_random(keys.data(), keys.size(), 12);
  fill_random(values.data(), values.size(), 13);
  const dtensor_view<const float, 3> k(keys.data(), dextents<3>(context, kv, dk));
  const dtensor_view<const float, 3> v = latent ? dtensor_view<const float, 3>(keys.data(), dextents<3>(context, 1, dv), {dk, dk, 1})
                                                : dtensor_view<const float, 3>(values.data(), dextents<3>(context, kv, dv));
  std::vector<float> q(static_cast<std::size_t>(heads * dk)), out(static_cast<std::size_t>(heads * dv));
  fill_random(q.data(), q.size(), 14, 0.05f);
  for (auto _ : state) {
    backend.attention(dtensor_view<const float, 3>(q.data(), dextents<3>(1, heads, dk)), k, v,
                      dtensor_view<float, 3>(out.data(), dextents<3>(1, heads, dv)),
                      attention_options{0.07f, true, context - 1});
    benchmark::DoNotOptimize(out.data());
  }
  const double bytes = static_cast<double>(context * kv * (latent ? dk : dk + dv)) * sizeof(float);
  rates(state, bytes, 2.0 * static_cast<double>(heads * (dk + dv) * context));
}
BENCHMARK(BM_mla_attention_decode)
    ->ArgNames({"latent", "context", "threads"})
    ->Args({1, 16384, 0})
    ->Args({1, 16384, 2})
    ->Args({0, 16384, 0})
    ->Args({0, 16384, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

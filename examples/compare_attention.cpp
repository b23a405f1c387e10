// Compares attention variants at DeepSeek-V3's width: MLA (absorbed and naive caches) against
// MHA, GQA-8 and MQA with the same 128 query heads, from the cost model (cache bytes, FLOPs) and
// by timing one CPU decode step of each on a smaller shape.
//
//   latte-compare-attention [--threads N] [--reps N] [--context N]
//
// Convention for the GQA family: 128 query heads of width 128 for queries, keys and values
// (rotary embedding inside the 128, as in Llama-style models), hidden 7168, no biases. MLA:
// q_lora 1536, d_c 512, nope 128, d_h^R 64, v 128 (SPEC.md section 1). Cache storage is bf16;
// FLOPs count 2 per multiply-accumulate over the projections and the two attention products
// (attention/cost.hpp), per decoded token, summed over 61 layers.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <span>
#include <string>
#include <vector>

#include <latte/attention/attention.hpp>
#include <latte/backend/cpu/backend.hpp>
#include <latte/core/bf16.hpp>
#include <latte/core/buffer.hpp>
#include <latte/core/error.hpp>

using namespace latte;
using namespace latte::attention;

namespace {

constexpr index_t layers = 61, hidden = 7168;
constexpr index_t long_sequence = 131072;

struct options {
  int threads = cpu::hardware_threads();
  int reps = 5;
  index_t context = 4096;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> long {
      require(i + 1 < argc, arg, " needs a value");
      char* end = nullptr;
      const long v = std::strtol(argv[++i], &end, 10);
      require(end != nullptr && *end == '\0' && v > 0, arg, " needs a positive integer, got '", argv[i], "'");
      return v;
    };
    if (arg == "--threads") o.threads = static_cast<int>(value());
    else if (arg == "--reps") o.reps = static_cast<int>(value());
    else if (arg == "--context") o.context = value();
    else if (arg == "--help" || arg == "-h") {
      std::printf("usage: latte-compare-attention [--threads N] [--reps N] [--context N]\n");
      std::exit(0);
    } else {
      fail("unknown argument '", arg, "' (try --help)");
    }
  }
  return o;
}

struct row {
  const char* name;
  attention_cost cost;
};

void print_cost_table() {
  using v3 = mla_shape<128, 1536, 512, 128, 64, 128>;
  const row rows[] = {
      {"MHA (128 KV heads)", gqa_cost(gqa_shape<128, 128, 128>{}, hidden)},
      {"GQA-8", gqa_cost(gqa_shape<128, 8, 128>{}, hidden)},
      {"MQA", gqa_cost(gqa_shape<128, 1, 128>{}, hidden)},
      {"MLA naive cache", mla_cost(v3{}, hidden, naive{})},
      {"MLA absorbed (latent)", mla_cost(v3{}, hidden, absorbed{})},
  };
  std::printf("DeepSeek-V3 width: 128 query heads, hidden %lld, %lld layers; bf16 cache\n\n", static_cast<long long>(hidden),
              static_cast<long long>(layers));
  std::printf("%-22s %8s %10s %12s %14s | %s\n", "variant", "values", "B/token", "B/token", "GiB per 128k",
              "GFLOP per decoded token, 61 layers");
  std::printf("%-22s %8s %10s %12s %14s | %8s %9s %9s\n", "", "/layer", "/layer", "x61 layers", "seq, 61 layers",
              "ctx 4k", "ctx 32k", "ctx 128k");
  for (const row& r : rows) {
    const index_t per_layer = r.cost.cache_bytes_per_token(dtype::bf16);
    const double sequence_gib = static_cast<double>(per_layer * layers) * static_cast<double>(long_sequence) / (1u << 30);
    std::printf("%-22s %8lld %10lld %12lld %14.2f | %8.2f %9.2f %9.2f\n", r.name,
                static_cast<long long>(r.cost.cache_values_per_token), static_cast<long long>(per_layer),
                static_cast<long long>(per_layer * layers), sequence_gib, layers * r.cost.decode_flops(4096) / 1e9,
                layers * r.cost.decode_flops(32768) / 1e9, layers * r.cost.decode_flops(131072) / 1e9);
  }
  const attention_cost latent = rows[4].cost, gqa_head = gqa_cost(gqa_shape<1, 1, 128>{}, 0);
  std::printf("\nMLA's latent cache holds %lld values per token and layer = %.2f x the %lld (K 128 + V 128) of one GQA\n"
              "KV head: the cache of GQA with %.2f KV heads, while every one of its 128 heads keeps full-rank keys.\n"
              "The naive per-head MLA cache would be %.1fx larger (%lld values).\n\n",
              static_cast<long long>(latent.cache_values_per_token),
              static_cast<double>(latent.cache_values_per_token) / static_cast<double>(gqa_head.cache_values_per_token),
              static_cast<long long>(gqa_head.cache_values_per_token),
              static_cast<double>(latent.cache_values_per_token) / static_cast<double>(gqa_head.cache_values_per_token),
              static_cast<double>(rows[3].cost.cache_values_per_token) / static_cast<double>(latent.cache_values_per_token),
              static_cast<long long>(rows[3].cost.cache_values_per_token));
}

// ---- timing on a smaller shape: 16 heads of 128, hidden 2048, bf16 weights ----

constexpr index_t small_heads = 16, small_hidden = 2048;

// Deterministic pseudo-random bf16 weights, cheap to make.
struct weight_pool {
  std::vector<bf16> values;
  std::size_t used = 0;
  explicit weight_pool(std::size_t n) : values(n) {
    std::uint32_t state = 12345;
    for (bf16& v : values) {
      state = state * 1664525u + 1013904223u;
      v = bf16((static_cast<float>(state >> 8) / 16777216.0f - 0.5f) * 0.05f);
    }
  }
  weight_view take(index_t rows, index_t cols) {
    const auto n = static_cast<std::size_t>(rows * cols);
    require(used + n <= values.size(), "weight pool exhausted");
    const weight_view w = make_weight_view(values.data() + used, rows, cols);
    used += n;
    return w;
  }
  weight_view ones(index_t n) {
    const weight_view w = take(1, n);
    for (index_t i = 0; i < n; ++i) values[used - static_cast<std::size_t>(n) + static_cast<std::size_t>(i)] = bf16(1.0f);
    return w;
  }
};

// Times `reps` decode steps of one token after `context` cached tokens; returns seconds per step.
template <class Module>
double time_decode(const Module& module, index_t rotary, const options& o) {
  using cache_type = typename Module::cache_type;
  const cpu::backend& backend = module.backend();
  cache_type cache = module.make_cache(o.context + 1);
  cache.resize(o.context);  // the rows' contents do not change the cost
  host_buffer<float> x(static_cast<std::size_t>(small_hidden)), out(x.size()), table(static_cast<std::size_t>(rotary));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i));
  for (index_t j = 0; j < rotary / 2; ++j) {
    table[static_cast<std::size_t>(2 * j)] = 1.0f;
    table[static_cast<std::size_t>(2 * j + 1)] = 0.0f;
  }
  host_buffer<float> workspace(static_cast<std::size_t>(module.workspace_floats(1)));
  cache_type* caches[] = {&cache};
  const sequence_chunk chunks[] = {{0, 1}};
  std::vector<double> seconds;
  for (int r = 0; r <= o.reps; ++r) {
    cache.resize(o.context);
    const auto start = std::chrono::steady_clock::now();
    module.forward(make_matrix_view<const float>(x.data(), 1, small_hidden),
                   dtensor_view<const float, 3>(table.data(), dextents<3>(1, rotary / 2, 2)), chunks,
                   std::span<cache_type* const>(caches), make_matrix_view(out.data(), 1, small_hidden),
                   std::span<float>(workspace.data(), workspace.size()));
    backend.synchronize();
    if (r > 0) seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

void print_timing(const options& o) {
  cpu::backend backend;
  backend.threads = o.threads;
  std::printf("CPU decode, one token after %lld cached: %lld heads of 128, hidden %lld, bf16 weights, f32 cache, %d threads,\n"
              "median of %d steps (projections included)\n\n",
              static_cast<long long>(o.context), static_cast<long long>(small_heads), static_cast<long long>(small_hidden),
              o.threads, o.reps);
  std::printf("%-22s %10s %14s %12s\n", "variant", "ms/token", "cache MB read", "cache GB/s");
  using dyn_gqa = gqa_shape<dynamic_extent, dynamic_extent, 128, 128>;
  const auto report = [&](const char* name, double seconds, const attention_cost& cost) {
    const double bytes = static_cast<double>(cost.cache_bytes_per_token(dtype::f32)) * static_cast<double>(o.context + 1);
    std::printf("%-22s %10.3f %14.1f %12.1f\n", name, seconds * 1e3, bytes / 1e6, bytes / seconds / 1e9);
  };
  const struct {
    const char* name;
    index_t kv_heads;
  } family[] = {{"MHA (16 KV heads)", small_heads}, {"GQA-8", 8}, {"MQA", 1}};
  for (const auto& f : family) {
    weight_pool pool(static_cast<std::size_t>(4 * small_heads * 128 * small_hidden));
    const dyn_gqa shape(small_heads, f.kv_heads);
    const gqa_weights w{pool.take(small_heads * 128, small_hidden), pool.take(f.kv_heads * 128, small_hidden),
                        pool.take(f.kv_heads * 128, small_hidden), pool.take(small_hidden, small_heads * 128)};
    const gqa<cpu::backend, dyn_gqa> module(backend, shape, w);
    report(f.name, time_decode(module, 128, o), module.cost());
  }
  using small_mla = mla_shape<small_heads, 0, 512, 128, 64, 128>;
  weight_pool pool(static_cast<std::size_t>(small_hidden * (small_heads * 192 + 576 + small_heads * 128) +
                                            small_heads * 256 * 512 + 512));
  mla_weights w;
  w.q_b_proj = pool.take(small_heads * 192, small_hidden);  // q_proj: no q_lora at this size
  w.kv_a_proj_with_mqa = pool.take(576, small_hidden);
  w.kv_a_layernorm = pool.ones(512);
  w.kv_b_proj = pool.take(small_heads * 256, 512);
  w.o_proj = pool.take(small_hidden, small_heads * 128);
  const mla<cpu::backend, small_mla, naive> expanded(backend, small_mla{}, w);
  report("MLA naive cache", time_decode(expanded, 64, o), expanded.cost());
  const mla<cpu::backend, small_mla, absorbed> latent(backend, small_mla{}, w);
  report("MLA absorbed (latent)", time_decode(latent, 64, o), latent.cost());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const options o = parse(argc, argv);
    print_cost_table();
    print_timing(o);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "latte-compare-attention: %s\n", e.what());
    return 1;
  }
}

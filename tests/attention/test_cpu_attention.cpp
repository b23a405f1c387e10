// The CPU backend's attention primitive against the float64 reference on random data: the
// split-KV decode path (one query, one KV head shared by 16 query heads, 5000 keys), logits of
// magnitude ~1e4 staying finite, causal masks with query offsets (bottom-right, partial, before
// the first key), non-causal attention, GQA grouping, value width != key width, and values read
// through a strided view of the keys (the latent cache's layout).

#include <catch2/catch.hpp>

#include <cstdio>
#include <vector>

#include <latte/backend/cpu/backend.hpp>
#include <latte/reference/attention.hpp>

#include "support.hpp"

using namespace latte;
using namespace attention_test;

namespace {

struct problem {
  index_t tq, hq, tk, hk, dk, dv;
  attention_options options;
  double q_scale = 1.0, k_scale = 1.0;
};

// Runs the primitive with `threads` workers and returns its error against the reference.
double run(const problem& p, int threads, std::uint32_t seed, bool* finite = nullptr) {
  random_source rng(seed);
  const auto q = rng.normal(static_cast<std::size_t>(p.tq * p.hq * p.dk), p.q_scale);
  const auto k = rng.normal(static_cast<std::size_t>(p.tk * p.hk * p.dk), p.k_scale);
  const auto v = rng.normal(static_cast<std::size_t>(p.tk * p.hk * p.dv));
  const dtensor_view<const float, 3> qv(q.data(), dextents<3>(p.tq, p.hq, p.dk));
  const dtensor_view<const float, 3> kv(k.data(), dextents<3>(p.tk, p.hk, p.dk));
  const dtensor_view<const float, 3> vv(v.data(), dextents<3>(p.tk, p.hk, p.dv));
  std::vector<float> out(static_cast<std::size_t>(p.tq * p.hq * p.dv), -1.0f);
  cpu::backend backend;
  backend.threads = threads;
  backend.attention(qv, kv, vv, dtensor_view<float, 3>(out.data(), dextents<3>(p.tq, p.hq, p.dv)), p.options);
  std::vector<double> want(out.size());
  reference::attention(qv, kv, vv, dtensor_view<double, 3>(want.data(), dextents<3>(p.tq, p.hq, p.dv)),
                       reference::sdpa_options{p.options.scale, p.options.causal, p.options.query_offset});
  if (finite != nullptr) *finite = all_finite(out);
  return relative_error(out, want);
}

}  // namespace

TEST_CASE("split-KV decode: one query, 16 heads on one KV head, 5000 keys", "[attention][cpu]") {
  const problem p{1, 16, 5000, 1, 64, 64, attention_options{0.125f, true, 4999}};
  for (int threads : {1, 2, 3, 8}) {
    const double error = run(p, threads, 11);
    std::printf("cpu attention decode 5000 keys, %d threads: %.2e\n", threads, error);
    CHECK(error <= 1e-5);
  }
  // Non-causal decode with a query offset of 0 still sees all keys.
  CHECK(run(problem{1, 16, 5000, 1, 64, 64, attention_options{0.125f, false, 0}}, 8, 12) <= 1e-5);
}

TEST_CASE("large logits (scale x score ~ 1e4) stay finite and accurate", "[attention][cpu]") {
  // q, k ~ N(0, 40^2), d 64: q.k ~ 1.3e4, scale 1 -> logits of order 1e4.
  const problem decode{1, 8, 3000, 2, 64, 32, attention_options{1.0f, true, 2999}, 40.0, 40.0};
  const problem prefill{50, 8, 300, 2, 64, 32, attention_options{1.0f, true, 250}, 40.0, 40.0};
  for (const problem& p : {decode, prefill})
    for (int threads : {1, 8}) {
      bool finite = false;
      const double error = run(p, threads, 3, &finite);
      std::printf("cpu attention logits ~1e4, tq %lld, %d threads: %.2e\n", static_cast<long long>(p.tq), threads, error);
      CHECK(finite);
      // Logits of 1e4 carry float32 rounding of ~1e-3 absolute; the softmax amplifies it.
      CHECK(error <= 1e-3);
    }
}

TEST_CASE("causal masks with query offsets", "[attention][cpu]") {
  // Bottom-right (chunk at the end), a chunk in the middle, queries partly before the first key.
  for (const index_t offset : {index_t{63}, index_t{20}, index_t{-5}, index_t{0}})
    for (int threads : {1, 2}) {
      const double error = run(problem{37, 6, 100, 3, 48, 40, attention_options{0.2f, true, offset}}, threads, 21);
      CHECK(error <= 1e-5);
    }
  // A long causal prefill: several query blocks, the diagonal crossing key blocks.
  for (int threads : {1, 2}) {
    CHECK(run(problem{150, 4, 150, 4, 32, 32, attention_options{0.18f, true, 0}}, threads, 22) <= 1e-5);
    CHECK(run(problem{150, 8, 230, 2, 32, 16, attention_options{0.18f, true, 80}}, threads, 23) <= 1e-5);
  }
  // A query that sees no key at all gets zeros.
  std::vector<float> q(4 * 2 * 8, 1.0f), k(3 * 2 * 8, 1.0f), v(3 * 2 * 8, 1.0f), out(4 * 2 * 8, 7.0f);
  cpu::backend{}.attention(dtensor_view<const float, 3>(q.data(), dextents<3>(4, 2, 8)),
                           dtensor_view<const float, 3>(k.data(), dextents<3>(3, 2, 8)),
                           dtensor_view<const float, 3>(v.data(), dextents<3>(3, 2, 8)),
                           dtensor_view<float, 3>(out.data(), dextents<3>(4, 2, 8)), attention_options{1.0f, true, -2});
  for (index_t i = 0; i < 2 * 2 * 8; ++i) CHECK(out[static_cast<std::size_t>(i)] == 0.0f);
  CHECK(out[static_cast<std::size_t>(3 * 16)] == Approx(1.0f));
}

TEST_CASE("non-causal attention, GQA grouping, value width != key width", "[attention][cpu]") {
  for (int threads : {1, 2, 8}) {
    CHECK(run(problem{19, 12, 260, 4, 80, 24, attention_options{0.1f, false, 0}}, threads, 31) <= 1e-5);
    CHECK(run(problem{3, 12, 700, 12, 32, 16, attention_options{0.17f, true, 697}}, threads, 32) <= 1e-5);
  }
}

TEST_CASE("values as a strided view of the keys (latent cache layout)", "[attention][cpu]") {
  // Keys [tk, 1, 72] = [latent 64 | rope 8]; values = the first 64 columns of the same rows.
  const index_t tk = 1500, hq = 16, dk = 72, dv = 64;
  random_source rng(41);
  const auto q = rng.normal(static_cast<std::size_t>(2 * hq * dk));
  const auto rows = rng.normal(static_cast<std::size_t>(tk * dk));
  const dtensor_view<const float, 3> keys(rows.data(), dextents<3>(tk, 1, dk));
  const dtensor_view<const float, 3> values(rows.data(), dextents<3>(tk, 1, dv), {dk, dk, 1});
  const dtensor_view<const float, 3> qv(q.data(), dextents<3>(2, hq, dk));
  std::vector<float> out(static_cast<std::size_t>(2 * hq * dv));
  std::vector<double> want(out.size());
  cpu::backend{}.attention(qv, keys, values, dtensor_view<float, 3>(out.data(), dextents<3>(2, hq, dv)),
                           attention_options{0.1f, true, tk - 2});
  reference::attention(qv, keys, values, dtensor_view<double, 3>(want.data(), dextents<3>(2, hq, dv)),
                       reference::sdpa_options{0.1, true, tk - 2});
  CHECK(relative_error(out, want) <= 1e-5);
}

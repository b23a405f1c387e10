// Soak test (label "long"): the whole 163,840-token context of the 671B preset in one latent
// cache (small width: 4 heads, kv_lora 32, rope 64; 63 MB of rows). Positions 0 .. 163,838 are
// filled with the rows the layer would write; the last token, at position 163,839, is decoded
// through the absorbed layer and compared with the float64 naive-form reference, on 1, 2 and 4
// threads; the same with every cached value rounded to bf16; and the full cache refuses one more
// token.

#include <catch2/catch.hpp>

#include <cstdio>
#include <vector>

#include <latte/core/bf16.hpp>

#include "longcontext_support.hpp"

using latte::index_t;
using longcontext::last_position;
using longcontext::relative_error;
using longcontext::small_mla;
using latent_cache = latte::attention::latent_cache<latte::cpu::backend>;

TEST_CASE("the last token of a full 163,840-token latent cache decodes like float64", "[longcontext][mla][long]") {
  constexpr index_t context = last_position + 1;
  small_mla m(163840);
  const latte::cpu::backend b{};
  latent_cache cache(b, context, small_mla::kv_lora, small_mla::rope);
  m.fill(b, cache, 0, context - 1);
  REQUIRE(cache.size() == context - 1);
  const std::vector<float> x = m.inputs(1);

  double peak = 0.0;
  const std::vector<double> want = m.decode_reference(cache.rows(), x, last_position, &peak);
  for (const int threads : {1, 2, 4}) {
    cache.resize(context - 1);
    const std::vector<float> got = m.decode(latte::cpu::backend{threads}, cache, x, last_position);
    REQUIRE(cache.size() == context);
    REQUIRE(longcontext::all_finite(got));
    const double error = relative_error(got, want);
    std::printf("decode at position 163839 over 163839 cached tokens, %d threads (peak |logit| %.1f): %.2e vs float64\n",
                threads, peak, error);
    CHECK(error < 1e-4);
  }

  // Full now: one more token is refused, and the cache is left as it was.
  REQUIRE(cache.remaining() == 0);
  CHECK_THROWS_WITH(m.decode(b, cache, x, last_position + 1),
                    Catch::Contains("appends 1 tokens to a cache holding 163840 of 163840"));
  CHECK(cache.size() == context);

  // The same decode with every cached value rounded to bf16 (the CPU computes in float32).
  cache.resize(context - 1);
  const latte::matrix_view<float> rows = cache.row_block(0, context - 1);
  for (index_t r = 0; r < rows.extent(0); ++r)
    for (index_t c = 0; c < rows.extent(1); ++c) rows(r, c) = latte::bf16(rows(r, c)).to_float();
  const std::vector<double> want_rounded = m.decode_reference(cache.rows(), x, last_position);
  const std::vector<float> got = m.decode(b, cache, x, last_position);
  REQUIRE(longcontext::all_finite(got));
  const double own = relative_error(got, want_rounded), against_f32 = relative_error(got, want);
  std::printf("bf16-rounded 163839-token cache: %.2e vs float64 of the same rows, %.2e vs float64 of the f32 rows\n",
              own, against_f32);
  CHECK(own < 1e-4);
  CHECK(against_f32 < 2e-2);
}

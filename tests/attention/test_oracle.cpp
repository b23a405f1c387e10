// The GQA module (MHA, GQA, MQA) against the float64 oracle in tests/data/kernels/attention.safetensors
// (torch SDPA, batch 2, 8 query heads, 77 tokens, head_dim 64, scale 1/8): causal prefill through
// a cache, a chunk of 16 after a prefill of 61, and a decode step after a prefill of 76.

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include <latte/attention/gqa.hpp>
#include <latte/backend/cpu/backend.hpp>
#include <latte/io/reference_file.hpp>
#include <latte/reference/attention.hpp>

#include "support.hpp"

using namespace latte;
using namespace latte::attention;
using attention_test::relative_error;

namespace {

constexpr index_t batch = 2, heads = 8, tokens = 77, dim = 64;

const io::reference_file& oracle() {
  static const io::reference_file file =
      io::reference_file::open(std::string(LATTE_TEST_DATA_DIR) + "/kernels/attention.safetensors");
  return file;
}

// [batch, h, seq, d] (float64) -> sequence b's rows [first, first + count) as [count, h, d] floats.
std::vector<float> sequence_rows(const std::vector<double>& bhsd, index_t h, index_t seq, index_t b, index_t first,
                                 index_t count) {
  std::vector<float> out(static_cast<std::size_t>(count * h * dim));
  for (index_t t = 0; t < count; ++t)
    for (index_t i = 0; i < h; ++i)
      for (index_t c = 0; c < dim; ++c)
        out[static_cast<std::size_t>((t * h + i) * dim + c)] =
            static_cast<float>(bhsd[static_cast<std::size_t>(((b * h + i) * seq + first + t) * dim + c)]);
  return out;
}
std::vector<double> sequence_rows_f64(const std::vector<double>& bhsd, index_t h, index_t seq, index_t b) {
  std::vector<double> out(static_cast<std::size_t>(seq * h * dim));
  for (index_t t = 0; t < seq; ++t)
    for (index_t i = 0; i < h; ++i)
      for (index_t c = 0; c < dim; ++c)
        out[static_cast<std::size_t>((t * h + i) * dim + c)] =
            bhsd[static_cast<std::size_t>(((b * h + i) * seq + t) * dim + c)];
  return out;
}

dtensor_view<const float, 3> view3(const std::vector<float>& v, index_t t, index_t h) {
  return dtensor_view<const float, 3>(v.data(), dextents<3>(t, h, dim));
}

template <class Module>
void check_variant(const std::string& name, index_t kv_heads) {
  const io::reference_file& file = oracle();
  const auto q = file.doubles(name + ".q", {batch, heads, tokens, dim});
  const auto k = file.doubles(name + ".k", {batch, kv_heads, tokens, dim});
  const auto v = file.doubles(name + ".v", {batch, kv_heads, tokens, dim});
  const auto causal = file.doubles(name + ".out_causal", {batch, heads, tokens, dim});
  const auto chunk = file.doubles(name + ".out_chunk16", {batch, heads, 16, dim});
  const auto decode = file.doubles(name + ".out_decode", {batch, heads, 1, dim});

  const cpu::backend backend{};
  const Module module(backend, typename Module::shape_type{}, gqa_options{0.125f});
  REQUIRE(module.shape().kv_heads() == kv_heads);
  double worst_causal = 0, worst_chunk = 0, worst_decode = 0, worst_uncached = 0, worst_reference = 0;

  for (index_t b = 0; b < batch; ++b) {
    const auto qb = sequence_rows(q, heads, tokens, b, 0, tokens);
    const auto kb = sequence_rows(k, kv_heads, tokens, b, 0, tokens);
    const auto vb = sequence_rows(v, kv_heads, tokens, b, 0, tokens);
    std::vector<float> out(static_cast<std::size_t>(tokens * heads * dim));
    const dtensor_view<float, 3> out_view(out.data(), dextents<3>(tokens, heads, dim));

    // Causal prefill through a cache, and without one.
    auto cache = module.make_cache(tokens);
    module.prefill(view3(qb, tokens, heads), view3(kb, tokens, kv_heads), view3(vb, tokens, kv_heads), cache, out_view);
    CHECK(cache.size() == tokens);
    const auto want_causal = sequence_rows_f64(causal, heads, tokens, b);
    worst_causal = std::max(worst_causal, relative_error(out, want_causal));
    module.prefill(view3(qb, tokens, heads), view3(kb, tokens, kv_heads), view3(vb, tokens, kv_heads), out_view);
    worst_uncached = std::max(worst_uncached, relative_error(out, want_causal));

    // The float64 reference on the same (rounded) inputs.
    std::vector<double> ref(out.size());
    reference::attention(view3(qb, tokens, heads), view3(kb, tokens, kv_heads), view3(vb, tokens, kv_heads),
                         dtensor_view<double, 3>(ref.data(), dextents<3>(tokens, heads, dim)),
                         reference::sdpa_options{0.125, true, 0});
    worst_reference = std::max(worst_reference, relative_error(ref, want_causal));

    // Chunked prefill: 61 tokens, then a chunk of 16 at positions 61..76.
    {
      auto chunked = module.make_cache(tokens);
      const index_t first = tokens - 16;
      const auto q0 = sequence_rows(q, heads, tokens, b, 0, first), q1 = sequence_rows(q, heads, tokens, b, first, 16);
      const auto k0 = sequence_rows(k, kv_heads, tokens, b, 0, first), k1 = sequence_rows(k, kv_heads, tokens, b, first, 16);
      const auto v0 = sequence_rows(v, kv_heads, tokens, b, 0, first), v1 = sequence_rows(v, kv_heads, tokens, b, first, 16);
      std::vector<float> o0(static_cast<std::size_t>(first * heads * dim)), o1(static_cast<std::size_t>(16 * heads * dim));
      module.prefill(view3(q0, first, heads), view3(k0, first, kv_heads), view3(v0, first, kv_heads), chunked,
                     dtensor_view<float, 3>(o0.data(), dextents<3>(first, heads, dim)));
      module.prefill(view3(q1, 16, heads), view3(k1, 16, kv_heads), view3(v1, 16, kv_heads), chunked,
                     dtensor_view<float, 3>(o1.data(), dextents<3>(16, heads, dim)));
      CHECK(chunked.size() == tokens);
      worst_chunk = std::max(worst_chunk, relative_error(o1, sequence_rows_f64(chunk, heads, 16, b)));
    }

    // Decode: prefill 76 tokens, then the last one alone.
    {
      auto decoding = module.make_cache(tokens);
      const index_t first = tokens - 1;
      const auto q0 = sequence_rows(q, heads, tokens, b, 0, first), q1 = sequence_rows(q, heads, tokens, b, first, 1);
      const auto k0 = sequence_rows(k, kv_heads, tokens, b, 0, first), k1 = sequence_rows(k, kv_heads, tokens, b, first, 1);
      const auto v0 = sequence_rows(v, kv_heads, tokens, b, 0, first), v1 = sequence_rows(v, kv_heads, tokens, b, first, 1);
      std::vector<float> o0(static_cast<std::size_t>(first * heads * dim)), o1(static_cast<std::size_t>(heads * dim));
      module.prefill(view3(q0, first, heads), view3(k0, first, kv_heads), view3(v0, first, kv_heads), decoding,
                     dtensor_view<float, 3>(o0.data(), dextents<3>(first, heads, dim)));
      module.decode(view3(q1, 1, heads), view3(k1, 1, kv_heads), view3(v1, 1, kv_heads), decoding,
                    dtensor_view<float, 3>(o1.data(), dextents<3>(1, heads, dim)));
      worst_decode = std::max(worst_decode, relative_error(o1, sequence_rows_f64(decode, heads, 1, b)));
    }
  }
  std::printf("oracle %-3s (kv_heads %lld): causal %.2e (uncached %.2e), chunk16 %.2e, decode %.2e; float64 reference %.2e\n",
              name.c_str(), static_cast<long long>(kv_heads), worst_causal, worst_uncached, worst_chunk, worst_decode,
              worst_reference);
  CHECK(worst_causal <= 1e-5);
  CHECK(worst_uncached <= 1e-5);
  CHECK(worst_chunk <= 1e-5);
  CHECK(worst_decode <= 1e-5);
  CHECK(worst_reference <= 1e-6);
}

}  // namespace

TEST_CASE("MHA matches the oracle: causal, chunk of 16, decode", "[attention][oracle]") {
  check_variant<mha<cpu::backend, heads, dim>>("mha", heads);
}

TEST_CASE("GQA (2 KV heads) matches the oracle: causal, chunk of 16, decode", "[attention][oracle]") {
  check_variant<gqa<cpu::backend, gqa_shape<heads, 2, dim>>>("gqa", 2);
}

TEST_CASE("MQA matches the oracle: causal, chunk of 16, decode", "[attention][oracle]") {
  check_variant<mqa<cpu::backend, heads, dim>>("mqa", 1);
}

TEST_CASE("dynamic GQA shapes match the oracle too", "[attention][oracle]") {
  using dynamic_gqa = gqa<cpu::backend, gqa_shape<dynamic_extent, dynamic_extent, dynamic_extent>>;
  const io::reference_file& file = oracle();
  const auto q = file.doubles("gqa.q"), k = file.doubles("gqa.k"), v = file.doubles("gqa.v");
  const auto want = file.doubles("gqa.out_causal");
  const dynamic_gqa module(cpu::backend{}, gqa_shape<dynamic_extent, dynamic_extent, dynamic_extent>(heads, 2, dim, dim),
                           gqa_options{0.125f});
  const auto qb = sequence_rows(q, heads, tokens, 1, 0, tokens), kb = sequence_rows(k, 2, tokens, 1, 0, tokens),
             vb = sequence_rows(v, 2, tokens, 1, 0, tokens);
  std::vector<float> out(qb.size());
  module.prefill(view3(qb, tokens, heads), view3(kb, tokens, 2), view3(vb, tokens, 2),
                 dtensor_view<float, 3>(out.data(), dextents<3>(tokens, heads, dim)));
  CHECK(relative_error(out, sequence_rows_f64(want, heads, tokens, 1)) <= 1e-5);
}

// One full-width dense layer and one full-width MoE layer of the 671B configuration (hidden 7168,
// 128 heads, 256 routed experts) run on synthetic weights: finite outputs, identical across two
// runs with the same seed, different with another seed, and only the experts the router picked
// are ever made.

#include <catch2/catch.hpp>

#include "full_width.hpp"

using latte::index_t;
namespace model = latte::model;

TEST_CASE("full-width dense and MoE layers: finite, reproducible, seed-dependent", "[deepseek671b][full_width]") {
  const model::config c = full_width::two_layers();
  const model::synthetic_options options{.seed = 42, .memory_budget = std::size_t(1536) << 20};
  const full_width::result a = full_width::run(c, options);
  REQUIRE(a.layer_out.size() == 2);
  REQUIRE(a.logits.size() == std::size_t{4} * 2048);
  CHECK(full_width::all_finite(a.layer_out[0]));
  CHECK(full_width::all_finite(a.layer_out[1]));
  CHECK(full_width::all_finite(a.logits));
  // Activations of a sensible size (the embedding has RMS 1, each block adds O(1)).
  CHECK(full_width::rms(a.layer_out[1]) > 0.5);
  CHECK(full_width::rms(a.layer_out[1]) < 20.0);
  CHECK(full_width::rms(a.logits) > 0.05);

  // The MoE layer routed 4 tokens to 8 experts each; exactly those experts were made.
  REQUIRE(a.experts.size() == 4 * 8);
  const std::size_t picked = full_width::distinct(a.experts);
  CHECK(picked >= 8);
  // embed, final norm, lm_head; per layer 2 norms + 7 attention; dense 3; MoE gate, bias, 3 shared.
  const index_t fixed_tensors = 3 + 2 * 9 + 3 + 2 + 3;
  CHECK(a.statistics.tensors_generated == fixed_tensors + 3 * static_cast<index_t>(picked));

  const full_width::result b = full_width::run(c, options);
  CHECK(b.logits == a.logits);
  CHECK(b.layer_out == a.layer_out);
  CHECK(b.experts == a.experts);

  model::synthetic_options other = options;
  other.seed = 43;
  const full_width::result d = full_width::run(c, other);
  CHECK(full_width::all_finite(d.logits));
  CHECK(d.layer_out[0] != a.layer_out[0]);
  CHECK(d.logits != a.logits);
}

TEST_CASE("full-width layers on fp8 block-scaled synthetic weights", "[deepseek671b][full_width]") {
  const model::config c = full_width::two_layers();
  const full_width::result r =
      full_width::run(c, {.seed = 42, .format = model::weight_format::fp8_blocks, .memory_budget = std::size_t(1) << 30});
  REQUIRE(r.layer_out.size() == 2);
  CHECK(full_width::all_finite(r.layer_out[1]));
  CHECK(full_width::all_finite(r.logits));
  CHECK(full_width::rms(r.layer_out[1]) > 0.5);
  CHECK(full_width::rms(r.layer_out[1]) < 20.0);
}

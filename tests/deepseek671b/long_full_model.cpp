// The whole 671B model, all 61 full-width layers of the static preset, on streamed synthetic
// weights within a memory budget: finite logits, the budget honoured, and only routed experts
// the router picked made. Minutes on a small machine.

// GCC 12 reports -Wmaybe-uninitialized inside its own AVX-512 intrinsics when inlining Eigen's
// GEMM packing (_mm512_undefined_ps is uninitialised by design): a false positive outside latte.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include <latte/backend/cpu/backend.hpp>
#include <latte/model/deepseek_v3.hpp>
#include <latte/model/plan.hpp>
#include <latte/model/presets.hpp>
#include <latte/model/synthetic_weights.hpp>

namespace model = latte::model;
using latte::index_t;

namespace {
struct expert_counter final : model::observer {
  index_t picked = 0;
  void routing(index_t, index_t, std::span<const std::int32_t> experts, std::span<const float>) override {
    picked += static_cast<index_t>(std::set<std::int32_t>(experts.begin(), experts.end()).size());
  }
};
}  // namespace

TEST_CASE("all 61 layers of the 671B preset on streamed synthetic weights", "[deepseek671b][long]") {
  const model::config c = model::deepseek_v3_671b::make_config();
  const std::size_t budget =
      std::max(model::streamed_working_set_bytes(c, model::weight_format::bf16) + (std::size_t(1) << 30),
               std::min(model::half_available_memory(), std::size_t(8) << 30));
  model::synthetic_weights weights(c, {.seed = 2024, .memory_budget = budget, .include_mtp = false});
  model::deepseek_v3<latte::cpu::backend, model::deepseek_v3_671b> net(
      latte::cpu::backend{}, c, weights, {.residency = model::weight_residency::streamed});
  auto state = net.make_state(1, 4);
  const std::vector<std::int32_t> prompt{0, 100, 2000, 129279};
  expert_counter experts;
  const auto logits = net.forward(std::span<const std::int32_t>(prompt), state, model::logits_for::last_token, &experts);
  REQUIRE(logits.size() == 129280);
  CHECK(std::all_of(logits.begin(), logits.end(), [](float x) { return std::isfinite(x); }));
  CHECK(state.length(0) == 4);

  const model::synthetic_statistics& s = weights.statistics();
  CHECK(s.peak_bytes_held <= budget);
  // Everything but the routed experts, plus 3 tensors per picked expert.
  const model::model_plan p = model::make_plan(c);
  const index_t non_expert_tensors = p.tensors - 58 * 256 * 3;
  CHECK(s.tensors_generated == non_expert_tensors + 3 * experts.picked);
  CHECK(experts.picked >= 58 * 8);
  CHECK(experts.picked <= 58 * 32);
}

#pragma once
// A cut of the 671B configuration for tests: full width (hidden 7168, 128 heads, d_c 512,
// d_c' 1536, d_h^R 64, 256 routed + 1 shared experts, top-8) but two layers, layer 0 dense and
// layer 1 MoE, and a small vocabulary (the head is not what these tests look at). Runs the
// streamed model on synthetic weights and keeps what the tests compare.

// GCC 12 reports -Wmaybe-uninitialized inside its own AVX-512 intrinsics when inlining Eigen's
// GEMM packing (_mm512_undefined_ps is uninitialised by design): a false positive outside latte.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <latte/backend/cpu/backend.hpp>
#include <latte/model/deepseek_v3.hpp>
#include <latte/model/presets.hpp>
#include <latte/model/synthetic_weights.hpp>

namespace full_width {

inline latte::model::config two_layers(latte::index_t vocab = 2048) {
  latte::model::config c = latte::model::deepseek_v3_671b::make_config();
  c.num_hidden_layers = 2;
  c.first_k_dense_replace = 1;
  c.vocab_size = vocab;
  return c;
}

struct result {
  std::vector<float> logits;                       // [tokens, vocab]
  std::vector<std::vector<float>> layer_out;       // per layer, [tokens, hidden]
  std::vector<std::int32_t> experts;               // layer 1's routing [tokens, top_k]
  latte::model::synthetic_statistics statistics;
};

class recorder final : public latte::model::observer {
 public:
  explicit recorder(result& r) : r_(r) {}
  void tensor(std::string_view name, latte::matrix_view<const float> v) override {
    if (!name.starts_with("layer") || !name.ends_with(".out") || name.ends_with("attn.out") || name.ends_with("mlp.out"))
      return;
    std::vector<float> copy;
    for (latte::index_t i = 0; i < v.extent(0); ++i)
      for (latte::index_t j = 0; j < v.extent(1); ++j) copy.push_back(v(i, j));
    r_.layer_out.push_back(std::move(copy));
  }
  void routing(latte::index_t, latte::index_t, std::span<const std::int32_t> experts, std::span<const float>) override {
    r_.experts.assign(experts.begin(), experts.end());
  }

 private:
  result& r_;
};

inline result run(const latte::model::config& c, latte::model::synthetic_options options,
                  const std::vector<std::int32_t>& prompt = {1, 2, 3, 4}) {
  options.include_mtp = false;
  latte::model::synthetic_weights weights(c, options);
  latte::model::deepseek_v3<latte::cpu::backend> model(latte::cpu::backend{}, c, weights,
                                                       {.residency = latte::model::weight_residency::streamed});
  auto state = model.make_state(1, static_cast<latte::index_t>(prompt.size()));
  result r;
  recorder watch(r);
  const latte::host_buffer<float> logits =
      model.forward(std::span<const std::int32_t>(prompt), state, latte::model::logits_for::all_tokens, &watch);
  r.logits.assign(logits.begin(), logits.end());
  r.statistics = weights.statistics();
  return r;
}

inline bool all_finite(const std::vector<float>& v) {
  for (float x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

inline double rms(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return std::sqrt(s / static_cast<double>(v.size()));
}

inline std::size_t distinct(const std::vector<std::int32_t>& ids) { return std::set<std::int32_t>(ids.begin(), ids.end()).size(); }

}  // namespace full_width

#pragma once
// Choosing the next token from a row of logits: greedy (argmax, first index on ties) or
// temperature sampling restricted to the smallest set of tokens whose probability reaches top_p
// (nucleus sampling), from a seeded generator so that a run can be repeated.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <span>
#include <vector>

#include "../core/error.hpp"

namespace latte::runtime {

struct sampling_options {
  float temperature = 0.0f;  // 0: greedy
  float top_p = 1.0f;        // (0, 1]
  std::uint64_t seed = 0;
};

inline std::int32_t argmax(std::span<const float> logits) {
  require(!logits.empty(), "sampling: empty logits");
  return static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

class sampler {
 public:
  explicit sampler(sampling_options options) : options_(options), engine_(options.seed) {
    require(options.temperature >= 0.0f && std::isfinite(options.temperature), "sampling: temperature must be >= 0, got ",
            options.temperature);
    require(options.top_p > 0.0f && options.top_p <= 1.0f, "sampling: top_p must be in (0, 1], got ", options.top_p);
  }

  std::int32_t next(std::span<const float> logits) {
    if (options_.temperature == 0.0f) return argmax(logits);
    const float peak = *std::max_element(logits.begin(), logits.end());
    std::vector<double> p(logits.size());
    double total = 0.0;
    for (std::size_t i = 0; i < logits.size(); ++i)
      total += (p[i] = std::exp((static_cast<double>(logits[i]) - peak) / options_.temperature));
    std::vector<std::int32_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
    // Nucleus: keep the most likely tokens until their mass reaches top_p.
    double kept = 0.0;
    std::size_t count = 0;
    while (count < order.size() && (count == 0 || kept < options_.top_p * total)) kept += p[order[count++]];
    std::uniform_real_distribution<double> pick(0.0, kept);
    double r = pick(engine_);
    for (std::size_t i = 0; i < count; ++i) {
      r -= p[order[i]];
      if (r <= 0.0) return order[i];
    }
    return order[count - 1];
  }

 private:
  sampling_options options_;
  std::mt19937_64 engine_;
};

}  // namespace latte::runtime

#pragma once
// Rotary frequency schedules (SPEC.md section 4), in double precision.
//
// Plain:  inv_freq_j = theta^(-2j/d),  j = 0 .. d/2 - 1
// YaRN (factor s, original length L, beta_fast a, beta_slow b):
//   corr(r) = d ln(L / (2 pi r)) / (2 ln theta)
//   low = max(floor(corr(a)), 0);  high = min(ceil(corr(b)), d - 1);  if low == high: high += 0.001
//   ramp_j = clamp((j - low) / (high - low), 0, 1)
//   inv_freq_j = f_j (1 - ramp_j) + (f_j / s) ramp_j
// and an attention factor on cos/sin, get_m(s, mscale) / get_m(s, mscale_all_dim) when both are
// given, else get_m(s, 1), with get_m(s, m) = 0.1 m ln(s) + 1 for s > 1 (else 1) — the rule of
// transformers' YaRN parameters, which the checkpoints were trained with.

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "../core/error.hpp"
#include "config.hpp"

namespace latte::rope {

// get_m(s, m): YaRN's magnitude correction.
inline double yarn_mscale(double factor, double mscale = 1.0) noexcept {
  return factor <= 1.0 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0;
}

inline void validate(const config& c) {
  require(c.rotary_dim > 0 && c.rotary_dim % 2 == 0, "rope: rotary dimension must be positive and even, got ",
          c.rotary_dim);
  require(c.theta > 1.0, "rope: theta must exceed 1, got ", c.theta);
  if (c.scaling == scaling_type::yarn) {
    require(c.factor > 0.0, "rope: YaRN factor must be positive, got ", c.factor);
    require(c.original_max_position > 0, "rope: YaRN original_max_position_embeddings must be positive");
    require(c.beta_fast > 0.0 && c.beta_slow > 0.0, "rope: YaRN beta_fast and beta_slow must be positive");
  }
}

// [rotary_dim / 2] inverse frequencies.
inline std::vector<double> inv_freq(const config& c) {
  validate(c);
  const index_t d = c.rotary_dim;
  std::vector<double> f(static_cast<std::size_t>(d / 2));
  for (index_t j = 0; j < d / 2; ++j) f[j] = std::pow(c.theta, -2.0 * static_cast<double>(j) / static_cast<double>(d));
  if (c.scaling != scaling_type::yarn) return f;

  const double dd = static_cast<double>(d);
  auto correction_dim = [&](double rotations) {
    return dd * std::log(static_cast<double>(c.original_max_position) / (rotations * 2.0 * std::numbers::pi)) /
           (2.0 * std::log(c.theta));
  };
  const double low = std::max(std::floor(correction_dim(c.beta_fast)), 0.0);
  double high = std::min(std::ceil(correction_dim(c.beta_slow)), dd - 1.0);
  if (low == high) high += 0.001;
  for (index_t j = 0; j < d / 2; ++j) {
    const double ramp = std::clamp((static_cast<double>(j) - low) / (high - low), 0.0, 1.0);
    f[j] = f[j] * (1.0 - ramp) + (f[j] / c.factor) * ramp;
  }
  return f;
}

// The factor multiplying cos and sin (1 without YaRN).
inline double attention_factor(const config& c) {
  if (c.scaling != scaling_type::yarn) return 1.0;
  if (c.mscale != 0.0 && c.mscale_all_dim != 0.0)
    return yarn_mscale(c.factor, c.mscale) / yarn_mscale(c.factor, c.mscale_all_dim);
  return yarn_mscale(c.factor);
}

// Softmax scale for a query-key head of qk_head_dim: qk_head_dim^-1/2, times m^2 with
// m = get_m(s, mscale_all_dim) when YaRN is on and mscale_all_dim is given (SPEC.md section 3).
inline double softmax_scale(const config& c, index_t qk_head_dim) {
  require(qk_head_dim > 0, "rope: query-key head dimension must be positive, got ", qk_head_dim);
  double scale = 1.0 / std::sqrt(static_cast<double>(qk_head_dim));
  if (c.scaling == scaling_type::yarn && c.mscale_all_dim != 0.0) {
    const double m = yarn_mscale(c.factor, c.mscale_all_dim);
    scale *= m * m;
  }
  return scale;
}

}  // namespace latte::rope

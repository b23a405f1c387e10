#pragma once
// Shared pieces of the long-context tests: a small-width MLA layer with the 671B preset's rotary
// settings (YaRN factor 40 over 4096, rope dim 64, so position 163,839 is in range), latent
// caches filled directly with the rows the layer would have written, and a float64 decode
// reference in the naive form (SPEC.md section 3) that streams over the cached tokens.
//
//   layer: 4 heads, no q_lora (q_proj), kv_lora 32, qk_nope 32, qk_rope 64, v 32, hidden 128

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <random>
#include <span>
#include <vector>

#include <latte/attention/mla.hpp>
#include <latte/backend/cpu/backend.hpp>
#include <latte/core/tensor_view.hpp>
#include <latte/core/weight_view.hpp>
#include <latte/model/presets.hpp>
#include <latte/rope/frequencies.hpp>
#include <latte/rope/table.hpp>

namespace longcontext {

using latte::index_t;

// The last position of the 671B preset (max_position_embeddings 163,840).
inline constexpr index_t last_position = latte::model::deepseek_v3_671b::max_position_embeddings - 1;

using shape_t = latte::attention::mla_shape<latte::dynamic_extent, latte::dynamic_extent, latte::dynamic_extent,
                                            latte::dynamic_extent, latte::dynamic_extent, latte::dynamic_extent>;
using absorbed_t = latte::attention::mla<latte::cpu::backend, shape_t, latte::attention::absorbed>;
using naive_t = latte::attention::mla<latte::cpu::backend, shape_t, latte::attention::naive>;

// ||got - want|| / ||want|| (Frobenius).
template <class G, class W>
double relative_error(std::span<const G> got, std::span<const W> want) {
  REQUIRE(got.size() == want.size());
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
    diff += (g - w) * (g - w);
    norm += w * w;
  }
  return std::sqrt(diff / std::max(norm, std::numeric_limits<double>::min()));
}
template <class G, class W>
double relative_error(const std::vector<G>& got, const std::vector<W>& want) {
  return relative_error(std::span<const G>(got), std::span<const W>(want));
}

inline bool all_finite(std::span<const float> v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

inline std::vector<float> normal(std::mt19937& rng, std::size_t n, double stddev, double mean = 0.0) {
  std::normal_distribution<double> d(mean, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(d(rng));
  return v;
}

// SPEC.md section 4 in long double: the same formula as latte::rope, written out again.
inline std::vector<long double> inv_freq_long(const latte::rope::config& c) {
  const long double d = static_cast<long double>(c.rotary_dim), theta = static_cast<long double>(c.theta);
  std::vector<long double> f(static_cast<std::size_t>(c.rotary_dim / 2));
  for (std::size_t j = 0; j < f.size(); ++j) f[j] = std::pow(theta, -2.0L * static_cast<long double>(j) / d);
  if (c.scaling != latte::rope::scaling_type::yarn) return f;
  const long double pi = std::numbers::pi_v<long double>;
  auto corr = [&](long double rotations) {
    return d * std::log(static_cast<long double>(c.original_max_position) / (rotations * 2.0L * pi)) /
           (2.0L * std::log(theta));
  };
  const long double low = std::max(std::floor(corr(static_cast<long double>(c.beta_fast))), 0.0L);
  long double high = std::min(std::ceil(corr(static_cast<long double>(c.beta_slow))), d - 1.0L);
  if (low == high) high += 0.001L;
  for (std::size_t j = 0; j < f.size(); ++j) {
    const long double ramp = std::clamp((static_cast<long double>(j) - low) / (high - low), 0.0L, 1.0L);
    f[j] = f[j] * (1.0L - ramp) + f[j] / static_cast<long double>(c.factor) * ramp;
  }
  return f;
}

// The layer: float32 weights N(0, gain^2 / in) (q_proj scaled by query_gain, which sets the size
// of the logits), norm weights near 1, the 671B rotary settings and softmax scale.
class small_mla {
 public:
  static constexpr index_t heads = 4, kv_lora = 32, nope = 32, rope = 64, dv = 32, hidden = 128;
  static constexpr index_t qk = nope + rope, latent = kv_lora + rope;

  explicit small_mla(std::uint32_t seed, double query_gain = 2.0)
      : rng_(seed), rope_config_(latte::model::deepseek_v3_671b::make_config().rope), tables_(rope_config_) {
    auto linear = [&](std::vector<float>& w, index_t out, index_t in, double gain) {
      w = normal(rng_, static_cast<std::size_t>(out * in), gain / std::sqrt(static_cast<double>(in)));
    };
    linear(q_proj_, heads * qk, hidden, query_gain);
    linear(kv_a_, latent, hidden, 1.0);
    kv_norm_ = normal(rng_, static_cast<std::size_t>(kv_lora), 0.1, 1.0);
    linear(kv_b_, heads * (nope + dv), kv_lora, 1.0);
    linear(o_proj_, hidden, heads * dv, 1.0);
    weights_.q_b_proj = latte::make_weight_view(q_proj_.data(), heads * qk, hidden);
    weights_.kv_a_proj_with_mqa = latte::make_weight_view(kv_a_.data(), latent, hidden);
    weights_.kv_a_layernorm = latte::make_weight_view(kv_norm_.data(), 1, kv_lora);
    weights_.kv_b_proj = latte::make_weight_view(kv_b_.data(), heads * (nope + dv), kv_lora);
    weights_.o_proj = latte::make_weight_view(o_proj_.data(), hidden, heads * dv);
    options_.softmax_scale = static_cast<float>(latte::rope::softmax_scale(rope_config_, qk));
    options_.rms_norm_eps = 1e-6f;
    options_.rope = latte::rope_layout::interleaved_pairs;
  }

  shape_t shape() const { return shape_t(heads, 0, kv_lora, nope, rope, dv); }
  const latte::attention::mla_weights& weights() const noexcept { return weights_; }
  const latte::attention::mla_options& options() const noexcept { return options_; }
  const latte::rope::config& rope_config() const noexcept { return rope_config_; }
  const latte::rope::table_maker& tables() const noexcept { return tables_; }
  std::mt19937& rng() noexcept { return rng_; }

  // Multiplies q_proj by `factor`: every logit scales by it.
  void scale_queries(double factor) {
    for (float& w : q_proj_) w = static_cast<float>(static_cast<double>(w) * factor);
  }

  absorbed_t absorbed(const latte::cpu::backend& b) const { return absorbed_t(b, shape(), weights_, options_); }
  naive_t naive(const latte::cpu::backend& b) const { return naive_t(b, shape(), weights_, options_); }

  // Random inputs [tokens, hidden] (the normed activations an MLA layer receives).
  std::vector<float> inputs(index_t tokens) { return normal(rng_, static_cast<std::size_t>(tokens * hidden), 1.0); }

  // Appends to `cache` the rows the layer writes for inputs x [n, hidden] at positions
  // first_position .. + n - 1: [RMSNorm(x W_c^T) | RoPE(x W_r^T)] (SPEC.md section 3). Done in
  // blocks, so a 163,840-token cache needs no 163,840-row scratch.
  void fill(const latte::cpu::backend& b, latte::attention::latent_cache<latte::cpu::backend>& cache,
            index_t first_position, index_t n) {
    constexpr index_t block = 4096;
    std::vector<index_t> positions;
    std::vector<float> kv(static_cast<std::size_t>(block * latent));
    for (index_t done = 0; done < n; done += block) {
      const index_t m = std::min(block, n - done);
      const std::vector<float> x = inputs(m);
      positions.resize(static_cast<std::size_t>(m));
      for (index_t i = 0; i < m; ++i) positions[static_cast<std::size_t>(i)] = first_position + done + i;
      const latte::host_buffer<float> table = tables_.make(positions);
      const latte::matrix_view<float> kv_view = latte::make_matrix_view(kv.data(), m, latent);
      b.gemm(latte::make_matrix_view<const float>(x.data(), m, hidden), weights_.kv_a_proj_with_mqa, kv_view);
      const index_t row = cache.extend(m);
      const latte::matrix_view<float> rows = cache.row_block(row, m);
      b.rmsnorm(latte::col_block(latte::matrix_view<const float>(kv_view), 0, kv_lora), weights_.kv_a_layernorm,
                options_.rms_norm_eps, latte::col_block(rows, 0, kv_lora));
      for (index_t i = 0; i < m; ++i)
        std::copy_n(&kv_view(i, kv_lora), rope, &rows(i, kv_lora));
      b.rope(latte::dtensor_view<float, 3>(&rows(0, kv_lora), latte::dextents<3>(m, 1, rope), {latent, rope, 1}),
             latte::dtensor_view<const float, 3>(table.data(), latte::dextents<3>(m, rope / 2, 2)), options_.rope);
    }
  }

  // One decode step through the absorbed layer: x [hidden] at position cache.size() (as far as
  // the mask goes) and `position` (as far as RoPE goes); returns out [hidden].
  std::vector<float> decode(const latte::cpu::backend& b, latte::attention::latent_cache<latte::cpu::backend>& cache,
                            std::span<const float> x, index_t position) const {
    const latte::host_buffer<float> table = tables_.make(std::vector<index_t>{position});
    std::vector<float> out(static_cast<std::size_t>(hidden));
    const latte::attention::sequence_chunk chunk{0, 1};
    latte::attention::latent_cache<latte::cpu::backend>* caches[1] = {&cache};
    absorbed(b).forward(latte::make_matrix_view(x.data(), 1, hidden),
                        latte::dtensor_view<const float, 3>(table.data(), latte::dextents<3>(1, rope / 2, 2)),
                        std::span<const latte::attention::sequence_chunk>(&chunk, 1),
                        std::span<latte::attention::latent_cache<latte::cpu::backend>* const>(caches),
                        latte::make_matrix_view(out.data(), 1, hidden));
    return out;
  }

  // The same step in float64, naive form, over cached rows [size, kv_lora + rope] read from
  // `rows` (the new token's own row is computed here, not read): keys [W_UK,i c_kv(t) | k_rope(t)],
  // values W_UV,i c_kv(t), RoPE of the new token by a long-double angle. `peak_logit` receives
  // the largest |scale x score| seen.
  std::vector<double> decode_reference(latte::matrix_view<const float> rows, std::span<const float> x,
                                       index_t position, double* peak_logit = nullptr) const {
    const index_t cached = rows.extent(0);
    auto linear = [&](const std::vector<float>& w, index_t out, index_t in, const double* v, double* y) {
      for (index_t o = 0; o < out; ++o) {
        double acc = 0.0;
        for (index_t c = 0; c < in; ++c) acc += static_cast<double>(w[static_cast<std::size_t>(o * in + c)]) * v[c];
        y[o] = acc;
      }
    };
    const std::vector<long double> f = inv_freq_long(rope_config_);
    auto turn = [&](double* v) {  // interleaved pairs
      for (index_t j = 0; j < rope / 2; ++j) {
        const long double angle = static_cast<long double>(position) * f[static_cast<std::size_t>(j)];
        const double c = static_cast<double>(std::cos(angle)), s = static_cast<double>(std::sin(angle));
        const double a = v[2 * j], bb = v[2 * j + 1];
        v[2 * j] = a * c - bb * s;
        v[2 * j + 1] = a * s + bb * c;
      }
    };
    std::vector<double> xd(x.begin(), x.end());
    std::vector<double> q(static_cast<std::size_t>(heads * qk)), kv(static_cast<std::size_t>(latent));
    linear(q_proj_, heads * qk, hidden, xd.data(), q.data());
    linear(kv_a_, latent, hidden, xd.data(), kv.data());
    double ms = 0.0;
    for (index_t c = 0; c < kv_lora; ++c) ms += kv[static_cast<std::size_t>(c)] * kv[static_cast<std::size_t>(c)];
    const double inv = 1.0 / std::sqrt(ms / kv_lora + static_cast<double>(options_.rms_norm_eps));
    for (index_t c = 0; c < kv_lora; ++c)
      kv[static_cast<std::size_t>(c)] *= inv * static_cast<double>(kv_norm_[static_cast<std::size_t>(c)]);
    turn(kv.data() + kv_lora);
    for (index_t i = 0; i < heads; ++i) turn(q.data() + i * qk + nope);

    // Every token's row in float64, the new one last.
    auto row = [&](index_t t, index_t c) -> double {
      return t < cached ? static_cast<double>(rows(t, c)) : kv[static_cast<std::size_t>(c)];
    };
    const double scale = static_cast<double>(options_.softmax_scale);
    std::vector<double> o(static_cast<std::size_t>(heads * dv), 0.0), scores(static_cast<std::size_t>(cached + 1));
    std::vector<double> c_kv(static_cast<std::size_t>(kv_lora)), expanded(static_cast<std::size_t>(nope + dv));
    double peak = 0.0;
    for (index_t i = 0; i < heads; ++i) {
      const double* qi = q.data() + i * qk;
      const float* w_ukv = kv_b_.data() + i * (nope + dv) * kv_lora;  // [nope + dv, kv_lora]
      double top = -std::numeric_limits<double>::infinity();
      for (index_t t = 0; t <= cached; ++t) {
        for (index_t c = 0; c < kv_lora; ++c) c_kv[static_cast<std::size_t>(c)] = row(t, c);
        double dot = 0.0;
        for (index_t r = 0; r < nope; ++r) {
          double k = 0.0;
          for (index_t c = 0; c < kv_lora; ++c)
            k += static_cast<double>(w_ukv[r * kv_lora + c]) * c_kv[static_cast<std::size_t>(c)];
          dot += qi[r] * k;
        }
        for (index_t r = 0; r < rope; ++r) dot += qi[nope + r] * row(t, kv_lora + r);
        scores[static_cast<std::size_t>(t)] = scale * dot;
        top = std::max(top, scale * dot);
        peak = std::max(peak, std::abs(scale * dot));
      }
      double total = 0.0;
      double* oi = o.data() + i * dv;
      for (index_t t = 0; t <= cached; ++t) {
        const double p = std::exp(scores[static_cast<std::size_t>(t)] - top);
        if (p == 0.0) continue;
        total += p;
        for (index_t r = 0; r < dv; ++r) {
          double v = 0.0;
          for (index_t c = 0; c < kv_lora; ++c) v += static_cast<double>(w_ukv[(nope + r) * kv_lora + c]) * row(t, c);
          oi[r] += p * v;
        }
      }
      for (index_t r = 0; r < dv; ++r) oi[r] /= total;
    }
    if (peak_logit != nullptr) *peak_logit = peak;
    std::vector<double> out(static_cast<std::size_t>(hidden));
    linear(o_proj_, hidden, heads * dv, o.data(), out.data());
    return out;
  }

  // A float64 cos/sin table [positions, rope / 2, 2] (the attention factor is 1 for the 671B
  // settings), for reference::mla_forward.
  std::vector<double> table_long(std::span<const index_t> positions) const {
    const std::vector<long double> f = inv_freq_long(rope_config_);
    std::vector<double> t(positions.size() * f.size() * 2);
    for (std::size_t p = 0; p < positions.size(); ++p)
      for (std::size_t j = 0; j < f.size(); ++j) {
        const long double angle = static_cast<long double>(positions[p]) * f[j];
        t[(p * f.size() + j) * 2] = static_cast<double>(std::cos(angle));
        t[(p * f.size() + j) * 2 + 1] = static_cast<double>(std::sin(angle));
      }
    return t;
  }

 private:
  std::mt19937 rng_;
  latte::rope::config rope_config_;
  latte::rope::table_maker tables_;
  std::vector<float> q_proj_, kv_a_, kv_norm_, kv_b_, o_proj_;
  latte::attention::mla_weights weights_{};
  latte::attention::mla_options options_{};
};

}  // namespace longcontext

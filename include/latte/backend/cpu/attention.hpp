#pragma once
// Scaled dot-product attention on the CPU, flash style: keys are visited in blocks with an
// online softmax (running max m, running sum l, unnormalised accumulator), so no tq x tk matrix
// exists. Query heads that share a KV head are processed together, reading each key block once
// for the whole group (GQA; MLA's absorbed form is the case of one KV head with dv < dk). When
// there are fewer (query, KV head) pairs than workers, as in decode, the keys are split between
// workers and the partial results merged by their log-sum-exp (split-KV / flash-decoding).

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../../core/error.hpp"
#include "../../core/tensor_view.hpp"
#include "../options.hpp"
#include "eigen_maps.hpp"
#include "parallel.hpp"

namespace latte::cpu {

namespace detail {
// Online-softmax state of `group` query heads over a range of keys.
struct softmax_partial {
  row_matrix acc;               // [group, dv] sum_t p_t v_t, relative to max
  Eigen::VectorXf max, sum;     // [group]
};

inline void attend_range(const dtensor_view<const float, 3>& q, const dtensor_view<const float, 3>& k,
                         const dtensor_view<const float, 3>& v, index_t query, index_t kv_head, index_t group,
                         index_t key_begin, index_t key_end, float scale, softmax_partial& state) {
  constexpr index_t block = 64;
  const index_t dk = q.extent(2), dv = v.extent(2);
  state.acc.setZero(group, dv);
  state.max.setConstant(group, -std::numeric_limits<float>::infinity());
  state.sum.setZero(group);
  const_matrix_map qg = eigen_map(&q(query, kv_head * group, 0), group, dk, q.stride(1));
  row_matrix scores(group, block);
  for (index_t b0 = key_begin; b0 < key_end; b0 += block) {
    const index_t bn = std::min(block, key_end - b0);
    const_matrix_map kb = eigen_map(&k(b0, kv_head, 0), bn, dk, k.stride(0));
    const_matrix_map vb = eigen_map(&v(b0, kv_head, 0), bn, dv, v.stride(0));
    auto s = scores.leftCols(bn);
    s.noalias() = scale * (qg * kb.transpose());
    for (index_t h = 0; h < group; ++h) {
      const float new_max = std::max(state.max(h), s.row(h).maxCoeff());
      const float correction = std::exp(state.max(h) - new_max);
      float row_sum = 0.0f;
      for (index_t j = 0; j < bn; ++j) row_sum += (s(h, j) = std::exp(s(h, j) - new_max));
      state.sum(h) = state.sum(h) * correction + row_sum;
      state.acc.row(h) *= correction;
      state.max(h) = new_max;
    }
    state.acc.noalias() += s * vb;
  }
}
}  // namespace detail

// q [tq, hq, dk], k [tk, hk, dk], v [tk, hk, dv], out [tq, hq, dv]; inner strides 1.
inline void attention(int threads, dtensor_view<const float, 3> q, dtensor_view<const float, 3> k,
                      dtensor_view<const float, 3> v, dtensor_view<float, 3> out, const attention_options& options) {
  const index_t tq = q.extent(0), hq = q.extent(1), dk = q.extent(2);
  const index_t tk = k.extent(0), hk = k.extent(1), dv = v.extent(2);
  require(k.extent(2) == dk, "attention: keys have ", k.extent(2), " dims, queries ", dk);
  require(v.extent(0) == tk && v.extent(1) == hk, "attention: values are [", v.extent(0), ", ", v.extent(1),
          ", .], keys [", tk, ", ", hk, ", .]");
  require(hk > 0 && hq % hk == 0, "attention: ", hq, " query heads do not divide into ", hk, " KV heads");
  require(out.extent(0) == tq && out.extent(1) == hq && out.extent(2) == dv, "attention: out is [", out.extent(0),
          ", ", out.extent(1), ", ", out.extent(2), "], expected [", tq, ", ", hq, ", ", dv, "]");
  require(q.stride(2) == 1 && k.stride(2) == 1 && v.stride(2) == 1 && out.stride(2) == 1,
          "attention: inner strides must be 1");
  const index_t group = hq / hk;
  auto visible = [&](index_t i) -> index_t {
    if (!options.causal) return tk;
    return std::clamp<index_t>(options.query_offset + i + 1, 0, tk);
  };

  const index_t pairs = tq * hk;
  const index_t wanted = 4 * static_cast<index_t>(std::max(threads, 1));
  const index_t splits = pairs >= wanted ? 1 : std::clamp<index_t>((wanted + pairs - 1) / pairs, 1, std::max<index_t>(1, tk / 256));
  const index_t span = (tk + splits - 1) / splits;

  std::vector<detail::softmax_partial> partials(static_cast<std::size_t>(pairs * splits));
  parallel_for(threads, pairs * splits, [&](index_t item) {
    const index_t split = item % splits, pair = item / splits;
    const index_t i = pair / hk, g = pair % hk;
    const index_t end = std::min(visible(i), (split + 1) * span);
    detail::attend_range(q, k, v, i, g, group, std::min(end, split * span), end, options.scale,
                         partials[static_cast<std::size_t>(item)]);
  });

  parallel_for(threads, pairs, [&](index_t pair) {
    const index_t i = pair / hk, g = pair % hk;
    for (index_t h = 0; h < group; ++h) {
      float peak = -std::numeric_limits<float>::infinity();
      for (index_t s = 0; s < splits; ++s) peak = std::max(peak, partials[pair * splits + s].max(h));
      float* o = &out(i, g * group + h, 0);
      std::fill(o, o + dv, 0.0f);
      if (peak == -std::numeric_limits<float>::infinity()) continue;  // no visible key
      double total = 0.0;
      for (index_t s = 0; s < splits; ++s) {
        const detail::softmax_partial& p = partials[pair * splits + s];
        if (p.sum(h) == 0.0f) continue;
        const float w = std::exp(p.max(h) - peak);
        total += static_cast<double>(p.sum(h)) * w;
        for (index_t c = 0; c < dv; ++c) o[c] += w * p.acc(h, c);
      }
      const float inv = static_cast<float>(1.0 / total);
      for (index_t c = 0; c < dv; ++c) o[c] *= inv;
    }
  });
}

}  // namespace latte::cpu

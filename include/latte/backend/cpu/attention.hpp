#pragma once
// Scaled dot-product attention on the CPU, flash style: keys are visited in blocks with an
// online softmax (running max m, running sum l, unnormalised accumulator), so no tq x tk matrix
// exists. A work item is a block of queries of one KV head together with every query head that
// shares it (GQA; MLA's absorbed form is the case of one KV head with dv < dk): its rows
// (queries x group heads, about 64) are packed once, so scores and the value update are small
// GEMMs that read each key block once for all of them. When there are fewer items than workers,
// as in decode, the keys are split between workers and the partial results merged by their
// log-sum-exp (split-KV / flash-decoding). Masked keys are never exponentiated: causal masking
// cuts each row of a key block to its visible prefix.

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

inline constexpr index_t attention_key_block = 64;   // keys per online-softmax step
inline constexpr index_t attention_item_rows = 64;   // query rows (queries x group heads) per item

// Online-softmax state of the rows of one item over a range of keys.
struct softmax_partial {
  row_matrix acc;            // [rows, dv] sum_t p_t v_t, relative to max
  Eigen::VectorXf max, sum;  // [rows]
};

// A worker's scratch, kept between items.
struct attention_scratch {
  row_matrix queries;  // [rows, dk] the item's queries times the softmax scale
  row_matrix scores;   // [rows, key block]
  softmax_partial state;
};

inline attention_scratch& worker_scratch() {
  thread_local attention_scratch scratch;
  return scratch;
}

// Queries [i0, i0 + nq) of KV head g with their `group` query heads (row (i - i0) * group + h)
// over keys [key_begin, key_end); visible(i) is how many keys query i sees.
template <class Visible>
void attend_item(const dtensor_view<const float, 3>& q, const dtensor_view<const float, 3>& k,
                 const dtensor_view<const float, 3>& v, index_t i0, index_t nq, index_t g, index_t group,
                 index_t key_begin, index_t key_end, float scale, const Visible& visible, attention_scratch& scratch,
                 softmax_partial& state) {
  constexpr index_t block = attention_key_block;
  const index_t dk = q.extent(2), dv = v.extent(2), rows = nq * group;
  scratch.queries.resize(rows, dk);
  for (index_t i = 0; i < nq; ++i)
    scratch.queries.middleRows(i * group, group).noalias() =
        scale * eigen_map(&q(i0 + i, g * group, 0), group, dk, q.stride(1));
  scratch.scores.resize(rows, block);
  state.acc.setZero(rows, dv);
  state.max.setConstant(rows, -std::numeric_limits<float>::infinity());
  state.sum.setZero(rows);

  const index_t end = std::min(key_end, visible(i0 + nq - 1));  // the last query sees the most keys
  for (index_t b0 = key_begin; b0 < end; b0 += block) {
    const index_t bn = std::min(block, end - b0);
    const const_matrix_map kb = eigen_map(&k(b0, g, 0), bn, dk, k.stride(0));
    const const_matrix_map vb = eigen_map(&v(b0, g, 0), bn, dv, v.stride(0));
    auto s = scratch.scores.leftCols(bn);
    s.noalias() = scratch.queries * kb.transpose();
    for (index_t i = 0; i < nq; ++i) {
      // Causal: query i sees the first `valid` keys of the block (a prefix).
      const index_t valid = std::clamp<index_t>(visible(i0 + i) - b0, 0, bn);
      for (index_t h = 0; h < group; ++h) {
        const index_t r = i * group + h;
        if (valid < bn) s.row(r).tail(bn - valid).setZero();
        if (valid == 0) continue;
        auto live = s.row(r).head(valid);
        const float new_max = std::max(state.max(r), live.maxCoeff());
        const float correction = std::exp(state.max(r) - new_max);  // 0 on the first visible block
        live.array() = (live.array() - new_max).exp();
        state.sum(r) = state.sum(r) * correction + live.sum();
        if (correction != 1.0f) state.acc.row(r) *= correction;
        state.max(r) = new_max;
      }
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
  if (tq == 0 || hq == 0 || dv == 0) return;
  const index_t group = hq / hk;
  const auto visible = [&](index_t i) -> index_t {
    if (!options.causal) return tk;
    return std::clamp<index_t>(options.query_offset + i + 1, 0, tk);
  };

  // Items: blocks of queries x KV heads, and key splits when that leaves workers idle.
  const index_t per_block = std::clamp<index_t>(detail::attention_item_rows / group, 1, tq);
  const index_t query_blocks = (tq + per_block - 1) / per_block;
  const index_t pairs = query_blocks * hk;
  const index_t wanted = 4 * static_cast<index_t>(std::max(threads, 1));
  const index_t splits =
      pairs >= wanted ? 1 : std::clamp<index_t>((wanted + pairs - 1) / pairs, 1, std::max<index_t>(1, tk / 256));
  const index_t span = (tk + splits - 1) / splits;
  // Later query blocks see more keys (causal): hand them out first.
  const auto block_of = [&](index_t pair) { return query_blocks - 1 - pair / hk; };

  // Writes rows of an item's result: out = acc / sum (zeros where no key was visible).
  const auto finish = [&](index_t i0, index_t nq, index_t g, const detail::softmax_partial& s) {
    for (index_t r = 0; r < nq * group; ++r) {
      matrix_map o = eigen_map(&out(i0 + r / group, g * group + r % group, 0), 1, dv, dv);
      if (s.sum(r) == 0.0f)
        o.setZero();
      else
        o.noalias() = s.acc.row(r) * (1.0f / s.sum(r));
    }
  };

  if (splits == 1) {
    parallel_for(threads, pairs, [&](index_t pair) {
      const index_t i0 = block_of(pair) * per_block, nq = std::min(per_block, tq - i0), g = pair % hk;
      detail::attention_scratch& scratch = detail::worker_scratch();
      detail::attend_item(q, k, v, i0, nq, g, group, 0, tk, options.scale, visible, scratch, scratch.state);
      finish(i0, nq, g, scratch.state);
    });
    return;
  }

  std::vector<detail::softmax_partial> partials(static_cast<std::size_t>(pairs * splits));
  parallel_for(threads, pairs * splits, [&](index_t item) {
    const index_t pair = item / splits, split = item % splits;
    const index_t i0 = block_of(pair) * per_block, nq = std::min(per_block, tq - i0), g = pair % hk;
    detail::attend_item(q, k, v, i0, nq, g, group, split * span, std::min(tk, (split + 1) * span), options.scale,
                        visible, detail::worker_scratch(), partials[static_cast<std::size_t>(item)]);
  });

  // Merge the splits of each item by their log-sum-exp.
  parallel_for(threads, pairs, [&](index_t pair) {
    const index_t i0 = block_of(pair) * per_block, nq = std::min(per_block, tq - i0), g = pair % hk;
    const detail::softmax_partial* part = &partials[static_cast<std::size_t>(pair * splits)];
    for (index_t r = 0; r < nq * group; ++r) {
      matrix_map o = eigen_map(&out(i0 + r / group, g * group + r % group, 0), 1, dv, dv);
      float peak = -std::numeric_limits<float>::infinity();
      for (index_t s = 0; s < splits; ++s) peak = std::max(peak, part[s].max(r));
      o.setZero();
      if (peak == -std::numeric_limits<float>::infinity()) continue;  // no visible key
      double total = 0.0;
      for (index_t s = 0; s < splits; ++s) {
        if (part[s].sum(r) == 0.0f) continue;
        const float w = std::exp(part[s].max(r) - peak);
        total += static_cast<double>(part[s].sum(r)) * w;
        o.noalias() += w * part[s].acc.row(r);
      }
      o *= static_cast<float>(1.0 / total);
    }
  });
}

}  // namespace latte::cpu

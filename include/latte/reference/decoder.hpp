#pragma once
// Reference DeepSeek-V3-family decoder (SPEC.md sections 2-5) in float64, composed from the other
// references: embedding, per layer RMSNorm -> naive MLA (reference/mla.hpp) -> residual ->
// RMSNorm -> dense SwiGLU or MoE (reference routing, every chosen expert, shared experts) ->
// residual, final RMSNorm, lm_head. One sequence from position 0. Weights come from any
// model::weight_source (host memory). Slow on purpose: for small test models.

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "../attention/mla_shape.hpp"
#include "../attention/mla_weights.hpp"
#include "../model/config.hpp"
#include "../model/names.hpp"
#include "../model/weight_source.hpp"
#include "../rope/frequencies.hpp"
#include "dequantize.hpp"
#include "gemm.hpp"
#include "mla.hpp"
#include "rmsnorm.hpp"
#include "routing.hpp"
#include "silu_mul.hpp"

namespace latte::reference {

namespace decoder_detail {
using rows = std::vector<double>;  // row-major [tokens, width]

inline matrix_view<const double> view(const rows& r, index_t tokens) {
  return make_matrix_view<const double>(r.data(), tokens, static_cast<index_t>(r.size()) / tokens);
}
inline rows linear(const rows& x, index_t tokens, const weight_view& w) {
  rows y(static_cast<std::size_t>(tokens * w.rows));
  gemm(view(x, tokens), w, make_matrix_view(y.data(), tokens, w.rows));
  return y;
}
inline rows norm(const rows& x, index_t tokens, const weight_view& w, double eps) {
  rows y(x.size());
  rmsnorm(view(x, tokens), w, eps, make_matrix_view(y.data(), tokens, static_cast<index_t>(x.size()) / tokens));
  return y;
}
inline rows swiglu(const rows& x, index_t tokens, const weight_view& gate, const weight_view& up,
                   const weight_view& down) {
  rows g = linear(x, tokens, gate);
  const rows u = linear(x, tokens, up);
  for (std::size_t i = 0; i < g.size(); ++i) g[i] = silu(g[i]) * u[i];
  return linear(g, tokens, down);
}
}  // namespace decoder_detail

// Logits [tokens.size(), vocab] for one sequence at positions 0 .. n-1.
inline std::vector<double> decoder_forward(const model::config& c, model::weight_source& source,
                                           std::span<const std::int32_t> tokens) {
  using namespace decoder_detail;
  namespace names = model::names;
  const index_t n = static_cast<index_t>(tokens.size()), hidden = c.hidden_size;
  const double eps = c.rms_norm_eps;

  rows x(static_cast<std::size_t>(n * hidden));
  const weight_view embed = source.get(names::embed, c.vocab_size, hidden);
  for (index_t t = 0; t < n; ++t)
    for (index_t j = 0; j < hidden; ++j) x[static_cast<std::size_t>(t * hidden + j)] = weight_at(embed, tokens[t], j);

  // cos/sin [n, rope/2, 2] in double.
  const std::vector<double> inv_freq = rope::inv_freq(c.rope);
  const double factor = rope::attention_factor(c.rope);
  const index_t pairs = static_cast<index_t>(inv_freq.size());
  std::vector<double> table(static_cast<std::size_t>(n * pairs * 2));
  for (index_t t = 0; t < n; ++t)
    for (index_t j = 0; j < pairs; ++j) {
      const double angle = static_cast<double>(t) * inv_freq[static_cast<std::size_t>(j)];
      table[static_cast<std::size_t>((t * pairs + j) * 2)] = std::cos(angle) * factor;
      table[static_cast<std::size_t>((t * pairs + j) * 2 + 1)] = std::sin(angle) * factor;
    }
  const dtensor_view<const double, 3> cos_sin(table.data(), dextents<3>(n, pairs, 2));

  const attention::mla_shape<dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent,
                             dynamic_extent>
      shape(c.num_attention_heads, c.q_lora_rank, c.kv_lora_rank, c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim);
  const attention::mla_options options{static_cast<float>(rope::softmax_scale(c.rope, c.qk_head_dim())),
                                       static_cast<float>(eps), c.rope_interleave};
  const index_t heads = c.num_attention_heads, qk = c.qk_head_dim();

  for (index_t i = 0; i < c.num_hidden_layers; ++i) {
    attention::mla_weights w;
    if (c.q_lora_rank > 0) {
      w.q_a_proj = source.get(names::attn(i, "q_a_proj"), c.q_lora_rank, hidden);
      w.q_a_layernorm = source.get(names::attn(i, "q_a_layernorm"), 1, c.q_lora_rank);
      w.q_b_proj = source.get(names::attn(i, "q_b_proj"), heads * qk, c.q_lora_rank);
    } else {
      w.q_b_proj = source.get(names::attn(i, "q_proj"), heads * qk, hidden);
    }
    w.kv_a_proj_with_mqa = source.get(names::attn(i, "kv_a_proj_with_mqa"), c.kv_lora_rank + c.qk_rope_head_dim, hidden);
    w.kv_a_layernorm = source.get(names::attn(i, "kv_a_layernorm"), 1, c.kv_lora_rank);
    w.kv_b_proj = source.get(names::attn(i, "kv_b_proj"), heads * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);
    w.o_proj = source.get(names::attn(i, "o_proj"), hidden, heads * c.v_head_dim);

    const rows h = norm(x, n, source.get(names::input_norm(i), 1, hidden), eps);
    rows attn(x.size());
    mla_forward(shape, w, options, view(h, n), cos_sin, make_matrix_view(attn.data(), n, hidden));
    for (std::size_t k = 0; k < x.size(); ++k) x[k] += attn[k];

    const rows m = norm(x, n, source.get(names::post_attention_norm(i), 1, hidden), eps);
    rows y;
    if (!c.is_moe_layer(i)) {
      const index_t inter = c.intermediate_size;
      y = swiglu(m, n, source.get(names::mlp(i, "gate_proj"), inter, hidden),
                 source.get(names::mlp(i, "up_proj"), inter, hidden), source.get(names::mlp(i, "down_proj"), hidden, inter));
    } else {
      const index_t experts = c.n_routed_experts, k = c.num_experts_per_tok, inter = c.moe_intermediate_size;
      const rows logits = linear(m, n, source.get(names::gate(i), experts, hidden));
      std::vector<float> bias;
      if (source.contains(names::gate_bias(i))) {
        const weight_view b = source.get(names::gate_bias(i), 1, experts);
        for (index_t e = 0; e < experts; ++e) bias.push_back(static_cast<float>(weight_at(b, 0, e)));
      }
      routing_options routing{.scoring = c.scoring, .top_k = k, .n_group = c.n_group, .topk_group = c.topk_group,
                              .norm_topk_prob = c.norm_topk_prob,
                              .routed_scaling_factor = static_cast<float>(c.routed_scaling_factor),
                              .selection_bias = bias.empty() ? nullptr : bias.data()};
      std::vector<std::int32_t> chosen(static_cast<std::size_t>(n * k));
      std::vector<double> gains(static_cast<std::size_t>(n * k));
      route(view(logits, n), routing, make_matrix_view(chosen.data(), n, k), make_matrix_view(gains.data(), n, k));
      y.assign(x.size(), 0.0);
      if (c.n_shared_experts > 0) {
        const index_t shared = inter * c.n_shared_experts;
        y = swiglu(m, n, source.get(names::shared_expert(i, "gate_proj"), shared, hidden),
                   source.get(names::shared_expert(i, "up_proj"), shared, hidden),
                   source.get(names::shared_expert(i, "down_proj"), hidden, shared));
      }
      for (index_t t = 0; t < n; ++t)
        for (index_t j = 0; j < k; ++j) {
          const index_t e = chosen[static_cast<std::size_t>(t * k + j)];
          const rows token(m.begin() + t * hidden, m.begin() + (t + 1) * hidden);
          const rows out = swiglu(token, 1, source.get(names::expert(i, e, "gate_proj"), inter, hidden),
                                  source.get(names::expert(i, e, "up_proj"), inter, hidden),
                                  source.get(names::expert(i, e, "down_proj"), hidden, inter));
          for (index_t d = 0; d < hidden; ++d)
            y[static_cast<std::size_t>(t * hidden + d)] += gains[static_cast<std::size_t>(t * k + j)] * out[static_cast<std::size_t>(d)];
        }
    }
    for (std::size_t k = 0; k < x.size(); ++k) x[k] += y[k];
  }
  const rows final_x = norm(x, n, source.get(names::final_norm, 1, hidden), eps);
  return linear(final_x, n, source.get(names::lm_head, c.vocab_size, hidden));
}

}  // namespace latte::reference

#pragma once
// What one attention layer costs, from its shape alone (and the model width for projections).
//
// Counting convention: 2 FLOPs per multiply-accumulate; counted are the linear projections of
// the variant (including MLA's down/up projections and, in the absorbed form, the per-head
// absorption of W_UK into the query and W_UV into the output) and the two attention products
// (scores q.k and the weighted sum of values). Norms, RoPE, softmax and copies are not counted.
// A decoded token attends `context` keys, itself included; a prompt of T tokens attends
// 1 + 2 + ... + T keys in total (causal), so (T + 1) / 2 per token on average.

#include <cstddef>

#include "../core/dtype.hpp"
#include "../core/extents.hpp"
#include "mla_form.hpp"

namespace latte::attention {

struct attention_cost {
  index_t cache_values_per_token = 0;     // cached numbers per token per layer
  index_t projection_macs_per_token = 0;  // linear layers, per new token
  index_t attention_macs_per_key = 0;     // one query token against one visible key, all heads

  constexpr index_t cache_bytes_per_token(dtype storage) const noexcept {
    return cache_values_per_token * static_cast<index_t>(size_of(storage));
  }
  // FLOPs of one decoded token with `context` visible keys.
  constexpr double decode_flops(index_t context) const noexcept {
    return 2.0 * (static_cast<double>(projection_macs_per_token) +
                  static_cast<double>(attention_macs_per_key) * static_cast<double>(context));
  }
  // FLOPs of a whole causal prompt of `tokens` tokens, and per token of it.
  constexpr double prefill_flops(index_t tokens) const noexcept {
    const double t = static_cast<double>(tokens);
    return 2.0 * (static_cast<double>(projection_macs_per_token) * t +
                  static_cast<double>(attention_macs_per_key) * t * (t + 1.0) / 2.0);
  }
  constexpr double prefill_flops_per_token(index_t tokens) const noexcept {
    return tokens > 0 ? prefill_flops(tokens) / static_cast<double>(tokens) : 0.0;
  }
};

// GQA (MHA, MQA): q, k, v, o projections; cache kv_heads x (head_dim + value_dim).
template <class Shape>
constexpr attention_cost gqa_cost(const Shape& s, index_t hidden) noexcept {
  attention_cost c;
  c.cache_values_per_token = s.kv_heads() * (s.head_dim() + s.value_dim());
  c.projection_macs_per_token = hidden * (s.heads() * s.head_dim() + s.kv_heads() * (s.head_dim() + s.value_dim())) +
                                s.heads() * s.value_dim() * hidden;
  c.attention_macs_per_key = s.heads() * (s.head_dim() + s.value_dim());
  return c;
}

namespace detail {
// The projections both MLA forms share: query path, W_DKV, o_proj.
template <class Shape>
constexpr index_t mla_shared_macs(const Shape& s, index_t hidden) noexcept {
  const index_t q = s.has_q_lora() ? hidden * s.q_lora_rank() + s.q_lora_rank() * s.heads() * s.qk_head_dim()
                                   : hidden * s.heads() * s.qk_head_dim();
  return q + hidden * s.latent_dim() + s.heads() * s.v_head_dim() * hidden;
}
}  // namespace detail

// MLA naive: W_UKV expands each new token once; attention over per-head keys and values.
template <class Shape>
constexpr attention_cost mla_cost(const Shape& s, index_t hidden, naive) noexcept {
  attention_cost c;
  c.cache_values_per_token = s.heads() * (s.qk_head_dim() + s.v_head_dim());
  c.projection_macs_per_token =
      detail::mla_shared_macs(s, hidden) + s.kv_lora_rank() * s.heads() * (s.qk_nope_head_dim() + s.v_head_dim());
  c.attention_macs_per_key = s.heads() * (s.qk_head_dim() + s.v_head_dim());
  return c;
}

// MLA absorbed: q~ = W_UK^T q_nope and o = W_UV o~ per head; attention in latent space, keys of
// kv_lora + rope and values of kv_lora (2 x heads x (576 + 512) FLOPs per key in the 671B model).
template <class Shape>
constexpr attention_cost mla_cost(const Shape& s, index_t hidden, absorbed) noexcept {
  attention_cost c;
  c.cache_values_per_token = s.latent_dim();
  c.projection_macs_per_token = detail::mla_shared_macs(s, hidden) +
                                s.heads() * s.kv_lora_rank() * (s.qk_nope_head_dim() + s.v_head_dim());
  c.attention_macs_per_key = s.heads() * (s.latent_dim() + s.kv_lora_rank());
  return c;
}

}  // namespace latte::attention

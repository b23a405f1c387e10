#pragma once
// mla<Backend, Shape, Form>: Multi-head Latent Attention (SPEC.md section 3) in its two forms,
// picked by a policy tag (mla_form.hpp): mla<Backend, Shape, absorbed> caches the latent
// [c_kv | k_rope] (latent_cache), mla<Backend, Shape, naive> the per-head keys and values
// (kv_cache). Both have the same members:
//
//   mla(const Backend&, const Shape&, const mla_weights&, const mla_options& = {})
//   cache_type make_cache(index_t capacity) const
//   index_t workspace_floats(index_t tokens) const
//   void forward(x [T, hidden], cos_sin [T, rope/2, 2], chunks, caches, out [T, hidden]) const
//   void forward(..., out, std::span<float> workspace) const
//   static attention_cost cost(const Shape&, index_t hidden);  attention_cost cost() const

#include "mla_absorbed.hpp"
#include "mla_naive.hpp"

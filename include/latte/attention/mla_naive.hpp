#pragma once
// MLA, naive form (SPEC.md section 3): every head's key and value are expanded from c_kv and
// cached per head (kv_cache of heads x (nope + rope) keys and heads x v values per token):
//
//   [k_nope_i | v_i] = W_UKV,i c_kv             [T, heads, nope + v]  (kv_b_proj)
//   k_i              = [k_nope_i | k_rope]      k_rope shared by every head
//   o_i              = softmax(scale q_i . k_i^T) v_i
//   out              = o W_O^T
//
// The reference composition of the layer: plain MHA over expanded keys, 71x the absorbed cache
// in the 671B model.

#include <cstddef>
#include <span>

#include "../backend/concept.hpp"
#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "copy_rows.hpp"
#include "cost.hpp"
#include "kv_cache.hpp"
#include "mla_form.hpp"
#include "mla_layer.hpp"
#include "sequence_chunk.hpp"
#include "workspace.hpp"

namespace latte::attention {

template <backend_policy Backend, class Shape>
class mla<Backend, Shape, naive> : public detail::mla_layer<Backend, Shape> {
  using base = detail::mla_layer<Backend, Shape>;

 public:
  using form_type = naive;
  using cache_type = kv_cache<Backend>;
  using base::base;

  // A cache for one sequence of up to `capacity` tokens.
  cache_type make_cache(index_t capacity) const {
    const Shape& s = this->shape_;
    return cache_type(this->backend_, capacity, s.heads(), s.qk_head_dim(), s.v_head_dim());
  }

  index_t workspace_floats(index_t tokens) const noexcept {
    const Shape& s = this->shape_;
    return this->projection_floats(tokens) +
           workspace_piece(tokens * s.heads() * (s.qk_nope_head_dim() + s.v_head_dim())) +
           workspace_piece(tokens * s.heads() * s.v_head_dim());
  }

  void forward(matrix_view<const float> x, dtensor_view<const float, 3> cos_sin, std::span<const sequence_chunk> chunks,
               std::span<cache_type* const> caches, matrix_view<float> out) const {
    base::forward_allocating(*this, x, cos_sin, chunks, caches, out);
  }

  void forward(matrix_view<const float> x, dtensor_view<const float, 3> cos_sin, std::span<const sequence_chunk> chunks,
               std::span<cache_type* const> caches, matrix_view<float> out, std::span<float> workspace) const {
    const Shape& s = this->shape_;
    const Backend& b = this->backend_;
    const index_t t = x.extent(0), h = s.heads(), nope = s.qk_nope_head_dim(), qk = s.qk_head_dim();
    const index_t rope = s.qk_rope_head_dim(), lora = s.kv_lora_rank(), dv = s.v_head_dim();
    this->check_forward(x, cos_sin, chunks, caches, out, workspace, workspace_floats(t));
    for (cache_type* cache : caches)
      require(cache->kv_heads() == h && cache->key_dim() == qk && cache->value_dim() == dv, "mla::forward: cache of ",
              cache->kv_heads(), " heads of ", cache->key_dim(), " / ", cache->value_dim(), ", the layer needs ", h,
              " of ", qk, " / ", dv);
    if (t == 0) return;

    detail::workspace_carver carve(workspace);
    const detail::mla_projected p = this->project(x, cos_sin, carve);
    const index_t expanded = nope + dv;
    float* kv_heads = carve.take(t * h * expanded);  // [T, heads, nope + v]
    float* o = carve.take(t * h * dv);               // [T, heads, v]
    b.gemm(p.c_kv, this->weights_.kv_b_proj, make_matrix_view(kv_heads, t, h * expanded));

    for (std::size_t c = 0; c < chunks.size(); ++c) {
      const index_t r0 = chunks[c].first_row, n = chunks[c].tokens;
      if (n == 0) continue;
      cache_type& cache = *caches[c];
      const index_t first = cache.extend(n);
      const dtensor_view<float, 3> keys = cache.key_rows(first, n);    // [n, heads, nope + rope]
      const dtensor_view<float, 3> values = cache.value_rows(first, n);  // [n, heads, v]
      const float* src = kv_heads + r0 * h * expanded;
      detail::copy_rows(b, make_matrix_view(src, n * h, nope, expanded), make_matrix_view(keys.data(), n * h, nope, qk));
      detail::copy_rows(b, make_matrix_view(src + nope, n * h, dv, expanded), make_matrix_view(values.data(), n * h, dv, dv));
      const matrix_view<const float> k_rope = col_block(row_block(matrix_view<const float>(p.kv), r0, n), lora, rope);
      for (index_t i = 0; i < h; ++i)
        detail::copy_rows(b, k_rope, make_matrix_view(keys.data() + i * qk + nope, n, rope, h * qk));
      b.attention(dtensor_view<const float, 3>(p.q.data() + r0 * h * qk, dextents<3>(n, h, qk)), cache.keys(),
                  cache.values(), dtensor_view<float, 3>(o + r0 * h * dv, dextents<3>(n, h, dv)),
                  attention_options{this->scale_, true, first});
    }
    b.gemm(make_matrix_view<const float>(o, t, h * dv), this->weights_.o_proj, out);
  }

  static constexpr attention_cost cost(const Shape& shape, index_t hidden) noexcept {
    return mla_cost(shape, hidden, naive{});
  }
  attention_cost cost() const noexcept { return mla_cost(this->shape_, this->hidden_, naive{}); }
};

}  // namespace latte::attention

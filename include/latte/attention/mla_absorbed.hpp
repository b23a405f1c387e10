#pragma once
// MLA, absorbed form (SPEC.md section 3): the cache holds only [c_kv | k_rope] per token
// (latent_cache); W_UK folds into the query and W_UV into the output, so attention runs in latent
// space as MQA with one KV head of key width kv_lora + rope and value width kv_lora:
//
//   q~_i  = W_UK,i^T q_nope_i                   [T, heads, kv_lora]   (k_nope rows of kv_b_proj)
//   q_abs = [q~_i | q_rope_i]                   [T, heads, kv_lora + rope]
//   o~_i  = softmax(scale q_abs_i . K^T) V      K = cache rows [S, 1, kv_lora + rope],
//                                               V = their first kv_lora columns [S, 1, kv_lora]
//   o_i   = W_UV,i o~_i                         [T, heads, v]         (v rows of kv_b_proj)
//   out   = o W_O^T                             [T, hidden]
//
// The two per-head products run as batched GEMMs over all T rows of the step.

#include <cstddef>
#include <span>

#include "../backend/concept.hpp"
#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "copy_rows.hpp"
#include "cost.hpp"
#include "latent_cache.hpp"
#include "mla_form.hpp"
#include "mla_layer.hpp"
#include "sequence_chunk.hpp"
#include "workspace.hpp"

namespace latte::attention {

template <backend_policy Backend, class Shape>
class mla<Backend, Shape, absorbed> : public detail::mla_layer<Backend, Shape> {
  using base = detail::mla_layer<Backend, Shape>;

 public:
  using form_type = absorbed;
  using cache_type = latent_cache<Backend>;
  using base::base;

  // A cache for one sequence of up to `capacity` tokens.
  cache_type make_cache(index_t capacity) const {
    return cache_type(this->backend_, capacity, this->shape_.kv_lora_rank(), this->shape_.qk_rope_head_dim());
  }

  // Floats of scratch one forward over `tokens` rows needs.
  index_t workspace_floats(index_t tokens) const noexcept {
    const Shape& s = this->shape_;
    const index_t h = s.heads();
    return this->projection_floats(tokens) + workspace_piece(tokens * h * s.latent_dim()) +
           workspace_piece(tokens * h * s.kv_lora_rank()) + workspace_piece(tokens * h * s.v_head_dim());
  }

  // x [T, hidden] (normed input), cos_sin [T, rope / 2, 2] (row t's position), out [T, hidden].
  // Chunk c's tokens are appended to caches[c] at positions caches[c]->size() onwards and attend
  // causally to everything cached.
  void forward(matrix_view<const float> x, dtensor_view<const float, 3> cos_sin, std::span<const sequence_chunk> chunks,
               std::span<cache_type* const> caches, matrix_view<float> out) const {
    base::forward_allocating(*this, x, cos_sin, chunks, caches, out);
  }

  // The same on caller-provided scratch (backend memory) of at least workspace_floats(T) floats.
  void forward(matrix_view<const float> x, dtensor_view<const float, 3> cos_sin, std::span<const sequence_chunk> chunks,
               std::span<cache_type* const> caches, matrix_view<float> out, std::span<float> workspace) const {
    const Shape& s = this->shape_;
    const Backend& b = this->backend_;
    const index_t t = x.extent(0), h = s.heads(), nope = s.qk_nope_head_dim(), qk = s.qk_head_dim();
    const index_t rope = s.qk_rope_head_dim(), lora = s.kv_lora_rank(), latent = s.latent_dim(), dv = s.v_head_dim();
    this->check_forward(x, cos_sin, chunks, caches, out, workspace, workspace_floats(t));
    for (cache_type* cache : caches)
      require(cache->kv_lora_rank() == lora && cache->rope_dim() == rope, "mla::forward: latent cache of ",
              cache->kv_lora_rank(), " + ", cache->rope_dim(), ", the layer needs ", lora, " + ", rope);
    if (t == 0) return;

    detail::workspace_carver carve(workspace);
    const detail::mla_projected p = this->project(x, cos_sin, carve);
    float* q_abs = carve.take(t * h * latent);  // [T, heads, kv_lora + rope]
    float* o_latent = carve.take(t * h * lora);  // [T, heads, kv_lora]
    float* o = carve.take(t * h * dv);           // [T, heads, v]

    // q~_i = q_nope_i W_UK,i: per head [T, nope] x [nope, kv_lora], W_UK,i = kv_b_proj rows
    // i (nope + v) .. + nope read as [in, out].
    b.gemm_batched(dtensor_view<const float, 3>(p.q.data(), dextents<3>(h, t, nope), {qk, h * qk, 1}),
                   this->weights_.kv_b_proj, nope, nope + dv,
                   dtensor_view<float, 3>(q_abs, dextents<3>(h, t, lora), {latent, h * latent, 1}),
                   gemm_options{1.0f, 0.0f, weight_layout::in_out});
    // q_rope_i, already turned, after it.
    detail::copy_rows(b, make_matrix_view<const float>(p.q.data() + nope, t * h, rope, qk),
                      make_matrix_view(q_abs + lora, t * h, rope, latent));

    for (std::size_t c = 0; c < chunks.size(); ++c) {
      const index_t r0 = chunks[c].first_row, n = chunks[c].tokens;
      if (n == 0) continue;
      cache_type& cache = *caches[c];
      cache.append(row_block(matrix_view<const float>(p.c_kv), r0, n),
                   col_block(row_block(matrix_view<const float>(p.kv), r0, n), lora, rope));
      b.attention(dtensor_view<const float, 3>(q_abs + r0 * h * latent, dextents<3>(n, h, latent)), cache.keys(),
                  cache.values(), dtensor_view<float, 3>(o_latent + r0 * h * lora, dextents<3>(n, h, lora)),
                  attention_options{this->scale_, true, cache.size() - n});
    }

    // o_i = o~_i W_UV,i^T: per head [T, kv_lora] x [kv_lora, v], W_UV,i = kv_b_proj rows
    // i (nope + v) + nope .. + v.
    b.gemm_batched(dtensor_view<const float, 3>(o_latent, dextents<3>(h, t, lora), {lora, h * lora, 1}),
                   this->weights_.kv_b_proj.row_range(nope, this->weights_.kv_b_proj.rows - nope), dv, nope + dv,
                   dtensor_view<float, 3>(o, dextents<3>(h, t, dv), {dv, h * dv, 1}), gemm_options{});
    b.gemm(make_matrix_view<const float>(o, t, h * dv), this->weights_.o_proj, out);
  }

  static constexpr attention_cost cost(const Shape& shape, index_t hidden) noexcept {
    return mla_cost(shape, hidden, absorbed{});
  }
  attention_cost cost() const noexcept { return mla_cost(this->shape_, this->hidden_, absorbed{}); }
};

}  // namespace latte::attention

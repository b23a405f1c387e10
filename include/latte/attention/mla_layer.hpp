#pragma once
// What both MLA forms share (SPEC.md section 3): the weights and their checks, and the
// projections that run batched over all T rows of a step:
//
//   c_q    = RMSNorm_q(x W_DQ^T)                      [T, q_lora]        (skipped without q_lora)
//   q      = c_q W_UQ^T (or x q_proj^T)               [T, heads, nope + rope], q_rope turned by RoPE
//   kv     = x W_DKV^T                                [T, kv_lora + rope] = [c_kv raw | k_rope turned]
//   c_kv   = RMSNorm_kv(kv[:, :kv_lora])              [T, kv_lora]       (k_rope is not normed)
//
// The forms (mla_naive.hpp, mla_absorbed.hpp) take it from there, and both end with o_proj.

#include <cmath>
#include <cstddef>
#include <span>

#include "../backend/concept.hpp"
#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "../core/weight_view.hpp"
#include "mla_form.hpp"
#include "mla_shape.hpp"
#include "mla_weights.hpp"
#include "sequence_chunk.hpp"
#include "workspace.hpp"

namespace latte::attention::detail {

// Views into the workspace after the shared projections.
struct mla_projected {
  matrix_view<float> q;     // [T, heads * (nope + rope)], per head nope then rope (rotated)
  matrix_view<float> kv;    // [T, kv_lora + rope]: raw c_kv, then k_rope (rotated)
  matrix_view<float> c_kv;  // [T, kv_lora], normed
};

template <backend_policy Backend, class Shape>
class mla_layer {
  static_assert(is_mla_shape_v<Shape>, "mla: Shape must be an mla_shape");

 public:
  using backend_type = Backend;
  using shape_type = Shape;

  mla_layer(const Backend& backend, const Shape& shape, const mla_weights& weights, const mla_options& options = {})
      : backend_(backend), shape_(shape), weights_(weights), options_(options) {
    const Shape& s = shape_;
    const index_t h = s.heads(), qk = s.qk_head_dim();
    hidden_ = weights.kv_a_proj_with_mqa.cols;
    require(hidden_ > 0, "mla: kv_a_proj_with_mqa has no columns");
    if (s.has_q_lora()) {
      check_weight(weights.q_a_proj, "q_a_proj", s.q_lora_rank(), hidden_);
      check_weight(weights.q_a_layernorm, "q_a_layernorm", 1, s.q_lora_rank());
      check_weight(weights.q_b_proj, "q_b_proj", h * qk, s.q_lora_rank());
    } else {
      require(weights.q_a_proj.rows == 0 && weights.q_a_proj.data == nullptr,
              "mla: q_a_proj is given but q_lora_rank is 0 (the query is then q_b_proj = q_proj [heads * qk, hidden])");
      check_weight(weights.q_b_proj, "q_proj (q_b_proj without q_lora)", h * qk, hidden_);
    }
    check_weight(weights.kv_a_proj_with_mqa, "kv_a_proj_with_mqa", s.latent_dim(), hidden_);
    check_weight(weights.kv_a_layernorm, "kv_a_layernorm", 1, s.kv_lora_rank());
    check_weight(weights.kv_b_proj, "kv_b_proj", h * (s.qk_nope_head_dim() + s.v_head_dim()), s.kv_lora_rank());
    check_weight(weights.o_proj, "o_proj", hidden_, h * s.v_head_dim());
    scale_ = options.softmax_scale != 0.0f ? options.softmax_scale
                                           : static_cast<float>(1.0 / std::sqrt(static_cast<double>(qk)));
  }

  const Backend& backend() const noexcept { return backend_; }
  const Shape& shape() const noexcept { return shape_; }
  const mla_weights& weights() const noexcept { return weights_; }
  const mla_options& options() const noexcept { return options_; }
  float softmax_scale() const noexcept { return scale_; }
  index_t hidden_size() const noexcept { return hidden_; }

 protected:
  static void check_weight(const weight_view& w, const char* name, index_t rows, index_t cols) {
    require(w.data != nullptr && w.rows == rows && w.cols == cols, "mla: ", name, " is [", w.rows, ", ", w.cols,
            "], expected [", rows, ", ", cols, "]");
  }

  // Floats of scratch the shared projections take for `t` rows.
  index_t projection_floats(index_t t) const noexcept {
    const Shape& s = shape_;
    return (s.has_q_lora() ? 2 * workspace_piece(t * s.q_lora_rank()) : 0) + workspace_piece(t * s.heads() * s.qk_head_dim()) +
           workspace_piece(t * s.latent_dim()) + workspace_piece(t * s.kv_lora_rank());
  }

  // Checks the arguments of forward; nothing is written before they pass.
  template <class Cache>
  void check_forward(const matrix_view<const float>& x, const dtensor_view<const float, 3>& cos_sin,
                     std::span<const sequence_chunk> chunks, std::span<Cache* const> caches,
                     const matrix_view<float>& out, std::span<float> workspace, index_t needed) const {
    const index_t t = x.extent(0), rope = shape_.qk_rope_head_dim();
    require(x.extent(1) == hidden_ && x.stride(1) == 1, "mla::forward: x is [", x.extent(0), ", ", x.extent(1),
            "], expected [tokens, ", hidden_, "] with contiguous rows");
    require(out.extent(0) == t && out.extent(1) == hidden_ && out.stride(1) == 1, "mla::forward: out is [",
            out.extent(0), ", ", out.extent(1), "], expected [", t, ", ", hidden_, "] with contiguous rows");
    require(cos_sin.extent(0) == t && cos_sin.extent(1) == rope / 2 && cos_sin.extent(2) == 2,
            "mla::forward: cos_sin is [", cos_sin.extent(0), ", ", cos_sin.extent(1), ", ", cos_sin.extent(2),
            "], expected [", t, ", ", rope / 2, ", 2]");
    check_batch("mla::forward", chunks, caches, t);
    require(static_cast<index_t>(workspace.size()) >= needed, "mla::forward: workspace of ", workspace.size(),
            " floats, ", needed, " needed for ", t, " tokens");
  }

  // The shared projections of SPEC.md section 3 over all rows of x.
  mla_projected project(const matrix_view<const float>& x, const dtensor_view<const float, 3>& cos_sin,
                        workspace_carver& carve) const {
    const Shape& s = shape_;
    const index_t t = x.extent(0), h = s.heads(), qk = s.qk_head_dim(), nope = s.qk_nope_head_dim();
    const index_t rope = s.qk_rope_head_dim(), lora = s.kv_lora_rank(), latent = s.latent_dim();
    mla_projected p;
    p.q = make_matrix_view(carve.take(t * h * qk), t, h * qk);
    if (s.has_q_lora()) {
      const matrix_view<float> down = make_matrix_view(carve.take(t * s.q_lora_rank()), t, s.q_lora_rank());
      const matrix_view<float> c_q = make_matrix_view(carve.take(t * s.q_lora_rank()), t, s.q_lora_rank());
      backend_.gemm(x, weights_.q_a_proj, down);
      backend_.rmsnorm(down, weights_.q_a_layernorm, options_.rms_norm_eps, c_q);
      backend_.gemm(c_q, weights_.q_b_proj, p.q);
    } else {
      backend_.gemm(x, weights_.q_b_proj, p.q);
    }
    p.kv = make_matrix_view(carve.take(t * latent), t, latent);
    p.c_kv = make_matrix_view(carve.take(t * lora), t, lora);
    backend_.gemm(x, weights_.kv_a_proj_with_mqa, p.kv);
    backend_.rmsnorm(col_block(p.kv, 0, lora), weights_.kv_a_layernorm, options_.rms_norm_eps, p.c_kv);
    // q_rope of every head [T, heads, rope] and the one k_rope [T, 1, rope], turned in place.
    backend_.rope(dtensor_view<float, 3>(p.q.data() + nope, dextents<3>(t, h, rope), {h * qk, qk, 1}), cos_sin,
                  options_.rope);
    backend_.rope(dtensor_view<float, 3>(p.kv.data() + lora, dextents<3>(t, 1, rope), {latent, rope, 1}), cos_sin,
                  options_.rope);
    return p;
  }

  // Allocates the workspace, then calls the form's forward on it.
  template <class Self, class Cache>
  static void forward_allocating(const Self& self, matrix_view<const float> x, dtensor_view<const float, 3> cos_sin,
                                 std::span<const sequence_chunk> chunks, std::span<Cache* const> caches,
                                 matrix_view<float> out) {
    auto scratch = self.backend().template allocate<float>(static_cast<std::size_t>(self.workspace_floats(x.extent(0))));
    self.forward(x, cos_sin, chunks, caches, out, std::span<float>(scratch.data(), scratch.size()));
  }

  Backend backend_;
  Shape shape_;
  mla_weights weights_;
  mla_options options_;
  index_t hidden_ = 0;
  float scale_ = 1.0f;
};

}  // namespace latte::attention::detail

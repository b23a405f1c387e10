#pragma once
// Reference Multi-head Latent Attention layer (SPEC.md section 3) in plain float64 loops, the
// naive form straight from the equations: weights dequantised on the host (block scales applied),
// RMS norms of c_q and c_kv, RoPE from a caller-given cos/sin table, per-head keys
// [k_nope_i | k_rope] and values, causal softmax, o_proj. One whole sequence at positions
// 0 .. S-1. Host memory only; slow on purpose.

#include <cmath>
#include <cstddef>
#include <vector>

#include "../attention/mla_weights.hpp"
#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "attention.hpp"

namespace latte::reference {

// What the layer computed on the way, row-major, for tests that check one stage.
struct mla_intermediates {
  std::vector<double> c_kv;  // [S, kv_lora], normed
  std::vector<double> q;  // [S, heads, nope + rope], q_rope turned
  std::vector<double> k;  // [S, heads, nope + rope] = [k_nope_i | k_rope]
  std::vector<double> v;  // [S, heads, v]
  std::vector<double> o;  // [S, heads, v], attention output before o_proj
};

// x [S, hidden] (normed input), cos_sin [S, rope/2, 2] (row t for position t), out [S, hidden].
// Shape: any type with heads(), q_lora_rank(), kv_lora_rank(), qk_nope_head_dim(),
// qk_rope_head_dim(), v_head_dim() (attention::mla_shape).
template <class Shape, class X, class C>
void mla_forward(const Shape& shape, const attention::mla_weights& w, const attention::mla_options& options,
                 matrix_view<const X> x, dtensor_view<const C, 3> cos_sin, matrix_view<double> out,
                 mla_intermediates* keep = nullptr) {
  using attention_detail::matrix;
  const index_t s = x.extent(0), h = shape.heads(), nope = shape.qk_nope_head_dim(), rope = shape.qk_rope_head_dim();
  const index_t qk = nope + rope, dv = shape.v_head_dim(), lora = shape.kv_lora_rank();
  require(cos_sin.extent(0) == s && cos_sin.extent(1) == rope / 2, "reference::mla_forward: cos_sin shape");
  const double eps = static_cast<double>(options.rms_norm_eps);
  const matrix xs = attention_detail::from_view(x);

  // Query: c_q = RMSNorm(x W_DQ^T); q = c_q W_UQ^T, or q = x q_proj^T without q_lora.
  matrix q;
  if (shape.q_lora_rank() > 0) {
    matrix c_q = attention_detail::linear(xs, w.q_a_proj);
    attention_detail::rmsnorm(c_q, 0, c_q.cols, w.q_a_layernorm, eps);
    q = attention_detail::linear(c_q, w.q_b_proj);
  } else {
    q = attention_detail::linear(xs, w.q_b_proj);
  }
  // kv = x W_DKV^T = [c_kv | k_rope]; c_kv normed, k_rope not.
  matrix kv = attention_detail::linear(xs, w.kv_a_proj_with_mqa);
  attention_detail::rmsnorm(kv, 0, lora, w.kv_a_layernorm, eps);
  for (index_t t = 0; t < s; ++t) {
    attention_detail::rope(&kv(t, lora), rope, cos_sin, t, options.rope);
    for (index_t i = 0; i < h; ++i) attention_detail::rope(&q(t, i * qk + nope), rope, cos_sin, t, options.rope);
  }
  matrix c_kv(s, lora);
  for (index_t t = 0; t < s; ++t)
    for (index_t c = 0; c < lora; ++c) c_kv(t, c) = kv(t, c);
  // [k_nope_i | v_i] = W_UKV,i c_kv.
  const matrix expanded = attention_detail::linear(c_kv, w.kv_b_proj);  // [S, heads * (nope + v)]
  matrix k(s, h * qk), v(s, h * dv);
  for (index_t t = 0; t < s; ++t)
    for (index_t i = 0; i < h; ++i) {
      for (index_t c = 0; c < nope; ++c) k(t, i * qk + c) = expanded(t, i * (nope + dv) + c);
      for (index_t c = 0; c < rope; ++c) k(t, i * qk + nope + c) = kv(t, lora + c);
      for (index_t c = 0; c < dv; ++c) v(t, i * dv + c) = expanded(t, i * (nope + dv) + nope + c);
    }
  const double scale =
      options.softmax_scale != 0.0f ? options.softmax_scale : 1.0 / std::sqrt(static_cast<double>(qk));
  matrix o(s, h * dv);
  attention<double, double, double>(dtensor_view<const double, 3>(q.data.data(), dextents<3>(s, h, qk)),
                                    dtensor_view<const double, 3>(k.data.data(), dextents<3>(s, h, qk)),
                                    dtensor_view<const double, 3>(v.data.data(), dextents<3>(s, h, dv)),
                                    dtensor_view<double, 3>(o.data.data(), dextents<3>(s, h, dv)),
                                    sdpa_options{scale, true, 0});
  const matrix y = attention_detail::linear(o, w.o_proj);
  require(out.extent(0) == s && out.extent(1) == y.cols, "reference::mla_forward: out is [", out.extent(0), ", ",
          out.extent(1), "], expected [", s, ", ", y.cols, "]");
  for (index_t t = 0; t < s; ++t)
    for (index_t c = 0; c < y.cols; ++c) out(t, c) = y(t, c);
  if (keep != nullptr) {
    keep->c_kv = c_kv.data;
    keep->q = q.data;
    keep->k = k.data;
    keep->v = v.data;
    keep->o = o.data;
  }
}

}  // namespace latte::reference

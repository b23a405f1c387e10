#pragma once
// Reference attention in plain float64 loops: obviously correct and slow, for tests to compare
// the attention modules and every backend's attention primitive against. Host memory only.
//
//   attention(q, k, v, out, sdpa_options)   causal (or not) scaled dot-product attention with the
//                                          GQA head mapping and a query offset
//   gqa_forward(...)                        a Llama-style GQA layer over one whole sequence

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "../attention/gqa_weights.hpp"
#include "../backend/options.hpp"
#include "../core/dtype.hpp"
#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "../core/weight_view.hpp"
#include "dequantize.hpp"

namespace latte::reference {

// Query i sits at position query_offset + i and, when causal, sees keys 0 .. query_offset + i.
struct sdpa_options {
  double scale = 1.0;
  bool causal = true;
  index_t query_offset = 0;
};

// q [tq, hq, dk], k [tk, hk, dk], v [tk, hk, dv], out [tq, hq, dv]; query head h reads KV head
// h / (hq / hk). A query that sees no key gets zeros.
template <class Q, class K, class V>
void attention(dtensor_view<const Q, 3> q, dtensor_view<const K, 3> k, dtensor_view<const V, 3> v,
               dtensor_view<double, 3> out, const sdpa_options& options) {
  const index_t tq = q.extent(0), hq = q.extent(1), dk = q.extent(2);
  const index_t tk = k.extent(0), hk = k.extent(1), dv = v.extent(2);
  require(k.extent(2) == dk && v.extent(0) == tk && v.extent(1) == hk, "reference::attention: q, k, v disagree");
  require(hk > 0 && hq % hk == 0, "reference::attention: ", hq, " query heads, ", hk, " KV heads");
  require(out.extent(0) == tq && out.extent(1) == hq && out.extent(2) == dv, "reference::attention: out shape");
  std::vector<double> score(static_cast<std::size_t>(tk));
  for (index_t i = 0; i < tq; ++i) {
    const index_t visible =
        options.causal ? std::min<index_t>(std::max<index_t>(options.query_offset + i + 1, 0), tk) : tk;
    for (index_t h = 0; h < hq; ++h) {
      const index_t g = h / (hq / hk);
      double peak = -std::numeric_limits<double>::infinity();
      for (index_t j = 0; j < visible; ++j) {
        double dot = 0.0;
        for (index_t c = 0; c < dk; ++c) dot += static_cast<double>(q(i, h, c)) * static_cast<double>(k(j, g, c));
        score[static_cast<std::size_t>(j)] = options.scale * dot;
        peak = std::max(peak, score[static_cast<std::size_t>(j)]);
      }
      double total = 0.0;
      for (index_t j = 0; j < visible; ++j) total += (score[static_cast<std::size_t>(j)] = std::exp(score[static_cast<std::size_t>(j)] - peak));
      for (index_t c = 0; c < dv; ++c) {
        double acc = 0.0;
        for (index_t j = 0; j < visible; ++j) acc += score[static_cast<std::size_t>(j)] * static_cast<double>(v(j, g, c));
        out(i, h, c) = visible > 0 ? acc / total : 0.0;
      }
    }
  }
}

namespace attention_detail {

// A float64 row-major matrix on the host.
struct matrix {
  index_t rows = 0, cols = 0;
  std::vector<double> data;
  matrix() = default;
  matrix(index_t r, index_t c) : rows(r), cols(c), data(static_cast<std::size_t>(r * c), 0.0) {}
  double& operator()(index_t r, index_t c) { return data[static_cast<std::size_t>(r * cols + c)]; }
  double operator()(index_t r, index_t c) const { return data[static_cast<std::size_t>(r * cols + c)]; }
};

// w as float64, block scales applied (SPEC.md section 8; reference/dequantize.hpp).
inline matrix dequantize(const weight_view& w) {
  matrix m(w.rows, w.cols);
  for (index_t r = 0; r < w.rows; ++r)
    for (index_t c = 0; c < w.cols; ++c) m(r, c) = weight_at(w, r, c);
  return m;
}

// y = x w^T for a linear weight [out, in].
inline matrix linear(const matrix& x, const weight_view& weight) {
  const matrix w = dequantize(weight);
  require(w.cols == x.cols, "reference: linear weight has ", w.cols, " inputs, x ", x.cols);
  matrix y(x.rows, w.rows);
  for (index_t i = 0; i < x.rows; ++i)
    for (index_t o = 0; o < w.rows; ++o) {
      double acc = 0.0;
      for (index_t c = 0; c < x.cols; ++c) acc += x(i, c) * w(o, c);
      y(i, o) = acc;
    }
  return y;
}

// Columns [c0, c0 + n) of every row: weight * x / sqrt(mean(x^2) + eps) (SPEC.md section 2).
inline void rmsnorm(matrix& x, index_t c0, index_t n, const weight_view& weight, double eps) {
  const matrix w = dequantize(weight);
  for (index_t r = 0; r < x.rows; ++r) {
    double sum = 0.0;
    for (index_t c = 0; c < n; ++c) sum += x(r, c0 + c) * x(r, c0 + c);
    const double inv = 1.0 / std::sqrt(sum / static_cast<double>(n) + eps);
    for (index_t c = 0; c < n; ++c) x(r, c0 + c) = w(0, c) * x(r, c0 + c) * inv;
  }
}

// Rotates d elements at x by the pairs of row t of cos_sin [tokens, d/2, 2] (SPEC.md section 4).
template <class C>
void rope(double* x, index_t d, const dtensor_view<const C, 3>& cos_sin, index_t t, rope_layout layout) {
  const index_t half = d / 2;
  for (index_t j = 0; j < half; ++j) {
    const double c = static_cast<double>(cos_sin(t, j, 0)), s = static_cast<double>(cos_sin(t, j, 1));
    const index_t a = layout == rope_layout::interleaved_pairs ? 2 * j : j;
    const index_t b = layout == rope_layout::interleaved_pairs ? 2 * j + 1 : j + half;
    const double x0 = x[a], x1 = x[b];
    x[a] = x0 * c - x1 * s;
    x[b] = x0 * s + x1 * c;
  }
}

template <class X>
matrix from_view(const matrix_view<const X>& x) {
  matrix m(x.extent(0), x.extent(1));
  for (index_t r = 0; r < m.rows; ++r)
    for (index_t c = 0; c < m.cols; ++c) m(r, c) = static_cast<double>(x(r, c));
  return m;
}

}  // namespace attention_detail

// A Llama-style GQA layer over one sequence at positions 0 .. S-1: x [S, hidden],
// cos_sin [S, r/2, 2] (the first r elements of every head turn), out [S, hidden].
template <class Shape, class X, class C>
void gqa_forward(const Shape& shape, const attention::gqa_weights& w, const attention::gqa_options& options,
                 matrix_view<const X> x, dtensor_view<const C, 3> cos_sin, matrix_view<double> out) {
  using attention_detail::matrix;
  const index_t s = x.extent(0), h = shape.heads(), kv = shape.kv_heads(), d = shape.head_dim();
  const index_t dv = shape.value_dim(), rotary = 2 * cos_sin.extent(1);
  const matrix xs = attention_detail::from_view(x);
  matrix q = attention_detail::linear(xs, w.q_proj), k = attention_detail::linear(xs, w.k_proj);
  const matrix v = attention_detail::linear(xs, w.v_proj);
  for (index_t t = 0; t < s; ++t) {
    for (index_t i = 0; i < h; ++i) attention_detail::rope(&q(t, i * d), rotary, cos_sin, t, options.rope);
    for (index_t i = 0; i < kv; ++i) attention_detail::rope(&k(t, i * d), rotary, cos_sin, t, options.rope);
  }
  matrix o(s, h * dv);
  const double scale = options.softmax_scale != 0.0f ? options.softmax_scale : 1.0 / std::sqrt(static_cast<double>(d));
  attention<double, double, double>(dtensor_view<const double, 3>(q.data.data(), dextents<3>(s, h, d)),
                                    dtensor_view<const double, 3>(k.data.data(), dextents<3>(s, kv, d)),
                                    dtensor_view<const double, 3>(v.data.data(), dextents<3>(s, kv, dv)),
                                    dtensor_view<double, 3>(o.data.data(), dextents<3>(s, h, dv)),
                                    sdpa_options{scale, true, 0});
  const matrix y = attention_detail::linear(o, w.o_proj);
  require(out.extent(0) == s && out.extent(1) == y.cols, "reference::gqa_forward: out shape");
  for (index_t t = 0; t < s; ++t)
    for (index_t c = 0; c < y.cols; ++c) out(t, c) = y(t, c);
}

}  // namespace latte::reference

#pragma once
// The backend contract. A backend is a value type (like Eigen's DefaultDevice / GpuDevice) with
// this fixed member set; every module above backend/ is written once against it and the type
// picks where it runs. All views point at memory the backend owns (see `allocate`); activations
// are float32, weights any storage type through weight_view.
//
//   buffer<T>                         owning memory of the backend (data(), size())
//   allocate<T>(n) -> buffer<T>       n value-initialised elements
//   upload(span<const T> host, T* dst), download(const T* src, span<T> host), synchronize()
//
//   gemm(x [m, k], w, y [m, n], gemm_options)                y = alpha x.op(w) + beta y
//   gemm_batched(x [b, m, k], w, rows_per_matrix, row_step, y [b, m, n], gemm_options)
//       matrix i of the batch is w.row_range(i * row_step, rows_per_matrix)
//   rmsnorm(x [m, n], weight [1, n], eps, y [m, n])          y = w * x / sqrt(mean(x^2) + eps)
//   silu_mul(gate [m, n], up [m, n], out [m, n])             out = silu(gate) * up
//   add(x [m, n], y [m, n], alpha)                           y += alpha * x
//   softmax_rows(x [m, n])                                   in place, per row
//   rope(x [tokens, heads, d], cos_sin [tokens, d/2, 2], layout)   in place
//   attention(q [tq, hq, dk], k [tk, hk, dk], v [tk, hk, dv], out [tq, hq, dv], attention_options)
//       query head h reads kv head h / (hq / hk); online softmax, no tq x tk matrix
//   route(logits [t, e], routing_options, experts [t, top_k] i32, weights [t, top_k])
//   gather_rows(table, ids [m] i32, out [m, d])              out[i] = float(table[ids[i]])
//   scatter_add_rows(x [m, d], ids [m] i32, weights [m], y [n, d])   y[ids[i]] += weights[i] x[i]
//   dequantize(w, out [rows, cols])                          float copy of any weight_view
//   argmax_rows(x [m, n], out [m] i32)

#include <concepts>
#include <cstdint>
#include <span>

#include "../core/tensor_view.hpp"
#include "../core/weight_view.hpp"
#include "options.hpp"

namespace latte {

template <class B>
concept backend_policy = requires(const B& b, matrix_view<const float> cx, matrix_view<float> x,
                                  dtensor_view<const float, 3> c3, dtensor_view<float, 3> x3,
                                  const weight_view& w, vector_view<const std::int32_t> ids,
                                  vector_view<const float> weights, matrix_view<std::int32_t> experts,
                                  vector_view<std::int32_t> out_ids, std::span<const float> host_src,
                                  std::span<float> host_dst, const float* src, float* dst) {
  typename B::template buffer<float>;
  { b.template allocate<float>(std::size_t{1}) } -> std::same_as<typename B::template buffer<float>>;
  b.upload(host_src, dst);
  b.download(src, host_dst);
  b.synchronize();
  b.gemm(cx, w, x, gemm_options{});
  b.gemm_batched(c3, w, index_t{}, index_t{}, x3, gemm_options{});
  b.rmsnorm(cx, w, float{}, x);
  b.silu_mul(cx, cx, x);
  b.add(cx, x, float{});
  b.softmax_rows(x);
  b.rope(x3, c3, rope_layout::interleaved_pairs);
  b.attention(c3, c3, c3, x3, attention_options{});
  b.route(cx, routing_options{}, experts, x);
  b.gather_rows(w, ids, x);
  b.scatter_add_rows(cx, ids, weights, x);
  b.dequantize(w, x);
  b.argmax_rows(cx, out_ids);
};

}  // namespace latte

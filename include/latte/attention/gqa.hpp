#pragma once
// gqa<Backend, Shape>: grouped-query attention (MHA and MQA are its two ends, as aliases), written
// once against the backend contract. Two ways in:
//
// 1. Over already-projected q, k, v (backend memory), through backend.attention (flash-style
//    online softmax; no T x T matrix):
//      prefill(q, k, v, out)               causal self-attention of T tokens, no cache
//      prefill(q, k, v, cache, out)        appends k, v to the cache, then the T queries attend
//                                          everything cached, bottom-right causal: a first prefill
//                                          (empty cache) or a later chunk of a chunked prefill
//      decode(q, k, v, cache, out)         the same for one token
//      attend(q, cache, out)               the last T cached tokens' queries, nothing appended
//    q [T, heads, head_dim], k [T, kv_heads, head_dim], v [T, kv_heads, value_dim],
//    out [T, heads, value_dim].
//
// 2. A full layer with Llama-style weights (gqa_weights) and rotary embedding:
//      forward(x [T, hidden], cos_sin [T, r/2, 2], chunks, caches, out [T, hidden])
//    x holds the new tokens of several sequences; chunk c is rows [first_row, first_row + tokens)
//    and belongs to caches[c], whose size before the call is the chunk's first position (the
//    caller computes cos_sin for those positions). q, k, v and o projections run over all T rows;
//    attention runs per chunk. The rotary width r = 2 x cos_sin.extent(1) may be less than
//    head_dim (partial rotary: the first r elements of each head turn), or 0 for none.

#include <cmath>
#include <cstddef>
#include <span>

#include "../backend/concept.hpp"
#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "../core/weight_view.hpp"
#include "cost.hpp"
#include "gqa_shape.hpp"
#include "gqa_weights.hpp"
#include "kv_cache.hpp"
#include "sequence_chunk.hpp"
#include "workspace.hpp"

namespace latte::attention {

template <backend_policy Backend, class Shape>
class gqa {
  static_assert(is_gqa_shape_v<Shape>, "gqa: Shape must be a gqa_shape");

 public:
  using backend_type = Backend;
  using shape_type = Shape;
  using cache_type = kv_cache<Backend>;

  // The attention core alone (entry points of kind 1).
  explicit gqa(const Backend& backend, const Shape& shape = Shape{}, const gqa_options& options = {})
      : backend_(backend), shape_(shape), options_(options) {
    init_scale();
  }

  // A full layer.
  gqa(const Backend& backend, const Shape& shape, const gqa_weights& weights, const gqa_options& options = {})
      : backend_(backend), shape_(shape), options_(options), weights_(weights), has_weights_(true) {
    init_scale();
    const index_t h = shape_.heads(), kv = shape_.kv_heads(), d = shape_.head_dim(), dv = shape_.value_dim();
    hidden_ = weights.q_proj.cols;
    require(hidden_ > 0, "gqa: q_proj has no columns");
    check_weight(weights.q_proj, "q_proj", h * d, hidden_);
    check_weight(weights.k_proj, "k_proj", kv * d, hidden_);
    check_weight(weights.v_proj, "v_proj", kv * dv, hidden_);
    check_weight(weights.o_proj, "o_proj", hidden_, h * dv);
  }

  const Backend& backend() const noexcept { return backend_; }
  const Shape& shape() const noexcept { return shape_; }
  const gqa_options& options() const noexcept { return options_; }
  float softmax_scale() const noexcept { return scale_; }
  bool has_weights() const noexcept { return has_weights_; }
  index_t hidden_size() const noexcept { return hidden_; }

  // A cache for one sequence of up to `capacity` tokens.
  cache_type make_cache(index_t capacity) const {
    return cache_type(backend_, capacity, shape_.kv_heads(), shape_.head_dim(), shape_.value_dim());
  }

  // ---- 1. over projected q, k, v ----

  void prefill(dtensor_view<const float, 3> q, dtensor_view<const float, 3> k, dtensor_view<const float, 3> v,
               dtensor_view<float, 3> out) const {
    const index_t t = q.extent(0);
    check_qkv(q, k, v, out, t);
    backend_.attention(q, k, v, out, attention_options{scale_, true, 0});
  }

  void prefill(dtensor_view<const float, 3> q, dtensor_view<const float, 3> k, dtensor_view<const float, 3> v,
               cache_type& cache, dtensor_view<float, 3> out) const {
    check_qkv(q, k, v, out, q.extent(0));
    check_cache(cache, "gqa::prefill");
    cache.append(k, v);
    attend(q, cache, out);
  }

  void decode(dtensor_view<const float, 3> q, dtensor_view<const float, 3> k, dtensor_view<const float, 3> v,
              cache_type& cache, dtensor_view<float, 3> out) const {
    require(q.extent(0) == 1, "gqa::decode: takes one token, got ", q.extent(0));
    prefill(q, k, v, cache, out);
  }

  // The queries of the cache's last T tokens attend everything cached (bottom-right causal).
  void attend(dtensor_view<const float, 3> q, const cache_type& cache, dtensor_view<float, 3> out) const {
    const index_t t = q.extent(0);
    check_cache(cache, "gqa::attend");
    require(t <= cache.size(), "gqa::attend: ", t, " queries but only ", cache.size(), " cached tokens");
    require(q.extent(1) == shape_.heads() && q.extent(2) == shape_.head_dim(), "gqa: q is [", q.extent(0), ", ",
            q.extent(1), ", ", q.extent(2), "], expected [", t, ", ", shape_.heads(), ", ", shape_.head_dim(), "]");
    require(out.extent(0) == t && out.extent(1) == shape_.heads() && out.extent(2) == shape_.value_dim(),
            "gqa: out is [", out.extent(0), ", ", out.extent(1), ", ", out.extent(2), "], expected [", t, ", ",
            shape_.heads(), ", ", shape_.value_dim(), "]");
    backend_.attention(q, cache.keys(), cache.values(), out, attention_options{scale_, true, cache.size() - t});
  }

  // ---- 2. the full layer ----

  // Floats of scratch one forward over `tokens` rows needs: q, k, v and o.
  index_t workspace_floats(index_t tokens) const noexcept {
    const index_t h = shape_.heads(), kv = shape_.kv_heads(), d = shape_.head_dim(), dv = shape_.value_dim();
    return workspace_piece(tokens * h * d) + workspace_piece(tokens * kv * d) + workspace_piece(tokens * kv * dv) +
           workspace_piece(tokens * h * dv);
  }

  void forward(matrix_view<const float> x, dtensor_view<const float, 3> cos_sin, std::span<const sequence_chunk> chunks,
               std::span<cache_type* const> caches, matrix_view<float> out) const {
    auto scratch = backend_.template allocate<float>(static_cast<std::size_t>(workspace_floats(x.extent(0))));
    forward(x, cos_sin, chunks, caches, out, std::span<float>(scratch.data(), scratch.size()));
  }

  // The same on caller-provided scratch (backend memory) of at least workspace_floats(T) floats.
  void forward(matrix_view<const float> x, dtensor_view<const float, 3> cos_sin, std::span<const sequence_chunk> chunks,
               std::span<cache_type* const> caches, matrix_view<float> out, std::span<float> workspace) const {
    require(has_weights_, "gqa::forward: the module was built without weights");
    const index_t t = x.extent(0);
    const index_t h = shape_.heads(), kv = shape_.kv_heads(), d = shape_.head_dim(), dv = shape_.value_dim();
    require(x.extent(1) == hidden_ && x.stride(1) == 1, "gqa::forward: x is [", x.extent(0), ", ", x.extent(1),
            "], expected [tokens, ", hidden_, "] with contiguous rows");
    require(out.extent(0) == t && out.extent(1) == hidden_ && out.stride(1) == 1, "gqa::forward: out is [",
            out.extent(0), ", ", out.extent(1), "], expected [", t, ", ", hidden_, "] with contiguous rows");
    const index_t rotary = 2 * cos_sin.extent(1);
    require(cos_sin.extent(0) == t && cos_sin.extent(2) == 2 && rotary <= d, "gqa::forward: cos_sin is [",
            cos_sin.extent(0), ", ", cos_sin.extent(1), ", ", cos_sin.extent(2), "], expected [", t,
            ", r / 2, 2] with a rotary width r <= head_dim ", d);
    detail::check_batch("gqa::forward", chunks, caches, t);
    for (cache_type* cache : caches) check_cache(*cache, "gqa::forward");
    require(static_cast<index_t>(workspace.size()) >= workspace_floats(t), "gqa::forward: workspace of ",
            workspace.size(), " floats, ", workspace_floats(t), " needed for ", t, " tokens");
    if (t == 0) return;

    detail::workspace_carver carve(workspace);
    const matrix_view<float> q = make_matrix_view(carve.take(t * h * d), t, h * d);      // [T, heads * d]
    const matrix_view<float> k = make_matrix_view(carve.take(t * kv * d), t, kv * d);    // [T, kv_heads * d]
    const matrix_view<float> v = make_matrix_view(carve.take(t * kv * dv), t, kv * dv);  // [T, kv_heads * dv]
    const matrix_view<float> o = make_matrix_view(carve.take(t * h * dv), t, h * dv);    // [T, heads * dv]
    backend_.gemm(x, weights_.q_proj, q);
    backend_.gemm(x, weights_.k_proj, k);
    backend_.gemm(x, weights_.v_proj, v);
    if (rotary > 0) {
      backend_.rope(dtensor_view<float, 3>(q.data(), dextents<3>(t, h, rotary), {h * d, d, 1}), cos_sin, options_.rope);
      backend_.rope(dtensor_view<float, 3>(k.data(), dextents<3>(t, kv, rotary), {kv * d, d, 1}), cos_sin,
                    options_.rope);
    }
    for (std::size_t c = 0; c < chunks.size(); ++c) {
      const index_t r0 = chunks[c].first_row, n = chunks[c].tokens;
      if (n == 0) continue;
      cache_type& cache = *caches[c];
      cache.append(heads_view<const float>(k, r0, n, kv, d), heads_view<const float>(v, r0, n, kv, dv));
      attend(heads_view<const float>(q, r0, n, h, d), cache, heads_view<float>(o, r0, n, h, dv));
    }
    backend_.gemm(o, weights_.o_proj, out);
  }

  // ---- cost model (cost.hpp) ----
  static constexpr attention_cost cost(const Shape& shape, index_t hidden) noexcept { return gqa_cost(shape, hidden); }
  attention_cost cost() const noexcept { return gqa_cost(shape_, hidden_); }

 private:
  void init_scale() {
    scale_ = options_.softmax_scale != 0.0f ? options_.softmax_scale
                                            : static_cast<float>(1.0 / std::sqrt(static_cast<double>(shape_.head_dim())));
  }

  static void check_weight(const weight_view& w, const char* name, index_t rows, index_t cols) {
    require(w.data != nullptr && w.rows == rows && w.cols == cols, "gqa: ", name, " is [", w.rows, ", ", w.cols,
            "], expected [", rows, ", ", cols, "]");
  }

  void check_cache(const cache_type& cache, const char* who) const {
    require(cache.kv_heads() == shape_.kv_heads() && cache.key_dim() == shape_.head_dim() &&
                cache.value_dim() == shape_.value_dim(),
            who, ": cache holds ", cache.kv_heads(), " heads of ", cache.key_dim(), " / ", cache.value_dim(),
            ", the layer ", shape_.kv_heads(), " of ", shape_.head_dim(), " / ", shape_.value_dim());
  }

  void check_qkv(const dtensor_view<const float, 3>& q, const dtensor_view<const float, 3>& k,
                 const dtensor_view<const float, 3>& v, const dtensor_view<float, 3>& out, index_t t) const {
    const index_t h = shape_.heads(), kv = shape_.kv_heads(), d = shape_.head_dim(), dv = shape_.value_dim();
    auto check = [](const auto& view, const char* name, index_t a, index_t b, index_t c) {
      require(view.extent(0) == a && view.extent(1) == b && view.extent(2) == c, "gqa: ", name, " is [",
              view.extent(0), ", ", view.extent(1), ", ", view.extent(2), "], expected [", a, ", ", b, ", ", c, "]");
    };
    check(q, "q", t, h, d);
    check(k, "k", t, kv, d);
    check(v, "v", t, kv, dv);
    check(out, "out", t, h, dv);
  }

  // Rows [r0, r0 + n) of a [T, heads * d] matrix as [n, heads, d].
  template <class T>
  static dtensor_view<T, 3> heads_view(const matrix_view<float>& m, index_t r0, index_t n, index_t heads, index_t d) {
    return dtensor_view<T, 3>(m.data() + r0 * m.stride(0), dextents<3>(n, heads, d), {m.stride(0), d, 1});
  }

  Backend backend_;
  Shape shape_;
  gqa_options options_;
  gqa_weights weights_{};
  bool has_weights_ = false;
  index_t hidden_ = 0;
  float scale_ = 1.0f;
};

// MHA: every query head has its own KV head. MQA: one KV head for all.
template <backend_policy Backend, std::size_t Heads, std::size_t HeadDim, std::size_t ValueDim = HeadDim>
using mha = gqa<Backend, mha_shape<Heads, HeadDim, ValueDim>>;
template <backend_policy Backend, std::size_t Heads, std::size_t HeadDim, std::size_t ValueDim = HeadDim>
using mqa = gqa<Backend, mqa_shape<Heads, HeadDim, ValueDim>>;

}  // namespace latte::attention

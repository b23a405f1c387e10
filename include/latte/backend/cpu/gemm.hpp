#pragma once
// y[m, n] = alpha * x[m, k] . op(w) + beta * y on the CPU, float32 arithmetic over any weight
// storage.
//
// f32 weights (without block scales) need no conversion: Eigen's GEMM runs on them in place, one
// product per worker over a contiguous share of the output columns (or of x's rows when the
// weight is narrow). Eigen blocks for the caches itself; cutting its product finer would only
// repeat its packing of x for every piece.
//
// Other weights with few rows of x (decode: m <= 4) and the linear-layer layout are a pass over
// the weights: each weight row is widened in registers, a few dozen columns at a time, and
// dotted with every row of x, one block scale at a time; nothing is written but y.
//
// Otherwise the weights are cut into tiles of weight rows (and of x rows when the weight is
// narrow); a tile is widened to f32 in a per-thread scratch, then multiplied by Eigen's GEMM. The
// scratch stays near 256 KiB (in L2) when x has few rows; with many rows each tile also costs a
// repacking of x, so tiles grow to 4 MiB to spread that over more columns.

#include <algorithm>
#include <vector>

#include "../../core/error.hpp"
#include "../../core/tensor_view.hpp"
#include "../../core/weight_view.hpp"
#include "../options.hpp"
#include "convert.hpp"
#include "eigen_maps.hpp"
#include "parallel.hpp"

namespace latte::cpu {

namespace detail {
inline std::vector<float>& gemm_scratch() {
  thread_local std::vector<float> scratch;
  return scratch;
}

// One tile: y[m0:m1, j0:j1] from x[m0:m1, :] and weight columns of y j0..j1.
inline void gemm_tile(const matrix_view<const float>& x, const weight_view& w, const matrix_view<float>& y,
                      const gemm_options& options, index_t m0, index_t m1, index_t j0, index_t j1) {
  const index_t k = x.extent(1);
  const index_t rows = m1 - m0, cols = j1 - j0;
  const_matrix_map xs = eigen_map(x.data() + m0 * x.stride(0), rows, k, x.stride(0));
  matrix_map ys = eigen_map(y.data() + m0 * y.stride(0) + j0, rows, cols, y.stride(0));
  const bool out_in = options.layout == weight_layout::out_in;

  const float* wf = nullptr;
  index_t ldw = 0;
  if (w.type == dtype::f32 && !w.has_block_scales()) {
    wf = static_cast<const float*>(w.data) + (out_in ? j0 * w.row_stride : j0);
    ldw = w.row_stride;
  } else {
    std::vector<float>& scratch = gemm_scratch();
    // Grow only: a resize after a smaller tile would zero-fill the whole scratch again.
    if (scratch.size() < static_cast<std::size_t>(cols * k)) scratch.resize(static_cast<std::size_t>(cols * k));
    if (out_in) {
      widen_block(w, j0, cols, 0, k, scratch.data(), k);
      ldw = k;
    } else {
      widen_block(w, 0, k, j0, cols, scratch.data(), cols);
      ldw = cols;
    }
    wf = scratch.data();
  }

  if (options.beta == 0.0f) {
    if (out_in)
      ys.noalias() = options.alpha * (xs * eigen_map(wf, cols, k, ldw).transpose());
    else
      ys.noalias() = options.alpha * (xs * eigen_map(wf, k, cols, ldw));
  } else {
    if (options.beta != 1.0f) ys *= options.beta;
    if (out_in)
      ys.noalias() += options.alpha * (xs * eigen_map(wf, cols, k, ldw).transpose());
    else
      ys.noalias() += options.alpha * (xs * eigen_map(wf, k, cols, ldw));
  }
}

// Asks for the same columns of the next weight row while this one is read: rows of 4 KiB or more
// start a new page each, where the hardware prefetcher stops and starts over. The lines go into
// every cache level (locality 3): a non-temporal hint would push out weights small enough to stay
// cached from one decoded token to the next.
template <class T>
inline void prefetch_next_row(const T* next, index_t count) noexcept {
#if defined(__GNUC__)
  const char* bytes = reinterpret_cast<const char*>(next);
  for (index_t b = 0; b < count * static_cast<index_t>(sizeof(T)); b += 64) __builtin_prefetch(bytes + b, 0, 3);
#else
  static_cast<void>(next);
  static_cast<void>(count);
#endif
}

// Rows of x the widening dot product serves; more rows go to Eigen's GEMM.
inline constexpr index_t dot_max_rows = 4;

// y[0:M, j0:j1] = alpha * x . w[j0:j1]^T (+ beta y) for out_in weights of storage type T and
// M <= dot_max_rows rows of x. Each weight row is read once: 16 or 32 columns are widened at a
// time into registers, times their block scale, and multiplied into as many running sums per row
// of x.
template <class T, index_t M>
void dot_rows(const matrix_view<const float>& x, const weight_view& w, const matrix_view<float>& y,
              const gemm_options& options, index_t j0, index_t j1) {
  // Independent running sums per row of x: enough to cover the latency of the multiply-adds,
  // few enough to stay in registers (32 measured best for one row: 3.7 ms for a bf16
  // [4096, 4096] on one core, against 4.2 with 64 or 128 and 5.5 with 16).
  constexpr index_t lanes = M <= 2 ? 32 : 16;
  const index_t k = x.extent(1);
  const float* xr[M];
  for (index_t i = 0; i < M; ++i) xr[i] = &x(i, 0);
  alignas(64) float wide[lanes];
  for (index_t j = j0; j < j1; ++j) {
    const T* row = static_cast<const T*>(w.data) + j * w.row_stride;
    const T* next = j + 1 < w.rows ? row + w.row_stride : row;  // nothing past the weight
    float sum[M][lanes] = {};
    float tail[M] = {};
    for (index_t c0 = 0; c0 < k;) {
      // Columns c0 .. c1 share one block scale (all of them when there are none).
      const index_t c1 = w.has_block_scales() ? std::min(k, c0 + (w.block - (w.col0 + c0) % w.block)) : k;
      const float scale = w.scale_at(j, c0);
      index_t c = c0;
      for (; c + lanes <= c1; c += lanes) {
        prefetch_next_row(next + c, lanes);
        widen_row(row + c, lanes, wide);
        for (index_t l = 0; l < lanes; ++l) wide[l] *= scale;
        for (index_t i = 0; i < M; ++i)
          for (index_t l = 0; l < lanes; ++l) sum[i][l] += xr[i][c + l] * wide[l];
      }
      const index_t rest = c1 - c;
      widen_row(row + c, rest, wide);
      for (index_t i = 0; i < M; ++i)
        for (index_t l = 0; l < rest; ++l) tail[i] += xr[i][c + l] * (wide[l] * scale);
      c0 = c1;
    }
    for (index_t i = 0; i < M; ++i) {
      float total = tail[i];
      for (index_t l = 0; l < lanes; ++l) total += sum[i][l];
      const float v = options.alpha * total;
      y(i, j) = options.beta == 0.0f ? v : v + options.beta * y(i, j);
    }
  }
}

template <class T>
void dot_rows_as(const matrix_view<const float>& x, const weight_view& w, const matrix_view<float>& y,
                 const gemm_options& options, index_t j0, index_t j1) {
  switch (x.extent(0)) {
    case 1: return dot_rows<T, 1>(x, w, y, options, j0, j1);
    case 2: return dot_rows<T, 2>(x, w, y, options, j0, j1);
    case 3: return dot_rows<T, 3>(x, w, y, options, j0, j1);
    default: return dot_rows<T, 4>(x, w, y, options, j0, j1);
  }
}

inline void dot_rows_any(const matrix_view<const float>& x, const weight_view& w, const matrix_view<float>& y,
                         const gemm_options& options, index_t j0, index_t j1) {
  switch (w.type) {
    case dtype::f32: return dot_rows_as<float>(x, w, y, options, j0, j1);
    case dtype::bf16: return dot_rows_as<bf16>(x, w, y, options, j0, j1);
    case dtype::f16: return dot_rows_as<fp16>(x, w, y, options, j0, j1);
    case dtype::f8_e4m3: return dot_rows_as<fp8_e4m3>(x, w, y, options, j0, j1);
    default: fail("weight of type ", name_of(w.type), " cannot be used as a float matrix");
  }
}
}  // namespace detail

inline void gemm(int threads, matrix_view<const float> x, const weight_view& w, matrix_view<float> y,
                 const gemm_options& options) {
  const bool out_in = options.layout == weight_layout::out_in;
  const index_t m = x.extent(0), k = x.extent(1);
  const index_t n = out_in ? w.rows : w.cols;
  const index_t wk = out_in ? w.cols : w.rows;
  require(wk == k, "gemm: x has ", k, " columns but the weight's inner size is ", wk);
  require(y.extent(0) == m && y.extent(1) == n, "gemm: y is [", y.extent(0), ", ", y.extent(1), "], expected [", m,
          ", ", n, "]");
  require(x.stride(1) == 1 && y.stride(1) == 1, "gemm: x and y need unit column stride");
  if (m == 0 || n == 0) return;
  if (k == 0) {
    matrix_map ys = eigen_map(y);
    if (options.beta == 0.0f) ys.setZero(); else ys *= options.beta;
    return;
  }

  if (w.type == dtype::f32 && !w.has_block_scales()) {
    const bool split_rows = m >= 4 * n;  // tall and narrow: share x's rows instead
    parallel_ranges(threads, split_rows ? m : n, split_rows ? 8 : 16, [&](index_t begin, index_t end) {
      if (split_rows)
        detail::gemm_tile(x, w, y, options, begin, end, 0, n);
      else
        detail::gemm_tile(x, w, y, options, 0, m, begin, end);
    });
    return;
  }

  if (out_in && m <= detail::dot_max_rows) {
    parallel_ranges(threads, n, 16, [&](index_t begin, index_t end) { detail::dot_rows_any(x, w, y, options, begin, end); });
    return;
  }

  // Tile width: a widened tile of cols x k floats stays near 256 KiB, or 4 MiB for many rows.
  const index_t scratch_floats = m >= 32 ? index_t{1} << 20 : index_t{1} << 16;
  const index_t tile_cols = std::clamp<index_t>((scratch_floats / std::max<index_t>(k, 1)) / 16 * 16, 16, 512);
  const index_t col_tiles = (n + tile_cols - 1) / tile_cols;
  const index_t row_tiles =
      col_tiles >= threads ? 1 : std::clamp<index_t>((m + 31) / 32, 1, std::max<index_t>(threads, 1));
  const index_t rows_per_tile = (m + row_tiles - 1) / row_tiles;

  parallel_for(threads, col_tiles * row_tiles, [&](index_t tile) {
    const index_t ct = tile % col_tiles, rt = tile / col_tiles;
    const index_t j0 = ct * tile_cols, j1 = std::min(n, j0 + tile_cols);
    const index_t m0 = rt * rows_per_tile, m1 = std::min(m, m0 + rows_per_tile);
    if (m0 < m1) detail::gemm_tile(x, w, y, options, m0, m1, j0, j1);
  });
}

// Matrix i of the batch is w.row_range(i * row_step, rows_per_matrix).
inline void gemm_batched(int threads, dtensor_view<const float, 3> x, const weight_view& w, index_t rows_per_matrix,
                         index_t row_step, dtensor_view<float, 3> y, const gemm_options& options) {
  const index_t batch = x.extent(0);
  require(y.extent(0) == batch, "gemm_batched: x has ", batch, " matrices, y ", y.extent(0));
  require(batch == 0 || (batch - 1) * row_step + rows_per_matrix <= w.rows, "gemm_batched: ", batch,
          " matrices of ", rows_per_matrix, " rows every ", row_step, " rows exceed the weight's ", w.rows, " rows");
  // Many small matrices (heads): one worker per matrix; few large ones: workers inside each.
  const bool across_batch = batch >= threads;
  auto one = [&](index_t i) {
    const matrix_view<const float> xi(x.data() + i * x.stride(0), dextents<2>(x.extent(1), x.extent(2)),
                                      {x.stride(1), x.stride(2)});
    const matrix_view<float> yi(y.data() + i * y.stride(0), dextents<2>(y.extent(1), y.extent(2)),
                                {y.stride(1), y.stride(2)});
    gemm(across_batch ? 1 : threads, xi, w.row_range(i * row_step, rows_per_matrix), yi, options);
  };
  if (across_batch)
    parallel_for(threads, batch, one);
  else
    for (index_t i = 0; i < batch; ++i) one(i);
}

}  // namespace latte::cpu

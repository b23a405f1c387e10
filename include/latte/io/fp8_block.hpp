#pragma once
// The fp8 block format of DeepSeek-V3 checkpoints (SPEC.md section 8), on the host:
//
//   w[r][c] = float(q[r][c]) * scale_inv[r / B][c / B]      q: F8_E4M3 [rows, cols]
//                                                            scale_inv: F32 [ceil(rows / B), ceil(cols / B)]
//
// Blocks at the right and bottom edges are partial when B does not divide the sizes.
// dequantize turns any weight_view (f32, f64, f16, bf16, fp8, with or without block scales) into
// floats; quantize_fp8_blocks makes such a weight from floats (per-block amax / 448, as
// DeepSeek's quantiser does), for tests and synthetic sources.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../core/buffer.hpp"
#include "../core/dtype.hpp"
#include "../core/error.hpp"
#include "../core/weight_view.hpp"

namespace latte::io {

// [ceil(rows / block), ceil(cols / block)]
inline std::array<index_t, 2> block_scale_shape(index_t rows, index_t cols, index_t block) {
  require(block > 0, "block_scale_shape: block must be positive, got ", block);
  require(rows >= 0 && cols >= 0, "block_scale_shape: negative size [", rows, ", ", cols, "]");
  return {(rows + block - 1) / block, (cols + block - 1) / block};
}

namespace detail {
template <class T>
void dequantize_rows(const weight_view& w, float* out, index_t out_row_stride) {
  const T* base = static_cast<const T*>(w.data);
  for (index_t r = 0; r < w.rows; ++r) {
    const T* src = base + r * w.row_stride;
    float* dst = out + r * out_row_stride;
    for (index_t c = 0; c < w.cols; ++c) {
      T v;
      std::memcpy(&v, src + c, sizeof(T));  // the view may sit at any byte of its storage
      dst[c] = to_float(v);
    }
    if (w.has_block_scales()) {
      // One scale per run of columns inside a block; the view's column origin col0 places the runs.
      for (index_t c = 0; c < w.cols;) {
        const index_t run_end = std::min<index_t>(w.cols, c + (w.block - (w.col0 + c) % w.block));
        const float s = w.scale_at(r, c);
        for (; c < run_end; ++c) dst[c] *= s;
      }
    }
  }
}
}  // namespace detail

// out[r * out_row_stride + c] = w[r][c] with block scales applied; out is host memory of at
// least (rows - 1) * out_row_stride + cols floats.
inline void dequantize_into(const weight_view& w, float* out, index_t out_row_stride) {
  require(w.rows >= 0 && w.cols >= 0, "dequantize: weight has negative size [", w.rows, ", ", w.cols, "]");
  if (w.rows == 0 || w.cols == 0) return;
  require(w.data != nullptr && out != nullptr, "dequantize: null weight or output");
  require(w.row_stride >= w.cols || w.rows == 1, "dequantize: row stride ", w.row_stride, " below ", w.cols,
          " columns");
  require(out_row_stride >= w.cols || w.rows == 1, "dequantize: output row stride ", out_row_stride, " below ",
          w.cols, " columns");
  if (w.has_block_scales())
    require(w.block > 0 && w.scale_cols >= (w.col0 + w.cols + w.block - 1) / w.block,
            "dequantize: block scales of ", w.scale_cols, " columns (block ", w.block, ") do not cover columns [",
            w.col0, ", ", w.col0 + w.cols, ")");
  switch (w.type) {
    case dtype::f32: return detail::dequantize_rows<float>(w, out, out_row_stride);
    case dtype::f64: return detail::dequantize_rows<double>(w, out, out_row_stride);
    case dtype::f16: return detail::dequantize_rows<fp16>(w, out, out_row_stride);
    case dtype::bf16: return detail::dequantize_rows<bf16>(w, out, out_row_stride);
    case dtype::f8_e4m3: return detail::dequantize_rows<fp8_e4m3>(w, out, out_row_stride);
    case dtype::i64: return detail::dequantize_rows<std::int64_t>(w, out, out_row_stride);
    case dtype::i32: return detail::dequantize_rows<std::int32_t>(w, out, out_row_stride);
    case dtype::u8: return detail::dequantize_rows<std::uint8_t>(w, out, out_row_stride);
  }
  fail("dequantize: unknown dtype");
}

// The weight as floats, [rows, cols] row-major.
inline host_buffer<float> dequantize(const weight_view& w) {
  require(w.rows >= 0 && w.cols >= 0, "dequantize: weight has negative size [", w.rows, ", ", w.cols, "]");
  host_buffer<float> out(static_cast<std::size_t>(w.rows * w.cols));
  dequantize_into(w, out.data(), w.cols);
  return out;
}

// An fp8 block-quantised weight that owns its storage.
struct fp8_block_weight {
  host_buffer<fp8_e4m3> values;  // [rows, cols]
  host_buffer<float> scale_inv;  // [ceil(rows / block), ceil(cols / block)]
  index_t rows = 0;
  index_t cols = 0;
  index_t block = 128;

  weight_view view() const { return make_weight_view(values.data(), rows, cols, scale_inv.data(), block); }
};

// Quantises w [rows, cols] (row-major floats) block by block: scale_inv = amax / 448 (1 for an
// all-zero block), q = e4m3(w / scale_inv), rounded to nearest even.
inline fp8_block_weight quantize_fp8_blocks(const float* w, index_t rows, index_t cols, index_t block = 128) {
  const auto [scale_rows, scale_cols] = block_scale_shape(rows, cols, block);
  fp8_block_weight q;
  q.rows = rows;
  q.cols = cols;
  q.block = block;
  q.values = host_buffer<fp8_e4m3>(static_cast<std::size_t>(rows * cols));
  q.scale_inv = host_buffer<float>(static_cast<std::size_t>(scale_rows * scale_cols));
  for (index_t br = 0; br < scale_rows; ++br) {
    for (index_t bc = 0; bc < scale_cols; ++bc) {
      const index_t r0 = br * block, r1 = std::min(rows, r0 + block);
      const index_t c0 = bc * block, c1 = std::min(cols, c0 + block);
      float amax = 0.0f;
      for (index_t r = r0; r < r1; ++r)
        for (index_t c = c0; c < c1; ++c) amax = std::max(amax, std::fabs(w[r * cols + c]));
      const float s = amax > 0.0f ? amax / fp8_e4m3::max_finite : 1.0f;
      q.scale_inv[static_cast<std::size_t>(br * scale_cols + bc)] = s;
      for (index_t r = r0; r < r1; ++r)
        for (index_t c = c0; c < c1; ++c)
          q.values[static_cast<std::size_t>(r * cols + c)] = fp8_e4m3::from_float_saturating(w[r * cols + c] / s);
    }
  }
  return q;
}

}  // namespace latte::io

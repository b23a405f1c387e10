#pragma once
// Widening any weight_view block to float32 on the host: the CPU backend's f32 arithmetic over
// f32, f16, bf16 or fp8 (with 128 x 128 block scales, SPEC.md section 8) storage.

#include <algorithm>
#include <cstdint>

#include "../../core/dtype.hpp"
#include "../../core/error.hpp"
#include "../../core/weight_view.hpp"

namespace latte::cpu {

namespace detail {
template <class T>
void widen_row(const T* src, index_t n, float* dst) noexcept {
  for (index_t c = 0; c < n; ++c) dst[c] = to_float(src[c]);
}
// bf16 -> f32 is a 16-bit shift; written on the bits so that it vectorises.
inline void widen_row(const bf16* src, index_t n, float* dst) noexcept {
  const std::uint16_t* bits = reinterpret_cast<const std::uint16_t*>(src);
  std::uint32_t* out = reinterpret_cast<std::uint32_t*>(dst);
  for (index_t c = 0; c < n; ++c) out[c] = static_cast<std::uint32_t>(bits[c]) << 16;
}
// fp8 e4m3 by arithmetic on the bits, branch-free so that it vectorises (the core type's scalar
// to_float does not): normal codes move their exponent and mantissa into a float's fields with
// the bias raised from 7 to 127, subnormal codes are m x 2^-9 (no float subnormal is formed, so
// flush-to-zero modes do not change the result), S.1111.111 is NaN.
inline void widen_row(const fp8_e4m3* src, index_t n, float* dst) noexcept {
  const std::uint8_t* bits = reinterpret_cast<const std::uint8_t*>(src);
  for (index_t c = 0; c < n; ++c) {
    const std::uint32_t b = bits[c];
    const std::uint32_t magnitude = b & 0x7fu;
    const std::uint32_t normal = (magnitude << 20) + (120u << 23);
    const std::uint32_t subnormal = bit_cast<std::uint32_t>(static_cast<float>(magnitude) * 0x1p-9f);
    // Selections by masks rather than branches, which the vectoriser would refuse.
    const std::uint32_t is_subnormal = 0u - static_cast<std::uint32_t>(magnitude < 8u);
    const std::uint32_t is_nan = 0u - static_cast<std::uint32_t>(magnitude == 0x7fu);
    const std::uint32_t finite = (subnormal & is_subnormal) | (normal & ~is_subnormal);
    const std::uint32_t u = (0x7fc00000u & is_nan) | (finite & ~is_nan);
    dst[c] = bit_cast<float>(u | ((b & 0x80u) << 24));
  }
}

template <class T>
void widen_block_as(const weight_view& w, index_t r0, index_t nr, index_t c0, index_t nc, float* out, index_t ldo) {
  const T* base = static_cast<const T*>(w.data);
  for (index_t r = 0; r < nr; ++r) {
    float* dst = out + r * ldo;
    widen_row(base + (r0 + r) * w.row_stride + c0, nc, dst);
    if (w.has_block_scales()) {
      for (index_t c = 0; c < nc;) {
        const index_t global_col = w.col0 + c0 + c;
        const index_t block_end = std::min<index_t>(nc, c + (w.block - global_col % w.block));
        const float s = w.scale_at(r0 + r, c0 + c);
        for (; c < block_end; ++c) dst[c] *= s;
      }
    }
  }
}
}  // namespace detail

// out[r][c] = float(w[r0 + r][c0 + c]) for r < nr, c < nc; out has row stride ldo.
inline void widen_block(const weight_view& w, index_t r0, index_t nr, index_t c0, index_t nc, float* out,
                        index_t ldo) {
  switch (w.type) {
    case dtype::f32: return detail::widen_block_as<float>(w, r0, nr, c0, nc, out, ldo);
    case dtype::bf16: return detail::widen_block_as<bf16>(w, r0, nr, c0, nc, out, ldo);
    case dtype::f16: return detail::widen_block_as<fp16>(w, r0, nr, c0, nc, out, ldo);
    case dtype::f8_e4m3: return detail::widen_block_as<fp8_e4m3>(w, r0, nr, c0, nc, out, ldo);
    default: fail("weight of type ", name_of(w.type), " cannot be used as a float matrix");
  }
}

}  // namespace latte::cpu

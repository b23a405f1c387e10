#pragma once
// float8 e4m3 in the "FN" variant (OCP OFP8, torch.float8_e4m3fn, the DeepSeek-V3 checkpoint
// format): 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities; S.1111.111 is NaN;
// largest finite 448; subnormals m x 2^-9.
//
// from_float rounds to nearest, ties to even, and is non-saturating like torch: a magnitude above
// 464 (the midpoint between 448 and the NaN pattern's 480; 464 itself ties to the even 448)
// becomes NaN, and so do Inf and NaN. from_float_saturating clamps finite and infinite overflow to +-448 instead (the
// behaviour of quantisers that clip before casting); NaN stays NaN.

#include <cstdint>

#include "config.hpp"

namespace latte {

struct fp8_e4m3 {
  std::uint8_t bits = 0;

  static constexpr std::uint8_t nan_bits = 0x7f;
  static constexpr float max_finite = 448.0f;

  static constexpr fp8_e4m3 from_bits(std::uint8_t b) noexcept {
    fp8_e4m3 v;
    v.bits = b;
    return v;
  }

  LATTE_HOST_DEVICE static fp8_e4m3 from_float(float f) noexcept {
    const std::uint32_t u = bit_cast<std::uint32_t>(f);
    const std::uint8_t sign = static_cast<std::uint8_t>((u >> 24) & 0x80u);
    std::uint32_t a = u & 0x7fffffffu;
    std::uint8_t r;
    if (a >= 0x43f00000u) {  // >= 480.0 (the NaN pattern's value), Inf or NaN
      r = nan_bits;
    } else if (a < 0x3c800000u) {
      // Below 2^-6 (subnormal): floats in [2^14, 2^15) have ulp 2^-9, the e4m3 subnormal step,
      // so adding 16384.0f makes the float addition itself round |f| / 2^-9 to nearest even.
      const float shifted = bit_cast<float>(a) + 16384.0f;
      r = static_cast<std::uint8_t>(bit_cast<std::uint32_t>(shifted) - 0x46800000u);
    } else {
      const std::uint32_t odd = (a >> 20) & 1u;
      a += (static_cast<std::uint32_t>(7 - 127) << 23) + 0x7ffffu + odd;
      r = static_cast<std::uint8_t>(a >> 20);
    }
    return from_bits(static_cast<std::uint8_t>(r | sign));
  }

  LATTE_HOST_DEVICE static fp8_e4m3 from_float_saturating(float f) noexcept {
    if (f != f) return from_bits(nan_bits);
    if (f > max_finite) f = max_finite;
    if (f < -max_finite) f = -max_finite;
    return from_float(f);
  }

  LATTE_HOST_DEVICE float to_float() const noexcept {
    const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x80u) << 24;
    const std::uint32_t exponent = (bits >> 3) & 0xfu;
    const std::uint32_t mantissa = bits & 0x7u;
    if (exponent == 0xfu && mantissa == 0x7u) return bit_cast<float>(sign | 0x7fc00000u);
    if (exponent == 0) {
      const float magnitude = static_cast<float>(mantissa) * 0.001953125f;  // m x 2^-9
      return bit_cast<float>(sign | bit_cast<std::uint32_t>(magnitude));
    }
    return bit_cast<float>(sign | ((exponent + 127 - 7) << 23) | (mantissa << 20));
  }

  fp8_e4m3() = default;
  LATTE_HOST_DEVICE explicit fp8_e4m3(float f) noexcept : bits(from_float(f).bits) {}
  LATTE_HOST_DEVICE explicit operator float() const noexcept { return to_float(); }
};

static_assert(sizeof(fp8_e4m3) == 1);

}  // namespace latte

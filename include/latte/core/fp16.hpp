#pragma once
// IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits, subnormals below 2^-14.
// Conversion from float rounds to nearest, ties to even; overflow gives Inf; to float is exact.

#include <cstdint>

#include "config.hpp"

namespace latte {

struct fp16 {
  std::uint16_t bits = 0;

  static constexpr fp16 from_bits(std::uint16_t b) noexcept {
    fp16 v;
    v.bits = b;
    return v;
  }

  LATTE_HOST_DEVICE static fp16 from_float(float f) noexcept {
    const std::uint32_t u = bit_cast<std::uint32_t>(f);
    const std::uint32_t sign = (u >> 16) & 0x8000u;
    std::uint32_t a = u & 0x7fffffffu;
    std::uint16_t h;
    if (a > 0x7f800000u) {
      h = static_cast<std::uint16_t>(0x7e00u | ((a >> 13) & 0x3ffu));  // quiet NaN, payload kept
    } else if (a >= 0x47800000u) {
      h = 0x7c00u;  // >= 65536: Inf (Inf stays Inf)
    } else if (a < 0x38800000u) {
      // Below 2^-14: adding 0.5f puts the binary16 subnormal unit 2^-24 in the last mantissa
      // bit, so the float addition itself rounds to nearest even.
      const float shifted = bit_cast<float>(a) + 0.5f;
      h = static_cast<std::uint16_t>(bit_cast<std::uint32_t>(shifted) - 0x3f000000u);
    } else {
      const std::uint32_t odd = (a >> 13) & 1u;
      a += (static_cast<std::uint32_t>(15 - 127) << 23) + 0xfffu + odd;
      h = static_cast<std::uint16_t>(a >> 13);
      if (h > 0x7c00u) h = 0x7c00u;
    }
    return from_bits(static_cast<std::uint16_t>(h | sign));
  }

  LATTE_HOST_DEVICE float to_float() const noexcept {
    const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
    const std::uint32_t exponent = (bits >> 10) & 0x1fu;
    const std::uint32_t mantissa = bits & 0x3ffu;
    std::uint32_t u;
    if (exponent == 0x1fu) {
      u = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent == 0) {
      // Subnormal or zero: mantissa x 2^-24 is exact in float.
      const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
      u = sign | bit_cast<std::uint32_t>(magnitude);
    } else {
      u = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    return bit_cast<float>(u);
  }

  fp16() = default;
  LATTE_HOST_DEVICE explicit fp16(float f) noexcept : bits(from_float(f).bits) {}
  LATTE_HOST_DEVICE explicit operator float() const noexcept { return to_float(); }
};

static_assert(sizeof(fp16) == 2);

}  // namespace latte

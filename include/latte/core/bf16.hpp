#pragma once
// bfloat16: 1 sign, 8 exponent, 7 mantissa bits; the upper half of an IEEE binary32.
// Conversion from float rounds to nearest, ties to even; NaN stays NaN (quiet); to float is exact.

#include <cstdint>

#include "config.hpp"

namespace latte {

struct bf16 {
  std::uint16_t bits = 0;

  static constexpr bf16 from_bits(std::uint16_t b) noexcept {
    bf16 v;
    v.bits = b;
    return v;
  }

  LATTE_HOST_DEVICE static bf16 from_float(float f) noexcept {
    const std::uint32_t u = bit_cast<std::uint32_t>(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return from_bits(static_cast<std::uint16_t>((u >> 16) | 0x0040u));
    const std::uint32_t lsb = (u >> 16) & 1u;
    return from_bits(static_cast<std::uint16_t>((u + 0x7fffu + lsb) >> 16));
  }

  LATTE_HOST_DEVICE float to_float() const noexcept {
    return bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
  }

  bf16() = default;
  LATTE_HOST_DEVICE explicit bf16(float f) noexcept : bits(from_float(f).bits) {}
  LATTE_HOST_DEVICE explicit operator float() const noexcept { return to_float(); }
};

static_assert(sizeof(bf16) == 2);

}  // namespace latte

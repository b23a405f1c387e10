#pragma once
// The conversions under test, one adapter per (type, rounding rule), and a checker that compares
// them with the independent model of minifloat_reference.hpp.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include <latte/core/bf16.hpp>
#include <latte/core/fp16.hpp>
#include <latte/core/fp8_e4m3.hpp>

#include "minifloat_reference.hpp"

namespace latte::test {

struct bf16_case {
  static constexpr const char* name = "bf16";
  static constexpr const minifloat_format& format = bf16_format;
  static constexpr overflow_rule rule = overflow_rule::format_default;
  static std::uint32_t narrow(float f) { return bf16::from_float(f).bits; }
  static float widen(std::uint32_t b) { return bf16::from_bits(static_cast<std::uint16_t>(b)).to_float(); }
};
struct fp16_case {
  static constexpr const char* name = "fp16";
  static constexpr const minifloat_format& format = fp16_format;
  static constexpr overflow_rule rule = overflow_rule::format_default;
  static std::uint32_t narrow(float f) { return fp16::from_float(f).bits; }
  static float widen(std::uint32_t b) { return fp16::from_bits(static_cast<std::uint16_t>(b)).to_float(); }
};
struct fp8_case {
  static constexpr const char* name = "fp8_e4m3 (non-saturating)";
  static constexpr const minifloat_format& format = e4m3fn_format;
  static constexpr overflow_rule rule = overflow_rule::format_default;
  static std::uint32_t narrow(float f) { return fp8_e4m3::from_float(f).bits; }
  static float widen(std::uint32_t b) { return fp8_e4m3::from_bits(static_cast<std::uint8_t>(b)).to_float(); }
};
struct fp8_saturating_case {
  static constexpr const char* name = "fp8_e4m3 (saturating)";
  static constexpr const minifloat_format& format = e4m3fn_format;
  static constexpr overflow_rule rule = overflow_rule::saturate;
  static std::uint32_t narrow(float f) { return fp8_e4m3::from_float_saturating(f).bits; }
  static float widen(std::uint32_t b) { return fp8_e4m3::from_bits(static_cast<std::uint8_t>(b)).to_float(); }
};

// True when `got` is what `want` asks for: the same encoding, or any NaN encoding for a NaN.
template <class Case>
bool conversion_matches(std::uint32_t got, const expected_encoding& want) {
  if (want.nan) return std::isnan(decode(Case::format, got));
  return got == want.bits;
}

inline std::string describe_mismatch(float input, std::uint32_t got, const expected_encoding& want) {
  char line[160];
  if (want.nan)
    std::snprintf(line, sizeof line, "from %a (0x%08x): got 0x%x, expected a NaN\n", static_cast<double>(input),
                  bits_of(input), got);
  else
    std::snprintf(line, sizeof line, "from %a (0x%08x): got 0x%x, expected 0x%x\n", static_cast<double>(input),
                  bits_of(input), got, want.bits);
  return line;
}

}  // namespace latte::test

#pragma once
// The dtype names of the safetensors format ("BF16", "F8_E4M3", ...) and latte::dtype.

#include <optional>
#include <string_view>

#include "../core/dtype.hpp"

namespace latte::io {

// The dtype a safetensors header names, or nothing for a name latte does not read.
constexpr std::optional<dtype> dtype_from_safetensors(std::string_view name) noexcept {
  if (name == "BF16") return dtype::bf16;
  if (name == "F16") return dtype::f16;
  if (name == "F32") return dtype::f32;
  if (name == "F64") return dtype::f64;
  if (name == "F8_E4M3") return dtype::f8_e4m3;
  if (name == "I64") return dtype::i64;
  if (name == "I32") return dtype::i32;
  if (name == "U8") return dtype::u8;
  return std::nullopt;
}

// The safetensors name of a dtype.
constexpr std::string_view safetensors_name(dtype t) noexcept {
  switch (t) {
    case dtype::bf16: return "BF16";
    case dtype::f16: return "F16";
    case dtype::f32: return "F32";
    case dtype::f64: return "F64";
    case dtype::f8_e4m3: return "F8_E4M3";
    case dtype::i64: return "I64";
    case dtype::i32: return "I32";
    case dtype::u8: return "U8";
  }
  return "?";
}

inline constexpr std::string_view safetensors_dtype_list = "BF16, F16, F32, F64, F8_E4M3, I64, I32, U8";

}  // namespace latte::io

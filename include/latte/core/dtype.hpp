#pragma once
// Storage element types as they appear in checkpoints and buffers.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "bf16.hpp"
#include "fp16.hpp"
#include "fp8_e4m3.hpp"

namespace latte {

enum class dtype : std::uint8_t { f64, f32, f16, bf16, f8_e4m3, i64, i32, u8 };

constexpr std::size_t size_of(dtype t) noexcept {
  switch (t) {
    case dtype::f64: case dtype::i64: return 8;
    case dtype::f32: case dtype::i32: return 4;
    case dtype::f16: case dtype::bf16: return 2;
    case dtype::f8_e4m3: case dtype::u8: return 1;
  }
  return 0;
}

constexpr std::string_view name_of(dtype t) noexcept {
  switch (t) {
    case dtype::f64: return "f64";
    case dtype::f32: return "f32";
    case dtype::f16: return "f16";
    case dtype::bf16: return "bf16";
    case dtype::f8_e4m3: return "f8_e4m3";
    case dtype::i64: return "i64";
    case dtype::i32: return "i32";
    case dtype::u8: return "u8";
  }
  return "?";
}

template <class T> struct dtype_of;
template <> struct dtype_of<double> { static constexpr dtype value = dtype::f64; };
template <> struct dtype_of<float> { static constexpr dtype value = dtype::f32; };
template <> struct dtype_of<fp16> { static constexpr dtype value = dtype::f16; };
template <> struct dtype_of<bf16> { static constexpr dtype value = dtype::bf16; };
template <> struct dtype_of<fp8_e4m3> { static constexpr dtype value = dtype::f8_e4m3; };
template <> struct dtype_of<std::int64_t> { static constexpr dtype value = dtype::i64; };
template <> struct dtype_of<std::int32_t> { static constexpr dtype value = dtype::i32; };
template <> struct dtype_of<std::uint8_t> { static constexpr dtype value = dtype::u8; };
template <class T> inline constexpr dtype dtype_v = dtype_of<T>::value;

// Converts one stored element to float (exact for every storage type but f64 and the integers).
template <class T>
LATTE_HOST_DEVICE inline float to_float(T v) noexcept {
  if constexpr (std::is_same_v<T, bf16> || std::is_same_v<T, fp16> || std::is_same_v<T, fp8_e4m3>)
    return v.to_float();
  else
    return static_cast<float>(v);
}

}  // namespace latte

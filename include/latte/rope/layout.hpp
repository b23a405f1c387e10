#pragma once
// Rotary layouts as policy types (SPEC.md section 4). Each names the backend's rope_layout.
//   interleaved_pairs: rotates (x[2j], x[2j+1]) — DeepSeek checkpoints (rope_interleave = true)
//   halves:            rotates (x[j], x[j + d/2]) — Llama-style checkpoints

#include <concepts>

#include "../backend/options.hpp"

namespace latte::rope {

struct interleaved_pairs {
  static constexpr rope_layout value = rope_layout::interleaved_pairs;
};

struct halves {
  static constexpr rope_layout value = rope_layout::halves;
};

template <class T>
concept layout_policy = requires { { T::value } -> std::convertible_to<rope_layout>; };

}  // namespace latte::rope

#pragma once
// Scratch memory of the attention modules. A module states how many floats one call needs
// (`workspace_floats(tokens)`); the caller may pass that much backend memory, or let the module
// allocate it. The carver hands out pieces aligned to 64 bytes; it only does pointer arithmetic,
// so the memory may live on any backend.

#include <cstddef>
#include <span>

#include "../core/error.hpp"
#include "../core/extents.hpp"

namespace latte::attention {

// Floats per piece are rounded up to this multiple, keeping every piece 64-byte aligned.
inline constexpr index_t workspace_alignment = 16;

constexpr index_t workspace_piece(index_t floats) noexcept {
  return (floats + workspace_alignment - 1) / workspace_alignment * workspace_alignment;
}

namespace detail {
class workspace_carver {
 public:
  explicit workspace_carver(std::span<float> memory) noexcept : next_(memory.data()), left_(memory.size()) {}

  float* take(index_t floats) {
    const auto n = static_cast<std::size_t>(workspace_piece(floats));
    require(n <= left_, "workspace: a piece of ", n, " floats does not fit in the ", left_, " left");
    float* p = next_;
    next_ += n;
    left_ -= n;
    return p;
  }

 private:
  float* next_;
  std::size_t left_;
};
}  // namespace detail

}  // namespace latte::attention

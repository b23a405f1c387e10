#pragma once
// Constants and the shared-memory plan of the tensor-core flash attention kernel
// (flash_attention.cuh). sizeof(flash_shared<D>) is the dynamic shared memory a CTA takes.

#include <cstdint>

#include "../../core/extents.hpp"

namespace latte::cuda::kernels {

template <int D>
struct flash_config {
  static_assert(D == 64 || D == 128, "flash attention is built for head dims 64 and 128");
  static constexpr int head_dim = D;
  // d 128: four warps (64 queries) and two CTAs an SM, so one CTA's barrier waits hide behind the
  // other's work; d 64: eight warps.
  static constexpr int warps = D == 128 ? 4 : 8;
  static constexpr int threads = warps * 32;
  static constexpr int block_m = warps * 16;  // queries per CTA, 16 per warp
  static constexpr int block_n = 64;          // keys per tile
  static constexpr int stages = 2;            // K/V tiles in flight
  // CTAs per SM the registers are budgeted for (65536 / (threads x min_blocks) a thread).
  static constexpr int min_blocks = 2;
};

template <int D>
struct flash_shared {
  using cfg = flash_config<D>;
  alignas(128) std::uint16_t q[cfg::block_m * D];               // bf16 bits, swizzled rows
  alignas(128) std::uint16_t k[cfg::stages][cfg::block_n * D];
  alignas(128) std::uint16_t v[cfg::stages][cfg::block_n * D];
};

}  // namespace latte::cuda::kernels

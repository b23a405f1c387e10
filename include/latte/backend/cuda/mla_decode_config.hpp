#pragma once
// Constants and the shared-memory plan of the absorbed MLA decode kernel (mla_decode.cuh), the
// compile-time specialisation d 576 (512 latent + 64 rope) / dv 512 over pages of 64 tokens.
// sizeof(mla_decode_shared) is the dynamic shared memory a CTA takes.

#include <cstdint>

namespace latte::cuda::kernels {

struct mla_decode_config {
  static constexpr int head_dim_k = 576;  // c_kv (512) | k_rope (64)
  static constexpr int head_dim_v = 512;  // c_kv
  static constexpr int page_size = 64;    // tokens per page = keys per tile
  static constexpr int block_m = 64;      // query rows (s_q x heads, flattened) per CTA
  static constexpr int block_n = page_size;
  static constexpr int consumer_warps = 8;  // 2 row halves x 4 key (S) / column (PV) quarters
  static constexpr int threads = consumer_warps * 32;  // thread 0 also issues the TMA copies
  static constexpr int box_cols = 64;                        // bf16 per 128-byte swizzled box row
  static constexpr int k_boxes = head_dim_k / box_cols;      // 9
  static constexpr int stages = 2;                           // KV pages in flight
  static constexpr std::uint32_t tile_bytes = block_n * head_dim_k * 2;
  static constexpr std::uint32_t q_bytes = block_m * head_dim_k * 2;
};

// Tiles are stored as k_boxes boxes of [64 rows][64 bf16] with the TMA 128-byte swizzle.
struct mla_decode_shared {
  using cfg = mla_decode_config;
  alignas(1024) std::uint16_t q[cfg::k_boxes][cfg::block_m * cfg::box_cols];
  alignas(1024) std::uint16_t kv[cfg::stages][cfg::k_boxes][cfg::block_n * cfg::box_cols];
  alignas(1024) std::uint16_t p[cfg::block_m * cfg::block_n];  // probabilities, swizzled like a box
  float reduce[4][cfg::block_m];                                // partial row max / sums per quarter
  std::uint64_t full[cfg::stages];
  std::uint64_t empty[cfg::stages];
  std::uint64_t q_full;
};

static_assert(sizeof(mla_decode_shared) <= 232448, "MLA decode shared memory exceeds the Hopper opt-in limit");

}  // namespace latte::cuda::kernels

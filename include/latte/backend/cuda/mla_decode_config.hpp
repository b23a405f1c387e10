#pragma once
// Constants and the shared-memory plan of the absorbed MLA decode kernel (mla_decode.cuh), the
// compile-time specialisation d 576 (512 latent + 64 rope) / dv 512 over pages of 64 tokens.
// sizeof(mla_decode_shared<BlockM>) is the dynamic shared memory a CTA takes.

#include <cstdint>

namespace latte::cuda::kernels {

struct mla_decode_config {
  static constexpr int head_dim_k = 576;  // c_kv (512) | k_rope (64)
  static constexpr int head_dim_v = 512;  // c_kv
  static constexpr int page_size = 64;    // tokens per page = keys per tile
  static constexpr int block_n = page_size;
  static constexpr int warps = 8;
  static constexpr int threads = warps * 32;  // thread 0 also issues the TMA copies
  static constexpr int box_cols = 64;         // bf16 per 128-byte swizzled box row
  static constexpr int k_boxes = head_dim_k / box_cols;  // 9
  static constexpr int stages = 2;                       // KV pages in flight
  static constexpr std::uint32_t tile_bytes = block_n * head_dim_k * 2;
};

// The warp layout for a tile of BlockM query rows (s_q x heads, flattened): the eight warps are
// row_groups x key_groups; in S = Q K^T a warp owns 16 m_tiles rows x keys_per_warp keys, in
// P V the same rows x cols_per_warp latent columns. 64 rows for 64 and more heads; 16 and 32 for
// fewer, so that small head counts do not pay for padding rows.
template <int BlockM>
struct mla_tile {
  static_assert(BlockM == 16 || BlockM == 32 || BlockM == 64, "MLA decode row tiles are 16, 32 or 64");
  static constexpr int block_m = BlockM;
  static constexpr int row_groups = BlockM == 16 ? 1 : 2;
  static constexpr int key_groups = mla_decode_config::warps / row_groups;       // 8 or 4
  static constexpr int m_tiles = BlockM / (16 * row_groups);                     // 16-row mma tiles a warp
  static constexpr int keys_per_warp = mla_decode_config::block_n / key_groups;  // 8 or 16
  static constexpr int s_tiles = keys_per_warp / 8;                              // n8 tiles of S a warp
  static constexpr int cols_per_warp = mla_decode_config::head_dim_v / key_groups;  // 64 or 128
  static constexpr int v_tiles = cols_per_warp / 8;                              // n8 tiles of O a warp
  static constexpr std::uint32_t q_bytes = BlockM * mla_decode_config::head_dim_k * 2;
  static constexpr int q_box_bytes = BlockM * 128;
};

// Tiles are stored as k_boxes boxes of [rows][64 bf16] with the TMA 128-byte swizzle.
template <int BlockM>
struct mla_decode_shared {
  using cfg = mla_decode_config;
  alignas(1024) std::uint16_t kv[cfg::stages][cfg::k_boxes][cfg::block_n * cfg::box_cols];
  alignas(1024) std::uint16_t q[cfg::k_boxes][BlockM * cfg::box_cols];
  alignas(1024) std::uint16_t p[BlockM * cfg::block_n];  // probabilities, swizzled like a box
  float reduce[mla_tile<BlockM>::key_groups][BlockM];     // partial row max / sums per key group
  std::uint64_t full[cfg::stages];
  std::uint64_t empty[cfg::stages];
  std::uint64_t q_full;
};

static_assert(sizeof(mla_decode_shared<64>) <= 232448, "MLA decode shared memory exceeds the Hopper opt-in limit");

}  // namespace latte::cuda::kernels

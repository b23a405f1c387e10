#pragma once
// Absorbed MLA decode over a paged latent cache (SPEC.md section 3), specialised for d 576 /
// dv 512 and pages of 64 tokens (mla_decode_config.hpp).
//
// One CTA owns 64 query rows (16 or 32 when there are no more: mla_tile in the config) of one
// sequence (its s_q x heads rows flattened: row = j * heads + h) and one split of its pages. Thread 0 streams Q once and then each page
// ([64, 576] bf16, contiguous) with the bulk tensor copy engine into a two-stage ring of 128-byte
// swizzled tiles, paced by full/empty mbarriers. Eight consumer warps, as 2 row halves x 4
// quarters (64-row tiles), compute per page:
//   S = Q K^T            warp tile 32 rows x 16 keys, 36 k-steps of mma.sync m16n8k16 (bf16 -> f32)
//   online softmax       row max shared through shared memory, exp2 of log2-scaled scores
//   O = O * alpha + P V  warp tile 32 rows x 128 latent columns; V is the first 512 columns of
//                        the same page (the absorbed form's values alias its keys)
// Causal for MTP: query token j sees the cached tokens 0 .. seq_len - s_q + j. Splits write
// normalised partials and their log-sum-exp; mla_combine merges them.

#include <cuda.h>
#include <cuda_bf16.h>

#include <cstdint>

#include "common.cuh"
#include "mla_decode_config.hpp"
#include "ptx.cuh"

namespace latte::cuda::kernels {

struct mla_decode_params {
  int batch = 0, s_q = 0, heads = 0, rows = 0;  // rows = s_q * heads
  int pages_per_split = 0, splits = 1;
  const std::int32_t* page_table = nullptr;
  index_t page_table_stride = 0;
  const std::int32_t* seq_lens = nullptr;
  int num_pages = 0;
  float scale_log2 = 0.0f;
  bool causal = true;
  void* out = nullptr;          // [batch, rows, 512] (splits == 1)
  float* lse = nullptr;         // [batch, rows], optional
  float* o_partial = nullptr;   // [splits, batch, rows, 512]
  float* lse_partial = nullptr; // [splits, batch, rows]
  int* error_flag = nullptr;
};

// Byte offset of 16-byte chunk `chunk` (0..71) of row `row` in a tile of 64-column boxes of
// `box_bytes` each, with the 128-byte swizzle (tile base 1024-byte aligned).
__device__ inline std::uint32_t mla_tile_offset(int row, int chunk, int box_bytes = 64 * 128) {
  return static_cast<std::uint32_t>((chunk >> 3) * box_bytes + row * 128 + (((chunk & 7) ^ (row & 7)) << 4));
}

template <class Out>
__device__ inline void store_pair(Out* dst, float a, float b) {
  if constexpr (sizeof(Out) == 4) {
    *reinterpret_cast<float2*>(dst) = make_float2(a, b);
  } else {
    *reinterpret_cast<__nv_bfloat162*>(dst) = __floats2bfloat162_rn(a, b);
  }
}

__device__ inline void ldmatrix_x2(std::uint32_t (&r)[4], std::uint32_t address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(address));
}

template <class Out, int BlockM>
__global__ void __launch_bounds__(mla_decode_config::threads, 1)
    mla_decode(const __grid_constant__ CUtensorMap q_map, const __grid_constant__ CUtensorMap kv_map,
               const mla_decode_params p) {
  using cfg = mla_decode_config;
  using tile = mla_tile<BlockM>;
  constexpr int MT = tile::m_tiles, ST = tile::s_tiles, VT = tile::v_tiles;
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  auto& s = *reinterpret_cast<mla_decode_shared<BlockM>*>(smem_raw);

  const int mt = blockIdx.x, split = blockIdx.y, b = blockIdx.z;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int seq_len = p.seq_lens[b];
  const int n_pages = (seq_len + cfg::page_size - 1) / cfg::page_size;
  const int page_begin = split * p.pages_per_split;
  const int page_end = min(n_pages, page_begin + p.pages_per_split);
  const int tiles = max(0, page_end - page_begin);

  if (tid == 0) {
    if ((ptx::smem_address(smem_raw) & 1023u) != 0) atomicExch(p.error_flag, detail::error_smem_align);
    for (int st = 0; st < cfg::stages; ++st) {
      ptx::mbarrier_init(&s.full[st], 1);
      ptx::mbarrier_init(&s.empty[st], cfg::warps);
    }
    ptx::mbarrier_init(&s.q_full, 1);
    ptx::mbarrier_init_fence();
  }
  __syncthreads();

  // Thread 0 also produces: Q once and the first pages here, each later page as soon as the
  // warps hand its stage back (below). A separate producer warp would make nine warps, which
  // caps registers at 168 a thread (three warps on one SM sub-partition) and spills.
  auto issue_page = [&](int i) {
    const int st = i & 1;
    int page = p.page_table[b * p.page_table_stride + page_begin + i];
    if (page < 0 || page >= p.num_pages) {
      atomicExch(p.error_flag, detail::error_page);
      page = 0;
    }
    ptx::mbarrier_arrive_expect_tx(&s.full[st], cfg::tile_bytes);
    for (int j = 0; j < cfg::k_boxes; ++j)
      ptx::tma_load_2d(s.kv[st][j], &kv_map, j * cfg::box_cols, page * cfg::page_size, &s.full[st]);
  };
  if (tid == 0 && tiles > 0) {
    ptx::mbarrier_arrive_expect_tx(&s.q_full, tile::q_bytes);
    const int q_row = b * p.rows + mt * BlockM;
    for (int j = 0; j < cfg::k_boxes; ++j) ptx::tma_load_2d(s.q[j], &q_map, j * cfg::box_cols, q_row, &s.q_full);
    for (int i = 0; i < min(tiles, cfg::stages); ++i) issue_page(i);
  }
  __syncwarp();  // the .aligned ldmatrix / mma below need warp 0 converged again

  // Warp (rg, kg): rows 16 MT rg .. + 16 MT - 1; keys kg * keys_per_warp in S, latent columns
  // kg * cols_per_warp in P V. This thread's rows: lr(m, half) = 16 MT rg + 16 m + lane / 4 + 8 half.
  const int rg = warp / tile::key_groups, kg = warp % tile::key_groups;
  const int row0 = 16 * MT * rg;
  const int lane_row = lane >> 2, lane_col = 2 * (lane & 3);
  int limit[MT][2];  // visible keys of each row
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int row = mt * BlockM + row0 + 16 * m + lane_row + 8 * half;
      const int j = row / p.heads;
      limit[m][half] = p.causal ? max(0, min(seq_len, seq_len - p.s_q + j + 1)) : seq_len;
    }

  float o[MT][VT][4];
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int nt = 0; nt < VT; ++nt) o[m][nt][0] = o[m][nt][1] = o[m][nt][2] = o[m][nt][3] = 0.0f;
  float m_run[MT][2], l_run[MT][2];
#pragma unroll
  for (int m = 0; m < MT; ++m) {
    m_run[m][0] = m_run[m][1] = -INFINITY;
    l_run[m][0] = l_run[m][1] = 0.0f;
  }

  const std::uint32_t q_base = ptx::smem_address(s.q);
  const std::uint32_t p_base = ptx::smem_address(s.p);
  unsigned char* p_bytes = reinterpret_cast<unsigned char*>(s.p);
  if (tiles > 0) ptx::mbarrier_wait(&s.q_full, 0);

  for (int i = 0; i < tiles; ++i) {
    const int st = i & 1;
    ptx::mbarrier_wait(&s.full[st], (i >> 1) & 1);
    const std::uint32_t kv_base = ptx::smem_address(s.kv[st]);
    const int key0 = (page_begin + i) * cfg::page_size;
    const int valid = min(cfg::page_size, seq_len - key0);
    if (valid < cfg::page_size) {
      // Rows past the sequence hold whatever the page had; P is 0 there, but 0 x NaN is NaN.
      unsigned char* kv_tile = reinterpret_cast<unsigned char*>(s.kv[st]);
      const int chunks = (cfg::page_size - valid) * (cfg::head_dim_v / 8);
      for (int c = tid; c < chunks; c += cfg::threads) {
        const int row = valid + c / (cfg::head_dim_v / 8), chunk = c % (cfg::head_dim_v / 8);
        *reinterpret_cast<uint4*>(kv_tile + mla_tile_offset(row, chunk)) = make_uint4(0, 0, 0, 0);
      }
      // Every warp reads rows another thread cleared: the whole block waits for the clearing.
      // (`valid` is the same for the whole block, so every thread reaches this barrier.)
      ptx::named_barrier(1, cfg::threads);
    }

    // S = Q K^T for this warp's rows and keys.
    float sacc[MT][ST][4];
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
      for (int nt = 0; nt < ST; ++nt) sacc[m][nt][0] = sacc[m][nt][1] = sacc[m][nt][2] = sacc[m][nt][3] = 0.0f;
    {
      const int a_row = row0 + (lane & 15), a_chunk = lane >> 4;
      const int b_row = tile::keys_per_warp * kg + (lane & 7) + 8 * (lane >> 4), b_chunk = (lane >> 3) & 1;
#pragma unroll 6
      for (int ks = 0; ks < cfg::head_dim_k / 16; ++ks) {
        std::uint32_t a[MT][4], bf[4];
#pragma unroll
        for (int m = 0; m < MT; ++m)
          ptx::ldmatrix_x4(a[m], q_base + mla_tile_offset(a_row + 16 * m, 2 * ks + a_chunk, tile::q_box_bytes));
        if constexpr (ST == 2)
          ptx::ldmatrix_x4(bf, kv_base + mla_tile_offset(b_row, 2 * ks + b_chunk));
        else
          ldmatrix_x2(bf, kv_base + mla_tile_offset(tile::keys_per_warp * kg + (lane & 7), 2 * ks + b_chunk));
#pragma unroll
        for (int m = 0; m < MT; ++m)
#pragma unroll
          for (int nt = 0; nt < ST; ++nt) ptx::mma_bf16(sacc[m][nt], a[m], bf[2 * nt], bf[2 * nt + 1]);
      }
    }

    // Scale (log2 domain) and mask; partial row max over this warp's keys.
#pragma unroll
    for (int m = 0; m < MT; ++m) {
#pragma unroll
      for (int nt = 0; nt < ST; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int key = key0 + tile::keys_per_warp * kg + 8 * nt + lane_col + (e & 1);
          sacc[m][nt][e] = key < limit[m][e >> 1] ? sacc[m][nt][e] * p.scale_log2 : -INFINITY;
        }
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        float mx = -INFINITY;
#pragma unroll
        for (int nt = 0; nt < ST; ++nt) mx = fmaxf(mx, fmaxf(sacc[m][nt][2 * half], sacc[m][nt][2 * half + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        if ((lane & 3) == 0) s.reduce[kg][row0 + 16 * m + lane_row + 8 * half] = mx;
      }
    }
    ptx::named_barrier(1, cfg::threads);

    float alpha[MT][2];
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int lr = row0 + 16 * m + lane_row + 8 * half;
        float m_new = m_run[m][half];
#pragma unroll
        for (int g = 0; g < tile::key_groups; ++g) m_new = fmaxf(m_new, s.reduce[g][lr]);
        alpha[m][half] = m_run[m][half] == -INFINITY ? 0.0f : exp2f(m_run[m][half] - m_new);
        m_run[m][half] = m_new;
        const float ref = m_new == -INFINITY ? 0.0f : m_new;
        float sum = 0.0f;
#pragma unroll
        for (int nt = 0; nt < ST; ++nt) {
          const float p0 = exp2f(sacc[m][nt][2 * half] - ref);
          const float p1 = exp2f(sacc[m][nt][2 * half + 1] - ref);
          sum += p0 + p1;
          const int key_local = tile::keys_per_warp * kg + 8 * nt + lane_col;
          const std::uint32_t off =
              static_cast<std::uint32_t>(lr * 128 + (((key_local >> 3) ^ (lr & 7)) << 4) + (key_local & 7) * 2);
          *reinterpret_cast<std::uint32_t*>(p_bytes + off) = ptx::pack_bf16(p0, p1);
        }
        l_run[m][half] = l_run[m][half] * alpha[m][half] + sum;
      }
    ptx::named_barrier(1, cfg::threads);

    // O = O * alpha + P V for this warp's rows and latent columns.
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
      for (int nt = 0; nt < VT; ++nt) {
        o[m][nt][0] *= alpha[m][0];
        o[m][nt][1] *= alpha[m][0];
        o[m][nt][2] *= alpha[m][1];
        o[m][nt][3] *= alpha[m][1];
      }
    {
      const int a_row = row0 + (lane & 15), a_chunk = lane >> 4;
      const int v_row = (lane & 7) + 8 * ((lane >> 3) & 1);
      const int v_chunk = (tile::cols_per_warp / 8) * kg + (lane >> 4);
#pragma unroll
      for (int ks = 0; ks < cfg::block_n / 16; ++ks) {
        std::uint32_t a[MT][4];
#pragma unroll
        for (int m = 0; m < MT; ++m) {
          const int r = a_row + 16 * m;
          ptx::ldmatrix_x4(a[m], p_base + static_cast<std::uint32_t>(r * 128 + (((2 * ks + a_chunk) ^ (r & 7)) << 4)));
        }
#pragma unroll
        for (int ntp = 0; ntp < VT / 2; ++ntp) {
          std::uint32_t bf[4];
          ptx::ldmatrix_x4_trans(bf, kv_base + mla_tile_offset(16 * ks + v_row, v_chunk + 2 * ntp));
#pragma unroll
          for (int m = 0; m < MT; ++m) {
            ptx::mma_bf16(o[m][2 * ntp], a[m], bf[0], bf[1]);
            ptx::mma_bf16(o[m][2 * ntp + 1], a[m], bf[2], bf[3]);
          }
        }
      }
    }

    // Hand the stage back to the producer (zeroed rows were written through the generic proxy).
    if (valid < cfg::page_size) ptx::fence_proxy_async_shared();
    __syncwarp();
    if (lane == 0) ptx::mbarrier_arrive(&s.empty[st]);
    if (tid == 0 && i + cfg::stages < tiles) {
      ptx::mbarrier_wait(&s.empty[st], (i >> 1) & 1);
      issue_page(i + cfg::stages);
    }
    __syncwarp();
  }

  // Row sums over the quad and the key groups.
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float l = l_run[m][half];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      if ((lane & 3) == 0) s.reduce[kg][row0 + 16 * m + lane_row + 8 * half] = l;
    }
  ptx::named_barrier(1, cfg::threads);

#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int lr = row0 + 16 * m + lane_row + 8 * half;
      const int row = mt * BlockM + lr;
      if (row >= p.rows) continue;
      float total = 0.0f;
#pragma unroll
      for (int g = 0; g < tile::key_groups; ++g) total += s.reduce[g][lr];
      const float inv = total > 0.0f ? 1.0f / total : 0.0f;
      const float lse = total > 0.0f ? (m_run[m][half] + log2f(total)) * 0.6931471805599453f : -INFINITY;
      const index_t row_index = static_cast<index_t>(b) * p.rows + row;
      const int col0 = tile::cols_per_warp * kg + lane_col;
      if (p.splits == 1) {
        Out* out = static_cast<Out*>(p.out) + row_index * cfg::head_dim_v + col0;
#pragma unroll
        for (int nt = 0; nt < VT; ++nt) store_pair(out + 8 * nt, o[m][nt][2 * half] * inv, o[m][nt][2 * half + 1] * inv);
        if (p.lse != nullptr && kg == 0 && (lane & 3) == 0) p.lse[row_index] = lse;
      } else {
        const index_t part = static_cast<index_t>(split) * p.batch * p.rows + row_index;
        float* out = p.o_partial + part * cfg::head_dim_v + col0;
#pragma unroll
        for (int nt = 0; nt < VT; ++nt) store_pair(out + 8 * nt, o[m][nt][2 * half] * inv, o[m][nt][2 * half + 1] * inv);
        if (kg == 0 && (lane & 3) == 0) p.lse_partial[part] = lse;
      }
    }
}

// Merges the splits: out = sum_s exp(lse_s - lse) o_s with lse = log sum_s exp(lse_s).
// Grid (rows, batch); 128 threads, four latent columns each.
template <class Out>
__global__ void __launch_bounds__(128) mla_combine(const mla_decode_params p) {
  const int row = blockIdx.x, b = blockIdx.y;
  const index_t row_index = static_cast<index_t>(b) * p.rows + row;
  const index_t plane = static_cast<index_t>(p.batch) * p.rows;
  float peak = -INFINITY;
  for (int sp = 0; sp < p.splits; ++sp) peak = fmaxf(peak, p.lse_partial[sp * plane + row_index]);
  float total = 0.0f;
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  const int col = threadIdx.x * 4;
  if (peak != -INFINITY) {
    for (int sp = 0; sp < p.splits; ++sp) {
      const float l = p.lse_partial[sp * plane + row_index];
      if (l == -INFINITY) continue;
      const float w = __expf(l - peak);
      total += w;
      const float4 v = *reinterpret_cast<const float4*>(p.o_partial + (sp * plane + row_index) * 512 + col);
      acc[0] += w * v.x;
      acc[1] += w * v.y;
      acc[2] += w * v.z;
      acc[3] += w * v.w;
    }
  }
  const float inv = total > 0.0f ? 1.0f / total : 0.0f;
  Out* out = static_cast<Out*>(p.out) + row_index * 512 + col;
  store_pair(out, acc[0] * inv, acc[1] * inv);
  store_pair(out + 2, acc[2] * inv, acc[3] * inv);
  if (p.lse != nullptr && threadIdx.x == 0) p.lse[row_index] = total > 0.0f ? peak + logf(total) : -INFINITY;
}

}  // namespace latte::cuda::kernels

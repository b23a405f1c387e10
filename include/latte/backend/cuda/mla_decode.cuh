#pragma once
// Absorbed MLA decode over a paged latent cache (SPEC.md section 3), specialised for d 576 /
// dv 512 and pages of 64 tokens (mla_decode_config.hpp).
//
// One CTA owns 64 query rows (the s_q x heads rows of one sequence, flattened: row = j * heads +
// h) and one split of that sequence's pages. Thread 0 streams Q once and then each page
// ([64, 576] bf16, contiguous) with the bulk tensor copy engine into a two-stage ring of 128-byte
// swizzled tiles, paced by full/empty mbarriers. Eight consumer warps, as 2 row halves x 4
// quarters, compute per page:
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

// Byte offset of 16-byte chunk `chunk` (0..71) of row `row` in a tile of 64-column boxes with
// the 128-byte swizzle (tile base 1024-byte aligned).
__device__ inline std::uint32_t mla_tile_offset(int row, int chunk) {
  return static_cast<std::uint32_t>((chunk >> 3) * (64 * 128) + row * 128 + (((chunk & 7) ^ (row & 7)) << 4));
}

template <class Out>
__device__ inline void store_pair(Out* dst, float a, float b) {
  if constexpr (sizeof(Out) == 4) {
    *reinterpret_cast<float2*>(dst) = make_float2(a, b);
  } else {
    *reinterpret_cast<__nv_bfloat162*>(dst) = __floats2bfloat162_rn(a, b);
  }
}

template <class Out>
__global__ void __launch_bounds__(mla_decode_config::threads, 1)
    mla_decode(const __grid_constant__ CUtensorMap q_map, const __grid_constant__ CUtensorMap kv_map,
               const mla_decode_params p) {
  using cfg = mla_decode_config;
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  auto& s = *reinterpret_cast<mla_decode_shared*>(smem_raw);

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
      ptx::mbarrier_init(&s.empty[st], cfg::consumer_warps);
    }
    ptx::mbarrier_init(&s.q_full, 1);
    ptx::mbarrier_init_fence();
  }
  __syncthreads();

  // Thread 0 also produces: Q once and the first pages here, each later page as soon as the
  // consumers hand its stage back (below). A separate producer warp would make nine warps, which
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
    ptx::mbarrier_arrive_expect_tx(&s.q_full, cfg::q_bytes);
    const int q_row = b * p.rows + mt * cfg::block_m;
    for (int j = 0; j < cfg::k_boxes; ++j) ptx::tma_load_2d(s.q[j], &q_map, j * cfg::box_cols, q_row, &s.q_full);
    for (int i = 0; i < min(tiles, cfg::stages); ++i) issue_page(i);
  }
  __syncwarp();  // the .aligned ldmatrix / mma below need warp 0 converged again

  // Consumers. This thread's rows: local row lr(mt2, half) = 32 rh + 16 mt2 + lane / 4 + 8 half.
  const int rh = warp >> 2, quarter = warp & 3;
  const int lane_row = lane >> 2, lane_col = 2 * (lane & 3);
  int limit[2][2];  // visible keys of each row
#pragma unroll
  for (int mt2 = 0; mt2 < 2; ++mt2)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int row = mt * cfg::block_m + 32 * rh + 16 * mt2 + lane_row + 8 * half;
      const int j = row / p.heads;
      limit[mt2][half] = p.causal ? max(0, min(seq_len, seq_len - p.s_q + j + 1)) : seq_len;
    }

  float o[2][16][4];
#pragma unroll
  for (int mt2 = 0; mt2 < 2; ++mt2)
#pragma unroll
    for (int nt = 0; nt < 16; ++nt) o[mt2][nt][0] = o[mt2][nt][1] = o[mt2][nt][2] = o[mt2][nt][3] = 0.0f;
  float m_run[2][2], l_run[2][2];
#pragma unroll
  for (int mt2 = 0; mt2 < 2; ++mt2) {
    m_run[mt2][0] = m_run[mt2][1] = -INFINITY;
    l_run[mt2][0] = l_run[mt2][1] = 0.0f;
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
      unsigned char* tile = reinterpret_cast<unsigned char*>(s.kv[st]);
      const int chunks = (cfg::page_size - valid) * (cfg::head_dim_v / 8);
      for (int c = tid; c < chunks; c += cfg::consumer_warps * 32) {
        const int row = valid + c / (cfg::head_dim_v / 8), chunk = c % (cfg::head_dim_v / 8);
        *reinterpret_cast<uint4*>(tile + mla_tile_offset(row, chunk)) = make_uint4(0, 0, 0, 0);
      }
    }

    // S = Q K^T for rows 32 rh .. +31, keys 16 quarter .. +15.
    float sacc[2][2][4];
#pragma unroll
    for (int mt2 = 0; mt2 < 2; ++mt2)
#pragma unroll
      for (int nt = 0; nt < 2; ++nt) sacc[mt2][nt][0] = sacc[mt2][nt][1] = sacc[mt2][nt][2] = sacc[mt2][nt][3] = 0.0f;
    {
      const int a_row = 32 * rh + (lane & 15), a_chunk = lane >> 4;
      const int b_row = 16 * quarter + (lane & 7) + 8 * (lane >> 4), b_chunk = (lane >> 3) & 1;
#pragma unroll 6
      for (int ks = 0; ks < cfg::head_dim_k / 16; ++ks) {
        std::uint32_t a0[4], a1[4], bf[4];
        ptx::ldmatrix_x4(a0, q_base + mla_tile_offset(a_row, 2 * ks + a_chunk));
        ptx::ldmatrix_x4(a1, q_base + mla_tile_offset(a_row + 16, 2 * ks + a_chunk));
        ptx::ldmatrix_x4(bf, kv_base + mla_tile_offset(b_row, 2 * ks + b_chunk));
        ptx::mma_bf16(sacc[0][0], a0, bf[0], bf[1]);
        ptx::mma_bf16(sacc[0][1], a0, bf[2], bf[3]);
        ptx::mma_bf16(sacc[1][0], a1, bf[0], bf[1]);
        ptx::mma_bf16(sacc[1][1], a1, bf[2], bf[3]);
      }
    }

    // Scale (log2 domain) and mask; partial row max over this quarter's keys.
#pragma unroll
    for (int mt2 = 0; mt2 < 2; ++mt2) {
#pragma unroll
      for (int nt = 0; nt < 2; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int key = key0 + 16 * quarter + 8 * nt + lane_col + (e & 1);
          sacc[mt2][nt][e] = key < limit[mt2][e >> 1] ? sacc[mt2][nt][e] * p.scale_log2 : -INFINITY;
        }
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        float mx = fmaxf(fmaxf(sacc[mt2][0][2 * half], sacc[mt2][0][2 * half + 1]),
                         fmaxf(sacc[mt2][1][2 * half], sacc[mt2][1][2 * half + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        if ((lane & 3) == 0) s.reduce[quarter][32 * rh + 16 * mt2 + lane_row + 8 * half] = mx;
      }
    }
    ptx::named_barrier(1, cfg::consumer_warps * 32);

    float alpha[2][2];
#pragma unroll
    for (int mt2 = 0; mt2 < 2; ++mt2)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int lr = 32 * rh + 16 * mt2 + lane_row + 8 * half;
        const float m_new = fmaxf(fmaxf(m_run[mt2][half], fmaxf(s.reduce[0][lr], s.reduce[1][lr])),
                                  fmaxf(s.reduce[2][lr], s.reduce[3][lr]));
        alpha[mt2][half] = m_run[mt2][half] == -INFINITY ? 0.0f : exp2f(m_run[mt2][half] - m_new);
        m_run[mt2][half] = m_new;
        const float ref = m_new == -INFINITY ? 0.0f : m_new;
        float sum = 0.0f;
#pragma unroll
        for (int nt = 0; nt < 2; ++nt) {
          const float p0 = exp2f(sacc[mt2][nt][2 * half] - ref);
          const float p1 = exp2f(sacc[mt2][nt][2 * half + 1] - ref);
          sum += p0 + p1;
          const int key_local = 16 * quarter + 8 * nt + lane_col;
          const std::uint32_t off =
              static_cast<std::uint32_t>(lr * 128 + ((((key_local >> 3) ^ (lr & 7))) << 4) + (key_local & 7) * 2);
          *reinterpret_cast<std::uint32_t*>(p_bytes + off) = ptx::pack_bf16(p0, p1);
        }
        l_run[mt2][half] = l_run[mt2][half] * alpha[mt2][half] + sum;
      }
    ptx::named_barrier(1, cfg::consumer_warps * 32);

    // O = O * alpha + P V for rows 32 rh .. +31, latent columns 128 quarter .. +127.
#pragma unroll
    for (int mt2 = 0; mt2 < 2; ++mt2)
#pragma unroll
      for (int nt = 0; nt < 16; ++nt) {
        o[mt2][nt][0] *= alpha[mt2][0];
        o[mt2][nt][1] *= alpha[mt2][0];
        o[mt2][nt][2] *= alpha[mt2][1];
        o[mt2][nt][3] *= alpha[mt2][1];
      }
    {
      const int a_row = 32 * rh + (lane & 15), a_chunk = lane >> 4;
      const int v_row = (lane & 7) + 8 * ((lane >> 3) & 1), v_chunk = 16 * quarter + (lane >> 4);
#pragma unroll
      for (int ks = 0; ks < cfg::block_n / 16; ++ks) {
        std::uint32_t a0[4], a1[4];
        const std::uint32_t pa = static_cast<std::uint32_t>(a_row * 128 + (((2 * ks + a_chunk) ^ (a_row & 7)) << 4));
        const std::uint32_t pb =
            static_cast<std::uint32_t>((a_row + 16) * 128 + (((2 * ks + a_chunk) ^ ((a_row + 16) & 7)) << 4));
        ptx::ldmatrix_x4(a0, p_base + pa);
        ptx::ldmatrix_x4(a1, p_base + pb);
#pragma unroll
        for (int ntp = 0; ntp < 8; ++ntp) {
          std::uint32_t bf[4];
          ptx::ldmatrix_x4_trans(bf, kv_base + mla_tile_offset(16 * ks + v_row, v_chunk + 2 * ntp));
          ptx::mma_bf16(o[0][2 * ntp], a0, bf[0], bf[1]);
          ptx::mma_bf16(o[0][2 * ntp + 1], a0, bf[2], bf[3]);
          ptx::mma_bf16(o[1][2 * ntp], a1, bf[0], bf[1]);
          ptx::mma_bf16(o[1][2 * ntp + 1], a1, bf[2], bf[3]);
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

  // Row sums over the quad and the four key quarters.
#pragma unroll
  for (int mt2 = 0; mt2 < 2; ++mt2)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float l = l_run[mt2][half];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      if ((lane & 3) == 0) s.reduce[quarter][32 * rh + 16 * mt2 + lane_row + 8 * half] = l;
    }
  ptx::named_barrier(1, cfg::consumer_warps * 32);

#pragma unroll
  for (int mt2 = 0; mt2 < 2; ++mt2)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int lr = 32 * rh + 16 * mt2 + lane_row + 8 * half;
      const int row = mt * cfg::block_m + lr;
      if (row >= p.rows) continue;
      const float total = s.reduce[0][lr] + s.reduce[1][lr] + s.reduce[2][lr] + s.reduce[3][lr];
      const float inv = total > 0.0f ? 1.0f / total : 0.0f;
      const float lse = total > 0.0f ? (m_run[mt2][half] + log2f(total)) * 0.6931471805599453f : -INFINITY;
      const index_t row_index = static_cast<index_t>(b) * p.rows + row;
      if (p.splits == 1) {
        Out* out = static_cast<Out*>(p.out) + row_index * cfg::head_dim_v + 128 * quarter + lane_col;
#pragma unroll
        for (int nt = 0; nt < 16; ++nt)
          store_pair(out + 8 * nt, o[mt2][nt][2 * half] * inv, o[mt2][nt][2 * half + 1] * inv);
        if (p.lse != nullptr && quarter == 0 && (lane & 3) == 0) p.lse[row_index] = lse;
      } else {
        const index_t part = static_cast<index_t>(split) * p.batch * p.rows + row_index;
        float* out = p.o_partial + part * cfg::head_dim_v + 128 * quarter + lane_col;
#pragma unroll
        for (int nt = 0; nt < 16; ++nt)
          store_pair(out + 8 * nt, o[mt2][nt][2 * half] * inv, o[mt2][nt][2 * half + 1] * inv);
        if (quarter == 0 && (lane & 3) == 0) p.lse_partial[part] = lse;
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

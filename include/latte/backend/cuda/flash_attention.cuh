#pragma once
// Flash attention forward on tensor cores (mma.sync m16n8k16, bf16 operands, float32 softmax and
// accumulation), FlashAttention-2 style: a CTA owns block_m queries of one (batch, query head),
// each warp 16 of them with its Q fragments in registers; K and V tiles of block_n keys stream
// through a two-stage cp.async pipeline into XOR-swizzled shared memory; S = Q K^T stays in
// registers and becomes the A operand of P V directly. GQA: query head h reads KV head
// h / (hq / hk). Causal with a query offset (bottom-right alignment), tiles past the diagonal
// skipped.
//
//   q [batch, tq, hq, D], k/v [batch, tk, hk, D], out [batch, tq, hq, D]  (strides in elements)

#include <cuda_bf16.h>

#include <cstdint>

#include "flash_attention_config.hpp"
#include "ptx.cuh"

namespace latte::cuda::kernels {

struct flash_params {
  const __nv_bfloat16* q;
  const __nv_bfloat16* k;
  const __nv_bfloat16* v;
  __nv_bfloat16* o;
  index_t q_batch, q_row, q_head;
  index_t k_batch, k_row, k_head;
  index_t v_batch, v_row, v_head;
  index_t o_batch, o_row, o_head;
  int tq, tk, hq, hk;
  float scale_log2;  // softmax scale * log2(e)
  bool causal;
  index_t query_offset;
};

// Byte offset of 16-byte chunk `chunk` of row `row` in a tile of rows of D bf16 (D / 8 chunks),
// swizzled so that eight consecutive rows at one chunk hit distinct banks.
template <int D>
__device__ inline std::uint32_t flash_swizzle(int row, int chunk) {
  return static_cast<std::uint32_t>(row * D * 2 + ((chunk ^ (row & 7)) * 16));
}

template <int D>
__global__ void __launch_bounds__(flash_config<D>::threads, flash_config<D>::min_blocks) flash_forward(const flash_params p) {
  using cfg = flash_config<D>;
  constexpr int BM = cfg::block_m, BN = cfg::block_n, CH = D / 8;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  auto& s = *reinterpret_cast<flash_shared<D>*>(smem_raw);

  // Heavier (later) query blocks first under causal masking.
  const int m_block = p.causal ? static_cast<int>(gridDim.x - 1 - blockIdx.x) : static_cast<int>(blockIdx.x);
  const int h = blockIdx.y, b = blockIdx.z;
  const int kv_h = h / (p.hq / p.hk);
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int m0 = m_block * BM;

  const __nv_bfloat16* qg = p.q + b * p.q_batch + h * p.q_head;
  const __nv_bfloat16* kg = p.k + b * p.k_batch + kv_h * p.k_head;
  const __nv_bfloat16* vg = p.v + b * p.v_batch + kv_h * p.v_head;

  // Keys this block can see.
  index_t key_end = p.tk;
  if (p.causal) {
    const index_t last = p.query_offset + min(m0 + BM, p.tq);  // one past the last visible key
    key_end = max(index_t{0}, min(index_t{p.tk}, last));
  }
  const int n_tiles = static_cast<int>((key_end + BN - 1) / BN);

  const std::uint32_t q_base = ptx::smem_address(s.q);
  auto load_q = [&]() {
    for (int c = tid; c < BM * CH; c += cfg::threads) {
      const int row = c / CH, chunk = c % CH;
      const int token = m0 + row;
      const bool ok = token < p.tq;
      const __nv_bfloat16* src = qg + (ok ? token : 0) * p.q_row + chunk * 8;
      ptx::cp_async_16(q_base + flash_swizzle<D>(row, chunk), src, ok ? 16 : 0);
    }
  };
  auto load_kv = [&](int tile, int stage) {
    const std::uint32_t k_base = ptx::smem_address(s.k[stage]), v_base = ptx::smem_address(s.v[stage]);
    for (int c = tid; c < BN * CH; c += cfg::threads) {
      const int row = c / CH, chunk = c % CH;
      const int key = tile * BN + row;
      const bool ok = key < p.tk;
      const int kk = ok ? key : 0;
      ptx::cp_async_16(k_base + flash_swizzle<D>(row, chunk), kg + kk * p.k_row + chunk * 8, ok ? 16 : 0);
      ptx::cp_async_16(v_base + flash_swizzle<D>(row, chunk), vg + kk * p.v_row + chunk * 8, ok ? 16 : 0);
    }
  };

  load_q();
  if (n_tiles > 0) load_kv(0, 0);
  ptx::cp_async_commit();

  // Per thread: rows r0 = m0 + 16 warp + lane / 4 and r0 + 8.
  float o[D / 8][4];
#pragma unroll
  for (int j = 0; j < D / 8; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.0f;
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.0f, 0.0f};
  std::uint32_t qf[D / 16][4];
  const int row_in_block = warp * 16 + lane / 4;
  const index_t q_pos0 = p.query_offset + m0 + row_in_block;  // absolute position of row r0

  for (int tile = 0; tile < n_tiles; ++tile) {
    const int stage = tile & 1;
    __syncthreads();
    if (tile + 1 < n_tiles) load_kv(tile + 1, stage ^ 1);
    ptx::cp_async_commit();
    ptx::cp_async_wait<1>();
    __syncthreads();

    if (tile == 0) {
#pragma unroll
      for (int ks = 0; ks < D / 16; ++ks)
        ptx::ldmatrix_x4(qf[ks], q_base + flash_swizzle<D>(warp * 16 + (lane % 16), ks * 2 + lane / 16));
    }

    // S = Q K^T: [16, BN] per warp.
    float sacc[BN / 8][4];
#pragma unroll
    for (int j = 0; j < BN / 8; ++j) sacc[j][0] = sacc[j][1] = sacc[j][2] = sacc[j][3] = 0.0f;
    const std::uint32_t k_base = ptx::smem_address(s.k[stage]);
#pragma unroll
    for (int ks = 0; ks < D / 16; ++ks) {
#pragma unroll
      for (int jp = 0; jp < BN / 16; ++jp) {
        std::uint32_t bf[4];
        const int key = jp * 16 + (lane % 8) + 8 * (lane / 16);
        ptx::ldmatrix_x4(bf, k_base + flash_swizzle<D>(key, ks * 2 + (lane / 8) % 2));
        ptx::mma_bf16(sacc[2 * jp], qf[ks], bf[0], bf[1]);
        ptx::mma_bf16(sacc[2 * jp + 1], qf[ks], bf[2], bf[3]);
      }
    }

    // Scale into the log2 domain, mask, online softmax.
    const int key0 = tile * BN;
    const bool needs_mask = key0 + BN > p.tk || (p.causal && key0 + BN - 1 > p.query_offset + m0);
#pragma unroll
    for (int j = 0; j < BN / 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float v = sacc[j][e] * p.scale_log2;
        if (needs_mask) {
          const index_t key = key0 + j * 8 + 2 * (lane % 4) + (e % 2);
          const index_t pos = q_pos0 + 8 * (e / 2);
          if (key >= p.tk || (p.causal && key > pos)) v = -INFINITY;
        }
        sacc[j][e] = v;
      }
    float correction[2];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float mx = row_max[half];
#pragma unroll
      for (int j = 0; j < BN / 8; ++j) mx = fmaxf(mx, fmaxf(sacc[j][2 * half], sacc[j][2 * half + 1]));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      correction[half] = row_max[half] == -INFINITY ? 0.0f : exp2f(row_max[half] - mx);
      row_max[half] = mx;
      const float ref = mx == -INFINITY ? 0.0f : mx;
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < BN / 8; ++j) {
        sacc[j][2 * half] = exp2f(sacc[j][2 * half] - ref);
        sacc[j][2 * half + 1] = exp2f(sacc[j][2 * half + 1] - ref);
        sum += sacc[j][2 * half] + sacc[j][2 * half + 1];
      }
      row_sum[half] = row_sum[half] * correction[half] + sum;
    }
#pragma unroll
    for (int j = 0; j < D / 8; ++j) {
      o[j][0] *= correction[0];
      o[j][1] *= correction[0];
      o[j][2] *= correction[1];
      o[j][3] *= correction[1];
    }

    // O += P V, P straight from the S accumulators.
    const std::uint32_t v_base = ptx::smem_address(s.v[stage]);
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) {
      std::uint32_t a[4];
      a[0] = ptx::pack_bf16(sacc[2 * kk][0], sacc[2 * kk][1]);
      a[1] = ptx::pack_bf16(sacc[2 * kk][2], sacc[2 * kk][3]);
      a[2] = ptx::pack_bf16(sacc[2 * kk + 1][0], sacc[2 * kk + 1][1]);
      a[3] = ptx::pack_bf16(sacc[2 * kk + 1][2], sacc[2 * kk + 1][3]);
#pragma unroll
      for (int jp = 0; jp < D / 16; ++jp) {
        std::uint32_t bf[4];
        const int key = kk * 16 + (lane % 8) + 8 * ((lane / 8) % 2);
        ptx::ldmatrix_x4_trans(bf, v_base + flash_swizzle<D>(key, jp * 2 + lane / 16));
        ptx::mma_bf16(o[2 * jp], a, bf[0], bf[1]);
        ptx::mma_bf16(o[2 * jp + 1], a, bf[2], bf[3]);
      }
    }
  }
  ptx::cp_async_wait<0>();

  // Epilogue: normalise, write bf16.
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    float total = row_sum[half];
    total += __shfl_xor_sync(0xffffffffu, total, 1);
    total += __shfl_xor_sync(0xffffffffu, total, 2);
    const float inv = total > 0.0f ? 1.0f / total : 0.0f;
    const int token = m0 + row_in_block + 8 * half;
    if (token >= p.tq) continue;
    __nv_bfloat16* out = p.o + b * p.o_batch + token * p.o_row + h * p.o_head;
#pragma unroll
    for (int j = 0; j < D / 8; ++j) {
      const int col = j * 8 + 2 * (lane % 4);
      *reinterpret_cast<__nv_bfloat162*>(out + col) =
          __floats2bfloat162_rn(o[j][2 * half] * inv, o[j][2 * half + 1] * inv);
    }
  }
}

}  // namespace latte::cuda::kernels

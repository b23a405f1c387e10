#pragma once
// Scaled dot-product attention, general form: float32 q [tq, hq, dk], k [tk, hk, dk],
// v [tk, hk, dv], out [tq, hq, dv] with any strides on the two outer dimensions (so V may alias
// K, as MLA's absorbed form does with dk 576 / dv 512). Query head h reads KV head h / (hq / hk).
// Flash style: one warp per (query, head, KV split) walks its keys with an online softmax (running
// max, running sum, unnormalised accumulator); no tq x tk matrix exists. When there are few
// (query, head) pairs, as in decode, the keys are split and the partials merged by their
// log-sum-exp. Float32 arithmetic: this is the fallback and the reference of the fused kernels.

#include <cstdint>

#include "common.cuh"

namespace latte::cuda::kernels {

struct attention_params {
  const float* q;
  index_t qs0, qs1;
  const float* k;
  index_t ks0, ks1;
  const float* v;
  index_t vs0, vs1;
  float* out;
  index_t os0, os1;
  index_t tq, tk, hq, hk, dk, dv;
  float scale;
  bool causal;
  index_t query_offset;
  index_t splits, span;  // keys [split * span, (split + 1) * span) per split
  float* partial_acc;    // [tq * hq * splits, dv] when splits > 1
  float* partial_max;    // [tq * hq * splits]
  float* partial_sum;
};

// KC: 32-wide chunks of dk held per lane; VC: of dv.
template <int KC, int VC>
static __global__ void __launch_bounds__(128) attention_rows(attention_params p) {
  const index_t warp_global = static_cast<index_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (warp_global >= p.tq * p.hq * p.splits) return;
  const index_t split = warp_global % p.splits;
  const index_t pair = warp_global / p.splits;
  const index_t i = pair / p.hq, h = pair % p.hq;
  const index_t g = h / (p.hq / p.hk);

  index_t visible = p.tk;
  if (p.causal) visible = max(index_t{0}, min(p.tk, p.query_offset + i + 1));
  const index_t begin = min(visible, split * p.span), end = min(visible, (split + 1) * p.span);

  float q[KC];
  const float* qrow = p.q + i * p.qs0 + h * p.qs1;
#pragma unroll
  for (int c = 0; c < KC; ++c) {
    const index_t d = lane + 32 * c;
    q[c] = d < p.dk ? qrow[d] * p.scale : 0.0f;
  }
  float acc[VC];
#pragma unroll
  for (int c = 0; c < VC; ++c) acc[c] = 0.0f;
  float running_max = -INFINITY, running_sum = 0.0f;

  for (index_t t = begin; t < end; ++t) {
    const float* krow = p.k + t * p.ks0 + g * p.ks1;
    float dot = 0.0f;
#pragma unroll
    for (int c = 0; c < KC; ++c) {
      const index_t d = lane + 32 * c;
      if (d < p.dk) dot += q[c] * krow[d];
    }
    const float s = detail::warp_sum(dot);
    const float* vrow = p.v + t * p.vs0 + g * p.vs1;
    float weight;
    if (s > running_max) {
      const float correction = expf(running_max - s);  // 0 on the first key
      running_sum = running_sum * correction + 1.0f;
#pragma unroll
      for (int c = 0; c < VC; ++c) acc[c] *= correction;
      running_max = s;
      weight = 1.0f;
    } else {
      weight = expf(s - running_max);
      running_sum += weight;
    }
#pragma unroll
    for (int c = 0; c < VC; ++c) {
      const index_t d = lane + 32 * c;
      if (d < p.dv) acc[c] += weight * vrow[d];
    }
  }

  if (p.splits == 1) {
    float* o = p.out + i * p.os0 + h * p.os1;
    const float inv = running_sum > 0.0f ? 1.0f / running_sum : 0.0f;
#pragma unroll
    for (int c = 0; c < VC; ++c) {
      const index_t d = lane + 32 * c;
      if (d < p.dv) o[d] = acc[c] * inv;
    }
  } else {
    float* o = p.partial_acc + warp_global * p.dv;
#pragma unroll
    for (int c = 0; c < VC; ++c) {
      const index_t d = lane + 32 * c;
      if (d < p.dv) o[d] = acc[c];
    }
    if (lane == 0) {
      p.partial_max[warp_global] = running_max;
      p.partial_sum[warp_global] = running_sum;
    }
  }
}

// Merges the splits of one (query, head) pair per block.
static __global__ void attention_merge(attention_params p) {
  const index_t pair = blockIdx.x;
  const index_t i = pair / p.hq, h = pair % p.hq;
  float peak = -INFINITY;
  for (index_t s = 0; s < p.splits; ++s)
    if (p.partial_sum[pair * p.splits + s] > 0.0f) peak = fmaxf(peak, p.partial_max[pair * p.splits + s]);
  float total = 0.0f;
  for (index_t s = 0; s < p.splits; ++s) {
    const float sum = p.partial_sum[pair * p.splits + s];
    if (sum > 0.0f) total += sum * expf(p.partial_max[pair * p.splits + s] - peak);
  }
  float* o = p.out + i * p.os0 + h * p.os1;
  for (index_t d = threadIdx.x; d < p.dv; d += blockDim.x) {
    float value = 0.0f;
    for (index_t s = 0; s < p.splits; ++s) {
      const float sum = p.partial_sum[pair * p.splits + s];
      if (sum > 0.0f) value += p.partial_acc[(pair * p.splits + s) * p.dv + d] * expf(p.partial_max[pair * p.splits + s] - peak);
    }
    o[d] = total > 0.0f ? value / total : 0.0f;
  }
}

}  // namespace latte::cuda::kernels

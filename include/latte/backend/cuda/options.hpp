#pragma once
// Options and argument structs of the CUDA backend's own entry points (the fused kernels that
// are primitives of this backend only). Plain C++: includable from any translation unit.

#include <cstdint>

#include "../../core/bf16.hpp"
#include "../../core/extents.hpp"
#include "../../core/tensor_view.hpp"
#include "../../core/weight_view.hpp"

namespace latte::cuda {

// Operand precision of the matrix work (gemm, gemm_batched, attention's tensor-core path, MoE).
// Softmax, norms, reductions and accumulation are float32 in every mode.
enum class compute_precision : std::uint8_t {
  // bf16 operands on tensor cores, float32 accumulation; GEMM activations (and weights that are
  // not bf16 already, such as fp8 with block scales) enter as a hi + lo pair of bf16 values, so
  // a GEMM costs two (three) bf16 products and lands near float32 accuracy (~1e-5). Free in
  // decode, where GEMMs are bound by reading the weights; 2-3x the tensor-core work in prefill.
  // The default: it keeps a mixture-of-experts model's routing where float32 puts it.
  bf16,
  // One bf16 product per GEMM (activations and weights rounded once to bf16): the fastest, with
  // ~2^-9 relative error per GEMM, enough to flip near-tied expert choices (about 1e-1 on the
  // tiny oracle's logits).
  bf16_single_pass,
  // float32 operands and arithmetic throughout (no TF32): proves the oracle to 1e-4.
  f32,
};

struct backend_options {
  compute_precision compute = compute_precision::bf16;
  int device = 0;  // CUDA device ordinal
};

// A paged latent cache of absorbed MLA (SPEC.md section 3), as FlashMLA lays it out: pages of
// `page_size` (64) tokens, each token 576 bf16 values = [c_kv (512) | roped k_rope (64)], and a
// page table per sequence. All pointers are device memory.
//
//   pages        [num_pages, 64, 576]  bf16
//   page_table   [batch, pages_per_seq] i32   (page of token t of sequence b: page_table[b][t / 64])
//   seq_lens     [batch] i32                  (cached tokens, the new ones included)
struct paged_latent_cache {
  const bf16* pages = nullptr;
  index_t num_pages = 0;
  const std::int32_t* page_table = nullptr;
  index_t pages_per_seq = 0;  // row stride of page_table
  const std::int32_t* seq_lens = nullptr;
  index_t batch = 0;
  index_t max_seq_len = 0;    // host-side bound on seq_lens, picks the KV split (no device sync)
};

// Absorbed MLA decode over a paged latent cache.
//   q    [batch, s_q, heads, 576]  bf16   (q~ = W_UK^T q_nope (512) | roped q_rope (64))
//   out  [batch, s_q, heads, 512]  f32 or bf16 (o~, the latent output before W_UV)
//   lse  [batch, s_q, heads]       f32, optional (natural log-sum-exp of the scaled scores)
// Query token j of sequence b sits at position seq_len(b) - s_q + j and, when causal, sees the
// cached tokens 0 .. seq_len(b) - s_q + j (MTP verification: s_q > 1).
struct mla_decode_options {
  float scale = 1.0f;
  bool causal = true;
  index_t num_splits = 0;  // KV splits per sequence; 0 chooses from the shape and the device
};

// Mixture-of-experts experts through token permutation and grouped GEMMs (SPEC.md section 5):
//   y[t] (+)= sum_j weights[t, j] * Expert_{experts[t, j]}(x[t]),
//   Expert_e(x) = W_down,e (silu(W_gate,e x) * W_up,e x)
// Expert e's weights are gate[e], up[e] ([inter, hidden]) and down[e] ([hidden, inter]), views of
// device memory of any storage type (bf16 is the fast path).
struct moe_experts_options {
  bool accumulate = false;  // y += ... instead of y = ...
};

}  // namespace latte::cuda

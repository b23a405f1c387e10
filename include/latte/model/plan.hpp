#pragma once
// model_plan: what a DeepSeek-V3-family model costs, from its config alone (SPEC.md section 7),
// allocating no weights:
//
//   model_tensors(c)       every tensor the checkpoint stores (hub names and shapes, SPEC.md 8),
//                          with its role; MTP modules on request
//   make_plan(c, options)  parameters per component and in total, parameters activated per
//                          token, bytes of weights in bf16 and in the fp8 block format, KV-cache
//                          bytes per token beside MHA / GQA / MQA of the same width, FLOPs per
//                          token for prefill and decode, and the memory a context and batch need
//   to_json(plan)          the same as one JSON object
//
// Conventions (the ones SPEC.md section 7 uses):
// - A parameter is one stored number of the checkpoint: linear weights, norm weights, the router
//   gate and its selection bias (e_score_correction_bias). fp8 block scales are storage, not
//   parameters.
// - Activated per token: every parameter one token's forward pass reads, with the embedding
//   matrix counted whole (as the published "37B activated" does): embedding, each layer's
//   attention and norms, the dense MLPs, each MoE layer's router, shared experts and
//   num_experts_per_tok routed experts, the final norm and lm_head. MTP not included.
// - MTP module k (layer num_hidden_layers + k in the checkpoint, SPEC.md section 6): one full
//   decoder layer (MLA + MoE) + enorm + hnorm + eh_proj [hidden, 2 hidden] + shared_head.norm.
//   Its embedding and head are the main model's ("unique" parameters); the hub checkpoint also
//   stores copies of both (embed_tokens, shared_head.head), counted in `mtp_params_stored`.
// - fp8 layout (SPEC.md section 8): every linear weight of attention, dense MLP, routed and
//   shared experts is F8_E4M3 with an F32 scale_inv per 128 x 128 block; norms, embedding,
//   lm_head, the router gate and eh_proj stay BF16; the selection bias is F32. The bf16 layout
//   stores everything BF16 but the F32 selection bias.
// - FLOPs: 2 per multiply-accumulate of every linear layer a token runs (router, attention
//   projections, activated experts, lm_head) plus attention's products by attention/cost.hpp's
//   convention; norms, RoPE, softmax and SwiGLU's elementwise work are not counted. Every token
//   goes through lm_head. Prefill: the average token of a causal prompt of `context` tokens;
//   decode: one token attending `context` keys (itself included).

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../attention/cost.hpp"
#include "../attention/gqa_shape.hpp"
#include "../attention/mla_form.hpp"
#include "../attention/mla_shape.hpp"
#include "../core/dtype.hpp"
#include "../core/error.hpp"
#include "config.hpp"
#include "names.hpp"

namespace latte::model {

// What a tensor is, which decides how it is stored and when a token reads it.
enum class tensor_role : std::uint8_t {
  embedding,           // model.embed_tokens.weight [vocab, hidden]
  lm_head,             // lm_head.weight [vocab, hidden]
  final_norm,          // model.norm.weight [hidden]
  layer_norm,          // input_layernorm, post_attention_layernorm [hidden]
  attention,           // MLA linear weights: q_a_proj, q_b_proj (or q_proj), kv_a_proj_with_mqa, kv_b_proj, o_proj
  attention_norm,      // q_a_layernorm [q_lora], kv_a_layernorm [kv_lora]
  dense_mlp,           // gate_proj, up_proj, down_proj of a dense layer
  router,              // mlp.gate.weight [experts, hidden]
  router_bias,         // mlp.gate.e_score_correction_bias [experts], F32
  routed_expert,       // mlp.experts.{e}.{gate,up,down}_proj
  shared_expert,       // mlp.shared_experts.{gate,up,down}_proj
  mtp_norm,            // enorm, hnorm, shared_head.norm [hidden]
  mtp_projection,      // eh_proj [hidden, 2 hidden]
  mtp_embedding_copy,  // model.layers.{L}.embed_tokens.weight, a copy of the embedding
  mtp_head_copy,       // model.layers.{L}.shared_head.head.weight, a copy of lm_head
};

inline const char* name_of(tensor_role r) noexcept {
  switch (r) {
    case tensor_role::embedding: return "embedding";
    case tensor_role::lm_head: return "lm_head";
    case tensor_role::final_norm: return "final_norm";
    case tensor_role::layer_norm: return "layer_norm";
    case tensor_role::attention: return "attention";
    case tensor_role::attention_norm: return "attention_norm";
    case tensor_role::dense_mlp: return "dense_mlp";
    case tensor_role::router: return "router";
    case tensor_role::router_bias: return "router_bias";
    case tensor_role::routed_expert: return "routed_expert";
    case tensor_role::shared_expert: return "shared_expert";
    case tensor_role::mtp_norm: return "mtp_norm";
    case tensor_role::mtp_projection: return "mtp_projection";
    case tensor_role::mtp_embedding_copy: return "mtp_embedding_copy";
    case tensor_role::mtp_head_copy: return "mtp_head_copy";
  }
  return "?";
}

// How the weights are stored: all bf16, or DeepSeek's fp8 with 128 x 128 block scales.
enum class weight_format : std::uint8_t { bf16, fp8_blocks };

// Whether the fp8 layout stores tensors of this role as F8_E4M3 with block scales.
constexpr bool is_fp8_quantized(tensor_role r) noexcept {
  return r == tensor_role::attention || r == tensor_role::dense_mlp || r == tensor_role::routed_expert ||
         r == tensor_role::shared_expert;
}

// The element type of a tensor of role `r` in `format`.
constexpr dtype storage_type(tensor_role r, weight_format format) noexcept {
  if (r == tensor_role::router_bias) return dtype::f32;
  if (format == weight_format::fp8_blocks && is_fp8_quantized(r)) return dtype::f8_e4m3;
  return dtype::bf16;
}

// One stored tensor: [rows, cols] for a matrix, [cols] (rows = 1, rank 1) for a vector.
struct tensor_spec {
  std::string name;
  index_t rows = 1;
  index_t cols = 0;
  int rank = 2;
  tensor_role role = tensor_role::attention;
  index_t layer = -1;   // -1 outside the decoder layers
  index_t expert = -1;  // routed experts only
  bool mtp = false;     // part of a multi-token-prediction module

  index_t params() const noexcept { return rows * cols; }
  std::vector<index_t> shape() const { return rank == 1 ? std::vector<index_t>{cols} : std::vector<index_t>{rows, cols}; }
  // fp8 block scales [ceil(rows / block), ceil(cols / block)] (fp8 layout, quantised roles only).
  index_t scale_rows(index_t block) const noexcept { return (rows + block - 1) / block; }
  index_t scale_cols(index_t block) const noexcept { return (cols + block - 1) / block; }
  // Bytes the checkpoint holds for this tensor in `format`, its block scales included.
  std::size_t stored_bytes(weight_format format, index_t block = 128) const noexcept {
    const dtype t = storage_type(role, format);
    std::size_t bytes = static_cast<std::size_t>(params()) * size_of(t);
    if (t == dtype::f8_e4m3) bytes += static_cast<std::size_t>(scale_rows(block) * scale_cols(block)) * sizeof(float);
    return bytes;
  }
};

namespace detail {

inline void add_tensor(std::vector<tensor_spec>& out, std::string name, index_t rows, index_t cols, tensor_role role,
                       index_t layer, bool mtp, index_t expert = -1) {
  out.push_back({std::move(name), rows, cols, 2, role, layer, expert, mtp});
}
inline void add_vector(std::vector<tensor_spec>& out, std::string name, index_t n, tensor_role role, index_t layer,
                       bool mtp) {
  out.push_back({std::move(name), 1, n, 1, role, layer, -1, mtp});
}

// The tensors of decoder layer `i` (its index in the checkpoint), MoE when `moe`.
inline void add_layer(std::vector<tensor_spec>& out, const config& c, index_t i, bool moe, bool mtp) {
  const index_t h = c.hidden_size, heads = c.num_attention_heads;
  add_vector(out, names::input_norm(i), h, tensor_role::layer_norm, i, mtp);
  add_vector(out, names::post_attention_norm(i), h, tensor_role::layer_norm, i, mtp);
  if (c.q_lora_rank > 0) {
    add_tensor(out, names::attn(i, "q_a_proj"), c.q_lora_rank, h, tensor_role::attention, i, mtp);
    add_vector(out, names::attn(i, "q_a_layernorm"), c.q_lora_rank, tensor_role::attention_norm, i, mtp);
    add_tensor(out, names::attn(i, "q_b_proj"), heads * c.qk_head_dim(), c.q_lora_rank, tensor_role::attention, i, mtp);
  } else {
    add_tensor(out, names::attn(i, "q_proj"), heads * c.qk_head_dim(), h, tensor_role::attention, i, mtp);
  }
  add_tensor(out, names::attn(i, "kv_a_proj_with_mqa"), c.kv_lora_rank + c.qk_rope_head_dim, h, tensor_role::attention,
             i, mtp);
  add_vector(out, names::attn(i, "kv_a_layernorm"), c.kv_lora_rank, tensor_role::attention_norm, i, mtp);
  add_tensor(out, names::attn(i, "kv_b_proj"), heads * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank,
             tensor_role::attention, i, mtp);
  add_tensor(out, names::attn(i, "o_proj"), h, heads * c.v_head_dim, tensor_role::attention, i, mtp);
  if (!moe) {
    add_tensor(out, names::mlp(i, "gate_proj"), c.intermediate_size, h, tensor_role::dense_mlp, i, mtp);
    add_tensor(out, names::mlp(i, "up_proj"), c.intermediate_size, h, tensor_role::dense_mlp, i, mtp);
    add_tensor(out, names::mlp(i, "down_proj"), h, c.intermediate_size, tensor_role::dense_mlp, i, mtp);
    return;
  }
  add_tensor(out, names::gate(i), c.n_routed_experts, h, tensor_role::router, i, mtp);
  add_vector(out, names::gate_bias(i), c.n_routed_experts, tensor_role::router_bias, i, mtp);
  for (index_t e = 0; e < c.n_routed_experts; ++e) {
    add_tensor(out, names::expert(i, e, "gate_proj"), c.moe_intermediate_size, h, tensor_role::routed_expert, i, mtp, e);
    add_tensor(out, names::expert(i, e, "up_proj"), c.moe_intermediate_size, h, tensor_role::routed_expert, i, mtp, e);
    add_tensor(out, names::expert(i, e, "down_proj"), h, c.moe_intermediate_size, tensor_role::routed_expert, i, mtp, e);
  }
  if (c.n_shared_experts > 0) {
    const index_t inter = c.moe_intermediate_size * c.n_shared_experts;
    add_tensor(out, names::shared_expert(i, "gate_proj"), inter, h, tensor_role::shared_expert, i, mtp);
    add_tensor(out, names::shared_expert(i, "up_proj"), inter, h, tensor_role::shared_expert, i, mtp);
    add_tensor(out, names::shared_expert(i, "down_proj"), h, inter, tensor_role::shared_expert, i, mtp);
  }
}

}  // namespace detail

// The tensors of multi-token-prediction module k (0-based), stored as checkpoint layer
// num_hidden_layers + k (SPEC.md section 6): its decoder layer (MoE as is_moe_layer places it),
// enorm, hnorm, eh_proj, shared_head.norm, and the copies of the embedding and head.
inline std::vector<tensor_spec> mtp_module_tensors(const config& c, index_t k) {
  require(k >= 0, "mtp_module_tensors: module index must not be negative, got ", k);
  const index_t i = c.num_hidden_layers + k, h = c.hidden_size;
  const std::string prefix = names::layer(i);
  std::vector<tensor_spec> out;
  detail::add_vector(out, prefix + "enorm.weight", h, tensor_role::mtp_norm, i, true);
  detail::add_vector(out, prefix + "hnorm.weight", h, tensor_role::mtp_norm, i, true);
  detail::add_tensor(out, prefix + "eh_proj.weight", h, 2 * h, tensor_role::mtp_projection, i, true);
  detail::add_vector(out, prefix + "shared_head.norm.weight", h, tensor_role::mtp_norm, i, true);
  detail::add_tensor(out, prefix + "embed_tokens.weight", c.vocab_size, h, tensor_role::mtp_embedding_copy, i, true);
  detail::add_tensor(out, prefix + "shared_head.head.weight", c.vocab_size, h, tensor_role::mtp_head_copy, i, true);
  detail::add_layer(out, c, i, c.is_moe_layer(i), true);
  return out;
}

// Every tensor of the checkpoint, in the order embedding, layers, final norm, lm_head, then the
// MTP modules when `include_mtp` (num_nextn_predict_layers of them).
inline std::vector<tensor_spec> model_tensors(const config& c, bool include_mtp = false) {
  c.validate();
  std::vector<tensor_spec> out;
  detail::add_tensor(out, names::embed, c.vocab_size, c.hidden_size, tensor_role::embedding, -1, false);
  for (index_t i = 0; i < c.num_hidden_layers; ++i) detail::add_layer(out, c, i, c.is_moe_layer(i), false);
  detail::add_vector(out, names::final_norm, c.hidden_size, tensor_role::final_norm, -1, false);
  detail::add_tensor(out, names::lm_head, c.vocab_size, c.hidden_size, tensor_role::lm_head, -1, false);
  if (include_mtp)
    for (index_t k = 0; k < c.num_nextn_predict_layers; ++k) {
      std::vector<tensor_spec> module = mtp_module_tensors(c, k);
      out.insert(out.end(), std::make_move_iterator(module.begin()), std::make_move_iterator(module.end()));
    }
  return out;
}

struct plan_options {
  index_t context = 4096;              // prompt length for prefill, visible keys for decode, cache length
  index_t batch = 1;                   // sequences held at once (cache memory)
  dtype cache_storage = dtype::bf16;   // element type of the KV cache in the table's bytes
  index_t gqa_kv_heads = 8;            // the GQA comparison's KV heads (gcd with the head count)
  index_t fp8_block = 128;             // fp8 block size
};

// Parameters of one unit of each component (SPEC.md section 7's table).
struct component_params {
  index_t attention = 0;          // MLA per layer: linear weights + q_a / kv_a norms
  index_t attention_norms = 0;    // of which the q_a / kv_a norms
  index_t layer_norms = 0;        // input + post-attention norms per layer
  index_t dense_mlp = 0;          // one dense layer's MLP
  index_t routed_expert = 0;      // one routed expert
  index_t shared_experts = 0;     // one MoE layer's shared experts
  index_t router = 0;             // one MoE layer's gate weight + selection bias
  index_t embedding = 0;
  index_t lm_head = 0;
  index_t final_norm = 0;
  index_t mtp_extra = 0;          // one MTP module beyond its decoder layer: enorm, hnorm, eh_proj, shared_head.norm
};

// Cache of one attention variant, per token.
struct cache_variant {
  std::string name;
  index_t values_per_layer = 0;   // cached numbers per token per layer
  index_t bytes_per_token = 0;    // all layers, in plan_options::cache_storage
  double decode_flops = 0.0;      // attention only, one token at plan_options::context, all layers
};

struct model_plan {
  config model;
  plan_options options;

  index_t layers = 0, dense_layers = 0, moe_layers = 0;
  index_t routed_experts = 0, shared_experts = 0, experts_per_token = 0;
  component_params per_unit;

  index_t tensors = 0;                 // stored tensors of the main model (fp8 scales not counted)
  index_t total_params = 0;            // main model
  index_t mtp_modules = 0;
  index_t mtp_params = 0;              // unique to the MTP modules (embedding and head shared)
  index_t mtp_params_stored = 0;       // with the checkpoint's copies of embedding and head
  index_t mtp_tensors = 0;
  index_t activated_params = 0;        // per token, embedding counted whole
  index_t activated_params_without_embedding = 0;

  std::size_t bf16_bytes = 0;          // main model's weights, bf16 layout
  std::size_t fp8_bytes = 0;           // fp8 layout, scales included
  std::size_t fp8_scale_bytes = 0;     // of which block scales
  std::size_t mtp_bf16_bytes = 0;      // the MTP modules as stored (with their copies)
  std::size_t mtp_fp8_bytes = 0;

  std::vector<cache_variant> caches;   // [0]: MLA absorbed (this model's cache), then naive, MHA, GQA, MQA
  index_t kv_bytes_per_token = 0;      // caches[0].bytes_per_token

  double prefill_flops_per_token = 0;        // absorbed attention
  double prefill_flops_per_token_naive = 0;  // naive attention
  double decode_flops_per_token = 0;         // absorbed attention
  double decode_flops_per_token_naive = 0;

  std::size_t cache_bytes = 0;         // batch x context tokens of caches[0]
  std::size_t memory_bf16 = 0;         // bf16 weights + cache
  std::size_t memory_fp8 = 0;          // fp8 weights + cache
};

// Counts `c` (SPEC.md section 7). Throws when the config is invalid or an option is not positive.
inline model_plan make_plan(const config& c, const plan_options& options = {}) {
  c.validate();
  require(options.context > 0, "plan: context must be positive, got ", options.context);
  require(options.batch > 0, "plan: batch must be positive, got ", options.batch);
  require(options.gqa_kv_heads > 0, "plan: gqa_kv_heads must be positive, got ", options.gqa_kv_heads);
  require(options.fp8_block > 0, "plan: fp8_block must be positive, got ", options.fp8_block);

  model_plan p;
  p.model = c;
  p.options = options;
  p.layers = c.num_hidden_layers;
  for (index_t i = 0; i < c.num_hidden_layers; ++i) (c.is_moe_layer(i) ? p.moe_layers : p.dense_layers) += 1;
  p.routed_experts = c.n_routed_experts;
  p.shared_experts = c.n_shared_experts;
  p.experts_per_token = c.n_routed_experts > 0 ? c.num_experts_per_tok : 0;

  // Every count below is a sum over the stored tensors, so the table and the checkpoint agree.
  const std::vector<tensor_spec> all = model_tensors(c, true);
  component_params& u = p.per_unit;
  index_t first_moe = -1, first_dense = -1;  // the layers whose components are counted per unit
  for (index_t i = c.num_hidden_layers; i-- > 0;) (c.is_moe_layer(i) ? first_moe : first_dense) = i;
  for (const tensor_spec& t : all) {
    const index_t n = t.params();
    if (!t.mtp) {
      p.tensors += 1;
      p.total_params += n;
      p.bf16_bytes += t.stored_bytes(weight_format::bf16, options.fp8_block);
      p.fp8_bytes += t.stored_bytes(weight_format::fp8_blocks, options.fp8_block);
      if (storage_type(t.role, weight_format::fp8_blocks) == dtype::f8_e4m3)
        p.fp8_scale_bytes += static_cast<std::size_t>(t.scale_rows(options.fp8_block) * t.scale_cols(options.fp8_block)) *
                             sizeof(float);
    } else {
      p.mtp_tensors += 1;
      p.mtp_params_stored += n;
      if (t.role != tensor_role::mtp_embedding_copy && t.role != tensor_role::mtp_head_copy) p.mtp_params += n;
      if ((t.role == tensor_role::mtp_norm || t.role == tensor_role::mtp_projection) && t.layer == c.num_hidden_layers)
        u.mtp_extra += n;
      p.mtp_bf16_bytes += t.stored_bytes(weight_format::bf16, options.fp8_block);
      p.mtp_fp8_bytes += t.stored_bytes(weight_format::fp8_blocks, options.fp8_block);
      continue;
    }
    switch (t.role) {
      case tensor_role::embedding: u.embedding += n; break;
      case tensor_role::lm_head: u.lm_head += n; break;
      case tensor_role::final_norm: u.final_norm += n; break;
      case tensor_role::layer_norm: if (t.layer == 0) u.layer_norms += n; break;
      case tensor_role::attention: if (t.layer == 0) u.attention += n; break;
      case tensor_role::attention_norm:
        if (t.layer == 0) { u.attention += n; u.attention_norms += n; }
        break;
      case tensor_role::dense_mlp: if (t.layer == first_dense) u.dense_mlp += n; break;
      case tensor_role::router: case tensor_role::router_bias: if (t.layer == first_moe) u.router += n; break;
      case tensor_role::routed_expert: if (t.layer == first_moe && t.expert == 0) u.routed_expert += n; break;
      case tensor_role::shared_expert: if (t.layer == first_moe) u.shared_experts += n; break;
      default: break;
    }
  }
  p.mtp_modules = c.num_nextn_predict_layers;

  // Activated per token (the convention above).
  p.activated_params_without_embedding =
      p.layers * (u.attention + u.layer_norms) + p.dense_layers * u.dense_mlp +
      p.moe_layers * (u.router + u.shared_experts + p.experts_per_token * u.routed_expert) + u.final_norm + u.lm_head;
  p.activated_params = p.activated_params_without_embedding + u.embedding;

  // Caches: this model's latent cache, the naive per-head one, and MHA / GQA / MQA whose heads
  // have v_head_dim keys and values, as many query heads.
  using dynamic_mla = attention::mla_shape<dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent,
                                           dynamic_extent, dynamic_extent>;
  using dynamic_gqa = attention::gqa_shape<dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent>;
  const dynamic_mla mla(c.num_attention_heads, c.q_lora_rank, c.kv_lora_rank, c.qk_nope_head_dim, c.qk_rope_head_dim,
                        c.v_head_dim);
  const index_t heads = c.num_attention_heads, d = c.v_head_dim;
  const index_t gqa_kv = std::gcd(heads, options.gqa_kv_heads);
  const attention::attention_cost absorbed = attention::mla_cost(mla, c.hidden_size, attention::absorbed{});
  const attention::attention_cost naive = attention::mla_cost(mla, c.hidden_size, attention::naive{});
  auto variant = [&](std::string name, const attention::attention_cost& cost) {
    return cache_variant{std::move(name), cost.cache_values_per_token,
                         cost.cache_bytes_per_token(options.cache_storage) * p.layers,
                         2.0 * static_cast<double>(cost.attention_macs_per_key) * static_cast<double>(options.context) *
                             static_cast<double>(p.layers)};
  };
  p.caches.push_back(variant("MLA absorbed (c_kv + k_rope)", absorbed));
  p.caches.push_back(variant("MLA naive (per-head K and V)", naive));
  p.caches.push_back(variant("MHA (" + std::to_string(heads) + " KV heads of " + std::to_string(d) + ")",
                             attention::gqa_cost(dynamic_gqa(heads, heads, d, d), c.hidden_size)));
  p.caches.push_back(variant("GQA (" + std::to_string(gqa_kv) + " KV heads of " + std::to_string(d) + ")",
                             attention::gqa_cost(dynamic_gqa(heads, gqa_kv, d, d), c.hidden_size)));
  p.caches.push_back(variant("MQA (1 KV head of " + std::to_string(d) + ")",
                             attention::gqa_cost(dynamic_gqa(heads, index_t{1}, d, d), c.hidden_size)));
  p.kv_bytes_per_token = p.caches[0].bytes_per_token;

  // FLOPs per token: attention by its cost model, every other linear layer 2 x its weights.
  const double ffn_flops =
      2.0 * static_cast<double>(p.dense_layers * u.dense_mlp +
                                p.moe_layers * (c.n_routed_experts * c.hidden_size + u.shared_experts +
                                                p.experts_per_token * u.routed_expert) +
                                u.lm_head);
  const double layers = static_cast<double>(p.layers);
  p.prefill_flops_per_token = layers * absorbed.prefill_flops_per_token(options.context) + ffn_flops;
  p.prefill_flops_per_token_naive = layers * naive.prefill_flops_per_token(options.context) + ffn_flops;
  p.decode_flops_per_token = layers * absorbed.decode_flops(options.context) + ffn_flops;
  p.decode_flops_per_token_naive = layers * naive.decode_flops(options.context) + ffn_flops;

  p.cache_bytes = static_cast<std::size_t>(options.batch) * static_cast<std::size_t>(options.context) *
                  static_cast<std::size_t>(p.kv_bytes_per_token);
  p.memory_bf16 = p.bf16_bytes + p.cache_bytes;
  p.memory_fp8 = p.fp8_bytes + p.cache_bytes;
  return p;
}

// The plan as one JSON object (keys named as the fields above).
inline nlohmann::json to_json(const model_plan& p) {
  const component_params& u = p.per_unit;
  nlohmann::json caches = nlohmann::json::array();
  for (const cache_variant& v : p.caches)
    caches.push_back({{"name", v.name},
                      {"values_per_token_per_layer", v.values_per_layer},
                      {"bytes_per_token", v.bytes_per_token},
                      {"attention_decode_flops", v.decode_flops}});
  return {
      {"layers", p.layers},
      {"dense_layers", p.dense_layers},
      {"moe_layers", p.moe_layers},
      {"routed_experts", p.routed_experts},
      {"shared_experts", p.shared_experts},
      {"experts_per_token", p.experts_per_token},
      {"hidden_size", p.model.hidden_size},
      {"vocab_size", p.model.vocab_size},
      {"components",
       {{"attention_per_layer", u.attention},
        {"attention_norms_per_layer", u.attention_norms},
        {"layer_norms_per_layer", u.layer_norms},
        {"dense_mlp_per_layer", u.dense_mlp},
        {"routed_expert", u.routed_expert},
        {"shared_experts_per_layer", u.shared_experts},
        {"router_per_layer", u.router},
        {"embedding", u.embedding},
        {"lm_head", u.lm_head},
        {"final_norm", u.final_norm},
        {"mtp_extra_per_module", u.mtp_extra}}},
      {"tensors", p.tensors},
      {"total_params", p.total_params},
      {"mtp_modules", p.mtp_modules},
      {"mtp_params", p.mtp_params},
      {"mtp_params_stored", p.mtp_params_stored},
      {"mtp_tensors", p.mtp_tensors},
      {"activated_params", p.activated_params},
      {"activated_params_without_embedding", p.activated_params_without_embedding},
      {"weight_bytes",
       {{"bf16", p.bf16_bytes},
        {"fp8", p.fp8_bytes},
        {"fp8_scales", p.fp8_scale_bytes},
        {"mtp_bf16", p.mtp_bf16_bytes},
        {"mtp_fp8", p.mtp_fp8_bytes}}},
      {"cache_storage", std::string(latte::name_of(p.options.cache_storage))},
      {"kv_bytes_per_token", p.kv_bytes_per_token},
      {"kv_cache_variants", caches},
      {"context", p.options.context},
      {"batch", p.options.batch},
      {"flops_per_token",
       {{"prefill", p.prefill_flops_per_token},
        {"prefill_naive", p.prefill_flops_per_token_naive},
        {"decode", p.decode_flops_per_token},
        {"decode_naive", p.decode_flops_per_token_naive}}},
      {"memory_bytes",
       {{"cache", p.cache_bytes}, {"bf16_weights_and_cache", p.memory_bf16}, {"fp8_weights_and_cache", p.memory_fp8}}},
  };
}

}  // namespace latte::model

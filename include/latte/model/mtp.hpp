#pragma once
// mtp_module: DeepSeek-V3's multi-token-prediction module k (SPEC.md section 6), stored in the
// checkpoint as layer num_hidden_layers + k. For the main model's hidden state h_t at position t
// and the token at position t + 1:
//
//   h'_t     = eh_proj [enorm(embed(token_{t+1})) ; hnorm(h_t)]     eh_proj [hidden, 2 hidden]
//   y_t      = one decoder layer (SPEC.md section 2) over h'        MLA with its own latent cache,
//                                                                   then MoE (or the dense MLP)
//   logits_t = lm_head(shared_head.norm(y_t))                       predicts the token at t + 2
//
// The embedding and head are the main model's (model.embed_tokens, lm_head; the checkpoint also
// stores copies under the module's layer). Which h_t to pass is the caller's: DeepSeek's serving
// stacks pass the main model's final-normed hidden state (the observer's "final_norm"), which
// hnorm normalises again. Used at inference as a one-token draft for speculative decoding.
//
// The module keeps its layer's weights for its lifetime and fetches routed experts when the
// router picks them, releasing them after use (a budgeted weight source may evict them).
//
//   latte::model::mtp_module<latte::cpu::backend> mtp(cpu, config, weights);
//   auto cache = mtp.make_cache(4096);
//   auto logits = mtp.forward(hidden, next_tokens, cache);   // [T, vocab] on the host

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "../attention/mla.hpp"
#include "../attention/sequence_chunk.hpp"
#include "../backend/concept.hpp"
#include "../core/buffer.hpp"
#include "../core/error.hpp"
#include "../moe/moe_layer.hpp"
#include "../moe/swiglu.hpp"
#include "../rope/frequencies.hpp"
#include "../rope/table.hpp"
#include "config.hpp"
#include "names.hpp"
#include "presets.hpp"
#include "weight_source.hpp"
#include "weight_store.hpp"

namespace latte::model {

template <backend_policy Backend, class Preset = runtime_preset, class Form = attention::absorbed>
class mtp_module {
 public:
  using mla_shape = typename Preset::mla_shape;
  using attention_type = attention::mla<Backend, mla_shape, Form>;
  using cache_type = typename attention_type::cache_type;

  // Module k (0-based) of `c`, which must have more than k MTP modules.
  mtp_module(Backend backend, const config& c, weight_source& source, index_t k = 0)
      : backend_(backend), config_(validated(c, k)), layer_(c.num_hidden_layers + k), store_(backend, source),
        shape_(config_.num_attention_heads, config_.q_lora_rank, config_.kv_lora_rank, config_.qk_nope_head_dim,
               config_.qk_rope_head_dim, config_.v_head_dim),
        rope_(config_.rope) {
    attention_options_.softmax_scale = static_cast<float>(rope::softmax_scale(config_.rope, config_.qk_head_dim()));
    attention_options_.rms_norm_eps = static_cast<float>(config_.rms_norm_eps);
    attention_options_.rope = config_.rope_interleave;
    const index_t h = config_.hidden_size, heads = config_.num_attention_heads, i = layer_;
    embed_ = store_.get(names::embed, config_.vocab_size, h);
    lm_head_ = store_.get(names::lm_head, config_.vocab_size, h);
    enorm_ = store_.get(own("enorm"), 1, h);
    hnorm_ = store_.get(own("hnorm"), 1, h);
    eh_proj_ = store_.get(own("eh_proj"), h, 2 * h);
    head_norm_ = store_.get(own("shared_head.norm"), 1, h);
    input_norm_ = store_.get(names::input_norm(i), 1, h);
    post_attention_norm_ = store_.get(names::post_attention_norm(i), 1, h);
    attention::mla_weights& a = attention_;
    if (config_.q_lora_rank > 0) {
      a.q_a_proj = store_.get(names::attn(i, "q_a_proj"), config_.q_lora_rank, h);
      a.q_a_layernorm = store_.get(names::attn(i, "q_a_layernorm"), 1, config_.q_lora_rank);
      a.q_b_proj = store_.get(names::attn(i, "q_b_proj"), heads * config_.qk_head_dim(), config_.q_lora_rank);
    } else {
      a.q_b_proj = store_.get(names::attn(i, "q_proj"), heads * config_.qk_head_dim(), h);
    }
    a.kv_a_proj_with_mqa =
        store_.get(names::attn(i, "kv_a_proj_with_mqa"), config_.kv_lora_rank + config_.qk_rope_head_dim, h);
    a.kv_a_layernorm = store_.get(names::attn(i, "kv_a_layernorm"), 1, config_.kv_lora_rank);
    a.kv_b_proj =
        store_.get(names::attn(i, "kv_b_proj"), heads * (config_.qk_nope_head_dim + config_.v_head_dim), config_.kv_lora_rank);
    a.o_proj = store_.get(names::attn(i, "o_proj"), h, heads * config_.v_head_dim);
    if (config_.is_moe_layer(i)) {
      gate_ = store_.get(names::gate(i), config_.n_routed_experts, h);
      // The selection bias is read on the host and copied to the backend.
      const weight_view bias = source.get(names::gate_bias(i), 1, config_.n_routed_experts);
      require(bias.type == dtype::f32, "tensor ", names::gate_bias(i), " must be F32, got ", name_of(bias.type));
      bias_ = backend_.template allocate<float>(static_cast<std::size_t>(config_.n_routed_experts));
      backend_.upload(std::span<const float>(static_cast<const float*>(bias.data), bias_.size()), bias_.data());
      source.release(names::gate_bias(i));
      if (config_.n_shared_experts > 0)
        shared_ = fetch_swiglu(names::shared_expert(i, "gate_proj"), names::shared_expert(i, "up_proj"),
                               names::shared_expert(i, "down_proj"),
                               config_.moe_intermediate_size * config_.n_shared_experts);
    } else {
      dense_ = fetch_swiglu(names::mlp(i, "gate_proj"), names::mlp(i, "up_proj"), names::mlp(i, "down_proj"),
                            config_.intermediate_size);
    }
  }

  const config& model_config() const noexcept { return config_; }
  // The module's layer index in the checkpoint.
  index_t layer() const noexcept { return layer_; }

  // A latent (or per-head, for Form = naive) cache of one sequence of up to `capacity` positions.
  cache_type make_cache(index_t capacity) const {
    require(capacity > 0, "mtp: cache capacity must be positive, got ", capacity);
    return attention_type(backend_, shape_, attention_, attention_options_).make_cache(capacity);
  }

  // hidden [T, hidden] (host memory): the main model's states at positions p .. p + T - 1, where p
  // is cache.size(); next_tokens [T]: the token at each position + 1. Appends T positions to the
  // cache and returns host logits [T, vocab]: row t predicts the token at position p + t + 2.
  host_buffer<float> forward(matrix_view<const float> hidden, std::span<const std::int32_t> next_tokens,
                             cache_type& cache) {
    const index_t tokens = hidden.extent(0), h = config_.hidden_size;
    require(tokens > 0, "mtp: no positions to process");
    require(hidden.extent(1) == h, "mtp: hidden states have ", hidden.extent(1), " columns, expected ", h);
    require(static_cast<index_t>(next_tokens.size()) == tokens, "mtp: ", next_tokens.size(), " next tokens for ",
            tokens, " hidden states");
    for (const std::int32_t id : next_tokens)
      require(id >= 0 && id < config_.vocab_size, "mtp: token id ", id, " outside the vocabulary [0, ",
              config_.vocab_size, ")");
    require(cache.size() + tokens <= cache.capacity(), "mtp: ", tokens, " positions do not fit the cache (",
            cache.size(), " of ", cache.capacity(), " used)");
    std::vector<index_t> positions(static_cast<std::size_t>(tokens));
    for (index_t t = 0; t < tokens; ++t) positions[static_cast<std::size_t>(t)] = cache.size() + t;
    require(positions.back() < config_.max_position_embeddings, "mtp: position ", positions.back(),
            " beyond max_position_embeddings ", config_.max_position_embeddings);

    auto buffer = [&](index_t cols) { return backend_.template allocate<float>(static_cast<std::size_t>(tokens * cols)); };
    auto view = [&](auto& b, index_t cols) { return make_matrix_view(b.data(), tokens, cols); };
    auto ids = backend_.template allocate<std::int32_t>(next_tokens.size());
    backend_.upload(next_tokens, ids.data());
    auto hidden_buffer = buffer(h), embedded = buffer(h), x_buffer = buffer(h), normed_buffer = buffer(h),
         out_buffer = buffer(h);
    for (index_t t = 0; t < tokens; ++t)
      backend_.upload(std::span<const float>(&hidden(t, 0), static_cast<std::size_t>(h)), hidden_buffer.data() + t * h);
    const matrix_view<float> x = view(x_buffer, h), normed = view(normed_buffer, h), out = view(out_buffer, h);

    // h' = eh_proj [enorm(e) ; hnorm(h)]: the two column halves of eh_proj, one GEMM each.
    backend_.gather_rows(embed_, make_vector_view<const std::int32_t>(ids.data(), tokens), view(embedded, h));
    backend_.rmsnorm(view(embedded, h), enorm_, attention_options_.rms_norm_eps, normed);
    backend_.gemm(normed, eh_proj_.col_range(0, h), x);
    backend_.rmsnorm(view(hidden_buffer, h), hnorm_, attention_options_.rms_norm_eps, normed);
    backend_.gemm(normed, eh_proj_.col_range(h, h), x, gemm_options{.beta = 1.0f});

    // The decoder layer.
    const host_buffer<float> table = rope_.make(positions);
    auto device_table = backend_.template allocate<float>(table.size());
    backend_.upload(table.span(), device_table.data());
    const dtensor_view<const float, 3> cos_sin(device_table.data(), dextents<3>(tokens, rope_.pairs(), 2));
    backend_.rmsnorm(x, input_norm_, attention_options_.rms_norm_eps, normed);
    const attention::sequence_chunk chunk{0, tokens};
    cache_type* caches[1] = {&cache};
    attention_type(backend_, shape_, attention_, attention_options_)
        .forward(normed, cos_sin, std::span<const attention::sequence_chunk>(&chunk, 1),
                 std::span<cache_type* const>(caches), out);
    backend_.add(out, x);
    backend_.rmsnorm(x, post_attention_norm_, attention_options_.rms_norm_eps, normed);
    if (dense_) {
      moe::swiglu_forward(backend_, *dense_, normed, out);
    } else {
      moe::moe_layer<Backend> block = make_moe();
      block.forward(normed, out);
      last_experts_.assign(block.last_experts().begin(), block.last_experts().end());
    }
    backend_.add(out, x);

    // The shared head.
    backend_.rmsnorm(x, head_norm_, attention_options_.rms_norm_eps, normed);
    auto logits = buffer(config_.vocab_size);
    backend_.gemm(normed, lm_head_, view(logits, config_.vocab_size));
    host_buffer<float> result(static_cast<std::size_t>(tokens * config_.vocab_size));
    backend_.download(logits.data(), result.span());
    return result;
  }

  // The routed experts of the last forward, [tokens, top_k] (MoE modules).
  std::span<const std::int32_t> last_experts() const noexcept { return last_experts_; }

 private:
  static config validated(const config& c, index_t k) {
    c.validate();
    if constexpr (Preset::is_static) require_same_shape(Preset::make_config(), c, "static");
    require(k >= 0 && k < c.num_nextn_predict_layers, "mtp: module ", k, " requested but num_nextn_predict_layers is ",
            c.num_nextn_predict_layers);
    return c;
  }

  moe::swiglu_weights fetch_swiglu(const std::string& gate, const std::string& up, const std::string& down,
                                   index_t intermediate) {
    return {store_.get(gate, intermediate, config_.hidden_size), store_.get(up, intermediate, config_.hidden_size),
            store_.get(down, config_.hidden_size, intermediate)};
  }

  // A tensor of the module beyond its decoder layer: "model.layers.{layer}.{part}.weight".
  std::string own(const char* part) const { return names::layer(layer_) + part + ".weight"; }

  moe::moe_layer<Backend> make_moe() {
    const config& c = config_;
    const routing_options routing{.scoring = c.scoring, .top_k = c.num_experts_per_tok, .n_group = c.n_group,
                                  .topk_group = c.topk_group, .norm_topk_prob = c.norm_topk_prob,
                                  .routed_scaling_factor = static_cast<float>(c.routed_scaling_factor)};
    return moe::moe_layer<Backend>(
        backend_, {c.hidden_size, c.n_routed_experts, c.moe_intermediate_size}, {gate_, bias_.data()}, routing,
        shared_,
        [this](index_t e) {
          return fetch_swiglu(names::expert(layer_, e, "gate_proj"), names::expert(layer_, e, "up_proj"),
                              names::expert(layer_, e, "down_proj"), config_.moe_intermediate_size);
        },
        [this](index_t e) {
          for (const char* part : {"gate_proj", "up_proj", "down_proj"}) store_.release(names::expert(layer_, e, part));
        });
  }

  Backend backend_;
  config config_;
  index_t layer_;
  weight_store<Backend> store_;
  mla_shape shape_;
  rope::table_maker rope_;
  attention::mla_options attention_options_{};
  weight_view embed_, lm_head_, enorm_, hnorm_, eh_proj_, head_norm_, input_norm_, post_attention_norm_, gate_;
  attention::mla_weights attention_;
  std::optional<moe::swiglu_weights> dense_, shared_;
  typename Backend::template buffer<float> bias_;
  std::vector<std::int32_t> last_experts_;
};

}  // namespace latte::model

#pragma once
// The DeepSeek-V3 decoder (SPEC.md section 2): embedding (unscaled) -> layers -> final RMSNorm ->
// untied lm_head, each layer pre-norm
//   h = x + MLA(RMSNorm_in(x));   y = h + FFN(RMSNorm_post(h))
// with the dense SwiGLU MLP in the first first_k_dense_replace layers and MoE after.
//
// A batch holds sequences of different lengths; each call appends every sequence's new tokens
// (possibly none) to its latent cache and returns logits. Prefill and incremental decode are the
// same call with more or fewer tokens. The attention form is a policy: attention::absorbed (the
// latent cache of d_c + d_h^R values per token) or attention::naive (per-head K/V, for
// comparison). Sizes come from the Preset at compile time (presets.hpp) or from the config.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "../attention/cache_limits.hpp"
#include "../attention/cost.hpp"
#include "../attention/mla.hpp"
#include "../backend/concept.hpp"
#include "../core/buffer.hpp"
#include "../core/error.hpp"
#include "../moe/moe_layer.hpp"
#include "../moe/swiglu.hpp"
#include "../rope/table.hpp"
#include "config.hpp"
#include "names.hpp"
#include "observer.hpp"
#include "presets.hpp"
#include "weight_source.hpp"
#include "weight_store.hpp"

namespace latte::model {

// Whether weights stay fetched for the model's lifetime, or are fetched per layer for each call
// and released after it (for sources that produce weights on demand under a memory budget).
enum class weight_residency { resident, streamed };

// Which logits a call returns.
enum class logits_for { all_tokens, last_token };

struct model_options {
  weight_residency residency = weight_residency::resident;
};

template <backend_policy Backend, class Preset = runtime_preset, class Form = attention::absorbed>
class deepseek_v3 {
 public:
  using mla_shape = typename Preset::mla_shape;
  using attention_type = attention::mla<Backend, mla_shape, Form>;
  using cache_type = typename attention_type::cache_type;

  // Per-sequence decoding state: one cache per layer and sequence, and each sequence's length.
  class state {
   public:
    index_t sequences() const noexcept { return static_cast<index_t>(lengths_.size()); }
    index_t capacity() const noexcept { return capacity_; }
    index_t length(index_t sequence) const { return lengths_.at(static_cast<std::size_t>(sequence)); }
    // Forgets sequence s (its caches empty, length 0).
    void reset(index_t s) {
      for (auto& layer : caches_) layer.at(static_cast<std::size_t>(s)).clear();
      lengths_.at(static_cast<std::size_t>(s)) = 0;
    }
    const cache_type& cache(index_t layer, index_t sequence) const {
      return caches_.at(static_cast<std::size_t>(layer)).at(static_cast<std::size_t>(sequence));
    }
    // Bytes of cache held for all sequences at full capacity.
    std::size_t bytes() const noexcept { return bytes_; }

   private:
    friend class deepseek_v3;
    std::vector<std::vector<cache_type>> caches_;  // [layer][sequence]
    std::vector<index_t> lengths_;
    index_t capacity_ = 0;
    std::size_t bytes_ = 0;
  };

  deepseek_v3(Backend backend, const config& c, weight_source& source, model_options options = {})
      : backend_(backend), config_(validated(c)), store_(backend, source), options_(options),
        shape_(config_.num_attention_heads, config_.q_lora_rank, config_.kv_lora_rank, config_.qk_nope_head_dim,
               config_.qk_rope_head_dim, config_.v_head_dim),
        rope_(config_.rope) {
    attention_options_.softmax_scale = static_cast<float>(rope::softmax_scale(config_.rope, config_.qk_head_dim()));
    attention_options_.rms_norm_eps = static_cast<float>(config_.rms_norm_eps);
    attention_options_.rope = config_.rope_interleave;
    if (config_.n_routed_experts > 0) {
      biases_.resize(static_cast<std::size_t>(config_.num_hidden_layers));
      for (index_t i = 0; i < config_.num_hidden_layers; ++i)
        if (config_.is_moe_layer(i)) load_bias(i);
    }
    embed_ = store_.get(names::embed, config_.vocab_size, config_.hidden_size);
    final_norm_ = store_.get(names::final_norm, 1, config_.hidden_size);
    lm_head_ = store_.get(names::lm_head, config_.vocab_size, config_.hidden_size);
    if (options_.residency == weight_residency::resident) {
      layers_.reserve(static_cast<std::size_t>(config_.num_hidden_layers));
      for (index_t i = 0; i < config_.num_hidden_layers; ++i) layers_.push_back(fetch_layer(i));
    }
  }

  const config& model_config() const noexcept { return config_; }
  const Backend& backend() const noexcept { return backend_; }

  // A state for `sequences` sequences of up to `capacity` tokens each.
  state make_state(index_t sequences, index_t capacity) const {
    require(sequences > 0, "model: a state needs at least one sequence");
    require(capacity > 0, "model: cache capacity must be positive, got ", capacity);
    // All caches together must fit before any is allocated (each cache checks only itself).
    const index_t floats_per_token =
        attention::mla_cost(shape_, config_.hidden_size, Form{}).cache_values_per_token * config_.num_hidden_layers;
    attention::cache_bytes("model::make_state", capacity, floats_per_token, attention::host_memory_buffers<Backend>,
                           sequences);
    state s;
    s.capacity_ = capacity;
    s.lengths_.assign(static_cast<std::size_t>(sequences), 0);
    s.caches_.resize(static_cast<std::size_t>(config_.num_hidden_layers));
    for (auto& layer : s.caches_) {
      layer.reserve(static_cast<std::size_t>(sequences));
      for (index_t q = 0; q < sequences; ++q) layer.push_back(make_cache(capacity));
    }
    s.bytes_ = static_cast<std::size_t>(sequences * config_.num_hidden_layers * capacity) *
               static_cast<std::size_t>(
                   attention::mla_cost(shape_, config_.hidden_size, Form{}).cache_bytes_per_token(dtype::f32));
    return s;
  }

  // Appends tokens[s] to sequence s for every s (an empty span leaves it untouched) and returns
  // host logits: [total new tokens, vocab] in sequence order for all_tokens, or
  // [sequences with new tokens, vocab] for last_token.
  host_buffer<float> forward(std::span<const std::span<const std::int32_t>> tokens, state& st,
                             logits_for which = logits_for::last_token, observer* watch = nullptr) {
    require(static_cast<index_t>(tokens.size()) == st.sequences(), "model: ", tokens.size(),
            " token lists for a state of ", st.sequences(), " sequences");
    // Validate everything before any cache changes.
    std::vector<std::int32_t> ids;
    std::vector<index_t> positions;
    std::vector<attention::sequence_chunk> chunks;
    std::vector<index_t> chunk_sequence;
    for (std::size_t s = 0; s < tokens.size(); ++s) {
      const index_t n = static_cast<index_t>(tokens[s].size());
      if (n == 0) continue;
      const index_t start = st.lengths_[s];
      require(start + n <= st.capacity_, "model: sequence ", s, " would hold ", start + n,
              " tokens, more than the cache capacity of ", st.capacity_);
      require(start + n <= config_.max_position_embeddings || config_.max_position_embeddings == 0,
              "model: sequence ", s, " would reach position ", start + n - 1, ", beyond max_position_embeddings ",
              config_.max_position_embeddings);
      chunks.push_back({static_cast<index_t>(ids.size()), n});
      chunk_sequence.push_back(static_cast<index_t>(s));
      for (index_t i = 0; i < n; ++i) {
        const std::int32_t id = tokens[s][static_cast<std::size_t>(i)];
        require(id >= 0 && id < config_.vocab_size, "model: token id ", id, " outside the vocabulary [0, ",
                config_.vocab_size, ")");
        ids.push_back(id);
        positions.push_back(start + i);
      }
    }
    const index_t total = static_cast<index_t>(ids.size());
    require(total > 0, "model: no tokens to process");
    const index_t hidden = config_.hidden_size;

    // Inputs on the backend: token ids, the rope table for every row's position.
    auto device_ids = backend_.template allocate<std::int32_t>(ids.size());
    backend_.upload(std::span<const std::int32_t>(ids), device_ids.data());
    const host_buffer<float> table = rope_.make(positions);
    auto device_table = backend_.template allocate<float>(table.size());
    backend_.upload(table.span(), device_table.data());
    const dtensor_view<const float, 3> cos_sin(device_table.data(), dextents<3>(total, rope_.pairs(), 2));

    auto x_buffer = backend_.template allocate<float>(static_cast<std::size_t>(total * hidden));
    auto normed_buffer = backend_.template allocate<float>(static_cast<std::size_t>(total * hidden));
    auto out_buffer = backend_.template allocate<float>(static_cast<std::size_t>(total * hidden));
    const matrix_view<float> x = make_matrix_view(x_buffer.data(), total, hidden);
    const matrix_view<float> normed = make_matrix_view(normed_buffer.data(), total, hidden);
    const matrix_view<float> out = make_matrix_view(out_buffer.data(), total, hidden);
    backend_.gather_rows(embed_, make_vector_view<const std::int32_t>(device_ids.data(), total), x);

    std::vector<cache_type*> caches(chunks.size());
    for (index_t i = 0; i < config_.num_hidden_layers; ++i) {
      for (std::size_t c = 0; c < chunks.size(); ++c)
        caches[c] = &st.caches_[static_cast<std::size_t>(i)][static_cast<std::size_t>(chunk_sequence[c])];
      std::optional<layer_weights> streamed;
      if (options_.residency == weight_residency::streamed) streamed.emplace(fetch_layer(i));
      layer_weights& w = streamed ? *streamed : layers_[static_cast<std::size_t>(i)];

      backend_.rmsnorm(x, w.input_norm, attention_options_.rms_norm_eps, normed);
      show(watch, i, ".attn.in", normed);
      const attention_type attention(backend_, shape_, w.attention, attention_options_);
      attention.forward(normed, cos_sin, chunks, std::span<cache_type* const>(caches), out);
      show(watch, i, ".attn.out", out);
      backend_.add(out, x);

      backend_.rmsnorm(x, w.post_attention_norm, attention_options_.rms_norm_eps, normed);
      show(watch, i, ".mlp.in", normed);
      if (w.dense) {
        moe::swiglu_forward(backend_, *w.dense, normed, out);
      } else {
        moe::moe_layer<Backend> block = make_moe(i, w);
        block.forward(normed, out);
        if (watch) watch->routing(i, config_.num_experts_per_tok, block.last_experts(), block.last_weights());
      }
      show(watch, i, ".mlp.out", out);
      backend_.add(out, x);
      show(watch, i, ".out", x);
      if (streamed) release_layer(i);
    }
    for (std::size_t c = 0; c < chunks.size(); ++c)
      st.lengths_[static_cast<std::size_t>(chunk_sequence[c])] += chunks[c].tokens;

    // Final norm and lm_head over the rows whose logits are wanted.
    backend_.rmsnorm(x, final_norm_, attention_options_.rms_norm_eps, normed);
    show(watch, "final_norm", normed);
    matrix_view<const float> head_in = normed;
    auto last_rows = backend_.template allocate<float>(chunks.size() * static_cast<std::size_t>(hidden));
    if (which == logits_for::last_token) {
      for (std::size_t c = 0; c < chunks.size(); ++c) {
        const index_t row = chunks[c].first_row + chunks[c].tokens - 1;
        host_buffer<float> staging(static_cast<std::size_t>(hidden));
        backend_.download(&normed(row, 0), staging.span());
        backend_.upload(std::span<const float>(staging.span()), last_rows.data() + c * hidden);
      }
      head_in = make_matrix_view<const float>(last_rows.data(), static_cast<index_t>(chunks.size()), hidden);
    }
    const index_t rows = head_in.extent(0);
    auto logits = backend_.template allocate<float>(static_cast<std::size_t>(rows * config_.vocab_size));
    backend_.gemm(head_in, lm_head_, make_matrix_view(logits.data(), rows, config_.vocab_size));
    host_buffer<float> result(static_cast<std::size_t>(rows * config_.vocab_size));
    backend_.download(logits.data(), result.span());
    return result;
  }

  // One sequence, convenience: logits of its new tokens.
  host_buffer<float> forward(std::span<const std::int32_t> tokens, state& st, logits_for which = logits_for::last_token,
                             observer* watch = nullptr) {
    require(st.sequences() == 1, "model: the single-sequence forward needs a state of one sequence");
    const std::span<const std::int32_t> lists[1] = {tokens};
    return forward(std::span<const std::span<const std::int32_t>>(lists), st, which, watch);
  }

 private:
  struct layer_weights {
    weight_view input_norm, post_attention_norm;
    attention::mla_weights attention;
    std::optional<moe::swiglu_weights> dense;       // dense layers
    weight_view gate;                               // MoE layers
    std::optional<moe::swiglu_weights> shared;
    std::vector<moe::swiglu_weights> experts;       // MoE layers, resident weights only
  };

  cache_type make_cache(index_t capacity) const {
    if constexpr (std::is_same_v<Form, attention::absorbed>)
      return cache_type(backend_, capacity, shape_.kv_lora_rank(), shape_.qk_rope_head_dim());
    else
      return cache_type(backend_, capacity, shape_.heads(), shape_.qk_head_dim(), shape_.v_head_dim());
  }

  static config validated(const config& c) {
    c.validate();
    if constexpr (Preset::is_static) require_same_shape(Preset::make_config(), c, "static");
    return c;
  }

  moe::swiglu_weights fetch_swiglu(const std::string& gate, const std::string& up, const std::string& down,
                                   index_t intermediate) {
    return {store_.get(gate, intermediate, config_.hidden_size), store_.get(up, intermediate, config_.hidden_size),
            store_.get(down, config_.hidden_size, intermediate)};
  }

  moe::swiglu_weights fetch_expert(index_t i, index_t e) {
    return fetch_swiglu(names::expert(i, e, "gate_proj"), names::expert(i, e, "up_proj"),
                        names::expert(i, e, "down_proj"), config_.moe_intermediate_size);
  }

  layer_weights fetch_layer(index_t i) {
    const config& c = config_;
    const index_t heads = c.num_attention_heads, qk = c.qk_head_dim();
    layer_weights w;
    w.input_norm = store_.get(names::input_norm(i), 1, c.hidden_size);
    w.post_attention_norm = store_.get(names::post_attention_norm(i), 1, c.hidden_size);
    attention::mla_weights& a = w.attention;
    if (c.q_lora_rank > 0) {
      a.q_a_proj = store_.get(names::attn(i, "q_a_proj"), c.q_lora_rank, c.hidden_size);
      a.q_a_layernorm = store_.get(names::attn(i, "q_a_layernorm"), 1, c.q_lora_rank);
      a.q_b_proj = store_.get(names::attn(i, "q_b_proj"), heads * qk, c.q_lora_rank);
    } else {
      a.q_b_proj = store_.get(names::attn(i, "q_proj"), heads * qk, c.hidden_size);
    }
    a.kv_a_proj_with_mqa = store_.get(names::attn(i, "kv_a_proj_with_mqa"), c.kv_lora_rank + c.qk_rope_head_dim,
                                      c.hidden_size);
    a.kv_a_layernorm = store_.get(names::attn(i, "kv_a_layernorm"), 1, c.kv_lora_rank);
    a.kv_b_proj = store_.get(names::attn(i, "kv_b_proj"), heads * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);
    a.o_proj = store_.get(names::attn(i, "o_proj"), c.hidden_size, heads * c.v_head_dim);
    if (c.is_moe_layer(i)) {
      w.gate = store_.get(names::gate(i), c.n_routed_experts, c.hidden_size);
      if (c.n_shared_experts > 0)
        w.shared = fetch_swiglu(names::shared_expert(i, "gate_proj"), names::shared_expert(i, "up_proj"),
                                names::shared_expert(i, "down_proj"), c.moe_intermediate_size * c.n_shared_experts);
      // Resident weights: every expert's views now, not a name lookup per chosen expert per call.
      if (options_.residency == weight_residency::resident)
        for (index_t e = 0; e < c.n_routed_experts; ++e) w.experts.push_back(fetch_expert(i, e));
    } else {
      w.dense = fetch_swiglu(names::mlp(i, "gate_proj"), names::mlp(i, "up_proj"), names::mlp(i, "down_proj"),
                             c.intermediate_size);
    }
    return w;
  }

  void release_layer(index_t i) {
    for (const char* part : {"q_a_proj", "q_a_layernorm", "q_b_proj", "q_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
                             "kv_b_proj", "o_proj"})
      store_.release(names::attn(i, part));
    store_.release(names::input_norm(i));
    store_.release(names::post_attention_norm(i));
    for (const char* part : {"gate_proj", "up_proj", "down_proj"}) {
      store_.release(names::mlp(i, part));
      store_.release(names::shared_expert(i, part));
    }
    store_.release(names::gate(i));
  }

  void load_bias(index_t i) {
    const weight_view bias = store_.source().get(names::gate_bias(i), 1, config_.n_routed_experts);
    require(bias.type == dtype::f32, "tensor ", names::gate_bias(i), " must be F32, got ", name_of(bias.type));
    auto& b = biases_[static_cast<std::size_t>(i)];
    b = backend_.template allocate<float>(static_cast<std::size_t>(config_.n_routed_experts));
    backend_.upload(std::span<const float>(static_cast<const float*>(bias.data), b.size()), b.data());
  }

  moe::moe_layer<Backend> make_moe(index_t i, const layer_weights& w) {
    const config& c = config_;
    routing_options routing{.scoring = c.scoring, .top_k = c.num_experts_per_tok, .n_group = c.n_group,
                            .topk_group = c.topk_group, .norm_topk_prob = c.norm_topk_prob,
                            .routed_scaling_factor = static_cast<float>(c.routed_scaling_factor)};
    const bool streamed = options_.residency == weight_residency::streamed;
    return moe::moe_layer<Backend>(
        backend_, {c.hidden_size, c.n_routed_experts, c.moe_intermediate_size},
        {w.gate, biases_[static_cast<std::size_t>(i)].data()}, routing, w.shared,
        [this, i, &w](index_t e) {
          return w.experts.empty() ? fetch_expert(i, e) : w.experts[static_cast<std::size_t>(e)];
        },
        [this, i, streamed](index_t e) {
          if (!streamed) return;
          for (const char* part : {"gate_proj", "up_proj", "down_proj"}) store_.release(names::expert(i, e, part));
        });
  }

  // Layer i's tensor `part` (".attn.in", ...): the name is built only when someone watches.
  void show(observer* watch, index_t i, const char* part, matrix_view<const float> values) const {
    if (watch != nullptr) show(watch, "layer" + std::to_string(i) + part, values);
  }

  void show(observer* watch, const std::string& name, matrix_view<const float> values) const {
    if (watch == nullptr) return;
    if constexpr (host_memory_backend<Backend>) {
      watch->tensor(name, values);
    } else {
      host_buffer<float> copy(static_cast<std::size_t>(values.size()));
      backend_.download(values.data(), copy.span());
      watch->tensor(name, make_matrix_view<const float>(copy.data(), values.extent(0), values.extent(1)));
    }
  }

  Backend backend_;
  config config_;
  weight_store<Backend> store_;
  model_options options_;
  mla_shape shape_;
  rope::table_maker rope_;
  attention::mla_options attention_options_{};
  weight_view embed_, final_norm_, lm_head_;
  std::vector<layer_weights> layers_;
  std::vector<typename Backend::template buffer<float>> biases_;
};

}  // namespace latte::model

#pragma once
// An in-memory checkpoint of random weights for any model::config, registered under the hub's
// tensor names in an io::buffer_weights: linear weights in a chosen storage type (bf16, f32, or
// fp8 e4m3 with 128 x 128 block scales), norms near 1, a small f32 routing bias.

#include <cmath>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include <latte/core/dtype.hpp>
#include <latte/io/buffer_weights.hpp>
#include <latte/model/config.hpp>
#include <latte/model/names.hpp>

namespace synthetic {

using latte::index_t;

class checkpoint {
 public:
  checkpoint(const latte::model::config& c, latte::dtype linear_type, std::uint64_t seed)
      : config_(c), linear_type_(linear_type), engine_(seed) {
    namespace names = latte::model::names;
    const index_t hidden = c.hidden_size, heads = c.num_attention_heads, qk = c.qk_head_dim();
    add_values(names::embed, c.vocab_size, hidden, latte::dtype::bf16, 1.0);
    add_norm(names::final_norm, hidden);
    add_values(names::lm_head, c.vocab_size, hidden, latte::dtype::bf16, 1.0 / std::sqrt(double(hidden)));
    for (index_t i = 0; i < c.num_hidden_layers; ++i) {
      add_norm(names::input_norm(i), hidden);
      add_norm(names::post_attention_norm(i), hidden);
      if (c.q_lora_rank > 0) {
        add_linear(names::attn(i, "q_a_proj"), c.q_lora_rank, hidden);
        add_norm(names::attn(i, "q_a_layernorm"), c.q_lora_rank);
        add_linear(names::attn(i, "q_b_proj"), heads * qk, c.q_lora_rank);
      } else {
        add_linear(names::attn(i, "q_proj"), heads * qk, hidden);
      }
      add_linear(names::attn(i, "kv_a_proj_with_mqa"), c.kv_lora_rank + c.qk_rope_head_dim, hidden);
      add_norm(names::attn(i, "kv_a_layernorm"), c.kv_lora_rank);
      add_linear(names::attn(i, "kv_b_proj"), heads * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);
      add_linear(names::attn(i, "o_proj"), hidden, heads * c.v_head_dim);
      if (c.is_moe_layer(i)) {
        add_values(names::gate(i), c.n_routed_experts, hidden, latte::dtype::bf16, 1.0 / std::sqrt(double(hidden)));
        add_values(names::gate_bias(i), 1, c.n_routed_experts, latte::dtype::f32, 0.05);
        for (index_t e = 0; e < c.n_routed_experts; ++e)
          add_swiglu([&](const char* p) { return names::expert(i, e, p); }, c.moe_intermediate_size);
        if (c.n_shared_experts > 0)
          add_swiglu([&](const char* p) { return names::shared_expert(i, p); },
                     c.moe_intermediate_size * c.n_shared_experts);
      } else {
        add_swiglu([&](const char* p) { return names::mlp(i, p); }, c.intermediate_size);
      }
    }
  }

  latte::io::buffer_weights& weights() noexcept { return weights_; }

 private:
  template <class Name>
  void add_swiglu(Name name, index_t inter) {
    add_linear(name("gate_proj"), inter, config_.hidden_size);
    add_linear(name("up_proj"), inter, config_.hidden_size);
    add_linear(name("down_proj"), config_.hidden_size, inter);
  }

  void add_norm(const std::string& name, index_t n) {
    std::uniform_real_distribution<double> u(0.8, 1.2);
    auto& store = bytes_.emplace_back(static_cast<std::size_t>(n) * 2);
    auto* values = reinterpret_cast<latte::bf16*>(store.data());
    for (index_t i = 0; i < n; ++i) values[i] = latte::bf16(static_cast<float>(u(engine_)));
    weights_.add(name, latte::make_weight_view(values, 1, n));
  }

  void add_linear(const std::string& name, index_t rows, index_t cols) {
    add_values(name, rows, cols, linear_type_, 1.0 / std::sqrt(static_cast<double>(cols)));
  }

  void add_values(const std::string& name, index_t rows, index_t cols, latte::dtype type, double scale) {
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    const std::size_t count = static_cast<std::size_t>(rows * cols);
    auto& store = bytes_.emplace_back(count * latte::size_of(type));
    switch (type) {
      case latte::dtype::f32: {
        auto* v = reinterpret_cast<float*>(store.data());
        for (std::size_t i = 0; i < count; ++i) v[i] = static_cast<float>(scale * u(engine_));
        weights_.add(name, latte::make_weight_view(v, rows, cols));
        break;
      }
      case latte::dtype::bf16: {
        auto* v = reinterpret_cast<latte::bf16*>(store.data());
        for (std::size_t i = 0; i < count; ++i) v[i] = latte::bf16(static_cast<float>(scale * u(engine_)));
        weights_.add(name, latte::make_weight_view(v, rows, cols));
        break;
      }
      case latte::dtype::f8_e4m3: {
        // Quantised values in [-448, 448] with a per-block scale, as DeepSeek's fp8 checkpoints.
        auto* v = reinterpret_cast<latte::fp8_e4m3*>(store.data());
        for (std::size_t i = 0; i < count; ++i) v[i] = latte::fp8_e4m3(static_cast<float>(448.0 * u(engine_)));
        const index_t block_rows = (rows + 127) / 128, block_cols = (cols + 127) / 128;
        auto& scales = scales_.emplace_back(static_cast<std::size_t>(block_rows * block_cols));
        std::uniform_real_distribution<double> spread(0.5, 1.5);
        for (float& s : scales) s = static_cast<float>(scale / 448.0 * spread(engine_));
        weights_.add(name, latte::make_weight_view(v, rows, cols, scales.data()));
        break;
      }
      default:
        latte::fail("synthetic checkpoint: no ", latte::name_of(type), " weights");
    }
  }

  latte::model::config config_;
  latte::dtype linear_type_;
  std::mt19937_64 engine_;
  std::deque<std::vector<std::uint8_t>> bytes_;
  std::deque<std::vector<float>> scales_;
  latte::io::buffer_weights weights_;
};

}  // namespace synthetic

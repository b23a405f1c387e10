#pragma once
// Optional hooks through which a model shows its intermediates (host copies), for tests that
// compare every layer with a reference and for tools that inspect a run.

#include <cstdint>
#include <span>
#include <string_view>

#include "../core/tensor_view.hpp"

namespace latte::model {

class observer {
 public:
  virtual ~observer() = default;
  // Names: "layer{i}.attn.in", "layer{i}.attn.out", "layer{i}.mlp.in", "layer{i}.mlp.out",
  // "layer{i}.out", "final_norm"; values [tokens of the call, hidden] on the host.
  virtual void tensor(std::string_view /*name*/, matrix_view<const float> /*values*/) {}
  // A MoE layer's routing: experts and weights [tokens, top_k], experts increasing per token.
  virtual void routing(index_t /*layer*/, index_t /*top_k*/, std::span<const std::int32_t> /*experts*/,
                       std::span<const float> /*weights*/) {}
};

}  // namespace latte::model

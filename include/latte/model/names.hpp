#pragma once
// Hub tensor names of the DeepSeek-V3 family (SPEC.md section 8).

#include <string>

#include "../core/extents.hpp"

namespace latte::model::names {

inline std::string layer(index_t i) { return "model.layers." + std::to_string(i) + "."; }
inline std::string attn(index_t i, const char* part) { return layer(i) + "self_attn." + part + ".weight"; }
inline std::string mlp(index_t i, const char* part) { return layer(i) + "mlp." + part + ".weight"; }
inline std::string expert(index_t i, index_t e, const char* part) {
  return layer(i) + "mlp.experts." + std::to_string(e) + "." + part + ".weight";
}
inline std::string shared_expert(index_t i, const char* part) { return layer(i) + "mlp.shared_experts." + part + ".weight"; }
inline std::string gate(index_t i) { return layer(i) + "mlp.gate.weight"; }
inline std::string gate_bias(index_t i) { return layer(i) + "mlp.gate.e_score_correction_bias"; }
inline std::string input_norm(index_t i) { return layer(i) + "input_layernorm.weight"; }
inline std::string post_attention_norm(index_t i) { return layer(i) + "post_attention_layernorm.weight"; }
inline const std::string embed = "model.embed_tokens.weight";
inline const std::string final_norm = "model.norm.weight";
inline const std::string lm_head = "lm_head.weight";

}  // namespace latte::model::names

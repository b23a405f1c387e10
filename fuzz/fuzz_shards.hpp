#pragma once
// The two in-memory shards the index fuzzer matches indexes against; make_corpus writes seed
// indexes that name them.

#include <cstddef>
#include <string>
#include <vector>

#include <latte/io/safetensors_writer.hpp>

namespace latte_fuzz {

inline std::string shard_name(std::size_t s) {
  return "model-0000" + std::to_string(s + 1) + "-of-00002.safetensors";
}

// Tensor names of each shard.
inline std::vector<std::vector<std::string>> shard_tensors() {
  return {{"model.embed_tokens.weight", "model.norm.weight", "model.layers.0.self_attn.q_a_proj.weight"},
          {"lm_head.weight", "model.layers.0.input_layernorm.weight", "model.layers.0.self_attn.q_a_proj.weight_scale_inv"}};
}

struct shard_images {
  std::vector<std::vector<std::byte>> images;
};

inline shard_images make_shard_images() {
  shard_images out;
  const std::vector<float> values(4, 1.0f);
  for (const auto& names : shard_tensors()) {
    std::vector<latte::io::tensor_to_write> tensors;
    for (const std::string& name : names) tensors.push_back(latte::io::tensor_to_write::of(name, {2, 2}, values));
    out.images.push_back(latte::io::serialize_safetensors(tensors));
  }
  return out;
}

}  // namespace latte_fuzz

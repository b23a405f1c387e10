// Writes the fuzzers' seed corpora from the repository's test data:
//   make_corpus TESTS_DATA_DIR OUT_DIR   ->   OUT_DIR/{safetensors,index,config}/seed-*
// safetensors: small images keeping the names, dtypes and header layout of the test checkpoints
// and reference files (dimensions cut to at most 3, data copied from the real tensors), plus
// hand-made edge cases; index: indexes over the index fuzzer's in-memory shards; config: the
// test models' config.json files and the 671B / V2-Lite configs in their hub spellings.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <latte/io/safetensors.hpp>
#include <latte/io/safetensors_writer.hpp>

#include "fuzz_shards.hpp"

namespace fs = std::filesystem;

namespace {

int written = 0;

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ++written;
}
void write(const fs::path& dir, const std::string& name, const std::vector<std::byte>& bytes) {
  write(dir, name, std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The first `count` tensors of `file` with every dimension cut to at most 3.
std::vector<std::byte> shrunk(const latte::io::safetensors_file& file, std::size_t first, std::size_t count) {
  std::vector<latte::io::tensor_to_write> tensors;
  const auto all = file.tensors();
  for (std::size_t i = first; i < std::min(all.size(), first + count); ++i) {
    const latte::io::tensor_record& t = all[i];
    latte::io::tensor_to_write w;
    w.name = t.name;
    w.type = t.type;
    std::size_t elements = 1;
    for (latte::index_t d : t.shape) {
      w.shape.push_back(std::min<latte::index_t>(d, 3));
      elements *= static_cast<std::size_t>(w.shape.back());
    }
    w.data = {t.data, elements * latte::size_of(t.type)};
    tensors.push_back(w);
  }
  std::map<std::string, std::string> metadata(file.metadata().begin(), file.metadata().end());
  return latte::io::serialize_safetensors(tensors, metadata);
}

void safetensors_seeds(const fs::path& data, const fs::path& out) {
  const std::vector<std::string> files{"dsv3-tiny/model.safetensors", "dsv3-tiny-fp8/model.safetensors",
                                       "dsv3-tiny/reference.safetensors", "kernels/attention.safetensors",
                                       "kernels/rope.safetensors"};
  int n = 0;
  for (const std::string& name : files) {
    const auto file = latte::io::safetensors_file::open(data / name);
    for (auto [first, count] : {std::pair<std::size_t, std::size_t>{0, 1}, {0, 3}, {5, 8}, {40, 24}, {0, 1000}}) {
      if (first >= file.size()) continue;
      if (count == 1000 && file.size() > 40) continue;  // whole headers only for the small files
      write(out, "seed-" + std::to_string(n++), shrunk(file, first, count));
    }
  }
  // Edge cases: every dtype, a scalar, an empty tensor, no tensors at all.
  const std::vector<std::byte> eight(8, std::byte{0x3c});
  using latte::dtype;
  std::vector<latte::io::tensor_to_write> every;
  for (dtype t : {dtype::f64, dtype::f32, dtype::f16, dtype::bf16, dtype::f8_e4m3, dtype::i64, dtype::i32, dtype::u8})
    every.push_back({std::string("t_") + std::string(latte::name_of(t)), t, {1}, {eight.data(), latte::size_of(t)}});
  write(out, "seed-every-dtype", latte::io::serialize_safetensors(every));
  write(out, "seed-scalar", latte::io::serialize_safetensors(std::vector<latte::io::tensor_to_write>{
                                {"s", dtype::f32, {}, {eight.data(), 4}}}));
  write(out, "seed-empty-tensor", latte::io::serialize_safetensors(std::vector<latte::io::tensor_to_write>{
                                      {"e", dtype::bf16, {0, 7}, {}}, {"x", dtype::u8, {2}, {eight.data(), 2}}}));
  write(out, "seed-nothing", latte::io::serialize_safetensors({}, {{"format", "pt"}}));
}

void index_seeds(const fs::path& out) {
  const auto shards = latte_fuzz::shard_tensors();
  nlohmann::json full;
  full["metadata"]["total_size"] = 96;
  for (std::size_t s = 0; s < shards.size(); ++s)
    for (const std::string& name : shards[s]) full["weight_map"][name] = latte_fuzz::shard_name(s);
  write(out, "seed-full", full.dump(2));
  nlohmann::json one;
  one["weight_map"]["model.norm.weight"] = latte_fuzz::shard_name(0);
  write(out, "seed-one", one.dump());
  nlohmann::json wrong = one;
  wrong["weight_map"]["lm_head.weight"] = latte_fuzz::shard_name(0);  // held by the other shard
  write(out, "seed-misplaced", wrong.dump());
  nlohmann::json traversal = one;
  traversal["weight_map"]["model.norm.weight"] = "../" + latte_fuzz::shard_name(0);
  write(out, "seed-traversal", traversal.dump());
  nlohmann::json missing = one;
  missing["weight_map"]["model.norm.weight"] = "model-00003-of-00003.safetensors";
  write(out, "seed-missing-shard", missing.dump());
}

void config_seeds(const fs::path& data, const fs::path& out) {
  write(out, "seed-tiny", read_text(data / "dsv3-tiny/config.json"));
  write(out, "seed-tiny-fp8", read_text(data / "dsv3-tiny-fp8/config.json"));
  const std::string v3 = R"({"architectures":["DeepseekV3ForCausalLM"],"model_type":"deepseek_v3","attention_bias":false,
"bos_token_id":0,"eos_token_id":1,"first_k_dense_replace":3,"hidden_act":"silu","hidden_size":7168,
"intermediate_size":18432,"kv_lora_rank":512,"max_position_embeddings":163840,"moe_intermediate_size":2048,
"moe_layer_freq":1,"n_group":8,"n_routed_experts":256,"n_shared_experts":1,"norm_topk_prob":true,
"num_attention_heads":128,"num_experts_per_tok":8,"num_hidden_layers":61,"num_key_value_heads":128,
"num_nextn_predict_layers":1,"q_lora_rank":1536,"qk_nope_head_dim":128,"qk_rope_head_dim":64,
"quantization_config":{"activation_scheme":"dynamic","fmt":"e4m3","quant_method":"fp8","weight_block_size":[128,128]},
"rms_norm_eps":1e-06,"rope_theta":10000,"rope_scaling":{"beta_fast":32,"beta_slow":1,"factor":40,"mscale":1.0,
"mscale_all_dim":1.0,"original_max_position_embeddings":4096,"type":"yarn"},"routed_scaling_factor":2.5,
"scoring_func":"sigmoid","tie_word_embeddings":false,"topk_group":4,"topk_method":"noaux_tc","v_head_dim":128,
"vocab_size":129280})";
  write(out, "seed-671b", v3);
  nlohmann::json p = nlohmann::json::parse(v3);
  p["rope_parameters"] = p["rope_scaling"];
  p["rope_parameters"].erase("type");
  p["rope_parameters"]["rope_type"] = "yarn";
  p["rope_parameters"]["rope_theta"] = 10000.0;
  p.erase("rope_scaling");
  write(out, "seed-671b-rope-parameters", p.dump());
  nlohmann::json plain = nlohmann::json::parse(v3);
  plain["rope_scaling"] = nullptr;
  plain["quantization_config"] = nullptr;
  write(out, "seed-671b-plain-rope", plain.dump());
  write(out, "seed-v2-lite", R"({"model_type":"deepseek_v2","bos_token_id":100000,"eos_token_id":100001,
"first_k_dense_replace":1,"hidden_act":"silu","hidden_size":2048,"intermediate_size":10944,"kv_lora_rank":512,
"max_position_embeddings":163840,"moe_intermediate_size":1408,"moe_layer_freq":1,"n_group":1,"n_routed_experts":64,
"n_shared_experts":2,"norm_topk_prob":false,"num_attention_heads":16,"num_experts_per_tok":6,"num_hidden_layers":27,
"num_key_value_heads":16,"q_lora_rank":null,"qk_nope_head_dim":128,"qk_rope_head_dim":64,"rms_norm_eps":1e-06,
"rope_scaling":{"beta_fast":32,"beta_slow":1,"factor":40,"mscale":0.707,"mscale_all_dim":0.707,
"original_max_position_embeddings":4096,"type":"yarn"},"rope_theta":10000,"routed_scaling_factor":1.0,
"scoring_func":"softmax","tie_word_embeddings":false,"topk_group":1,"topk_method":"greedy","v_head_dim":128,
"vocab_size":102400,"rope_interleave":false})");
  write(out, "seed-dense-minimal", R"({"vocab_size":8,"hidden_size":4,"num_hidden_layers":1,"num_attention_heads":1,
"q_lora_rank":null,"kv_lora_rank":2,"qk_nope_head_dim":2,"qk_rope_head_dim":2,"v_head_dim":2,
"max_position_embeddings":4,"intermediate_size":4,"eos_token_id":[1,2]})");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_corpus TESTS_DATA_DIR OUT_DIR\n");
    return 2;
  }
  try {
    const fs::path data = argv[1], out = argv[2];
    safetensors_seeds(data, out / "safetensors");
    index_seeds(out / "index");
    config_seeds(data, out / "config");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_corpus: %s\n", e.what());
    return 1;
  }
  std::printf("make_corpus: %d seeds\n", written);
  return 0;
}

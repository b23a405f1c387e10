// config.json of the DeepSeek-V3 family: the tiny test models, the 671B and V2-Lite configs
// (SPEC.md section 1) in their hub spellings, and every kind of bad config.

#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include <latte/io/hub_config.hpp>

#include "io_test_support.hpp"

using Catch::Matchers::Contains;
using latte::io::parse_config;
using nlohmann::json;

namespace {

// deepseek-ai/DeepSeek-V3's config.json (SPEC.md section 1).
json v3_671b() {
  return json::parse(R"({
    "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
    "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 0, "eos_token_id": 1,
    "ep_size": 1, "first_k_dense_replace": 3, "hidden_act": "silu", "hidden_size": 7168,
    "initializer_range": 0.02, "intermediate_size": 18432, "kv_lora_rank": 512,
    "max_position_embeddings": 163840, "moe_intermediate_size": 2048, "moe_layer_freq": 1,
    "n_group": 8, "n_routed_experts": 256, "n_shared_experts": 1, "norm_topk_prob": true,
    "num_attention_heads": 128, "num_experts_per_tok": 8, "num_hidden_layers": 61,
    "num_key_value_heads": 128, "num_nextn_predict_layers": 1, "pretraining_tp": 1,
    "q_lora_rank": 1536, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64,
    "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                            "weight_block_size": [128, 128]},
    "rms_norm_eps": 1e-06, "rope_theta": 10000,
    "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0, "mscale_all_dim": 1.0,
                     "original_max_position_embeddings": 4096, "type": "yarn"},
    "routed_scaling_factor": 2.5, "scoring_func": "sigmoid", "tie_word_embeddings": false,
    "topk_group": 4, "topk_method": "noaux_tc", "torch_dtype": "bfloat16",
    "transformers_version": "4.33.1", "use_cache": true, "v_head_dim": 128, "vocab_size": 129280})");
}

// deepseek-ai/DeepSeek-V2-Lite's config.json (SPEC.md section 1).
json v2_lite() {
  return json::parse(R"({
    "architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2",
    "attention_bias": false, "aux_loss_alpha": 0.001, "bos_token_id": 100000, "eos_token_id": 100001,
    "first_k_dense_replace": 1, "hidden_act": "silu", "hidden_size": 2048, "intermediate_size": 10944,
    "kv_lora_rank": 512, "max_position_embeddings": 163840, "moe_intermediate_size": 1408,
    "moe_layer_freq": 1, "n_group": 1, "n_routed_experts": 64, "n_shared_experts": 2,
    "norm_topk_prob": false, "num_attention_heads": 16, "num_experts_per_tok": 6,
    "num_hidden_layers": 27, "num_key_value_heads": 16, "q_lora_rank": null, "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64, "rms_norm_eps": 1e-06,
    "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 0.707, "mscale_all_dim": 0.707,
                     "original_max_position_embeddings": 4096, "type": "yarn"},
    "rope_theta": 10000, "routed_scaling_factor": 1.0, "scoring_func": "softmax", "seq_aux": true,
    "tie_word_embeddings": false, "topk_group": 1, "topk_method": "greedy", "torch_dtype": "bfloat16",
    "v_head_dim": 128, "vocab_size": 102400})");
}

latte::model::config parse(const json& j) { return parse_config(j.dump(), "config.json"); }

void check_671b(const latte::model::config& c) {
  CHECK(c.vocab_size == 129280);
  CHECK(c.hidden_size == 7168);
  CHECK(c.intermediate_size == 18432);
  CHECK(c.moe_intermediate_size == 2048);
  CHECK(c.num_hidden_layers == 61);
  CHECK(c.first_k_dense_replace == 3);
  CHECK(c.moe_layer_freq == 1);
  CHECK(c.num_attention_heads == 128);
  CHECK(c.num_key_value_heads == 128);
  CHECK(c.q_lora_rank == 1536);
  CHECK(c.kv_lora_rank == 512);
  CHECK(c.qk_nope_head_dim == 128);
  CHECK(c.qk_rope_head_dim == 64);
  CHECK(c.v_head_dim == 128);
  CHECK(c.n_routed_experts == 256);
  CHECK(c.n_shared_experts == 1);
  CHECK(c.num_experts_per_tok == 8);
  CHECK(c.n_group == 8);
  CHECK(c.topk_group == 4);
  CHECK(c.scoring == latte::scoring_func::sigmoid);
  CHECK(c.topk_method == "noaux_tc");
  CHECK(c.norm_topk_prob);
  CHECK(c.routed_scaling_factor == 2.5);
  CHECK(c.rms_norm_eps == 1e-6);
  CHECK(c.max_position_embeddings == 163840);
  CHECK(c.rope.theta == 10000.0);
  CHECK(c.rope.rotary_dim == 64);
  CHECK(c.rope.scaling == latte::rope::scaling_type::yarn);
  CHECK(c.rope.factor == 40.0);
  CHECK(c.rope.original_max_position == 4096);
  CHECK(c.rope.beta_fast == 32.0);
  CHECK(c.rope.beta_slow == 1.0);
  CHECK(c.rope.mscale == 1.0);
  CHECK(c.rope.mscale_all_dim == 1.0);
  CHECK(c.rope_interleave == latte::rope_layout::interleaved_pairs);
  CHECK_FALSE(c.tie_word_embeddings);
  CHECK(c.num_nextn_predict_layers == 1);
  CHECK(c.bos_token_id == 0);
  CHECK(c.eos_token_id == 1);
  CHECK(c.quantization.enabled);
  CHECK(c.quantization.block_rows == 128);
  CHECK(c.quantization.block_cols == 128);
  CHECK_FALSE(c.is_moe_layer(2));
  CHECK(c.is_moe_layer(3));
}

}  // namespace

TEST_CASE("config of the tiny models", "[io][config]") {
  for (const char* folder : {"dsv3-tiny", "dsv3-tiny-fp8"}) {
    INFO(folder);
    const latte::model::config c = latte::io::load_config(io_test::data_dir() / folder);  // a folder works too
    CHECK(c.vocab_size == 1024);
    CHECK(c.hidden_size == 256);
    CHECK(c.intermediate_size == 512);
    CHECK(c.moe_intermediate_size == 64);
    CHECK(c.num_hidden_layers == 4);
    CHECK(c.first_k_dense_replace == 1);
    CHECK(c.num_attention_heads == 8);
    CHECK(c.q_lora_rank == 96);
    CHECK(c.kv_lora_rank == 64);
    CHECK(c.qk_nope_head_dim == 32);
    CHECK(c.qk_rope_head_dim == 16);
    CHECK(c.v_head_dim == 32);
    CHECK(c.n_routed_experts == 16);
    CHECK(c.n_shared_experts == 1);
    CHECK(c.num_experts_per_tok == 4);
    CHECK(c.n_group == 4);
    CHECK(c.topk_group == 2);
    CHECK(c.norm_topk_prob);
    CHECK(c.routed_scaling_factor == 2.5);
    CHECK(c.max_position_embeddings == 256);
    CHECK(c.rope.scaling == latte::rope::scaling_type::yarn);
    CHECK(c.rope.factor == 4.0);
    CHECK(c.rope.original_max_position == 64);
    CHECK(c.rope.rotary_dim == 16);
    CHECK(c.rope.mscale_all_dim == 1.0);
    CHECK(c.quantization.enabled == (std::string(folder) == "dsv3-tiny-fp8"));
    CHECK(c.is_moe_layer(1));
    CHECK_FALSE(c.is_moe_layer(0));
  }
}

TEST_CASE("config of DeepSeek-V3 671B, with rope_scaling and with rope_parameters", "[io][config]") {
  check_671b(parse(v3_671b()));

  json renamed = v3_671b();
  json rope = renamed["rope_scaling"];
  rope.erase("type");
  rope["rope_type"] = "yarn";
  rope["rope_theta"] = 10000.0;
  renamed.erase("rope_scaling");
  renamed.erase("rope_theta");
  renamed["rope_parameters"] = rope;
  check_671b(parse(renamed));

  // Both spellings of the type may appear together when they agree.
  json both = v3_671b();
  both["rope_scaling"]["rope_type"] = "yarn";
  check_671b(parse(both));
  both["rope_scaling"]["rope_type"] = "default";
  CHECK_THROWS_WITH(parse(both), Contains("rope_scaling has rope_type 'default' but type 'yarn'"));
}

TEST_CASE("config of DeepSeek-V2-Lite: no query compression, softmax routing, one group", "[io][config]") {
  const latte::model::config c = parse(v2_lite());
  CHECK(c.q_lora_rank == 0);
  CHECK(c.scoring == latte::scoring_func::softmax);
  CHECK(c.topk_method == "greedy");
  CHECK(c.n_group == 1);
  CHECK(c.topk_group == 1);
  CHECK(c.n_routed_experts == 64);
  CHECK(c.n_shared_experts == 2);
  CHECK(c.num_experts_per_tok == 6);
  CHECK_FALSE(c.norm_topk_prob);
  CHECK(c.routed_scaling_factor == 1.0);
  CHECK(c.rope.mscale == 0.707);
  CHECK(c.rope.mscale_all_dim == 0.707);
  CHECK(c.bos_token_id == 100000);
  CHECK(c.eos_token_id == 100001);
  CHECK_FALSE(c.quantization.enabled);
  CHECK_FALSE(c.is_moe_layer(0));
  CHECK(c.is_moe_layer(26));
}

TEST_CASE("config: null or default rope scaling is plain RoPE", "[io][config]") {
  json j = v3_671b();
  j["rope_scaling"] = nullptr;
  latte::model::config c = parse(j);
  CHECK(c.rope.scaling == latte::rope::scaling_type::none);
  CHECK(c.rope.theta == 10000.0);
  j.erase("rope_scaling");
  j["rope_theta"] = 500000.0;
  c = parse(j);
  CHECK(c.rope.scaling == latte::rope::scaling_type::none);
  CHECK(c.rope.theta == 500000.0);
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1e6}};
  c = parse(j);
  CHECK(c.rope.scaling == latte::rope::scaling_type::none);
  CHECK(c.rope.theta == 1e6);
}

TEST_CASE("config: hub defaults for omitted keys", "[io][config]") {
  json j = v2_lite();
  for (const char* key : {"n_group", "topk_group", "moe_layer_freq", "first_k_dense_replace", "norm_topk_prob",
                          "routed_scaling_factor", "rms_norm_eps", "rope_theta", "tie_word_embeddings",
                          "topk_method", "scoring_func", "num_key_value_heads", "bos_token_id", "eos_token_id"})
    j.erase(key);
  j["n_shared_experts"] = nullptr;
  j["rope_scaling"] = {{"type", "yarn"}, {"factor", 40}};
  j["rope_interleave"] = false;
  j["model_type"] = "deepseek_v3";
  latte::model::config c = parse(j);
  CHECK(c.n_group == 1);
  CHECK(c.topk_group == 1);
  CHECK(c.moe_layer_freq == 1);
  CHECK(c.first_k_dense_replace == 0);
  CHECK(c.n_shared_experts == 0);
  CHECK_FALSE(c.norm_topk_prob);
  CHECK(c.routed_scaling_factor == 1.0);
  CHECK(c.rms_norm_eps == 1e-6);
  CHECK(c.rope.theta == 10000.0);
  CHECK(c.num_nextn_predict_layers == 0);
  CHECK_FALSE(c.tie_word_embeddings);
  CHECK(c.scoring == latte::scoring_func::sigmoid);
  CHECK(c.topk_method == "noaux_tc");
  CHECK(c.num_key_value_heads == 16);
  CHECK(c.bos_token_id == 0);
  CHECK(c.eos_token_id == 1);
  CHECK(c.rope.mscale == 1.0);
  CHECK(c.rope.mscale_all_dim == 0.0);
  CHECK(c.rope.beta_fast == 32.0);
  CHECK(c.rope.beta_slow == 1.0);
  CHECK(c.rope.original_max_position == 163840);  // max_position_embeddings when absent
  CHECK(c.rope_interleave == latte::rope_layout::halves);

  // Without n_routed_experts the model is dense.
  j.erase("n_routed_experts");
  c = parse(j);
  CHECK(c.n_routed_experts == 0);
  CHECK_FALSE(c.is_moe_layer(5));

  // eos as a list takes its first id; integral floats are integers.
  j["eos_token_id"] = {7, 8};
  j["hidden_size"] = 2048.0;
  c = parse(j);
  CHECK(c.eos_token_id == 7);
  CHECK(c.hidden_size == 2048);
}

// ---- bad configs: each is refused with a message naming the file and the field ----

TEST_CASE("bad config: not JSON", "[io][config][bad]") {
  const auto dir = io_test::scratch_dir("config_not_json");
  io_test::write_text(dir / "config.json", "vocab_size = 12\n");
  CHECK_THROWS_WITH(latte::io::load_config(dir / "config.json"),
                    Contains("config.json: config is not valid JSON"));
  CHECK_THROWS_WITH(parse_config("[1, 2]", "c.json"), Contains("c.json: config is an array, expected a JSON object"));
  CHECK_THROWS_WITH(parse_config("", "c.json"), Contains("c.json: config is not valid JSON"));
  CHECK_THROWS_WITH(latte::io::load_config(dir / "missing.json"), Contains("cannot open") && Contains("missing.json"));
  CHECK_THROWS_WITH(latte::io::load_config(io_test::scratch_dir("config_none")), Contains("config.json"));
}

TEST_CASE("bad config: missing required field", "[io][config][bad]") {
  for (const char* key : {"vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "kv_lora_rank",
                          "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "max_position_embeddings",
                          "q_lora_rank"}) {
    INFO(key);
    json j = v3_671b();
    j.erase(key);
    CHECK_THROWS_WITH(parse(j), Contains("config.json: missing required field '" + std::string(key) + "'"));
  }
  json j = v3_671b();
  j["rope_scaling"].erase("factor");
  CHECK_THROWS_WITH(parse(j), Contains("rope_scaling of type yarn has no factor"));
  j = v3_671b();
  j["rope_scaling"].erase("type");
  CHECK_THROWS_WITH(parse(j), Contains("rope_scaling has neither rope_type nor type"));
}

TEST_CASE("bad config: wrong JSON types name the field", "[io][config][bad]") {
  auto with = [](const char* key, json value) {
    json j = v3_671b();
    j[key] = std::move(value);
    return parse(j);
  };
  CHECK_THROWS_WITH(with("hidden_size", "7168"), Contains("config.json: hidden_size is a string, expected an integer"));
  CHECK_THROWS_WITH(with("hidden_size", nullptr), Contains("hidden_size is null, expected an integer"));
  CHECK_THROWS_WITH(with("hidden_size", 7168.5), Contains("hidden_size = 7168.5 is not an integer"));
  CHECK_THROWS_WITH(with("hidden_size", 1e30), Contains("hidden_size = ") && Contains("exceeds"));
  CHECK_THROWS_WITH(with("num_hidden_layers", 100000000), Contains("num_hidden_layers = 100000000 exceeds 65536"));
  CHECK_THROWS_WITH(with("norm_topk_prob", 1), Contains("norm_topk_prob is an integer, expected true or false"));
  CHECK_THROWS_WITH(with("routed_scaling_factor", "2.5"), Contains("routed_scaling_factor is a string, expected a number"));
  CHECK_THROWS_WITH(with("scoring_func", 1), Contains("scoring_func is an integer, expected a string"));
  CHECK_THROWS_WITH(with("scoring_func", "relu"), Contains("unsupported scoring_func 'relu'"));
  CHECK_THROWS_WITH(with("topk_method", "random"), Contains("unsupported topk_method 'random'"));
  CHECK_THROWS_WITH(with("rope_scaling", 40), Contains("rope_scaling is an integer, expected an object or null"));
  CHECK_THROWS_WITH(with("quantization_config", "fp8"), Contains("quantization_config is a string, expected an object"));
  CHECK_THROWS_WITH(with("hidden_act", "gelu"), Contains("unsupported hidden_act 'gelu'"));
  CHECK_THROWS_WITH(with("attention_bias", true), Contains("attention_bias true is not supported"));
  json j = v3_671b();
  j["rope_scaling"]["factor"] = "40";
  CHECK_THROWS_WITH(parse(j), Contains("rope_scaling.factor is a string, expected a number"));
  j = v3_671b();
  j["rope_scaling"]["attention_factor"] = 1.2;
  CHECK_THROWS_WITH(parse(j), Contains("rope_scaling.attention_factor is not supported"));
  j = v3_671b();
  j["quantization_config"]["weight_block_size"] = {128};
  CHECK_THROWS_WITH(parse(j), Contains("quantization_config.weight_block_size is an array, expected an array [rows, cols]"));
  j["quantization_config"]["weight_block_size"] = {128, "128"};
  CHECK_THROWS_WITH(parse(j), Contains("quantization_config.weight_block_size[1] is a string"));
  j["quantization_config"]["weight_block_size"] = {0, 128};
  CHECK_THROWS_WITH(parse(j), Contains("weight_block_size must be positive"));
  j = v3_671b();
  j["quantization_config"]["quant_method"] = "awq";
  CHECK_THROWS_WITH(parse(j), Contains("unsupported quantization_config.quant_method 'awq'"));
  j = v3_671b();
  j["quantization_config"]["fmt"] = "e5m2";
  CHECK_THROWS_WITH(parse(j), Contains("unsupported quantization_config.fmt 'e5m2'"));
  CHECK_THROWS_WITH(parse_config(R"({"vocab_size": 1, "vocab_size": 2})", "c.json"),
                    Contains("names the key 'vocab_size' twice"));
}

TEST_CASE("bad config: zero heads", "[io][config][bad]") {
  json j = v3_671b();
  j["num_attention_heads"] = 0;
  CHECK_THROWS_WITH(parse(j), Contains("config.json: num_attention_heads must be positive, got 0"));
  j = v3_671b();
  j["num_attention_heads"] = -4;
  CHECK_THROWS_WITH(parse(j), Contains("num_attention_heads must be positive, got -4"));
}

TEST_CASE("bad config: topk_group exceeds n_group", "[io][config][bad]") {
  json j = v3_671b();
  j["topk_group"] = 9;
  CHECK_THROWS_WITH(parse(j), Contains("config.json: topk_group 9 exceeds n_group 8"));
}

TEST_CASE("bad config: experts not divisible by groups", "[io][config][bad]") {
  json j = v3_671b();
  j["n_group"] = 7;
  j["topk_group"] = 4;
  CHECK_THROWS_WITH(parse(j), Contains("config.json: n_routed_experts 256 is not divisible by n_group 7"));
}

TEST_CASE("bad config: unknown rope type", "[io][config][bad]") {
  json j = v3_671b();
  j["rope_scaling"]["type"] = "linear";
  CHECK_THROWS_WITH(parse(j), Contains("config.json: unsupported rope type 'linear' in rope_scaling"));
  json k = v3_671b();
  k["rope_parameters"] = {{"rope_type", "dynamic"}, {"factor", 2.0}};
  CHECK_THROWS_WITH(parse(k), Contains("unsupported rope type 'dynamic' in rope_parameters"));
}

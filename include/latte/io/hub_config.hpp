#pragma once
// Reading a Hugging Face config.json of the DeepSeek-V3 family (SPEC.md section 1) into
// latte::model::config.
//
//   latte::model::config c = latte::io::load_config("DeepSeek-V3");   // a folder or its config.json
//
// Required: vocab_size, hidden_size, num_hidden_layers, num_attention_heads, q_lora_rank (null:
// no query compression), kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim,
// max_position_embeddings. Everything else takes the hub's default when absent (or null):
// intermediate_size / moe_intermediate_size 0 (validate() asks for them where needed),
// num_key_value_heads = num_attention_heads, n_routed_experts 0 (a dense model, as V2-Lite-style
// configs without it), n_shared_experts 0, num_experts_per_tok 0, n_group 1, topk_group 1,
// moe_layer_freq 1, first_k_dense_replace 0, scoring_func sigmoid (softmax for deepseek_v2),
// topk_method noaux_tc (greedy for deepseek_v2), norm_topk_prob false, routed_scaling_factor 1,
// rms_norm_eps 1e-6, rope_theta 10000, rope_interleave true, tie_word_embeddings false,
// num_nextn_predict_layers 0, bos 0 / eos 1.
//
// RoPE: `rope_parameters` (newer files) or `rope_scaling`, its kind under `rope_type` or `type`:
// "yarn" (factor required; original_max_position_embeddings defaults to max_position_embeddings,
// beta_fast 32, beta_slow 1, mscale 1, mscale_all_dim 0), "default" or "none" (plain RoPE); null
// or absent: plain RoPE. `rope_parameters.rope_theta` overrides a top-level rope_theta.
// quantization_config: {quant_method: "fp8", fmt: "e4m3", weight_block_size: [128, 128],
// activation_scheme: "dynamic"}; any other method, format or scheme is refused.
//
// Integer fields accept JSON integers (and floats with an integral value); every field of the
// wrong JSON type is an error naming it; so is anything latte would have to ignore silently
// (attention_bias true, a hidden_act other than silu, a YaRN attention_factor). The result passes
// config::validate(); its errors are prefixed with the source.

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "../core/error.hpp"
#include "../model/config.hpp"
#include "mapped_file.hpp"
#include "safetensors_header.hpp"

namespace latte::io {

namespace detail {

class config_reader {
 public:
  using json = nlohmann::json;

  // Bound on every size; num_hidden_layers has a tighter one.
  static constexpr index_t max_size = (index_t(1) << 31) - 1;
  static constexpr index_t max_layers = index_t(1) << 16;

  explicit config_reader(std::string_view source) : source_(source) {}

  [[noreturn]] void wrong_type(std::string_view field, const json& v, std::string_view expected) const {
    fail(source_, ": ", field, " is ", json_kind(v), ", expected ", expected);
  }

  // The member `key` of `object`, or null when absent or JSON null.
  static const json* member(const json& object, std::string_view key) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return nullptr;
    return &*it;
  }

  const json& required(const json& object, std::string_view key, std::string_view field) const {
    const auto it = object.find(key);
    if (it == object.end()) fail(source_, ": missing required field '", field, "'");
    return *it;
  }

  index_t to_integer(const json& v, std::string_view field, index_t bound = max_size) const {
    if (v.is_number_unsigned()) {
      const std::uint64_t u = v.get<std::uint64_t>();
      require(u <= static_cast<std::uint64_t>(bound), source_, ": ", field, " = ", u, " exceeds ", bound);
      return static_cast<index_t>(u);
    }
    if (v.is_number_integer()) {
      const std::int64_t i = v.get<std::int64_t>();
      require(i >= -bound, source_, ": ", field, " = ", i, " is below ", -bound);
      return static_cast<index_t>(i);
    }
    if (v.is_number_float()) {
      const double d = v.get<double>();
      require(std::floor(d) == d, source_, ": ", field, " = ", d, " is not an integer");
      require(std::fabs(d) <= static_cast<double>(bound), source_, ": ", field, " = ", d, " exceeds ", bound);
      return static_cast<index_t>(d);
    }
    wrong_type(field, v, "an integer");
  }

  double to_number(const json& v, std::string_view field) const {
    if (!v.is_number()) wrong_type(field, v, "a number");
    return v.get<double>();
  }

  bool to_bool(const json& v, std::string_view field) const {
    if (!v.is_boolean()) wrong_type(field, v, "true or false");
    return v.get<bool>();
  }

  const std::string& to_string(const json& v, std::string_view field) const {
    if (!v.is_string()) wrong_type(field, v, "a string");
    return v.get_ref<const std::string&>();
  }

  // Required integer (not null).
  index_t integer(const json& object, std::string_view key, index_t bound = max_size) const {
    const json& v = required(object, key, key);
    if (v.is_null()) wrong_type(key, v, "an integer");
    return to_integer(v, key, bound);
  }
  // Optional integer: `fallback` when absent or null.
  index_t integer_or(const json& object, std::string_view key, index_t fallback, index_t bound = max_size) const {
    const json* v = member(object, key);
    return v == nullptr ? fallback : to_integer(*v, key, bound);
  }
  double number_or(const json& object, std::string_view key, double fallback, std::string_view field) const {
    const json* v = member(object, key);
    return v == nullptr ? fallback : to_number(*v, field);
  }
  bool bool_or(const json& object, std::string_view key, bool fallback) const {
    const json* v = member(object, key);
    return v == nullptr ? fallback : to_bool(*v, key);
  }

  std::string_view source() const noexcept { return source_; }

 private:
  std::string_view source_;
};

inline void read_rope(const config_reader& in, const nlohmann::json& root, model::config& c) {
  using json = nlohmann::json;
  c.rope.theta = in.number_or(root, "rope_theta", 10000.0, "rope_theta");
  c.rope.rotary_dim = c.qk_rope_head_dim;

  std::string_view key = "rope_parameters";
  const json* p = config_reader::member(root, key);
  if (p == nullptr) {
    key = "rope_scaling";
    p = config_reader::member(root, key);
  }
  if (p == nullptr) return;  // plain RoPE
  const std::string prefix = std::string(key) + ".";
  auto field = [&](std::string_view name) { return prefix + std::string(name); };
  if (!p->is_object()) in.wrong_type(key, *p, "an object or null");

  const json* type = config_reader::member(*p, "rope_type");
  const json* legacy_type = config_reader::member(*p, "type");
  require(type != nullptr || legacy_type != nullptr, in.source(), ": ", key, " has neither rope_type nor type");
  const std::string& kind = type != nullptr ? in.to_string(*type, field("rope_type")) : in.to_string(*legacy_type, field("type"));
  if (type != nullptr && legacy_type != nullptr)
    require(in.to_string(*legacy_type, field("type")) == kind, in.source(), ": ", key, " has rope_type '", kind,
            "' but type '", legacy_type->get_ref<const std::string&>(), "'");

  if (const json* theta = config_reader::member(*p, "rope_theta")) c.rope.theta = in.to_number(*theta, field("rope_theta"));

  if (kind == "default" || kind == "none") {
    c.rope.scaling = rope::scaling_type::none;
    return;
  }
  require(kind == "yarn", in.source(), ": unsupported rope type '", kind, "' in ", key,
          " (expected yarn, default or none)");
  c.rope.scaling = rope::scaling_type::yarn;
  const json* factor = config_reader::member(*p, "factor");
  require(factor != nullptr, in.source(), ": ", key, " of type yarn has no factor");
  c.rope.factor = in.to_number(*factor, field("factor"));
  const json* original = config_reader::member(*p, "original_max_position_embeddings");
  c.rope.original_max_position = original != nullptr
                                     ? in.to_integer(*original, field("original_max_position_embeddings"))
                                     : c.max_position_embeddings;
  c.rope.beta_fast = in.number_or(*p, "beta_fast", 32.0, field("beta_fast"));
  c.rope.beta_slow = in.number_or(*p, "beta_slow", 1.0, field("beta_slow"));
  c.rope.mscale = in.number_or(*p, "mscale", 1.0, field("mscale"));
  c.rope.mscale_all_dim = in.number_or(*p, "mscale_all_dim", 0.0, field("mscale_all_dim"));
  require(config_reader::member(*p, "attention_factor") == nullptr, in.source(), ": ", key,
          ".attention_factor is not supported (latte derives it from mscale and mscale_all_dim)");
}

inline void read_quantization(const config_reader& in, const nlohmann::json& root, model::config& c) {
  using json = nlohmann::json;
  const json* q = config_reader::member(root, "quantization_config");
  if (q == nullptr) return;
  if (!q->is_object()) in.wrong_type("quantization_config", *q, "an object or null");
  const json& method = in.required(*q, "quant_method", "quantization_config.quant_method");
  const std::string& m = in.to_string(method, "quantization_config.quant_method");
  require(m == "fp8", in.source(), ": unsupported quantization_config.quant_method '", m, "' (expected fp8)");
  if (const json* fmt = config_reader::member(*q, "fmt")) {
    const std::string& f = in.to_string(*fmt, "quantization_config.fmt");
    require(f == "e4m3", in.source(), ": unsupported quantization_config.fmt '", f, "' (expected e4m3)");
  }
  if (const json* scheme = config_reader::member(*q, "activation_scheme")) {
    const std::string& s = in.to_string(*scheme, "quantization_config.activation_scheme");
    require(s == "dynamic", in.source(), ": unsupported quantization_config.activation_scheme '", s,
            "' (expected dynamic)");
  }
  c.quantization.enabled = true;
  if (const json* block = config_reader::member(*q, "weight_block_size")) {
    if (!block->is_array() || block->size() != 2)
      in.wrong_type("quantization_config.weight_block_size", *block, "an array [rows, cols]");
    c.quantization.block_rows = in.to_integer((*block)[0], "quantization_config.weight_block_size[0]");
    c.quantization.block_cols = in.to_integer((*block)[1], "quantization_config.weight_block_size[1]");
  }
}

// bos/eos: an integer, null (keep the default) or a list (its first entry).
inline void read_token_id(const config_reader& in, const nlohmann::json& root, std::string_view key,
                          std::int64_t& out) {
  const nlohmann::json* v = config_reader::member(root, key);
  if (v == nullptr) return;
  if (v->is_array()) {
    if (v->empty()) return;
    out = in.to_integer((*v)[0], std::string(key) + "[0]");
    return;
  }
  out = in.to_integer(*v, key);
}

}  // namespace detail

// Parses the config.json text `json_text`; `source_name` (a path) names it in errors.
inline model::config parse_config(std::string_view json_text, std::string_view source_name) {
  using json = nlohmann::json;
  const json root = detail::parse_json_unique_keys(json_text, source_name, "config");
  const detail::config_reader in(source_name);
  if (!root.is_object()) fail(source_name, ": config is ", detail::json_kind(root), ", expected a JSON object");

  model::config c;
  std::string model_type;
  if (const json* t = detail::config_reader::member(root, "model_type")) model_type = in.to_string(*t, "model_type");
  const bool v2 = model_type == "deepseek_v2";

  c.vocab_size = in.integer(root, "vocab_size");
  c.hidden_size = in.integer(root, "hidden_size");
  c.num_hidden_layers = in.integer(root, "num_hidden_layers", detail::config_reader::max_layers);
  c.num_attention_heads = in.integer(root, "num_attention_heads");
  c.kv_lora_rank = in.integer(root, "kv_lora_rank");
  c.qk_nope_head_dim = in.integer(root, "qk_nope_head_dim");
  c.qk_rope_head_dim = in.integer(root, "qk_rope_head_dim");
  c.v_head_dim = in.integer(root, "v_head_dim");
  c.max_position_embeddings = in.integer(root, "max_position_embeddings");
  {
    const json& q = in.required(root, "q_lora_rank", "q_lora_rank");
    c.q_lora_rank = q.is_null() ? 0 : in.to_integer(q, "q_lora_rank");
  }

  c.intermediate_size = in.integer_or(root, "intermediate_size", 0);
  c.moe_intermediate_size = in.integer_or(root, "moe_intermediate_size", 0);
  c.num_key_value_heads = in.integer_or(root, "num_key_value_heads", c.num_attention_heads);
  c.n_routed_experts = in.integer_or(root, "n_routed_experts", 0);
  c.n_shared_experts = in.integer_or(root, "n_shared_experts", 0);
  c.num_experts_per_tok = in.integer_or(root, "num_experts_per_tok", 0);
  c.n_group = in.integer_or(root, "n_group", 1);
  c.topk_group = in.integer_or(root, "topk_group", 1);
  c.moe_layer_freq = in.integer_or(root, "moe_layer_freq", 1);
  c.first_k_dense_replace = in.integer_or(root, "first_k_dense_replace", 0, detail::config_reader::max_layers);
  c.num_nextn_predict_layers = in.integer_or(root, "num_nextn_predict_layers", 0, detail::config_reader::max_layers);

  c.scoring = v2 ? scoring_func::softmax : scoring_func::sigmoid;
  if (const json* s = detail::config_reader::member(root, "scoring_func")) {
    const std::string& name = in.to_string(*s, "scoring_func");
    if (name == "sigmoid")
      c.scoring = scoring_func::sigmoid;
    else if (name == "softmax")
      c.scoring = scoring_func::softmax;
    else
      fail(source_name, ": unsupported scoring_func '", name, "' (expected sigmoid or softmax)");
  }
  c.topk_method = v2 ? "greedy" : "noaux_tc";
  if (const json* m = detail::config_reader::member(root, "topk_method")) {
    const std::string& name = in.to_string(*m, "topk_method");
    require(name == "noaux_tc" || name == "greedy" || name == "group_limited_greedy", source_name,
            ": unsupported topk_method '", name, "' (expected noaux_tc, greedy or group_limited_greedy)");
    c.topk_method = name;
  }
  c.norm_topk_prob = in.bool_or(root, "norm_topk_prob", false);
  c.routed_scaling_factor = in.number_or(root, "routed_scaling_factor", 1.0, "routed_scaling_factor");
  c.rms_norm_eps = in.number_or(root, "rms_norm_eps", 1e-6, "rms_norm_eps");
  c.tie_word_embeddings = in.bool_or(root, "tie_word_embeddings", false);
  c.rope_interleave = in.bool_or(root, "rope_interleave", true) ? rope_layout::interleaved_pairs : rope_layout::halves;
  detail::read_token_id(in, root, "bos_token_id", c.bos_token_id);
  detail::read_token_id(in, root, "eos_token_id", c.eos_token_id);

  if (const json* act = detail::config_reader::member(root, "hidden_act")) {
    const std::string& name = in.to_string(*act, "hidden_act");
    require(name == "silu", source_name, ": unsupported hidden_act '", name, "' (expected silu)");
  }
  require(!in.bool_or(root, "attention_bias", false), source_name, ": attention_bias true is not supported");

  detail::read_rope(in, root, c);
  detail::read_quantization(in, root, c);

  try {
    c.validate();
  } catch (const error& e) {
    std::string_view message = e.what();
    if (message.starts_with("config: ")) message.remove_prefix(8);
    fail(source_name, ": ", message);
  }
  return c;
}

// Reads `path`: a config.json, or a folder holding one.
inline model::config load_config(const std::filesystem::path& path) {
  std::error_code ec;
  const std::filesystem::path file =
      std::filesystem::is_directory(path, ec) ? path / "config.json" : path;
  const mapped_file bytes(file);
  const std::span<const std::byte> b = bytes.bytes();
  return parse_config(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()), file.string());
}

}  // namespace latte::io

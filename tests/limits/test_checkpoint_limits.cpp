// Model folders that claim absurd sizes are refused on the way a program loads them —
// config.json -> latte::io::checkpoint -> checkpoint_weights -> model::deepseek_v3 — with a
// message naming the file and the tensor or field, and before anything big is allocated (the
// largest operator new request is recorded). The safetensors reader's own cases, one malformed
// header each, are tests/io's; these are the same claims seen from the top.

#include <catch2/catch.hpp>

#include <string>

#include "allocation_probe.hpp"
#include "limits_support.hpp"

using Catch::Matchers::Contains;
using limits_test::largest_allocation;
using limits_test::two_to;

namespace {

// Nothing near the claimed sizes: the biggest request stays under 16 MiB (the tiny model's own
// tensors are mapped, not copied).
constexpr std::size_t small_allocation = std::size_t(16) << 20;

// A model folder: the tiny checkpoint's config.json and a model.safetensors of `header` over
// `data_bytes` bytes.
limits_test::fs::path folder_with(const std::string& name, const std::string& header, std::size_t data_bytes) {
  const auto dir = limits_test::scratch_dir(name);
  limits_test::write_text(dir / "config.json", limits_test::read_text(limits_test::tiny_dir() / "config.json"));
  limits_test::write_safetensors(dir / "model.safetensors", header, data_bytes);
  return dir;
}

}  // namespace

TEST_CASE("a checkpoint claiming a tensor of 2^60 elements is refused before allocating", "[limits][checkpoint]") {
  // [2^30, 2^30] bf16 = 2^61 bytes claimed over 8 bytes of data.
  const auto dir = folder_with(
      "huge_tensor",
      R"({"model.embed_tokens.weight":{"dtype":"BF16","shape":[1073741824,1073741824],"data_offsets":[0,8]}})", 8);
  largest_allocation = 0;
  CHECK_THROWS_AS(limits_test::load_model(dir), latte::error);
  CHECK_THROWS_WITH(limits_test::load_model(dir),
                    Contains((dir / "model.safetensors").string()) && Contains("tensor 'model.embed_tokens.weight'") &&
                        Contains("shape [1073741824, 1073741824] of BF16 needs 2305843009213693952 bytes") &&
                        Contains("data_offsets [0, 8] hold 8"));
  CHECK(largest_allocation.load() < small_allocation);

  // The same claim backed by offsets that match it: they run past the end of the file.
  const auto dir2 = folder_with(
      "huge_tensor_offsets",
      R"({"model.embed_tokens.weight":{"dtype":"BF16","shape":[1073741824,1073741824],"data_offsets":[0,2305843009213693952]}})",
      8);
  largest_allocation = 0;
  CHECK_THROWS_WITH(limits_test::load_model(dir2), Contains((dir2 / "model.safetensors").string()) &&
                                                       Contains("out of range: the data section holds 8 bytes"));
  CHECK(largest_allocation.load() < small_allocation);

  // Element counts past 2^64 are refused by the multiplication's overflow check.
  const auto dir3 = folder_with(
      "overflowing_shape",
      R"({"model.embed_tokens.weight":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", 8);
  largest_allocation = 0;
  CHECK_THROWS_WITH(limits_test::load_model(dir3),
                    Contains("tensor 'model.embed_tokens.weight'") && Contains("has more than 2^62 elements"));
  CHECK(largest_allocation.load() < small_allocation);
}

TEST_CASE("a checkpoint claiming an offset of 2^63 is refused before allocating", "[limits][checkpoint]") {
  const auto dir = folder_with(
      "huge_offset",
      R"({"model.norm.weight":{"dtype":"F32","shape":[2],"data_offsets":[9223372036854775808,9223372036854775816]}})", 8);
  largest_allocation = 0;
  CHECK_THROWS_WITH(limits_test::load_model(dir),
                    Contains((dir / "model.safetensors").string()) && Contains("tensor 'model.norm.weight'") &&
                        Contains("data_offsets [9223372036854775808, 9223372036854775816] out of range"));
  CHECK(largest_allocation.load() < small_allocation);

  // 2^61 floats from offset 0 to 2^63: consistent with the shape, not with the file.
  const auto dir2 = folder_with(
      "huge_extent", R"({"model.norm.weight":{"dtype":"F32","shape":[2305843009213693952],"data_offsets":[0,9223372036854775808]}})",
      8);
  largest_allocation = 0;
  CHECK_THROWS_WITH(limits_test::load_model(dir2), Contains("data_offsets [0, 9223372036854775808] out of range"));
  CHECK(largest_allocation.load() < small_allocation);

  // Offsets beyond 2^64 are not integers a reader can hold.
  const auto dir3 = folder_with(
      "offset_past_2_64",
      R"({"model.norm.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551624]}})", 8);
  CHECK_THROWS_WITH(limits_test::load_model(dir3),
                    Contains("tensor 'model.norm.weight'") && Contains("expected a non-negative integer"));
}

TEST_CASE("a header length of 2^63 is refused before allocating", "[limits][checkpoint]") {
  const auto dir = limits_test::scratch_dir("huge_header");
  limits_test::write_text(dir / "config.json", limits_test::read_text(limits_test::tiny_dir() / "config.json"));
  std::string bytes(8, '\0');
  bytes[7] = '\x80';  // little-endian 2^63
  bytes += R"({"model.norm.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  limits_test::write_text(dir / "model.safetensors", bytes);
  largest_allocation = 0;
  CHECK_THROWS_WITH(limits_test::load_model(dir),
                    Contains("header length 9223372036854775808 exceeds the limit of 100000000 bytes"));
  CHECK(largest_allocation.load() < small_allocation);
}

TEST_CASE("a sharded checkpoint with an absurd shard is refused, naming the shard", "[limits][checkpoint]") {
  const auto dir = limits_test::scratch_dir("huge_shard");
  limits_test::write_text(dir / "config.json", limits_test::read_text(limits_test::tiny_dir() / "config.json"));
  limits_test::write_text(dir / "model.safetensors.index.json", R"({"metadata": {"total_size": 16},
    "weight_map": {"model.norm.weight": "model-00001-of-00002.safetensors",
                   "model.embed_tokens.weight": "model-00002-of-00002.safetensors"}})");
  limits_test::write_safetensors(dir / "model-00001-of-00002.safetensors",
                                 R"({"model.norm.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8);
  limits_test::write_safetensors(
      dir / "model-00002-of-00002.safetensors",
      R"({"model.embed_tokens.weight":{"dtype":"F32","shape":[1152921504606846976],"data_offsets":[0,8]}})", 8);
  largest_allocation = 0;
  CHECK_THROWS_WITH(limits_test::load_model(dir),
                    Contains((dir / "model-00002-of-00002.safetensors").string()) &&
                        Contains("shape [1152921504606846976] of F32 needs 4611686018427387904 bytes"));
  CHECK(largest_allocation.load() < small_allocation);
}

TEST_CASE("a config.json claiming absurd sizes is refused before allocating", "[limits][checkpoint][config]") {
  // At the reader's bounds (2^31 - 1 for sizes, 2^16 layers) the config reads, and the model
  // refuses it against the checkpoint's tensors, naming the first one that disagrees; past them,
  // the reader refuses the field. Either way nothing is allocated by the claimed size.
  const std::int64_t bound = (std::int64_t(1) << 31) - 1, huge = static_cast<std::int64_t>(two_to(40));
  struct claim {
    const char* field;
    std::int64_t value;
    const char* message;
  };
  for (const claim& c :
       {claim{"vocab_size", bound, "tensor 'model.embed_tokens.weight' is [1024, 256], expected [2147483647, 256]"},
        claim{"hidden_size", bound, "tensor 'model.embed_tokens.weight' is [1024, 256], expected [1024, 2147483647]"},
        claim{"intermediate_size", bound,
              "tensor 'model.layers.0.mlp.gate_proj.weight' is [512, 256], expected [2147483647, 256]"},
        claim{"num_attention_heads", bound, "tensor 'model.layers.0.self_attn.q_b_proj.weight' is [384, 96], expected"},
        claim{"n_routed_experts", bound - 3,  // divisible by n_group 4
              "tensor 'model.layers.1.mlp.gate.e_score_correction_bias' is [16], expected [1, 2147483644]"},
        claim{"num_hidden_layers", std::int64_t(1) << 16, "missing tensor 'model.layers.4."},
        claim{"vocab_size", huge, "vocab_size = 1099511627776 exceeds 2147483647"},
        claim{"num_hidden_layers", huge, "num_hidden_layers = 1099511627776 exceeds 65536"},
        claim{"max_position_embeddings", huge, "max_position_embeddings = 1099511627776 exceeds 2147483647"}}) {
    INFO(c.field << " = " << c.value);
    largest_allocation = 0;
    CHECK_THROWS_WITH(limits_test::load_tiny_with_config(limits_test::tiny_config_with({{c.field, c.value}})),
                      Contains(c.message));
    CHECK(largest_allocation.load() < small_allocation);
  }
}

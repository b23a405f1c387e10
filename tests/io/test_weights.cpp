// Weight sources: checkpoint_weights over the tiny checkpoints (shape checks, fp8 block scales)
// and buffer_weights over caller memory.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <latte/io/buffer_weights.hpp>
#include <latte/io/checkpoint_weights.hpp>
#include <latte/io/fp8_block.hpp>
#include <latte/io/hub_config.hpp>
#include <latte/io/safetensors_writer.hpp>

#include "io_test_support.hpp"

using Catch::Matchers::Contains;
using latte::dtype;
using latte::io::checkpoint;
using latte::io::checkpoint_weights;

TEST_CASE("checkpoint_weights over the bf16 checkpoint", "[io][weights]") {
  const auto dir = io_test::data_dir() / "dsv3-tiny";
  const latte::model::config c = latte::io::load_config(dir);
  checkpoint_weights w(checkpoint(dir), c);
  latte::model::weight_source& source = w;

  const latte::weight_view q_b = source.get("model.layers.0.self_attn.q_b_proj.weight", 8 * 48, 96);
  CHECK(q_b.type == dtype::bf16);
  CHECK(q_b.rows == 384);
  CHECK(q_b.cols == 96);
  CHECK(q_b.row_stride == 96);
  CHECK_FALSE(q_b.has_block_scales());
  CHECK(q_b.data == w.files().at("model.layers.0.self_attn.q_b_proj.weight").data);

  const latte::weight_view norm = source.get("model.norm.weight", 1, 256);  // 1-D tensors are [1, n]
  CHECK(norm.rows == 1);
  CHECK(norm.cols == 256);
  const latte::weight_view bias = source.get("model.layers.1.mlp.gate.e_score_correction_bias", 1, 16);
  CHECK(bias.type == dtype::f32);

  CHECK(source.contains("model.layers.0.self_attn.q_a_proj.weight"));
  CHECK_FALSE(source.contains("model.layers.0.self_attn.q_proj.weight"));
  source.release("model.norm.weight");  // no effect on a mapped checkpoint
  CHECK(source.get("model.norm.weight", 1, 256).data == norm.data);
}

TEST_CASE("checkpoint_weights attaches fp8 block scales", "[io][weights][fp8]") {
  const auto dir = io_test::data_dir() / "dsv3-tiny-fp8";
  const latte::model::config c = latte::io::load_config(dir);
  checkpoint_weights w(checkpoint(dir), c);
  CHECK(w.block() == 128);
  // q_b_proj is [384, 96]: scale grid [3, 1], the last row block full, the column block partial.
  const latte::weight_view q_b = w.get("model.layers.0.self_attn.q_b_proj.weight", 384, 96);
  CHECK(q_b.type == dtype::f8_e4m3);
  REQUIRE(q_b.has_block_scales());
  CHECK(q_b.scale_cols == 1);
  CHECK(q_b.block == 128);
  CHECK(q_b.scale_inv ==
        reinterpret_cast<const float*>(w.files().at("model.layers.0.self_attn.q_b_proj.weight_scale_inv").data));
  // down_proj of the dense MLP is [256, 512]: grid [2, 4].
  const latte::weight_view down = w.get("model.layers.0.mlp.down_proj.weight", 256, 512);
  CHECK(down.scale_cols == 4);
  CHECK(down.scale_at(255, 511) == down.scale_inv[1 * 4 + 3]);
  // Norms and the embedding stay bf16 without scales.
  CHECK_FALSE(w.get("model.embed_tokens.weight", 1024, 256).has_block_scales());
}

TEST_CASE("bad weights: missing tensor", "[io][weights][bad]") {
  checkpoint_weights w(checkpoint(io_test::data_dir() / "dsv3-tiny"));
  CHECK_THROWS_WITH(w.get("model.layers.0.self_attn.q_proj.weight", 384, 256),
                    Contains("dsv3-tiny: missing tensor 'model.layers.0.self_attn.q_proj.weight' (expected [384, 256])"));
}

TEST_CASE("bad weights: tensor shape disagreeing with the request", "[io][weights][bad]") {
  checkpoint_weights w(checkpoint(io_test::data_dir() / "dsv3-tiny"));
  CHECK_THROWS_WITH(w.get("model.layers.0.self_attn.q_b_proj.weight", 96, 384),
                    Contains("tensor 'model.layers.0.self_attn.q_b_proj.weight' is [384, 96], expected [96, 384]"));
  CHECK_THROWS_WITH(w.get("model.norm.weight", 256, 1), Contains("'model.norm.weight' is [256], expected [256, 1]"));

  const auto dir = io_test::scratch_dir("weights_shapes");
  const std::vector<float> v(8);
  const std::vector<std::int64_t> ids(8);
  latte::io::write_safetensors(dir / "model.safetensors", {latte::io::tensor_to_write::of("cube", {2, 2, 2}, v),
                                                          latte::io::tensor_to_write::of("ids", {8}, ids)});
  checkpoint_weights odd{checkpoint(dir)};
  CHECK_THROWS_WITH(odd.get("cube", 4, 2), Contains("tensor 'cube' is [2, 2, 2], expected [4, 2]"));
  CHECK_THROWS_WITH(odd.get("ids", 1, 8), Contains("tensor 'ids' is I64, expected a floating-point weight"));
}

TEST_CASE("bad weights: fp8 weight without scale_inv", "[io][weights][bad]") {
  const auto dir = io_test::scratch_dir("weights_fp8");
  const std::vector<latte::fp8_e4m3> q(200 * 300, latte::fp8_e4m3(1.0f));
  const std::vector<float> good_scales(2 * 3, 0.5f), bad_scales(2 * 2, 0.5f);
  const std::vector<latte::bf16> bf16_scales(2 * 3);
  latte::io::write_safetensors(dir / "model.safetensors",
                               {latte::io::tensor_to_write::of("bare.weight", {200, 300}, q),
                                latte::io::tensor_to_write::of("good.weight", {200, 300}, q),
                                latte::io::tensor_to_write::of("good.weight_scale_inv", {2, 3}, good_scales),
                                latte::io::tensor_to_write::of("short.weight", {200, 300}, q),
                                latte::io::tensor_to_write::of("short.weight_scale_inv", {2, 2}, bad_scales),
                                latte::io::tensor_to_write::of("typed.weight", {200, 300}, q),
                                latte::io::tensor_to_write::of("typed.weight_scale_inv", {2, 3}, bf16_scales)});
  checkpoint_weights w{checkpoint(dir)};
  CHECK_THROWS_WITH(w.get("bare.weight", 200, 300),
                    Contains("fp8 tensor 'bare.weight' has no block scales 'bare.weight_scale_inv'"));
  CHECK_THROWS_WITH(w.get("short.weight", 200, 300),
                    Contains("block scales 'short.weight_scale_inv' are [2, 2], expected [2, 3] for a [200, 300] "
                             "weight in 128 x 128 blocks"));
  CHECK_THROWS_WITH(w.get("typed.weight", 200, 300),
                    Contains("block scales 'typed.weight_scale_inv' are BF16, expected F32"));
  const latte::weight_view good = w.get("good.weight", 200, 300);
  CHECK(good.scale_cols == 3);
  const latte::host_buffer<float> values = latte::io::dequantize(good);
  CHECK(values[0] == 0.5f);
  CHECK(values[200 * 300 - 1] == 0.5f);

  // A block size from the config changes the expected grid.
  checkpoint_weights blocks64(checkpoint(dir), 64);
  CHECK_THROWS_WITH(blocks64.get("good.weight", 200, 300), Contains("expected [4, 5]"));
  latte::model::fp8_quantization rectangular;
  rectangular.enabled = true;
  rectangular.block_cols = 64;
  CHECK_THROWS_WITH(checkpoint_weights(checkpoint(dir), rectangular), Contains("128 x 64 are not supported"));
}

TEST_CASE("buffer_weights serves caller-owned views by name", "[io][weights]") {
  const std::vector<float> a = io_test::random_floats(6 * 4, 3);
  const latte::io::fp8_block_weight q = latte::io::quantize_fp8_blocks(a.data(), 6, 4, 2);
  latte::io::buffer_weights w;
  w.add("a", latte::make_weight_view(a.data(), 6, 4));
  w.add("q", q.view());
  latte::model::weight_source& source = w;
  CHECK(source.contains("a"));
  CHECK_FALSE(source.contains("b"));
  CHECK(source.get("a", 6, 4).data == a.data());
  CHECK(source.get("q", 6, 4).has_block_scales());
  CHECK(w.size() == 2);
  CHECK_THROWS_WITH(source.get("a", 4, 6), Contains("buffer_weights: tensor 'a' is [6, 4], expected [4, 6]"));
  CHECK_THROWS_WITH(source.get("b", 1, 1), Contains("buffer_weights: missing tensor 'b' (expected [1, 1])"));
  CHECK_THROWS_WITH(w.add("a", latte::make_weight_view(a.data(), 6, 4)), Contains("'a' is registered twice"));
  w.assign("a", latte::make_weight_view(a.data(), 4, 6));
  CHECK(source.get("a", 4, 6).rows == 4);
  CHECK(w.erase("a"));
  CHECK_FALSE(w.erase("a"));
  CHECK_FALSE(source.contains("a"));
}

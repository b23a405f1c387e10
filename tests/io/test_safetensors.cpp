// safetensors reading and writing: the repository's checkpoints and reference files, a writer ->
// reader round trip, and one test for each kind of malformed file.

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <latte/io/hub_config.hpp>
#include <latte/io/reference_file.hpp>
#include <latte/io/safetensors.hpp>
#include <latte/io/safetensors_writer.hpp>

#include "io_test_support.hpp"

using Catch::Matchers::Contains;
using latte::dtype;
using latte::index_t;
using latte::io::safetensors_file;

namespace {

struct expected_tensor {
  dtype type;
  std::vector<index_t> shape;
};

// Every tensor of a DeepSeek-V3 checkpoint (SPEC.md section 8) for `c`; fp8 checkpoints store
// the attention and MLP linear weights as F8_E4M3 with their block scales.
std::map<std::string, expected_tensor> expected_layout(const latte::model::config& c) {
  std::map<std::string, expected_tensor> out;
  const bool fp8 = c.quantization.enabled;
  const index_t b = c.quantization.block_rows;
  auto norm = [&](const std::string& name, index_t n) { out[name] = {dtype::bf16, {n}}; };
  auto linear = [&](const std::string& name, index_t rows, index_t cols) {
    if (!fp8) {
      out[name] = {dtype::bf16, {rows, cols}};
      return;
    }
    out[name] = {dtype::f8_e4m3, {rows, cols}};
    out[name + "_scale_inv"] = {dtype::f32, {(rows + b - 1) / b, (cols + b - 1) / b}};
  };
  const index_t h = c.hidden_size, heads = c.num_attention_heads;
  out["model.embed_tokens.weight"] = {dtype::bf16, {c.vocab_size, h}};
  out["lm_head.weight"] = {dtype::bf16, {c.vocab_size, h}};
  norm("model.norm.weight", h);
  for (index_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    norm(p + "input_layernorm.weight", h);
    norm(p + "post_attention_layernorm.weight", h);
    linear(p + "self_attn.q_a_proj.weight", c.q_lora_rank, h);
    norm(p + "self_attn.q_a_layernorm.weight", c.q_lora_rank);
    linear(p + "self_attn.q_b_proj.weight", heads * c.qk_head_dim(), c.q_lora_rank);
    linear(p + "self_attn.kv_a_proj_with_mqa.weight", c.kv_lora_rank + c.qk_rope_head_dim, h);
    norm(p + "self_attn.kv_a_layernorm.weight", c.kv_lora_rank);
    linear(p + "self_attn.kv_b_proj.weight", heads * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);
    linear(p + "self_attn.o_proj.weight", h, heads * c.v_head_dim);
    if (!c.is_moe_layer(l)) {
      linear(p + "mlp.gate_proj.weight", c.intermediate_size, h);
      linear(p + "mlp.up_proj.weight", c.intermediate_size, h);
      linear(p + "mlp.down_proj.weight", h, c.intermediate_size);
      continue;
    }
    out[p + "mlp.gate.weight"] = {dtype::bf16, {c.n_routed_experts, h}};
    out[p + "mlp.gate.e_score_correction_bias"] = {dtype::f32, {c.n_routed_experts}};
    const index_t m = c.moe_intermediate_size;
    for (index_t e = 0; e < c.n_routed_experts; ++e) {
      const std::string q = p + "mlp.experts." + std::to_string(e) + ".";
      linear(q + "gate_proj.weight", m, h);
      linear(q + "up_proj.weight", m, h);
      linear(q + "down_proj.weight", h, m);
    }
    const index_t s = m * c.n_shared_experts;
    linear(p + "mlp.shared_experts.gate_proj.weight", s, h);
    linear(p + "mlp.shared_experts.up_proj.weight", s, h);
    linear(p + "mlp.shared_experts.down_proj.weight", h, s);
  }
  return out;
}

void check_layout(const std::string& folder, std::size_t expected_count) {
  const auto dir = io_test::data_dir() / folder;
  const latte::model::config c = latte::io::load_config(dir / "config.json");
  const auto expected = expected_layout(c);
  const safetensors_file f = safetensors_file::open(dir / "model.safetensors");
  CHECK(f.size() == expected_count);
  CHECK(expected.size() == expected_count);
  std::set<std::string> seen;
  for (const latte::io::tensor_record& t : f.tensors()) {
    INFO(t.name);
    const auto it = expected.find(t.name);
    REQUIRE(it != expected.end());
    CHECK(t.type == it->second.type);
    CHECK(t.shape == it->second.shape);
    CHECK(t.bytes == static_cast<std::size_t>(t.elements()) * latte::size_of(t.type));
    CHECK(reinterpret_cast<std::uintptr_t>(t.data) % latte::size_of(t.type) == 0);
    seen.insert(t.name);
  }
  CHECK(seen.size() == expected.size());
  CHECK(f.metadata().at("format") == "pt");
}

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

safetensors_file view_of(const std::vector<std::byte>& image) { return safetensors_file::view(image, "test.safetensors"); }

}  // namespace

TEST_CASE("the tiny bf16 checkpoint holds every tensor of the DeepSeek-V3 layout", "[io][safetensors]") {
  check_layout("dsv3-tiny", 201);
}

TEST_CASE("the tiny fp8 checkpoint holds fp8 linear weights with their block scales", "[io][safetensors]") {
  check_layout("dsv3-tiny-fp8", 377);
  const safetensors_file f = safetensors_file::open(io_test::data_dir() / "dsv3-tiny-fp8" / "model.safetensors");
  std::size_t fp8 = 0;
  for (const auto& t : f.tensors()) fp8 += t.type == dtype::f8_e4m3;
  CHECK(fp8 == 176);
}

TEST_CASE("reference files list every tensor of meta.json with its shape", "[io][safetensors]") {
  for (const char* folder : {"dsv3-tiny", "dsv3-tiny-fp8"}) {
    INFO(folder);
    const auto dir = io_test::data_dir() / folder;
    const nlohmann::json meta = read_json(dir / "meta.json");
    const auto ref = latte::io::reference_file::open(dir / "reference.safetensors");
    CHECK(ref.names().size() == meta["reference_keys"].size());
    for (const auto& [name, shape] : meta["reference_keys"].items()) {
      INFO(name);
      REQUIRE(ref.contains(name));
      CHECK(ref.shape(name) == shape.get<std::vector<index_t>>());
    }
    const std::vector<std::int64_t> ids = ref.integers("input_ids", {2, 96});
    REQUIRE(ids.size() == 192);
    for (std::int64_t id : ids) CHECK((id >= 0 && id < 1024));
    const std::vector<float> logits = ref.floats("logits", {2, 96, 1024});
    double sum = 0;
    for (float v : logits) sum += std::fabs(v);
    CHECK(std::isfinite(sum));
    CHECK(sum > 0);
    CHECK_THROWS_WITH(ref.floats("logits", {2, 96}), Contains("'logits' is [2, 96, 1024], expected [2, 96]"));
    CHECK_THROWS_WITH(ref.integers("logits"), Contains("expected an integer tensor"));
  }
}

TEST_CASE("kernel reference files: attention cases and rope tables", "[io][safetensors]") {
  const auto dir = io_test::data_dir() / "kernels";
  const auto attention = latte::io::reference_file::open(dir / "attention.safetensors");
  CHECK(attention.names().size() == 18);
  for (const auto& [variant, kv] : std::map<std::string, index_t>{{"mha", 8}, {"gqa", 2}, {"mqa", 1}}) {
    CHECK(attention.shape(variant + ".q") == std::vector<index_t>{2, 8, 77, 64});
    CHECK(attention.shape(variant + ".k") == std::vector<index_t>{2, kv, 77, 64});
    CHECK(attention.shape(variant + ".v") == std::vector<index_t>{2, kv, 77, 64});
    CHECK(attention.shape(variant + ".out_causal") == std::vector<index_t>{2, 8, 77, 64});
    CHECK(attention.shape(variant + ".out_chunk16") == std::vector<index_t>{2, 8, 16, 64});
    CHECK(attention.shape(variant + ".out_decode") == std::vector<index_t>{2, 8, 1, 64});
    CHECK(attention.at(variant + ".q").type == dtype::f64);
  }
  const auto rope = latte::io::reference_file::open(dir / "rope.safetensors");
  CHECK(rope.integers("positions") ==
        std::vector<std::int64_t>{0, 1, 2, 17, 4095, 4096, 4097, 32768, 100000, 163839});
  for (const char* setting : {"dsv3_yarn", "dsv2_yarn", "default_1e4", "default_5e5"}) {
    INFO(setting);
    const std::string s = setting;
    CHECK(rope.shape(s + ".inv_freq") == std::vector<index_t>{32});
    CHECK(rope.shape(s + ".cos") == std::vector<index_t>{10, 32});
    CHECK(rope.shape(s + ".sin") == std::vector<index_t>{10, 32});
    CHECK(rope.doubles(s + ".inv_freq")[0] == 1.0);  // theta^0
  }
}

TEST_CASE("writer -> reader round trip over every dtype, scalars, empty tensors and metadata",
          "[io][safetensors][writer]") {
  const std::vector<float> f32 = io_test::random_floats(3 * 5, 1);
  std::vector<double> f64(7);
  for (std::size_t i = 0; i < f64.size(); ++i) f64[i] = 0.1 * static_cast<double>(i) - 0.3;
  std::vector<latte::bf16> b16;
  std::vector<latte::fp16> h16;
  std::vector<latte::fp8_e4m3> f8;
  for (float v : f32) {
    b16.push_back(latte::bf16(v));
    h16.push_back(latte::fp16(v));
    f8.push_back(latte::fp8_e4m3(v));
  }
  const std::vector<std::int64_t> i64{-1, 0, 1ll << 40};
  const std::vector<std::int32_t> i32{7, -7};
  const std::vector<std::uint8_t> u8{1, 2, 3};  // 3 bytes: the writer must keep later tensors aligned
  const std::vector<float> scalar{2.5f};
  const std::vector<float> none;

  using latte::io::tensor_to_write;
  const std::vector<tensor_to_write> tensors{
      tensor_to_write::of("bytes", {3}, u8),           tensor_to_write::of("f32", {3, 5}, f32),
      tensor_to_write::of("bf16", {5, 3}, b16),        tensor_to_write::of("f16", {15}, h16),
      tensor_to_write::of("fp8", {3, 5}, f8),          tensor_to_write::of("f64", {7}, f64),
      tensor_to_write::of("i64", {3}, i64),            tensor_to_write::of("i32", {1, 2}, i32),
      tensor_to_write::of("scalar", {}, scalar),       tensor_to_write::of("empty", {0, 4}, none)};
  const auto dir = io_test::scratch_dir("round_trip");
  latte::io::write_safetensors(dir / "all.safetensors", tensors, {{"format", "pt"}, {"note", "round trip"}});

  const safetensors_file f = safetensors_file::open(dir / "all.safetensors");
  REQUIRE(f.size() == tensors.size());
  CHECK(f.metadata().at("note") == "round trip");
  for (const tensor_to_write& t : tensors) {
    INFO(t.name);
    const latte::io::tensor_record& r = f.at(t.name);
    CHECK(r.type == t.type);
    CHECK(r.shape == t.shape);
    REQUIRE(r.bytes == t.data.size());
    CHECK((r.bytes == 0 || std::memcmp(r.data, t.data.data(), r.bytes) == 0));  // memcmp takes no null, even for 0 bytes
    CHECK(reinterpret_cast<std::uintptr_t>(r.data) % latte::size_of(r.type) == 0);
  }
  CHECK(f.at("scalar").elements() == 1);
  CHECK(latte::io::to_floats(f.at("scalar")) == std::vector<float>{2.5f});
  CHECK(latte::io::to_floats(f.at("f32")) == f32);
  CHECK(latte::io::to_doubles(f.at("f64")) == f64);
  CHECK(latte::io::to_integers(f.at("i64")) == i64);
  CHECK(latte::io::to_integers(f.at("bytes")) == std::vector<std::int64_t>{1, 2, 3});

  // The same bytes from memory, viewed or adopted, read the same.
  const std::vector<std::byte> image = latte::io::serialize_safetensors(tensors, {{"format", "pt"}, {"note", "round trip"}});
  CHECK(image == io_test::read_bytes(dir / "all.safetensors"));
  const safetensors_file viewed = view_of(image);
  CHECK(viewed.names() == f.names());
  safetensors_file adopted = safetensors_file::adopt(image, "adopted");
  const std::byte* where = adopted.at("f32").data;
  const safetensors_file moved = std::move(adopted);
  CHECK(moved.at("f32").data == where);
  CHECK(std::memcmp(moved.at("f32").data, f32.data(), f32.size() * sizeof(float)) == 0);
}

TEST_CASE("a copy of the tiny checkpoint through the writer reads back identical", "[io][safetensors][writer]") {
  const auto src = safetensors_file::open(io_test::data_dir() / "dsv3-tiny" / "model.safetensors");
  std::vector<latte::io::tensor_to_write> all;
  for (const auto& t : src.tensors()) all.push_back(latte::io::tensor_to_write::from(t));
  const auto dir = io_test::scratch_dir("copy");
  latte::io::write_safetensors(dir / "model.safetensors", all);
  const auto copy = safetensors_file::open(dir / "model.safetensors");
  REQUIRE(copy.size() == src.size());
  for (const auto& t : src.tensors()) {
    const auto& c = copy.at(t.name);
    CHECK(c.shape == t.shape);
    CHECK(c.type == t.type);
    CHECK(std::memcmp(c.data, t.data, t.bytes) == 0);
  }
}

TEST_CASE("the writer refuses inconsistent tensors", "[io][writer]") {
  const std::vector<float> v(6);
  using latte::io::tensor_to_write;
  const auto dir = io_test::scratch_dir("writer_errors");
  CHECK_THROWS_WITH(latte::io::write_safetensors(dir / "a.safetensors", {tensor_to_write::of("x", {2, 4}, v)}),
                    Contains("'x': shape [2, 4] of F32 needs 32 bytes, given 24"));
  CHECK_THROWS_WITH(latte::io::write_safetensors(dir / "a.safetensors", {tensor_to_write::of("x", {6}, v),
                                                                         tensor_to_write::of("x", {6}, v)}),
                    Contains("'x' given twice"));
  CHECK_THROWS_WITH(latte::io::write_safetensors(dir / "no-such-folder" / "a.safetensors", {tensor_to_write::of("x", {6}, v)}),
                    Contains("cannot write") && Contains("no-such-folder"));
  CHECK_FALSE(std::filesystem::exists(dir / "a.safetensors"));
}

// ---- malformed files: each is refused with a message naming the problem ----

TEST_CASE("bad safetensors: truncated file", "[io][safetensors][bad]") {
  const auto dir = io_test::scratch_dir("truncated");
  io_test::write_text(dir / "five.safetensors", "abcde");
  CHECK_THROWS_WITH(safetensors_file::open(dir / "five.safetensors"),
                    Contains("five.safetensors") && Contains("is 5 bytes, shorter than the 8-byte header length"));
  io_test::write_text(dir / "empty.safetensors", "");
  CHECK_THROWS_WITH(safetensors_file::open(dir / "empty.safetensors"), Contains("is 0 bytes"));

  // A real checkpoint cut short: its last tensors run past the end of the data.
  std::vector<std::byte> bytes = io_test::read_bytes(io_test::data_dir() / "dsv3-tiny" / "model.safetensors");
  bytes.resize(bytes.size() - 100);
  io_test::write_bytes(dir / "cut.safetensors", bytes);
  CHECK_THROWS_WITH(safetensors_file::open(dir / "cut.safetensors"),
                    Contains("cut.safetensors") && Contains("out of range: the data section holds"));
  // Cut inside the header.
  bytes.resize(1000);
  io_test::write_bytes(dir / "cut_header.safetensors", bytes);
  CHECK_THROWS_WITH(safetensors_file::open(dir / "cut_header.safetensors"), Contains("runs past the end of the file"));
}

TEST_CASE("bad safetensors: header length beyond the file or absurd", "[io][safetensors][bad]") {
  const std::string header = R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  CHECK_NOTHROW(view_of(io_test::raw_image(header, 4)));
  CHECK_THROWS_WITH(view_of(io_test::raw_image(header, 4, 1000)),
                    Contains("test.safetensors: header length 1000 runs past the end of the file"));
  CHECK_THROWS_WITH(view_of(io_test::raw_image(header, 4, std::int64_t(1) << 62)),
                    Contains("header length 4611686018427387904 exceeds the limit of 100000000 bytes"));
  std::vector<std::byte> top_bit = io_test::raw_image(header, 4);
  top_bit[7] = std::byte{0x80};
  CHECK_THROWS_WITH(view_of(top_bit), Contains("exceeds the limit"));
  CHECK_THROWS_WITH(view_of(io_test::raw_image("", 0, 0)), Contains("header length is 0"));
}

TEST_CASE("bad safetensors: malformed header JSON", "[io][safetensors][bad]") {
  CHECK_THROWS_WITH(view_of(io_test::raw_image(R"({"x":{"dtype":"F32",)", 4)),
                    Contains("test.safetensors: header is not valid JSON"));
  CHECK_THROWS_WITH(view_of(io_test::raw_image("\xff\xfe{}", 0)), Contains("header is not valid JSON"));
  CHECK_THROWS_WITH(view_of(io_test::raw_image("[1, 2]", 0)), Contains("header is an array, expected a JSON object"));
  CHECK_THROWS_WITH(view_of(io_test::raw_image(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},
                                                  "x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)),
                    Contains("names the key 'x' twice"));
}

TEST_CASE("bad safetensors: wrong field types", "[io][safetensors][bad]") {
  auto image = [](const std::string& entry) { return io_test::raw_image(R"({"w":)" + entry + "}", 4); };
  CHECK_THROWS_WITH(view_of(image("[1]")), Contains("tensor 'w' is an array, expected an object"));
  CHECK_THROWS_WITH(view_of(image(R"({"shape":[1],"data_offsets":[0,4]})")), Contains("tensor 'w' has no dtype"));
  CHECK_THROWS_WITH(view_of(image(R"({"dtype":7,"shape":[1],"data_offsets":[0,4]})")),
                    Contains("'w': dtype is an integer, expected a string"));
  CHECK_THROWS_WITH(view_of(image(R"({"dtype":"F32","data_offsets":[0,4]})")), Contains("'w' has no shape"));
  CHECK_THROWS_WITH(view_of(image(R"({"dtype":"F32","shape":"1","data_offsets":[0,4]})")),
                    Contains("'w': shape is a string, expected an array of non-negative integers"));
  CHECK_THROWS_WITH(view_of(image(R"({"dtype":"F32","shape":[-1],"data_offsets":[0,4]})")),
                    Contains("'w': shape holds an integer, expected a non-negative integer"));
  CHECK_THROWS_WITH(view_of(image(R"({"dtype":"F32","shape":[1.0],"data_offsets":[0,4]})")),
                    Contains("'w': shape holds a floating-point number"));
  CHECK_THROWS_WITH(view_of(image(R"({"dtype":"F32","shape":[1]})")), Contains("'w' has no data_offsets"));
  CHECK_THROWS_WITH(view_of(image(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4,8]})")),
                    Contains("'w': data_offsets is an array of 3, expected an array [begin, end]"));
  CHECK_THROWS_WITH(view_of(image(R"({"dtype":"F32","shape":[1],"data_offsets":[0,"4"]})")),
                    Contains("'w': data_offsets holds a string"));
  CHECK_THROWS_WITH(view_of(image(R"({"dtype":"F32","shape":[1],"data_offsets":[4,0]})")),
                    Contains("data_offsets [4, 0] end before they begin"));
  CHECK_THROWS_WITH(view_of(io_test::raw_image(R"({"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4)),
                    Contains("a tensor has an empty name"));
  CHECK_THROWS_WITH(view_of(io_test::raw_image(R"({"__metadata__":{"format":1}})", 0)),
                    Contains("__metadata__ 'format' is an integer, expected a string"));
  CHECK_THROWS_WITH(view_of(io_test::raw_image(R"({"__metadata__":[]})", 0)),
                    Contains("__metadata__ is an array, expected an object of strings"));
}

TEST_CASE("bad safetensors: unknown dtype", "[io][safetensors][bad]") {
  CHECK_THROWS_WITH(view_of(io_test::raw_image(R"({"w":{"dtype":"F4","shape":[1],"data_offsets":[0,4]}})", 4)),
                    Contains("tensor 'w' has unknown dtype 'F4' (expected one of BF16"));
}

TEST_CASE("bad safetensors: data_offsets out of range", "[io][safetensors][bad]") {
  CHECK_THROWS_WITH(view_of(io_test::raw_image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4)),
                    Contains("tensor 'w': data_offsets [0, 8] out of range: the data section holds 4 bytes"));
  CHECK_THROWS_WITH(
      view_of(io_test::raw_image(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551615]}})", 4)),
      Contains("out of range"));
}

TEST_CASE("bad safetensors: overlapping tensors", "[io][safetensors][bad]") {
  CHECK_THROWS_WITH(view_of(io_test::raw_image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                                                  "b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)),
                    Contains("tensors 'a' (data_offsets [0, 8]) and 'b' (data_offsets [4, 12]) overlap"));
  CHECK_THROWS_WITH(view_of(io_test::raw_image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                                                  "b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8)),
                    Contains("overlap"));
}

TEST_CASE("bad safetensors: gaps and unclaimed bytes in the data section", "[io][safetensors][bad]") {
  CHECK_THROWS_WITH(view_of(io_test::raw_image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},
                                                  "b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12)),
                    Contains("gap in the data section: bytes [4, 8) before tensor 'b' belong to no tensor"));
  CHECK_THROWS_WITH(view_of(io_test::raw_image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)),
                    Contains("bytes [0, 4) before tensor 'a'"));
  CHECK_THROWS_WITH(view_of(io_test::raw_image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 12)),
                    Contains("the data section holds 12 bytes but the tensors end at 4"));
}

TEST_CASE("bad safetensors: dtype size x shape disagrees with the byte range", "[io][safetensors][bad]") {
  CHECK_THROWS_WITH(view_of(io_test::raw_image(R"({"w":{"dtype":"BF16","shape":[3,2],"data_offsets":[0,8]}})", 8)),
                    Contains("tensor 'w': shape [3, 2] of BF16 needs 12 bytes (6 x 2), but data_offsets [0, 8] hold 8"));
}

TEST_CASE("bad safetensors: element counts that overflow", "[io][safetensors][bad]") {
  CHECK_THROWS_WITH(
      view_of(io_test::raw_image(R"({"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}})", 4)),
      Contains("shape [1099511627776, 1099511627776] has more than 2^62 elements"));
  CHECK_THROWS_WITH(
      view_of(io_test::raw_image(R"({"w":{"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]}})", 0)),
      Contains("has more than 2^62 elements"));
}

TEST_CASE("bad safetensors: misaligned tensor", "[io][safetensors][bad]") {
  CHECK_THROWS_WITH(view_of(io_test::raw_image(R"({"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},
                                                  "b":{"dtype":"F32","shape":[1],"data_offsets":[3,7]}})", 7)),
                    Contains("tensor 'b' starts at file byte") && Contains("not aligned to its 4-byte F32 elements"));
  // An unpadded header shifts the whole data section.
  CHECK_THROWS_WITH(
      view_of(io_test::raw_image(R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", 8, -1, false)),
      Contains("not aligned to its 8-byte F64 elements"));
}

TEST_CASE("safetensors: missing tensors and files are named", "[io][safetensors][bad]") {
  const auto f = safetensors_file::open(io_test::data_dir() / "dsv3-tiny" / "model.safetensors");
  CHECK(f.find("model.norm.weight") != nullptr);
  CHECK(f.find("model.layers.9.mlp.gate.weight") == nullptr);
  CHECK_THROWS_WITH(f.at("model.layers.9.mlp.gate.weight"),
                    Contains("model.safetensors: no tensor named 'model.layers.9.mlp.gate.weight'"));
  CHECK_THROWS_WITH(safetensors_file::open(io_test::data_dir() / "nowhere.safetensors"),
                    Contains("cannot open") && Contains("nowhere.safetensors") && Contains("No such file"));
  CHECK_THROWS_WITH(safetensors_file::open(io_test::data_dir()), Contains("is not a regular file"));
}

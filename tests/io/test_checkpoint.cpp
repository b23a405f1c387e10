// Checkpoint folders: a single model.safetensors, a sharded copy with its index, and every way a
// folder or index can be wrong.

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <latte/io/checkpoint.hpp>
#include <latte/io/safetensors_index.hpp>
#include <latte/io/safetensors_writer.hpp>

#include "io_test_support.hpp"

using Catch::Matchers::Contains;
using latte::io::checkpoint;

namespace {

// Writes the tiny checkpoint as `shards` shards plus model.safetensors.index.json into `dir`.
void write_sharded_copy(const std::filesystem::path& dir, int shards) {
  const auto src = latte::io::safetensors_file::open(io_test::data_dir() / "dsv3-tiny" / "model.safetensors");
  std::vector<std::vector<latte::io::tensor_to_write>> parts(static_cast<std::size_t>(shards));
  nlohmann::json index;
  index["metadata"]["total_size"] = 0;
  std::size_t i = 0;
  for (const auto& t : src.tensors()) {
    const std::size_t s = i++ % parts.size();
    parts[s].push_back(latte::io::tensor_to_write::from(t));
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05d.safetensors", s + 1, shards);
    index["weight_map"][t.name] = name;
  }
  for (std::size_t s = 0; s < parts.size(); ++s) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05d.safetensors", s + 1, shards);
    latte::io::write_safetensors(dir / name, parts[s]);
  }
  io_test::write_text(dir / "model.safetensors.index.json", index.dump(2));
}

}  // namespace

TEST_CASE("a folder with model.safetensors opens as a checkpoint", "[io][checkpoint]") {
  const checkpoint c(io_test::data_dir() / "dsv3-tiny");
  CHECK(c.size() == 201);
  CHECK(c.shards().size() == 1);
  CHECK(c.shard_names() == std::vector<std::string>{"model.safetensors"});
  CHECK(c.contains("model.layers.3.mlp.experts.15.down_proj.weight"));
  CHECK(c.at("model.embed_tokens.weight").shape == std::vector<latte::index_t>{1024, 256});
  const std::vector<std::string> names = c.names();
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK_THROWS_WITH(c.at("model.layers.4.input_layernorm.weight"),
                    Contains("dsv3-tiny: checkpoint has no tensor 'model.layers.4.input_layernorm.weight'"));

  // A single file opens too.
  const checkpoint single = checkpoint::open(io_test::data_dir() / "dsv3-tiny-fp8" / "model.safetensors");
  CHECK(single.size() == 377);
}

TEST_CASE("a sharded checkpoint opens through its index and reads the same tensors", "[io][checkpoint]") {
  const auto dir = io_test::scratch_dir("sharded");
  write_sharded_copy(dir, 3);
  const checkpoint sharded(dir);
  CHECK(sharded.shards().size() == 3);
  const checkpoint original(io_test::data_dir() / "dsv3-tiny");
  REQUIRE(sharded.names() == original.names());
  for (const std::string& name : original.names()) {
    const auto& a = original.at(name);
    const auto& b = sharded.at(name);
    INFO(name);
    CHECK(a.type == b.type);
    CHECK(a.shape == b.shape);
    REQUIRE(a.bytes == b.bytes);
    CHECK(std::memcmp(a.data, b.data, a.bytes) == 0);
  }
  // The checkpoint can move; its records stay where they were.
  const latte::io::tensor_record* before = sharded.find("model.norm.weight");
  checkpoint moved = checkpoint::open(dir);
  const latte::io::tensor_record* here = moved.find("model.norm.weight");
  const checkpoint again = std::move(moved);
  CHECK(again.find("model.norm.weight") == here);
  CHECK(before != nullptr);
}

TEST_CASE("the index parser reads weight_map and the distinct shards", "[io][checkpoint]") {
  const auto index = latte::io::parse_safetensors_index(
      R"({"metadata":{"total_size":12},"weight_map":{"a":"s1.safetensors","b":"s2.safetensors","c":"s1.safetensors"}})",
      "index.json");
  CHECK(index.weight_map.size() == 3);
  CHECK(index.shards.size() == 2);
  CHECK(index.weight_map.at("b") == "s2.safetensors");
}

TEST_CASE("bad checkpoint: missing model folder", "[io][checkpoint][bad]") {
  CHECK_THROWS_WITH(checkpoint(io_test::data_dir() / "no-such-model"),
                    Contains("checkpoint") && Contains("no-such-model does not exist"));
  const auto empty = io_test::scratch_dir("empty_model");
  CHECK_THROWS_WITH(checkpoint(empty), Contains("empty_model holds neither model.safetensors nor "
                                                "model.safetensors.index.json"));
}

TEST_CASE("bad checkpoint: index naming a missing shard", "[io][checkpoint][bad]") {
  const auto dir = io_test::scratch_dir("missing_shard");
  write_sharded_copy(dir, 3);
  std::filesystem::remove(dir / "model-00002-of-00003.safetensors");
  CHECK_THROWS_WITH(checkpoint(dir), Contains("model.safetensors.index.json names shard "
                                              "'model-00002-of-00003.safetensors', which is missing"));
}

TEST_CASE("bad checkpoint: index path traversal", "[io][checkpoint][bad]") {
  const auto dir = io_test::scratch_dir("traversal");
  for (const char* shard : {"../model.safetensors", "/etc/passwd", "sub/model.safetensors", "..", ".",
                            "..\\\\model.safetensors", ""}) {
    INFO(shard);
    nlohmann::json index;
    index["weight_map"]["model.norm.weight"] = shard;
    io_test::write_text(dir / "model.safetensors.index.json", index.dump());
    CHECK_THROWS_WITH(checkpoint(dir), Contains("weight_map['model.norm.weight'] names shard") &&
                                           Contains("which is not a plain file name inside the checkpoint folder"));
  }
}

TEST_CASE("bad checkpoint: malformed index JSON", "[io][checkpoint][bad]") {
  const auto dir = io_test::scratch_dir("bad_index");
  const auto index_path = dir / "model.safetensors.index.json";
  auto open_with = [&](const std::string& text) {
    io_test::write_text(index_path, text);
    return checkpoint(dir);
  };
  CHECK_THROWS_WITH(open_with("{\"weight_map\": {"), Contains("model.safetensors.index.json: index is not valid JSON"));
  CHECK_THROWS_WITH(open_with("[]"), Contains("index is an array, expected a JSON object"));
  CHECK_THROWS_WITH(open_with("{}"), Contains("index has no weight_map"));
  CHECK_THROWS_WITH(open_with(R"({"weight_map": []})"), Contains("weight_map is an array, expected an object"));
  CHECK_THROWS_WITH(open_with(R"({"weight_map": {}})"), Contains("weight_map is empty"));
  CHECK_THROWS_WITH(open_with(R"({"weight_map": {"a": 3}})"),
                    Contains("weight_map['a'] is an integer, expected a shard file name"));
  CHECK_THROWS_WITH(open_with(R"({"weight_map": {"a": "x.safetensors", "a": "y.safetensors"}})"),
                    Contains("names the key 'a' twice"));
  CHECK_THROWS_WITH(open_with(R"({"metadata": 5, "weight_map": {"a": "x.safetensors"}})"),
                    Contains("metadata is an integer, expected an object"));
}

TEST_CASE("bad checkpoint: index places a tensor in a shard that does not hold it", "[io][checkpoint][bad]") {
  const auto dir = io_test::scratch_dir("misplaced");
  const std::vector<float> v(4);
  latte::io::write_safetensors(dir / "a.safetensors", {latte::io::tensor_to_write::of("x", {4}, v)});
  io_test::write_text(dir / "model.safetensors.index.json",
                      R"({"weight_map": {"x": "a.safetensors", "y": "a.safetensors"}})");
  CHECK_THROWS_WITH(checkpoint(dir), Contains("the index places tensor 'y' in shard 'a.safetensors', which does not hold it"));
}

TEST_CASE("bad checkpoint: one tensor name in two shards without an index", "[io][checkpoint][bad]") {
  const std::vector<float> v(4);
  const auto image = latte::io::serialize_safetensors(std::vector{latte::io::tensor_to_write::of("x", {4}, v)});
  std::vector<std::pair<std::string, latte::io::safetensors_file>> shards;
  shards.emplace_back("a", latte::io::safetensors_file::view(image, "a"));
  shards.emplace_back("b", latte::io::safetensors_file::view(image, "b"));
  CHECK_THROWS_WITH(checkpoint::from_shards("pair", std::move(shards), nullptr),
                    Contains("pair: tensor 'x' occurs in more than one shard"));
}

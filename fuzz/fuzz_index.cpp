// libFuzzer target: the input is a model.safetensors.index.json. It is parsed and then matched
// against two small in-memory shards, as checkpoint::open does with the shard files.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include <latte/io/checkpoint.hpp>
#include <latte/io/safetensors_index.hpp>
#include <latte/io/safetensors_writer.hpp>

#include "fuzz_shards.hpp"

namespace {
void check(bool condition) {
  if (!condition) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const latte_fuzz::shard_images shards = latte_fuzz::make_shard_images();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const latte::io::safetensors_index index = latte::io::parse_safetensors_index(text, "fuzz.index.json");
    check(!index.weight_map.empty());
    for (const auto& [name, shard] : index.weight_map) {
      check(latte::io::is_plain_file_name(shard));
      check(index.shards.count(shard) == 1);
    }
    std::vector<std::pair<std::string, latte::io::safetensors_file>> files;
    for (std::size_t s = 0; s < shards.images.size(); ++s)
      files.emplace_back(latte_fuzz::shard_name(s), latte::io::safetensors_file::view(shards.images[s], latte_fuzz::shard_name(s)));
    const latte::io::checkpoint c = latte::io::checkpoint::from_shards("fuzz", std::move(files), &index);
    check(c.size() == index.weight_map.size());
    for (const auto& [name, shard] : index.weight_map) check(c.find(name) != nullptr);
  } catch (const latte::error&) {
  }
  return 0;
}

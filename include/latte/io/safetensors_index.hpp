#pragma once
// The index of a sharded checkpoint, model.safetensors.index.json (SPEC.md section 8):
//
//   {"metadata": {"total_size": ...}, "weight_map": {"model.norm.weight": "model-00001-of-00002.safetensors", ...}}
//
// Validated: an object with a "weight_map" object of tensor name -> shard file name (strings);
// a shard name must be a plain file name inside the checkpoint folder (no directory part, no
// "." or "..", no NUL), so that an index cannot reach files outside it. "metadata", when present,
// must be an object. Errors name the source and the entry.

#include <map>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "../core/error.hpp"
#include "safetensors_header.hpp"

namespace latte::io {

struct safetensors_index {
  std::map<std::string, std::string, std::less<>> weight_map;  // tensor name -> shard file name
  std::set<std::string, std::less<>> shards;                   // the distinct shard file names
};

// Whether `name` is a plain file name: non-empty, no '/', '\\' or NUL, not "." or "..".
inline bool is_plain_file_name(std::string_view name) noexcept {
  if (name.empty() || name == "." || name == "..") return false;
  for (char c : name)
    if (c == '/' || c == '\\' || c == '\0') return false;
  return true;
}

inline safetensors_index parse_safetensors_index(std::string_view text, std::string_view source) {
  const nlohmann::json root = detail::parse_json_unique_keys(text, source, "index");
  require(root.is_object(), source, ": index is ", detail::json_kind(root), ", expected a JSON object");
  const auto metadata = root.find("metadata");
  if (metadata != root.end())
    require(metadata->is_object() || metadata->is_null(), source, ": metadata is ", detail::json_kind(*metadata),
            ", expected an object");
  const auto map = root.find("weight_map");
  require(map != root.end(), source, ": index has no weight_map");
  require(map->is_object(), source, ": weight_map is ", detail::json_kind(*map),
          ", expected an object of tensor name -> shard file");

  safetensors_index index;
  for (const auto& [name, file] : map->items()) {
    require(!name.empty(), source, ": weight_map has an empty tensor name");
    require(file.is_string(), source, ": weight_map['", name, "'] is ", detail::json_kind(file),
            ", expected a shard file name");
    const std::string& shard = file.get_ref<const std::string&>();
    require(is_plain_file_name(shard), source, ": weight_map['", name, "'] names shard '", shard,
            "', which is not a plain file name inside the checkpoint folder");
    index.weight_map.emplace(name, shard);
    index.shards.insert(shard);
  }
  require(!index.weight_map.empty(), source, ": weight_map is empty");
  return index;
}

}  // namespace latte::io

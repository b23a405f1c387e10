#pragma once
// checkpoint: the tensors of a model folder, from `model.safetensors` or from
// `model.safetensors.index.json` and the shards it names (SPEC.md section 8), each shard
// memory-mapped. Lookup by hub tensor name. Movable, not copyable.
//
//   auto ckpt = latte::io::checkpoint::open("DeepSeek-V3");          // a folder (or one .safetensors file)
//   const latte::io::tensor_record& e = ckpt.at("model.embed_tokens.weight");

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "mapped_file.hpp"
#include "safetensors.hpp"
#include "safetensors_index.hpp"

namespace latte::io {

inline constexpr std::string_view single_file_name = "model.safetensors";
inline constexpr std::string_view index_file_name = "model.safetensors.index.json";

class checkpoint {
 public:
  checkpoint() = default;

  // Same as open(path).
  explicit checkpoint(const std::filesystem::path& path) : checkpoint(open(path)) {}

  // Opens the folder `path` (model.safetensors if present, else the index and its shards), or a
  // single .safetensors file when `path` is a file.
  static checkpoint open(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    require(fs::exists(status), "checkpoint ", path.string(), " does not exist");
    if (fs::is_regular_file(status)) {
      std::vector<std::pair<std::string, safetensors_file>> shards;
      shards.emplace_back(path.filename().string(), safetensors_file::open(path));
      return from_shards(path.string(), std::move(shards), nullptr);
    }
    require(fs::is_directory(status), "checkpoint ", path.string(), " is neither a folder nor a file");

    const fs::path single = path / single_file_name;
    if (fs::exists(single, ec)) {
      std::vector<std::pair<std::string, safetensors_file>> shards;
      shards.emplace_back(std::string(single_file_name), safetensors_file::open(single));
      return from_shards(path.string(), std::move(shards), nullptr);
    }
    const fs::path index_path = path / index_file_name;
    require(fs::exists(index_path, ec), "checkpoint ", path.string(), " holds neither ", single_file_name, " nor ",
            index_file_name);
    const mapped_file index_bytes(index_path);
    const std::span<const std::byte> b = index_bytes.bytes();
    const safetensors_index index = parse_safetensors_index(
        std::string_view(reinterpret_cast<const char*>(b.data()), b.size()), index_path.string());

    std::vector<std::pair<std::string, safetensors_file>> shards;
    for (const std::string& shard : index.shards) {
      const fs::path shard_path = path / shard;
      require(fs::exists(shard_path, ec), index_path.string(), " names shard '", shard, "', which is missing from ",
              path.string());
      shards.emplace_back(shard, safetensors_file::open(shard_path));
    }
    return from_shards(path.string(), std::move(shards), &index);
  }

  // Assembles a checkpoint from opened shards (named by file name). With an index, every
  // weight_map entry must name one of `shards` and a tensor that shard holds, and only the
  // indexed tensors are visible; without one, the shards' tensors are all visible and a name may
  // occur only once. `source` names the checkpoint in errors.
  static checkpoint from_shards(std::string source, std::vector<std::pair<std::string, safetensors_file>> shards,
                                const safetensors_index* index) {
    checkpoint c;
    c.source_ = std::move(source);
    for (auto& [name, file] : shards) {
      c.shard_names_.push_back(name);
      c.shards_.push_back(std::move(file));
    }
    if (index != nullptr) {
      for (const auto& [tensor, shard] : index->weight_map) {
        std::size_t s = 0;
        while (s < c.shard_names_.size() && c.shard_names_[s] != shard) ++s;
        require(s < c.shard_names_.size(), c.source_, ": the index names shard '", shard, "' for tensor '", tensor,
                "', but that shard is missing");
        const tensor_record* t = c.shards_[s].find(tensor);
        require(t != nullptr, c.source_, ": the index places tensor '", tensor, "' in shard '", shard,
                "', which does not hold it");
        c.by_name_.emplace(tensor, t);
      }
    } else {
      for (std::size_t s = 0; s < c.shards_.size(); ++s)
        for (const tensor_record& t : c.shards_[s].tensors())
          require(c.by_name_.emplace(t.name, &t).second, c.source_, ": tensor '", t.name,
                  "' occurs in more than one shard");
    }
    return c;
  }

  checkpoint(checkpoint&&) noexcept = default;
  checkpoint& operator=(checkpoint&&) noexcept = default;
  checkpoint(const checkpoint&) = delete;
  checkpoint& operator=(const checkpoint&) = delete;

  const std::string& source() const noexcept { return source_; }
  std::size_t size() const noexcept { return by_name_.size(); }
  bool contains(std::string_view name) const { return by_name_.find(name) != by_name_.end(); }

  // The tensor `name`, or null.
  const tensor_record* find(std::string_view name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }

  // The tensor `name`; throws latte::error naming it and the checkpoint when absent.
  const tensor_record& at(std::string_view name) const {
    const tensor_record* t = find(name);
    if (t == nullptr) fail(source_, ": checkpoint has no tensor '", name, "'");
    return *t;
  }

  // Every visible tensor name, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(by_name_.size());
    for (const auto& entry : by_name_) out.push_back(entry.first);
    return out;
  }

  // The opened files, in the order of `shard_names()`.
  const std::vector<safetensors_file>& shards() const noexcept { return shards_; }
  const std::vector<std::string>& shard_names() const noexcept { return shard_names_; }

 private:
  std::string source_;
  std::vector<std::string> shard_names_;
  std::vector<safetensors_file> shards_;  // records stay put when the vector moves
  std::map<std::string, const tensor_record*, std::less<>> by_name_;
};

}  // namespace latte::io

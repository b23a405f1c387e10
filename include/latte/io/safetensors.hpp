#pragma once
// safetensors_file: one validated .safetensors image with lookup by tensor name. The image is a
// memory-mapped file (open), a caller's buffer (view) or an owned copy (adopt). Movable, not
// copyable; tensor records point into the image and stay valid across moves.
//
//   auto f = latte::io::safetensors_file::open("model.safetensors");
//   const latte::io::tensor_record& w = f.at("model.norm.weight");   // bf16 [256]

#include <cstddef>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "mapped_file.hpp"
#include "safetensors_header.hpp"

namespace latte::io {

class safetensors_file {
 public:
  safetensors_file() = default;

  // Maps and validates the file at `path`.
  static safetensors_file open(const std::filesystem::path& path) {
    safetensors_file f;
    f.source_ = path.string();
    f.mapping_ = mapped_file(path);
    f.index(f.mapping_.bytes());
    return f;
  }

  // Validates `image`, which the caller keeps alive (and 8-byte aligned) while the result lives.
  static safetensors_file view(std::span<const std::byte> image, std::string source_name) {
    safetensors_file f;
    f.source_ = std::move(source_name);
    f.index(image);
    return f;
  }

  // Takes ownership of `image` and validates it.
  static safetensors_file adopt(std::vector<std::byte> image, std::string source_name) {
    safetensors_file f;
    f.source_ = std::move(source_name);
    f.owned_ = std::move(image);
    f.index(std::span<const std::byte>(f.owned_.data(), f.owned_.size()));
    return f;
  }

  safetensors_file(safetensors_file&&) noexcept = default;
  safetensors_file& operator=(safetensors_file&&) noexcept = default;
  safetensors_file(const safetensors_file&) = delete;
  safetensors_file& operator=(const safetensors_file&) = delete;

  // The path or name given when opening; errors name it.
  const std::string& source() const noexcept { return source_; }

  // Every tensor, in the order of its bytes in the file.
  std::span<const tensor_record> tensors() const noexcept { return header_.tensors; }
  std::size_t size() const noexcept { return header_.tensors.size(); }
  const std::map<std::string, std::string, std::less<>>& metadata() const noexcept { return header_.metadata; }

  bool contains(std::string_view name) const { return by_name_.find(name) != by_name_.end(); }

  // The tensor `name`, or null.
  const tensor_record* find(std::string_view name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &header_.tensors[it->second];
  }

  // The tensor `name`; throws latte::error naming it and this file when it is absent.
  const tensor_record& at(std::string_view name) const {
    const tensor_record* t = find(name);
    if (t == nullptr) fail(source_, ": no tensor named '", name, "'");
    return *t;
  }

  // Names in file order.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(header_.tensors.size());
    for (const tensor_record& t : header_.tensors) out.push_back(t.name);
    return out;
  }

 private:
  void index(std::span<const std::byte> image) {
    header_ = parse_safetensors_header(image, source_);
    for (std::size_t i = 0; i < header_.tensors.size(); ++i) by_name_.emplace(header_.tensors[i].name, i);
  }

  std::string source_;
  mapped_file mapping_;
  std::vector<std::byte> owned_;
  safetensors_header header_;
  std::map<std::string, std::size_t, std::less<>> by_name_;
};

}  // namespace latte::io

#pragma once
// Writing safetensors files. Tensors are laid out by decreasing element size (then in the order
// given), so that every tensor starts aligned to its element size, and the header is padded with
// spaces to a multiple of 8 bytes, as the reference implementation does.
//
//   std::vector<float> logits(tokens * vocab);
//   latte::io::write_safetensors("out.safetensors",
//       {latte::io::tensor_to_write::of<float>("logits", {tokens, vocab}, logits)});

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <numeric>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/dtype.hpp"
#include "../core/error.hpp"
#include "safetensors_dtype.hpp"
#include "safetensors_header.hpp"

namespace latte::io {

// A tensor to be written: a view of caller memory, row-major.
struct tensor_to_write {
  std::string name;
  dtype type = dtype::f32;
  std::vector<index_t> shape;
  std::span<const std::byte> data;  // elements(shape) x size_of(type) bytes

  template <class T>
  static tensor_to_write of(std::string name, std::vector<index_t> shape, std::span<const T> values) {
    return {std::move(name), dtype_v<T>, std::move(shape), std::as_bytes(values)};
  }
  template <class T>
  static tensor_to_write of(std::string name, std::vector<index_t> shape, const std::vector<T>& values) {
    return of<T>(std::move(name), std::move(shape), std::span<const T>(values));
  }

  // The same tensor as it sits in a file that was read (for copying tensors between files).
  static tensor_to_write from(const tensor_record& t) { return {t.name, t.type, t.shape, {t.data, t.bytes}}; }
};

// The bytes of a safetensors file holding `tensors` (and `metadata` as "__metadata__").
inline std::vector<std::byte> serialize_safetensors(std::span<const tensor_to_write> tensors,
                                                    const std::map<std::string, std::string>& metadata = {}) {
  std::set<std::string_view> names;
  for (const tensor_to_write& t : tensors) {
    require(!t.name.empty(), "write_safetensors: a tensor has an empty name");
    require(t.name != "__metadata__", "write_safetensors: '__metadata__' cannot name a tensor");
    require(names.insert(t.name).second, "write_safetensors: tensor '", t.name, "' given twice");
    std::uint64_t elements = 1;
    for (index_t d : t.shape) {
      require(d >= 0, "write_safetensors: tensor '", t.name, "' has negative dimension ", d);
      require(!__builtin_mul_overflow(elements, static_cast<std::uint64_t>(d), &elements) &&
                  elements <= safetensors_max_elements,
              "write_safetensors: tensor '", t.name, "': shape ", shape_string(t.shape), " is too large");
    }
    require(elements * size_of(t.type) == t.data.size(), "write_safetensors: tensor '", t.name, "': shape ",
            shape_string(t.shape), " of ", safetensors_name(t.type), " needs ", elements * size_of(t.type),
            " bytes, given ", t.data.size());
  }

  std::vector<std::size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return size_of(tensors[a].type) > size_of(tensors[b].type);
  });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = std::move(m);
  }
  std::size_t offset = 0;
  for (std::size_t i : order) {
    const tensor_to_write& t = tensors[i];
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = std::string(safetensors_name(t.type));
    entry["shape"] = t.shape;
    entry["data_offsets"] = {offset, offset + t.data.size()};
    header[t.name] = std::move(entry);
    offset += t.data.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  std::vector<std::byte> out(8 + text.size() + offset);
  std::uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::byte>((n >> (8 * i)) & 0xffu);
  std::memcpy(out.data() + 8, text.data(), text.size());
  std::byte* data = out.data() + 8 + text.size();
  for (std::size_t i : order) {
    if (!tensors[i].data.empty()) std::memcpy(data, tensors[i].data.data(), tensors[i].data.size());
    data += tensors[i].data.size();
  }
  return out;
}

// Writes `bytes` to `path` (through a temporary file renamed into place, so that a reader never
// sees half a file). Throws latte::error naming the path.
inline void write_file_bytes(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  const std::filesystem::path temporary = path.string() + ".partial";
  std::FILE* f = std::fopen(temporary.c_str(), "wb");
  if (f == nullptr) fail("cannot write ", path.string(), ": ", std::strerror(errno));
  const bool written = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    fail("cannot write ", path.string(), ": ", std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    fail("cannot write ", path.string(), ": ", ec.message());
  }
}

// Writes `tensors` as a safetensors file at `path`.
inline void write_safetensors(const std::filesystem::path& path, std::span<const tensor_to_write> tensors,
                              const std::map<std::string, std::string>& metadata = {}) {
  const std::vector<std::byte> bytes = serialize_safetensors(tensors, metadata);
  write_file_bytes(path, bytes);
}
inline void write_safetensors(const std::filesystem::path& path, std::initializer_list<tensor_to_write> tensors,
                              const std::map<std::string, std::string>& metadata = {}) {
  write_safetensors(path, std::span<const tensor_to_write>(tensors.begin(), tensors.size()), metadata);
}

}  // namespace latte::io

#pragma once
// Parsing and validating a safetensors image (the bytes of a .safetensors file):
//
//   [8 bytes: header length n, little-endian u64][n bytes: JSON header][data section]
//
// The header is an object mapping each tensor name to {"dtype", "shape", "data_offsets": [begin,
// end]} (offsets relative to the data section), plus an optional "__metadata__" object of
// strings. Nothing is trusted: the length, the JSON, every field's type, the dtype, the offsets
// (in range, tiling the data section exactly: no overlap, no gap, nothing left over), the byte
// size against shape x element size (overflow-checked, so a header claiming 2^60 elements is
// refused by arithmetic, never by an allocation) and each tensor's alignment to its element
// size. Errors are latte::error naming the source and the tensor or field.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/dtype.hpp"
#include "../core/error.hpp"
#include "../core/extents.hpp"
#include "safetensors_dtype.hpp"

namespace latte::io {

// One tensor of a safetensors image: a view of its bytes, valid while the image lives.
struct tensor_record {
  std::string name;
  dtype type = dtype::u8;
  std::vector<index_t> shape;     // [] for a scalar
  const std::byte* data = nullptr;
  std::size_t bytes = 0;          // elements() x size_of(type)
  std::size_t offset = 0;         // data_offsets[0], within the data section

  std::size_t rank() const noexcept { return shape.size(); }
  index_t elements() const noexcept {
    index_t n = 1;
    for (index_t d : shape) n *= d;
    return n;
  }
};

// "[2, 96, 256]"
inline std::string shape_string(std::span<const index_t> shape) {
  std::ostringstream s;
  s << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << ']';
  return s.str();
}

struct safetensors_header {
  std::vector<tensor_record> tensors;                          // ordered by offset
  std::map<std::string, std::string, std::less<>> metadata;    // "__metadata__"
  std::size_t data_start = 0;                                  // 8 + header length
};

// Limits: a header beyond 100 MB is refused (as the reference implementation does), and so is
// any dimension or element count beyond 2^62.
inline constexpr std::uint64_t safetensors_max_header_bytes = 100'000'000;
inline constexpr std::uint64_t safetensors_max_elements = std::uint64_t(1) << 62;

namespace detail {

inline const char* json_kind(const nlohmann::json& j) noexcept {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::number_float: return "a floating-point number";
    case nlohmann::json::value_t::binary: return "binary";
    case nlohmann::json::value_t::discarded: return "discarded";
  }
  return "?";
}

// Parses `text` as JSON, refusing an object that names a key twice (nlohmann would keep the last
// silently, and a duplicate tensor name would hide a tensor). `what` names the document in errors.
inline nlohmann::json parse_json_unique_keys(std::string_view text, std::string_view source, std::string_view what) {
  std::vector<std::set<std::string, std::less<>>> open_objects;
  bool has_duplicate = false;
  std::string duplicate;
  auto callback = [&](int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    switch (event) {
      case nlohmann::json::parse_event_t::object_start: open_objects.emplace_back(); break;
      case nlohmann::json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case nlohmann::json::parse_event_t::key:
        if (!has_duplicate && !open_objects.empty() &&
            !open_objects.back().insert(parsed.get_ref<const std::string&>()).second) {
          has_duplicate = true;
          duplicate = parsed.get_ref<const std::string&>();
        }
        break;
      default: break;
    }
    return true;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.begin(), text.end(), callback);
  } catch (const nlohmann::json::exception& e) {
    fail(source, ": ", what, " is not valid JSON (", e.what(), ")");
  }
  if (has_duplicate) fail(source, ": ", what, " names the key '", duplicate, "' twice in one object");
  return j;
}

// A non-negative JSON integer, or an error naming `field`.
inline std::uint64_t json_unsigned(const nlohmann::json& j, std::string_view source, std::string_view tensor,
                                   std::string_view field) {
  if (!j.is_number_unsigned())
    fail(source, ": tensor '", tensor, "': ", field, " holds ", json_kind(j), ", expected a non-negative integer");
  return j.get<std::uint64_t>();
}

inline std::string offsets_string(std::size_t begin, std::size_t end) {
  std::ostringstream s;
  s << '[' << begin << ", " << end << ']';
  return s.str();
}

}  // namespace detail

// Parses and validates `image`; the records point into it. `source` names it in errors.
inline safetensors_header parse_safetensors_header(std::span<const std::byte> image, std::string_view source) {
  using nlohmann::json;
  require(image.size() >= 8, source, ": file is ", image.size(),
          " bytes, shorter than the 8-byte header length of a safetensors file");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<std::uint64_t>(image[static_cast<std::size_t>(i)]);
  require(n <= safetensors_max_header_bytes, source, ": header length ", n, " exceeds the limit of ",
          safetensors_max_header_bytes, " bytes");
  require(n <= image.size() - 8, source, ": header length ", n, " runs past the end of the file (",
          image.size() - 8, " bytes follow the length field)");
  require(n > 0, source, ": header length is 0, expected a JSON object");

  safetensors_header header;
  header.data_start = static_cast<std::size_t>(8 + n);
  const std::size_t data_size = image.size() - header.data_start;
  const std::byte* data = image.data() + header.data_start;

  const std::string_view text(reinterpret_cast<const char*>(image.data() + 8), static_cast<std::size_t>(n));
  const json root = detail::parse_json_unique_keys(text, source, "header");
  require(root.is_object(), source, ": header is ", detail::json_kind(root), ", expected a JSON object");

  header.tensors.reserve(root.size());
  for (const auto& [name, entry] : root.items()) {
    if (name == "__metadata__") {
      require(entry.is_object(), source, ": __metadata__ is ", detail::json_kind(entry),
              ", expected an object of strings");
      for (const auto& [key, value] : entry.items()) {
        require(value.is_string(), source, ": __metadata__ '", key, "' is ", detail::json_kind(value),
                ", expected a string");
        header.metadata.emplace(key, value.get<std::string>());
      }
      continue;
    }
    require(!name.empty(), source, ": a tensor has an empty name");
    require(entry.is_object(), source, ": tensor '", name, "' is ", detail::json_kind(entry),
            ", expected an object with dtype, shape and data_offsets");

    tensor_record t;
    t.name = name;

    const auto dtype_it = entry.find("dtype");
    require(dtype_it != entry.end(), source, ": tensor '", name, "' has no dtype");
    require(dtype_it->is_string(), source, ": tensor '", name, "': dtype is ", detail::json_kind(*dtype_it),
            ", expected a string");
    const std::string& dtype_name = dtype_it->get_ref<const std::string&>();
    const auto type = dtype_from_safetensors(dtype_name);
    require(type.has_value(), source, ": tensor '", name, "' has unknown dtype '", dtype_name, "' (expected one of ",
            safetensors_dtype_list, ")");
    t.type = *type;
    const std::uint64_t element_size = size_of(t.type);

    const auto shape_it = entry.find("shape");
    require(shape_it != entry.end(), source, ": tensor '", name, "' has no shape");
    require(shape_it->is_array(), source, ": tensor '", name, "': shape is ", detail::json_kind(*shape_it),
            ", expected an array of non-negative integers");
    std::uint64_t elements = 1;
    bool overflow = false;
    for (const json& d : *shape_it) {
      const std::uint64_t dim = detail::json_unsigned(d, source, name, "shape");
      if (dim > safetensors_max_elements) overflow = true;
      if (!overflow && __builtin_mul_overflow(elements, dim, &elements)) overflow = true;
      t.shape.push_back(static_cast<index_t>(std::min(dim, safetensors_max_elements)));
    }
    if (overflow || elements > safetensors_max_elements) {
      std::ostringstream dims;
      dims << '[';
      bool first = true;
      for (const json& d : *shape_it) {
        dims << (first ? "" : ", ") << d.get<std::uint64_t>();
        first = false;
      }
      dims << ']';
      fail(source, ": tensor '", name, "': shape ", dims.str(), " has more than 2^62 elements");
    }

    const auto offsets_it = entry.find("data_offsets");
    require(offsets_it != entry.end(), source, ": tensor '", name, "' has no data_offsets");
    require(offsets_it->is_array() && offsets_it->size() == 2, source, ": tensor '", name, "': data_offsets is ",
            detail::json_kind(*offsets_it), offsets_it->is_array() ? " of " + std::to_string(offsets_it->size()) : "",
            ", expected an array [begin, end]");
    const std::uint64_t begin = detail::json_unsigned((*offsets_it)[0], source, name, "data_offsets");
    const std::uint64_t end = detail::json_unsigned((*offsets_it)[1], source, name, "data_offsets");
    require(begin <= end, source, ": tensor '", name, "': data_offsets [", begin, ", ", end,
            "] end before they begin");
    require(end <= data_size, source, ": tensor '", name, "': data_offsets [", begin, ", ", end,
            "] out of range: the data section holds ", data_size, " bytes");

    std::uint64_t bytes = 0;
    require(!__builtin_mul_overflow(elements, element_size, &bytes), source, ": tensor '", name, "': shape ",
            shape_string(t.shape), " of ", dtype_name, " needs more than 2^64 bytes");
    require(bytes == end - begin, source, ": tensor '", name, "': shape ", shape_string(t.shape), " of ",
            dtype_name, " needs ", bytes, " bytes (", elements, " x ", element_size, "), but data_offsets [", begin,
            ", ", end, "] hold ", end - begin);
    require((header.data_start + begin) % element_size == 0, source, ": tensor '", name, "' starts at file byte ",
            header.data_start + begin, ", not aligned to its ", element_size, "-byte ", dtype_name, " elements");
    require(reinterpret_cast<std::uintptr_t>(data + begin) % element_size == 0, source, ": tensor '", name,
            "' lies at a memory address not aligned to its ", element_size,
            "-byte elements (the image buffer must be 8-byte aligned)");

    t.offset = static_cast<std::size_t>(begin);
    t.bytes = static_cast<std::size_t>(bytes);
    t.data = data + begin;
    header.tensors.push_back(std::move(t));
  }

  // The tensors must tile the data section: sorted by offset, each begins where the last ended.
  std::sort(header.tensors.begin(), header.tensors.end(), [](const tensor_record& a, const tensor_record& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.bytes < b.bytes;
  });
  std::size_t expected = 0;
  const tensor_record* previous = nullptr;
  for (const tensor_record& t : header.tensors) {
    if (t.offset < expected)
      fail(source, ": tensors '", previous->name, "' (data_offsets ",
           detail::offsets_string(previous->offset, previous->offset + previous->bytes), ") and '", t.name,
           "' (data_offsets ", detail::offsets_string(t.offset, t.offset + t.bytes), ") overlap");
    if (t.offset > expected)
      fail(source, ": gap in the data section: bytes [", expected, ", ", t.offset, ") before tensor '", t.name,
           "' belong to no tensor");
    expected = t.offset + t.bytes;
    previous = &t;
  }
  require(expected == data_size, source, ": the data section holds ", data_size, " bytes but the tensors end at ",
          expected, " (the remaining bytes belong to no tensor)");
  return header;
}

}  // namespace latte::io

#pragma once
// Reading tensors as plain host vectors, for reference files (tests/data/*/reference.safetensors,
// kernels/*.safetensors) and anything else small enough to copy:
//
//   auto ref = latte::io::reference_file::open(dir / "reference.safetensors");
//   std::vector<float> logits = ref.floats("logits", {2, 96, 1024});       // shape checked
//   std::vector<std::int64_t> ids = ref.integers("input_ids");

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/dtype.hpp"
#include "../core/error.hpp"
#include "safetensors.hpp"

namespace latte::io {

namespace detail {
template <class Out, class Stored>
void convert_elements(const tensor_record& t, std::vector<Out>& out) {
  const std::size_t n = t.bytes / sizeof(Stored);
  out.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    Stored v;
    std::memcpy(&v, t.data + i * sizeof(Stored), sizeof(Stored));
    if constexpr (std::is_same_v<Stored, bf16> || std::is_same_v<Stored, fp16> || std::is_same_v<Stored, fp8_e4m3>)
      out[i] = static_cast<Out>(v.to_float());
    else
      out[i] = static_cast<Out>(v);
  }
}

template <class Out>
std::vector<Out> convert_tensor(const tensor_record& t) {
  std::vector<Out> out;
  switch (t.type) {
    case dtype::f64: convert_elements<Out, double>(t, out); break;
    case dtype::f32: convert_elements<Out, float>(t, out); break;
    case dtype::f16: convert_elements<Out, fp16>(t, out); break;
    case dtype::bf16: convert_elements<Out, bf16>(t, out); break;
    case dtype::f8_e4m3: convert_elements<Out, fp8_e4m3>(t, out); break;
    case dtype::i64: convert_elements<Out, std::int64_t>(t, out); break;
    case dtype::i32: convert_elements<Out, std::int32_t>(t, out); break;
    case dtype::u8: convert_elements<Out, std::uint8_t>(t, out); break;
  }
  return out;
}
}  // namespace detail

// The elements of `t` converted to float / double (any dtype; fp8 without block scales).
inline std::vector<float> to_floats(const tensor_record& t) { return detail::convert_tensor<float>(t); }
inline std::vector<double> to_doubles(const tensor_record& t) { return detail::convert_tensor<double>(t); }

// The elements of an integer tensor (I64, I32, U8) as int64.
inline std::vector<std::int64_t> to_integers(const tensor_record& t) {
  require(t.type == dtype::i64 || t.type == dtype::i32 || t.type == dtype::u8, "tensor '", t.name, "' is ",
          safetensors_name(t.type), ", expected an integer tensor (I64, I32 or U8)");
  return detail::convert_tensor<std::int64_t>(t);
}

class reference_file {
 public:
  static reference_file open(const std::filesystem::path& path) { return reference_file(safetensors_file::open(path)); }
  explicit reference_file(safetensors_file file) : file_(std::move(file)) {}

  const safetensors_file& file() const noexcept { return file_; }
  bool contains(std::string_view name) const { return file_.contains(name); }
  std::vector<std::string> names() const { return file_.names(); }
  const tensor_record& at(std::string_view name) const { return file_.at(name); }
  const std::vector<index_t>& shape(std::string_view name) const { return file_.at(name).shape; }

  // The tensor `name` converted; with `expected_shape`, its shape must match.
  std::vector<float> floats(std::string_view name) const { return to_floats(file_.at(name)); }
  std::vector<float> floats(std::string_view name, const std::vector<index_t>& expected_shape) const {
    return to_floats(checked(name, expected_shape));
  }
  std::vector<double> doubles(std::string_view name) const { return to_doubles(file_.at(name)); }
  std::vector<double> doubles(std::string_view name, const std::vector<index_t>& expected_shape) const {
    return to_doubles(checked(name, expected_shape));
  }
  std::vector<std::int64_t> integers(std::string_view name) const { return to_integers(file_.at(name)); }
  std::vector<std::int64_t> integers(std::string_view name, const std::vector<index_t>& expected_shape) const {
    return to_integers(checked(name, expected_shape));
  }

 private:
  const tensor_record& checked(std::string_view name, const std::vector<index_t>& expected_shape) const {
    const tensor_record& t = file_.at(name);
    require(t.shape == expected_shape, file_.source(), ": tensor '", name, "' is ", shape_string(t.shape),
            ", expected ", shape_string(expected_shape));
    return t;
  }

  safetensors_file file_;
};

}  // namespace latte::io

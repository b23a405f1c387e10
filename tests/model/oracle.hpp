#pragma once
// Helpers shared by the model tests: the reference file of a tiny checkpoint, relative error,
// and a model built from a checkpoint folder in tests/data.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <latte/backend/cpu/backend.hpp>
#include <latte/io/checkpoint_weights.hpp>
#include <latte/io/hub_config.hpp>
#include <latte/io/safetensors.hpp>
#include <latte/model/deepseek_v3.hpp>

namespace oracle {

inline std::filesystem::path data_dir(const std::string& name) { return std::filesystem::path(LATTE_TEST_DATA_DIR) / name; }

// Reference tensors of one tiny checkpoint, as float or int64 vectors.
class reference {
 public:
  explicit reference(const std::string& checkpoint)
      : file_(latte::io::safetensors_file::open(data_dir(checkpoint) / "reference.safetensors")) {}

  std::vector<float> floats(const std::string& name) const {
    const latte::io::tensor_record& t = file_.at(name);
    latte::require(t.type == latte::dtype::f32, name, " is not F32");
    std::vector<float> out(static_cast<std::size_t>(t.elements()));
    std::memcpy(out.data(), t.data, t.bytes);
    return out;
  }
  std::vector<std::int64_t> ints(const std::string& name) const {
    const latte::io::tensor_record& t = file_.at(name);
    latte::require(t.type == latte::dtype::i64, name, " is not I64");
    std::vector<std::int64_t> out(static_cast<std::size_t>(t.elements()));
    std::memcpy(out.data(), t.data, t.bytes);
    return out;
  }
  std::vector<latte::index_t> shape(const std::string& name) const { return file_.at(name).shape; }

 private:
  latte::io::safetensors_file file_;
};

// ||a - b|| / ||b|| (Frobenius).
inline double relative_error(std::span<const float> a, std::span<const float> b) {
  latte::require(a.size() == b.size(), "relative_error: sizes ", a.size(), " and ", b.size());
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    diff += d * d;
    norm += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(diff / norm);
}

inline std::vector<std::int32_t> row_ids(const std::vector<std::int64_t>& all, std::size_t row, std::size_t width) {
  return std::vector<std::int32_t>(all.begin() + static_cast<std::ptrdiff_t>(row * width),
                                   all.begin() + static_cast<std::ptrdiff_t>((row + 1) * width));
}

// A checkpoint folder opened for a model: config and weights live as long as this does.
struct checkpoint {
  explicit checkpoint(const std::string& name)
      : config(latte::io::load_config(data_dir(name) / "config.json")),
        weights(latte::io::checkpoint(data_dir(name)), config) {}
  latte::model::config config;
  latte::io::checkpoint_weights weights;
};

// Collects every tensor the model shows, concatenating calls (sequence after sequence).
class recorder : public latte::model::observer {
 public:
  void tensor(std::string_view name, latte::matrix_view<const float> values) override {
    auto& store = tensors[std::string(name)];
    for (latte::index_t r = 0; r < values.extent(0); ++r)
      for (latte::index_t c = 0; c < values.extent(1); ++c) store.push_back(values(r, c));
  }
  void routing(latte::index_t layer, latte::index_t, std::span<const std::int32_t> experts,
               std::span<const float> weights) override {
    auto& e = routed_experts[layer];
    e.insert(e.end(), experts.begin(), experts.end());
    auto& w = routed_weights[layer];
    w.insert(w.end(), weights.begin(), weights.end());
  }
  std::map<std::string, std::vector<float>> tensors;
  std::map<latte::index_t, std::vector<std::int32_t>> routed_experts;
  std::map<latte::index_t, std::vector<float>> routed_weights;
};

}  // namespace oracle

#pragma once
// Shared pieces of the attention tests: random tensors, weights in any storage type (fp8 with
// block scales included), rotary tables, relative errors, and a host-side view of backend data.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include <latte/backend/cpu/backend.hpp>
#include <latte/backend/options.hpp>
#include <latte/core/bf16.hpp>
#include <latte/core/buffer.hpp>
#include <latte/core/dtype.hpp>
#include <latte/core/fp8_e4m3.hpp>
#include <latte/core/tensor_view.hpp>
#include <latte/core/weight_view.hpp>

namespace attention_test {

using latte::index_t;

// Relative Frobenius error |got - want| / |want|.
template <class G, class W>
double relative_error(std::span<const G> got, std::span<const W> want) {
  REQUIRE(got.size() == want.size());
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
    diff += (g - w) * (g - w);
    norm += w * w;
  }
  return std::sqrt(diff / std::max(norm, 1e-300));
}
template <class G, class W>
double relative_error(const std::vector<G>& got, const std::vector<W>& want) {
  return relative_error(std::span<const G>(got), std::span<const W>(want));
}

inline bool all_finite(std::span<const float> v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

class random_source {
 public:
  explicit random_source(std::uint32_t seed) : engine_(seed) {}
  std::vector<float> normal(std::size_t n, double stddev = 1.0, double mean = 0.0) {
    std::normal_distribution<double> d(mean, stddev);
    std::vector<float> v(n);
    for (float& x : v) x = static_cast<float>(d(engine_));
    return v;
  }
  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(engine_); }

 private:
  std::mt19937 engine_;
};

// A linear weight [rows, cols] in storage type T. fp8 gets block scales over `block` x `block`
// tiles chosen so that each tile's largest value maps near 448.
template <class T>
class stored_weight {
 public:
  stored_weight(std::span<const float> values, index_t rows, index_t cols, index_t block = 128)
      : data_(static_cast<std::size_t>(rows * cols)) {
    if constexpr (std::is_same_v<T, latte::fp8_e4m3>) {
      const index_t br = (rows + block - 1) / block, bc = (cols + block - 1) / block;
      scales_.assign(static_cast<std::size_t>(br * bc), 1.0f);
      for (index_t i = 0; i < br; ++i)
        for (index_t j = 0; j < bc; ++j) {
          float peak = 0.0f;
          for (index_t r = i * block; r < std::min(rows, (i + 1) * block); ++r)
            for (index_t c = j * block; c < std::min(cols, (j + 1) * block); ++c)
              peak = std::max(peak, std::abs(values[static_cast<std::size_t>(r * cols + c)]));
          scales_[static_cast<std::size_t>(i * bc + j)] = peak > 0.0f ? peak / 400.0f : 1.0f;
        }
      for (index_t r = 0; r < rows; ++r)
        for (index_t c = 0; c < cols; ++c) {
          const float s = scales_[static_cast<std::size_t>((r / block) * bc + c / block)];
          data_[static_cast<std::size_t>(r * cols + c)] =
              latte::fp8_e4m3::from_float(values[static_cast<std::size_t>(r * cols + c)] / s);
        }
      view_ = latte::make_weight_view(data_.data(), rows, cols, scales_.data(), block);
    } else {
      for (std::size_t i = 0; i < data_.size(); ++i) {
        if constexpr (std::is_same_v<T, float>)
          data_[i] = values[i];
        else
          data_[i] = T::from_float(values[i]);
      }
      view_ = latte::make_weight_view(data_.data(), rows, cols);
    }
  }
  const latte::weight_view& view() const noexcept { return view_; }

 private:
  std::vector<T> data_;
  std::vector<float> scales_;
  latte::weight_view view_{};
};

// Owns weights of one storage type; hands out views that live as long as the bank.
template <class T>
class weight_bank {
 public:
  weight_bank(random_source& rng, index_t block) : rng_(rng), block_(block) {}
  // A linear layer [out, in] with entries N(0, 1/in).
  latte::weight_view linear(index_t out, index_t in) {
    const auto v = rng_.normal(static_cast<std::size_t>(out * in), 1.0 / std::sqrt(static_cast<double>(in)));
    return keep(v, out, in);
  }
  // A norm weight [1, n] near 1.
  latte::weight_view norm(index_t n) { return keep(rng_.normal(static_cast<std::size_t>(n), 0.1, 1.0), 1, n); }

 private:
  latte::weight_view keep(const std::vector<float>& v, index_t rows, index_t cols) {
    weights_.push_back(std::make_unique<stored_weight<T>>(v, rows, cols, block_));
    return weights_.back()->view();
  }
  random_source& rng_;
  index_t block_;
  std::vector<std::unique_ptr<stored_weight<T>>> weights_;
};

// (cos, sin) of position x theta^(-2j / rotary) for j < rotary / 2: [positions, rotary / 2, 2].
inline std::vector<float> rope_table(std::span<const index_t> positions, index_t rotary, double theta = 10000.0) {
  const index_t pairs = rotary / 2;
  std::vector<float> t(positions.size() * static_cast<std::size_t>(pairs) * 2);
  for (std::size_t p = 0; p < positions.size(); ++p)
    for (index_t j = 0; j < pairs; ++j) {
      const double angle = static_cast<double>(positions[p]) *
                           std::pow(theta, -2.0 * static_cast<double>(j) / static_cast<double>(rotary));
      t[(p * static_cast<std::size_t>(pairs) + static_cast<std::size_t>(j)) * 2] = static_cast<float>(std::cos(angle));
      t[(p * static_cast<std::size_t>(pairs) + static_cast<std::size_t>(j)) * 2 + 1] = static_cast<float>(std::sin(angle));
    }
  return t;
}

// Host data copied into backend memory.
template <class Backend>
typename Backend::template buffer<float> to_backend(const Backend& backend, std::span<const float> host) {
  auto b = backend.template allocate<float>(host.size());
  backend.upload(host, b.data());
  return b;
}
template <class Backend>
std::vector<float> to_host(const Backend& backend, const float* data, std::size_t n) {
  std::vector<float> h(n);
  backend.download(data, std::span<float>(h));
  return h;
}

}  // namespace attention_test

#pragma once
// Shared pieces of the backend tests: random non-zero data, weights stored in every dtype the
// backends read (fp8 with 128 x 128 block scales), padded matrices (row stride > columns, so
// that strides are exercised) and the error measures the tests state their tolerances in.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <latte/core/dtype.hpp>
#include <latte/core/error.hpp>
#include <latte/core/tensor_view.hpp>
#include <latte/core/weight_view.hpp>

namespace latte::test {

// Uniform in +-[0.05, 1]: never zero, so a missed term or a skipped block always shows.
inline std::vector<float> random_values(std::size_t n, std::uint32_t seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> magnitude(0.05f, 1.0f);
  std::bernoulli_distribution negative(0.5);
  std::vector<float> out(n);
  for (float& v : out) v = (negative(gen) ? -scale : scale) * magnitude(gen);
  return out;
}

// A row-major float matrix whose rows are `pad` elements longer than its columns.
struct padded_matrix {
  index_t rows = 0, cols = 0, stride = 0;
  std::vector<float> data;

  padded_matrix(index_t r, index_t c, std::uint32_t seed, index_t pad = 3, float scale = 1.0f)
      : rows(r), cols(c), stride(c + pad), data(random_values(static_cast<std::size_t>(r * (c + pad)), seed, scale)) {}

  matrix_view<float> view() { return make_matrix_view(data.data(), rows, cols, stride); }
  matrix_view<const float> cview() const { return make_matrix_view(data.data(), rows, cols, stride); }
  float operator()(index_t r, index_t c) const { return data[static_cast<std::size_t>(r * stride + c)]; }
};

// A double matrix for reference results.
struct double_matrix {
  index_t rows = 0, cols = 0;
  std::vector<double> data;

  double_matrix(index_t r, index_t c) : rows(r), cols(c), data(static_cast<std::size_t>(r * c)) {}
  matrix_view<double> view() { return make_matrix_view(data.data(), rows, cols); }
  double operator()(index_t r, index_t c) const { return data[static_cast<std::size_t>(r * cols + c)]; }
};

// A weight matrix [rows, cols] stored as `type`: random values narrowed to the type; for fp8,
// codes spread over the normal range up to 440 and, per 128 x 128 block, its own scale_inv in
// [0.5, 3] / 448, so that the dequantised q * scale_inv is of order 1 and a wrong block shows.
struct stored_weight {
  dtype type = dtype::f32;
  index_t rows = 0, cols = 0;
  std::vector<std::uint8_t> bytes;
  std::vector<float> scale_inv;  // [ceil(rows / 128), ceil(cols / 128)], fp8 only

  stored_weight(dtype t, index_t r, index_t c, std::uint32_t seed) : type(t), rows(r), cols(c) {
    const std::vector<float> v = random_values(static_cast<std::size_t>(r * c), seed);
    bytes.resize(static_cast<std::size_t>(r * c) * size_of(t));
    if (t == dtype::f8_e4m3) {
      const index_t grid_rows = (r + 127) / 128, grid_cols = (c + 127) / 128;
      scale_inv.assign(static_cast<std::size_t>(grid_rows * grid_cols), 0.0f);
      std::mt19937 gen(seed ^ 0x5eedu);
      std::uniform_real_distribution<float> spread(0.5f, 3.0f);
      for (float& s : scale_inv) s = spread(gen) / 448.0f;
      // q in +-[22, 440]: normal codes of every exponent above 16.
      for (std::size_t i = 0; i < v.size(); ++i) bytes[i] = fp8_e4m3::from_float(v[i] * 440.0f).bits;
      return;
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
      std::uint16_t half = 0;
      switch (t) {
        case dtype::f32: std::memcpy(&bytes[4 * i], &v[i], 4); continue;
        case dtype::bf16: half = bf16::from_float(v[i]).bits; break;
        case dtype::f16: half = fp16::from_float(v[i]).bits; break;
        default: fail("stored_weight: unsupported dtype ", name_of(t));
      }
      std::memcpy(&bytes[2 * i], &half, 2);
    }
  }

  weight_view view() const {
    weight_view w;
    w.type = type;
    w.data = bytes.data();
    w.rows = rows;
    w.cols = cols;
    w.row_stride = cols;
    if (!scale_inv.empty()) {
      w.scale_inv = scale_inv.data();
      w.scale_cols = (cols + 127) / 128;
    }
    return w;
  }
};

inline std::string dtype_label(dtype t) { return std::string(name_of(t)); }

// ||got - want||_F / ||want||_F over a float view and a double reference of one shape.
inline double relative_frobenius(const matrix_view<const float>& got, const double_matrix& want) {
  double diff = 0.0, norm = 0.0;
  for (index_t r = 0; r < want.rows; ++r)
    for (index_t c = 0; c < want.cols; ++c) {
      const double d = static_cast<double>(got(r, c)) - want(r, c);
      diff += d * d;
      norm += want(r, c) * want(r, c);
    }
  return std::sqrt(diff) / std::sqrt(norm);
}
inline double relative_frobenius(const matrix_view<float>& got, const double_matrix& want) {
  return relative_frobenius(matrix_view<const float>(got), want);
}

// The largest |got - want| / |want| over elements with want != 0 (and |got| for want == 0).
inline double max_relative_error(const matrix_view<const float>& got, const double_matrix& want) {
  double worst = 0.0;
  for (index_t r = 0; r < want.rows; ++r)
    for (index_t c = 0; c < want.cols; ++c) {
      const double w = want(r, c), d = std::fabs(static_cast<double>(got(r, c)) - w);
      const double e = w == 0.0 ? d : d / std::fabs(w);
      if (!(e <= worst)) worst = e;  // NaN propagates
    }
  return worst;
}

}  // namespace latte::test

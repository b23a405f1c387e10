#pragma once
// Helpers of the CUDA tests: a skip when no device is present, random data, host <-> device
// copies, weights in every storage type (fp8 with 128 x 128 block scales), and the normalised
// error ||out - ref|| / ||ref|| that every parity check uses (NaN never passes).

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include <latte/backend/cpu/backend.hpp>
#include <latte/backend/cuda/backend.hpp>
#include <latte/core/dtype.hpp>

namespace latte::test {

inline bool gpu_present() {
  static const bool present = [] {
    const bool ok = cuda::backend::available();
    if (!ok) std::fprintf(stderr, "latte CUDA tests: no CUDA device present, skipping\n");
    return ok;
  }();
  return present;
}

// Ends the test case (as a pass) when there is no GPU.
#define LATTE_REQUIRE_GPU()                                    \
  do {                                                         \
    if (!::latte::test::gpu_present()) {                       \
      WARN("no CUDA device present: test skipped");            \
      return;                                                  \
    }                                                          \
  } while (0)

inline std::vector<float> random_floats(std::size_t n, std::uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

inline double normalised_error(const std::vector<float>& out, const std::vector<float>& ref) {
  if (out.size() != ref.size()) return std::numeric_limits<double>::infinity();
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) return std::numeric_limits<double>::infinity();
    const double d = static_cast<double>(out[i]) - ref[i];
    diff += d * d;
    norm += static_cast<double>(ref[i]) * ref[i];
  }
  return norm == 0.0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

template <class T>
cuda::device_buffer<T> to_device(const cuda::backend& g, const std::vector<T>& host) {
  cuda::device_buffer<T> d = g.allocate<T>(host.size());
  g.upload(std::span<const T>(host), d.data());
  return d;
}

template <class T>
std::vector<T> to_host(const cuda::backend& g, const T* device, std::size_t n) {
  std::vector<T> host(n);
  g.download(device, std::span<T>(host));
  return host;
}

// Device buffer filled with NaN: outputs that a kernel forgets to write stay NaN.
inline cuda::device_buffer<float> poisoned(const cuda::backend& g, std::size_t n) {
  return to_device(g, std::vector<float>(n, std::numeric_limits<float>::quiet_NaN()));
}

// A weight [rows, cols] in storage type `type`, with the same bytes on host and device.
struct test_weight {
  dtype type = dtype::f32;
  index_t rows = 0, cols = 0;
  std::vector<std::uint8_t> bytes;
  std::vector<float> scales;  // fp8 only: [ceil(rows / 128), ceil(cols / 128)]
  cuda::device_buffer<std::uint8_t> device_bytes;
  cuda::device_buffer<float> device_scales;

  test_weight(const cuda::backend& g, dtype t, index_t r, index_t c, std::uint32_t seed, float amplitude = 1.0f)
      : type(t), rows(r), cols(c) {
    const std::vector<float> values = random_floats(static_cast<std::size_t>(r * c), seed, -amplitude, amplitude);
    bytes.resize(static_cast<std::size_t>(r * c) * size_of(t));
    switch (t) {
      case dtype::f32: std::memcpy(bytes.data(), values.data(), bytes.size()); break;
      case dtype::bf16:
        for (std::size_t i = 0; i < values.size(); ++i) {
          const std::uint16_t b = bf16::from_float(values[i]).bits;
          std::memcpy(bytes.data() + 2 * i, &b, 2);
        }
        break;
      case dtype::f16:
        for (std::size_t i = 0; i < values.size(); ++i) {
          const std::uint16_t b = fp16::from_float(values[i]).bits;
          std::memcpy(bytes.data() + 2 * i, &b, 2);
        }
        break;
      case dtype::f8_e4m3: {
        const index_t br = (r + 127) / 128, bc = (c + 127) / 128;
        scales.assign(static_cast<std::size_t>(br * bc), 0.0f);
        std::mt19937 gen(seed ^ 0x9e3779b9u);
        std::uniform_real_distribution<float> spread(0.5f, 2.0f);
        for (float& s : scales) s = spread(gen) * amplitude / 448.0f;
        for (index_t i = 0; i < r; ++i)
          for (index_t j = 0; j < c; ++j) {
            const float s = scales[static_cast<std::size_t>((i / 128) * bc + j / 128)];
            bytes[static_cast<std::size_t>(i * c + j)] =
                fp8_e4m3::from_float_saturating(values[static_cast<std::size_t>(i * c + j)] / s).bits;
          }
        break;
      }
      default: FAIL("test_weight: unsupported type");
    }
    device_bytes = to_device(g, bytes);
    if (!scales.empty()) device_scales = to_device(g, scales);
  }

  weight_view make(const void* data, const float* scale_inv) const {
    weight_view w;
    w.type = type;
    w.data = data;
    w.rows = rows;
    w.cols = cols;
    w.row_stride = cols;
    w.scale_inv = scale_inv;
    w.scale_cols = scale_inv != nullptr ? (cols + 127) / 128 : 0;
    return w;
  }
  weight_view host() const { return make(bytes.data(), scales.empty() ? nullptr : scales.data()); }
  weight_view device() const {
    return make(device_bytes.data(), scales.empty() ? nullptr : device_scales.data());
  }
};

inline const char* precision_name(cuda::compute_precision p) {
  switch (p) {
    case cuda::compute_precision::bf16: return "bf16";
    case cuda::compute_precision::bf16_single_pass: return "bf16_single_pass";
    case cuda::compute_precision::f32: return "f32";
  }
  return "?";
}

}  // namespace latte::test

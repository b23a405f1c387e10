// fp8 block dequantisation on the host (SPEC.md section 8): against a direct per-element
// computation on random data with partial edge blocks, on sub-views, and on the tiny fp8
// checkpoint against the bf16 checkpoint it was quantised from.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include <latte/io/checkpoint_weights.hpp>
#include <latte/io/fp8_block.hpp>
#include <latte/io/hub_config.hpp>

#include "io_test_support.hpp"

using latte::index_t;

namespace {

double relative_error(const float* a, const float* b, std::size_t n) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < n; ++i) {
    diff += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    norm += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(diff / norm);
}

struct random_fp8 {
  std::vector<latte::fp8_e4m3> values;
  std::vector<float> scales;
};

random_fp8 make_random_fp8(index_t rows, index_t cols, index_t block, unsigned seed) {
  std::mt19937 rng(seed);
  random_fp8 r;
  r.values.resize(static_cast<std::size_t>(rows * cols));
  for (auto& v : r.values) {
    std::uint8_t bits;
    do bits = static_cast<std::uint8_t>(rng() & 0xffu);
    while ((bits & 0x7fu) == 0x7fu);  // no NaN
    v = latte::fp8_e4m3::from_bits(bits);
  }
  const auto [sr, sc] = latte::io::block_scale_shape(rows, cols, block);
  std::uniform_real_distribution<float> scale(1e-4f, 2e-2f);
  r.scales.resize(static_cast<std::size_t>(sr * sc));
  for (float& s : r.scales) s = scale(rng);
  return r;
}

}  // namespace

TEST_CASE("fp8 dequantisation equals the per-element formula, edge blocks included", "[io][fp8]") {
  const index_t rows = 300, cols = 200, block = 128;
  const random_fp8 r = make_random_fp8(rows, cols, block, 42);
  const latte::weight_view w = latte::make_weight_view(r.values.data(), rows, cols, r.scales.data(), block);
  CHECK(w.scale_cols == 2);
  const latte::host_buffer<float> out = latte::io::dequantize(w);
  REQUIRE(out.size() == static_cast<std::size_t>(rows * cols));
  std::size_t mismatches = 0;
  for (index_t i = 0; i < rows; ++i)
    for (index_t j = 0; j < cols; ++j) {
      const float expected = r.values[static_cast<std::size_t>(i * cols + j)].to_float() *
                             r.scales[static_cast<std::size_t>((i / block) * 2 + j / block)];
      mismatches += out[static_cast<std::size_t>(i * cols + j)] != expected;
    }
  CHECK(mismatches == 0);

  // A sub-view keeps its place in the scale grid and writes into a strided output.
  const latte::weight_view part = w.row_range(120, 150).col_range(100, 77);
  std::vector<float> strided(150 * 80, -1.0f);
  latte::io::dequantize_into(part, strided.data(), 80);
  mismatches = 0;
  for (index_t i = 0; i < 150; ++i) {
    for (index_t j = 0; j < 77; ++j)
      mismatches += strided[static_cast<std::size_t>(i * 80 + j)] != out[static_cast<std::size_t>((120 + i) * cols + 100 + j)];
    for (index_t j = 77; j < 80; ++j) mismatches += strided[static_cast<std::size_t>(i * 80 + j)] != -1.0f;
  }
  CHECK(mismatches == 0);

  // Other blocks sizes, including one larger than the matrix.
  for (index_t b : {index_t(1), index_t(7), index_t(64), index_t(512)}) {
    INFO(b);
    const random_fp8 s = make_random_fp8(37, 53, b, 7);
    const latte::host_buffer<float> d =
        latte::io::dequantize(latte::make_weight_view(s.values.data(), 37, 53, s.scales.data(), b));
    const index_t sc = (53 + b - 1) / b;
    std::size_t bad = 0;
    for (index_t i = 0; i < 37; ++i)
      for (index_t j = 0; j < 53; ++j)
        bad += d[static_cast<std::size_t>(i * 53 + j)] !=
               s.values[static_cast<std::size_t>(i * 53 + j)].to_float() * s.scales[static_cast<std::size_t>((i / b) * sc + j / b)];
    CHECK(bad == 0);
  }
}

TEST_CASE("dequantize widens every storage type", "[io][fp8]") {
  const std::vector<float> f = io_test::random_floats(5 * 3, 9);
  std::vector<latte::bf16> b;
  std::vector<latte::fp16> h;
  std::vector<double> d;
  for (float v : f) {
    b.push_back(latte::bf16(v));
    h.push_back(latte::fp16(v));
    d.push_back(v);
  }
  const auto out_f = latte::io::dequantize(latte::make_weight_view(f.data(), 5, 3));
  const auto out_b = latte::io::dequantize(latte::make_weight_view(b.data(), 5, 3));
  const auto out_h = latte::io::dequantize(latte::make_weight_view(h.data(), 5, 3));
  const auto out_d = latte::io::dequantize(latte::make_weight_view(d.data(), 5, 3));
  for (std::size_t i = 0; i < f.size(); ++i) {
    CHECK(out_f[i] == f[i]);
    CHECK(out_b[i] == b[i].to_float());
    CHECK(out_h[i] == h[i].to_float());
    CHECK(out_d[i] == f[i]);
  }
  const auto empty = latte::io::dequantize(latte::make_weight_view(f.data(), 0, 3));
  CHECK(empty.size() == 0);
}

TEST_CASE("quantize_fp8_blocks then dequantize stays within fp8 rounding", "[io][fp8]") {
  const index_t rows = 300, cols = 200;
  std::vector<float> w = io_test::random_floats(static_cast<std::size_t>(rows * cols), 5, 0.02f);
  for (index_t j = 0; j < cols; ++j) w[static_cast<std::size_t>(299 * cols + j)] = 0.0f;  // a zero row in an edge block
  const latte::io::fp8_block_weight q = latte::io::quantize_fp8_blocks(w.data(), rows, cols);
  CHECK(q.scale_inv.size() == 3 * 2);
  const latte::host_buffer<float> back = latte::io::dequantize(q.view());
  const double err = relative_error(back.data(), w.data(), w.size());
  CHECK(err < 0.04);  // e4m3 keeps 3 mantissa bits: at most 2^-4 relative per element
  // Per element: half an ulp of 3 mantissa bits, or half the subnormal step 2^-9 of the block scale.
  const latte::weight_view v = q.view();
  for (index_t i = 0; i < rows; ++i)
    for (index_t j = 0; j < cols; ++j) {
      const std::size_t k = static_cast<std::size_t>(i * cols + j);
      REQUIRE(std::fabs(back[k] - w[k]) <= std::fabs(w[k]) * 0.0625f + v.scale_at(i, j) * 0.001f);
    }
}

TEST_CASE("the fp8 checkpoint dequantises close to the bf16 checkpoint", "[io][fp8]") {
  const auto bf16_dir = io_test::data_dir() / "dsv3-tiny";
  const auto fp8_dir = io_test::data_dir() / "dsv3-tiny-fp8";
  latte::io::checkpoint_weights bf16_weights(latte::io::checkpoint(bf16_dir), latte::io::load_config(bf16_dir));
  latte::io::checkpoint_weights fp8_weights(latte::io::checkpoint(fp8_dir), latte::io::load_config(fp8_dir));
  std::size_t compared = 0;
  double worst = 0, total_diff = 0, total_norm = 0;
  for (const auto& t : fp8_weights.files().shards().front().tensors()) {
    if (t.type != latte::dtype::f8_e4m3) continue;
    INFO(t.name);
    const index_t rows = t.shape[0], cols = t.shape[1];
    const latte::host_buffer<float> a = latte::io::dequantize(fp8_weights.get(t.name, rows, cols));
    const latte::host_buffer<float> b = latte::io::dequantize(bf16_weights.get(t.name, rows, cols));
    const double err = relative_error(a.data(), b.data(), a.size());
    worst = std::max(worst, err);
    for (std::size_t i = 0; i < a.size(); ++i) {
      total_diff += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
      total_norm += static_cast<double>(b[i]) * b[i];
    }
    CHECK(err < 0.04);  // measured: at most 0.027
    ++compared;
  }
  CHECK(compared == 176);
  const double overall = std::sqrt(total_diff / total_norm);
  std::printf("fp8 vs bf16 checkpoint: worst tensor relative error %.4f, overall %.4f\n", worst, overall);
  CHECK(overall < 0.035);  // measured: 0.0265
  CHECK(worst > 0.0);  // they are different encodings of the same weights
}

// CPU-vs-CUDA parity of every primitive of the backend contract (backend/concept.hpp), after
// ggml's test-backend-ops: each op runs on both backends on random non-zero data and the CUDA
// result is compared with the CPU's by normalised error ||cuda - cpu|| / ||cpu||, in both
// operand precisions of the CUDA backend. Tolerances, per op:
//
//   op                         f32    bf16 (split)  bf16_single_pass   why
//   gemm, gemm_batched         1e-5   5e-5          1e-2               one bf16 rounding: ~2^-9 per product;
//                                                                      hi + lo operands: ~2^-17
//   attention (d 64 / 128)     1e-5   2e-2          2e-2               bf16 Q, K, V and P on tensor cores
//   attention (other dims)     1e-5   1e-5          1e-5               float32 fallback in every mode
//   elementwise, norms, rope   1e-5   1e-5          1e-5               float32 in every mode
//   gather, dequantize         1e-6       1e-6        exact widening, one rounding of the scale
//   scatter_add_rows           1e-6       1e-6        same order of summation as the CPU
//   route                      equal ids, weights 1e-5
//   argmax_rows                equal
//
// Outputs are poisoned with NaN before each run, so an unwritten element fails.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "cuda_support.hpp"

namespace latte::test {
namespace {

cpu::backend& cpu_backend() {
  static cpu::backend b{};
  return b;
}

cuda::backend& gpu(cuda::compute_precision p) {
  static cuda::backend bf(cuda::backend_options{cuda::compute_precision::bf16, 0});
  static cuda::backend single(cuda::backend_options{cuda::compute_precision::bf16_single_pass, 0});
  static cuda::backend f32(cuda::backend_options{cuda::compute_precision::f32, 0});
  return p == cuda::compute_precision::bf16 ? bf : p == cuda::compute_precision::f32 ? f32 : single;
}

const cuda::compute_precision both_precisions[] = {cuda::compute_precision::f32, cuda::compute_precision::bf16,
                                                   cuda::compute_precision::bf16_single_pass};

// GEMM tolerance by precision.
double tolerance(cuda::compute_precision p, double f32, double single) {
  return p == cuda::compute_precision::f32 ? f32 : p == cuda::compute_precision::bf16 ? 5e-5 : single;
}

// One gemm on both backends; returns the normalised error.
double gemm_error(cuda::compute_precision prec, dtype type, index_t m, index_t n, index_t k, weight_layout layout,
                  float alpha, float beta, std::uint32_t seed) {
  const cuda::backend& g = gpu(prec);
  const bool out_in = layout == weight_layout::out_in;
  test_weight w(g, type, out_in ? n : k, out_in ? k : n, seed);
  const std::vector<float> x = random_floats(static_cast<std::size_t>(m * k), seed + 1);
  std::vector<float> y_cpu = random_floats(static_cast<std::size_t>(m * n), seed + 2);
  auto dx = to_device(g, x);
  auto dy = to_device(g, y_cpu);
  const gemm_options o{alpha, beta, layout};
  cpu_backend().gemm(make_matrix_view<const float>(x.data(), m, k), w.host(), make_matrix_view(y_cpu.data(), m, n), o);
  g.gemm(make_matrix_view<const float>(dx.data(), m, k), w.device(), make_matrix_view(dy.data(), m, n), o);
  return normalised_error(to_host(g, dy.data(), y_cpu.size()), y_cpu);
}

}  // namespace

TEST_CASE("cuda parity: gemm over every weight type, layout and precision", "[cuda][parity]") {
  LATTE_REQUIRE_GPU();
  for (const auto prec : both_precisions)
    for (const dtype type : {dtype::f32, dtype::bf16, dtype::f16, dtype::f8_e4m3})
      for (const weight_layout layout : {weight_layout::out_in, weight_layout::in_out}) {
        INFO(precision_name(prec) << " weight " << name_of(type) << (layout == weight_layout::out_in ? " out_in" : " in_out"));
        const double e1 = gemm_error(prec, type, 37, 300, 200, layout, 1.0f, 0.0f, 11);
        const double e2 = gemm_error(prec, type, 5, 129, 257, layout, 0.5f, 1.0f, 12);
        const double e3 = gemm_error(prec, type, 64, 256, 384, layout, 1.0f, -0.25f, 13);
        CAPTURE(e1, e2, e3);
        const double tol = tolerance(prec, 1e-5, 1e-2);
        CHECK(e1 < tol);
        CHECK(e2 < tol);
        CHECK(e3 < tol);
      }
}

TEST_CASE("cuda parity: gemm on row and column ranges of an fp8 weight (kv_b_proj slices)", "[cuda][parity]") {
  LATTE_REQUIRE_GPU();
  for (const auto prec : both_precisions) {
    const cuda::backend& g = gpu(prec);
    test_weight w(g, dtype::f8_e4m3, 512, 320, 21);
    const index_t m = 9;
    for (const auto& [r0, rn, c0, cn] : {std::array<index_t, 4>{128, 128, 0, 320}, std::array<index_t, 4>{200, 70, 64, 130}}) {
      const weight_view hv = w.host().row_range(r0, rn).col_range(c0, cn);
      const weight_view dv = w.device().row_range(r0, rn).col_range(c0, cn);
      const std::vector<float> x = random_floats(static_cast<std::size_t>(m * cn), 22);
      std::vector<float> y(static_cast<std::size_t>(m * rn));
      auto dx = to_device(g, x);
      auto dy = poisoned(g, y.size());
      cpu_backend().gemm(make_matrix_view<const float>(x.data(), m, cn), hv, make_matrix_view(y.data(), m, rn));
      g.gemm(make_matrix_view<const float>(dx.data(), m, cn), dv, make_matrix_view(dy.data(), m, rn));
      const double e = normalised_error(to_host(g, dy.data(), y.size()), y);
      INFO(precision_name(prec) << " rows " << r0 << "+" << rn << " cols " << c0 << "+" << cn);
      CHECK(e < tolerance(prec, 1e-5, 1e-2));
    }
  }
}

TEST_CASE("cuda parity: gemm_batched (per-head slices of one weight, strided x and y)", "[cuda][parity]") {
  LATTE_REQUIRE_GPU();
  for (const auto prec : both_precisions)
    for (const dtype type : {dtype::f32, dtype::bf16, dtype::f8_e4m3})
      for (const weight_layout layout : {weight_layout::out_in, weight_layout::in_out}) {
        const cuda::backend& g = gpu(prec);
        // kv_b_proj-like: heads x (128 k_nope + 128 v) rows of 512; matrix h = rows [h * 256 + off, +128).
        const index_t heads = 4, tokens = 6, per = 128, step = 256, width = 512;
        test_weight w(g, type, heads * step, width, 31);
        const bool out_in = layout == weight_layout::out_in;
        const index_t k = out_in ? width : per, n = out_in ? per : width;
        // x as [heads, tokens, k] read with strides of a [tokens, heads, k + 8] tensor.
        const index_t xrow = heads * (k + 8);
        const std::vector<float> x = random_floats(static_cast<std::size_t>(tokens * xrow), 32);
        std::vector<float> y(static_cast<std::size_t>(heads * tokens * n), 0.0f);
        auto dx = to_device(g, x);
        auto dy = poisoned(g, y.size());
        const dtensor_view<const float, 3> hx(x.data(), dextents<3>(heads, tokens, k), {k + 8, xrow, 1});
        const dtensor_view<const float, 3> gx(dx.data(), dextents<3>(heads, tokens, k), {k + 8, xrow, 1});
        const weight_view hw = w.host().row_range(out_in ? 0 : 128, heads * step - 128);
        const weight_view gw = w.device().row_range(out_in ? 0 : 128, heads * step - 128);
        cpu_backend().gemm_batched(hx, hw, per, step, dtensor_view<float, 3>(y.data(), dextents<3>(heads, tokens, n)),
                                   gemm_options{1.0f, 0.0f, layout});
        g.gemm_batched(gx, gw, per, step, dtensor_view<float, 3>(dy.data(), dextents<3>(heads, tokens, n)),
                       gemm_options{1.0f, 0.0f, layout});
        const double e = normalised_error(to_host(g, dy.data(), y.size()), y);
        INFO(precision_name(prec) << " " << name_of(type) << (out_in ? " out_in" : " in_out") << " error " << e);
        CHECK(e < tolerance(prec, 1e-5, 1e-2));
      }
}

TEST_CASE("cuda parity: rmsnorm, silu_mul, add, softmax_rows, argmax_rows", "[cuda][parity]") {
  LATTE_REQUIRE_GPU();
  for (const auto prec : both_precisions) {
    const cuda::backend& g = gpu(prec);
    INFO(precision_name(prec));
    for (const index_t n : {index_t{7}, index_t{512}, index_t{7168}}) {
      const index_t m = 13;
      INFO("n = " << n);
      const std::vector<float> a = random_floats(static_cast<std::size_t>(m * n), 41, -3.0f, 3.0f);
      const std::vector<float> b = random_floats(static_cast<std::size_t>(m * n), 42, -3.0f, 3.0f);
      auto da = to_device(g, a);
      auto db = to_device(g, b);
      const auto ca = make_matrix_view<const float>(a.data(), m, n);
      const auto cb = make_matrix_view<const float>(b.data(), m, n);
      const auto ga = make_matrix_view<const float>(da.data(), m, n);
      const auto gb = make_matrix_view<const float>(db.data(), m, n);

      for (const dtype wt : {dtype::f32, dtype::bf16}) {
        test_weight w(g, wt, 1, n, 43);
        std::vector<float> y(a.size());
        auto dy = poisoned(g, y.size());
        cpu_backend().rmsnorm(ca, w.host(), 1e-6f, make_matrix_view(y.data(), m, n));
        g.rmsnorm(ga, w.device(), 1e-6f, make_matrix_view(dy.data(), m, n));
        CHECK(normalised_error(to_host(g, dy.data(), y.size()), y) < 1e-5);
      }
      {
        std::vector<float> y(a.size());
        auto dy = poisoned(g, y.size());
        cpu_backend().silu_mul(ca, cb, make_matrix_view(y.data(), m, n));
        g.silu_mul(ga, gb, make_matrix_view(dy.data(), m, n));
        CHECK(normalised_error(to_host(g, dy.data(), y.size()), y) < 1e-5);
      }
      {
        std::vector<float> y = b;
        auto dy = to_device(g, b);
        cpu_backend().add(ca, make_matrix_view(y.data(), m, n), -0.75f);
        g.add(ga, make_matrix_view(dy.data(), m, n), -0.75f);
        CHECK(normalised_error(to_host(g, dy.data(), y.size()), y) < 1e-6);
      }
      {
        std::vector<float> y = a;
        auto dy = to_device(g, a);
        cpu_backend().softmax_rows(make_matrix_view(y.data(), m, n));
        g.softmax_rows(make_matrix_view(dy.data(), m, n));
        CHECK(normalised_error(to_host(g, dy.data(), y.size()), y) < 1e-5);
      }
      {
        std::vector<std::int32_t> idx(static_cast<std::size_t>(m));
        auto didx = to_device(g, std::vector<std::int32_t>(static_cast<std::size_t>(m), -7));
        cpu_backend().argmax_rows(ca, make_vector_view(idx.data(), m));
        g.argmax_rows(ga, make_vector_view(didx.data(), m));
        CHECK(to_host(g, didx.data(), idx.size()) == idx);
      }
    }
  }
}

TEST_CASE("cuda parity: rope in both layouts on a strided view", "[cuda][parity]") {
  LATTE_REQUIRE_GPU();
  const cuda::backend& g = gpu(cuda::compute_precision::bf16);
  const index_t tokens = 11, heads = 5, d = 64, row = heads * 192;  // the rope part of [tokens, heads, 192]
  const std::vector<float> x = random_floats(static_cast<std::size_t>(tokens * row), 51);
  std::vector<float> cs(static_cast<std::size_t>(tokens * d));
  for (index_t t = 0; t < tokens; ++t)
    for (index_t j = 0; j < d / 2; ++j) {
      const double angle = static_cast<double>(t + 3) * std::pow(10000.0, -2.0 * static_cast<double>(j) / d);
      cs[static_cast<std::size_t>((t * (d / 2) + j) * 2)] = static_cast<float>(std::cos(angle));
      cs[static_cast<std::size_t>((t * (d / 2) + j) * 2 + 1)] = static_cast<float>(std::sin(angle));
    }
  auto dcs = to_device(g, cs);
  for (const rope_layout layout : {rope_layout::interleaved_pairs, rope_layout::halves}) {
    std::vector<float> y = x;
    auto dy = to_device(g, x);
    const dextents<3> shape(tokens, heads, d);
    cpu_backend().rope(dtensor_view<float, 3>(y.data() + 128, shape, {row, 192, 1}),
                       dtensor_view<const float, 3>(cs.data(), dextents<3>(tokens, d / 2, 2)), layout);
    g.rope(dtensor_view<float, 3>(dy.data() + 128, shape, {row, 192, 1}),
           dtensor_view<const float, 3>(dcs.data(), dextents<3>(tokens, d / 2, 2)), layout);
    CHECK(normalised_error(to_host(g, dy.data(), y.size()), y) < 1e-6);
  }
}

namespace {

// attention on both backends: q [tq, hq, dk], k [tk, hk, dk], v [tk, hk, dv].
double attention_error(cuda::compute_precision prec, index_t tq, index_t tk, index_t hq, index_t hk, index_t dk,
                       index_t dv, const attention_options& o, std::uint32_t seed) {
  const cuda::backend& g = gpu(prec);
  const std::vector<float> q = random_floats(static_cast<std::size_t>(tq * hq * dk), seed);
  const std::vector<float> k = random_floats(static_cast<std::size_t>(tk * hk * dk), seed + 1);
  const std::vector<float> v = random_floats(static_cast<std::size_t>(tk * hk * dv), seed + 2);
  std::vector<float> out(static_cast<std::size_t>(tq * hq * dv));
  auto dq = to_device(g, q);
  auto dk_ = to_device(g, k);
  auto dv_ = to_device(g, v);
  auto dout = poisoned(g, out.size());
  cpu_backend().attention(dtensor_view<const float, 3>(q.data(), dextents<3>(tq, hq, dk)),
                          dtensor_view<const float, 3>(k.data(), dextents<3>(tk, hk, dk)),
                          dtensor_view<const float, 3>(v.data(), dextents<3>(tk, hk, dv)),
                          dtensor_view<float, 3>(out.data(), dextents<3>(tq, hq, dv)), o);
  g.attention(dtensor_view<const float, 3>(dq.data(), dextents<3>(tq, hq, dk)),
              dtensor_view<const float, 3>(dk_.data(), dextents<3>(tk, hk, dk)),
              dtensor_view<const float, 3>(dv_.data(), dextents<3>(tk, hk, dv)),
              dtensor_view<float, 3>(dout.data(), dextents<3>(tq, hq, dv)), o);
  return normalised_error(to_host(g, dout.data(), out.size()), out);
}

}  // namespace

TEST_CASE("cuda parity: attention (GQA, causal with offset, decode split-KV, dk != dv)", "[cuda][parity]") {
  LATTE_REQUIRE_GPU();
  struct shape {
    index_t tq, tk, hq, hk, dk, dv;
    bool causal;
    index_t offset;
  };
  const shape shapes[] = {
      {77, 77, 8, 2, 128, 128, true, 0},     // GQA prefill, tensor cores in bf16 mode
      {200, 333, 4, 4, 64, 64, true, 133},   // MHA, chunked prefill after 133 cached tokens
      {3, 1000, 6, 1, 128, 128, false, 0},   // MQA, not causal
      {1, 3000, 16, 1, 576, 512, true, 2999},  // absorbed MLA decode shape (fallback), split-KV
      {2, 700, 4, 4, 192, 128, true, 698},   // naive MLA head dims
      {5, 5, 2, 1, 40, 24, true, -2},        // odd dims, queries before the first key
  };
  for (const auto prec : both_precisions)
    for (const shape& s : shapes) {
      const attention_options o{1.0f / std::sqrt(static_cast<float>(s.dk)), s.causal, s.offset};
      const double e = attention_error(prec, s.tq, s.tk, s.hq, s.hk, s.dk, s.dv, o, 61);
      const bool tensor_cores = prec != cuda::compute_precision::f32 && s.dk == s.dv && (s.dk == 64 || s.dk == 128);
      INFO(precision_name(prec) << " tq " << s.tq << " tk " << s.tk << " hq " << s.hq << " hk " << s.hk << " dk "
                                << s.dk << " dv " << s.dv << " error " << e);
      CHECK(e < (tensor_cores ? 2e-2 : 1e-5));
    }
}

TEST_CASE("cuda parity: attention with V aliasing K (absorbed MLA form)", "[cuda][parity]") {
  LATTE_REQUIRE_GPU();
  for (const auto prec : both_precisions) {
    const cuda::backend& g = gpu(prec);
    const index_t tq = 2, tk = 450, hq = 8, dk = 576, dv = 512;
    const std::vector<float> q = random_floats(static_cast<std::size_t>(tq * hq * dk), 71);
    const std::vector<float> kv = random_floats(static_cast<std::size_t>(tk * dk), 72);
    std::vector<float> out(static_cast<std::size_t>(tq * hq * dv));
    auto dq = to_device(g, q);
    auto dkv = to_device(g, kv);
    auto dout = poisoned(g, out.size());
    const attention_options o{0.1352338f, true, tk - tq};
    cpu_backend().attention(dtensor_view<const float, 3>(q.data(), dextents<3>(tq, hq, dk)),
                            dtensor_view<const float, 3>(kv.data(), dextents<3>(tk, 1, dk)),
                            dtensor_view<const float, 3>(kv.data(), dextents<3>(tk, 1, dv), {dk, dk, 1}),
                            dtensor_view<float, 3>(out.data(), dextents<3>(tq, hq, dv)), o);
    g.attention(dtensor_view<const float, 3>(dq.data(), dextents<3>(tq, hq, dk)),
                dtensor_view<const float, 3>(dkv.data(), dextents<3>(tk, 1, dk)),
                dtensor_view<const float, 3>(dkv.data(), dextents<3>(tk, 1, dv), {dk, dk, 1}),
                dtensor_view<float, 3>(dout.data(), dextents<3>(tq, hq, dv)), o);
    CHECK(normalised_error(to_host(g, dout.data(), out.size()), out) < 1e-5);
  }
}

TEST_CASE("cuda parity: route (sigmoid and softmax, groups, bias, norm, scaling)", "[cuda][parity]") {
  LATTE_REQUIRE_GPU();
  const cuda::backend& g = gpu(cuda::compute_precision::bf16);
  struct config {
    index_t experts, top_k, n_group, topk_group;
    scoring_func scoring;
    bool norm, bias;
    float scaling;
  };
  const config configs[] = {
      {256, 8, 8, 4, scoring_func::sigmoid, true, true, 2.5f},   // DeepSeek-V3
      {64, 6, 1, 1, scoring_func::softmax, false, false, 1.0f},  // V2-Lite
      {16, 4, 4, 2, scoring_func::sigmoid, true, true, 1.5f},    // tiny
      {300, 3, 3, 1, scoring_func::softmax, true, false, 1.0f},
  };
  for (const config& c : configs) {
    const index_t tokens = 97;
    const std::vector<float> logits = random_floats(static_cast<std::size_t>(tokens * c.experts), 81, -4.0f, 4.0f);
    const std::vector<float> bias = random_floats(static_cast<std::size_t>(c.experts), 82, -0.1f, 0.1f);
    auto dlogits = to_device(g, logits);
    auto dbias = to_device(g, bias);
    routing_options o;
    o.scoring = c.scoring;
    o.top_k = c.top_k;
    o.n_group = c.n_group;
    o.topk_group = c.topk_group;
    o.norm_topk_prob = c.norm;
    o.routed_scaling_factor = c.scaling;
    std::vector<std::int32_t> ids(static_cast<std::size_t>(tokens * c.top_k));
    std::vector<float> w(ids.size());
    o.selection_bias = c.bias ? bias.data() : nullptr;
    cpu_backend().route(make_matrix_view<const float>(logits.data(), tokens, c.experts), o,
                        make_matrix_view(ids.data(), tokens, c.top_k), make_matrix_view(w.data(), tokens, c.top_k));
    auto dids = to_device(g, std::vector<std::int32_t>(ids.size(), -1));
    auto dw = poisoned(g, w.size());
    o.selection_bias = c.bias ? dbias.data() : nullptr;
    g.route(make_matrix_view<const float>(dlogits.data(), tokens, c.experts), o,
            make_matrix_view(dids.data(), tokens, c.top_k), make_matrix_view(dw.data(), tokens, c.top_k));
    INFO("experts " << c.experts << " top_k " << c.top_k);
    CHECK(to_host(g, dids.data(), ids.size()) == ids);
    CHECK(normalised_error(to_host(g, dw.data(), w.size()), w) < 1e-5);
  }
}

TEST_CASE("cuda parity: gather_rows, scatter_add_rows, dequantize", "[cuda][parity]") {
  LATTE_REQUIRE_GPU();
  const cuda::backend& g = gpu(cuda::compute_precision::bf16);
  for (const dtype type : {dtype::f32, dtype::bf16, dtype::f16, dtype::f8_e4m3}) {
    INFO(name_of(type));
    test_weight table(g, type, 300, 260, 91);
    {
      std::vector<std::int32_t> ids = {5, 299, 0, 5, 128, 127, 200};
      std::vector<float> out(ids.size() * 260);
      auto dids = to_device(g, ids);
      auto dout = poisoned(g, out.size());
      cpu_backend().gather_rows(table.host(), make_vector_view<const std::int32_t>(ids.data(), 7),
                                make_matrix_view(out.data(), 7, 260));
      g.gather_rows(table.device(), make_vector_view<const std::int32_t>(dids.data(), 7),
                    make_matrix_view(dout.data(), 7, 260));
      CHECK(normalised_error(to_host(g, dout.data(), out.size()), out) < 1e-6);
    }
    {
      std::vector<float> out(300 * 260);
      auto dout = poisoned(g, out.size());
      cpu_backend().dequantize(table.host(), make_matrix_view(out.data(), 300, 260));
      g.dequantize(table.device(), make_matrix_view(dout.data(), 300, 260));
      CHECK(normalised_error(to_host(g, dout.data(), out.size()), out) < 1e-6);
    }
  }
  for (const index_t m : {index_t{9}, index_t{1000}}) {
    INFO("scatter rows " << m);
    const index_t n = 40, d = 300;
    std::vector<std::int32_t> ids(static_cast<std::size_t>(m));
    for (index_t i = 0; i < m; ++i) ids[static_cast<std::size_t>(i)] = static_cast<std::int32_t>((i * 7919) % n);
    const std::vector<float> x = random_floats(static_cast<std::size_t>(m * d), 92);
    const std::vector<float> w = random_floats(static_cast<std::size_t>(m), 93);
    std::vector<float> y = random_floats(static_cast<std::size_t>(n * d), 94);
    auto dids = to_device(g, ids);
    auto dx = to_device(g, x);
    auto dw = to_device(g, w);
    auto dy = to_device(g, y);
    cpu_backend().scatter_add_rows(make_matrix_view<const float>(x.data(), m, d),
                                   make_vector_view<const std::int32_t>(ids.data(), m),
                                   make_vector_view<const float>(w.data(), m), make_matrix_view(y.data(), n, d));
    g.scatter_add_rows(make_matrix_view<const float>(dx.data(), m, d),
                       make_vector_view<const std::int32_t>(dids.data(), m),
                       make_vector_view<const float>(dw.data(), m), make_matrix_view(dy.data(), n, d));
    const std::vector<float> first = to_host(g, dy.data(), y.size());
    CHECK(normalised_error(first, y) < 1e-6);
  }
}

TEST_CASE("cuda: kernels report bad ids as latte::error", "[cuda][errors]") {
  LATTE_REQUIRE_GPU();
  const cuda::backend& g = gpu(cuda::compute_precision::bf16);
  test_weight table(g, dtype::bf16, 10, 16, 95);
  auto dids = to_device(g, std::vector<std::int32_t>{3, 10});
  auto dout = g.allocate<float>(32);
  g.gather_rows(table.device(), make_vector_view<const std::int32_t>(dids.data(), 2), make_matrix_view(dout.data(), 2, 16));
  CHECK_THROWS_AS(g.synchronize(), latte::error);
  g.synchronize();  // the flag is cleared once reported
  CHECK_THROWS_AS(g.attention(dtensor_view<const float, 3>(dout.data(), dextents<3>(1, 3, 16)),
                              dtensor_view<const float, 3>(dout.data(), dextents<3>(1, 2, 16)),
                              dtensor_view<const float, 3>(dout.data(), dextents<3>(1, 2, 16)),
                              dtensor_view<float, 3>(dout.data(), dextents<3>(1, 3, 16)), attention_options{}),
                  latte::error);
}

}  // namespace latte::test

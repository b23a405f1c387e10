// The CUDA backend's fused kernels against the generic composition and the CPU:
//
//   mla_decode (absorbed MLA over a paged latent cache, d 576 / dv 512, pages of 64):
//     vs attention() on the same data on the CPU and on the GPU (f32), and vs a float64 naive
//     reference for the log-sum-exp; paged vs contiguous page tables; splits vs no splits;
//     head counts 16, 20, 64, 128, s_q 1 and 2 (MTP), sequence lengths with partial pages, and
//     pages past the sequence filled with NaN (they must not leak into the result).
//     Tolerance 1e-2 (bf16 operands and probabilities on tensor cores; ~3e-3 expected).
//   attention_bf16 (flash attention on tensor cores, bf16 in and out): vs the CPU on the same
//     bf16-rounded inputs, tolerance 2e-2.
//   moe_experts (permutation + grouped GEMMs): vs the CPU composition gemm / silu_mul / gemm /
//     weighted sum, tolerance 1e-5 in f32 mode, 2e-2 in bf16 mode.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "cuda_support.hpp"

namespace latte::test {
namespace {

constexpr index_t page = 64, dk = 576, dv = 512;

std::vector<bf16> to_bf16(const std::vector<float>& v) {
  std::vector<bf16> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = bf16(v[i]);
  return out;
}
std::vector<float> widen(const std::vector<bf16>& v) {
  std::vector<float> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = v[i].to_float();
  return out;
}

struct paged_case {
  index_t batch = 0, s_q = 1, heads = 16;
  std::vector<index_t> lens;
  index_t pages_per_seq = 0, num_pages = 0;
  std::vector<std::int32_t> table;     // [batch, pages_per_seq]
  std::vector<bf16> pages;             // [num_pages, 64, 576]
  std::vector<bf16> q;                 // [batch, s_q, heads, 576]
  std::vector<std::vector<float>> latent;  // per sequence [len, 576] (widened)

  paged_case(index_t s_q_, index_t heads_, std::vector<index_t> lens_, bool shuffled, std::uint32_t seed)
      : batch(static_cast<index_t>(lens_.size())), s_q(s_q_), heads(heads_), lens(std::move(lens_)) {
    for (index_t l : lens) pages_per_seq = std::max(pages_per_seq, (l + page - 1) / page);
    pages_per_seq = std::max<index_t>(pages_per_seq, 1) + 1;  // one spare entry per row
    num_pages = batch * pages_per_seq + 3;
    std::vector<std::int32_t> order(static_cast<std::size_t>(num_pages));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937 gen(seed);
    if (shuffled) std::shuffle(order.begin(), order.end(), gen);
    table.assign(static_cast<std::size_t>(batch * pages_per_seq), -1);  // unused entries are invalid
    // Every page starts as NaN: the slots past each sequence's end must never matter.
    pages.assign(static_cast<std::size_t>(num_pages * page * dk), bf16::from_bits(0x7fc0));
    std::size_t next = 0;
    for (index_t b = 0; b < batch; ++b) {
      const index_t len = lens[static_cast<std::size_t>(b)];
      const std::vector<float> values = random_floats(static_cast<std::size_t>(len * dk), seed + 1 + static_cast<std::uint32_t>(b));
      const std::vector<bf16> rounded = to_bf16(values);
      latent.push_back(widen(rounded));
      for (index_t pi = 0; pi < (len + page - 1) / page; ++pi) {
        const std::int32_t id = order[next++];
        table[static_cast<std::size_t>(b * pages_per_seq + pi)] = id;
        for (index_t t = pi * page; t < std::min(len, (pi + 1) * page); ++t)
          std::copy_n(rounded.begin() + t * dk, dk, pages.begin() + (id * page + (t - pi * page)) * dk);
      }
    }
    q = to_bf16(random_floats(static_cast<std::size_t>(batch * s_q * heads * dk), seed + 100, -2.0f, 2.0f));
  }
};

// float64 naive reference of one sequence: out [s_q, heads, 512], lse [s_q, heads].
void naive_reference(const paged_case& c, index_t b, float scale, std::vector<double>& out, std::vector<double>& lse) {
  const index_t len = c.lens[static_cast<std::size_t>(b)];
  const std::vector<float>& kv = c.latent[static_cast<std::size_t>(b)];
  out.assign(static_cast<std::size_t>(c.s_q * c.heads * dv), 0.0);
  lse.assign(static_cast<std::size_t>(c.s_q * c.heads), -INFINITY);
  std::vector<double> s(static_cast<std::size_t>(len));
  for (index_t j = 0; j < c.s_q; ++j)
    for (index_t h = 0; h < c.heads; ++h) {
      const index_t visible = std::clamp<index_t>(len - c.s_q + j + 1, 0, len);
      if (visible == 0) continue;
      const bf16* qrow = c.q.data() + ((b * c.s_q + j) * c.heads + h) * dk;
      double peak = -INFINITY;
      for (index_t t = 0; t < visible; ++t) {
        double dot = 0.0;
        for (index_t d = 0; d < dk; ++d) dot += static_cast<double>(qrow[d].to_float()) * kv[static_cast<std::size_t>(t * dk + d)];
        s[static_cast<std::size_t>(t)] = dot * scale;
        peak = std::max(peak, s[static_cast<std::size_t>(t)]);
      }
      double total = 0.0;
      double* o = out.data() + (j * c.heads + h) * dv;
      for (index_t t = 0; t < visible; ++t) {
        const double p = std::exp(s[static_cast<std::size_t>(t)] - peak);
        total += p;
        for (index_t d = 0; d < dv; ++d) o[d] += p * kv[static_cast<std::size_t>(t * dk + d)];
      }
      for (index_t d = 0; d < dv; ++d) o[d] /= total;
      lse[static_cast<std::size_t>(j * c.heads + h)] = peak + std::log(total);
    }
}

struct decode_result {
  std::vector<float> out, lse;
};

template <class Out>
decode_result run_decode(const cuda::backend& g, const paged_case& c, const std::vector<std::int32_t>& table,
                         const std::vector<bf16>& pages, index_t splits, float scale) {
  auto dq = to_device(g, c.q);
  auto dpages = to_device(g, pages);
  auto dtable = to_device(g, table);
  std::vector<std::int32_t> lens32(c.lens.begin(), c.lens.end());
  auto dlens = to_device(g, lens32);
  const std::size_t rows = static_cast<std::size_t>(c.batch * c.s_q * c.heads);
  cuda::device_buffer<Out> dout = g.allocate<Out>(rows * dv);
  auto dlse = poisoned(g, rows);
  if constexpr (std::is_same_v<Out, float>) {
    auto poison = poisoned(g, rows * dv);
    g.copy(poison.data(), dout.data(), rows * dv);
  }
  cuda::paged_latent_cache cache;
  cache.pages = dpages.data();
  cache.num_pages = c.num_pages;
  cache.page_table = dtable.data();
  cache.pages_per_seq = c.pages_per_seq;
  cache.seq_lens = dlens.data();
  cache.batch = c.batch;
  cache.max_seq_len = *std::max_element(c.lens.begin(), c.lens.end());
  cuda::mla_decode_options o;
  o.scale = scale;
  o.num_splits = splits;
  g.mla_decode(dq.data(), c.s_q, c.heads, cache, dout.data(), dlse.data(), o);
  decode_result r;
  if constexpr (std::is_same_v<Out, float>) {
    r.out = to_host(g, dout.data(), rows * dv);
  } else {
    r.out = widen(to_host(g, dout.data(), rows * dv));
  }
  r.lse = to_host(g, dlse.data(), rows);
  return r;
}

}  // namespace

TEST_CASE("cuda mla_decode: paged absorbed decode vs the generic composition and the CPU", "[cuda][mla]") {
  LATTE_REQUIRE_GPU();
  const cuda::backend g(cuda::backend_options{cuda::compute_precision::f32, 0});
  const cpu::backend cpu{};
  const float scale = 0.1352338f;
  struct shape {
    index_t s_q, heads;
    std::vector<index_t> lens;
  };
  const shape shapes[] = {
      {1, 16, {1, 64, 65, 300}},
      {2, 16, {2, 130, 1000}},
      {1, 20, {77, 513}},
      {1, 64, {640, 5, 129}},
      {2, 128, {200, 64}},
      {1, 128, {2049}},
  };
  std::uint32_t seed = 1000;
  for (const shape& s : shapes) {
    const paged_case c(s.s_q, s.heads, s.lens, true, seed++);
    INFO("s_q " << s.s_q << " heads " << s.heads << " batch " << c.batch);

    // References: float64 naive; attention() on the CPU and on the GPU (f32) per sequence.
    std::vector<float> ref_cpu, ref_gpu;
    std::vector<double> ref64, lse64;
    for (index_t b = 0; b < c.batch; ++b) {
      const index_t len = c.lens[static_cast<std::size_t>(b)];
      const std::vector<float>& kv = c.latent[static_cast<std::size_t>(b)];
      const std::vector<float> qf = widen(std::vector<bf16>(c.q.begin() + b * c.s_q * c.heads * dk,
                                                            c.q.begin() + (b + 1) * c.s_q * c.heads * dk));
      const attention_options o{scale, true, len - c.s_q};
      std::vector<float> out(static_cast<std::size_t>(c.s_q * c.heads * dv));
      cpu.attention(dtensor_view<const float, 3>(qf.data(), dextents<3>(c.s_q, c.heads, dk)),
                    dtensor_view<const float, 3>(kv.data(), dextents<3>(len, 1, dk)),
                    dtensor_view<const float, 3>(kv.data(), dextents<3>(len, 1, dv), {dk, dk, 1}),
                    dtensor_view<float, 3>(out.data(), dextents<3>(c.s_q, c.heads, dv)), o);
      ref_cpu.insert(ref_cpu.end(), out.begin(), out.end());
      auto dqf = to_device(g, qf);
      auto dkv = to_device(g, kv);
      auto dout = poisoned(g, out.size());
      g.attention(dtensor_view<const float, 3>(dqf.data(), dextents<3>(c.s_q, c.heads, dk)),
                  dtensor_view<const float, 3>(dkv.data(), dextents<3>(len, 1, dk)),
                  dtensor_view<const float, 3>(dkv.data(), dextents<3>(len, 1, dv), {dk, dk, 1}),
                  dtensor_view<float, 3>(dout.data(), dextents<3>(c.s_q, c.heads, dv)), o);
      const std::vector<float> got = to_host(g, dout.data(), out.size());
      ref_gpu.insert(ref_gpu.end(), got.begin(), got.end());
      std::vector<double> o64, l64;
      naive_reference(c, b, scale, o64, l64);
      ref64.insert(ref64.end(), o64.begin(), o64.end());
      lse64.insert(lse64.end(), l64.begin(), l64.end());
    }
    const std::vector<float> ref64f(ref64.begin(), ref64.end());
    CHECK(normalised_error(ref_cpu, ref64f) < 1e-5);
    CHECK(normalised_error(ref_gpu, ref64f) < 1e-5);

    const decode_result auto_split = run_decode<float>(g, c, c.table, c.pages, 0, scale);
    const decode_result one = run_decode<float>(g, c, c.table, c.pages, 1, scale);
    const decode_result five = run_decode<float>(g, c, c.table, c.pages, 5, scale);
    const decode_result as_bf16 = run_decode<bf16>(g, c, c.table, c.pages, 0, scale);
    const double e_cpu = normalised_error(auto_split.out, ref_cpu);
    const double e_gpu = normalised_error(auto_split.out, ref_gpu);
    const double e_one = normalised_error(one.out, ref_cpu);
    const double e_five = normalised_error(five.out, ref_cpu);
    const double e_bf16 = normalised_error(as_bf16.out, ref_cpu);
    CAPTURE(e_cpu, e_gpu, e_one, e_five, e_bf16);
    CHECK(e_cpu < 1e-2);
    CHECK(e_gpu < 1e-2);
    CHECK(e_one < 1e-2);
    CHECK(e_five < 1e-2);
    CHECK(e_bf16 < 1.2e-2);
    double lse_err = 0.0;
    for (std::size_t i = 0; i < lse64.size(); ++i) lse_err = std::max(lse_err, std::abs(auto_split.lse[i] - lse64[i]));
    CAPTURE(lse_err);
    CHECK(lse_err < 2e-2);

    // The same tokens in a contiguous (identity-table) cache give the same result.
    std::vector<std::int32_t> identity(c.table.size(), -1);
    std::vector<bf16> contiguous(c.pages.size(), bf16::from_bits(0x7fc0));
    for (index_t b = 0; b < c.batch; ++b)
      for (index_t pi = 0; pi < c.pages_per_seq; ++pi) {
        const std::int32_t src = c.table[static_cast<std::size_t>(b * c.pages_per_seq + pi)];
        if (src < 0) continue;
        const std::int32_t dst = static_cast<std::int32_t>(b * c.pages_per_seq + pi);
        identity[static_cast<std::size_t>(b * c.pages_per_seq + pi)] = dst;
        std::copy_n(c.pages.begin() + src * page * dk, page * dk, contiguous.begin() + dst * page * dk);
      }
    const decode_result flat = run_decode<float>(g, c, identity, contiguous, 0, scale);
    CHECK(normalised_error(flat.out, auto_split.out) < 1e-6);
  }
}

TEST_CASE("cuda mla_decode: refuses a bad page table entry", "[cuda][mla][errors]") {
  LATTE_REQUIRE_GPU();
  const cuda::backend g;
  paged_case c(1, 16, {100}, false, 7);
  std::vector<std::int32_t> table = c.table;
  table[1] = static_cast<std::int32_t>(c.num_pages + 5);
  CHECK_THROWS_AS(run_decode<float>(g, c, table, c.pages, 0, 0.1f), latte::error);
}

TEST_CASE("cuda attention_bf16: flash attention on tensor cores vs the CPU", "[cuda][flash]") {
  LATTE_REQUIRE_GPU();
  const cuda::backend g;
  const cpu::backend cpu{};
  struct shape {
    index_t batch, tq, tk, hq, hk, d;
    bool causal;
  };
  const shape shapes[] = {{2, 300, 300, 8, 2, 128, true}, {1, 64, 1000, 4, 1, 64, false}, {3, 129, 129, 2, 2, 128, false}};
  for (const shape& s : shapes) {
    const auto q = to_bf16(random_floats(static_cast<std::size_t>(s.batch * s.tq * s.hq * s.d), 201, -2.0f, 2.0f));
    const auto k = to_bf16(random_floats(static_cast<std::size_t>(s.batch * s.tk * s.hk * s.d), 202, -2.0f, 2.0f));
    const auto v = to_bf16(random_floats(static_cast<std::size_t>(s.batch * s.tk * s.hk * s.d), 203));
    auto dq = to_device(g, q);
    auto dk_ = to_device(g, k);
    auto dv_ = to_device(g, v);
    auto dout = to_device(g, std::vector<bf16>(q.size(), bf16::from_bits(0x7fc0)));
    const attention_options o{1.0f / std::sqrt(static_cast<float>(s.d)), s.causal, s.tk - s.tq};
    g.attention_bf16_batched(dq.data(), dk_.data(), dv_.data(), dout.data(), s.batch, s.tq, s.tk, s.hq, s.hk, s.d, o);
    const std::vector<float> got = widen(to_host(g, dout.data(), q.size()));
    const std::vector<float> qf = widen(q), kf = widen(k), vf = widen(v);
    std::vector<float> ref(q.size());
    for (index_t b = 0; b < s.batch; ++b)
      cpu.attention(dtensor_view<const float, 3>(qf.data() + b * s.tq * s.hq * s.d, dextents<3>(s.tq, s.hq, s.d)),
                    dtensor_view<const float, 3>(kf.data() + b * s.tk * s.hk * s.d, dextents<3>(s.tk, s.hk, s.d)),
                    dtensor_view<const float, 3>(vf.data() + b * s.tk * s.hk * s.d, dextents<3>(s.tk, s.hk, s.d)),
                    dtensor_view<float, 3>(ref.data() + b * s.tq * s.hq * s.d, dextents<3>(s.tq, s.hq, s.d)), o);
    const double e = normalised_error(got, ref);
    INFO("batch " << s.batch << " tq " << s.tq << " d " << s.d << " error " << e);
    CHECK(e < 2e-2);
  }
}

TEST_CASE("cuda moe_experts: token permutation and grouped GEMMs vs the CPU composition", "[cuda][moe]") {
  LATTE_REQUIRE_GPU();
  const cpu::backend cpu{};
  for (const auto prec : {cuda::compute_precision::f32, cuda::compute_precision::bf16})
    for (const dtype type : {dtype::bf16, dtype::f32, dtype::f8_e4m3}) {
      const cuda::backend g(cuda::backend_options{prec, 0});
      const index_t tokens = 37, hidden = 256, inter = 128, experts = 12, top_k = 3;
      std::vector<test_weight> gate, up, down;
      for (index_t e = 0; e < experts; ++e) {
        gate.emplace_back(g, type, inter, hidden, 300 + static_cast<std::uint32_t>(e), 0.2f);
        up.emplace_back(g, type, inter, hidden, 400 + static_cast<std::uint32_t>(e), 0.2f);
        down.emplace_back(g, type, hidden, inter, 500 + static_cast<std::uint32_t>(e), 0.2f);
      }
      const std::vector<float> x = random_floats(static_cast<std::size_t>(tokens * hidden), 601);
      std::vector<std::int32_t> ids(static_cast<std::size_t>(tokens * top_k));
      std::vector<float> w = random_floats(ids.size(), 602, 0.1f, 1.0f);
      std::mt19937 gen(603);
      for (index_t t = 0; t < tokens; ++t) {
        std::vector<std::int32_t> all(static_cast<std::size_t>(experts));
        std::iota(all.begin(), all.end(), 0);
        std::shuffle(all.begin(), all.end(), gen);
        // Expert 11 never chosen: groups of zero rows must work.
        std::vector<std::int32_t> pick;
        for (std::int32_t e : all)
          if (e != 11 && static_cast<index_t>(pick.size()) < top_k) pick.push_back(e);
        std::sort(pick.begin(), pick.end());
        std::copy(pick.begin(), pick.end(), ids.begin() + t * top_k);
      }
      // CPU composition.
      std::vector<float> ref(static_cast<std::size_t>(tokens * hidden), 0.0f);
      std::vector<float> gbuf(static_cast<std::size_t>(inter)), ubuf(gbuf.size()), abuf(gbuf.size()),
          obuf(static_cast<std::size_t>(hidden));
      for (index_t t = 0; t < tokens; ++t)
        for (index_t j = 0; j < top_k; ++j) {
          const std::size_t e = static_cast<std::size_t>(ids[static_cast<std::size_t>(t * top_k + j)]);
          const auto xt = make_matrix_view<const float>(x.data() + t * hidden, 1, hidden);
          cpu.gemm(xt, gate[e].host(), make_matrix_view(gbuf.data(), 1, inter));
          cpu.gemm(xt, up[e].host(), make_matrix_view(ubuf.data(), 1, inter));
          cpu.silu_mul(make_matrix_view<const float>(gbuf.data(), 1, inter),
                       make_matrix_view<const float>(ubuf.data(), 1, inter), make_matrix_view(abuf.data(), 1, inter));
          cpu.gemm(make_matrix_view<const float>(abuf.data(), 1, inter), down[e].host(),
                   make_matrix_view(obuf.data(), 1, hidden));
          for (index_t c = 0; c < hidden; ++c)
            ref[static_cast<std::size_t>(t * hidden + c)] += w[static_cast<std::size_t>(t * top_k + j)] * obuf[static_cast<std::size_t>(c)];
        }
      std::vector<weight_view> gv, uv, dv_;
      for (index_t e = 0; e < experts; ++e) {
        gv.push_back(gate[static_cast<std::size_t>(e)].device());
        uv.push_back(up[static_cast<std::size_t>(e)].device());
        dv_.push_back(down[static_cast<std::size_t>(e)].device());
      }
      auto dx = to_device(g, x);
      auto dids = to_device(g, ids);
      auto dw = to_device(g, w);
      auto dy = poisoned(g, ref.size());
      g.moe_experts(make_matrix_view<const float>(dx.data(), tokens, hidden),
                    make_matrix_view<const std::int32_t>(dids.data(), tokens, top_k),
                    make_matrix_view<const float>(dw.data(), tokens, top_k), gv, uv, dv_,
                    make_matrix_view(dy.data(), tokens, hidden));
      const double e = normalised_error(to_host(g, dy.data(), ref.size()), ref);
      INFO(precision_name(prec) << " weights " << name_of(type) << " error " << e);
      CHECK(e < (prec == cuda::compute_precision::f32 ? 1e-5 : 2e-2));
    }
}

}  // namespace latte::test

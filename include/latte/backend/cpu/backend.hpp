#pragma once
// latte::cpu::backend: the CPU policy, float32 arithmetic on Eigen with OpenMP teams of up to
// `threads` workers (default: every hardware thread; small calls use fewer, see team_size). A
// plain value: copy it, pass it, compare it; it owns no memory and no threads between calls. See
// backend/concept.hpp for the members.

#include <cstdint>
#include <cstring>
#include <span>

#include "../../core/buffer.hpp"
#include "../concept.hpp"
#include "attention.hpp"
#include "elementwise.hpp"
#include "gemm.hpp"
#include "parallel.hpp"
#include "rmsnorm.hpp"
#include "rope.hpp"
#include "routing.hpp"
#include "rows.hpp"

namespace latte::cpu {

struct backend {
  int threads = hardware_threads();

  static constexpr const char* name = "cpu";
  static constexpr bool host_memory = true;  // buffers are plain host memory

  template <class T> using buffer = host_buffer<T>;

  template <class T>
  buffer<T> allocate(std::size_t n) const { return buffer<T>(n); }
  template <class T>
  void upload(std::span<const T> host, T* dst) const { if (!host.empty()) std::memcpy(dst, host.data(), host.size_bytes()); }
  template <class T>
  void download(const T* src, std::span<T> host) const { if (!host.empty()) std::memcpy(host.data(), src, host.size_bytes()); }
  void synchronize() const noexcept {}

  void gemm(matrix_view<const float> x, const weight_view& w, matrix_view<float> y, const gemm_options& o = {}) const {
    cpu::gemm(team_size(threads, double(x.extent(0)) * double(y.extent(1)) * double(x.extent(1))), x, w, y, o);
  }
  void gemm_batched(dtensor_view<const float, 3> x, const weight_view& w, index_t rows_per_matrix, index_t row_step,
                    dtensor_view<float, 3> y, const gemm_options& o = {}) const {
    cpu::gemm_batched(team_size(threads, double(x.size()) * double(y.extent(2))), x, w, rows_per_matrix, row_step, y, o);
  }
  void rmsnorm(matrix_view<const float> x, const weight_view& weight, float eps, matrix_view<float> y) const {
    cpu::rmsnorm(team_size(threads, 4.0 * double(x.size())), x, weight, eps, y);
  }
  void silu_mul(matrix_view<const float> gate, matrix_view<const float> up, matrix_view<float> out) const {
    cpu::silu_mul(team_size(threads, 16.0 * double(gate.size())), gate, up, out);
  }
  void add(matrix_view<const float> x, matrix_view<float> y, float alpha = 1.0f) const { cpu::add(team_size(threads, double(x.size())), x, y, alpha); }
  void softmax_rows(matrix_view<float> x) const { cpu::softmax_rows(team_size(threads, 16.0 * double(x.size())), x); }
  void rope(dtensor_view<float, 3> x, dtensor_view<const float, 3> cos_sin, rope_layout layout) const {
    cpu::rope(team_size(threads, 4.0 * double(x.size())), x, cos_sin, layout);
  }
  void attention(dtensor_view<const float, 3> q, dtensor_view<const float, 3> k, dtensor_view<const float, 3> v,
                 dtensor_view<float, 3> out, const attention_options& o) const {
    cpu::attention(team_size(threads, double(q.extent(0)) * double(q.extent(1)) * double(k.extent(0)) *
                                                  double(q.extent(2) + v.extent(2))),
                   q, k, v, out, o);
  }
  void route(matrix_view<const float> logits, const routing_options& o, matrix_view<std::int32_t> experts,
             matrix_view<float> weights) const {
    cpu::route(team_size(threads, 32.0 * double(logits.size())), logits, o, experts, weights);
  }
  void gather_rows(const weight_view& table, vector_view<const std::int32_t> ids, matrix_view<float> out) const {
    cpu::gather_rows(team_size(threads, double(out.size())), table, ids, out);
  }
  void scatter_add_rows(matrix_view<const float> x, vector_view<const std::int32_t> ids, vector_view<const float> weights,
                        matrix_view<float> y) const {
    cpu::scatter_add_rows(team_size(threads, double(x.size())), x, ids, weights, y);
  }
  void dequantize(const weight_view& w, matrix_view<float> out) const { cpu::dequantize(team_size(threads, double(out.size())), w, out); }
  void argmax_rows(matrix_view<const float> x, vector_view<std::int32_t> out) const { cpu::argmax_rows(team_size(threads, double(x.size())), x, out); }
};

static_assert(backend_policy<backend>);

}  // namespace latte::cpu

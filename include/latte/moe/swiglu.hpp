#pragma once
// SwiGLU feed-forward (SPEC.md section 5): y = W_down (silu(W_gate x) * W_up x). One routed
// expert, a shared expert and DeepSeek's dense MLP all have this form.

#include "../backend/concept.hpp"
#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "../core/weight_view.hpp"

namespace latte::moe {

struct swiglu_weights {
  weight_view gate_proj;  // [intermediate, hidden]
  weight_view up_proj;    // [intermediate, hidden]
  weight_view down_proj;  // [hidden, intermediate]

  index_t hidden() const noexcept { return gate_proj.cols; }
  index_t intermediate() const noexcept { return gate_proj.rows; }

  void validate(const char* what) const {
    require(up_proj.rows == gate_proj.rows && up_proj.cols == gate_proj.cols, what, ": up_proj is [", up_proj.rows,
            ", ", up_proj.cols, "], gate_proj [", gate_proj.rows, ", ", gate_proj.cols, "]");
    require(down_proj.rows == gate_proj.cols && down_proj.cols == gate_proj.rows, what, ": down_proj is [",
            down_proj.rows, ", ", down_proj.cols, "], expected [", gate_proj.cols, ", ", gate_proj.rows, "]");
  }
};

// Floats of workspace swiglu_forward needs for `tokens` rows.
inline index_t swiglu_workspace_floats(const swiglu_weights& w, index_t tokens) noexcept {
  return 2 * tokens * w.intermediate();
}

// out = alpha * SwiGLU(x) + beta * out.   x [tokens, hidden], out [tokens, hidden];
// workspace: swiglu_workspace_floats(w, tokens) floats of backend memory.
template <backend_policy Backend>
void swiglu_forward(const Backend& backend, const swiglu_weights& w, matrix_view<const float> x,
                    matrix_view<float> out, float* workspace, float alpha = 1.0f, float beta = 0.0f) {
  const index_t tokens = x.extent(0), inter = w.intermediate();
  require(x.extent(1) == w.hidden(), "swiglu: input has ", x.extent(1), " features, weights expect ", w.hidden());
  if (tokens == 0) return;
  matrix_view<float> gate = make_matrix_view(workspace, tokens, inter);
  matrix_view<float> up = make_matrix_view(workspace + tokens * inter, tokens, inter);
  backend.gemm(x, w.gate_proj, gate);
  backend.gemm(x, w.up_proj, up);
  backend.silu_mul(gate, up, gate);
  backend.gemm(gate, w.down_proj, out, gemm_options{.alpha = alpha, .beta = beta});
}

template <backend_policy Backend>
void swiglu_forward(const Backend& backend, const swiglu_weights& w, matrix_view<const float> x,
                    matrix_view<float> out, float alpha = 1.0f, float beta = 0.0f) {
  auto workspace = backend.template allocate<float>(static_cast<std::size_t>(swiglu_workspace_floats(w, x.extent(0))));
  swiglu_forward(backend, w, x, out, workspace.data(), alpha, beta);
}

}  // namespace latte::moe

#pragma once
// One scenario every attention variant runs: three sequences of different lengths sharing each
// batch step (a batched prefill, a chunked prefill with one sequence idle and rows in reverse
// order, then decode steps), each chunk appended to its own cache. Every sequence's outputs are
// collected and compared with the float64 reference run over the whole sequence at once.

#include <algorithm>
#include <cstddef>
#include <span>
#include <type_traits>
#include <vector>

#include <latte/attention/gqa.hpp>
#include <latte/attention/mla.hpp>
#include <latte/backend/cpu/backend.hpp>
#include <latte/reference/attention.hpp>
#include <latte/reference/mla.hpp>

#include "support.hpp"

namespace attention_test {

using namespace latte;
using namespace latte::attention;

// New tokens per sequence, step by step.
using step_plan = std::vector<std::vector<index_t>>;

inline step_plan default_plan() { return {{5, 9, 3}, {4, 0, 7}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}}; }

struct forward_choice {
  bool caller_workspace = false;  // pass workspace_floats(T) of caller memory
  bool reverse_rows = true;       // the chunked step lists sequences in reverse row order
};

// What one run produced: each sequence's inputs and outputs, in position order.
struct scenario_result {
  std::vector<std::vector<float>> inputs;   // [S, hidden] per sequence
  std::vector<std::vector<float>> outputs;  // [S, hidden] per sequence
  std::vector<index_t> lengths;
};

// Runs the plan on `module` (a gqa or mla with weights) with inputs drawn from `rng`. `rotary`
// is the cos_sin width r (table [T, r/2, 2]). Caches are returned through `caches`.
template <class Module>
scenario_result run_scenario(const Module& module, index_t rotary, const step_plan& plan, random_source& rng,
                             std::vector<typename Module::cache_type>& caches, forward_choice choice = {}) {
  using cache_type = typename Module::cache_type;
  const auto& backend = module.backend();
  const index_t hidden = module.hidden_size();
  const std::size_t sequences = plan.front().size();
  index_t capacity = 0;
  for (std::size_t s = 0; s < sequences; ++s) {
    index_t total = 0;
    for (const auto& step : plan) total += step[s];
    capacity = std::max(capacity, total);
  }
  caches.clear();
  for (std::size_t s = 0; s < sequences; ++s) caches.push_back(module.make_cache(capacity + 2));
  scenario_result result;
  result.inputs.resize(sequences);
  result.outputs.resize(sequences);
  result.lengths.assign(sequences, 0);

  for (std::size_t k = 0; k < plan.size(); ++k) {
    const auto& step = plan[k];
    std::vector<std::size_t> order(sequences);
    for (std::size_t s = 0; s < sequences; ++s) order[s] = s;
    if (choice.reverse_rows && k == 1) std::reverse(order.begin(), order.end());
    std::vector<sequence_chunk> chunks;
    std::vector<cache_type*> chunk_caches;
    std::vector<index_t> positions;
    index_t rows = 0;
    for (std::size_t s : order) {
      chunks.push_back({rows, step[s]});
      chunk_caches.push_back(&caches[s]);
      for (index_t i = 0; i < step[s]; ++i) positions.push_back(caches[s].size() + i);
      rows += step[s];
    }
    const std::vector<float> x = rng.normal(static_cast<std::size_t>(rows * hidden));
    const std::vector<float> table = rope_table(positions, rotary);
    auto x_dev = to_backend(backend, std::span<const float>(x));
    auto table_dev = to_backend(backend, std::span<const float>(table));
    auto out_dev = backend.template allocate<float>(static_cast<std::size_t>(rows * hidden));
    const matrix_view<const float> xv = make_matrix_view<const float>(x_dev.data(), rows, hidden);
    const dtensor_view<const float, 3> cs(table_dev.data(), dextents<3>(rows, rotary / 2, 2));
    const matrix_view<float> ov = make_matrix_view(out_dev.data(), rows, hidden);
    const std::span<cache_type* const> cache_span(chunk_caches);
    if (choice.caller_workspace) {
      auto ws = backend.template allocate<float>(static_cast<std::size_t>(module.workspace_floats(rows)));
      module.forward(xv, cs, std::span<const sequence_chunk>(chunks), cache_span, ov, std::span<float>(ws.data(), ws.size()));
    } else {
      module.forward(xv, cs, std::span<const sequence_chunk>(chunks), cache_span, ov);
    }
    const std::vector<float> out = to_host(backend, out_dev.data(), out_dev.size());
    for (std::size_t c = 0; c < chunks.size(); ++c) {
      const std::size_t s = order[c];
      const auto first = static_cast<std::size_t>(chunks[c].first_row * hidden);
      const auto count = static_cast<std::size_t>(chunks[c].tokens * hidden);
      result.inputs[s].insert(result.inputs[s].end(), x.begin() + first, x.begin() + first + count);
      result.outputs[s].insert(result.outputs[s].end(), out.begin() + first, out.begin() + first + count);
      result.lengths[s] += chunks[c].tokens;
      REQUIRE(caches[s].size() == result.lengths[s]);
    }
  }
  return result;
}

// The float64 reference of each sequence; `layer` is called as
// layer(x [S, hidden], cos_sin [S, r/2, 2], out [S, hidden]).
template <class Layer>
std::vector<std::vector<double>> reference_outputs(const scenario_result& r, index_t hidden, index_t rotary, Layer&& layer) {
  std::vector<std::vector<double>> want;
  for (std::size_t s = 0; s < r.inputs.size(); ++s) {
    const index_t n = r.lengths[s];
    std::vector<index_t> positions(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) positions[static_cast<std::size_t>(i)] = i;
    const std::vector<float> table = rope_table(positions, rotary);
    std::vector<double> out(static_cast<std::size_t>(n * hidden));
    layer(make_matrix_view<const float>(r.inputs[s].data(), n, hidden),
          dtensor_view<const float, 3>(table.data(), dextents<3>(n, rotary / 2, 2)),
          make_matrix_view(out.data(), n, hidden));
    want.push_back(std::move(out));
  }
  return want;
}

// The largest relative error over the sequences.
template <class W>
double worst_error(const std::vector<std::vector<float>>& got, const std::vector<std::vector<W>>& want) {
  double worst = 0.0;
  for (std::size_t s = 0; s < got.size(); ++s) worst = std::max(worst, relative_error(got[s], want[s]));
  return worst;
}

// ---- weights of each family ----

template <class Storage>
struct gqa_layer_weights {
  weight_bank<Storage> bank;
  gqa_weights w;
  template <class Shape>
  gqa_layer_weights(random_source& rng, const Shape& s, index_t hidden, index_t block) : bank(rng, block) {
    w.q_proj = bank.linear(s.heads() * s.head_dim(), hidden);
    w.k_proj = bank.linear(s.kv_heads() * s.head_dim(), hidden);
    w.v_proj = bank.linear(s.kv_heads() * s.value_dim(), hidden);
    w.o_proj = bank.linear(hidden, s.heads() * s.value_dim());
  }
};

template <class Storage>
struct mla_layer_weights {
  weight_bank<Storage> bank;
  mla_weights w;
  template <class Shape>
  mla_layer_weights(random_source& rng, const Shape& s, index_t hidden, index_t block) : bank(rng, block) {
    const index_t h = s.heads();
    if (s.has_q_lora()) {
      w.q_a_proj = bank.linear(s.q_lora_rank(), hidden);
      w.q_a_layernorm = bank.norm(s.q_lora_rank());
      w.q_b_proj = bank.linear(h * s.qk_head_dim(), s.q_lora_rank());
    } else {
      w.q_b_proj = bank.linear(h * s.qk_head_dim(), hidden);
    }
    w.kv_a_proj_with_mqa = bank.linear(s.latent_dim(), hidden);
    w.kv_a_layernorm = bank.norm(s.kv_lora_rank());
    w.kv_b_proj = bank.linear(h * (s.qk_nope_head_dim() + s.v_head_dim()), s.kv_lora_rank());
    w.o_proj = bank.linear(hidden, h * s.v_head_dim());
  }
};

}  // namespace attention_test

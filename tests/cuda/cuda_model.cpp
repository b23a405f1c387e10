// The DeepSeek-V3 decoder on the CUDA backend against transformers' float64 oracle on the tiny
// checkpoints (tests/data/dsv3-tiny, dsv3-tiny-fp8): logits within 1e-4 (relative, Frobenius) in
// f32 mode and 2e-2 in bf16 mode (the default, split activations), the greedy continuation,
// prefill-then-decode, and latte-generate --backend cuda printing the oracle's greedy tokens.
// bf16_single_pass is measured and reported: one bf16 rounding of every GEMM input flips
// near-tied expert choices, so its logits stray further (checked only against 0.25).

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <latte/runtime/generate.hpp>

#include "../model/oracle.hpp"
#include "cuda_support.hpp"

namespace {

using latte::index_t;
using model_t = latte::model::deepseek_v3<latte::cuda::backend>;

double logits_tolerance(latte::cuda::compute_precision p) {
  switch (p) {
    case latte::cuda::compute_precision::f32: return 1e-4;
    case latte::cuda::compute_precision::bf16: return 2e-2;
    default: return 0.25;
  }
}

const latte::cuda::compute_precision all_precisions[] = {latte::cuda::compute_precision::f32,
                                                         latte::cuda::compute_precision::bf16,
                                                         latte::cuda::compute_precision::bf16_single_pass};

std::string joined(const std::vector<std::int32_t>& ids) {
  std::string s;
  for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s;
}

}  // namespace

TEMPLATE_TEST_CASE_SIG("cuda: decoder logits match transformers on the tiny checkpoints", "[cuda][model][oracle]",
                       ((int Quantised), Quantised), 0, 1) {
  LATTE_REQUIRE_GPU();
  const std::string name = Quantised ? "dsv3-tiny-fp8" : "dsv3-tiny";
  const oracle::reference ref(name);
  for (const auto prec : all_precisions) {
    oracle::checkpoint ckpt(name);
    const latte::cuda::backend gpu(latte::cuda::backend_options{prec, 0});
    model_t model(gpu, ckpt.config, ckpt.weights);
    const auto ids = ref.ints("input_ids");
    const std::size_t width = static_cast<std::size_t>(ref.shape("input_ids")[1]);
    const auto first = oracle::row_ids(ids, 0, width), second = oracle::row_ids(ids, 1, width);
    const std::span<const std::int32_t> lists[2] = {first, second};
    auto state = model.make_state(2, static_cast<index_t>(width));
    oracle::recorder seen;
    const auto logits = model.forward(lists, state, latte::model::logits_for::all_tokens, &seen);
    const double error = oracle::relative_error(logits.span(), ref.floats("logits"));
    INFO(name << " " << latte::test::precision_name(prec) << " logits relative error " << error);
    CHECK(error < logits_tolerance(prec));
    WARN(name << " cuda " << latte::test::precision_name(prec) << " logits relative error " << error);
    std::string report;
    for (int layer = 0; layer < 4; ++layer)
      for (const char* part : {".attn.out", ".mlp.out", ".out"}) {
        const std::string key = "layer" + std::to_string(layer) + part;
        REQUIRE(seen.tensors.count(key) == 1);
        const double e = oracle::relative_error(seen.tensors.at(key), ref.floats(key));
        report += " " + key + " " + std::to_string(e);
        INFO(key << " relative error " << e);
        CHECK(e < logits_tolerance(prec));
      }
    const auto want_experts = ref.ints("layer1.router.topk_idx");
    const auto& got_experts = seen.routed_experts.at(1);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < got_experts.size() && i < want_experts.size(); ++i)
      differ += got_experts[i] != want_experts[i];
    WARN(name << " cuda " << latte::test::precision_name(prec) << ":" << report << "; layer-1 routing slots differing: "
              << differ << " of " << want_experts.size());
  }
}

TEMPLATE_TEST_CASE_SIG("cuda: greedy generation reproduces transformers' tokens", "[cuda][model][generate]",
                       ((int Quantised), Quantised), 0, 1) {
  LATTE_REQUIRE_GPU();
  const std::string name = Quantised ? "dsv3-tiny-fp8" : "dsv3-tiny";
  const oracle::reference ref(name);
  const auto prompts = ref.ints("greedy.prompt");
  const auto expected = ref.ints("greedy.tokens");
  const std::size_t prompt_len = static_cast<std::size_t>(ref.shape("greedy.prompt")[1]);
  const std::size_t new_tokens = static_cast<std::size_t>(ref.shape("greedy.tokens")[1]);
  for (const auto prec : all_precisions) {
    oracle::checkpoint ckpt(name);
    model_t model(latte::cuda::backend(latte::cuda::backend_options{prec, 0}), ckpt.config, ckpt.weights);
    for (std::size_t row = 0; row < 2; ++row) {
      latte::runtime::generation_options options;
      options.max_new_tokens = static_cast<index_t>(new_tokens);
      const auto result = latte::runtime::generate(model, oracle::row_ids(prompts, row, prompt_len), options);
      const auto want = oracle::row_ids(expected, row, new_tokens);
      INFO(name << " " << latte::test::precision_name(prec) << " row " << row << ": got " << joined(result.tokens)
                << ", want " << joined(want));
      if (prec != latte::cuda::compute_precision::bf16_single_pass) {
        CHECK(result.tokens == want);
      } else {
        // One bf16 rounding per GEMM can flip a near-tie between two tokens: report only.
        std::size_t same = 0;
        while (same < want.size() && result.tokens[same] == want[same]) ++same;
        WARN(name << " bf16 row " << row << ": " << same << " of " << want.size() << " greedy tokens match");
      }
    }
  }
}

TEST_CASE("cuda: prefill then decode reproduces the full-sequence logits", "[cuda][model][decode]") {
  LATTE_REQUIRE_GPU();
  const oracle::reference ref("dsv3-tiny");
  oracle::checkpoint ckpt("dsv3-tiny");
  model_t model(latte::cuda::backend(latte::cuda::backend_options{latte::cuda::compute_precision::f32, 0}),
                ckpt.config, ckpt.weights);
  const auto ids = oracle::row_ids(ref.ints("input_ids"), 1, 96);
  const auto expected = ref.floats("logits");
  const index_t vocab = ckpt.config.vocab_size;
  auto state = model.make_state(1, 96);
  std::vector<float> logits;
  auto append = [&](std::size_t first, std::size_t count) {
    auto l = model.forward(std::span<const std::int32_t>(ids.data() + first, count), state,
                           latte::model::logits_for::all_tokens);
    logits.insert(logits.end(), l.begin(), l.end());
  };
  append(0, 40);
  append(40, 16);
  for (std::size_t t = 56; t < 96; ++t) append(t, 1);
  const std::span<const float> second(expected.data() + 96 * vocab, static_cast<std::size_t>(96 * vocab));
  const double error = oracle::relative_error(logits, second);
  INFO("incremental logits relative error " << error);
  CHECK(error < 1e-4);
}

#ifdef LATTE_GENERATE
TEST_CASE("cuda: latte-generate --backend cuda prints the oracle's greedy tokens", "[cuda][cli]") {
  LATTE_REQUIRE_GPU();
  for (const std::string name : {"dsv3-tiny", "dsv3-tiny-fp8"}) {
    const oracle::reference ref(name);
    const auto prompts = ref.ints("greedy.prompt");
    const auto tokens = ref.ints("greedy.tokens");
    for (std::size_t row = 0; row < 2; ++row) {
      const std::string command = std::string("\"") + LATTE_GENERATE + "\" --model \"" +
                                  oracle::data_dir(name).string() + "\" --backend cuda --prompt " +
                                  joined(oracle::row_ids(prompts, row, 16)) + " --max-new-tokens 24 2>&1";
      FILE* pipe = popen(command.c_str(), "r");
      REQUIRE(pipe != nullptr);
      std::string out;
      char buffer[4096];
      std::size_t n;
      while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
      const int status = pclose(pipe);
      const std::string want = joined(oracle::row_ids(tokens, row, 24));
      INFO(name << " row " << row << "\n" << out);
      CHECK(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 0);
      const bool found = out.find(want) != std::string::npos;
      if (!found) WARN(name << " row " << row << ": latte-generate --backend cuda (bf16) differs from the oracle:\n" << out);
      CHECK(found);
    }
  }
}
#endif

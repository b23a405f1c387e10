// The DeepSeek-V3 decoder against transformers' float64 computation on the tiny checkpoints
// (tests/data/dsv3-tiny and dsv3-tiny-fp8): every recorded intermediate, the first MoE layer's
// routing, the rope tables, the logits and the greedy continuation.

#include <catch2/catch.hpp>

#include <latte/rope/table.hpp>
#include <latte/runtime/generate.hpp>

#include "oracle.hpp"

namespace {

using latte::index_t;
using model_t = latte::model::deepseek_v3<latte::cpu::backend>;
constexpr double failure_line = 1e-4;  // oracle README: f32 lands under 1e-5, 1e-4 fails

// Runs both reference sequences as one batch, recording intermediates and all logits.
struct batch_run {
  oracle::recorder seen;
  std::vector<float> logits;
};

batch_run run_reference_batch(const std::string& name, const oracle::reference& ref) {
  oracle::checkpoint ckpt(name);
  model_t model(latte::cpu::backend{}, ckpt.config, ckpt.weights);
  const auto ids = ref.ints("input_ids");
  const std::size_t width = static_cast<std::size_t>(ref.shape("input_ids")[1]);
  const auto first = oracle::row_ids(ids, 0, width), second = oracle::row_ids(ids, 1, width);
  const std::span<const std::int32_t> lists[2] = {first, second};
  auto state = model.make_state(2, static_cast<index_t>(width));
  batch_run run;
  auto logits = model.forward(lists, state, latte::model::logits_for::all_tokens, &run.seen);
  run.logits.assign(logits.begin(), logits.end());
  return run;
}

}  // namespace

TEMPLATE_TEST_CASE_SIG("decoder matches transformers on the tiny checkpoints", "[model][oracle]",
                       ((int Quantised), Quantised), 0, 1) {
  const std::string name = Quantised ? "dsv3-tiny-fp8" : "dsv3-tiny";
  const oracle::reference ref(name);
  const batch_run run = run_reference_batch(name, ref);

  SECTION("every intermediate of every layer") {
    for (int layer = 0; layer < 4; ++layer)
      for (const char* part : {".attn.in", ".attn.out", ".mlp.in", ".mlp.out", ".out"}) {
        const std::string key = "layer" + std::to_string(layer) + part;
        REQUIRE(run.seen.tensors.count(key) == 1);
        const double error = oracle::relative_error(run.seen.tensors.at(key), ref.floats(key));
        INFO(name << " " << key << " relative error " << error);
        CHECK(error < failure_line);
      }
  }

  SECTION("logits") {
    const double error = oracle::relative_error(run.logits, ref.floats("logits"));
    INFO(name << " logits relative error " << error);
    CHECK(error < failure_line);
    WARN(name << " logits relative error " << error);
  }

  SECTION("routing of the first MoE layer") {
    const auto expected_experts = ref.ints("layer1.router.topk_idx");
    const auto expected_weights = ref.floats("layer1.router.topk_weight");
    const auto& experts = run.seen.routed_experts.at(1);
    const auto& weights = run.seen.routed_weights.at(1);
    REQUIRE(experts.size() == expected_experts.size());
    for (std::size_t i = 0; i < experts.size(); ++i) {
      INFO("token " << i / 4 << " slot " << i % 4);
      CHECK(experts[i] == expected_experts[i]);
      CHECK(weights[i] == Approx(expected_weights[i]).epsilon(1e-5));
    }
  }
}

TEST_CASE("rope tables match transformers' YaRN tables", "[model][oracle][rope]") {
  const oracle::reference ref("dsv3-tiny");
  const oracle::checkpoint ckpt("dsv3-tiny");
  const latte::rope::table_maker maker(ckpt.config.rope);
  const auto inv_freq = ref.floats("rope.inv_freq");
  REQUIRE(maker.pairs() == static_cast<index_t>(inv_freq.size()));
  for (index_t j = 0; j < maker.pairs(); ++j)
    CHECK(maker.frequencies()[static_cast<std::size_t>(j)] == Approx(inv_freq[static_cast<std::size_t>(j)]).epsilon(2e-7));
  std::vector<index_t> positions(96);
  for (index_t p = 0; p < 96; ++p) positions[static_cast<std::size_t>(p)] = p;
  const auto table = maker.make(positions);
  const auto cos = ref.floats("rope.cos"), sin = ref.floats("rope.sin");
  const index_t pairs = maker.pairs();
  for (index_t p = 0; p < 96; ++p)
    for (index_t j = 0; j < pairs; ++j) {
      // transformers' layout is cat(freqs, freqs): column j and j + pairs hold pair j.
      const double allowance = 1e-6 + 2e-7 * static_cast<double>(p) * inv_freq[static_cast<std::size_t>(j)];
      for (index_t half : {index_t{0}, pairs}) {
        const std::size_t at = static_cast<std::size_t>(p * 2 * pairs + j + half);
        CHECK(std::abs(table[static_cast<std::size_t>((p * pairs + j) * 2)] - cos[at]) <= allowance);
        CHECK(std::abs(table[static_cast<std::size_t>((p * pairs + j) * 2 + 1)] - sin[at]) <= allowance);
      }
    }
}

TEMPLATE_TEST_CASE_SIG("greedy generation reproduces transformers' tokens", "[model][oracle][generate]",
                       ((int Quantised), Quantised), 0, 1) {
  const std::string name = Quantised ? "dsv3-tiny-fp8" : "dsv3-tiny";
  const oracle::reference ref(name);
  oracle::checkpoint ckpt(name);
  model_t model(latte::cpu::backend{}, ckpt.config, ckpt.weights);
  const auto prompts = ref.ints("greedy.prompt");
  const auto expected = ref.ints("greedy.tokens");
  const std::size_t prompt_len = static_cast<std::size_t>(ref.shape("greedy.prompt")[1]);
  const std::size_t new_tokens = static_cast<std::size_t>(ref.shape("greedy.tokens")[1]);
  for (std::size_t row = 0; row < 2; ++row) {
    latte::runtime::generation_options options;
    options.max_new_tokens = static_cast<index_t>(new_tokens);
    const auto result = latte::runtime::generate(model, oracle::row_ids(prompts, row, prompt_len), options);
    const auto want = oracle::row_ids(expected, row, new_tokens);
    CHECK(result.tokens == want);
  }
}

TEST_CASE("prefill then decode reproduces the full-sequence logits", "[model][decode]") {
  const oracle::reference ref("dsv3-tiny");
  oracle::checkpoint ckpt("dsv3-tiny");
  model_t model(latte::cpu::backend{}, ckpt.config, ckpt.weights);
  const auto ids = oracle::row_ids(ref.ints("input_ids"), 1, 96);
  const auto expected = ref.floats("logits");
  const index_t vocab = ckpt.config.vocab_size;
  auto state = model.make_state(1, 96);
  // 40 tokens of prefill, a chunk of 16, then one token at a time.
  std::vector<float> logits;
  auto append = [&](std::size_t first, std::size_t count) {
    auto l = model.forward(std::span<const std::int32_t>(ids.data() + first, count), state,
                           latte::model::logits_for::all_tokens);
    logits.insert(logits.end(), l.begin(), l.end());
  };
  append(0, 40);
  append(40, 16);
  for (std::size_t t = 56; t < 96; ++t) append(t, 1);
  CHECK(state.length(0) == 96);
  const std::span<const float> second(expected.data() + 96 * vocab, static_cast<std::size_t>(96 * vocab));
  const double error = oracle::relative_error(logits, second);
  INFO("incremental logits relative error " << error);
  CHECK(error < failure_line);
}

TEST_CASE("absorbed and naive attention give the same logits", "[model][mla]") {
  const oracle::reference ref("dsv3-tiny");
  oracle::checkpoint ckpt("dsv3-tiny");
  const auto ids = oracle::row_ids(ref.ints("input_ids"), 0, 96);
  latte::model::deepseek_v3<latte::cpu::backend, latte::model::runtime_preset, latte::attention::absorbed> absorbed(
      latte::cpu::backend{}, ckpt.config, ckpt.weights);
  latte::model::deepseek_v3<latte::cpu::backend, latte::model::runtime_preset, latte::attention::naive> naive(
      latte::cpu::backend{}, ckpt.config, ckpt.weights);
  auto sa = absorbed.make_state(1, 96);
  auto sn = naive.make_state(1, 96);
  const auto la = absorbed.forward(ids, sa, latte::model::logits_for::all_tokens);
  const auto ln = naive.forward(ids, sn, latte::model::logits_for::all_tokens);
  const double error = oracle::relative_error(la.span(), ln.span());
  INFO("absorbed vs naive relative error " << error);
  CHECK(error < 1e-5);
}

TEST_CASE("a batch of sequences of different lengths equals separate runs", "[model][batch]") {
  const oracle::reference ref("dsv3-tiny");
  oracle::checkpoint ckpt("dsv3-tiny");
  model_t model(latte::cpu::backend{}, ckpt.config, ckpt.weights);
  const auto all = ref.ints("input_ids");
  const auto a = oracle::row_ids(all, 0, 96);
  const auto b_full = oracle::row_ids(all, 1, 96);
  const std::vector<std::int32_t> b(b_full.begin(), b_full.begin() + 37);
  auto batch_state = model.make_state(2, 96);
  const std::span<const std::int32_t> lists[2] = {a, b};
  const auto batched = model.forward(lists, batch_state, latte::model::logits_for::last_token);
  auto sa = model.make_state(1, 96);
  auto sb = model.make_state(1, 96);
  const auto alone_a = model.forward(a, sa);
  const auto alone_b = model.forward(b, sb);
  const std::size_t vocab = static_cast<std::size_t>(ckpt.config.vocab_size);
  CHECK(oracle::relative_error(std::span<const float>(batched.data(), vocab), alone_a.span()) < 1e-6);
  CHECK(oracle::relative_error(std::span<const float>(batched.data() + vocab, vocab), alone_b.span()) < 1e-6);
  // Decode step where only the second sequence advances.
  const std::int32_t next = 7;
  const std::span<const std::int32_t> step[2] = {{}, {&next, 1}};
  const auto one = model.forward(step, batch_state);
  const auto alone = model.forward(std::span<const std::int32_t>(&next, 1), sb);
  CHECK(oracle::relative_error(one.span(), alone.span()) < 1e-6);
  CHECK(batch_state.length(0) == 96);
  CHECK(batch_state.length(1) == 38);
}

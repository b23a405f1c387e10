// The tiny DeepSeek-V3 of tests/data on the CPU backend, end to end: prefill and decode rates for
// the bf16 and the fp8 checkpoint, at 1 and 2 threads. bench/peers/torch_cpu_model.py times the
// same cases in PyTorch; bench/peers/run_cpu_peers.sh runs both and prints the comparison.
//
//   BM_prefill   one forward over the reference prompt(s) (input_ids [2, 96]): batch 1 is its
//                first row, batch 2 both; logits of each sequence's last token.
//   BM_decode    one forward of one token after a prompt of `prompt` tokens, then `steps - 1` more
//                one at a time, each fed the argmax of the previous logits (prompt 16, steps 23 is
//                latte-generate on greedy.prompt; prompt 96, steps 1 times the single step from a
//                cache of 96). The prompt is prefilled outside the timed region.
//
// Counters (decimal units): tokens/s over the timed tokens, and flops/s by model/plan.hpp's
// convention (every linear layer a token runs, attention by attention/cost.hpp; lm_head only for
// the rows whose logits are returned).
//
//   bench_model --benchmark_filter=decode

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <latte/backend/cpu/backend.hpp>
#include <latte/io/checkpoint_weights.hpp>
#include <latte/io/hub_config.hpp>
#include <latte/io/safetensors.hpp>
#include <latte/model/deepseek_v3.hpp>
#include <latte/model/plan.hpp>
#include <latte/runtime/sampling.hpp>

using namespace latte;

namespace {

using cpu_model = model::deepseek_v3<cpu::backend>;

// A checkpoint folder of tests/data, opened once for the whole run: config, memory-mapped
// weights, and the reference token ids.
struct tiny_checkpoint {
  explicit tiny_checkpoint(const std::string& name)
      : dir(std::filesystem::path(LATTE_TEST_DATA_DIR) / name),
        config(io::load_config(dir / "config.json")),
        weights(io::checkpoint(dir), config) {
    const io::safetensors_file reference = io::safetensors_file::open(dir / "reference.safetensors");
    input_ids = rows_of(reference.at("input_ids"));
    greedy_prompt = rows_of(reference.at("greedy.prompt"));
  }

  // [rows, width] I64 -> one int32 vector per row.
  static std::vector<std::vector<std::int32_t>> rows_of(const io::tensor_record& t) {
    require(t.type == dtype::i64 && t.shape.size() == 2, "bench_model: token ids must be I64 [rows, width]");
    std::vector<std::int64_t> all(static_cast<std::size_t>(t.elements()));
    std::memcpy(all.data(), t.data, t.bytes);
    std::vector<std::vector<std::int32_t>> rows;
    const auto width = static_cast<std::size_t>(t.shape[1]);
    for (std::size_t r = 0; r < static_cast<std::size_t>(t.shape[0]); ++r)
      rows.emplace_back(all.begin() + static_cast<std::ptrdiff_t>(r * width),
                        all.begin() + static_cast<std::ptrdiff_t>((r + 1) * width));
    return rows;
  }

  std::filesystem::path dir;
  model::config config;
  io::checkpoint_weights weights;
  std::vector<std::vector<std::int32_t>> input_ids, greedy_prompt;
};

tiny_checkpoint& checkpoint_of(std::int64_t fp8) {
  static std::map<std::int64_t, std::unique_ptr<tiny_checkpoint>> opened;
  auto& slot = opened[fp8];
  if (!slot) slot = std::make_unique<tiny_checkpoint>(fp8 ? "dsv3-tiny-fp8" : "dsv3-tiny");
  return *slot;
}

// FLOPs of `tokens` new tokens of one sequence whose first lands at position `start`, with logits
// for `logit_rows` of them.
double forward_flops(const model::config& c, index_t start, index_t tokens, index_t logit_rows) {
  const double head = 2.0 * static_cast<double>(c.vocab_size) * static_cast<double>(c.hidden_size);
  double total = 0.0;
  for (index_t i = 0; i < tokens; ++i) {
    const model::model_plan p = model::make_plan(c, {.context = start + i + 1});
    total += p.decode_flops_per_token - head;  // one token attending start + i + 1 keys
  }
  return total + head * static_cast<double>(logit_rows);
}

void rates(benchmark::State& state, double tokens, double flops) {
  state.counters["tokens"] =
      benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  state.counters["flops"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

// Arguments: fp8 (0 bf16, 1 fp8 checkpoint), batch (1 or 2 sequences of 96), threads.
void BM_prefill(benchmark::State& state) {
  tiny_checkpoint& ckpt = checkpoint_of(state.range(0));
  const auto batch = static_cast<std::size_t>(state.range(1));
  cpu_model net(cpu::backend{.threads = static_cast<int>(state.range(2))}, ckpt.config, ckpt.weights);
  require(batch >= 1 && batch <= ckpt.input_ids.size(), "bench_model: batch ", batch, " outside the reference's");
  std::vector<std::span<const std::int32_t>> lists;
  for (std::size_t s = 0; s < batch; ++s) lists.emplace_back(ckpt.input_ids[s]);
  const auto prompt = static_cast<index_t>(lists[0].size());
  auto st = net.make_state(static_cast<index_t>(batch), prompt);

  for (auto _ : state) {
    for (index_t s = 0; s < st.sequences(); ++s) st.reset(s);
    auto logits = net.forward(std::span<const std::span<const std::int32_t>>(lists), st, model::logits_for::last_token);
    benchmark::DoNotOptimize(logits.data());
  }
  const double tokens = static_cast<double>(batch) * static_cast<double>(prompt);
  rates(state, tokens, static_cast<double>(batch) * forward_flops(ckpt.config, 0, prompt, 1));
}
BENCHMARK(BM_prefill)
    ->ArgNames({"fp8", "batch", "threads"})
    ->ArgsProduct({{0, 1}, {1, 2}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Arguments: fp8, prompt (tokens prefilled outside the timing), steps (tokens decoded one per
// forward, timed), threads. The prompt is reference input_ids[0] cut to `prompt` tokens for 96,
// greedy.prompt[0] for 16.
void BM_decode(benchmark::State& state) {
  tiny_checkpoint& ckpt = checkpoint_of(state.range(0));
  const auto prompt_tokens = static_cast<index_t>(state.range(1));
  const auto new_tokens = static_cast<index_t>(state.range(2));
  cpu_model net(cpu::backend{.threads = static_cast<int>(state.range(3))}, ckpt.config, ckpt.weights);
  const std::vector<std::int32_t>& source =
      prompt_tokens <= static_cast<index_t>(ckpt.greedy_prompt[0].size()) ? ckpt.greedy_prompt[0] : ckpt.input_ids[0];
  require(prompt_tokens >= 1 && prompt_tokens <= static_cast<index_t>(source.size()), "bench_model: prompt of ",
          prompt_tokens, " tokens");
  const std::span<const std::int32_t> prompt(source.data(), static_cast<std::size_t>(prompt_tokens));
  auto st = net.make_state(1, prompt_tokens + new_tokens);
  const auto vocab = static_cast<std::size_t>(ckpt.config.vocab_size);

  for (auto _ : state) {
    state.PauseTiming();
    st.reset(0);
    auto logits = net.forward(prompt, st, model::logits_for::last_token);
    state.ResumeTiming();
    for (index_t i = 0; i < new_tokens; ++i) {
      const std::int32_t next = runtime::argmax(std::span<const float>(logits.data(), vocab));
      logits = net.forward(std::span<const std::int32_t>(&next, 1), st, model::logits_for::last_token);
    }
    benchmark::DoNotOptimize(logits.data());
  }
  rates(state, static_cast<double>(new_tokens), forward_flops(ckpt.config, prompt_tokens, new_tokens, new_tokens));
}
// The single step from 96 tokens spends most of the wall time in its untimed prefill: a shorter
// timed total keeps the run short (still hundreds of steps).
BENCHMARK(BM_decode)
    ->ArgNames({"fp8", "prompt", "steps", "threads"})
    ->ArgsProduct({{0, 1}, {96}, {1}, {1, 2}})
    ->MinTime(0.1)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_decode)
    ->ArgNames({"fp8", "prompt", "steps", "threads"})
    ->ArgsProduct({{0, 1}, {16}, {23}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

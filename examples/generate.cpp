// latte-generate: greedy or sampled generation with a DeepSeek-V3-family checkpoint folder
// (config.json + model.safetensors or sharded model.safetensors.index.json, bf16 or fp8).
//
//   latte-generate --model DIR --prompt 1,2,3 [--max-new-tokens N] [--logits FILE] [--threads N]
//                  [--backend cpu|cuda] [--temperature T --top-p P --seed S] [--attention absorbed|naive]
//
// stdout's last line: the generated token ids, comma-separated. stderr: timing and memory.
// --logits FILE writes a safetensors file with one F32 tensor `logits` [prompt length, vocab].
// Any error: one line on stderr, exit status 1.

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <latte/backend/cpu/backend.hpp>
#include <latte/core/error.hpp>
#include <latte/io/checkpoint_weights.hpp>
#include <latte/io/hub_config.hpp>
#include <latte/io/safetensors_writer.hpp>
#include <latte/model/deepseek_v3.hpp>
#include <latte/runtime/generate.hpp>
#if defined(LATTE_HAS_CUDA)
#include <latte/backend/cuda/backend.hpp>
#endif

#include "command_line.hpp"

namespace {

using latte::fail;
using latte::require;
using latte::examples::parse_number;
using latte::examples::parse_prompt;
using latte::examples::peak_resident_bytes;

struct arguments {
  std::string model_dir;
  std::vector<std::int32_t> prompt;
  latte::index_t max_new_tokens = 16;
  std::string logits_file;
  int threads = latte::cpu::hardware_threads();
  std::string backend = "cpu";
  std::string attention = "absorbed";
  latte::runtime::sampling_options sampling;
};

arguments parse(int argc, char** argv) {
  arguments a;
  bool have_prompt = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) fail(flag, " needs a value");
      return argv[++i];
    };
    if (flag == "--model") a.model_dir = value();
    else if (flag == "--prompt") { a.prompt = parse_prompt(value()); have_prompt = true; }
    else if (flag == "--max-new-tokens") a.max_new_tokens = parse_number<latte::index_t>(value(), flag);
    else if (flag == "--logits") a.logits_file = value();
    else if (flag == "--threads") a.threads = parse_number<int>(value(), flag);
    else if (flag == "--backend") a.backend = value();
    else if (flag == "--attention") a.attention = value();
    else if (flag == "--temperature") a.sampling.temperature = parse_number<float>(value(), flag);
    else if (flag == "--top-p") a.sampling.top_p = parse_number<float>(value(), flag);
    else if (flag == "--seed") a.sampling.seed = parse_number<std::uint64_t>(value(), flag);
    else if (flag == "--help" || flag == "-h") {
      std::cout << "usage: latte-generate --model DIR --prompt 1,2,3 [--max-new-tokens N] [--logits FILE] "
                   "[--threads N] [--backend cpu|cuda] [--temperature T --top-p P --seed S] "
                   "[--attention absorbed|naive]\n";
      std::exit(0);
    } else fail("unknown option '", flag, "' (see --help)");
  }
  require(!a.model_dir.empty(), "--model DIR is required");
  require(have_prompt, "--prompt 1,2,3 is required");
  require(a.max_new_tokens >= 0, "--max-new-tokens must not be negative");
  require(a.threads >= 1, "--threads must be at least 1");
  require(a.backend == "cpu" || a.backend == "cuda", "--backend must be cpu or cuda, got '", a.backend, "'");
  require(a.attention == "absorbed" || a.attention == "naive", "--attention must be absorbed or naive, got '",
          a.attention, "'");
  return a;
}

template <class Backend, class Form>
int run(const arguments& a, Backend backend) {
  const std::filesystem::path dir(a.model_dir);
  const latte::model::config config = latte::io::load_config(dir / "config.json");
  latte::io::checkpoint_weights weights(latte::io::checkpoint(dir), config);
  latte::model::deepseek_v3<Backend, latte::model::runtime_preset, Form> model(backend, config, weights);

  latte::runtime::generation_options options;
  options.max_new_tokens = a.max_new_tokens;
  options.sampling = a.sampling;
  options.keep_prompt_logits = !a.logits_file.empty();
  const auto result = latte::runtime::generate(model, a.prompt, options);

  if (!a.logits_file.empty()) {
    const std::vector<std::int64_t> shape{static_cast<std::int64_t>(a.prompt.size()), config.vocab_size};
    latte::io::write_safetensors(a.logits_file, {latte::io::tensor_to_write::of("logits", shape, result.prompt_logits)});
  }

  const double prompt_tokens = static_cast<double>(a.prompt.size());
  const double decoded = result.tokens.empty() ? 0.0 : static_cast<double>(result.tokens.size() - 1);
  std::fprintf(stderr, "prefill: %zu tokens in %.3f s (%.1f tokens/s)\n", a.prompt.size(), result.prefill_seconds,
               prompt_tokens / result.prefill_seconds);
  if (decoded > 0)
    std::fprintf(stderr, "decode: %.0f tokens in %.3f s (%.1f tokens/s)\n", decoded, result.decode_seconds,
                 decoded / result.decode_seconds);
  std::fprintf(stderr, "backend: %s, attention: %s, threads: %d, peak resident memory: %.1f MiB\n",
               a.backend.c_str(), a.attention.c_str(), a.threads, peak_resident_bytes() / (1024.0 * 1024.0));

  std::string line;
  for (std::size_t i = 0; i < result.tokens.size(); ++i) {
    if (i > 0) line += ',';
    line += std::to_string(result.tokens[i]);
  }
  std::cout << line << std::endl;
  return 0;
}

template <class Backend>
int run_with_form(const arguments& a, Backend backend) {
  if (a.attention == "naive") return run<Backend, latte::attention::naive>(a, backend);
  return run<Backend, latte::attention::absorbed>(a, backend);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const arguments a = parse(argc, argv);
    if (a.backend == "cuda") {
#if defined(LATTE_HAS_CUDA)
      latte::cuda::backend backend;
      return run_with_form(a, backend);
#else
      fail("--backend cuda: this build of latte has no CUDA backend (configure with -DLATTE_CUDA=ON)");
#endif
    }
    latte::cpu::backend backend{a.threads};
    return run_with_form(a, backend);
  } catch (const std::exception& e) {
    std::string message = e.what();
    for (char& c : message)
      if (c == '\n') c = ' ';
    std::fprintf(stderr, "latte-generate: error: %s\n", message.c_str());
    return 1;
  }
}

#pragma once
// Prefill-then-decode generation for one sequence: the prompt in one call, then one token per
// call from the latent cache, stopping after max_new_tokens or at an end token.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "../core/error.hpp"
#include "../model/deepseek_v3.hpp"
#include "sampling.hpp"

namespace latte::runtime {

using model::logits_for;

struct generation_options {
  index_t max_new_tokens = 16;
  sampling_options sampling{};
  std::optional<std::int32_t> stop_token;  // stop after emitting it
  bool keep_prompt_logits = false;         // also return the logits at every prompt position
};

struct generation_result {
  std::vector<std::int32_t> tokens;  // the new tokens
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
  index_t prompt_tokens = 0;
  std::vector<float> prompt_logits;  // [prompt tokens, vocab] when asked for
};

// Model: latte::model::deepseek_v3, or anything with its make_state / forward / model_config.
template <class Model>
generation_result generate(Model& model, std::span<const std::int32_t> prompt, const generation_options& options) {
  require(!prompt.empty(), "generate: the prompt is empty");
  require(options.max_new_tokens >= 0, "generate: max_new_tokens must not be negative");
  const index_t vocab = model.model_config().vocab_size;
  auto state = model.make_state(1, static_cast<index_t>(prompt.size()) + std::max<index_t>(options.max_new_tokens, 1));
  sampler pick(options.sampling);
  generation_result result;
  result.prompt_tokens = static_cast<index_t>(prompt.size());
  using clock = std::chrono::steady_clock;

  auto start = clock::now();
  auto logits = model.forward(prompt, state,
                              options.keep_prompt_logits ? logits_for::all_tokens : logits_for::last_token);
  result.prefill_seconds = std::chrono::duration<double>(clock::now() - start).count();
  if (options.keep_prompt_logits) {
    result.prompt_logits.assign(logits.begin(), logits.end());
    const auto last = result.prompt_logits.end() - vocab;
    std::copy(last, result.prompt_logits.end(), logits.begin());
  }
  start = clock::now();
  for (index_t i = 0; i < options.max_new_tokens; ++i) {
    const std::int32_t token = pick.next(std::span<const float>(logits.data(), static_cast<std::size_t>(vocab)));
    result.tokens.push_back(token);
    if (options.stop_token && token == *options.stop_token) break;
    if (i + 1 == options.max_new_tokens) break;
    logits = model.forward(std::span<const std::int32_t>(&result.tokens.back(), 1), state);
  }
  result.decode_seconds = std::chrono::duration<double>(clock::now() - start).count();
  return result;
}

}  // namespace latte::runtime

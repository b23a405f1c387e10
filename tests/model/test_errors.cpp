// The model refuses bad input with a latte::error naming the problem, and leaves its state as it
// was: token ids outside the vocabulary, more tokens than the cache holds, a static preset given
// a checkpoint of another shape, a missing tensor.

#include <catch2/catch.hpp>

#include "oracle.hpp"

using Catch::Matchers::Contains;
using latte::index_t;
using model_t = latte::model::deepseek_v3<latte::cpu::backend>;

TEST_CASE("token ids outside the vocabulary are refused", "[model][errors]") {
  oracle::checkpoint ckpt("dsv3-tiny");
  model_t model(latte::cpu::backend{}, ckpt.config, ckpt.weights);
  auto state = model.make_state(1, 8);
  const std::vector<std::int32_t> too_big{1, 1024}, negative{-3};
  CHECK_THROWS_WITH(model.forward(too_big, state), Contains("token id 1024") && Contains("[0, 1024)"));
  CHECK_THROWS_WITH(model.forward(negative, state), Contains("token id -3"));
  CHECK(state.length(0) == 0);
}

TEST_CASE("a prompt longer than the cache is refused before anything changes", "[model][errors]") {
  oracle::checkpoint ckpt("dsv3-tiny");
  model_t model(latte::cpu::backend{}, ckpt.config, ckpt.weights);
  auto state = model.make_state(1, 4);
  const std::vector<std::int32_t> three{1, 2, 3}, two{4, 5};
  model.forward(three, state);
  CHECK_THROWS_WITH(model.forward(two, state), Contains("cache capacity of 4"));
  CHECK(state.length(0) == 3);
  const std::vector<std::int32_t> one{4};
  CHECK_NOTHROW(model.forward(one, state));
  CHECK(state.length(0) == 4);
}

TEST_CASE("a static preset refuses a checkpoint of another shape, naming the field", "[model][errors]") {
  oracle::checkpoint ckpt("dsv3-tiny");
  using preset_model = latte::model::deepseek_v3<latte::cpu::backend, latte::model::deepseek_v3_671b>;
  CHECK_THROWS_WITH(preset_model(latte::cpu::backend{}, ckpt.config, ckpt.weights),
                    Contains("vocab_size is 1024, expected 129280"));
}

TEST_CASE("a state for the wrong number of sequences is refused", "[model][errors]") {
  oracle::checkpoint ckpt("dsv3-tiny");
  model_t model(latte::cpu::backend{}, ckpt.config, ckpt.weights);
  auto state = model.make_state(2, 8);
  const std::vector<std::int32_t> ids{1};
  CHECK_THROWS_WITH(model.forward(ids, state), Contains("state of one sequence"));
  CHECK_THROWS_WITH(model.make_state(0, 8), Contains("at least one sequence"));
}

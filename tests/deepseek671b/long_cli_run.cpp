// latte-deepseek-671b's forward pass as a user runs it, on the first 4 full-width layers (3 dense,
// 1 MoE) with the full vocabulary: the report's shape, the last line's greedy ids, the same ids
// for the same seed and other ids for another seed. Several GiB and tens of seconds per run.

#include <catch2/catch.hpp>

#include <regex>

#include <unistd.h>

#include "cli.hpp"

using Catch::Matchers::Contains;

#if defined(LATTE_DEEPSEEK_671B)

TEST_CASE("the first 4 layers on synthetic weights: reproducible greedy ids", "[deepseek671b][cli][long]") {
  const std::string options = "--layers 4 --memory-budget 6G --prompt 1,2,3,4";
  const cli::outcome a = cli::run(LATTE_DEEPSEEK_671B, options + " --seed 1");
  INFO(a.err);
  REQUIRE(a.status == 0);
  CHECK_THAT(a.out, Contains("tokens/s"));
  CHECK_THAT(a.out, Contains("time per layer"));
  CHECK_THAT(a.out, Contains("weights made: "));
  CHECK_THAT(a.out, Contains("peak resident memory: "));
  const std::string ids = cli::last_line(a.out);
  CHECK(std::regex_match(ids, std::regex("[0-9]+,[0-9]+,[0-9]+,[0-9]+")));

  const cli::outcome b = cli::run(LATTE_DEEPSEEK_671B, options + " --seed 1");
  REQUIRE(b.status == 0);
  CHECK(cli::last_line(b.out) == ids);
  const cli::outcome c = cli::run(LATTE_DEEPSEEK_671B, options + " --seed 2");
  REQUIRE(c.status == 0);
  CHECK(cli::last_line(c.out) != ids);
}

#endif

// latte-deepseek-671b as a user runs it: --plan and --plan --json print SPEC.md section 7's
// numbers, a checkpoint of another shape is refused in one line naming the field, and every bad
// option ends in one line on stderr and exit status 1.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include "cli.hpp"

using Catch::Matchers::Contains;
using latte_index = long long;

#if defined(LATTE_DEEPSEEK_671B)

namespace {
cli::outcome run(const std::string& arguments) { return cli::run(LATTE_DEEPSEEK_671B, arguments); }
const std::string tiny = std::string("\"") + LATTE_TEST_DATA_DIR + "/dsv3-tiny\"";

void check_one_line_error(const cli::outcome& o, const std::string& fragment) {
  INFO(o.err);
  CHECK(o.status == 1);
  CHECK(cli::lines(o.err) == 1);
  CHECK_THAT(o.err, Contains("latte-deepseek-671b: error: ") && Contains(fragment));
}
}  // namespace

TEST_CASE("--plan prints SPEC.md section 7's figures", "[deepseek671b][cli]") {
  const cli::outcome o = run("--plan");
  REQUIRE(o.status == 0);
  CHECK_THAT(o.out, Contains("61 layers (3 dense, 58 MoE)"));
  CHECK_THAT(o.out, Contains("187,107,328"));
  CHECK_THAT(o.out, Contains("396,361,728"));
  CHECK_THAT(o.out, Contains("44,040,192"));
  CHECK_THAT(o.out, Contains("1,835,264"));
  CHECK_THAT(o.out, Contains("926,679,040"));
  CHECK_THAT(o.out, Contains("671,026,419,200"));
  CHECK_THAT(o.out, Contains("(37.55 B)"));
  CHECK_THAT(o.out, Contains("(11.61 B)"));
  CHECK_THAT(o.out, Contains("70,272"));
}

TEST_CASE("--plan --json prints one JSON object with the headline keys", "[deepseek671b][cli]") {
  const cli::outcome o = run("--plan --json --context 32768 --batch 4");
  REQUIRE(o.status == 0);
  const nlohmann::json j = nlohmann::json::parse(o.out);
  CHECK(j.at("total_params").get<latte_index>() == 671'026'419'200LL);
  CHECK(j.at("mtp_params").get<latte_index>() == 11'610'068'224LL);
  CHECK(j.at("activated_params").get<latte_index>() == 37'552'297'472LL);
  CHECK(j.at("kv_bytes_per_token").get<latte_index>() == 70'272);
  CHECK(j.at("layers").get<latte_index>() == 61);
  CHECK(j.at("routed_experts").get<latte_index>() == 256);
  CHECK(j.at("memory_bytes").at("cache").get<latte_index>() == 4LL * 32768 * 70'272);
  CHECK(j.at("model").get<std::string>() == "deepseek_v3_671b");
}

TEST_CASE("--plan works for any checkpoint's config", "[deepseek671b][cli]") {
  const cli::outcome o = run("--plan --json --model " + tiny);
  REQUIRE(o.status == 0);
  const nlohmann::json j = nlohmann::json::parse(o.out);
  CHECK(j.at("layers").get<latte_index>() == 4);
  CHECK(j.at("routed_experts").get<latte_index>() == 16);
  CHECK(j.at("tensors").get<latte_index>() == 201);
}

TEST_CASE("a checkpoint of another shape is refused in one line naming the field", "[deepseek671b][cli]") {
  check_one_line_error(run("--model " + tiny), "vocab_size is 1024, expected 129280");
  check_one_line_error(run("--model /nonexistent/folder"), "/nonexistent/folder");
}

TEST_CASE("bad options end in one line on stderr and exit status 1", "[deepseek671b][cli]") {
  check_one_line_error(run("--dtype fp16"), "--dtype must be bf16 or fp8");
  check_one_line_error(run("--memory-budget 8X"), "unknown size suffix");
  check_one_line_error(run("--memory-budget lots"), "is not a size");
  check_one_line_error(run("--layers 62"), "the model has 61 layers, asked for 62");
  check_one_line_error(run("--prompt 1,x,3"), "'x' is not a token id");
  check_one_line_error(run("--prompt 1,129280"), "token id 129280 outside the vocabulary [0, 129280)");
  check_one_line_error(run("--json"), "--json goes with --plan");
  check_one_line_error(run("--context 0 --plan"), "--context must be positive");
  check_one_line_error(run("--frobnicate"), "unknown option '--frobnicate'");
  check_one_line_error(run("--backend tpu"), "--backend must be cpu or cuda");
#if !defined(LATTE_DEEPSEEK_671B_HAS_CUDA)
  check_one_line_error(run("--backend cuda"), "no CUDA backend");
#endif
}

TEST_CASE("a budget that cannot hold the embedding and head is refused before any layer runs", "[deepseek671b][cli]") {
  check_one_line_error(run("--memory-budget 1G --layers 1"), "--memory-budget: 1073741824 bytes (1.00 GiB) cannot hold");
  check_one_line_error(run("--memory-budget 4G"), "embedding, lm_head and the largest layer");
}

#else
TEST_CASE("latte-deepseek-671b is not built (LATTE_BUILD_EXAMPLES off)", "[deepseek671b][cli]") {
  WARN("skipped: no latte-deepseek-671b executable in this build");
}
#endif

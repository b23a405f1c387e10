// The memory budget is honoured by a real run: one full-width dense layer and one full-width MoE
// layer stream through a budget smaller than the weights they make. The synthetic source never
// holds more than the budget, and the whole process's peak resident memory (VmHWM, this test is
// its own executable) stays under the budget plus a margin for everything that is not weights:
// the program and its libraries, activations, caches, GEMM scratch and the tensor catalogue.

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "full_width.hpp"

using Catch::Matchers::Contains;
namespace model = latte::model;

namespace {
std::size_t status_bytes(const char* key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(key, 0) == 0) return static_cast<std::size_t>(std::stoull(line.substr(std::string(key).size()))) * 1024;
  return 0;
}
}  // namespace

TEST_CASE("a full-width run stays within the memory budget", "[deepseek671b][memory]") {
  const std::size_t budget = std::size_t(1280) << 20;  // 1.25 GiB; the dense layer alone needs 1.09 GiB
  const std::size_t margin = std::size_t(256) << 20;
  const model::config c = full_width::two_layers();
  const full_width::result r = full_width::run(c, {.seed = 9, .memory_budget = budget});
  REQUIRE(full_width::all_finite(r.logits));
  const model::synthetic_statistics& s = r.statistics;
  INFO("made " << s.bytes_generated << " bytes, held at most " << s.peak_bytes_held << ", VmHWM "
               << status_bytes("VmHWM:"));
  // More was made than the budget holds, so eviction did the work.
  CHECK(s.bytes_generated > 2 * budget);
  CHECK(s.evictions > 0);
  CHECK(s.peak_bytes_held <= budget);
  CHECK(status_bytes("VmHWM:") <= budget + margin);
}

TEST_CASE("a budget smaller than one layer's weights is refused, naming the tensor", "[deepseek671b][memory]") {
  const model::config c = full_width::two_layers();
  // o_proj alone is 7168 x 16384 bf16 = 224 MiB.
  CHECK_THROWS_WITH(full_width::run(c, {.seed = 9, .memory_budget = std::size_t(200) << 20}),
                    Contains("does not fit the memory budget of 209715200 bytes"));
}

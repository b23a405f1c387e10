// Caches and buffers bigger than the machine are refused before anything is allocated, with a
// message naming the size asked for and the limit: the caches' constructors (latent_cache,
// kv_cache) against the physical memory, the model's make_state through them (a runtime sizing
// its cache by a config's max_position_embeddings), and host_buffer / the CPU backend's allocate
// against sizes no address space holds.

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>

#include <latte/attention/cache_limits.hpp>
#include <latte/attention/kv_cache.hpp>
#include <latte/attention/latent_cache.hpp>
#include <latte/core/buffer.hpp>

#include "limits_support.hpp"

using Catch::Matchers::Contains;
using latte::index_t;
using limits_test::two_to;

namespace {

const latte::cpu::backend cpu{1};

// The smallest capacity whose cache of `floats_per_token` floats exceeds the physical memory.
index_t capacity_beyond_memory(index_t floats_per_token) {
  const std::uint64_t physical = latte::attention::physical_memory_bytes();
  return static_cast<index_t>(physical / (static_cast<std::uint64_t>(floats_per_token) * sizeof(float)) + 1);
}

}  // namespace

TEST_CASE("the physical memory is known", "[limits][memory]") {
  const std::uint64_t physical = latte::attention::physical_memory_bytes();
  INFO("physical memory " << physical << " bytes");
  CHECK(physical >= two_to(26));  // more than 64 MiB
  CHECK(physical < two_to(62));
}

TEST_CASE("a latent cache larger than the physical memory is refused before allocating", "[limits][memory][cache]") {
  const std::string physical = std::to_string(latte::attention::physical_memory_bytes());
  // The 671B row: kv_lora 512 + rope 64 = 576 floats per token.
  const index_t capacity = capacity_beyond_memory(576);
  const std::string bytes = std::to_string(static_cast<std::uint64_t>(capacity) * 576 * 4);
  CHECK_THROWS_WITH((latte::attention::latent_cache<latte::cpu::backend>(cpu, capacity, 512, 64)),
                    Contains("latent_cache: a capacity of " + std::to_string(capacity) + " tokens x 576 floats per token needs " +
                             bytes + " bytes, more than the machine's physical memory of " + physical + " bytes"));
  // One token less fits the check (it is not allocated here).
  CHECK_NOTHROW(latte::attention::cache_bytes("latent_cache", capacity - 1, 576, true));

  // Capacities whose bytes overflow: refused by arithmetic, on any backend.
  CHECK_THROWS_WITH((latte::attention::latent_cache<latte::cpu::backend>(cpu, std::numeric_limits<index_t>::max(), 512, 64)),
                    Contains("latent_cache: a capacity of 9223372036854775807 tokens x 576 floats per token is more "
                             "than 2^62 bytes"));
  CHECK_THROWS_WITH(latte::attention::cache_bytes("latent_cache", index_t(1) << 40, index_t(1) << 40, false),
                    Contains("more than 2^62 bytes"));
  CHECK(latte::attention::cache_bytes("latent_cache", index_t(1) << 40, 576, false) == (std::uint64_t(1) << 40) * 576 * 4);
}

TEST_CASE("a per-head KV cache larger than the physical memory is refused before allocating", "[limits][memory][cache]") {
  // The naive MLA cache of the 671B model: 128 heads x (192 + 128) floats per token.
  const index_t capacity = capacity_beyond_memory(128 * 320);
  CHECK_THROWS_WITH((latte::attention::kv_cache<latte::cpu::backend>(cpu, capacity, 128, 192, 128)),
                    Contains("kv_cache: a capacity of " + std::to_string(capacity) + " tokens x 40960 floats per token needs") &&
                        Contains("more than the machine's physical memory of"));
  CHECK_THROWS_WITH((latte::attention::kv_cache<latte::cpu::backend>(cpu, index_t(1) << 50, 128, 192, 128)),
                    Contains("is more than 2^62 bytes"));
}

TEST_CASE("make_state refuses a cache capacity beyond the physical memory, naming the size", "[limits][memory][model]") {
  // A runtime that sizes its cache by the config's max_position_embeddings (2^31 - 1 here, the
  // largest config.json may give; nothing in the model allocates by that number alone).
  const latte::model::config config = latte::io::parse_config(
      limits_test::tiny_config_with({{"max_position_embeddings", (std::int64_t(1) << 31) - 1}}), "config.json");
  latte::io::checkpoint_weights weights(latte::io::checkpoint(limits_test::tiny_dir()), config);
  latte::model::deepseek_v3<latte::cpu::backend> model(cpu, config, weights);
  // kv_lora 64 + rope 16 = 80 floats per token and layer; the model checks its 4 layers' caches
  // together (320 floats per token) before allocating any.
  CHECK_THROWS_WITH(model.make_state(1, config.max_position_embeddings),
                    Contains("model::make_state: a capacity of 2147483647 tokens x 320 floats per token needs "
                             "2748779068160 bytes, more than the machine's physical memory of"));
  // Caches that each fit in memory but not all together are refused as well.
  const index_t each_fits = static_cast<index_t>(latte::attention::physical_memory_bytes() / (80 * 4) * 6 / 10);
  CHECK_THROWS_WITH(model.make_state(1, each_fits), Contains("model::make_state") &&
                                                        Contains("more than the machine's physical memory of"));
  CHECK_THROWS_WITH(model.make_state(1, std::numeric_limits<index_t>::max()), Contains("is more than 2^62 bytes"));
  // A modest state still works, and its bytes are what the cost model says.
  const auto state = model.make_state(2, 64);
  CHECK(state.bytes() == std::size_t(2) * 4 * 64 * 80 * 4);
}

TEST_CASE("host buffers refuse element counts no memory holds, before allocating", "[limits][memory][buffer]") {
  CHECK_THROWS_WITH(cpu.allocate<float>(std::numeric_limits<std::size_t>::max()),
                    Contains("host_buffer: 18446744073709551615 elements is more than memory can hold"));
  CHECK_THROWS_WITH(latte::host_buffer<double>(std::size_t(1) << 60), Contains("more than memory can hold"));
  CHECK_THROWS_WITH(latte::host_buffer<std::uint8_t>((std::size_t(1) << 62) + 1), Contains("more than memory can hold"));
  // n x sizeof(T) must not wrap around to a small allocation.
  CHECK_THROWS_WITH(latte::host_buffer<float>(std::numeric_limits<std::size_t>::max() / 4 + 2),
                    Contains("more than memory can hold"));
}

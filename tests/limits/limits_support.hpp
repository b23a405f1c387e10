#pragma once
// Helpers of the resource-limit tests: scratch model folders, hand-written safetensors images,
// config.json variants of the tiny checkpoint, and the whole load path a program takes
// (config.json -> checkpoint -> checkpoint_weights -> model).
//
// The executables record the largest operator new request (like tests/io/test_safetensors_huge.cpp),
// so that "refused before allocating" is checked, not assumed: each replaces operator new with a
// counting malloc, and `largest_allocation_since_reset()` reports what it saw.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <latte/backend/cpu/backend.hpp>
#include <latte/io/checkpoint.hpp>
#include <latte/io/checkpoint_weights.hpp>
#include <latte/io/hub_config.hpp>
#include <latte/model/deepseek_v3.hpp>

namespace limits_test {

namespace fs = std::filesystem;
using latte::index_t;

inline constexpr std::uint64_t two_to(int power) { return std::uint64_t(1) << power; }

inline fs::path tiny_dir() { return fs::path(LATTE_TEST_DATA_DIR) / "dsv3-tiny"; }

// An empty folder under the build tree, unique to `name`.
inline fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::path(LATTE_TEST_BINARY_DIR) / "limits_scratch" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  REQUIRE(out.good());
}

// A safetensors file: the 8-byte little-endian length of `header` (padded with spaces to a
// multiple of 8), the header, then `data_bytes` zero bytes.
inline void write_safetensors(const fs::path& p, std::string header, std::size_t data_bytes) {
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xffu);
  bytes += header;
  bytes.append(data_bytes, '\0');
  write_text(p, bytes);
}

// The tiny checkpoint's config.json with `changes` merged in.
inline std::string tiny_config_with(const nlohmann::json& changes) {
  nlohmann::json root = nlohmann::json::parse(read_text(tiny_dir() / "config.json"));
  root.merge_patch(changes);
  return root.dump(2);
}

// What a program does with a model folder: read config.json, open the checkpoint, build the
// model on the CPU.
inline void load_model(const fs::path& dir) {
  const latte::model::config config = latte::io::load_config(dir);
  latte::io::checkpoint_weights weights(latte::io::checkpoint(dir), config);
  latte::model::deepseek_v3<latte::cpu::backend> model(latte::cpu::backend{}, config, weights);
}

// The same with the config from `config_text` and the tensors of the tiny checkpoint.
inline void load_tiny_with_config(const std::string& config_text) {
  const latte::model::config config = latte::io::parse_config(config_text, "config.json");
  latte::io::checkpoint_weights weights(latte::io::checkpoint(tiny_dir()), config);
  latte::model::deepseek_v3<latte::cpu::backend> model(latte::cpu::backend{}, config, weights);
}

}  // namespace limits_test

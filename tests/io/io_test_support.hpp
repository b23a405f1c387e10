#pragma once
// Helpers of the io tests: data paths, scratch folders, hand-made safetensors images.

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <latte/io/safetensors_writer.hpp>

namespace io_test {

inline std::filesystem::path data_dir() { return std::filesystem::path(LATTE_TEST_DATA_DIR); }

// An empty folder under the build tree, unique to `name` (each test executable uses its own names).
inline std::filesystem::path scratch_dir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(LATTE_TEST_BINARY_DIR) / "io_scratch" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write_text(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  REQUIRE(out.good());
}

inline void write_bytes(const std::filesystem::path& path, const std::vector<std::byte>& bytes) {
  latte::io::write_file_bytes(path, bytes);
}

inline std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(chars.size());
  if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

// A safetensors image made by hand: the 8-byte length (of `header`, or `length` when given), the
// header text padded with spaces to a multiple of 8, then `data_bytes` bytes of 0x11.
inline std::vector<std::byte> raw_image(std::string header, std::size_t data_bytes, std::int64_t length = -1,
                                        bool pad = true) {
  if (pad) header.append((8 - header.size() % 8) % 8, ' ');
  const std::uint64_t n = length >= 0 ? static_cast<std::uint64_t>(length) : header.size();
  std::vector<std::byte> out(8 + header.size() + data_bytes, std::byte{0x11});
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::byte>((n >> (8 * i)) & 0xffu);
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

inline std::vector<float> random_floats(std::size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

}  // namespace io_test

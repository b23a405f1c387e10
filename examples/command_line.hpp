#pragma once
// What the command-line examples share: strict parsing of numbers, token-id lists and sizes, and
// the process's peak resident memory. Errors are latte::error; the tools print them as one line.

#include <cctype>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <latte/core/error.hpp>

namespace latte::examples {

template <class T>
T parse_number(std::string_view text, std::string_view option) {
  T value{};
  const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (status != std::errc() || end != text.data() + text.size()) fail(option, ": '", text, "' is not a valid number");
  return value;
}

// "1,2,3" -> {1, 2, 3}; every item a non-negative 32-bit integer.
inline std::vector<std::int32_t> parse_prompt(std::string_view text) {
  std::vector<std::int32_t> ids;
  require(!text.empty(), "--prompt: empty; expected comma-separated token ids such as 1,2,3");
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = text.substr(start, comma - start);
    std::int64_t id = 0;
    const auto [end, status] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (item.empty() || status != std::errc() || end != item.data() + item.size())
      fail("--prompt: '", item, "' is not a token id (expected comma-separated integers such as 1,2,3)");
    require(id >= 0 && id <= INT32_MAX, "--prompt: token id ", id, " is out of range");
    ids.push_back(static_cast<std::int32_t>(id));
    start = comma + 1;
  }
  return ids;
}

// "8G", "512M", "1.5GiB", "123456" (bytes; K, M, G, T are powers of 1024).
inline std::size_t parse_bytes(std::string_view text, std::string_view option) {
  std::size_t digits = 0;
  while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.')) ++digits;
  double value = 0;
  const auto [end, status] = std::from_chars(text.data(), text.data() + digits, value);
  std::string suffix(text.substr(digits));
  for (char& ch : suffix) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (digits == 0 || status != std::errc() || end != text.data() + digits)
    fail(option, ": '", text, "' is not a size (expected bytes such as 8G, 512M or 1073741824)");
  double unit = 1;
  if (suffix.empty() || suffix == "B") unit = 1;
  else if (suffix == "K" || suffix == "KB" || suffix == "KIB") unit = 1024.0;
  else if (suffix == "M" || suffix == "MB" || suffix == "MIB") unit = 1024.0 * 1024;
  else if (suffix == "G" || suffix == "GB" || suffix == "GIB") unit = 1024.0 * 1024 * 1024;
  else if (suffix == "T" || suffix == "TB" || suffix == "TIB") unit = 1024.0 * 1024 * 1024 * 1024;
  else fail(option, ": unknown size suffix in '", text, "' (use K, M, G or T)");
  require(value * unit >= 1.0, option, ": '", text, "' must be positive");
  return static_cast<std::size_t>(value * unit);
}

// Peak resident memory of this process in bytes (VmHWM), 0 where /proc does not say.
inline double peak_resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) * 1024.0;
  return 0.0;
}

}  // namespace latte::examples

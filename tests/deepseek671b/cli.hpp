#pragma once
// Runs latte-deepseek-671b as a user does: stdout captured, stderr in a file, the exit status.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/wait.h>

namespace cli {

namespace fs = std::filesystem;

struct outcome {
  int status = -1;
  std::string out, err;
};

inline std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline outcome run(const std::string& executable, const std::string& arguments) {
  const fs::path dir = fs::path(LATTE_TEST_BINARY_DIR) / "deepseek671b_scratch";
  fs::create_directories(dir);
  const fs::path err = dir / ("stderr_" + std::to_string(::getpid()) + ".txt");
  const std::string command = "\"" + executable + "\" " + arguments + " 2>\"" + err.string() + "\"";
  outcome o;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return o;
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) o.out.append(buffer, n);
  const int status = pclose(pipe);
  o.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  o.err = read_all(err);
  fs::remove(err);
  return o;
}

inline std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const std::size_t newline = t.find_last_of('\n');
  return newline == std::string::npos ? t : t.substr(newline + 1);
}

inline std::size_t lines(const std::string& text) {
  std::size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

}  // namespace cli

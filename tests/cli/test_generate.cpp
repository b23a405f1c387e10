// latte-generate as a user runs it: the oracle's greedy tokens on both tiny checkpoints, its
// --logits file against the oracle's logits, and every bad input ending in one line on stderr
// and exit status 1.

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <latte/io/safetensors.hpp>

#include "../model/oracle.hpp"

namespace {

namespace fs = std::filesystem;

struct outcome {
  int status = -1;
  std::string out, err;
};

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path scratch_dir() {
  const fs::path dir = fs::path(LATTE_TEST_BINARY_DIR) / "cli_scratch";
  fs::create_directories(dir);
  return dir;
}

outcome run(const std::string& arguments) {
  const fs::path err = scratch_dir() / "stderr.txt";
  const std::string command = std::string("\"") + LATTE_GENERATE + "\" " + arguments + " 2>\"" + err.string() + "\"";
  outcome o;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) o.out.append(buffer, n);
  const int status = pclose(pipe);
  o.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  o.err = read_all(err);
  return o;
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return t.substr(t.find_last_of('\n') == std::string::npos ? 0 : t.find_last_of('\n') + 1);
}

std::string joined(const std::vector<std::int32_t>& ids) {
  std::string s;
  for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s;
}

// An error run: exit status 1, exactly one line on stderr that mentions `needle`.
void expect_error(const std::string& arguments, const std::string& needle) {
  const outcome o = run(arguments);
  INFO("latte-generate " << arguments << "\nstderr: " << o.err);
  CHECK(o.status == 1);
  CHECK(std::count(o.err.begin(), o.err.end(), '\n') == 1);
  CHECK(o.err.find(needle) != std::string::npos);
}

std::string model_arg(const std::string& name) { return "--model \"" + oracle::data_dir(name).string() + "\""; }

// A copy of the tiny checkpoint folder whose files the test may break.
fs::path copy_checkpoint(const std::string& tag) {
  const fs::path dir = scratch_dir() / tag;
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* file : {"config.json", "model.safetensors"})
    fs::copy_file(oracle::data_dir("dsv3-tiny") / file, dir / file);
  return dir;
}

}  // namespace

TEST_CASE("latte-generate reproduces the oracle's greedy tokens", "[cli]") {
  for (const std::string name : {"dsv3-tiny", "dsv3-tiny-fp8"}) {
    const oracle::reference ref(name);
    const auto prompts = ref.ints("greedy.prompt");
    const auto tokens = ref.ints("greedy.tokens");
    for (std::size_t row = 0; row < 2; ++row) {
      const outcome o = run(model_arg(name) + " --prompt " + joined(oracle::row_ids(prompts, row, 16)) +
                            " --max-new-tokens 24 --threads 2");
      INFO(name << " row " << row << "\nstderr: " << o.err);
      CHECK(o.status == 0);
      CHECK(last_line(o.out) == joined(oracle::row_ids(tokens, row, 24)));
      CHECK(o.err.find("tokens/s") != std::string::npos);
    }
  }
}

TEST_CASE("latte-generate --logits writes the prompt logits", "[cli]") {
  for (const std::string name : {"dsv3-tiny", "dsv3-tiny-fp8"}) {
    const oracle::reference ref(name);
    const auto ids = oracle::row_ids(ref.ints("input_ids"), 0, 96);
    const fs::path file = scratch_dir() / (name + "-logits.safetensors");
    const outcome o = run(model_arg(name) + " --prompt " + joined(ids) + " --max-new-tokens 1 --logits \"" +
                          file.string() + "\"");
    REQUIRE(o.status == 0);
    const auto written = latte::io::safetensors_file::open(file);
    const latte::io::tensor_record& logits = written.at("logits");
    REQUIRE(logits.type == latte::dtype::f32);
    REQUIRE(logits.shape == std::vector<latte::index_t>{96, 1024});
    const auto expected = ref.floats("logits");
    const double error = oracle::relative_error(
        std::span<const float>(reinterpret_cast<const float*>(logits.data), 96 * 1024),
        std::span<const float>(expected.data(), 96 * 1024));
    INFO(name << " --logits relative error " << error);
    CHECK(error < 1e-4);
  }
}

TEST_CASE("latte-generate turns every bad input into one line and exit status 1", "[cli][errors]") {
  const std::string tiny = model_arg("dsv3-tiny");
  SECTION("arguments") {
    expect_error(tiny + " --prompt 1,a,3", "is not a token id");
    expect_error(tiny + " --prompt ''", "--prompt");
    expect_error(tiny + " --prompt 1,,2", "is not a token id");
    expect_error(tiny + " --prompt 5000", "outside the vocabulary");
    expect_error(tiny + " --prompt -1", "out of range");
    expect_error(tiny + " --prompt 1 --bogus", "unknown option");
    expect_error(tiny + " --prompt 1 --max-new-tokens", "needs a value");
    expect_error(tiny + " --prompt 1 --threads zero", "not a valid number");
    expect_error(tiny + " --prompt 1 --backend tpu", "--backend");
    expect_error("--prompt 1", "--model");
    expect_error(tiny, "--prompt");
  }
  SECTION("a prompt longer than the model's positions") {
    std::vector<std::int32_t> long_prompt(300, 5);
    expect_error(tiny + " --prompt " + joined(long_prompt), "max_position_embeddings");
  }
  SECTION("a missing model folder") {
    expect_error("--model /nonexistent/model --prompt 1", "/nonexistent/model");
  }
  SECTION("a truncated checkpoint") {
    const fs::path dir = copy_checkpoint("truncated");
    fs::resize_file(dir / "model.safetensors", 1000);
    expect_error("--model \"" + dir.string() + "\" --prompt 1", "model.safetensors");
  }
  SECTION("config.json that is not JSON") {
    const fs::path dir = copy_checkpoint("not_json");
    std::ofstream(dir / "config.json") << "{ this is not json";
    expect_error("--model \"" + dir.string() + "\" --prompt 1", "config.json");
  }
  SECTION("a config whose shapes disagree with the tensors") {
    const fs::path dir = copy_checkpoint("wrong_shape");
    std::string text = read_all(dir / "config.json");
    const std::string from = "\"hidden_size\": 256", to = "\"hidden_size\": 128";
    REQUIRE(text.find(from) != std::string::npos);
    text.replace(text.find(from), from.size(), to);
    std::ofstream(dir / "config.json") << text;
    expect_error("--model \"" + dir.string() + "\" --prompt 1", "model.embed_tokens.weight");
  }
}

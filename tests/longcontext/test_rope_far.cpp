// Rotary tables far into the context (SPEC.md section 4): latte::rope::table_maker's cos/sin at
// positions up to 163,839 — the last position of the 671B preset, YaRN factor 40 over an original
// 4096 — against an independent long-double evaluation of the same formula, and against
// transformers' float32 tables in tests/data/kernels/rope.safetensors (four settings: V3 YaRN,
// V2 YaRN with mscale 0.707, plain RoPE with theta 1e4 and 5e5), with the attention factor and
// the softmax scale of a 192-wide head from rope.json. The rope settings are read the way a
// checkpoint's config.json gives them, through latte::io::parse_config.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <latte/io/hub_config.hpp>
#include <latte/io/reference_file.hpp>
#include <latte/model/presets.hpp>
#include <latte/rope/frequencies.hpp>
#include <latte/rope/table.hpp>

#include "longcontext_support.hpp"

namespace {

using latte::index_t;
namespace fs = std::filesystem;

// Positions around the original context, the YaRN-extended one and its very end.
const std::vector<index_t> far_positions{0,     1,      2,      17,     4095,   4096,   4097,   32767, 32768,
                                         65536, 100000, 131071, 131072, 150000, 163838, 163839};

long double yarn_m(long double s, long double m) { return s <= 1.0L ? 1.0L : 0.1L * m * std::log(s) + 1.0L; }

// Half a unit in the last place of the float nearest to v: the rounding of a float output.
double float_rounding(double v) {
  const float f = static_cast<float>(v);
  return 0.5 * static_cast<double>(std::nextafter(std::abs(f), INFINITY) - std::abs(f));
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A config.json of the tiny checkpoint with a 192-wide query-key head (128 + 64) and the rope
// parameters `params`, in the newer `rope_parameters` spelling.
latte::model::config config_with_rope(const nlohmann::json& params) {
  nlohmann::json root =
      nlohmann::json::parse(read_text(fs::path(LATTE_TEST_DATA_DIR) / "dsv3-tiny" / "config.json"));
  root.erase("rope_scaling");
  root.erase("rope_theta");
  root["qk_nope_head_dim"] = 128;
  root["qk_rope_head_dim"] = 64;
  root["max_position_embeddings"] = 163840;
  root["rope_parameters"] = params;
  return latte::io::parse_config(root.dump(), "rope_parameters config");
}

}  // namespace

TEST_CASE("the 671B preset's YaRN frequencies follow SPEC section 4", "[longcontext][rope]") {
  const latte::rope::config c = latte::model::deepseek_v3_671b::make_config().rope;
  const std::vector<double> f = latte::rope::inv_freq(c);
  REQUIRE(f.size() == 32);
  // low = 10, high = 23: pairs up to 10 keep theta^(-2j/64), pairs from 23 on are divided by 40.
  for (std::size_t j = 0; j < 32; ++j) {
    INFO("pair " << j);
    const double plain = std::pow(10000.0, -2.0 * static_cast<double>(j) / 64.0);
    if (j <= 10) CHECK(f[j] == Approx(plain).epsilon(1e-15));
    if (j >= 23) CHECK(f[j] == Approx(plain / 40.0).epsilon(1e-15));
    if (j > 10 && j < 23) CHECK((f[j] < plain && f[j] > plain / 40.0));
  }
  CHECK(latte::rope::attention_factor(c) == 1.0);
  CHECK(latte::rope::softmax_scale(c, 192) == Approx(0.1352338).epsilon(1e-6));  // SPEC.md section 3
}

TEST_CASE("cos/sin at positions up to 163,839 agree with a long-double evaluation", "[longcontext][rope]") {
  struct setting {
    const char* name;
    latte::rope::config config;
  };
  const latte::rope::config v3 = latte::model::deepseek_v3_671b::make_config().rope;
  const latte::rope::config v2 = latte::model::deepseek_v2_lite::make_config().rope;
  latte::rope::config uneven = v3;  // mscale != mscale_all_dim: an attention factor other than 1
  uneven.mscale = 1.0;
  uneven.mscale_all_dim = 0.707;
  const latte::rope::config plain{.theta = 10000.0, .rotary_dim = 64};
  const latte::rope::config plain_5e5{.theta = 500000.0, .rotary_dim = 64};

  for (const setting& s : {setting{"671B YaRN", v3}, setting{"V2-Lite YaRN", v2}, setting{"YaRN, unequal mscales", uneven},
                           setting{"plain 1e4", plain}, setting{"plain 5e5", plain_5e5}}) {
    INFO(s.name);
    const latte::rope::table_maker maker(s.config);
    const std::vector<long double> f = longcontext::inv_freq_long(s.config);
    const long double factor =
        s.config.scaling == latte::rope::scaling_type::yarn
            ? yarn_m(s.config.factor, s.config.mscale) / yarn_m(s.config.factor, s.config.mscale_all_dim)
            : 1.0L;
    CHECK(maker.factor() == Approx(static_cast<double>(factor)).epsilon(1e-15));
    for (std::size_t j = 0; j < f.size(); ++j) CHECK(maker.frequencies()[j] == Approx(static_cast<double>(f[j])).epsilon(1e-15));

    const latte::host_buffer<float> table = maker.make(far_positions);
    double worst = 0.0, worst_beyond_rounding = 0.0;
    for (std::size_t p = 0; p < far_positions.size(); ++p)
      for (std::size_t j = 0; j < f.size(); ++j) {
        const long double angle = static_cast<long double>(far_positions[p]) * f[j];
        const double want[2] = {static_cast<double>(std::cos(angle) * factor),
                                static_cast<double>(std::sin(angle) * factor)};
        for (int k = 0; k < 2; ++k) {
          const double got = table[(p * f.size() + j) * 2 + static_cast<std::size_t>(k)];
          const double error = std::abs(got - want[k]);
          INFO("position " << far_positions[p] << " pair " << j << (k == 0 ? " cos " : " sin ") << got << " want "
                           << want[k]);
          // The bound of the issue: 1e-6 plus the float rounding of the output.
          CHECK(error <= 1e-6 + float_rounding(want[k]));
          // And what a double-precision angle actually gives: the rounding alone, to 1e-9. A
          // float32 angle would be off by ~1e-2 at position 163,839.
          CHECK(error <= 1e-9 + float_rounding(want[k]));
          worst = std::max(worst, error);
          worst_beyond_rounding = std::max(worst_beyond_rounding, error - float_rounding(want[k]));
        }
      }
    std::printf("rope %-22s worst |cos/sin - long double| %.3g (%.3g beyond the float rounding)\n", s.name, worst,
                worst_beyond_rounding);
  }
}

TEST_CASE("rope tables match transformers' at positions up to 163,839 (kernels/rope.safetensors)",
          "[longcontext][rope][oracle]") {
  const fs::path dir = fs::path(LATTE_TEST_DATA_DIR) / "kernels";
  const auto ref = latte::io::reference_file::open(dir / "rope.safetensors");
  const nlohmann::json meta = nlohmann::json::parse(read_text(dir / "rope.json"));
  const std::vector<std::int64_t> stored_positions = ref.integers("positions");
  REQUIRE(stored_positions.back() == 163839);
  const std::vector<index_t> positions(stored_positions.begin(), stored_positions.end());

  for (const char* name : {"dsv3_yarn", "dsv2_yarn", "default_1e4", "default_5e5"}) {
    INFO(name);
    const std::string s = name;
    const nlohmann::json& entry = meta.at(s);
    REQUIRE(entry.at("rotary_dim").get<index_t>() == 64);
    const latte::model::config config = config_with_rope(entry.at("params"));
    REQUIRE(config.rope.rotary_dim == 64);
    const latte::rope::table_maker maker(config.rope);

    CHECK(maker.factor() == Approx(entry.at("attention_factor").get<double>()).epsilon(1e-12));
    CHECK(latte::rope::softmax_scale(config.rope, config.qk_head_dim()) ==
          Approx(entry.at("softmax_scale_for_qk_head_dim_192").get<double>()).epsilon(1e-12));

    // inv_freq: transformers forms it in float32, 2e-7 relative.
    const std::vector<double> inv_freq = ref.doubles(s + ".inv_freq", {32});
    for (std::size_t j = 0; j < 32; ++j) {
      INFO("pair " << j);
      CHECK(std::abs(maker.frequencies()[j] - inv_freq[j]) <= 2e-7 * inv_freq[j]);
    }

    // cos/sin [positions, 32]: transformers' float32 angle costs up to 2e-7 x position x inv_freq.
    const std::vector<double> cos = ref.doubles(s + ".cos", {static_cast<index_t>(positions.size()), 32});
    const std::vector<double> sin = ref.doubles(s + ".sin", {static_cast<index_t>(positions.size()), 32});
    const latte::host_buffer<float> table = maker.make(positions);
    double worst = 0.0;
    for (std::size_t p = 0; p < positions.size(); ++p)
      for (std::size_t j = 0; j < 32; ++j) {
        const std::size_t at = p * 32 + j;
        const double allowance = 1e-6 + 2e-7 * static_cast<double>(positions[p]) * inv_freq[j];
        INFO("position " << positions[p] << " pair " << j << " allowance " << allowance);
        CHECK(std::abs(table[at * 2] - cos[at]) <= allowance);
        CHECK(std::abs(table[at * 2 + 1] - sin[at]) <= allowance);
        worst = std::max({worst, std::abs(table[at * 2] - cos[at]) / allowance,
                          std::abs(table[at * 2 + 1] - sin[at]) / allowance});
      }
    std::printf("rope %-12s vs transformers: worst error %.2f of the allowance\n", name, worst);
  }
}

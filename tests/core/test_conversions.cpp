// bf16, fp16 and fp8 e4m3 (FN) conversions against the independent model in
// minifloat_reference.hpp: every encoding to float, and float to each type on every exact value,
// every midpoint (ties) and one float ulp either side, the float specials and a million random
// floats over all exponents. The exhaustive sweep over all 2^32 floats is in
// test_conversions_exhaustive.cpp.

#include <catch2/catch.hpp>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <latte/core/dtype.hpp>

#include "conversion_cases.hpp"

using namespace latte::test;

namespace {

template <class Case>
void check_rounding(const std::vector<float>& inputs) {
  static const minifloat_table table(Case::format);
  std::size_t mismatches = 0;
  std::string report;
  for (float v : inputs) {
    const expected_encoding want = round_float(table, v, Case::rule);
    const std::uint32_t got = Case::narrow(v);
    if (!conversion_matches<Case>(got, want) && ++mismatches <= 8) report += describe_mismatch(v, got, want);
  }
  INFO(Case::name << ": " << mismatches << " of " << inputs.size() << " conversions differ\n" << report);
  CHECK(mismatches == 0);
}

// Every finite value of the format, each midpoint between neighbours (the overflow midpoint
// included) and the floats one ulp either side of each, with both signs.
std::vector<float> exact_and_midpoint_inputs(const minifloat_table& table) {
  std::vector<float> out;
  auto both_signs = [&](float v) {
    out.push_back(v);
    out.push_back(-v);
  };
  for (std::size_t i = 0; i < table.finite_count(); ++i) both_signs(static_cast<float>(table.entries()[i].value));
  for (double mid : table.midpoints()) {
    const float m = static_cast<float>(mid);
    REQUIRE(static_cast<double>(m) == mid);  // every midpoint is a float
    both_signs(m);
    both_signs(std::nextafter(m, 0.0f));
    both_signs(std::nextafter(m, std::numeric_limits<float>::infinity()));
  }
  return out;
}

std::vector<float> float_specials() {
  const std::uint32_t patterns[] = {
      0x00000000u, 0x80000000u,  // +-0
      0x7f800000u, 0xff800000u,  // +-Inf
      0x7fc00000u, 0xffc00000u,  // quiet NaN, both signs
      0x7f800001u, 0xff800001u,  // signalling NaN, smallest payload
      0x7fa00000u, 0x7fffffffu, 0xffffffffu, 0x7fc00001u, 0x7f80ffffu, 0x7f810000u,  // payloads
      0x00000001u, 0x80000001u, 0x007fffffu, 0x807fffffu,  // float subnormals
      0x00800000u, 0x80800000u, 0x7f7fffffu, 0xff7fffffu,  // FLT_MIN, FLT_MAX
      0x3f800000u, 0xbf800000u,                            // +-1
  };
  std::vector<float> out;
  for (std::uint32_t p : patterns) out.push_back(float_from_bits(p));
  return out;
}

std::vector<float> random_floats(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<float> out(n);
  for (float& v : out) v = float_from_bits(static_cast<std::uint32_t>(gen()));  // uniform over bit patterns
  return out;
}

}  // namespace

TEST_CASE("the independent model agrees with the formats' published facts", "[core][conversion]") {
  const minifloat_table bf16t(bf16_format), fp16t(fp16_format), fp8t(e4m3fn_format);
  CHECK(bf16t.finite_count() == 255 * 128);
  CHECK(fp16t.finite_count() == 31 * 1024);
  CHECK(fp8t.finite_count() == 127);  // 0x00 .. 0x7e
  CHECK(bf16t.largest_finite() == std::ldexp(255.0, 120));
  CHECK(fp16t.largest_finite() == 65504.0);
  CHECK(fp8t.largest_finite() == 448.0);
  CHECK(decode(e4m3fn_format, 0x01) == std::ldexp(1.0, -9));
  CHECK(decode(e4m3fn_format, 0x08) == std::ldexp(1.0, -6));
  CHECK(decode(fp16_format, 0x0001) == std::ldexp(1.0, -24));
  CHECK(std::isnan(decode(e4m3fn_format, 0x7f)));
  CHECK(std::isnan(decode(e4m3fn_format, 0xff)));
  CHECK(decode(e4m3fn_format, 0x78) == 256.0);  // S.1111.000 is finite in the FN variant
  CHECK(std::isinf(decode(fp16_format, 0x7c00)));
  CHECK(std::isnan(decode(bf16_format, 0x7fc0)));
  for (const minifloat_format* f : {&bf16_format, &fp16_format, &e4m3fn_format})
    for (std::uint32_t b = 0; b < f->patterns(); ++b) REQUIRE(is_nan_encoding(*f, b) == std::isnan(decode(*f, b)));
}

TEST_CASE("anchor values round as the formats require", "[core][conversion]") {
  using latte::bf16;
  using latte::fp16;
  using latte::fp8_e4m3;
  // bf16: 1 + 2^-8 is the tie between 1 and 1 + 2^-7 -> even (1); a hair above goes up.
  CHECK(bf16::from_float(1.00390625f).bits == 0x3f80);
  CHECK(bf16::from_float(std::nextafter(1.00390625f, 2.0f)).bits == 0x3f81);
  CHECK(bf16::from_float(1.01171875f).bits == 0x3f82);  // tie between 0x3f81 and 0x3f82 -> even
  CHECK(bf16::from_float(FLT_MAX).bits == 0x7f80);      // rounds past the largest bf16: Inf
  // fp16: 65520 is the tie between 65504 and 2^16 -> Inf; just below stays finite.
  CHECK(fp16::from_float(65520.0f).bits == 0x7c00);
  CHECK(fp16::from_float(std::nextafter(65520.0f, 0.0f)).bits == 0x7bff);
  CHECK(fp16::from_float(std::ldexp(1.0f, -25)).bits == 0x0000);                            // tie -> 0
  CHECK(fp16::from_float(std::nextafter(std::ldexp(1.0f, -25), 1.0f)).bits == 0x0001);      // -> 2^-24
  CHECK(fp16::from_float(std::ldexp(3.0f, -25)).bits == 0x0002);                            // tie -> even
  // fp8 e4m3fn: 464 ties to 448; above it NaN; the saturating form clamps to 448.
  CHECK(fp8_e4m3::from_float(464.0f).bits == 0x7e);
  CHECK(fp8_e4m3::from_float(-464.0f).bits == 0xfe);
  CHECK(std::isnan(fp8_e4m3::from_float(std::nextafter(464.0f, 500.0f)).to_float()));
  CHECK(std::isnan(fp8_e4m3::from_float(480.0f).to_float()));
  CHECK(std::isnan(fp8_e4m3::from_float(std::numeric_limits<float>::infinity()).to_float()));
  CHECK(fp8_e4m3::from_float_saturating(1e30f).bits == 0x7e);
  CHECK(fp8_e4m3::from_float_saturating(-std::numeric_limits<float>::infinity()).bits == 0xfe);
  CHECK(std::isnan(fp8_e4m3::from_float_saturating(std::nanf("")).to_float()));
  CHECK(fp8_e4m3::from_float(std::ldexp(1.0f, -10)).bits == 0x00);  // half the smallest subnormal: tie -> 0
  CHECK(fp8_e4m3::from_float(std::ldexp(3.0f, -10)).bits == 0x02);  // 1.5 steps: tie -> even 2
  CHECK(fp8_e4m3::from_float(-0.0f).bits == 0x80);
}

TEMPLATE_TEST_CASE("every encoding widens to float exactly", "[core][conversion]", bf16_case, fp16_case, fp8_case) {
  std::size_t mismatches = 0;
  for (std::uint32_t b = 0; b < TestType::format.patterns(); ++b) {
    const double want = decode(TestType::format, b);
    const float got = TestType::widen(b);
    const bool ok = std::isnan(want) ? std::isnan(got)
                                     : static_cast<double>(got) == want && std::signbit(got) == std::signbit(want);
    if (!ok && ++mismatches <= 8) FAIL_CHECK(TestType::name << " 0x" << std::hex << b << " -> " << got << ", expected " << want);
  }
  CHECK(mismatches == 0);
}

TEMPLATE_TEST_CASE("float to narrow rounds to nearest even", "[core][conversion]", bf16_case, fp16_case, fp8_case,
                   fp8_saturating_case) {
  const minifloat_table table(TestType::format);
  SECTION("exact values, midpoints and their neighbours") { check_rounding<TestType>(exact_and_midpoint_inputs(table)); }
  SECTION("float specials") { check_rounding<TestType>(float_specials()); }
  SECTION("a million random floats over all exponents") { check_rounding<TestType>(random_floats(1000000, 20240611u)); }
  SECTION("values narrow and widen back to themselves") {
    for (std::size_t i = 0; i < table.finite_count(); ++i) {
      const float v = static_cast<float>(table.entries()[i].value);
      REQUIRE(TestType::widen(TestType::narrow(v)) == v);
      REQUIRE(TestType::widen(TestType::narrow(-v)) == -v);
    }
  }
}

TEST_CASE("constructors, operator float and latte::to_float agree with from_float and to_float",
          "[core][conversion]") {
  for (float v : {0.3f, -1.7e-3f, 300.0f, 6e-5f}) {
    CHECK(latte::bf16(v).bits == latte::bf16::from_float(v).bits);
    CHECK(latte::fp16(v).bits == latte::fp16::from_float(v).bits);
    CHECK(latte::fp8_e4m3(v).bits == latte::fp8_e4m3::from_float(v).bits);
    CHECK(static_cast<float>(latte::bf16(v)) == latte::bf16(v).to_float());
    CHECK(latte::to_float(latte::fp16(v)) == latte::fp16(v).to_float());
    CHECK(latte::to_float(latte::fp8_e4m3(v)) == latte::fp8_e4m3(v).to_float());
    CHECK(latte::to_float(v) == v);
  }
  CHECK(latte::size_of(latte::dtype::f8_e4m3) == 1);
  CHECK(latte::size_of(latte::dtype::bf16) == 2);
  CHECK(latte::size_of(latte::dtype::i64) == 8);
  CHECK(latte::name_of(latte::dtype::f8_e4m3) == "f8_e4m3");
  CHECK(latte::dtype_v<latte::fp16> == latte::dtype::f16);
}

// Every one of the 2^32 float bit patterns narrowed to bf16, fp16 and fp8 e4m3 (non-saturating
// and saturating), compared with the independent model of minifloat_reference.hpp. About 20 s
// on two cores for the four conversions.
//
// The model's binary search per float would take minutes, so the sweep walks the floats in
// increasing order instead: non-negative floats ordered by bit pattern are ordered by value, so
// each worker keeps the index of the largest format value not above the current float and moves
// it forward, then decides between that value and the next by their midpoint (ties to even), as
// minifloat_table::resolve does. A negative float must give the positive result with the sign
// bit set; every NaN must give a NaN.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "conversion_cases.hpp"

using namespace latte::test;

namespace {

struct sweep_result {
  std::uint64_t checked = 0;
  std::uint64_t mismatches = 0;
  std::string report;
};

template <class Case>
sweep_result sweep_all_floats() {
  const minifloat_table table(Case::format);
  const auto& entries = table.entries();
  const std::uint32_t sign_bit = Case::format.sign_bit();
  const std::size_t saturated = table.nearest_index(table.largest_finite());
  const std::int64_t chunk = std::int64_t{1} << 20;
  const std::int64_t chunks = (std::int64_t{1} << 31) / chunk;  // the non-negative half; negatives mirror it
  sweep_result result;

#pragma omp parallel for schedule(dynamic, 16)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::uint32_t first = static_cast<std::uint32_t>(c * chunk);
    const std::uint32_t last = static_cast<std::uint32_t>(first + chunk - 1);
    std::uint64_t bad = 0;
    std::string report;
    // Index of the largest entry <= the first float of the chunk.
    std::size_t lo = 0;
    const double start = static_cast<double>(float_from_bits(std::min(first, 0x7f800000u)));
    while (lo + 1 < entries.size() && entries[lo + 1].value <= start) ++lo;
    for (std::uint32_t u = first;; ++u) {
      const float v = float_from_bits(u);
      expected_encoding want{0, false};
      if (u > 0x7f800000u) {
        want.nan = true;
      } else {
        double x = static_cast<double>(v);
        while (lo + 1 < entries.size() && entries[lo + 1].value <= x) ++lo;
        if (Case::rule == overflow_rule::saturate) x = std::min(x, table.largest_finite());
        if (std::isinf(x)) {
          want = Case::format.ieee_specials ? expected_encoding{entries.back().bits, false} : expected_encoding{0, true};
        } else {
          const std::size_t i = x < v ? saturated : table.resolve(lo, x);  // x < v: clamped
          want = table.is_nan_entry(i) ? expected_encoding{0, true} : expected_encoding{entries[i].bits, false};
        }
      }
      const std::uint32_t got_pos = Case::narrow(v);
      const std::uint32_t got_neg = Case::narrow(float_from_bits(u | 0x80000000u));
      expected_encoding want_neg = want;
      want_neg.bits |= sign_bit;
      if (!conversion_matches<Case>(got_pos, want) && ++bad <= 4) report += describe_mismatch(v, got_pos, want);
      if (!conversion_matches<Case>(got_neg, want_neg) && ++bad <= 4)
        report += describe_mismatch(float_from_bits(u | 0x80000000u), got_neg, want_neg);
      if (u == last) break;
    }
#pragma omp critical
    {
      result.checked += 2 * static_cast<std::uint64_t>(chunk);
      result.mismatches += bad;
      if (result.report.size() < 2000) result.report += report;
    }
  }
  return result;
}

}  // namespace

TEMPLATE_TEST_CASE("all 2^32 floats narrow as the independent model says", "[core][conversion][exhaustive]",
                   bf16_case, fp16_case, fp8_case, fp8_saturating_case) {
  const sweep_result r = sweep_all_floats<TestType>();
  INFO(TestType::name << ": " << r.mismatches << " of " << r.checked << " floats differ\n" << r.report);
  CHECK(r.checked == (std::uint64_t{1} << 32));
  CHECK(r.mismatches == 0);
}

// Every one of the 2^32 float bit patterns narrowed to bf16, fp16 and fp8 e4m3 (non-saturating
// and saturating), compared with the independent model of minifloat_reference.hpp. About 10 s
// on two cores for the four conversions.
//
// A binary search of the model's table per float would take minutes, so the model is turned
// around: non-negative floats ordered by bit pattern are ordered by value, so the floats that
// round to one format value form one run of bit patterns, bounded by the midpoints to its
// neighbours (each midpoint is itself a float, and belongs to the neighbour with the even
// encoding). The sweep walks these runs; a negative float must give the positive result with the
// sign bit set, and every NaN must give a NaN.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "conversion_cases.hpp"

using namespace latte::test;

namespace {

// Non-negative floats first .. last (bit patterns) all narrow to `want`.
struct run {
  std::uint32_t first, last;
  expected_encoding want;
};

template <class Case>
std::vector<run> preimage_runs() {
  const minifloat_table table(Case::format);
  const auto& entries = table.entries();
  // The entry that owns everything up to +Inf: the overflow entry (Inf, or NaN for e4m3fn), or
  // the largest finite value when saturating.
  const std::size_t top = Case::rule == overflow_rule::saturate ? table.finite_count() - 1 : entries.size() - 1;
  std::vector<run> runs;
  std::uint32_t first = 0;  // +0
  for (std::size_t i = 0; i <= top; ++i) {
    std::uint32_t last = 0x7f800000u;  // +Inf
    if (i < top) {
      const float mid = static_cast<float>(table.midpoints()[i]);
      REQUIRE(static_cast<double>(mid) == table.midpoints()[i]);
      last = table.tie_goes_up(i) ? bits_of(mid) - 1 : bits_of(mid);
    }
    runs.push_back({first, last, table.is_nan_entry(i) ? expected_encoding{0, true} : expected_encoding{entries[i].bits, false}});
    first = last + 1;
  }
  runs.push_back({0x7f800001u, 0x7fffffffu, {0, true}});  // NaNs
  return runs;
}

struct sweep_result {
  std::uint64_t checked = 0;
  std::uint64_t mismatches = 0;
  std::string report;
};

// The mismatches of run r between floats a and b (positive and negative), counted in the fast
// loop and described on request.
template <class Case>
std::uint64_t check_span(const run& r, std::uint32_t a, std::uint32_t b, std::string* report) {
  const std::uint32_t sign_bit = Case::format.sign_bit();
  std::uint64_t bad = 0;
  if (r.want.nan) {
    for (std::uint32_t u = a;; ++u) {
      bad += !is_nan_encoding(Case::format, Case::narrow(float_from_bits(u)));
      bad += !is_nan_encoding(Case::format, Case::narrow(float_from_bits(u | 0x80000000u)));
      if (u == b) break;
    }
  } else {
    const std::uint32_t pos = r.want.bits, neg = r.want.bits | sign_bit;
    for (std::uint32_t u = a;; ++u) {
      bad += Case::narrow(float_from_bits(u)) != pos;
      bad += Case::narrow(float_from_bits(u | 0x80000000u)) != neg;
      if (u == b) break;
    }
  }
  if (bad != 0 && report != nullptr) {
    int shown = 0;
    for (std::uint32_t u = a; shown < 4; ++u) {
      for (std::uint32_t v : {u, u | 0x80000000u}) {
        expected_encoding want = r.want;
        if (!want.nan && v != u) want.bits |= sign_bit;
        const std::uint32_t got = Case::narrow(float_from_bits(v));
        if (!conversion_matches<Case>(got, want) && shown++ < 4) *report += describe_mismatch(float_from_bits(v), got, want);
      }
      if (u == b) break;
    }
  }
  return bad;
}

template <class Case>
sweep_result sweep_all_floats() {
  const std::vector<run> runs = preimage_runs<Case>();
  const std::int64_t chunk = std::int64_t{1} << 20;
  const std::int64_t chunks = (std::int64_t{1} << 31) / chunk;  // the non-negative half; negatives mirror it
  sweep_result result;
  result.checked = runs.back().last == 0x7fffffffu ? 0 : 1;  // the runs must tile [0, 2^31)
  for (std::size_t i = 1; i < runs.size(); ++i) result.checked += runs[i].first == runs[i - 1].last + 1 ? 0 : 1;
  REQUIRE(result.checked == 0);
  REQUIRE(runs.front().first == 0);

#pragma omp parallel for schedule(dynamic, 8)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::uint32_t first = static_cast<std::uint32_t>(c * chunk);
    const std::uint32_t last = static_cast<std::uint32_t>(first + chunk - 1);
    // The run holding `first`, then every run overlapping the chunk.
    std::size_t r = static_cast<std::size_t>(
        std::upper_bound(runs.begin(), runs.end(), first, [](std::uint32_t u, const run& x) { return u < x.first; }) -
        runs.begin() - 1);
    std::uint64_t bad = 0;
    std::string report;
    for (; r < runs.size() && runs[r].first <= last; ++r)
      bad += check_span<Case>(runs[r], std::max(first, runs[r].first), std::min(last, runs[r].last),
                              report.size() < 400 ? &report : nullptr);
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

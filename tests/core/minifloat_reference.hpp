#pragma once
// An independent model of latte's narrow float formats for the conversion tests. It never looks
// at latte's conversion code: every bit pattern is decoded to double by the format's formula,
//
//   normal     (-1)^s * 2^(e - bias) * (1 + m / 2^M)
//   subnormal  (-1)^s * 2^(1 - bias) * (m / 2^M)          (e == 0)
//
// the non-negative finite values are sorted, and a float is rounded by finding its two
// neighbours in that list and comparing it with their midpoint (exact in double: both
// neighbours have at most 11 significant bits), ties going to the even encoding. Overflow is
// modelled by one more entry past the largest finite value: for IEEE-like formats 2^(emax + 1)
// with the infinity's encoding (IEEE rounds as if the exponent were unbounded, then overflows);
// for e4m3fn the value 480 with the NaN encoding S.1111.111, which makes 464 tie to the even 448
// and everything above 464 NaN, as torch.float8_e4m3fn does.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace latte::test {

struct minifloat_format {
  int exponent_bits;
  int mantissa_bits;
  bool ieee_specials;  // true: exponent all ones is Inf (m == 0) or NaN; false: e4m3fn (only S.1111.111 is NaN)

  int bias() const { return (1 << (exponent_bits - 1)) - 1; }
  int width() const { return 1 + exponent_bits + mantissa_bits; }
  std::uint32_t sign_bit() const { return 1u << (width() - 1); }
  std::uint32_t patterns() const { return 1u << width(); }
};

inline constexpr minifloat_format bf16_format{8, 7, true};
inline constexpr minifloat_format fp16_format{5, 10, true};
inline constexpr minifloat_format e4m3fn_format{4, 3, false};

// Whether an encoding is a NaN: exponent all ones and a non-zero mantissa (IEEE-like), or
// S.1111.111 (e4m3fn).
inline bool is_nan_encoding(const minifloat_format& f, std::uint32_t bits) {
  const std::uint32_t m_mask = (1u << f.mantissa_bits) - 1;
  const std::uint32_t e_mask = (1u << f.exponent_bits) - 1;
  const std::uint32_t e = (bits >> f.mantissa_bits) & e_mask, m = bits & m_mask;
  return e == e_mask && (f.ieee_specials ? m != 0 : m == m_mask);
}

// The value of one encoding, in double (NaN and +-Inf included).
inline double decode(const minifloat_format& f, std::uint32_t bits) {
  const std::uint32_t m_mask = (1u << f.mantissa_bits) - 1;
  const std::uint32_t e_mask = (1u << f.exponent_bits) - 1;
  const bool negative = (bits & f.sign_bit()) != 0;
  const std::uint32_t e = (bits >> f.mantissa_bits) & e_mask;
  const std::uint32_t m = bits & m_mask;
  double magnitude;
  if (f.ieee_specials && e == e_mask) {
    magnitude = m == 0 ? HUGE_VAL : std::nan("");
  } else if (!f.ieee_specials && e == e_mask && m == m_mask) {
    magnitude = std::nan("");
  } else if (e == 0) {
    magnitude = std::ldexp(static_cast<double>(m), 1 - f.bias() - f.mantissa_bits);
  } else {
    magnitude = std::ldexp(static_cast<double>((1u << f.mantissa_bits) + m),
                           static_cast<int>(e) - f.bias() - f.mantissa_bits);
  }
  return negative ? -magnitude : magnitude;
}

// The non-negative values of a format in increasing order, ending with the overflow entry.
class minifloat_table {
 public:
  struct entry {
    double value;
    std::uint32_t bits;
  };

  explicit minifloat_table(const minifloat_format& f) : format_(f) {
    const std::uint32_t e_mask = (1u << f.exponent_bits) - 1;
    for (std::uint32_t b = 0; b < f.sign_bit(); ++b) {
      const double v = decode(f, b);
      if (std::isfinite(v)) entries_.push_back({v, b});
    }
    std::sort(entries_.begin(), entries_.end(), [](const entry& a, const entry& b) { return a.value < b.value; });
    const double largest = entries_.back().value;
    if (f.ieee_specials) {
      // The next power of two after the largest finite value, encoded as +Inf.
      entries_.push_back({std::ldexp(1.0, static_cast<int>(e_mask) - f.bias()), e_mask << f.mantissa_bits});
    } else {
      // The value the NaN pattern would have: one mantissa step past the largest finite value.
      const double step = std::ldexp(1.0, static_cast<int>(e_mask) - f.bias() - f.mantissa_bits);
      entries_.push_back({largest + step, f.sign_bit() - 1});
    }
    for (std::size_t i = 0; i + 1 < entries_.size(); ++i) {
      midpoints_.push_back((entries_[i].value + entries_[i + 1].value) / 2);  // exact: both have <= 12 bits
      tie_goes_up_.push_back((entries_[i + 1].bits & 1u) == 0);
    }
  }

  const minifloat_format& format() const { return format_; }
  const std::vector<entry>& entries() const { return entries_; }
  std::size_t finite_count() const { return entries_.size() - 1; }  // the last entry is the overflow
  double largest_finite() const { return entries_[finite_count() - 1].value; }
  const std::vector<double>& midpoints() const { return midpoints_; }

  // Index of the nearest entry to x >= 0, ties to the even encoding; the overflow entry when x is
  // at or past it.
  std::size_t nearest_index(double x) const {
    const auto it = std::lower_bound(entries_.begin(), entries_.end(), x,
                                     [](const entry& e, double v) { return e.value < v; });
    if (it == entries_.end()) return entries_.size() - 1;
    const std::size_t hi = static_cast<std::size_t>(it - entries_.begin());
    if (it->value == x || hi == 0) return hi;
    return resolve(hi - 1, x);
  }

  // Given lo with entries[lo].value <= x < entries[lo + 1].value, the nearest of the two.
  std::size_t resolve(std::size_t lo, double x) const {
    if (entries_[lo].value == x || lo + 1 == entries_.size()) return lo;
    const double mid = midpoints_[lo];
    if (x < mid) return lo;
    if (x > mid) return lo + 1;
    return tie_goes_up_[lo] ? lo + 1 : lo;
  }

  bool is_nan_entry(std::size_t i) const { return !format_.ieee_specials && i == entries_.size() - 1; }
  // Whether x == midpoints()[i] rounds to entry i + 1 (its encoding is even) rather than i.
  bool tie_goes_up(std::size_t i) const { return tie_goes_up_[i]; }

 private:
  minifloat_format format_;
  std::vector<entry> entries_;
  std::vector<double> midpoints_;
  std::vector<bool> tie_goes_up_;
};

// What converting a float should give, as an encoding, or `nan` when any NaN is right.
struct expected_encoding {
  std::uint32_t bits;
  bool nan;
};

enum class overflow_rule { format_default, saturate };

inline expected_encoding round_float(const minifloat_table& t, float value, overflow_rule rule) {
  const minifloat_format& f = t.format();
  if (std::isnan(value)) return {0, true};
  const std::uint32_t sign = std::signbit(value) ? f.sign_bit() : 0u;
  double x = std::fabs(static_cast<double>(value));
  if (rule == overflow_rule::saturate) x = std::min(x, t.largest_finite());
  if (std::isinf(x)) {
    if (!f.ieee_specials) return {0, true};
    return {t.entries().back().bits | sign, false};
  }
  const std::size_t i = t.nearest_index(x);
  if (t.is_nan_entry(i)) return {0, true};
  return {t.entries()[i].bits | sign, false};
}

inline float float_from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline std::uint32_t bits_of(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

}  // namespace latte::test

#pragma once
// cos/sin tables for given positions: [positions, d/2, 2] floats holding (cos, sin) of
// position x inv_freq_j, times the attention factor. The angle is formed in double precision: at
// position 163839 a float32 angle would be off by ~1e-2 rad.

#include <cmath>
#include <span>
#include <vector>

#include "../core/buffer.hpp"
#include "../core/error.hpp"
#include "config.hpp"
#include "frequencies.hpp"

namespace latte::rope {

class table_maker {
 public:
  explicit table_maker(const config& c) : inv_freq_(inv_freq(c)), factor_(attention_factor(c)) {}

  index_t pairs() const noexcept { return static_cast<index_t>(inv_freq_.size()); }
  const std::vector<double>& frequencies() const noexcept { return inv_freq_; }
  double factor() const noexcept { return factor_; }

  // Writes rows for `positions` into out [positions.size(), pairs, 2].
  void fill(std::span<const index_t> positions, dtensor_view<float, 3> out) const {
    require(out.extent(0) == static_cast<index_t>(positions.size()) && out.extent(1) == pairs() && out.extent(2) == 2,
            "rope table: output is [", out.extent(0), ", ", out.extent(1), ", ", out.extent(2), "], expected [",
            positions.size(), ", ", pairs(), ", 2]");
    for (std::size_t t = 0; t < positions.size(); ++t) {
      require(positions[t] >= 0, "rope table: position ", positions[t], " is negative");
      for (index_t j = 0; j < pairs(); ++j) {
        const double angle = static_cast<double>(positions[t]) * inv_freq_[static_cast<std::size_t>(j)];
        out(static_cast<index_t>(t), j, 0) = static_cast<float>(std::cos(angle) * factor_);
        out(static_cast<index_t>(t), j, 1) = static_cast<float>(std::sin(angle) * factor_);
      }
    }
  }

  host_buffer<float> make(std::span<const index_t> positions) const {
    host_buffer<float> buffer(positions.size() * static_cast<std::size_t>(pairs()) * 2);
    fill(positions, buffer.view(dextents<3>(static_cast<index_t>(positions.size()), pairs(), 2)));
    return buffer;
  }

 private:
  std::vector<double> inv_freq_;
  double factor_;
};

}  // namespace latte::rope

#pragma once
// Where a model's weights come from: a memory-mapped checkpoint, buffers a runtime owns, or a
// synthetic generator. The model asks for each tensor by its hub name (SPEC.md section 8) with
// the shape it expects; a source returns a view that stays valid while the source lives (or, for
// sources that evict, until `release` is called for that name).

#include <cstdint>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/weight_view.hpp"

namespace latte::model {

class weight_source {
 public:
  virtual ~weight_source() = default;

  // The tensor `name` as a weight view of the expected [rows, cols] (1-D tensors are [1, n]).
  // Throws latte::error naming the tensor when it is missing or its shape differs. fp8 tensors
  // come with their `<name>_scale_inv` block scales attached.
  virtual weight_view get(const std::string& name, index_t rows, index_t cols) = 0;

  // Whether the source holds `name` (optional tensors such as q_a_proj vs q_proj).
  virtual bool contains(const std::string& name) const = 0;

  // The model no longer needs `name`; a source with a memory budget may evict it.
  virtual void release(const std::string& /*name*/) {}
};

}  // namespace latte::model

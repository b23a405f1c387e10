#pragma once
// buffer_weights: a weight_source over weight_views the caller registers by hub name, for
// runtimes that own (and place) their memory. The views are not copied: the caller keeps the
// memory alive while the source is used.
//
//   latte::io::buffer_weights weights;
//   weights.add("model.norm.weight", latte::make_weight_view(norm.data(), 1, hidden));

#include <map>
#include <string>
#include <utility>

#include "../core/error.hpp"
#include "../core/weight_view.hpp"
#include "../model/weight_source.hpp"

namespace latte::io {

class buffer_weights final : public model::weight_source {
 public:
  // Registers `w` under `name`; a name may be registered once.
  void add(std::string name, const weight_view& w) {
    require(w.rows >= 0 && w.cols >= 0, "buffer_weights: '", name, "' has negative size [", w.rows, ", ", w.cols, "]");
    const auto [it, inserted] = views_.emplace(std::move(name), w);
    require(inserted, "buffer_weights: '", it->first, "' is registered twice");
  }
  // Registers or replaces `name`.
  void assign(std::string name, const weight_view& w) { views_.insert_or_assign(std::move(name), w); }
  // Forgets `name`; false when it was not registered.
  bool erase(const std::string& name) { return views_.erase(name) > 0; }

  weight_view get(const std::string& name, index_t rows, index_t cols) override {
    const auto it = views_.find(name);
    require(it != views_.end(), "buffer_weights: missing tensor '", name, "' (expected [", rows, ", ", cols, "])");
    const weight_view& w = it->second;
    require(w.rows == rows && w.cols == cols, "buffer_weights: tensor '", name, "' is [", w.rows, ", ", w.cols,
            "], expected [", rows, ", ", cols, "]");
    return w;
  }

  bool contains(const std::string& name) const override { return views_.find(name) != views_.end(); }
  std::size_t size() const noexcept { return views_.size(); }

 private:
  std::map<std::string, weight_view, std::less<>> views_;
};

}  // namespace latte::io

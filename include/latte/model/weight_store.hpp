#pragma once
// weight_store: a model's weights where its backend can read them. For backends over host memory
// the views of the weight source are used as they are (a memory-mapped checkpoint is read in
// place); for device backends each tensor (with its fp8 block scales) is uploaded once on first
// use and kept until released.

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>

#include "../backend/concept.hpp"
#include "../core/error.hpp"
#include "../core/weight_view.hpp"
#include "weight_source.hpp"

namespace latte::model {

template <class Backend>
concept host_memory_backend = requires { requires Backend::host_memory; };

template <backend_policy Backend>
class weight_store {
 public:
  weight_store(Backend backend, weight_source& source) : backend_(backend), source_(&source) {}

  weight_source& source() const noexcept { return *source_; }
  bool contains(const std::string& name) const { return source_->contains(name); }

  weight_view get(const std::string& name, index_t rows, index_t cols) {
    if constexpr (host_memory_backend<Backend>) {
      return source_->get(name, rows, cols);
    } else {
      if (auto found = resident_.find(name); found != resident_.end()) return found->second.view;
      const weight_view host = source_->get(name, rows, cols);
      require(host.row_stride == host.cols, "weight ", name, ": only contiguous tensors can be uploaded");
      resident r{backend_.template allocate<std::uint8_t>(static_cast<std::size_t>(host.rows * host.cols) * size_of(host.type)),
                 {}, host};
      backend_.upload(std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(host.data), r.bytes.size()),
                      r.bytes.data());
      r.view.data = r.bytes.data();
      if (host.has_block_scales()) {
        require(host.row0 == 0 && host.col0 == 0, "weight ", name, ": block scales of a sub-view cannot be uploaded");
        const std::size_t scale_count =
            static_cast<std::size_t>(((host.rows + host.block - 1) / host.block) * host.scale_cols);
        r.scales = backend_.template allocate<float>(scale_count);
        backend_.upload(std::span<const float>(host.scale_inv, scale_count), r.scales.data());
        r.view.scale_inv = r.scales.data();
      }
      source_->release(name);
      return resident_.emplace(name, std::move(r)).first->second.view;
    }
  }

  // The weight is no longer needed: device copies are freed and the source may evict it.
  void release(const std::string& name) {
    if constexpr (!host_memory_backend<Backend>) resident_.erase(name);
    source_->release(name);
  }

 private:
  struct resident {
    typename Backend::template buffer<std::uint8_t> bytes;
    typename Backend::template buffer<float> scales;
    weight_view view;
  };
  Backend backend_;
  weight_source* source_;
  std::unordered_map<std::string, resident> resident_;
};

}  // namespace latte::model

#pragma once
// kv_cache<Backend>: the per-head key/value cache of one sequence in one layer, float32 in the
// backend's memory. GQA caches kv_heads heads of keys and values; MLA's naive form caches every
// head's expanded key [nope | rope] and value (SPEC.md section 3, "naive form").
//
//   keys   [capacity, kv_heads, key_dim]     rows 0 .. size() - 1 hold the tokens at positions
//   values [capacity, kv_heads, value_dim]   0 .. size() - 1 of the sequence
//
// A plain object: the runtime picks the capacity, may read or write the rows through the views
// (to persist, restore or page them) and sets the size with resize(). Appending past the capacity
// throws latte::error and leaves the cache unchanged.

#include <cstddef>
#include <utility>

#include "../backend/concept.hpp"
#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "cache_limits.hpp"
#include "copy_rows.hpp"

namespace latte::attention {

template <backend_policy Backend>
class kv_cache {
 public:
  using backend_type = Backend;
  using buffer_type = typename Backend::template buffer<float>;

  kv_cache(const Backend& backend, index_t capacity, index_t kv_heads, index_t key_dim, index_t value_dim)
      : backend_(backend), capacity_(capacity), kv_heads_(kv_heads), key_dim_(key_dim), value_dim_(value_dim) {
    require(capacity >= 0, "kv_cache: capacity must not be negative, got ", capacity);
    require(kv_heads > 0 && key_dim > 0 && value_dim > 0, "kv_cache: kv_heads, key_dim and value_dim must be positive, got ",
            kv_heads, ", ", key_dim, ", ", value_dim);
    cache_bytes("kv_cache", capacity, values_per_token(), host_memory_buffers<Backend>);  // before allocating
    keys_ = backend_.template allocate<float>(static_cast<std::size_t>(capacity * kv_heads * key_dim));
    values_ = backend_.template allocate<float>(static_cast<std::size_t>(capacity * kv_heads * value_dim));
  }

  index_t capacity() const noexcept { return capacity_; }
  index_t size() const noexcept { return size_; }
  index_t remaining() const noexcept { return capacity_ - size_; }
  bool empty() const noexcept { return size_ == 0; }
  index_t kv_heads() const noexcept { return kv_heads_; }
  index_t key_dim() const noexcept { return key_dim_; }
  index_t value_dim() const noexcept { return value_dim_; }
  // Floats one token occupies (keys and values, every head) and the bytes of the whole cache.
  index_t values_per_token() const noexcept { return kv_heads_ * (key_dim_ + value_dim_); }
  std::size_t bytes() const noexcept { return static_cast<std::size_t>(capacity_ * values_per_token()) * sizeof(float); }
  const Backend& backend() const noexcept { return backend_; }

  // The filled rows: [size, kv_heads, key_dim] and [size, kv_heads, value_dim].
  dtensor_view<float, 3> keys() noexcept { return key_rows_unchecked(0, size_); }
  dtensor_view<const float, 3> keys() const noexcept { return const_cast<kv_cache*>(this)->key_rows_unchecked(0, size_); }
  dtensor_view<float, 3> values() noexcept { return value_rows_unchecked(0, size_); }
  dtensor_view<const float, 3> values() const noexcept {
    return const_cast<kv_cache*>(this)->value_rows_unchecked(0, size_);
  }

  // Any rows [first, first + count) of the storage, filled or not (within the capacity).
  dtensor_view<float, 3> key_rows(index_t first, index_t count) {
    check_rows(first, count);
    return key_rows_unchecked(first, count);
  }
  dtensor_view<float, 3> value_rows(index_t first, index_t count) {
    check_rows(first, count);
    return value_rows_unchecked(first, count);
  }

  // Claims the next `tokens` rows (the caller fills them) and returns the first one's index.
  index_t extend(index_t tokens) {
    require(tokens >= 0, "kv_cache: cannot append ", tokens, " tokens");
    require(tokens <= remaining(), "kv_cache: appending ", tokens, " tokens to ", size_,
            " would exceed the capacity of ", capacity_);
    const index_t first = size_;
    size_ += tokens;
    return first;
  }

  // Appends k [tokens, kv_heads, key_dim] and v [tokens, kv_heads, value_dim] (backend memory).
  void append(dtensor_view<const float, 3> k, dtensor_view<const float, 3> v) {
    const index_t tokens = k.extent(0);
    require(k.extent(1) == kv_heads_ && k.extent(2) == key_dim_, "kv_cache::append: keys are [", k.extent(0), ", ",
            k.extent(1), ", ", k.extent(2), "], expected [tokens, ", kv_heads_, ", ", key_dim_, "]");
    require(v.extent(0) == tokens && v.extent(1) == kv_heads_ && v.extent(2) == value_dim_,
            "kv_cache::append: values are [", v.extent(0), ", ", v.extent(1), ", ", v.extent(2), "], expected [",
            tokens, ", ", kv_heads_, ", ", value_dim_, "]");
    const index_t first = extend(tokens);
    detail::copy_rows(backend_, k, key_rows_unchecked(first, tokens));
    detail::copy_rows(backend_, v, value_rows_unchecked(first, tokens));
  }

  // Sets the number of filled rows (after restoring rows, or to drop rejected speculative tokens).
  void resize(index_t size) {
    require(size >= 0 && size <= capacity_, "kv_cache: size ", size, " outside [0, ", capacity_, "]");
    size_ = size;
  }
  void clear() noexcept { size_ = 0; }

 private:
  void check_rows(index_t first, index_t count) const {
    require(first >= 0 && count >= 0 && first + count <= capacity_, "kv_cache: rows [", first, ", ", first + count,
            ") outside the capacity of ", capacity_);
  }
  dtensor_view<float, 3> key_rows_unchecked(index_t first, index_t count) noexcept {
    return dtensor_view<float, 3>(keys_.data() + first * kv_heads_ * key_dim_, dextents<3>(count, kv_heads_, key_dim_));
  }
  dtensor_view<float, 3> value_rows_unchecked(index_t first, index_t count) noexcept {
    return dtensor_view<float, 3>(values_.data() + first * kv_heads_ * value_dim_,
                                  dextents<3>(count, kv_heads_, value_dim_));
  }

  Backend backend_;
  index_t capacity_ = 0, size_ = 0;
  index_t kv_heads_ = 0, key_dim_ = 0, value_dim_ = 0;
  buffer_type keys_, values_;
};

}  // namespace latte::attention

#pragma once
// latent_cache<Backend>: MLA's compressed cache of one sequence in one layer (SPEC.md section 3,
// absorbed form), float32 in the backend's memory. One row per token:
//
//   rows [capacity, kv_lora_rank + rope_dim] = [ c_kv (RMS-normed latent) | k_rope (after RoPE) ]
//
// Attention reads it as a single KV head (MQA with key width kv_lora + rope and value width
// kv_lora): keys() is [size, 1, kv_lora + rope] and values() the first kv_lora columns of the same
// rows, [size, 1, kv_lora] with row stride kv_lora + rope, as FlashMLA views it. A plain object
// like kv_cache: capacity chosen by the runtime, rows readable and writable through the views,
// size set with resize(); appending past the capacity throws latte::error.

#include <cstddef>

#include "../backend/concept.hpp"
#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "cache_limits.hpp"
#include "copy_rows.hpp"

namespace latte::attention {

template <backend_policy Backend>
class latent_cache {
 public:
  using backend_type = Backend;
  using buffer_type = typename Backend::template buffer<float>;

  latent_cache(const Backend& backend, index_t capacity, index_t kv_lora_rank, index_t rope_dim)
      : backend_(backend), capacity_(capacity), kv_lora_rank_(kv_lora_rank), rope_dim_(rope_dim) {
    require(capacity >= 0, "latent_cache: capacity must not be negative, got ", capacity);
    require(kv_lora_rank > 0 && rope_dim >= 0, "latent_cache: kv_lora_rank must be positive and rope_dim not negative, got ",
            kv_lora_rank, ", ", rope_dim);
    cache_bytes("latent_cache", capacity, row_dim(), host_memory_buffers<Backend>);  // before allocating
    rows_ = backend_.template allocate<float>(static_cast<std::size_t>(capacity * row_dim()));
  }

  index_t capacity() const noexcept { return capacity_; }
  index_t size() const noexcept { return size_; }
  index_t remaining() const noexcept { return capacity_ - size_; }
  bool empty() const noexcept { return size_ == 0; }
  index_t kv_lora_rank() const noexcept { return kv_lora_rank_; }
  index_t rope_dim() const noexcept { return rope_dim_; }
  // Floats per token: kv_lora + rope (576 in the 671B model).
  index_t row_dim() const noexcept { return kv_lora_rank_ + rope_dim_; }
  index_t values_per_token() const noexcept { return row_dim(); }
  std::size_t bytes() const noexcept { return static_cast<std::size_t>(capacity_ * row_dim()) * sizeof(float); }
  const Backend& backend() const noexcept { return backend_; }

  // The filled rows [size, kv_lora + rope], and their two parts.
  matrix_view<float> rows() noexcept { return row_block_unchecked(0, size_); }
  matrix_view<const float> rows() const noexcept { return const_cast<latent_cache*>(this)->row_block_unchecked(0, size_); }
  matrix_view<const float> latent() const noexcept { return col_block(rows(), 0, kv_lora_rank_); }    // [size, kv_lora]
  matrix_view<const float> rope_keys() const noexcept { return col_block(rows(), kv_lora_rank_, rope_dim_); }  // [size, rope]

  // The attention views: keys [size, 1, kv_lora + rope], values [size, 1, kv_lora] (strided).
  dtensor_view<const float, 3> keys() const noexcept {
    return dtensor_view<const float, 3>(rows_.data(), dextents<3>(size_, 1, row_dim()), {row_dim(), row_dim(), 1});
  }
  dtensor_view<const float, 3> values() const noexcept {
    return dtensor_view<const float, 3>(rows_.data(), dextents<3>(size_, 1, kv_lora_rank_), {row_dim(), row_dim(), 1});
  }

  // Any rows [first, first + count) of the storage, filled or not (within the capacity).
  matrix_view<float> row_block(index_t first, index_t count) {
    require(first >= 0 && count >= 0 && first + count <= capacity_, "latent_cache: rows [", first, ", ",
            first + count, ") outside the capacity of ", capacity_);
    return row_block_unchecked(first, count);
  }

  // Claims the next `tokens` rows (the caller fills them) and returns the first one's index.
  index_t extend(index_t tokens) {
    require(tokens >= 0, "latent_cache: cannot append ", tokens, " tokens");
    require(tokens <= remaining(), "latent_cache: appending ", tokens, " tokens to ", size_,
            " would exceed the capacity of ", capacity_);
    const index_t first = size_;
    size_ += tokens;
    return first;
  }

  // Appends c_kv [tokens, kv_lora] (normed) and k_rope [tokens, rope] (rotated), backend memory.
  void append(matrix_view<const float> c_kv, matrix_view<const float> k_rope) {
    const index_t tokens = c_kv.extent(0);
    require(c_kv.extent(1) == kv_lora_rank_, "latent_cache::append: c_kv has ", c_kv.extent(1),
            " columns, expected kv_lora_rank ", kv_lora_rank_);
    require(k_rope.extent(0) == tokens && k_rope.extent(1) == rope_dim_, "latent_cache::append: k_rope is [",
            k_rope.extent(0), ", ", k_rope.extent(1), "], expected [", tokens, ", ", rope_dim_, "]");
    const index_t first = extend(tokens);
    const matrix_view<float> block = row_block_unchecked(first, tokens);
    detail::copy_rows(backend_, c_kv, col_block(block, 0, kv_lora_rank_));
    detail::copy_rows(backend_, k_rope, col_block(block, kv_lora_rank_, rope_dim_));
  }

  void resize(index_t size) {
    require(size >= 0 && size <= capacity_, "latent_cache: size ", size, " outside [0, ", capacity_, "]");
    size_ = size;
  }
  void clear() noexcept { size_ = 0; }

 private:
  matrix_view<float> row_block_unchecked(index_t first, index_t count) noexcept {
    return make_matrix_view(rows_.data() + first * row_dim(), count, row_dim());
  }

  Backend backend_;
  index_t capacity_ = 0, size_ = 0;
  index_t kv_lora_rank_ = 0, rope_dim_ = 0;
  buffer_type rows_;
};

}  // namespace latte::attention

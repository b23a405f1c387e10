#pragma once
// checkpoint_weights: the model's weight_source over a memory-mapped checkpoint. get() checks
// the stored shape against the request (1-D tensors are [1, n]) and, for F8_E4M3 tensors,
// attaches the float32 block scales stored as `<name>_scale_inv`, [ceil(rows / B), ceil(cols / B)]
// (SPEC.md section 8). Errors name the checkpoint, the tensor, what was expected and what is
// stored.
//
//   latte::model::config cfg = latte::io::load_config(dir);
//   latte::io::checkpoint_weights weights(latte::io::checkpoint(dir), cfg);
//   latte::weight_view q_a = weights.get("model.layers.0.self_attn.q_a_proj.weight", 1536, 7168);

#include <string>
#include <utility>

#include "../core/error.hpp"
#include "../core/weight_view.hpp"
#include "../model/config.hpp"
#include "../model/weight_source.hpp"
#include "checkpoint.hpp"
#include "fp8_block.hpp"
#include "safetensors_dtype.hpp"

namespace latte::io {

class checkpoint_weights final : public model::weight_source {
 public:
  // `block`: the fp8 block size B (quantization_config.weight_block_size, 128 for DeepSeek-V3).
  explicit checkpoint_weights(checkpoint ckpt, index_t block = 128) : ckpt_(std::move(ckpt)), block_(block) {
    require(block_ > 0, ckpt_.source(), ": fp8 block size must be positive, got ", block_);
  }
  checkpoint_weights(checkpoint ckpt, const model::fp8_quantization& q)
      : checkpoint_weights(std::move(ckpt), q.block_rows) {
    require(q.block_rows == q.block_cols, ckpt_.source(), ": fp8 blocks of ", q.block_rows, " x ", q.block_cols,
            " are not supported (square blocks only)");
  }

  // The block size of `config.quantization` (128 when the checkpoint is not quantised).
  checkpoint_weights(checkpoint ckpt, const model::config& config)
      : checkpoint_weights(std::move(ckpt), config.quantization) {}

  weight_view get(const std::string& name, index_t rows, index_t cols) override {
    const tensor_record& t = stored(name, rows, cols);
    weight_view w;
    w.type = t.type;
    w.data = t.data;
    w.rows = rows;
    w.cols = cols;
    w.row_stride = cols;
    w.block = block_;
    if (t.type == dtype::f8_e4m3) {
      const std::string scale_name = name + "_scale_inv";
      const tensor_record* s = ckpt_.find(scale_name);
      require(s != nullptr, ckpt_.source(), ": fp8 tensor '", name, "' has no block scales '", scale_name, "'");
      require(s->type == dtype::f32, ckpt_.source(), ": block scales '", scale_name, "' are ",
              safetensors_name(s->type), ", expected F32");
      const auto [scale_rows, scale_cols] = block_scale_shape(rows, cols, block_);
      require(matrix_shape(*s) == std::pair<index_t, index_t>(scale_rows, scale_cols), ckpt_.source(),
              ": block scales '", scale_name, "' are ", shape_string(s->shape), ", expected [", scale_rows, ", ",
              scale_cols, "] for a [", rows, ", ", cols, "] weight in ", block_, " x ", block_, " blocks");
      w.scale_inv = reinterpret_cast<const float*>(s->data);
      w.scale_cols = scale_cols;
    }
    return w;
  }

  bool contains(const std::string& name) const override { return ckpt_.contains(name); }

  const checkpoint& files() const noexcept { return ckpt_; }
  index_t block() const noexcept { return block_; }

 private:
  // [rows, cols] of a 2-D tensor, [1, n] of a 1-D one, [-1, -1] otherwise.
  static std::pair<index_t, index_t> matrix_shape(const tensor_record& t) {
    if (t.rank() == 1) return {1, t.shape[0]};
    if (t.rank() == 2) return {t.shape[0], t.shape[1]};
    return {-1, -1};
  }

  const tensor_record& stored(const std::string& name, index_t rows, index_t cols) const {
    const tensor_record* t = ckpt_.find(name);
    require(t != nullptr, ckpt_.source(), ": missing tensor '", name, "' (expected [", rows, ", ", cols, "])");
    require(matrix_shape(*t) == std::pair<index_t, index_t>(rows, cols), ckpt_.source(), ": tensor '", name,
            "' is ", shape_string(t->shape), ", expected [", rows, ", ", cols, "]");
    require(t->type != dtype::i64 && t->type != dtype::i32 && t->type != dtype::u8, ckpt_.source(), ": tensor '",
            name, "' is ", safetensors_name(t->type), ", expected a floating-point weight");
    return *t;
  }

  checkpoint ckpt_;
  index_t block_ = 128;
};

}  // namespace latte::io

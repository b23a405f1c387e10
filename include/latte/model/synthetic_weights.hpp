#pragma once
// synthetic_weights: a weight_source that makes up every tensor of a model config, for running a
// model of any size without its checkpoint (the 671B one on a laptop-sized machine).
//
// - Deterministic: element (r, c) of tensor `name` is a function of (seed, name, r, c) alone, a
//   counter-based hash, so a tensor is the same whenever and on however many threads it is made.
//   The MTP module's copies of the embedding and head equal the originals.
// - Scaled so that activations stay finite through many layers: linear weights [out, in] have
//   standard deviation 1 / sqrt(in) (triangular on +-sqrt(6 / in), the sum of two uniforms), the
//   embedding 1, norm weights lie in [0.9, 1.1] (to bf16 rounding), the router's selection bias in [-0.05, 0.05].
// - Stored as the checkpoint would store them (model/plan.hpp's layouts): bf16, or in
//   weight_format::fp8_blocks the quantised roles as e4m3 with a float scale_inv per 128 x 128
//   block (varying by block, mean 1 x the bf16 scale); the selection bias is f32.
// - Made on first get() and kept; release() marks a tensor evictable. Before making a tensor that
//   would take the bytes held past `memory_budget`, the least recently released tensors are freed
//   (a freed buffer of the same size is reused rather than returned). A tensor that cannot fit
//   beside the ones in use throws latte::error naming it and the budget, so the bytes held never
//   exceed the budget.
// - Fast: one 32-bit hash per element, written straight to bf16 bits (vectorises), rows split
//   over `threads` workers; evicted buffers are reused by tensors of the same size, so after the
//   budget fills no new memory is touched.
//
// Not thread-safe: one model calls it at a time (as every weight_source).

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "../backend/cpu/parallel.hpp"
#include "../core/bf16.hpp"
#include "../core/error.hpp"
#include "../core/fp8_e4m3.hpp"
#include "../core/weight_view.hpp"
#include "config.hpp"
#include "names.hpp"
#include "plan.hpp"
#include "weight_source.hpp"

namespace latte::model {

struct synthetic_options {
  std::uint64_t seed = 0;
  weight_format format = weight_format::bf16;  // fp8_blocks: attention / MLP / expert weights as e4m3
  std::size_t memory_budget = 0;               // bytes of tensors held at once; 0: no limit
  int threads = cpu::hardware_threads();       // workers that fill a tensor
  index_t block = 128;                         // fp8 block size
  bool include_mtp = true;                     // also serve the MTP modules' tensors
};

struct synthetic_statistics {
  std::size_t bytes_held = 0;        // tensors cached now, in use or released
  std::size_t bytes_in_use = 0;      // of which not released
  std::size_t peak_bytes_held = 0;
  index_t tensors_held = 0;
  index_t tensors_generated = 0;
  index_t params_generated = 0;
  std::size_t bytes_generated = 0;
  double generate_seconds = 0.0;     // wall time spent making tensors
  index_t cache_hits = 0;            // get() of a tensor still held
  index_t evictions = 0;
  index_t buffers_reused = 0;        // evicted buffers taken over by a tensor of the same size
};

namespace detail {

// lowbias32 (Wellons): a 32-bit integer hash with low bias, two multiplies.
constexpr std::uint32_t hash32(std::uint32_t x) noexcept {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline std::uint64_t tensor_key(std::uint64_t seed, const std::string& name) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the name
  for (unsigned char ch : name) h = (h ^ ch) * 0x100000001b3ULL;
  return splitmix64(h ^ splitmix64(seed));
}

// The key of row r: every element of the row then hashes (row key + c x golden ratio).
constexpr std::uint32_t row_key(std::uint64_t key, index_t r) noexcept {
  return hash32(static_cast<std::uint32_t>(key) ^ hash32(static_cast<std::uint32_t>(r) + static_cast<std::uint32_t>(key >> 32)));
}
inline constexpr std::uint32_t golden32 = 0x9e3779b9U;

// One hash makes two elements: element c < half of a row takes the low 16 bits of
// hash(row key + c x golden ratio), element c + half the high 16 bits (half = cols / 2; an odd
// row's last element takes the low bits of hash index `half`). Each 16 bits give the sum of
// two bytes, a triangle on [-255, 255] in steps of 1: plenty for bf16's 8 significant bits.
constexpr std::int32_t triangle_low(std::uint32_t h) noexcept {
  return static_cast<std::int32_t>((h & 0xffU) + ((h >> 8) & 0xffU)) - 255;
}
constexpr std::int32_t triangle_high(std::uint32_t h) noexcept {
  return static_cast<std::int32_t>(((h >> 16) & 0xffU) + (h >> 24)) - 255;
}

// float -> bf16 bits, round to nearest even (finite inputs).
constexpr std::uint16_t bf16_bits(float f) noexcept {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  return static_cast<std::uint16_t>((u + 0x7fffU + ((u >> 16) & 1U)) >> 16);
}

// Calls put(c, triangle) for every c < cols (see above for which hash bits element c takes).
template <class Put>
inline void for_each_triangle(index_t cols, std::uint32_t key, Put&& put) noexcept {
  const index_t half = cols / 2;
  for (index_t c = 0; c < half; ++c) {
    const std::uint32_t h = hash32(key + static_cast<std::uint32_t>(c) * golden32);
    put(c, triangle_low(h));
    put(c + half, triangle_high(h));
  }
  if (cols % 2 != 0) put(cols - 1, triangle_low(hash32(key + static_cast<std::uint32_t>(half) * golden32)));
}

// row[c] = bf16(offset + amplitude x triangle / 255), the triangle on [-1, 1].
inline void fill_bf16_row(std::uint16_t* row, index_t cols, std::uint32_t key, float offset, float amplitude) noexcept {
  const float step = amplitude / 255.0f;
  for_each_triangle(cols, key, [&](index_t c, std::int32_t t) { row[c] = bf16_bits(offset + static_cast<float>(t) * step); });
}

inline void fill_f32_row(float* row, index_t cols, std::uint32_t key, float offset, float amplitude) noexcept {
  const float step = amplitude / 255.0f;
  for_each_triangle(cols, key, [&](index_t c, std::int32_t t) { row[c] = offset + static_cast<float>(t) * step; });
}

// e4m3 bits of f, |f| <= 448, round to nearest even: fp8_e4m3::from_float without its NaN
// branch and with the subnormal case as a select, so that a loop of it vectorises.
constexpr std::uint8_t e4m3_bits(float f) noexcept {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t sign = (u >> 24) & 0x80U, a = u & 0x7fffffffU;
  const std::uint32_t subnormal = std::bit_cast<std::uint32_t>(std::bit_cast<float>(a) + 16384.0f) - 0x46800000U;
  const std::uint32_t normal = (a - (120U << 23) + 0x7ffffU + ((a >> 20) & 1U)) >> 20;
  return static_cast<std::uint8_t>(sign | (a < 0x3c800000U ? subnormal : normal));
}

// row[c] = e4m3(448 x triangle / 255).
inline void fill_fp8_row(std::uint8_t* row, index_t cols, std::uint32_t key) noexcept {
  constexpr float step = fp8_e4m3::max_finite / 255.0f;
  for_each_triangle(cols, key, [&](index_t c, std::int32_t t) { row[c] = e4m3_bits(static_cast<float>(t) * step); });
}

// Bytes of memory for tensors, uninitialised (the filling threads touch the pages first). Large
// buffers are mapped straight from the kernel (page aligned), so that freeing one returns its
// memory at once (malloc would keep buffers under its mmap threshold, 32 MiB at most, in its
// heap); small ones come from aligned_alloc. Huge pages are not asked for: where the kernel
// compacts memory to provide them (transparent_hugepage defrag "madvise"), first touch costs
// several times more than the TLB misses it saves (measured: +13 s system time over 8 layers).
class raw_bytes {
 public:
  raw_bytes() = default;
  explicit raw_bytes(std::size_t bytes) : size_(bytes) {
    if (bytes == 0) return;
#if defined(__linux__)
    if (bytes >= mapped_threshold) {
      mapped_ = bytes;
      void* p = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) fail("synthetic_weights: cannot map ", bytes, " bytes");
      data_ = static_cast<std::byte*>(p);
      return;
    }
#endif
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (p == nullptr) fail("synthetic_weights: cannot allocate ", bytes, " bytes");
    data_ = static_cast<std::byte*>(p);
  }
  raw_bytes(raw_bytes&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
        mapped_(std::exchange(other.mapped_, 0)) {}
  raw_bytes& operator=(raw_bytes&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      mapped_ = std::exchange(other.mapped_, 0);
    }
    return *this;
  }
  raw_bytes(const raw_bytes&) = delete;
  raw_bytes& operator=(const raw_bytes&) = delete;
  ~raw_bytes() { release(); }

  std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

 private:
  static constexpr std::size_t mapped_threshold = std::size_t(1) << 20;

  void release() noexcept {
    if (data_ == nullptr) return;
#if defined(__linux__)
    if (mapped_ > 0) {
      ::munmap(data_, mapped_);
      data_ = nullptr;
      return;
    }
#endif
    std::free(data_);
    data_ = nullptr;
  }

  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t mapped_ = 0;  // bytes mapped, when mapped
};

}  // namespace detail

// Half of MemAvailable in /proc/meminfo (bytes), or `fallback` where it cannot be read.
inline std::size_t half_available_memory(std::size_t fallback = std::size_t(8) << 30) {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::size_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024 / 2;
  return fallback;
}

// The most bytes of weights that deepseek_v3 with weight_residency::streamed holds in use at once
// when they are stored in `format`: the embedding, final norm and lm_head and every MoE layer's
// selection bias for the model's lifetime, plus the largest layer's tensors with one routed
// expert (experts are made and released one at a time). With `with_mtp`, also an mtp_module run
// after the model: its layer (kept) with one expert and its eh_proj and norms, beside the pinned
// tensors. A memory budget below this cannot work.
inline std::size_t streamed_working_set_bytes(const config& c, weight_format format, index_t block = 128,
                                              bool with_mtp = false) {
  std::size_t pinned = 0;
  // Layers 0 .. L - 1, then the MTP modules' layers L, L + 1, ...
  std::vector<std::size_t> layer(static_cast<std::size_t>(c.num_hidden_layers + c.num_nextn_predict_layers), 0);
  std::size_t expert = 0;  // one routed expert: gate, up and down
  index_t expert_layer = -1;
  for (const tensor_spec& t : model_tensors(c, with_mtp)) {
    const std::size_t bytes = t.stored_bytes(format, block);
    if (t.role == tensor_role::mtp_embedding_copy || t.role == tensor_role::mtp_head_copy) continue;
    if (t.layer < 0 || t.role == tensor_role::router_bias) {
      pinned += bytes;
    } else if (t.role == tensor_role::routed_expert) {
      if (expert_layer < 0) expert_layer = t.layer;
      if (t.layer == expert_layer && t.expert == 0) expert += bytes;
    } else {
      layer[static_cast<std::size_t>(t.layer)] += bytes;
    }
  }
  std::size_t largest = 0;
  for (std::size_t i = 0; i < layer.size(); ++i)
    largest = std::max(largest, layer[i] + (c.is_moe_layer(static_cast<index_t>(i)) ? expert : 0));
  return pinned + largest;
}

class synthetic_weights final : public weight_source {
 public:
  explicit synthetic_weights(const config& c, synthetic_options options = {})
      : options_(options), catalog_(model_tensors(c, options.include_mtp)) {
    require(options_.threads >= 1, "synthetic_weights: threads must be at least 1, got ", options_.threads);
    require(options_.block > 0, "synthetic_weights: fp8 block must be positive, got ", options_.block);
    index_.reserve(catalog_.size());
    for (std::size_t i = 0; i < catalog_.size(); ++i) index_.emplace(catalog_[i].name, i);
  }

  synthetic_weights(const synthetic_weights&) = delete;
  synthetic_weights& operator=(const synthetic_weights&) = delete;

  weight_view get(const std::string& name, index_t rows, index_t cols) override {
    const auto found = index_.find(name);
    require(found != index_.end(), "synthetic_weights: the model has no tensor '", name, "' (expected [", rows, ", ",
            cols, "])");
    const tensor_spec& t = catalog_[found->second];
    require(t.rows == rows && t.cols == cols, "synthetic_weights: tensor '", name, "' is [", t.rows, ", ", t.cols,
            "], expected [", rows, ", ", cols, "]");
    if (auto held = held_.find(name); held != held_.end()) {
      entry& e = held->second;
      if (e.pins == 0) {
        lru_.erase(e.lru);
        stats_.bytes_in_use += e.bytes;
      }
      ++e.pins;
      ++stats_.cache_hits;
      return e.view;
    }
    return make(t);
  }

  bool contains(const std::string& name) const override { return index_.find(name) != index_.end(); }

  // `name` may be evicted from now on (once every get() of it is released).
  void release(const std::string& name) override {
    const auto held = held_.find(name);
    if (held == held_.end() || held->second.pins == 0) return;
    entry& e = held->second;
    if (--e.pins > 0) return;
    stats_.bytes_in_use -= e.bytes;
    lru_.push_back(name);
    e.lru = std::prev(lru_.end());
  }

  // Frees every released tensor.
  void trim() {
    while (!lru_.empty()) evict_oldest();
  }

  const synthetic_options& options() const noexcept { return options_; }
  const synthetic_statistics& statistics() const noexcept { return stats_; }
  // Every tensor this source can make (model/plan.hpp's list for its config).
  const std::vector<tensor_spec>& tensors() const noexcept { return catalog_; }

  // Bytes tensor `t` takes when made (values and fp8 block scales).
  std::size_t bytes_of(const tensor_spec& t) const noexcept { return t.stored_bytes(options_.format, options_.block); }

 private:
  struct entry {
    detail::raw_bytes memory;  // values, then the fp8 block scales
    std::size_t bytes = 0;
    weight_view view;
    int pins = 0;
    std::list<std::string>::iterator lru;  // valid while pins == 0
  };

  weight_view make(const tensor_spec& t) {
    const std::size_t bytes = bytes_of(t);
    detail::raw_bytes memory = room_for(t.name, bytes);
    const auto start = std::chrono::steady_clock::now();
    const weight_view view = fill(t, memory);
    stats_.generate_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stats_.tensors_generated += 1;
    stats_.params_generated += t.params();
    stats_.bytes_generated += bytes;

    entry& e = held_[t.name];
    e.memory = std::move(memory);
    e.bytes = bytes;
    e.view = view;
    e.pins = 1;
    stats_.bytes_held += bytes;
    stats_.bytes_in_use += bytes;
    stats_.tensors_held += 1;
    stats_.peak_bytes_held = std::max(stats_.peak_bytes_held, stats_.bytes_held);
    return view;
  }

  // Memory for `bytes` more within the budget: evicts released tensors, oldest first, taking
  // over the buffer of one of exactly this size when there is one.
  detail::raw_bytes room_for(const std::string& name, std::size_t bytes) {
    const std::size_t budget = options_.memory_budget;
    if (budget == 0 || stats_.bytes_held + bytes <= budget) return detail::raw_bytes(bytes);
    for (auto it = lru_.begin(); it != lru_.end(); ++it) {
      auto same = held_.find(*it);
      if (same->second.memory.size() != bytes) continue;
      detail::raw_bytes reused = std::move(same->second.memory);
      drop(it);
      ++stats_.buffers_reused;
      if (stats_.bytes_held + bytes <= budget) return reused;
      while (!lru_.empty() && stats_.bytes_held + bytes > budget) evict_oldest();
      require(stats_.bytes_held + bytes <= budget, "synthetic_weights: tensor '", name, "' (", bytes,
              " bytes) does not fit the memory budget of ", budget, " bytes beside ", stats_.bytes_in_use,
              " bytes of tensors in use");
      return reused;
    }
    while (!lru_.empty() && stats_.bytes_held + bytes > budget) evict_oldest();
    require(stats_.bytes_held + bytes <= budget, "synthetic_weights: tensor '", name, "' (", bytes,
            " bytes) does not fit the memory budget of ", budget, " bytes beside ", stats_.bytes_in_use,
            " bytes of tensors in use");
    return detail::raw_bytes(bytes);
  }

  void evict_oldest() { drop(lru_.begin()); }

  // Forgets the released tensor at `it` (its memory, unless moved out, is freed).
  void drop(std::list<std::string>::iterator it) {
    const auto held = held_.find(*it);
    stats_.bytes_held -= held->second.bytes;
    stats_.tensors_held -= 1;
    stats_.evictions += 1;
    held_.erase(held);
    lru_.erase(it);
  }

  // Fills `memory` with tensor `t` and returns its view.
  weight_view fill(const tensor_spec& t, const detail::raw_bytes& memory) const {
    // The copies in the MTP module are the originals.
    const std::string& canonical = t.role == tensor_role::mtp_embedding_copy ? names::embed
                                   : t.role == tensor_role::mtp_head_copy    ? names::lm_head
                                                                             : t.name;
    const std::uint64_t key = detail::tensor_key(options_.seed, canonical);
    const index_t rows = t.rows, cols = t.cols;
    const dtype type = storage_type(t.role, options_.format);

    // Centre and half-width of the triangle: std = amplitude / sqrt(6).
    float offset = 0.0f, amplitude = 0.0f;
    switch (t.role) {
      case tensor_role::layer_norm: case tensor_role::attention_norm: case tensor_role::final_norm:
      case tensor_role::mtp_norm:
        offset = 1.0f;
        amplitude = 0.1f;
        break;
      case tensor_role::router_bias: amplitude = 0.05f; break;
      case tensor_role::embedding: case tensor_role::mtp_embedding_copy: amplitude = std::sqrt(6.0f); break;
      default: amplitude = std::sqrt(6.0f / static_cast<float>(cols)); break;
    }

    weight_view w;
    w.type = type;
    w.data = memory.data();
    w.rows = rows;
    w.cols = cols;
    w.row_stride = cols;
    w.block = options_.block;
    // Blocks of about 64 Ki elements, dealt dynamically (a busy machine slows workers unevenly).
    const index_t grain = std::max<index_t>(1, 65536 / std::max<index_t>(cols, 1));
    const index_t blocks = (rows + grain - 1) / grain;
    auto for_rows = [&](auto&& row) {
      cpu::parallel_for(options_.threads, blocks, [&](index_t b) {
        for (index_t r = b * grain, end = std::min(rows, r + grain); r < end; ++r) row(r);
      });
    };
    switch (type) {
      case dtype::bf16: {
        auto* values = reinterpret_cast<std::uint16_t*>(memory.data());
        for_rows([&](index_t r) {
          detail::fill_bf16_row(values + r * cols, cols, detail::row_key(key, r), offset, amplitude);
        });
        break;
      }
      case dtype::f32: {
        auto* values = reinterpret_cast<float*>(memory.data());
        for (index_t r = 0; r < rows; ++r)
          detail::fill_f32_row(values + r * cols, cols, detail::row_key(key, r), offset, amplitude);
        break;
      }
      case dtype::f8_e4m3: {
        auto* values = reinterpret_cast<std::uint8_t*>(memory.data());
        const index_t b = options_.block, scale_rows = (rows + b - 1) / b, scale_cols = (cols + b - 1) / b;
        auto* scales = reinterpret_cast<float*>(memory.data() + static_cast<std::size_t>(rows * cols));
        // Codes span +-448, so scale_inv = amplitude / 448 gives the bf16 spread; each block's
        // scale varies in [0.75, 1.25) x that, as real checkpoints' per-block amax does.
        const std::uint64_t scale_key = detail::splitmix64(key);
        for (index_t i = 0; i < scale_rows * scale_cols; ++i) {
          const float u = static_cast<float>(detail::hash32(static_cast<std::uint32_t>(scale_key) +
                                                            static_cast<std::uint32_t>(i) * detail::golden32) >> 8) /
                          16777216.0f;
          scales[i] = amplitude / fp8_e4m3::max_finite * (0.75f + 0.5f * u);
        }
        for_rows([&](index_t r) { detail::fill_fp8_row(values + r * cols, cols, detail::row_key(key, r)); });
        w.scale_inv = scales;
        w.scale_cols = scale_cols;
        break;
      }
      default: fail("synthetic_weights: cannot make tensor '", t.name, "' of type ", latte::name_of(type));
    }
    return w;
  }

  synthetic_options options_;
  std::vector<tensor_spec> catalog_;
  std::unordered_map<std::string, std::size_t> index_;
  std::unordered_map<std::string, entry> held_;
  std::list<std::string> lru_;  // released tensors, least recently released first
  synthetic_statistics stats_;
};

}  // namespace latte::model

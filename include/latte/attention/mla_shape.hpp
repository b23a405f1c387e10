#pragma once
// mla_shape<Heads, QLoraRank, KvLoraRank, NopeDim, RopeDim, ValueDim>: the sizes of Multi-head
// Latent Attention (SPEC.md section 3), each static or latte::dynamic_extent, named as the hub's
// config.json names them:
//
//   heads             num_attention_heads    H
//   q_lora_rank       d_c' (0: no query compression, q_proj maps hidden to H x (nope + rope))
//   kv_lora_rank      d_c, the width of the cached latent c_kv
//   qk_nope_head_dim  per-head query/key part without rotary embedding
//   qk_rope_head_dim  d_h^R, the rotary part; one k_rope is shared by every head
//   v_head_dim        per-head value width
//
//   mla_shape<128, 1536, 512, 128, 64, 128>  s;            // a fully static shape
//   mla_shape<dynamic_extent, dynamic_extent, 512, 128, 64, 128>  s(16, 0);  // dynamic heads, q_lora
//
// Construction takes the dynamic sizes alone, in the order above, or all six (checked against
// the static ones), and refuses non-positive sizes (q_lora_rank may be 0) and an odd rotary width.

#include <array>
#include <cstddef>
#include <type_traits>

#include "../core/error.hpp"
#include "../core/extents.hpp"

namespace latte::attention {

template <std::size_t Heads, std::size_t QLoraRank, std::size_t KvLoraRank, std::size_t NopeDim, std::size_t RopeDim,
          std::size_t ValueDim>
class mla_shape {
 public:
  using extents_type = extents<Heads, QLoraRank, KvLoraRank, NopeDim, RopeDim, ValueDim>;
  static constexpr std::array<const char*, 6> field_names{"heads",           "q_lora_rank",      "kv_lora_rank",
                                                          "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"};

  static constexpr std::size_t rank_dynamic() noexcept { return extents_type::rank_dynamic(); }
  static constexpr bool is_static() noexcept { return rank_dynamic() == 0; }

  static_assert(Heads == dynamic_extent || Heads > 0, "mla_shape: heads must be positive");
  static_assert(KvLoraRank == dynamic_extent || KvLoraRank > 0, "mla_shape: kv_lora_rank must be positive");
  static_assert(NopeDim == dynamic_extent || NopeDim > 0, "mla_shape: qk_nope_head_dim must be positive");
  static_assert(RopeDim == dynamic_extent || (RopeDim > 0 && RopeDim % 2 == 0),
                "mla_shape: qk_rope_head_dim must be positive and even");
  static_assert(ValueDim == dynamic_extent || ValueDim > 0, "mla_shape: v_head_dim must be positive");

  constexpr mla_shape() noexcept
    requires(rank_dynamic() == 0)
  = default;

  template <class... Sizes>
    requires(sizeof...(Sizes) == rank_dynamic() && rank_dynamic() > 0 &&
             (std::is_convertible_v<Sizes, index_t> && ...))
  constexpr explicit mla_shape(Sizes... sizes) : sizes_(static_cast<index_t>(sizes)...) {
    validate();
  }

  template <class... Sizes>
    requires(sizeof...(Sizes) == 6 && rank_dynamic() != 6 && (std::is_convertible_v<Sizes, index_t> && ...))
  constexpr explicit mla_shape(Sizes... sizes) : sizes_(static_cast<index_t>(sizes)...) {
    const std::array<index_t, 6> given{static_cast<index_t>(sizes)...};
    for (std::size_t r = 0; r < 6; ++r)
      if (extents_type::is_static(r) && given[r] != static_cast<index_t>(extents_type::static_extent(r)))
        fail("mla_shape: ", field_names[r], " is ", given[r], " but the shape fixes it to ",
             extents_type::static_extent(r));
    validate();
  }

  constexpr index_t heads() const noexcept { return sizes_.extent(0); }
  constexpr index_t q_lora_rank() const noexcept { return sizes_.extent(1); }
  constexpr index_t kv_lora_rank() const noexcept { return sizes_.extent(2); }
  constexpr index_t qk_nope_head_dim() const noexcept { return sizes_.extent(3); }
  constexpr index_t qk_rope_head_dim() const noexcept { return sizes_.extent(4); }
  constexpr index_t v_head_dim() const noexcept { return sizes_.extent(5); }

  constexpr bool has_q_lora() const noexcept { return q_lora_rank() > 0; }
  // Query/key width per head: nope + rope (192 in the 671B model).
  constexpr index_t qk_head_dim() const noexcept { return qk_nope_head_dim() + qk_rope_head_dim(); }
  // One cached token: c_kv then k_rope (576 in the 671B model).
  constexpr index_t latent_dim() const noexcept { return kv_lora_rank() + qk_rope_head_dim(); }
  constexpr const extents_type& sizes() const noexcept { return sizes_; }

  template <std::size_t... O>
  friend constexpr bool operator==(const mla_shape& a, const mla_shape<O...>& b) noexcept {
    return a.sizes() == b.sizes();
  }

 private:
  constexpr void validate() const {
    for (std::size_t r = 0; r < 6; ++r)
      if (r != 1 && sizes_.extent(r) <= 0)
        fail("mla_shape: ", field_names[r], " must be positive, got ", sizes_.extent(r));
    if (q_lora_rank() < 0) fail("mla_shape: q_lora_rank must be positive, or 0 for none, got ", q_lora_rank());
    if (qk_rope_head_dim() % 2 != 0) fail("mla_shape: qk_rope_head_dim must be even, got ", qk_rope_head_dim());
  }

  [[no_unique_address]] extents_type sizes_{};
};

template <class T> struct is_mla_shape : std::false_type {};
template <std::size_t... E> struct is_mla_shape<mla_shape<E...>> : std::true_type {};
template <class T> inline constexpr bool is_mla_shape_v = is_mla_shape<T>::value;

}  // namespace latte::attention

#pragma once
// gqa_shape<Heads, KvHeads, HeadDim, ValueDim>: the sizes of grouped-query attention, each fixed at
// compile time or given at run time (latte::dynamic_extent), after std::extents. Query head h
// reads KV head h / (heads / kv_heads); MHA is kv_heads == heads, MQA kv_heads == 1.
//
//   gqa_shape<32, 8, 128>                             s;            // fully static
//   gqa_shape<dynamic_extent, dynamic_extent, 128>    s(32, 8);     // the dynamic sizes, in order
//   gqa_shape<32, dynamic_extent, 128>                s(32, 8, 128, 128);  // every size, checked
//
// Construction refuses sizes that are not positive, heads that do not split into kv_heads groups,
// and (with every size given) values that contradict a static size, naming the field.

#include <array>
#include <cstddef>
#include <type_traits>

#include "../core/error.hpp"
#include "../core/extents.hpp"

namespace latte::attention {

template <std::size_t Heads, std::size_t KvHeads, std::size_t HeadDim, std::size_t ValueDim = HeadDim>
class gqa_shape {
 public:
  using extents_type = extents<Heads, KvHeads, HeadDim, ValueDim>;
  static constexpr std::array<const char*, 4> field_names{"heads", "kv_heads", "head_dim", "value_dim"};

  static constexpr std::size_t rank_dynamic() noexcept { return extents_type::rank_dynamic(); }
  static constexpr bool is_static() noexcept { return rank_dynamic() == 0; }

  static_assert(Heads == dynamic_extent || Heads > 0, "gqa_shape: heads must be positive");
  static_assert(KvHeads == dynamic_extent || KvHeads > 0, "gqa_shape: kv_heads must be positive");
  static_assert(HeadDim == dynamic_extent || HeadDim > 0, "gqa_shape: head_dim must be positive");
  static_assert(ValueDim == dynamic_extent || ValueDim > 0, "gqa_shape: value_dim must be positive");
  static_assert(Heads == dynamic_extent || KvHeads == dynamic_extent || Heads % KvHeads == 0,
                "gqa_shape: heads must be a multiple of kv_heads");

  constexpr gqa_shape() noexcept
    requires(rank_dynamic() == 0)
  = default;

  // The dynamic sizes alone, in the order heads, kv_heads, head_dim, value_dim.
  template <class... Sizes>
    requires(sizeof...(Sizes) == rank_dynamic() && rank_dynamic() > 0 &&
             (std::is_convertible_v<Sizes, index_t> && ...))
  constexpr explicit gqa_shape(Sizes... sizes) : sizes_(static_cast<index_t>(sizes)...) {
    validate();
  }

  // Every size; the static ones must agree.
  template <class... Sizes>
    requires(sizeof...(Sizes) == 4 && rank_dynamic() != 4 && (std::is_convertible_v<Sizes, index_t> && ...))
  constexpr explicit gqa_shape(Sizes... sizes) : sizes_(static_cast<index_t>(sizes)...) {
    const std::array<index_t, 4> given{static_cast<index_t>(sizes)...};
    for (std::size_t r = 0; r < 4; ++r)
      if (extents_type::is_static(r) && given[r] != static_cast<index_t>(extents_type::static_extent(r)))
        fail("gqa_shape: ", field_names[r], " is ", given[r], " but the shape fixes it to ",
             extents_type::static_extent(r));
    validate();
  }

  constexpr index_t heads() const noexcept { return sizes_.extent(0); }
  constexpr index_t kv_heads() const noexcept { return sizes_.extent(1); }
  constexpr index_t head_dim() const noexcept { return sizes_.extent(2); }
  constexpr index_t value_dim() const noexcept { return sizes_.extent(3); }
  // Query heads per KV head.
  constexpr index_t group_size() const noexcept { return heads() / kv_heads(); }
  constexpr const extents_type& sizes() const noexcept { return sizes_; }

  template <std::size_t H, std::size_t K, std::size_t D, std::size_t V>
  friend constexpr bool operator==(const gqa_shape& a, const gqa_shape<H, K, D, V>& b) noexcept {
    return a.sizes() == b.sizes();
  }

 private:
  constexpr void validate() const {
    for (std::size_t r = 0; r < 4; ++r)
      if (sizes_.extent(r) <= 0) fail("gqa_shape: ", field_names[r], " must be positive, got ", sizes_.extent(r));
    if (heads() % kv_heads() != 0)
      fail("gqa_shape: ", heads(), " heads do not split into ", kv_heads(), " kv_heads groups");
  }

  [[no_unique_address]] extents_type sizes_{};
};

// MHA and MQA are the two ends of GQA.
template <std::size_t Heads, std::size_t HeadDim, std::size_t ValueDim = HeadDim>
using mha_shape = gqa_shape<Heads, Heads, HeadDim, ValueDim>;
template <std::size_t Heads, std::size_t HeadDim, std::size_t ValueDim = HeadDim>
using mqa_shape = gqa_shape<Heads, 1, HeadDim, ValueDim>;

template <class T> struct is_gqa_shape : std::false_type {};
template <std::size_t H, std::size_t K, std::size_t D, std::size_t V>
struct is_gqa_shape<gqa_shape<H, K, D, V>> : std::true_type {};
template <class T> inline constexpr bool is_gqa_shape_v = is_gqa_shape<T>::value;

}  // namespace latte::attention

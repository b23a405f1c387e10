#pragma once
// extents<E...>: a shape whose sizes are each fixed at compile time or given at run time
// (dynamic_extent), after std::extents (C++23 <mdspan>). Only the dynamic sizes take storage, so
// a fully static shape is an empty object and one code path serves both kinds.
//
//   extents<dynamic_extent, 128>  e(tokens);   // [tokens, 128]
//   e.extent(0) == tokens, e.extent(1) == 128, decltype(e)::static_extent(1) == 128

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "config.hpp"

namespace latte {

using index_t = std::int64_t;

inline constexpr std::size_t dynamic_extent = std::numeric_limits<std::size_t>::max();

template <std::size_t... Extents>
class extents {
 public:
  using index_type = index_t;

  static constexpr std::size_t rank() noexcept { return sizeof...(Extents); }
  static constexpr std::size_t rank_dynamic() noexcept {
    return ((Extents == dynamic_extent ? 1 : 0) + ... + 0);
  }
  static constexpr std::size_t static_extent(std::size_t r) noexcept { return static_sizes[r]; }
  static constexpr bool is_static(std::size_t r) noexcept { return static_sizes[r] != dynamic_extent; }

  constexpr extents() noexcept = default;

  // Either the dynamic sizes alone, in order, or every size (static ones must then agree;
  // callers that take user input validate before constructing).
  template <class... Sizes>
    requires((std::is_convertible_v<Sizes, index_type> && ...) &&
             (sizeof...(Sizes) == rank_dynamic() || (sizeof...(Sizes) == rank() && rank() != rank_dynamic())))
  constexpr explicit extents(Sizes... sizes) noexcept {
    const std::array<index_type, sizeof...(Sizes)> given{static_cast<index_type>(sizes)...};
    if constexpr (rank_dynamic() == 0) {
      static_cast<void>(given);
    } else if constexpr (sizeof...(Sizes) == rank_dynamic()) {
      for (std::size_t i = 0; i < rank_dynamic(); ++i) dynamic_[i] = given[i];
    } else {
      std::size_t d = 0;
      for (std::size_t r = 0; r < rank(); ++r)
        if (!is_static(r)) dynamic_[d++] = given[r];
    }
  }

  constexpr index_type extent(std::size_t r) const noexcept {
    if (is_static(r)) return static_cast<index_type>(static_sizes[r]);
    return dynamic_[dynamic_index[r]];
  }

  constexpr index_type size() const noexcept {
    index_type n = 1;
    for (std::size_t r = 0; r < rank(); ++r) n *= extent(r);
    return n;
  }

  template <std::size_t... Other>
  friend constexpr bool operator==(const extents& a, const extents<Other...>& b) noexcept {
    if constexpr (sizeof...(Other) != rank()) {
      return false;
    } else {
      for (std::size_t r = 0; r < rank(); ++r)
        if (a.extent(r) != b.extent(r)) return false;
      return true;
    }
  }

 private:
  static constexpr std::array<std::size_t, sizeof...(Extents)> static_sizes{Extents...};
  static constexpr std::array<std::size_t, sizeof...(Extents)> dynamic_index = [] {
    std::array<std::size_t, sizeof...(Extents)> index{};
    std::size_t d = 0;
    for (std::size_t r = 0; r < sizeof...(Extents); ++r) index[r] = static_sizes[r] == dynamic_extent ? d++ : 0;
    return index;
  }();
  // std::array<T, 0> is not an empty class (sizeof 1, and is_empty false in libstdc++), so a fully
  // static shape stores this instead and stays empty.
  struct no_sizes {
    constexpr index_type operator[](std::size_t) const noexcept { return 0; }
  };
  [[no_unique_address]] std::conditional_t<rank_dynamic() == 0, no_sizes, std::array<index_type, rank_dynamic()>>
      dynamic_{};
};

namespace detail {
template <std::size_t, class T> using always = T;
template <class Seq> struct make_dextents;
template <std::size_t... I> struct make_dextents<std::index_sequence<I...>> {
  using type = extents<(static_cast<void>(I), dynamic_extent)...>;
};
}  // namespace detail

// dextents<R>: every size dynamic.
template <std::size_t Rank>
using dextents = typename detail::make_dextents<std::make_index_sequence<Rank>>::type;

}  // namespace latte

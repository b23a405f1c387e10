// Caches and shapes: sizes, views, appends, refusing to overflow (naming the sizes), resize and
// clear; shape construction from static and runtime sizes and its errors.

#include <catch2/catch.hpp>

#include <vector>

#include <latte/attention/gqa_shape.hpp>
#include <latte/attention/kv_cache.hpp>
#include <latte/attention/latent_cache.hpp>
#include <latte/attention/mla_shape.hpp>
#include <latte/backend/cpu/backend.hpp>
#include <latte/core/error.hpp>

using namespace latte;
using namespace latte::attention;

TEST_CASE("kv_cache appends, exposes its rows and refuses to overflow", "[attention][cache]") {
  kv_cache<cpu::backend> cache(cpu::backend{}, 5, 2, 3, 4);
  CHECK(cache.capacity() == 5);
  CHECK(cache.size() == 0);
  CHECK(cache.empty());
  CHECK(cache.values_per_token() == 2 * (3 + 4));
  CHECK(cache.bytes() == 5 * 14 * sizeof(float));

  std::vector<float> k(3 * 2 * 3), v(3 * 2 * 4);
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<float>(i);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = -static_cast<float>(i);
  cache.append(dtensor_view<const float, 3>(k.data(), dextents<3>(3, 2, 3)),
               dtensor_view<const float, 3>(v.data(), dextents<3>(3, 2, 4)));
  REQUIRE(cache.size() == 3);
  CHECK(cache.keys().extent(0) == 3);
  CHECK(cache.keys()(2, 1, 2) == k.back());
  CHECK(cache.values()(1, 0, 3) == v[static_cast<std::size_t>((1 * 2 + 0) * 4 + 3)]);
  CHECK(cache.remaining() == 2);

  // A strided source (one head of a wider tensor) copies head by head.
  std::vector<float> wide(2 * 4 * 3, 9.0f);
  const dtensor_view<const float, 3> two_heads(wide.data(), dextents<3>(2, 2, 3), {12, 3, 1});
  CHECK_THROWS_WITH(cache.append(two_heads, dtensor_view<const float, 3>(v.data(), dextents<3>(3, 2, 4))),
                    Catch::Contains("values are [3, 2, 4], expected [2, 2, 4]"));
  CHECK_THROWS_WITH(cache.append(dtensor_view<const float, 3>(k.data(), dextents<3>(3, 2, 3)),
                                 dtensor_view<const float, 3>(v.data(), dextents<3>(3, 2, 4))),
                    Catch::Contains("appending 3 tokens to 3 would exceed the capacity of 5"));
  CHECK(cache.size() == 3);  // unchanged
  cache.append(two_heads, dtensor_view<const float, 3>(v.data(), dextents<3>(2, 2, 4)));
  CHECK(cache.size() == 5);
  CHECK(cache.keys()(4, 1, 0) == 9.0f);
  CHECK_THROWS_WITH(cache.extend(1), Catch::Contains("exceed the capacity of 5"));

  cache.resize(2);
  CHECK(cache.size() == 2);
  CHECK_THROWS_WITH(cache.resize(6), Catch::Contains("size 6 outside [0, 5]"));
  CHECK_THROWS_WITH(cache.key_rows(4, 2), Catch::Contains("rows [4, 6) outside the capacity of 5"));
  cache.clear();
  CHECK(cache.empty());
  CHECK_THROWS_WITH(kv_cache<cpu::backend>(cpu::backend{}, 4, 0, 3, 4), Catch::Contains("must be positive"));
}

TEST_CASE("latent_cache holds [c_kv | k_rope] rows and views them as one KV head", "[attention][cache]") {
  latent_cache<cpu::backend> cache(cpu::backend{}, 4, 6, 2);
  CHECK(cache.row_dim() == 8);
  CHECK(cache.values_per_token() == 8);
  CHECK(cache.bytes() == 4 * 8 * sizeof(float));
  std::vector<float> c_kv(3 * 6), k_rope(3 * 2);
  for (std::size_t i = 0; i < c_kv.size(); ++i) c_kv[i] = static_cast<float>(i + 1);
  for (std::size_t i = 0; i < k_rope.size(); ++i) k_rope[i] = -static_cast<float>(i + 1);
  cache.append(make_matrix_view<const float>(c_kv.data(), 3, 6), make_matrix_view<const float>(k_rope.data(), 3, 2));
  REQUIRE(cache.size() == 3);
  CHECK(cache.rows()(1, 0) == 7.0f);
  CHECK(cache.rows()(1, 6) == -3.0f);
  CHECK(cache.latent()(2, 5) == 18.0f);
  CHECK(cache.rope_keys()(2, 1) == -6.0f);
  const auto keys = cache.keys();
  const auto values = cache.values();
  CHECK(keys.extent(0) == 3);
  CHECK(keys.extent(1) == 1);
  CHECK(keys.extent(2) == 8);
  CHECK(values.extent(2) == 6);
  CHECK(values.stride(0) == 8);
  CHECK(values.data() == keys.data());
  CHECK(values(2, 0, 5) == 18.0f);

  CHECK_THROWS_WITH(cache.append(make_matrix_view<const float>(c_kv.data(), 2, 6),
                                 make_matrix_view<const float>(k_rope.data(), 2, 2)),
                    Catch::Contains("appending 2 tokens to 3 would exceed the capacity of 4"));
  CHECK(cache.size() == 3);
  CHECK_THROWS_WITH(cache.append(make_matrix_view<const float>(c_kv.data(), 1, 5),
                                 make_matrix_view<const float>(k_rope.data(), 1, 2)),
                    Catch::Contains("c_kv has 5 columns, expected kv_lora_rank 6"));
  cache.clear();
  CHECK(cache.size() == 0);
}

TEST_CASE("gqa_shape: static, dynamic and mixed sizes; errors name the field", "[attention][shape]") {
  constexpr gqa_shape<32, 8, 128> fixed;
  static_assert(fixed.heads() == 32 && fixed.kv_heads() == 8 && fixed.head_dim() == 128 && fixed.value_dim() == 128);
  static_assert(fixed.group_size() == 4);
  static_assert(gqa_shape<32, 8, 128>::is_static());
  static_assert(sizeof(gqa_shape<32, 8, 128>) == 1);  // an empty object

  const gqa_shape<dynamic_extent, dynamic_extent, 128> two(32, 8);
  CHECK(two.heads() == 32);
  CHECK(two.value_dim() == 128);
  CHECK(two == fixed);
  const gqa_shape<32, dynamic_extent, 128> all(32, 8, 128, 128);
  CHECK(all.kv_heads() == 8);
  CHECK_THROWS_WITH((gqa_shape<32, dynamic_extent, 128>(16, 8, 128, 128)),
                    Catch::Contains("heads is 16 but the shape fixes it to 32"));
  CHECK_THROWS_WITH((gqa_shape<dynamic_extent, dynamic_extent, 64>(8, 3)),
                    Catch::Contains("8 heads do not split into 3 kv_heads groups"));
  CHECK_THROWS_WITH((gqa_shape<dynamic_extent, dynamic_extent, 64>(8, 0)), Catch::Contains("kv_heads must be positive"));
  static_assert(mha_shape<8, 64>{}.kv_heads() == 8);
  static_assert(mqa_shape<8, 64>{}.kv_heads() == 1);
}

TEST_CASE("mla_shape: static, dynamic and mixed sizes; errors name the field", "[attention][shape]") {
  constexpr mla_shape<128, 1536, 512, 128, 64, 128> v3;
  static_assert(v3.latent_dim() == 576 && v3.qk_head_dim() == 192 && v3.has_q_lora());
  static_assert(sizeof(v3) == 1);
  const mla_shape<dynamic_extent, dynamic_extent, 512, 128, 64, 128> lite(16, 0);
  CHECK_FALSE(lite.has_q_lora());
  CHECK(lite.heads() == 16);
  const mla_shape<dynamic_extent, 1536, 512, 128, 64, 128> checked(128, 1536, 512, 128, 64, 128);
  CHECK(checked == v3);
  CHECK_THROWS_WITH((mla_shape<dynamic_extent, 1536, 512, 128, 64, 128>(128, 1536, 512, 128, 32, 128)),
                    Catch::Contains("qk_rope_head_dim is 32 but the shape fixes it to 64"));
  using dyn = mla_shape<dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent>;
  CHECK_THROWS_WITH(dyn(8, 0, 64, 32, 15, 32), Catch::Contains("qk_rope_head_dim must be even, got 15"));
  CHECK_THROWS_WITH(dyn(8, -1, 64, 32, 16, 32), Catch::Contains("q_lora_rank must be positive, or 0"));
  CHECK_THROWS_WITH(dyn(8, 0, 0, 32, 16, 32), Catch::Contains("kv_lora_rank must be positive, got 0"));
}

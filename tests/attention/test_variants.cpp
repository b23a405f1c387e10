// One suite, every variant: MHA, GQA, MQA, MLA naive and MLA absorbed, each with static and
// dynamic shapes and with f32, bf16 and fp8 (block-scaled) weights, through the one interface
// they share (make_cache, forward over a batch of chunks, workspace_floats, cost).

#include <catch2/catch.hpp>

#include <cstdio>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <latte/attention/attention.hpp>
#include <latte/backend/cpu/backend.hpp>
#include <latte/core/bf16.hpp>
#include <latte/core/error.hpp>
#include <latte/core/fp8_e4m3.hpp>

#include "scenario.hpp"

using namespace latte;
using namespace latte::attention;
using namespace attention_test;

namespace {

struct static_shapes {};
struct dynamic_shapes {};
constexpr index_t hidden = 48;
constexpr index_t fp8_block = 16;  // small blocks, so per-head slices straddle block edges

// GQA family: heads 4 of width 16 (values 12), KV heads as given; rotary over 8 of the 16.
template <class Storage>
constexpr const char* storage_name() {
  if constexpr (std::is_same_v<Storage, float>) return "f32";
  else if constexpr (std::is_same_v<Storage, bf16>) return "bf16";
  else return "fp8";
}

template <class Kind, class Storage, std::size_t KvHeads>
struct gqa_family {
  static constexpr bool is_static = std::is_same_v<Kind, static_shapes>;
  using storage_type = Storage;
  static std::string name() {
    return std::string(KvHeads == 4 ? "mha" : KvHeads == 1 ? "mqa" : "gqa") + (is_static ? " static " : " dynamic ") +
           storage_name<Storage>();
  }
  using shape_type = std::conditional_t<is_static, gqa_shape<4, KvHeads, 16, 12>,
                                        gqa_shape<dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent>>;
  using module_type = gqa<cpu::backend, shape_type>;
  using weights_type = gqa_layer_weights<Storage>;
  static constexpr index_t rotary = 8;
  static shape_type shape() {
    if constexpr (is_static) return shape_type{};
    else return shape_type(4, static_cast<index_t>(KvHeads), 16, 12);
  }
  static module_type make(const shape_type& s, const weights_type& w) {
    return module_type(cpu::backend{}, s, w.w, gqa_options{0.0f, rope_layout::halves});
  }
  static auto reference(const shape_type& s, const weights_type& w) {
    return [&s, &w](matrix_view<const float> x, dtensor_view<const float, 3> cs, matrix_view<double> out) {
      reference::gqa_forward(s, w.w, gqa_options{0.0f, rope_layout::halves}, x, cs, out);
    };
  }
};

// MLA family: heads 4, q_lora 24, kv_lora 32, nope 16, rope 8, v 12.
template <class Kind, class Storage, class Form>
struct mla_family {
  static constexpr bool is_static = std::is_same_v<Kind, static_shapes>;
  using storage_type = Storage;
  static std::string name() {
    return std::string(std::is_same_v<Form, naive> ? "mla naive" : "mla absorbed") +
           (is_static ? " static " : " dynamic ") + storage_name<Storage>();
  }
  using shape_type =
      std::conditional_t<is_static, mla_shape<4, 24, 32, 16, 8, 12>,
                         mla_shape<dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent, dynamic_extent>>;
  using module_type = mla<cpu::backend, shape_type, Form>;
  using weights_type = mla_layer_weights<Storage>;
  static constexpr index_t rotary = 8;
  static shape_type shape() {
    if constexpr (is_static) return shape_type{};
    else return shape_type(4, 24, 32, 16, 8, 12);
  }
  static module_type make(const shape_type& s, const weights_type& w) {
    return module_type(cpu::backend{}, s, w.w, mla_options{});
  }
  static auto reference(const shape_type& s, const weights_type& w) {
    return [&s, &w](matrix_view<const float> x, dtensor_view<const float, 3> cs, matrix_view<double> out) {
      reference::mla_forward(s, w.w, mla_options{}, x, cs, out);
    };
  }
};

template <class Kind, class Storage> struct mha_variant : gqa_family<Kind, Storage, 4> {};
template <class Kind, class Storage> struct gqa_variant : gqa_family<Kind, Storage, 2> {};
template <class Kind, class Storage> struct mqa_variant : gqa_family<Kind, Storage, 1> {};
template <class Kind, class Storage> struct mla_naive_variant : mla_family<Kind, Storage, naive> {};
template <class Kind, class Storage> struct mla_absorbed_variant : mla_family<Kind, Storage, absorbed> {};

template <class Storage>
constexpr index_t block_of() {
  return std::is_same_v<Storage, fp8_e4m3> ? fp8_block : 128;
}

}  // namespace

TEMPLATE_PRODUCT_TEST_CASE("every attention variant: batch of chunks against the float64 reference",
                           "[attention][variants]",
                           (mha_variant, gqa_variant, mqa_variant, mla_naive_variant, mla_absorbed_variant),
                           ((static_shapes, float), (static_shapes, bf16), (static_shapes, fp8_e4m3),
                            (dynamic_shapes, float), (dynamic_shapes, bf16), (dynamic_shapes, fp8_e4m3))) {
  using V = TestType;
  using module_type = typename V::module_type;
  using cache_type = typename module_type::cache_type;
  random_source rng(1234);
  const auto shape = V::shape();
  const typename V::weights_type weights(rng, shape, hidden, block_of<typename V::storage_type>());
  const module_type module = V::make(shape, weights);
  REQUIRE(module.hidden_size() == hidden);

  SECTION("three sequences: batched prefill, chunked prefill, decode steps") {
    std::vector<cache_type> caches;
    random_source inputs(99);
    const scenario_result got = run_scenario(module, V::rotary, default_plan(), inputs, caches);
    const auto want = reference_outputs(got, hidden, V::rotary, V::reference(shape, weights));
    const double error = worst_error(got.outputs, want);
    std::printf("%-26s vs float64 reference: %.2e\n", V::name().c_str(), error);
    CHECK(error <= 1e-5);
  }

  SECTION("caller-provided workspace gives the same result as the module's own") {
    std::vector<cache_type> own, given;
    random_source a(7), b(7);
    const scenario_result x = run_scenario(module, V::rotary, default_plan(), a, own);
    const scenario_result y = run_scenario(module, V::rotary, default_plan(), b, given, forward_choice{true, true});
    for (std::size_t s = 0; s < x.outputs.size(); ++s) CHECK(x.outputs[s] == y.outputs[s]);
  }

  SECTION("the cost model describes the cache the variant allocates") {
    const attention_cost cost = module.cost();
    const cache_type cache = module.make_cache(10);
    CHECK(cost.cache_values_per_token == cache.values_per_token());
    CHECK(static_cast<index_t>(cache.bytes()) == 10 * cost.cache_bytes_per_token(dtype::f32));
    CHECK(module_type::cost(shape, hidden).projection_macs_per_token == cost.projection_macs_per_token);
    CHECK(cost.decode_flops(101) - cost.decode_flops(100) == 2.0 * static_cast<double>(cost.attention_macs_per_key));
    CHECK(cost.prefill_flops(1) == cost.decode_flops(1));
  }

  SECTION("a batch that would overflow a cache is refused and leaves every cache as it was") {
    cache_type roomy = module.make_cache(8), tight = module.make_cache(4);
    const std::vector<float> x(static_cast<std::size_t>(8 * hidden), 0.5f);
    const std::vector<index_t> positions{0, 1, 2, 0, 1, 2, 3, 4};
    const std::vector<float> table = rope_table(positions, V::rotary);
    std::vector<float> out(x.size());
    const std::vector<sequence_chunk> chunks{{0, 3}, {3, 5}};
    const std::vector<cache_type*> caches{&roomy, &tight};
    const auto call = [&] {
      module.forward(make_matrix_view(x.data(), 8, hidden), dtensor_view<const float, 3>(table.data(), dextents<3>(8, V::rotary / 2, 2)),
                     chunks, std::span<cache_type* const>(caches), make_matrix_view(out.data(), 8, hidden));
    };
    CHECK_THROWS_WITH(call(), Catch::Contains("appends 5 tokens") && Catch::Contains("of 4"));
    CHECK(roomy.size() == 0);
    CHECK(tight.size() == 0);
  }

  SECTION("chunks must cover every row once, one cache each") {
    cache_type a = module.make_cache(8), b = module.make_cache(8);
    const std::vector<float> x(static_cast<std::size_t>(4 * hidden), 0.25f);
    const std::vector<float> table = rope_table(std::vector<index_t>{0, 1, 2, 3}, V::rotary);
    std::vector<float> out(x.size());
    const auto call = [&](std::vector<sequence_chunk> chunks, std::vector<cache_type*> caches) {
      module.forward(make_matrix_view(x.data(), 4, hidden), dtensor_view<const float, 3>(table.data(), dextents<3>(4, V::rotary / 2, 2)),
                     chunks, std::span<cache_type* const>(caches), make_matrix_view(out.data(), 4, hidden));
    };
    CHECK_THROWS_WITH(call({{0, 3}}, {&a}), Catch::Contains("row 3 belongs to no chunk"));
    CHECK_THROWS_WITH(call({{0, 3}, {2, 2}}, {&a, &b}), Catch::Contains("row 2 belongs to more than one chunk"));
    CHECK_THROWS_WITH(call({{0, 2}, {2, 2}}, {&a, &a}), Catch::Contains("share one cache"));
    CHECK_THROWS_WITH(call({{0, 4}}, {&a, &b}), Catch::Contains("1 chunks but 2 caches"));
    CHECK(a.size() == 0);
    CHECK_NOTHROW(call({{0, 1}, {1, 3}}, {&a, &b}));
    CHECK(a.size() == 1);
    CHECK(b.size() == 3);
  }
}

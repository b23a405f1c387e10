// libFuzzer target: the input is a config.json. parse_config must refuse it with latte::error or
// return a config that passes validate() and keeps the invariants the model relies on.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <latte/io/hub_config.hpp>

namespace {
void check(bool condition) {
  if (!condition) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const latte::model::config c = latte::io::parse_config(text, "fuzz/config.json");
    c.validate();
    check(c.rope.rotary_dim == c.qk_rope_head_dim);
    check(c.vocab_size > 0 && c.hidden_size > 0 && c.num_attention_heads > 0);
    check(c.q_lora_rank >= 0);
    if (c.n_routed_experts > 0) check(c.n_routed_experts % c.n_group == 0 && c.topk_group <= c.n_group);
    latte::index_t moe_layers = 0;
    for (latte::index_t l = 0; l < c.num_hidden_layers; ++l) moe_layers += c.is_moe_layer(l);
    check(moe_layers <= c.num_hidden_layers);
  } catch (const latte::error&) {
  }
  return 0;
}

#pragma once
// The two forms of Multi-head Latent Attention (SPEC.md section 3) as policy tags:
//
//   naive     expands every head's key and value from c_kv and caches them (kv_cache with
//             heads x (nope + rope) keys and heads x v values per token)
//   absorbed  caches only [c_kv | k_rope] (latent_cache), folds W_UK into the query and W_UV into
//             the output, and attends in latent space as one KV head
//
// Both give the same output to rounding. mla<Backend, Shape, Form> is specialised once per form
// (mla_naive.hpp, mla_absorbed.hpp).

#include "../backend/concept.hpp"

namespace latte::attention {

struct naive {};
struct absorbed {};

template <backend_policy Backend, class Shape, class Form = absorbed>
class mla;

}  // namespace latte::attention

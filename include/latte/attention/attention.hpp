#pragma once
// latte::attention: GQA (with MHA and MQA), MLA in naive and absorbed form, their caches and cost
// model.

#include "cost.hpp"
#include "gqa.hpp"
#include "gqa_shape.hpp"
#include "kv_cache.hpp"
#include "latent_cache.hpp"
#include "mla.hpp"
#include "mla_shape.hpp"
#include "sequence_chunk.hpp"

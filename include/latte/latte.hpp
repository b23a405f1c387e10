#pragma once
// Everything latte offers on the CPU, in one include. The CUDA backend has its own header,
// <latte/backend/cuda/backend.hpp>, and its library target latte::cuda.

#include "core/bf16.hpp"
#include "core/buffer.hpp"
#include "core/config.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/extents.hpp"
#include "core/fp16.hpp"
#include "core/fp8_e4m3.hpp"
#include "core/tensor_view.hpp"
#include "core/weight_view.hpp"

#include "backend/concept.hpp"
#include "backend/cpu/backend.hpp"
#include "backend/options.hpp"

#include "rope/config.hpp"
#include "rope/frequencies.hpp"
#include "rope/layout.hpp"
#include "rope/table.hpp"

#include "attention/attention.hpp"

#include "moe/bias_update.hpp"
#include "moe/moe_layer.hpp"
#include "moe/router.hpp"
#include "moe/swiglu.hpp"

#include "model/config.hpp"
#include "model/deepseek_v3.hpp"
#include "model/observer.hpp"
#include "model/presets.hpp"
#include "model/weight_source.hpp"
#include "model/weight_store.hpp"

#include "io/io.hpp"

#include "runtime/generate.hpp"
#include "runtime/sampling.hpp"

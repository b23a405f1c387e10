#pragma once
// Everything of latte/io: safetensors (mmap, sharded index, writer), hub config.json, the fp8
// block format and weight sources.

#include "buffer_weights.hpp"
#include "checkpoint.hpp"
#include "checkpoint_weights.hpp"
#include "fp8_block.hpp"
#include "hub_config.hpp"
#include "mapped_file.hpp"
#include "reference_file.hpp"
#include "safetensors.hpp"
#include "safetensors_dtype.hpp"
#include "safetensors_header.hpp"
#include "safetensors_index.hpp"
#include "safetensors_writer.hpp"

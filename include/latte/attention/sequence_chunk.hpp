#pragma once
// sequence_chunk: which rows of a batched activation [T, hidden] belong to one sequence. A batch
// step concatenates the new tokens of several sequences (each with its own cache); projections
// run over all T rows at once and attention runs per chunk against that chunk's cache.

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

#include "../core/error.hpp"
#include "../core/extents.hpp"

namespace latte::attention {

struct sequence_chunk {
  index_t first_row = 0;  // first row of the chunk in x [T, hidden]
  index_t tokens = 0;     // rows [first_row, first_row + tokens); their positions continue the cache
};

namespace detail {
// Every row of [0, rows) belongs to exactly one chunk, each chunk has its own cache, and every
// cache has room for its chunk's tokens. Checked before anything is written, so a refused batch
// leaves every cache as it was.
template <class Cache>
void check_batch(const char* who, std::span<const sequence_chunk> chunks, std::span<Cache* const> caches,
                 index_t rows) {
  require(chunks.size() == caches.size(), who, ": ", chunks.size(), " chunks but ", caches.size(), " caches");
  std::vector<char> covered(static_cast<std::size_t>(rows), 0);
  for (std::size_t c = 0; c < chunks.size(); ++c) {
    const sequence_chunk& ch = chunks[c];
    require(ch.first_row >= 0 && ch.tokens >= 0 && ch.first_row + ch.tokens <= rows, who, ": chunk ", c,
            " covers rows [", ch.first_row, ", ", ch.first_row + ch.tokens, "), outside the ", rows, " input rows");
    for (index_t r = ch.first_row; r < ch.first_row + ch.tokens; ++r) {
      require(covered[static_cast<std::size_t>(r)] == 0, who, ": row ", r, " belongs to more than one chunk");
      covered[static_cast<std::size_t>(r)] = 1;
    }
    require(caches[c] != nullptr, who, ": chunk ", c, " has no cache");
    for (std::size_t d = 0; d < c; ++d)
      require(caches[d] != caches[c], who, ": chunks ", d, " and ", c, " share one cache");
    require(caches[c]->size() + ch.tokens <= caches[c]->capacity(), who, ": chunk ", c, " appends ", ch.tokens,
            " tokens to a cache holding ", caches[c]->size(), " of ", caches[c]->capacity());
  }
  const auto missing = std::find(covered.begin(), covered.end(), 0);
  require(missing == covered.end(), who, ": row ", missing - covered.begin(), " belongs to no chunk");
}
}  // namespace detail

}  // namespace latte::attention

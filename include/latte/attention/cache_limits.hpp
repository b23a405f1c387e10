#pragma once
// How big a cache may be. Its bytes are computed overflow-checked and, when the backend's buffers
// are host memory, compared with the machine's physical memory before anything is allocated: an
// absurd capacity (a config's max_position_embeddings, a runtime's request) is refused with a
// message naming both sizes, instead of failing in the allocator, or being killed by the kernel
// while the value-initialised buffer is touched. Device backends report their own allocation
// failures (device memory is not the host's).
//
//   cache_bytes("latent_cache", capacity, kv_lora + rope, host_memory_buffers<Backend>)

#include <unistd.h>

#include <cstdint>
#include <limits>
#include <sstream>
#include <string>

#include "../core/error.hpp"
#include "../core/extents.hpp"

namespace latte::attention {

// Bytes of physical memory (POSIX sysconf), or 0 when the system does not say.
inline std::uint64_t physical_memory_bytes() noexcept {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 0;
  const auto p = static_cast<std::uint64_t>(pages), s = static_cast<std::uint64_t>(page);
  return p > std::numeric_limits<std::uint64_t>::max() / s ? std::numeric_limits<std::uint64_t>::max() : p * s;
}

// Whether a backend's buffers are plain host memory (backend::host_memory).
template <class Backend>
inline constexpr bool host_memory_buffers = requires { requires Backend::host_memory; };

// The bytes of `caches` float32 caches of `capacity` tokens x `floats_per_token` floats. Throws
// latte::error naming `who` and the sizes when one is negative, when the product passes 2^62
// bytes, or, for host memory, when it exceeds the machine's physical memory.
inline std::uint64_t cache_bytes(const char* who, index_t capacity, index_t floats_per_token, bool host_memory,
                                 index_t caches = 1) {
  auto sizes = [&] {
    std::ostringstream s;
    s << (caches != 1 ? std::to_string(caches) + " caches of " : std::string("a capacity of ")) << capacity
      << " tokens x " << floats_per_token << " floats per token";
    return s.str();
  };
  require(capacity >= 0 && floats_per_token >= 0 && caches >= 0, who, ": negative size in ", sizes());
  // At most 2^62 bytes, so that every partial product fits in index_t as well.
  constexpr std::uint64_t limit = std::uint64_t(1) << 62;
  std::uint64_t bytes = sizeof(float);
  for (const index_t n : {capacity, floats_per_token, caches}) {
    const auto u = static_cast<std::uint64_t>(n);
    if (u != 0 && bytes > limit / u) fail(who, ": ", sizes(), " is more than 2^62 bytes");
    bytes *= u;
  }
  if (host_memory) {
    const std::uint64_t physical = physical_memory_bytes();
    require(physical == 0 || bytes <= physical, who, ": ", sizes(), " needs ", bytes,
            " bytes, more than the machine's physical memory of ", physical, " bytes");
  }
  return bytes;
}

}  // namespace latte::attention

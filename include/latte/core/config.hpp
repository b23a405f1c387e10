#pragma once
// Host/device qualifiers and small portable helpers shared by every layer.

#include <cstring>

#if defined(__CUDACC__)
#define LATTE_HOST_DEVICE __host__ __device__
#define LATTE_DEVICE __device__
#else
#define LATTE_HOST_DEVICE
#define LATTE_DEVICE
#endif

#define LATTE_VERSION_MAJOR 0
#define LATTE_VERSION_MINOR 1
#define LATTE_VERSION_PATCH 0

namespace latte {

// Reinterprets the bytes of `from` as `To`; usable in host and device code alike
// (std::bit_cast is not available in every nvcc device context).
template <class To, class From>
LATTE_HOST_DEVICE inline To bit_cast(const From& from) noexcept {
  static_assert(sizeof(To) == sizeof(From), "bit_cast needs equal sizes");
  To to;
  memcpy(&to, &from, sizeof(To));
  return to;
}

}  // namespace latte

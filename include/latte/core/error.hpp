#pragma once
// latte::error: the one exception type the library throws. Messages name the file, tensor or
// field concerned and what was expected, so that a CLI can print them as one line.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace latte {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Builds the message from its parts only when it is thrown.
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw error(message.str());
}

// Throws latte::error made of `parts` when `condition` is false.
template <class... Parts>
void require(bool condition, const Parts&... parts) {
  if (!condition) fail(parts...);
}

}  // namespace latte

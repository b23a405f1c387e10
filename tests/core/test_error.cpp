// latte::error, fail and require: the one exception type and how its message is made.

#include <catch2/catch.hpp>

#include <ostream>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <latte/core/error.hpp>

namespace {
// Counts how often it is formatted.
struct counted {
  int* formatted;
};
std::ostream& operator<<(std::ostream& out, const counted& c) {
  ++*c.formatted;
  return out << "counted";
}
}  // namespace

TEST_CASE("latte::error is a std::runtime_error", "[core][error]") {
  STATIC_REQUIRE(std::is_base_of_v<std::runtime_error, latte::error>);
  const latte::error e("config.json: hidden_size must be positive");
  CHECK(std::string(e.what()) == "config.json: hidden_size must be positive");
  try {
    throw latte::error("x");
  } catch (const std::exception& caught) {
    CHECK(std::string(caught.what()) == "x");
  }
}

TEST_CASE("fail concatenates its parts into one message", "[core][error]") {
  try {
    latte::fail("tensor ", "model.layers.3.mlp.gate.weight", ": shape [", 256, ", ", 7168, "] expected, got ", 1.5,
                ' ', 'x');
    FAIL("fail returned");
  } catch (const latte::error& e) {
    CHECK(std::string(e.what()) == "tensor model.layers.3.mlp.gate.weight: shape [256, 7168] expected, got 1.5 x");
  }
  CHECK_THROWS_AS(latte::fail("one part"), latte::error);
  CHECK_THROWS_WITH(latte::fail(std::string("from a std::string")), "from a std::string");
}

TEST_CASE("require throws only when its condition is false, formatting only then", "[core][error]") {
  int formatted = 0;
  CHECK_NOTHROW(latte::require(true, "never ", counted{&formatted}));
  CHECK(formatted == 0);
  CHECK_THROWS_WITH(latte::require(false, "field ", counted{&formatted}, " is ", -3), "field counted is -3");
  CHECK(formatted == 1);
  CHECK_THROWS_AS(latte::require(1 + 1 == 3, "arithmetic"), latte::error);
}

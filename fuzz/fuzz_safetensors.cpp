// libFuzzer target: the input is a whole .safetensors image. The reader must either refuse it
// with latte::error or return records that lie inside the image; an accepted image must survive
// a write -> read round trip unchanged.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <latte/io/reference_file.hpp>
#include <latte/io/safetensors.hpp>
#include <latte/io/safetensors_writer.hpp>

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An exact-size heap copy: ASan then sees any read past the image.
  std::vector<std::byte> image(size);
  if (size > 0) std::memcpy(image.data(), data, size);
  try {
    const latte::io::safetensors_file f = latte::io::safetensors_file::view(image, "fuzz.safetensors");
    const std::byte* begin = image.data();
    const std::byte* end = image.data() + image.size();
    std::size_t total = 0;
    for (const latte::io::tensor_record& t : f.tensors()) {
      check(t.data >= begin && t.data + t.bytes <= end);
      check(t.bytes == static_cast<std::size_t>(t.elements()) * latte::size_of(t.type));
      check(f.find(t.name) == &t);
      if (t.bytes > 0) {
        volatile std::byte first = t.data[0];
        volatile std::byte last = t.data[t.bytes - 1];
        (void)first;
        (void)last;
      }
      if (t.bytes <= 1024) (void)latte::io::to_doubles(t);
      total += t.bytes;
    }
    check(total + 8 <= image.size());

    // Round trip through the writer.
    std::vector<latte::io::tensor_to_write> tensors;
    for (const latte::io::tensor_record& t : f.tensors()) tensors.push_back(latte::io::tensor_to_write::from(t));
    const std::map<std::string, std::string> metadata(f.metadata().begin(), f.metadata().end());
    const std::vector<std::byte> again = latte::io::serialize_safetensors(tensors, metadata);
    const latte::io::safetensors_file g = latte::io::safetensors_file::view(again, "round-trip");
    check(g.size() == f.size());
    for (const latte::io::tensor_record& t : f.tensors()) {
      const latte::io::tensor_record& u = g.at(t.name);
      check(u.type == t.type && u.shape == t.shape && u.bytes == t.bytes);
      check(t.bytes == 0 || std::memcmp(u.data, t.data, t.bytes) == 0);
    }
  } catch (const latte::error&) {
  }
  return 0;
}

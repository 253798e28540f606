// libFuzzer target: arbitrary bytes as a dlib_regression model file, through
// envelope_model::from_bytes (model_file.cpp's header parser, then the dlib
// payload). Byte 0 picks what the rest is: the whole file, or only the
// payload, put behind a valid header (right size and checksum) so the fuzzer
// need not forge an FNV-1a to reach dlib's deserialization. model_error is
// the expected answer; a model that loads must predict finite bands.
// `tests/fuzz/run dlib_model` builds and runs it.
#include "envelope_model.hpp"

#include <cmath>
#include <cstdint>
#include <string>

using namespace stream_smarts;
using namespace stream_smarts::dlib_regression;

namespace {

void check(std::string_view bytes) {
  try {
    const envelope_model m = envelope_model::from_bytes(bytes);
    local_fields l;
    for (int h = 0; h < 24; h += 5) {
      l.hour = static_cast<std::int8_t>(h);
      const envelope e = m.predict(l);
      if (!std::isfinite(e.lo) || !std::isfinite(e.hi) || !(e.hi > e.lo)) __builtin_trap();
    }
  } catch (const model_error& e) {
    if (std::string_view(e.what()).empty()) __builtin_trap();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    check(rest);
    return 0;
  }
  model_header header;
  header.features = feature_names;
  check(encode_model_file(header, rest));
  return 0;
}

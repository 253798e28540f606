// libFuzzer target: arbitrary bytes as a percentile_band model file, through
// band_model.cpp's from_toml. model_error is the expected answer to a bad
// file; a model that loads must have finite bands with hi > lo for every
// weekday and hour. `tests/fuzz/run band_model` builds and runs it.
#include "band_model.hpp"

#include <cmath>
#include <cstdint>

using namespace stream_smarts::percentile_band;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const band_model m = from_toml(text, "model.toml");
    for (const auto& day : m.bands)
      for (const auto& b : day)
        if (!std::isfinite(b.lo) || !std::isfinite(b.hi) || !(b.hi > b.lo)) __builtin_trap();
  } catch (const model_error& e) {
    if (std::string_view(e.what()).empty()) __builtin_trap();
  }
  return 0;
}

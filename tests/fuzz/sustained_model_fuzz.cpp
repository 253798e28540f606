// libFuzzer target: arbitrary bytes as a sustained_load model file, through
// sustained_model.cpp's from_toml. model_error is the expected answer to a
// bad file; a model that loads must have settings in range, finite usual
// levels and, per window, thresholds above 0. `tests/fuzz/run sustained_model`.
#include "sustained_model.hpp"

#include <cmath>
#include <cstdint>

using namespace stream_smarts::sustained_load;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const sustained_model m = from_toml(text, "model.toml");
    check(m.trained);  // throws settings_error: a finding, since from_toml let it through
    if (m.threshold.size() != m.trained.hours.size()) __builtin_trap();
    for (int h = 0; h < hours_per_day; ++h) {
      if (!std::isfinite(m.usual[h])) __builtin_trap();
      for (const auto& by_hour : m.threshold)
        if (!std::isfinite(by_hour[h]) || !(by_hour[h] > 0)) __builtin_trap();
    }
  } catch (const model_error& e) {
    if (std::string_view(e.what()).empty()) __builtin_trap();
  }
  return 0;
}

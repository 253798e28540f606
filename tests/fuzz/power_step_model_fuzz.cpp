// libFuzzer target: arbitrary bytes as a power_step model file, through
// step_model.cpp's from_toml. model_error is the expected answer to a bad
// file; a model that loads must have settings in range and finite
// thresholds above 0, and must score a short run of minute readings (a
// step included) to finite scores. `tests/fuzz/run power_step_model`.
#include "step_model.hpp"

#include <cmath>
#include <cstdint>

using namespace stream_smarts::power_step;
using stream_smarts::minute_ms;

namespace {

/// Twenty minutes at 300 W, then twenty at 3300 W: every score must be a number.
void score_a_step(const step_model& m) {
  meter_state meter(m.trained);
  for (std::int64_t minute = 0; minute < 40; ++minute) {
    const double power_w = minute < 20 ? 300 : 3300;
    const auto scored = meter.next(minute * minute_ms, power_w, m.threshold[minute % hours_per_day]);
    if (!std::isfinite(scored.score)) __builtin_trap();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const step_model m = from_toml(text, "model.toml");
    check(m.trained);  // throws settings_error: a finding, since from_toml let it through
    for (double t : m.threshold)
      if (!std::isfinite(t) || !(t > 0)) __builtin_trap();
    score_a_step(m);
  } catch (const model_error& e) {
    if (std::string_view(e.what()).empty()) __builtin_trap();
  }
  return 0;
}

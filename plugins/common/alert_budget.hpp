// Thresholds learnt to a false-alarm budget: per local hour, the value that
// the training history itself exceeded `alerts_per_week` times a week. Every
// hour gets the same share of the budget, and each hour's threshold is learnt
// from it and the two hours beside it, which triples the sample. Shared by
// the scorers that learn "how much is unusual at this hour" from history.
#pragma once

#include <common/statistics.hpp>
#include <stream_smarts/reading.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace stream_smarts::alert_budget {

inline constexpr int hours_per_day = 24;
inline constexpr double week_ms = 7.0 * day_ms;

/// The typical time between readings (an hour if there are fewer than two),
/// so alerts_per_week becomes a share of readings.
inline double median_spacing_ms(const std::vector<reading>& sorted_history) {
  std::vector<double> steps;
  for (std::size_t i = 1; i < sorted_history.size(); ++i)
    if (sorted_history[i].ts_ms > sorted_history[i - 1].ts_ms)
      steps.push_back(static_cast<double>(sorted_history[i].ts_ms - sorted_history[i - 1].ts_ms));
  std::sort(steps.begin(), steps.end());
  return steps.empty() ? static_cast<double>(hour_ms) : statistics::percentile(steps, 50);
}

/// The share of readings that may alert: alerts_per_week, with readings
/// `spacing_ms` apart.
inline double share_alerting(double alerts_per_week, double spacing_ms) { return alerts_per_week * spacing_ms / week_ms; }

/// How many hours each hour's threshold is learnt from: itself and the two beside it.
inline constexpr int pooled_hours = 3;

/// The hours whose values hour `h`'s threshold is learnt from: `h` and the
/// hours beside it (midnight beside 23:00). A busy tail seen at 16:00 is as
/// likely at 15:00 or 17:00, and three hours of history estimate it better
/// than one. The relation is symmetric: a value of hour `h` counts in the
/// pools of these same hours.
inline std::array<int, pooled_hours> pooled_with(int h) {
  return {(h + hours_per_day - 1) % hours_per_day, h, (h + 1) % hours_per_day};
}

/// The values of hour `h` and of the hours pooled with it.
inline std::vector<double> pooled(const std::array<std::vector<double>, hours_per_day>& values, int h) {
  std::vector<double> pool;
  for (int p : pooled_with(h)) {
    const auto& v = values[static_cast<std::size_t>(p)];
    pool.insert(pool.end(), v.begin(), v.end());
  }
  return pool;
}

/// Per hour, the percentile of `values` (by local hour) that leaves
/// `alerts_per_week` readings a week above it, at least `minimum`. NaN for an
/// hour with no values around it: the caller says why in its own words.
inline std::array<double, hours_per_day> thresholds(const std::array<std::vector<double>, hours_per_day>& values,
                                                    double alerts_per_week, double spacing_ms, double minimum) {
  const double share = share_alerting(alerts_per_week, spacing_ms);
  const double p = 100 * std::clamp(1 - share, 0.5, 1.0);
  std::array<double, hours_per_day> out{};
  for (int h = 0; h < hours_per_day; ++h) {
    auto pool = pooled(values, h);
    std::sort(pool.begin(), pool.end());
    out[static_cast<std::size_t>(h)] =
        pool.empty() ? std::numeric_limits<double>::quiet_NaN() : std::max(minimum, statistics::percentile(pool, p));
  }
  return out;
}

} // namespace stream_smarts::alert_budget

// Order statistics shared by the scorers' training code.
#pragma once

#include <common/json.hpp>
#include <stream_smarts/options.hpp>
#include <stream_smarts/reading.hpp>

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <vector>

namespace stream_smarts::statistics {

/// The p-th percentile (0..100) of non-empty sorted values, interpolating
/// linearly between closest ranks (numpy's default, Hyndman-Fan type 7), so
/// figures can be checked against a numpy one-liner.
inline double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) throw std::invalid_argument("percentile of no values");
  const double rank = (static_cast<double>(sorted.size()) - 1) * p / 100;
  const auto below = static_cast<std::size_t>(std::floor(rank));
  if (below + 1 >= sorted.size()) return sorted.back();
  const double fraction = rank - static_cast<double>(below);
  return sorted[below] + fraction * (sorted[below + 1] - sorted[below]);
}

/// How many local days hold at least one reading of a history sorted by
/// time: what a trainer needs, where the span from its first to its last
/// reading is stretched by one stray row (a Pi's 1970 before NTP set it).
inline std::size_t days_with_readings(const std::vector<reading>& sorted) {
  std::size_t days = 0;
  const local_fields* last = nullptr;
  for (const auto& r : sorted) {
    if (!last || r.local.day_of_year != last->day_of_year || r.local.year != last->year) ++days;
    last = &r.local;
  }
  return days;
}

/// What a percentile may be: the trainers' lo_percentile and hi_percentile
/// options declare it, and check_percentiles checks it again.
inline constexpr double least_percentile = 0, most_percentile = 100;

/// The lo_percentile and hi_percentile options of a trainer: each within
/// their range (as the options declare, for a caller that did not read them
/// as options), hi above lo; an option_error naming the one at fault.
inline void check_percentiles(double lo, double hi) {
  using json::format_number;
  const auto check = [](const char* option, double p) {
    if (!(p >= least_percentile && p <= most_percentile))
      throw option_error(option, "must be within " + format_number(least_percentile) + ".." +
                                     format_number(most_percentile) + "; got " + format_number(p));
  };
  check("lo_percentile", lo);
  check("hi_percentile", hi);
  if (!(hi > lo))
    throw option_error("hi_percentile", "hi_percentile (" + format_number(hi) + ") must be above lo_percentile (" +
                                            format_number(lo) + ")");
}

} // namespace stream_smarts::statistics

// Hourly readings of a regular house for the trained scorers' tests, in a
// fixed UTC+1 zone from Monday 2010-01-04 00:00.
#pragma once

#include "fixed_zone.hpp"

#include <stream_smarts/reading.hpp>

#include <cstdint>
#include <vector>

namespace stream_smarts::testing {

inline const fixed_zone history_zone(3600);
inline const std::int64_t history_start_ms = history_zone.to_utc_ms({2010, 1, 4, 0, 0, 0, 0});  // a Monday, 00:00
inline constexpr std::int64_t history_hour_ms = 3600000;

/// An hour's energy from `ts_ms`, as the replay source reads a history (and
/// gpio_meter its trailing hours).
inline reading reading_at(std::int64_t ts_ms, double wh) {
  reading r;
  r.ts_ms = ts_ms;
  r.span_ms = history_hour_ms;
  r.wh = wh;
  r.local = history_zone.local(ts_ms);
  return r;
}

/// `days` of hourly readings: 300 Wh at night, 900 by day, 1500 in the
/// evening, each hour off by a fixed pseudo-random -20..+20 %.
inline std::vector<reading> ordinary_days(int days) {
  std::vector<reading> out;
  unsigned jitter = 12345;
  for (int i = 0; i < days * 24; ++i) {
    const int hour = i % 24;
    const double level = hour < 7 ? 300 : hour < 18 ? 900 : 1500;
    jitter = jitter * 1103515245u + 12345u;
    out.push_back(reading_at(history_start_ms + i * history_hour_ms, level * (0.8 + 0.4 * ((jitter >> 16) % 1000) / 1000.0)));
  }
  return out;
}

} // namespace stream_smarts::testing

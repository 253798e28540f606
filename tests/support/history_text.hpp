// Timestamps for the synthetic histories the command-line tests write.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace test_support {

/// "2008-01-07T00:00:00" (local time without offset, as a history's ts
/// column): `minute` minutes into the day `day` days after Monday 2008-01-07,
/// the first day of the tests' histories.
inline std::string history_time(int day, int minute) {
  using namespace std::chrono;
  const year_month_day date{sys_days{year{2008} / January / 7} + days{day}};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:00", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), minute / 60, minute % 60);
  return text;
}

} // namespace test_support

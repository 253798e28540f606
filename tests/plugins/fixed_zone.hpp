// A time zone with one fixed UTC offset: enough for plugin tests, with no
// dependency on the system's tzdata or on the runtime.
#pragma once

#include <stream_smarts/time.hpp>

#include <string>

namespace stream_smarts::testing {

class fixed_zone final : public time_zone {
public:
  explicit fixed_zone(int offset_s = 3600, std::string name = "Test/Fixed") : offset_s_(offset_s), name_(std::move(name)) {}

  const std::string& name() const override { return name_; }

  local_fields local(std::int64_t utc_ms) const override {
    const std::int64_t local_ms = utc_ms + offset_s_ * 1000LL;
    const std::int64_t days = floor_div(local_ms, 86400000);
    const std::int64_t ms_of_day = local_ms - days * 86400000;
    local_fields f;
    civil_from_days(days, f);
    f.hour = static_cast<std::int8_t>(ms_of_day / 3600000);
    f.minute = static_cast<std::int8_t>(ms_of_day / 60000 % 60);
    f.second = static_cast<std::int8_t>(ms_of_day / 1000 % 60);
    f.weekday = static_cast<std::int8_t>(floor_mod(days + 3, 7));  // 1970-01-01 was a Thursday
    f.day_of_year = static_cast<std::int16_t>(days - days_from_civil(f.year, 1, 1));
    f.utc_offset_s = offset_s_;
    return f;
  }

  std::int64_t to_utc_ms(const civil_time& local) const override { return utc_ms_of(local) - offset_s_ * 1000LL; }

private:
  static std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - (a % b < 0 ? 1 : 0); }
  static std::int64_t floor_mod(std::int64_t a, std::int64_t b) { return a - floor_div(a, b) * b; }

  // H. Hinnant's civil_from_days.
  static void civil_from_days(std::int64_t z, local_fields& f) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    f.year = static_cast<std::int16_t>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
    f.month = static_cast<std::int8_t>(m);
    f.day = static_cast<std::int8_t>(d);
  }

  int offset_s_;
  std::string name_;
};

} // namespace stream_smarts::testing

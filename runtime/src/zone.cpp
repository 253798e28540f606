#include "zone.hpp"

#include <date/tz.h>

#include <stdexcept>

namespace stream_smarts::runtime {
namespace {

using std::chrono::milliseconds;
using sys_ms = date::sys_time<milliseconds>;

/// Readings arrive in time order, so the offset period of the previous one
/// almost always holds for the next: remember it and skip the tz search.
class tzdb_zone final : public time_zone {
public:
  tzdb_zone(std::string name, const date::time_zone* zone) : name_(std::move(name)), zone_(zone) {}

  const std::string& name() const override { return name_; }

  local_fields local(std::int64_t utc_ms) const override {
    const sys_ms t{milliseconds{utc_ms}};
    if (t < cached_begin_ || t >= cached_end_) {
      const date::sys_info info = zone_->get_info(t);
      cached_begin_ = info.begin;
      cached_end_ = info.end;
      cached_offset_ms_ = std::chrono::duration_cast<milliseconds>(info.offset).count();
    }
    return fields(utc_ms + cached_offset_ms_, static_cast<std::int32_t>(cached_offset_ms_ / 1000));
  }

  std::int64_t to_utc_ms(const civil_time& c) const override {
    const auto wall = date::local_days{date::year{c.year} / c.month / c.day} + std::chrono::hours{c.hour} +
                      std::chrono::minutes{c.minute} + std::chrono::seconds{c.second} + milliseconds{c.millisecond};
    const date::local_info info = zone_->get_info(date::floor<std::chrono::seconds>(wall));
    // unique and ambiguous: the first (earlier) period; nonexistent: the
    // period before the gap, i.e. read with the offset in force before it.
    const auto offset = info.first.offset;
    return (wall.time_since_epoch() - std::chrono::duration_cast<milliseconds>(offset)).count();
  }

private:
  static local_fields fields(std::int64_t local_ms, std::int32_t offset_s) {
    const auto tp = date::local_time<milliseconds>{milliseconds{local_ms}};
    const auto day = date::floor<date::days>(tp);
    const date::year_month_day ymd{day};
    const date::hh_mm_ss<milliseconds> hms{tp - day};
    const date::weekday wd{day};
    local_fields f;
    f.year = static_cast<std::int16_t>(static_cast<int>(ymd.year()));
    f.month = static_cast<std::int8_t>(static_cast<unsigned>(ymd.month()));
    f.day = static_cast<std::int8_t>(static_cast<unsigned>(ymd.day()));
    f.hour = static_cast<std::int8_t>(hms.hours().count());
    f.minute = static_cast<std::int8_t>(hms.minutes().count());
    f.second = static_cast<std::int8_t>(hms.seconds().count());
    f.weekday = static_cast<std::int8_t>(wd.iso_encoding() - 1);
    f.day_of_year = static_cast<std::int16_t>((day - date::local_days{ymd.year() / 1 / 1}).count());
    f.utc_offset_s = offset_s;
    return f;
  }

  std::string name_;
  const date::time_zone* zone_;
  // A cache, not state: each stage owns its own zone object, so no locking.
  mutable sys_ms cached_begin_{milliseconds{1}};
  mutable sys_ms cached_end_{milliseconds{0}};
  mutable std::int64_t cached_offset_ms_ = 0;
};

} // namespace

std::unique_ptr<time_zone> load_time_zone(const std::string& name) {
  try {
    return std::make_unique<tzdb_zone>(name, date::locate_zone(name));
  } catch (const std::exception&) {
    throw std::runtime_error("unknown time zone '" + name +
                             "' (use an IANA name such as \"Europe/Paris\" or \"UTC\"; see /usr/share/zoneinfo)");
  }
}

} // namespace stream_smarts::runtime

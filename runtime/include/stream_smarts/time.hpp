// Time for plugins: the pipeline's time zone and ISO-8601 timestamps.
// Everything inside a pipeline is UTC milliseconds; local time exists only at
// the edges (parsing a file written in local time, printing for a person).
#pragma once

#include "reading.hpp"

#include <charconv>
#include <cstdio>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stream_smarts {

/// A wall-clock date and time with no zone attached.
struct civil_time {
  int year = 1970, month = 1, day = 1;
  int hour = 0, minute = 0, second = 0, millisecond = 0;
};

/// The pipeline's time zone (an IANA name such as "Europe/Paris"). Each
/// stage has its own, which caches the last offset looked up: call it from
/// the stage's own calls only, not from a thread the plugin starts.
class time_zone {
public:
  virtual ~time_zone() = default;
  virtual const std::string& name() const = 0;
  /// Calendar fields of a UTC instant in this zone.
  virtual local_fields local(std::int64_t utc_ms) const = 0;
  /// The UTC instant of a wall-clock time in this zone. A time that occurs
  /// twice (autumn change) maps to the earlier instant; one that does not exist
  /// (spring change) is read with the offset in force before the change.
  virtual std::int64_t to_utc_ms(const civil_time& local) const = 0;
};

/// The local time at which a reading ends (end_ms): when its source read it,
/// and the earliest a notification of it can go out. A reading that says no
/// span ends at its ts: its own `local`, with no zone lookup.
inline local_fields end_local(const reading& r, const time_zone& zone) {
  return r.span_ms == 0 ? r.local : zone.local(end_ms(r));
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
constexpr std::int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// UTC milliseconds of a civil time taken as UTC.
constexpr std::int64_t utc_ms_of(const civil_time& t) {
  return ((days_from_civil(t.year, t.month, t.day) * 24 + t.hour) * 60 + t.minute) * 60000LL +
         t.second * 1000LL + t.millisecond;
}

/// A parsed ISO-8601 timestamp: the wall-clock part and, if it had one, its
/// offset from UTC in seconds ("Z" is 0).
struct iso_timestamp {
  civil_time civil;
  std::optional<int> utc_offset_s;
};

namespace detail {
inline bool take_int(std::string_view& s, std::size_t digits, int& out) {
  if (s.size() < digits) return false;
  for (std::size_t i = 0; i < digits; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  std::from_chars(s.data(), s.data() + digits, out);
  s.remove_prefix(digits);
  return true;
}
inline bool take_char(std::string_view& s, char c) {
  if (s.empty() || s[0] != c) return false;
  s.remove_prefix(1);
  return true;
}
constexpr bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
constexpr int days_in_month(int y, int m) {
  constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}
/// Whether `c` is a real time of day once "24:00" (ISO 8601's end of a day,
/// as some exports stamp a day's last interval) is read as the next day's
/// 00:00; it is then moved there. The date must be checked before.
inline bool end_of_day_read(civil_time& c) {
  if (c.hour != 24) return c.hour >= 0 && c.hour <= 23 && c.minute <= 59 && c.second <= 60;
  // The end of 9999-12-31 is past the last instant a reading may have.
  if (c.minute != 0 || c.second != 0 || c.millisecond != 0 || (c.year == 9999 && c.month == 12 && c.day == 31))
    return false;
  c.hour = 0;
  if (++c.day > days_in_month(c.year, c.month)) {
    c.day = 1;
    if (++c.month > 12) {
      c.month = 1;
      ++c.year;
    }
  }
  return true;
}
} // namespace detail

/// Parses "YYYY-MM-DDTHH:MM[:SS[.fff]][Z|+HH:MM|-HH:MM]" (a space may stand
/// for the T, a comma for the point, as ISO 8601 allows and `date
/// --iso-8601=ns` writes; digits past the millisecond are dropped; 24:00 is
/// the next day's 00:00). Returns nothing for anything else, including
/// impossible dates.
inline std::optional<iso_timestamp> parse_iso8601(std::string_view s) {
  using detail::take_char;
  using detail::take_int;
  iso_timestamp r;
  civil_time& c = r.civil;
  if (!take_int(s, 4, c.year) || !take_char(s, '-') || !take_int(s, 2, c.month) || !take_char(s, '-') ||
      !take_int(s, 2, c.day))
    return std::nullopt;
  if (!take_char(s, 'T') && !take_char(s, ' ')) return std::nullopt;
  if (!take_int(s, 2, c.hour) || !take_char(s, ':') || !take_int(s, 2, c.minute)) return std::nullopt;
  if (take_char(s, ':')) {
    if (!take_int(s, 2, c.second)) return std::nullopt;
    if (take_char(s, '.') || take_char(s, ',')) {
      std::size_t n = 0;
      int scale = 100;
      while (n < s.size() && s[n] >= '0' && s[n] <= '9') {
        c.millisecond += (s[n] - '0') * scale;
        scale /= 10;
        ++n;
      }
      if (n == 0) return std::nullopt;
      s.remove_prefix(n);
    }
  }
  if (take_char(s, 'Z')) {
    r.utc_offset_s = 0;
  } else if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    const int sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
    int oh = 0, om = 0;
    if (!take_int(s, 2, oh)) return std::nullopt;
    take_char(s, ':');
    if (!s.empty() && !take_int(s, 2, om)) return std::nullopt;
    if (oh > 23 || om > 59) return std::nullopt;
    r.utc_offset_s = sign * (oh * 3600 + om * 60);
  }
  if (!s.empty()) return std::nullopt;
  if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > detail::days_in_month(c.year, c.month) ||
      !detail::end_of_day_read(c))
    return std::nullopt;
  return r;
}

/// The UTC instant of a parsed timestamp: its own offset if it has one,
/// otherwise the pipeline's time zone.
inline std::int64_t to_utc_ms(const iso_timestamp& t, const time_zone& zone) {
  if (t.utc_offset_s) return utc_ms_of(t.civil) - *t.utc_offset_s * 1000LL;
  return zone.to_utc_ms(t.civil);
}

/// "2007-01-01T04:00:00+01:00": local wall-clock time with its offset.
inline std::string format_local_iso8601(const local_fields& l) {
  char buf[64];
  const int off = l.utc_offset_s < 0 ? -l.utc_offset_s : l.utc_offset_s;
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", l.year, l.month, l.day, l.hour,
                l.minute, l.second, l.utc_offset_s < 0 ? '-' : '+', off / 3600, off % 3600 / 60);
  return buf;
}

/// Local wall-clock minutes [start, end) of every day: a sink's quiet hours,
/// the hours a scorer watches. start > end wraps midnight ("22:00-07:00");
/// start == end is no time at all.
struct day_hours {
  int start_minute = 0, end_minute = 0;

  /// No minute at all: it ends where it starts ("07:00-07:00").
  bool empty() const { return start_minute == end_minute; }

  bool contains(const local_fields& l) const {
    const int minute = l.hour * 60 + l.minute;
    if (empty()) return false;
    return start_minute < end_minute ? minute >= start_minute && minute < end_minute
                                     : minute >= start_minute || minute < end_minute;
  }

  /// "22:00-07:00"
  std::string text() const { return clock(start_minute) + "-" + clock(end_minute); }


  /// "HH:MM-HH:MM" (24:00 for the end of the day: "00:00-24:00" is all of
  /// it, and a start of 24:00 is 00:00); nothing if malformed. One that ends
  /// where it starts, "24:00-24:00" too, is no time at all.
  static std::optional<day_hours> parse(std::string_view text) {
    const auto dash = text.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    const auto start = minute_of(text.substr(0, dash)), end = minute_of(text.substr(dash + 1));
    if (!start || !end) return std::nullopt;
    constexpr int day = 24 * 60;
    return day_hours{*start % day, *start == *end ? *start % day : *end};
  }

  /// Why `text` is not hours of the day to use, for an option's error:
  /// malformed, or no time at all ("07:00-07:00"); "" if it is.
  static std::string problem(std::string_view text) {
    const auto hours = parse(text);
    if (!hours) return "must be local times \"HH:MM-HH:MM\", e.g. \"22:00-07:00\", not \"" + std::string(text) + "\"";
    if (hours->empty())
      return "\"" + std::string(text) + "\" is no time at all (it ends where it starts); the whole day is \"00:00-24:00\"";
    return {};
  }

private:
  static std::string clock(int minute_of_day) {  // 24:00 stays 24:00
    char text[24];  // room for any int, so the compiler sees no truncation
    std::snprintf(text, sizeof text, "%02d:%02d", minute_of_day / 60, minute_of_day % 60);
    return text;
  }
  static std::optional<int> minute_of(std::string_view t) {
    if (t.size() != 5 || t[2] != ':') return std::nullopt;
    for (std::size_t i : {0, 1, 3, 4})
      if (t[i] < '0' || t[i] > '9') return std::nullopt;
    const int h = (t[0] - '0') * 10 + (t[1] - '0'), m = (t[3] - '0') * 10 + (t[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0)) return std::nullopt;
    return h * 60 + m;
  }
};

} // namespace stream_smarts

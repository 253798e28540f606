#include "injection.hpp"

#include "output.hpp"
#include "schema.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <stdexcept>

namespace stream_smarts::runtime {
namespace {

const char* kind_form =
    "NAME:WATTS:FIRST_HOUR-LAST_HOUR:MIN_H-MAX_H[:ON_MIN/OFF_MIN], e.g. heater_night:2000:22-1:2-7";

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t from = 0;
  for (;;) {
    const auto at = text.find(separator, from);
    parts.push_back(text.substr(from, at == std::string::npos ? std::string::npos : at - from));
    if (at == std::string::npos) return parts;
    from = at + 1;
  }
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}


std::optional<int> hour_of_day(const std::string& text) {
  if (text.empty() || text.size() > 2 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  const int h = std::stoi(text);
  return h <= 23 ? std::optional<int>(h) : std::nullopt;
}

bool valid_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::string names_of(const std::vector<event_kind>& kinds) {
  std::string s;
  for (const auto& k : kinds) s += (s.empty() ? "" : ", ") + k.name;
  return s;
}

/// A number in [0, n), uniformly, from the generator's 64-bit outputs: a
/// mapping of our own, since std::uniform_int_distribution's output differs
/// between standard libraries.
std::uint64_t below(std::mt19937_64& random, std::uint64_t n) {
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  const std::uint64_t limit = max - max % n;  // a multiple of n
  for (;;)
    if (const std::uint64_t x = random(); x < limit) return x % n;
}

bool in_window(const event_kind& k, int minute_of_day) {
  const int first = k.first_hour * 60, last = k.last_hour * 60;
  return first <= last ? minute_of_day >= first && minute_of_day <= last
                       : minute_of_day >= first || minute_of_day <= last;
}

/// The civil time of `wall_ms`, milliseconds since 1970-01-01T00:00 on a
/// wall clock (H. Hinnant's civil_from_days).
civil_time civil_of_wall(std::int64_t wall_ms) {
  const std::int64_t days = wall_ms >= 0 ? wall_ms / day_ms : -((-wall_ms + day_ms - 1) / day_ms);
  const std::int64_t in_day = wall_ms - days * day_ms;
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  civil_time c;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (c.month <= 2));
  c.hour = static_cast<int>(in_day / hour_ms);
  c.minute = static_cast<int>(in_day % hour_ms / minute_ms);
  c.second = static_cast<int>(in_day % minute_ms / 1000);
  c.millisecond = static_cast<int>(in_day % 1000);
  return c;
}

std::int64_t whole_minutes(double hours) { return std::llround(hours * 60); }

/// A whole number of minutes, at least 1, written in full ("3"), or nothing.
std::optional<int> minutes_of(const std::string& text) {
  if (text.empty() || text.size() > 4 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  const int m = std::stoi(text);
  return m >= 1 ? std::optional<int>(m) : std::nullopt;
}

/// How long `k`, switched on at 0, is on in [0, t): its whole cycles' on
/// minutes and the part of the last one.
std::int64_t on_since_switch_on(const event_kind& k, std::int64_t t) {
  if (k.off_minutes == 0) return t;
  const std::int64_t on = k.on_minutes * minute_ms, cycle = on + k.off_minutes * minute_ms;
  return t / cycle * on + std::min(t % cycle, on);
}

/// Whether `k`, switched on at e.start_ms, is drawing power at `t`.
bool on_at(const event_kind& k, const planned_event& e, std::int64_t t) {
  if (t < e.start_ms || t >= e.end_ms) return false;
  return on_since_switch_on(k, t + 1 - e.start_ms) > on_since_switch_on(k, t - e.start_ms);
}

/// Adds `watts` to the reading's power label, if it has one that is a number.
void add_power(reading& r, double watts) {
  for (auto& l : r.labels)
    if (l.key == power_label) {
      if (const auto w = number_in_full(l.value)) l.value = shortest(*w + watts);
      return;
    }
}

void set_label(reading& r, const std::string& value) {
  for (auto& l : r.labels)
    if (l.key == "label") {
      l.value = value;
      return;
    }
  r.labels.push_back({"label", value});
}

} // namespace

std::vector<event_kind> builtin_kinds() {
  return {
      {"heater_night", 2000, 22, 1, 2, 7},
      {"oven_afternoon", 1500, 13, 16, 2, 4},
      {"heater_day", 1000, 8, 12, 6, 10},
  };
}

event_kind parse_kind(const std::string& spec) {
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument("--kind '" + spec + "': " + why + " (expected " + kind_form + ")");
  };
  const auto parts = split(spec, ':');
  if (parts.size() != 4 && parts.size() != 5)
    fail("it has " + std::to_string(parts.size()) + " part" + (parts.size() == 1 ? "" : "s") +
         " separated by ':', not 4 or 5");
  event_kind k;
  k.name = parts[0];
  if (!valid_name(k.name)) fail("NAME must be letters, digits, '_' or '-', not '" + k.name + "'");
  if (says_not_anomalous(k.name))
    fail("NAME cannot be '" + k.name + "', which eval reads as the label of an ordinary reading (0, false, no)");
  const auto watts = number_in_full(parts[1]);
  // Bounded, so that the Wh it adds stay finite numbers its readers take.
  if (!watts || *watts <= 0 || *watts > 100000)
    fail("WATTS must be a number above 0, at most 100000 (100 kW), not '" + parts[1] + "'");
  k.watts = *watts;
  const auto hours = split(parts[2], '-');
  const auto first = hours.size() == 2 ? hour_of_day(hours[0]) : std::nullopt;
  const auto last = hours.size() == 2 ? hour_of_day(hours[1]) : std::nullopt;
  if (!first || !last)
    fail("FIRST_HOUR-LAST_HOUR must be two hours of the day from 0 to 23 such as 22-1 (22:00 to 01:00), not '" +
         parts[2] + "'");
  k.first_hour = *first;
  k.last_hour = *last;
  const auto lasting = split(parts[3], '-');
  const auto shortest_h = lasting.size() == 2 ? number_in_full(lasting[0]) : std::nullopt;
  const auto longest_h = lasting.size() == 2 ? number_in_full(lasting[1]) : std::nullopt;
  if (!shortest_h || !longest_h || whole_minutes(*shortest_h) < 1 || *longest_h < *shortest_h)
    fail("MIN_H-MAX_H must be two durations in hours, at least a minute, the first not above the second, such as "
         "2-7 or 0.5-1.5, not '" +
         parts[3] + "'");
  if (*longest_h > 24 * 7) fail("an event cannot last more than a week (168 hours)");
  k.min_hours = *shortest_h;
  k.max_hours = *longest_h;
  if (parts.size() == 5) {
    const auto cycle = split(parts[4], '/');
    const auto on = cycle.size() == 2 ? minutes_of(cycle[0]) : std::nullopt;
    const auto off = cycle.size() == 2 ? minutes_of(cycle[1]) : std::nullopt;
    if (!on || !off)
      fail("ON_MIN/OFF_MIN must be two whole numbers of minutes, each at least 1, such as 3/2 (on for 3 minutes, "
           "off for 2, from the switch-on), not '" + parts[4] + "'");
    k.on_minutes = *on;
    k.off_minutes = *off;
  }
  return k;
}

std::vector<event_kind> choose_kinds(const std::vector<std::string>& definitions,
                                     const std::optional<std::string>& chosen) {
  std::vector<event_kind> known = builtin_kinds();
  const std::size_t builtin = known.size();
  std::vector<std::string> defined;
  for (const auto& spec : definitions) {
    event_kind k = parse_kind(spec);
    if (std::find(defined.begin(), defined.end(), k.name) != defined.end())
      throw std::invalid_argument("--kind '" + spec + "': '" + k.name + "' is defined by another --kind already");
    defined.push_back(k.name);
    auto same = std::find_if(known.begin(), known.end(), [&](const event_kind& e) { return e.name == k.name; });
    if (same != known.end()) *same = k;
    else known.push_back(k);
  }
  if (!chosen) return known;
  std::vector<event_kind> kinds;
  std::vector<std::string> names;
  for (const auto& k : known) names.push_back(k.name);
  for (const auto& item : split(*chosen, ',')) {
    const std::string name = trim(item);
    if (name.empty())
      throw std::invalid_argument("--kinds '" + *chosen + "' must be kind names separated by commas, such as " +
                                  names_of(builtin_kinds()) + "; it has an empty one");
    auto k = std::find_if(known.begin(), known.end(), [&](const event_kind& e) { return e.name == name; });
    if (k == known.end()) {
      std::string message = "--kinds: no kind named '" + name + "'";
      if (auto guess = nearest(name, names)) message += " (did you mean '" + *guess + "'?)";
      message += "; built in: " + names_of({known.begin(), known.begin() + static_cast<std::ptrdiff_t>(builtin)}) +
                 "; define others with --kind " + kind_form;
      throw std::invalid_argument(message);
    }
    if (std::any_of(kinds.begin(), kinds.end(), [&](const event_kind& e) { return e.name == name; }))
      throw std::invalid_argument("--kinds '" + *chosen + "' names '" + name + "' twice");
    kinds.push_back(*k);
  }
  return kinds;
}

double max_per_week(const std::vector<event_kind>& kinds) {
  double longest = 0;
  for (const auto& k : kinds) longest = std::max(longest, k.max_hours);
  return 7 * 24 / (24 + longest);
}

std::vector<planned_event> place_events(const std::vector<event_kind>& kinds, std::int64_t from_ms,
                                        std::int64_t to_ms, double per_week, std::uint64_t seed,
                                        const time_zone& zone) {
  std::vector<planned_event> events;
  if (kinds.empty() || !(per_week > 0) || to_ms <= from_ms) return events;
  std::mt19937_64 random(seed);
  // Periods are cut on the local wall clock, from the local midnight of the
  // first reading, so a 7-day period is 7 local days across clock changes.
  const local_fields first = zone.local(from_ms);
  civil_time midnight;
  midnight.year = first.year;
  midnight.month = first.month;
  midnight.day = first.day;
  const std::int64_t wall_start = utc_ms_of(midnight);
  const auto period = static_cast<std::int64_t>(std::llround(7 * day_ms / per_week));
  auto boundary = [&](std::int64_t p) {
    const std::int64_t t = zone.to_utc_ms(civil_of_wall(wall_start + p * period));
    return p == 0 ? std::min(t, from_ms) : t;
  };
  std::vector<std::int64_t> starts;
  // Two hours at least between events, so that an hourly reading without
  // either lies between them: one that starts as the one before ends (00:00
  // at a period's end, then 00:00 at the next's start), or in the hour after
  // its last reading, would read as one event.
  std::int64_t free_from = std::numeric_limits<std::int64_t>::min();
  for (std::int64_t p = 0; boundary(p + 1) <= to_ms; ++p) {
    const std::int64_t period_start = boundary(p), period_end = boundary(p + 1);
    const std::size_t kind = below(random, kinds.size());
    const event_kind& k = kinds[kind];
    const std::int64_t shortest_min = whole_minutes(k.min_hours), longest_min = whole_minutes(k.max_hours);
    const auto spread = static_cast<std::uint64_t>(longest_min - shortest_min + 1);
    const std::int64_t duration = (shortest_min + static_cast<std::int64_t>(below(random, spread))) * minute_ms;
    starts.clear();
    // From a whole minute: with a rate that does not divide a week into whole minutes, periods do not start on one.
    const std::int64_t first_start = std::max(period_start, free_from);
    const std::int64_t whole = first_start + (minute_ms - first_start % minute_ms) % minute_ms;
    for (std::int64_t t = whole; t + duration <= period_end; t += minute_ms) {
      const local_fields l = zone.local(t);
      if (in_window(k, l.hour * 60 + l.minute)) starts.push_back(t);
    }
    if (starts.empty()) continue;  // a window the period cannot hold (only with a very short period)
    const std::int64_t start = starts[below(random, starts.size())];
    events.push_back({kind, start, start + duration, 0});
    free_from = start + duration + 2 * hour_ms;
  }
  return events;
}

std::vector<std::int64_t> reading_intervals(const std::vector<reading>& history) {
  std::vector<std::int64_t> times;
  times.reserve(history.size());
  for (const auto& r : history) times.push_back(r.ts_ms);  // in time order already
  times.erase(std::unique(times.begin(), times.end()), times.end());
  std::vector<std::int64_t> intervals;
  intervals.reserve(history.size());
  for (const auto& r : history) {
    if (r.span_ms > 0) {
      intervals.push_back(r.span_ms);
      continue;
    }
    const auto at = std::lower_bound(times.begin(), times.end(), r.ts_ms);
    std::int64_t iv = std::numeric_limits<std::int64_t>::max();
    if (at != times.begin()) iv = std::min(iv, r.ts_ms - *(at - 1));
    if (at + 1 != times.end()) iv = std::min(iv, *(at + 1) - r.ts_ms);
    intervals.push_back(iv == std::numeric_limits<std::int64_t>::max() ? hour_ms : iv);
  }
  return intervals;
}

std::int64_t history_end_ms(const std::vector<reading>& history, const std::vector<std::int64_t>& intervals) {
  std::int64_t end = std::numeric_limits<std::int64_t>::min();
  for (std::size_t i = 0; i < history.size(); ++i) end = std::max(end, history[i].ts_ms + intervals[i]);
  return end;
}

namespace {

/// The first reading that may cover `event`: none starts more than `longest` before what it covers.
std::size_t first_reading_of(const std::vector<reading>& history, const planned_event& event, std::int64_t longest) {
  return static_cast<std::size_t>(std::lower_bound(history.begin(), history.end(), event.start_ms - longest,
                                                   [](const reading& r, std::int64_t t) { return r.ts_ms < t; }) -
                                  history.begin());
}

/// Whether the readings cover all of `event`, with no hole: an event over a
/// hole would be read back as two (eval cannot tell what the hole held).
bool wholly_covered(const std::vector<reading>& history, const std::vector<std::int64_t>& intervals,
                    const planned_event& event, std::size_t i) {
  std::int64_t covered_to = event.start_ms;
  for (; i < history.size() && history[i].ts_ms < event.end_ms; ++i) {
    if (history[i].ts_ms + intervals[i] <= covered_to) continue;  // before the event, or a repeated time
    if (history[i].ts_ms > covered_to) return false;
    covered_to = history[i].ts_ms + intervals[i];
  }
  return covered_to >= event.end_ms;
}

} // namespace

std::vector<bool> apply_events(std::vector<reading>& history, const std::vector<std::int64_t>& intervals,
                               std::vector<planned_event>& events, const std::vector<event_kind>& kinds) {
  const std::int64_t longest = intervals.empty() ? 0 : *std::max_element(intervals.begin(), intervals.end());
  std::vector<bool> touched(history.size(), false);
  for (auto& e : events) {
    const event_kind& k = kinds[e.kind];
    std::size_t i = first_reading_of(history, e, longest);
    if (!wholly_covered(history, intervals, e, i)) continue;
    for (; i < history.size() && history[i].ts_ms < e.end_ms; ++i) {
      reading& r = history[i];
      const std::int64_t from = std::max(e.start_ms, r.ts_ms), to = std::min(e.end_ms, r.ts_ms + intervals[i]);
      if (to <= from) continue;
      const std::int64_t on = on_since_switch_on(k, to - e.start_ms) - on_since_switch_on(k, from - e.start_ms);
      r.wh += k.watts * static_cast<double>(on) / static_cast<double>(hour_ms);
      if (on_at(k, e, end_ms(r))) add_power(r, k.watts);
      set_label(r, k.name);
      touched[i] = true;
      ++e.readings;
    }
  }
  return touched;
}

injection inject_events(std::vector<reading>& history, const std::vector<event_kind>& kinds, double per_week,
                        std::uint64_t seed, const time_zone& zone) {
  injection done;
  if (history.empty()) return done;
  const std::vector<std::int64_t> intervals = reading_intervals(history);
  done.events = place_events(kinds, history.front().ts_ms, history_end_ms(history, intervals), per_week, seed, zone);
  done.touched = apply_events(history, intervals, done.events, kinds);
  return done;
}

std::vector<reading> rehearsal(const std::vector<reading>& history, const std::vector<event_kind>& kinds, int i,
                               std::uint64_t seed, const time_zone& zone) {
  std::vector<reading> copy = history;
  for (auto& r : copy)  // a labelled history's own events are not the rehearsal's
    r.labels.erase(std::remove_if(r.labels.begin(), r.labels.end(), [](const label& l) { return l.key == "label"; }),
                   r.labels.end());
  inject_events(copy, kinds, 1.0, seed + static_cast<std::uint64_t>(i), zone);
  return copy;
}

labelled_csv::labelled_csv(const std::vector<reading>& history) {
  for (const auto& r : history) {
    says_span_ = says_span_ || r.span_ms != hour_ms;
    says_meter_ = says_meter_ || r.meter != "home";
    for (const auto& l : r.labels)
      if (l.key != "label" && std::find(columns_.begin(), columns_.end(), l.key) == columns_.end())
        columns_.push_back(l.key);
  }
}

std::string labelled_csv::header() const {
  std::string out = says_span_ ? "ts,wh,span_ms" : "ts,wh";
  if (says_meter_) out += ",meter";
  for (const auto& c : columns_) {
    out += ',';
    out += csv_field(c);
  }
  return out + ",label\n";
}

std::string labelled_csv::line(const reading& r) const {
  const local_fields& l = r.local;
  const int ms = static_cast<int>((r.ts_ms % 1000 + 1000) % 1000);
  const int offset = l.utc_offset_s < 0 ? -l.utc_offset_s : l.utc_offset_s;
  char ts[64];
  int n = std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d", l.year, l.month, l.day, l.hour, l.minute,
                        l.second);
  if (ms != 0) n += std::snprintf(ts + n, sizeof ts - static_cast<std::size_t>(n), ".%03d", ms);
  std::snprintf(ts + n, sizeof ts - static_cast<std::size_t>(n), "%c%02d:%02d", l.utc_offset_s < 0 ? '-' : '+',
                offset / 3600, offset % 3600 / 60);
  // To a millionth of a Wh: neither an injected reading (1500 + 431.27 is
  // 1931.2700000000002 in binary) nor a kWh export's (2.61587 kWh is
  // 2615.8700000000003 Wh) is exact; a reading of six decimals or fewer
  // reads back as the same number.
  const double wh = std::round(r.wh * 1e6) / 1e6;
  std::string out = std::string(ts) + "," + shortest(wh);
  if (says_span_) out.append(",").append(std::to_string(r.span_ms));
  if (says_meter_) out.append(",").append(csv_field(r.meter));
  for (const auto& c : columns_) {
    const auto at = std::find_if(r.labels.begin(), r.labels.end(), [&](const label& x) { return x.key == c; });
    out += ',';
    if (at != r.labels.end()) out += csv_field(at->value);
  }
  const std::string_view event = event_label(r);
  return out + "," + csv_field(event.empty() ? "0" : std::string(event)) + "\n";
}

} // namespace stream_smarts::runtime

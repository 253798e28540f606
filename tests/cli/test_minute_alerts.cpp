// Issue 7, minute-level readings: a sustained 2 kW load should alert within
// 15 minutes of its start. A pulse file is made from household 1's minutes
// plus a heater and run through pipelines/pi-power.toml itself, with only
// `line` swapped for `pulse_file` and the sinks replaced by the console: its
// [pipeline] table (the alert policy), its source options and its scorers
// with the shipped models are the user's, not a copy that could drift from
// them. The minutes are either its real ones (data/household_minutes.csv,
// eleven December days) or synthesised from its real hours
// (data/household_hourly.csv: any day, but no appliance within an hour).
//
// pi-power.toml's power_step scorer (a step in gpio_meter's power_w held for
// 10 minutes, against its shipped model's thresholds for the hour) meets it
// at night: the alert comes 10 minutes after the switch-on. By day it does
// not, and the 2 pm case pins what happens instead (sustained_load, hours
// later): pi-power.toml watches for steps only at night (active_hours),
// because on the real minutes the house itself steps up by that much every
// day; and in its training year it stepped up by 2.4 kW or more around 2 pm
// about once a week, so the model's 14:00 threshold is above a 2 kW heater
// anyway.
#include "process.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>

using namespace test_support;

namespace {

/// A local wall-clock time in seconds, read as if it were UTC. The CSV, the
/// pulse file (no offset: the pipeline's zone applies) and the console's `ts`
/// are all local, so no zone arithmetic is needed; the hours chosen below
/// are away from daylight-saving changes.
using local_s = std::int64_t;
constexpr local_s minute = 60, hour = 3600;

local_s parse_local(const std::string& iso) {  // "2008-01-17T01:00:00", anything after is ignored
  std::tm tm{};
  std::istringstream in(iso.substr(0, 19));
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  if (in.fail()) throw std::runtime_error("not a local time: " + iso);
  return timegm(&tm);
}

std::string format_local(local_s s, long long ms) {
  const std::time_t t = s + ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03lld", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
  return buf;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The house's mean power in W, minute by minute: the start of each minute -> W.
using minute_power = std::map<local_s, double>;

/// A data/ CSV of `ts,value` rows under a header, local times: ts -> value.
std::map<local_s, double> read_series(const std::string& name) {
  std::map<local_s, double> series;
  std::istringstream in(slurp(source_dir() + "/data/" + name));
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) series[parse_local(line)] = std::stod(line.substr(line.find(',') + 1));
  return series;
}

/// data/household_hourly.csv's hours from `from` to `to` spread evenly over
/// their minutes (an hour's Wh is its mean W): no appliance within the hour.
minute_power from_hours(local_s from, local_s to) {
  static const auto wh = read_series("household_hourly.csv");
  minute_power w;
  for (local_s m = from; m < to; m += minute) {
    const auto h = wh.find(m - m % hour);
    if (h == wh.end()) FAIL("no reading at " << format_local(m - m % hour, 0) << " in the CSV: choose other hours");
    w[m] = h->second;
  }
  return w;
}

/// data/household_minutes.csv: eleven real December days of the same house.
const minute_power& real_minutes() {
  static const minute_power w = read_series("household_minutes.csv");
  return w;
}

/// A pulse file at 1000 impulses/kWh (one per Wh) of the house's minutes
/// from `from` to `to` (a minute with no row draws what the one before did,
/// as a meter goes on counting), plus `heater_w` from `heater_on`. An
/// impulse falls where the total energy passes a whole Wh, as on a real
/// meter, so house and heater never make two impulses closer than
/// gpio_meter's debounce (one impulse per Wh needs over 72 kW for that).
std::string pulse_file(const minute_power& house, local_s from, local_s heater_on, local_s to, double heater_w) {
  std::string out;
  double carried = 0;  // Wh since the last impulse
  auto drawn = house.upper_bound(from);
  if (drawn == house.begin()) FAIL("no minute at or before " << format_local(from, 0));
  --drawn;
  for (local_s m = from; m < to; m += minute) {
    if (const auto next = std::next(drawn); next != house.end() && next->first <= m) drawn = next;
    if (m - drawn->first > 5 * minute) FAIL("no minute near " << format_local(m, 0) << " in the data: choose others");
    const double in_minute = (drawn->second + (m >= heater_on ? heater_w : 0)) / 60;
    const int impulses = static_cast<int>(carried + in_minute);
    for (int k = 1; k <= impulses; ++k)
      out += format_local(m, std::llround((k - carried) / in_minute * 60000)) + "\n";
    carried += in_minute - impulses;
  }
  return out;
}

/// pipelines/pi-power.toml reading `pulses` instead of GPIO, as its own comment
/// says (`line` replaced; chip, edge and bias are then unused), and with one
/// sink instead of its three: the phone's scorers (its `from`) and no policy
/// keys of its own, as the phone's, so [pipeline]'s policy applies. It prints
/// every scored reading with the policy's verdict, so the test also sees when
/// usage first became unusual.
std::string pi_power_from(const std::string& pulses) {
  std::string toml = slurp(source_dir() + "/pipelines/pi-power.toml");
  const auto line = toml.find("\nline = "), sinks = toml.find("\n[[sinks]]"),
             phone = toml.find("\nname = \"phone\"", sinks), from = toml.find("\nfrom = ", phone);
  REQUIRE(line < sinks);
  REQUIRE(phone != std::string::npos);
  REQUIRE(from != std::string::npos);
  const std::string phone_from = toml.substr(from, toml.find('\n', from + 1) - from);
  toml = toml.substr(0, sinks) + "\n[[sinks]]\nname = \"phone\"\nplugin = \"console\"" + phone_from +
         "\nformat = \"json\"\nreceive = \"all\"\n";
  toml.replace(line + 1, toml.find('\n', line + 1) - line - 1, "pulse_file = \"" + pulses + "\"");
  const std::string models = "\"../models/";
  const std::string shipped = "\"" + source_dir() + "/models/";
  for (auto at = toml.find(models); at != std::string::npos; at = toml.find(models, at + shipped.size()))
    toml.replace(at, models.size(), shipped);
  return toml;
}

/// Whether the console's JSON line has `key`.
bool has_field(const std::string& line, const std::string& key) {
  return line.find("\"" + key + "\":") != std::string::npos;
}

/// A value of the console's flat JSON line: `"key":value` or `"key":"value"`.
std::string field(const std::string& line, const std::string& key) {
  auto at = line.find("\"" + key + "\":");
  REQUIRE(at != std::string::npos);
  at += key.size() + 3;
  if (line[at] == '"') return line.substr(at + 1, line.find('"', at + 1) - at - 1);
  return line.substr(at, line.find_first_of(",}", at) - at);
}

struct scored {
  local_s emitted;  ///< ts + 1 h: the end of the trailing hour, when gpio_meter emitted it
  std::string scorer, alert;
  double wh, hi, score, threshold;
  local_s since;    ///< when the alert says the usage began (the reading's ts if it says nothing)
};

/// A console JSON line as `scored`; local times, as the line's `ts` is.
scored scored_of(const std::string& line) {
  const local_s ts = parse_local(field(line, "ts"));
  const local_s since =
      has_field(line, "since_ms") ? ts + (std::stoll(field(line, "since_ms")) - std::stoll(field(line, "ts_ms"))) / 1000
                                  : ts;
  return {ts + hour, field(line, "scorer"), field(line, "alert"), std::stod(field(line, "wh")),
          std::stod(field(line, "expected_hi")), std::stod(field(line, "score")), std::stod(field(line, "threshold")),
          since};
}

/// What each scorer made of the heater, for the failure message.
struct outcome {
  std::optional<local_s> unusual, alerted;  ///< the first reading emitted after the start that was / that notified
  local_s alert_since = 0;                  ///< when the first alert says the usage began
  double wh_at_15 = 0, hi_at_15 = 0;        ///< the reading emitted 15 minutes after the start
};

struct heater_outcome {
  std::optional<local_s> first_alert_min;  ///< minutes from the heater's start to the first alert, if any
  local_s since_min = 0;                   ///< minutes from the heater's start to when that alert says it began
  std::string figures;                     ///< each scorer's figures, for messages
};

/// Runs pi-power.toml on `pulses`: every scored reading, in order; requires
/// that it runs cleanly.
std::vector<scored> run_pi_power(const std::string& pulses) {
  temp_dir dir;
  dir.file("pulses.txt", pulses);
  const auto r = run({"run", dir.file("pi-power.toml", pi_power_from("pulses.txt"))});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE_THAT(r.err, Catch::Matchers::Contains(" 0 dropped as bounce"));
  std::vector<scored> lines;
  std::istringstream out(r.out);
  for (std::string line; std::getline(out, line);) lines.push_back(scored_of(line));
  return lines;
}

/// Where the house's minutes come from.
enum class minutes { from_hours, real };

/// Runs the household's minutes from `from`, a 2 kW heater from `heater_on`
/// for `heater_hours`, through pi-power.toml; requires that every minute
/// before the heater is scored and that none of them alerts.
heater_outcome run_heater(minutes kind, const std::string& from, const std::string& heater_on, int heater_hours) {
  const local_s first = parse_local(from), start = parse_local(heater_on), end = start + heater_hours * hour;
  const minute_power house = kind == minutes::real ? real_minutes() : from_hours(first, end);
  const std::vector<scored> lines = run_pi_power(pulse_file(house, first, start, end, 2000));

  std::map<std::string, outcome> by_scorer;
  std::size_t before_start = 0, alerts_before_start = 0;
  for (const scored& s : lines) {
    outcome& o = by_scorer[s.scorer];
    if (s.emitted <= start) {
      ++before_start;
      alerts_before_start += s.alert != "none";
      continue;
    }
    if (!o.unusual && s.score > s.threshold) o.unusual = s.emitted;
    if (!o.alerted && s.alert != "none") o.alerted = s.emitted, o.alert_since = s.since;
    if (s.emitted == start + 15 * minute) o.wh_at_15 = s.wh, o.hi_at_15 = s.hi;
  }
  REQUIRE_FALSE(by_scorer.empty());
  // A reading a minute from the first to the heater's start, by each scorer, none of them an alert.
  CHECK(before_start == by_scorer.size() * static_cast<std::size_t>((start - first) / minute));
  CHECK(alerts_before_start == 0);

  auto after = [&](const std::optional<local_s>& t) {
    return t ? "+" + std::to_string((*t - start) / minute) + " min" : "not in " + std::to_string(heater_hours) + " h";
  };
  std::optional<local_s> first_alert;
  local_s since = 0;
  std::ostringstream figures;
  for (const auto& [name, o] : by_scorer) {
    figures << name << ": 15 min in, wh " << std::lround(o.wh_at_15) << ", expected_hi "
            << std::lround(o.hi_at_15) << " (W for power_step); first unusual " << after(o.unusual) << ", first alert "
            << after(o.alerted) << (o.alerted ? ", since " + format_local(o.alert_since, 0) : "") << "\n";
    if (o.alerted && (!first_alert || *o.alerted < *first_alert)) first_alert = o.alerted, since = o.alert_since;
  }
  return {first_alert ? std::optional<local_s>((*first_alert - start) / minute) : std::nullopt,
          (since - start) / minute, "2 kW heater from " + heater_on + ":\n" + figures.str()};
}

/// The requirement: an alert at most 15 minutes after the heater's start,
/// which says the usage began when the heater was switched on (the first
/// minute reading with its power in it), not at the start of the trailing
/// hour the reading is stamped with.
void check_alert_within_15_minutes(minutes kind, const std::string& from, const std::string& heater_on) {
  const heater_outcome o = run_heater(kind, from, heater_on, 5);
  INFO(o.figures);
  REQUIRE(o.first_alert_min.has_value());  // any alert at all while the heater is on
  CHECK(*o.first_alert_min <= 15);
  CHECK(o.since_min >= 0);
  CHECK(o.since_min <= 1);
}

} // namespace

// The hours: household 1's, after the models' training year (2007), ordinary
// quiet ones (under 1.2 kWh each) while the heater is on, and away from
// daylight-saving changes. Each starts three hours
// before the heater, so the trailing hour is full long before it. Five hours
// of heater: long enough for sustained_load's three-hour window too, so its
// delay shows in a failure's message.

const char* const winter_night[] = {"2008-01-16T22:00:00", "2008-01-17T01:00:00"};   // a Thursday: 364 to 509 Wh an hour from 01:00
const char* const autumn_night[] = {"2008-10-08T22:00:00", "2008-10-09T01:00:00"};   // a Thursday: 301 to 385 Wh an hour from 01:00
const char* const winter_afternoon[] = {"2008-01-14T11:00:00", "2008-01-14T14:00:00"};  // a Monday: 462 to 1124 Wh an hour from 14:00

TEST_CASE("minute readings: pi-power.toml scores every minute of a synthesised pulse file and alerts on nothing before the heater") {
  for (const auto* hours : {winter_night, autumn_night, winter_afternoon})
    run_heater(minutes::from_hours, hours[0], hours[1], 5);
}

TEST_CASE("minute readings: a 2 kW heater switched on at 1 am on a winter night alerts within 15 minutes") {
  check_alert_within_15_minutes(minutes::from_hours, winter_night[0], winter_night[1]);
}

TEST_CASE("minute readings: a 2 kW heater switched on at 1 am on an autumn night alerts within 15 minutes") {
  check_alert_within_15_minutes(minutes::from_hours, autumn_night[0], autumn_night[1]);
}

// Issue 7's 15 minutes are not met by day (docs/models.md, "Minute
// readings"): power_step watches only at night, and sustained_load tells a
// heater once it has stayed up for its window. This pins that, so that any
// other failure here shows (a test marked to fail would hide it).
TEST_CASE("minute readings: a 2 kW heater switched on at 2 pm is told hours later by sustained_load, not within 15 minutes") {
  const heater_outcome o = run_heater(minutes::from_hours, winter_afternoon[0], winter_afternoon[1], 5);
  INFO(o.figures);
  REQUIRE(o.first_alert_min.has_value());
  CHECK(*o.first_alert_min > 15);
  CHECK(*o.first_alert_min <= 4 * 60);
  CHECK(o.figures.find("switched_on: 15 min in") != std::string::npos);
  CHECK(o.figures.find("first alert not in 5 h") != std::string::npos);  // power_step: not by day
  // Its "since" is the trailing hour of the window's oldest reading: the hour the rise began in.
  CHECK(o.since_min >= -60);
  CHECK(o.since_min <= 0);
}

// Real minutes: data/household_minutes.csv, eleven December days of the same
// house (in the models' training year), with its appliances inside each hour.

TEST_CASE("minute readings: data/household_minutes.csv agrees with every hour of household_hourly.csv it covers") {
  const auto hours = read_series("household_hourly.csv");
  std::map<local_s, std::pair<double, int>> sums;  // hour -> W summed, minutes
  for (const auto& [m, w] : real_minutes()) sums[m - m % hour].first += w, ++sums[m - m % hour].second;
  int complete = 0;
  for (const auto& [h, sum] : sums) {
    if (sum.second < 50) continue;  // the partial first and last hours, which the hourly file leaves out
    ++complete;
    INFO(format_local(h, 0));
    REQUIRE(hours.count(h) == 1);
    CHECK(std::abs(sum.first / sum.second - hours.at(h)) < 0.01);  // its mean W over the minutes present
  }
  CHECK(complete == 264);
}

TEST_CASE("minute readings: a 2 kW heater switched on at 1 am on two real December nights alerts within 15 minutes") {
  check_alert_within_15_minutes(minutes::real, "2006-12-17T22:00:00", "2006-12-18T01:00:00");  // a Monday
  check_alert_within_15_minutes(minutes::real, "2006-12-26T22:00:00", "2006-12-27T01:00:00");  // a Wednesday
}

// By day this house switched on big loads for a quarter of an hour or more
// every day (about 07:30, cooking, washing): power_step without active_hours
// told 11 of them in these days. pi-power.toml watches for steps at night.
TEST_CASE("minute readings: pi-power.toml's power_step tells nothing in eleven real days of the house alone") {
  const minute_power& house = real_minutes();
  const local_s first = house.begin()->first, last = house.rbegin()->first + minute;
  const std::vector<scored> lines = run_pi_power(pulse_file(house, first, last, last, 0));
  std::size_t power_step_readings = 0;
  std::string told;
  for (const scored& s : lines) {
    if (s.scorer != "switched_on") continue;
    ++power_step_readings;
    if (s.alert == "raised") told += format_local(s.since, 0) + " ";
  }
  CHECK(power_step_readings == static_cast<std::size_t>((last - first) / minute));
  INFO("power_step told of steps since " << told);
  CHECK(told.empty());
}

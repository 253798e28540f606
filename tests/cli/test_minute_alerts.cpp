// Issue 7, minute-level readings: a sustained 2 kW load should alert within
// 15 minutes of its start. A pulse file is synthesised from real hours of
// data/household_hourly.csv (household 1, Europe/Paris) plus a heater and
// run through pipelines/pi-power.toml itself, with only `line` swapped for
// `pulse_file` and the sinks replaced by the console: its [pipeline] table
// (the alert policy), its source options and its scorers with the shipped
// models are the user's, not a copy that could drift from them.
//
// pi-power.toml's power_step scorer (a step in gpio_meter's power_w held for
// 10 minutes, against its shipped model's thresholds for the hour) meets it
// at night: the alert comes 10 minutes after the switch-on. By day it does
// not, and that case is tagged [!shouldfail]: in its training year this
// household stepped up by 2.4 kW or more around 2 pm about once a week
// (cooking), so the model's 14:00 threshold is above a 2 kW heater (and here
// the house's own use drops by 760 W as the heater starts). Catch counts the
// case as passing while it fails, and fails it once it passes: then remove
// the tag.
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

/// data/household_hourly.csv: the start of each hour -> its Wh.
std::map<local_s, double> household() {
  std::map<local_s, double> wh;
  std::istringstream in(slurp(source_dir() + "/data/household_hourly.csv"));
  std::string line;
  std::getline(in, line);  // ts,wh
  while (std::getline(in, line)) wh[parse_local(line)] = std::stod(line.substr(line.find(',') + 1));
  return wh;
}

/// A pulse file at 1000 impulses/kWh (one per Wh) from `from` to `to`: each
/// hour's Wh of the household spread evenly over that hour, plus `heater_w`
/// from `heater_on`. An impulse falls where the total energy passes a whole
/// Wh, as on a real meter, so house and heater never make two impulses closer
/// than gpio_meter's debounce (one impulse per Wh needs over 72 kW for that).
std::string pulse_file(const std::map<local_s, double>& wh, local_s from, local_s heater_on, local_s to,
                       double heater_w) {
  std::string out;
  double carried = 0;  // Wh since the last impulse
  for (local_s m = from; m < to; m += minute) {
    const auto h = wh.find(m - m % hour);
    if (h == wh.end()) FAIL("no reading at " << format_local(m - m % hour, 0) << " in the CSV: choose other hours");
    const double in_minute = (h->second + (m >= heater_on ? heater_w : 0)) / 60;  // an hour's Wh is its mean W
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

/// Runs the household's hours from `from`, a 2 kW heater from `heater_on` for
/// `heater_hours`, through pi-power.toml; requires that it runs cleanly, that
/// every minute before the heater is scored and that none of them alerts.
heater_outcome run_heater(const std::string& from, const std::string& heater_on, int heater_hours) {
  const local_s start = parse_local(heater_on);
  temp_dir dir;
  dir.file("pulses.txt", pulse_file(household(), parse_local(from), start, start + heater_hours * hour, 2000));
  const auto r = run({"run", dir.file("pi-power.toml", pi_power_from("pulses.txt"))});
  {
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE_THAT(r.err, Catch::Matchers::Contains(" 0 dropped as bounce"));
  }

  std::map<std::string, outcome> by_scorer;
  std::size_t before_start = 0, alerts_before_start = 0;
  std::istringstream out(r.out);
  for (std::string line; std::getline(out, line);) {
    const scored s = scored_of(line);
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
  CHECK(before_start == by_scorer.size() * static_cast<std::size_t>((start - parse_local(from)) / minute));
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
void check_alert_within_15_minutes(const std::string& from, const std::string& heater_on) {
  const heater_outcome o = run_heater(from, heater_on, 5);
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
  for (const auto* hours : {winter_night, autumn_night, winter_afternoon}) run_heater(hours[0], hours[1], 5);
}

TEST_CASE("minute readings: a 2 kW heater switched on at 1 am on a winter night alerts within 15 minutes") {
  check_alert_within_15_minutes(winter_night[0], winter_night[1]);
}

TEST_CASE("minute readings: a 2 kW heater switched on at 1 am on an autumn night alerts within 15 minutes") {
  check_alert_within_15_minutes(autumn_night[0], autumn_night[1]);
}

TEST_CASE("minute readings: a 2 kW heater switched on at 2 pm on a winter afternoon alerts within 15 minutes", "[!shouldfail]") {
  check_alert_within_15_minutes(winter_afternoon[0], winter_afternoon[1]);
}

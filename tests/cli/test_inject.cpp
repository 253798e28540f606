// `stream-smarts inject`, run as a user would: events added to synthetic
// histories whose every reading is known, read back from the file it writes.
#include "history_text.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <regex>
#include <sstream>

using namespace test_support;
using Catch::Matchers::Contains;

namespace {

/// `days` days of readings every `step` minutes from 2008-01-07 (a Monday),
/// local time without offset, each `wh` Wh.
std::string flat_history(int days, int step, const std::string& wh) {
  std::string csv = "ts,wh\n";
  for (int d = 0; d < days; ++d)
    for (int minute = 0; minute < 1440; minute += step) csv += history_time(d, minute) + "," + wh + "\n";
  return csv;
}

/// pi.csv in `dir`: `days` days of what gpio_meter records, one reading a
/// minute: the trailing hour's energy (ts = that hour's start, the replay
/// source's default span of an hour) and the power at its end, of a house
/// drawing a flat 500 W.
std::string pi_history(const temp_dir& dir, int days) {
  const std::string minutes = flat_history(days, 1, "500,500,500");
  return dir.file("pi.csv", "ts,wh,pulses,power_w" + minutes.substr(minutes.find('\n')));
}

struct row {
  std::string ts;
  double wh = 0;
  std::string label;
  long long span_ms = 3'600'000;
  int minute_of_day() const { return std::stoi(ts.substr(11, 2)) * 60 + std::stoi(ts.substr(14, 2)); }
};

/// The rows of `ts,wh,label`, or of `ts,wh,span_ms,label` (readings that
/// cover other than an hour).
std::vector<row> rows_of(const std::string& csv) {
  std::vector<row> rows;
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  const bool says_span = line == "ts,wh,span_ms,label";
  REQUIRE((says_span || line == "ts,wh,label"));
  while (std::getline(in, line)) {
    const auto a = line.find(','), b = line.find(',', a + 1), c = line.rfind(',');
    row r{line.substr(0, a), std::stod(line.substr(a + 1, b - a - 1)), line.substr(c + 1)};
    if (says_span) r.span_ms = std::stoll(line.substr(b + 1, c - b - 1));
    rows.push_back(r);
  }
  return rows;
}

/// An event as seen in the file: a run of readings with the same label.
struct seen_event {
  std::string kind;
  std::size_t first = 0, count = 0;  ///< index of its first row, rows
  double added = 0;                  ///< Wh above the flat history
};

std::vector<seen_event> events_in(const std::vector<row>& rows, double flat) {
  std::vector<seen_event> events;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].label == "0") continue;
    if (i == 0 || rows[i - 1].label != rows[i].label) events.push_back({rows[i].label, i, 0, 0});
    ++events.back().count;
    events.back().added += rows[i].wh - flat;
  }
  return events;
}

struct kind_rule {
  double watts;
  int first_hour, last_hour;
  double min_hours, max_hours;
};
const std::map<std::string, kind_rule> builtin{{"heater_night", {2000, 22, 1, 2, 7}},
                                               {"oven_afternoon", {1500, 13, 16, 2, 4}},
                                               {"heater_day", {1000, 8, 12, 6, 10}}};

bool starts_in_window(const kind_rule& k, int minute_of_day) {
  const int first = k.first_hour * 60, last = k.last_hour * 60;
  return first <= last ? minute_of_day >= first && minute_of_day <= last
                       : minute_of_day >= first || minute_of_day <= last;
}

/// The rows `inject` writes for `data`, whose readings each cover `span`
/// ("1m": a minute's energy), with one kind defined by `kind` and used alone,
/// two events a week.
std::vector<row> inject_alone(const temp_dir& dir, const std::string& data, const std::string& span,
                              const std::string& kind) {
  const std::string name = kind.substr(0, kind.find(':'));
  const auto r = run({"inject", "--data", data, "--data-set", "span=" + span, "--out", dir.path() + "/l.csv",
                      "--per-week", "2", "--kind", kind, "--kinds", name});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return rows_of(dir.read("l.csv"));
}

/// recorded.jsonl in `dir`: what a pipeline prints with receive = "all" and
/// format = "json" (every reading, scored against a band nothing exceeds),
/// replaying the file its replay source's `options` (path, ...) name: a
/// history as a Pi's recording (a file, or kafka_sink into a topic) holds it.
std::string recorded(const temp_dir& dir, const std::string& options) {
  std::string band = "[";
  for (int h = 0; h < 24; ++h) band += std::string(h ? ", " : "") + "[0, 3000]";
  const auto r = run({"run", dir.file("record.toml", "[pipeline]\nname = \"record\"\n"
                                                   "[[sources]]\nname = \"meter\"\nplugin = \"replay\"\n" + options +
                                                   "\n[[scorers]]\nname = \"band\"\nplugin = \"percentile_band\"\n"
                                                   "from = [\"meter\"]\nband = " + band + "]\n"
                                                   "[[sinks]]\nname = \"all\"\nplugin = \"console\"\n"
                                                   "from = [\"band\"]\nformat = \"json\"\nreceive = \"all\"\n")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return dir.file("recorded.jsonl", r.out);
}

/// "injected 20 events into ..." -> 20
int injected(const std::string& err) {
  std::smatch m;
  REQUIRE(std::regex_search(err, m, std::regex("injected ([0-9]+) events into ")));
  return std::stoi(m[1]);
}

} // namespace

TEST_CASE("inject: the same seed writes the same bytes, another seed other events") {
  temp_dir dir;
  const std::string data = dir.file("h.csv", flat_history(70, 60, "100"));
  auto inject = [&](const std::string& out, const std::string& seed) {
    return run({"inject", "--data", data, "--timezone", "Europe/Paris", "--seed", seed, "--out", dir.path() + "/" + out});
  };
  const auto a = inject("a.csv", "7"), b = inject("b.csv", "7"), c = inject("c.csv", "8");
  INFO(a.err);
  REQUIRE(a.exit_code == 0);
  REQUIRE(b.exit_code == 0);
  REQUIRE(c.exit_code == 0);
  CHECK(dir.read("a.csv") == dir.read("b.csv"));
  CHECK(dir.read("a.csv") != dir.read("c.csv"));
  CHECK(a.out.empty());  // the data goes to --out, the summary to stderr
  CHECK(std::regex_search(a.err, std::regex("injected 10 events into 1680 readings from 2008-01-07 to 2008-03-16 "
                                            "\\(--per-week 1, --seed 7\\): heater_night [0-9]+, oven_afternoon "
                                            "[0-9]+, heater_day [0-9]+; [0-9]+ readings changed; wrote .*a.csv\n")));
  const auto rows = rows_of(dir.read("a.csv"));
  REQUIRE(rows.size() == 1680);
  CHECK(rows[0].ts == "2008-01-07T00:00:00+01:00");  // local time, with its offset
  CHECK(rows[0].wh == 100);
  CHECK(events_in(rows, 100).size() == 10);
}

TEST_CASE("inject without --timezone warns that the events' hours are UTC's") {
  temp_dir dir;
  const std::string data = dir.file("h.csv", flat_history(14, 60, "100"));
  const auto utc = run({"inject", "--data", data, "--out", dir.path() + "/a.csv"});
  REQUIRE(utc.exit_code == 0);
  CHECK_THAT(utc.err, Contains("warning [runtime] no --timezone: events start at hours of the day in UTC, and the "
                               "times are written in UTC; give --timezone, the house's zone (e.g. Europe/Paris), for "
                               "its own hours\n"));
  CHECK(rows_of(dir.read("a.csv"))[0].ts == "2008-01-07T00:00:00+00:00");
  const auto given = run({"inject", "--data", data, "--timezone", "UTC", "--out", dir.path() + "/b.csv"});
  REQUIRE(given.exit_code == 0);
  CHECK(given.err.find("--timezone") == std::string::npos);
}

TEST_CASE("inject: --per-week sets how many events, one per period of 7 / rate days") {
  temp_dir dir;
  const std::string data = dir.file("h.csv", flat_history(140, 60, "100"));  // 20 weeks
  for (const auto& [rate, expected] : std::vector<std::pair<std::string, int>>{{"1", 20}, {"0.5", 10}, {"2", 40},
                                                                               {"4", 80}}) {
    const auto r = run({"inject", "--data", data, "--per-week", rate, "--seed", "3", "--out", dir.path() + "/l.csv"});
    INFO(rate << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(injected(r.err) == expected);
    CHECK(events_in(rows_of(dir.read("l.csv")), 100).size() == static_cast<std::size_t>(expected));
  }
}

TEST_CASE("inject: two events never touch, so eval reads as many events as were injected") {
  // A kind at any hour, as often as it fits: one ending as the next began (or in the hour after its
  // last reading) read as one event. Seed 3 merged three pairs before.
  temp_dir dir;
  const std::string data = dir.file("h.csv", flat_history(400, 60, "100"));
  for (const char* seed : {"2", "3"}) {
    const auto r = run({"inject", "--data", data, "--kinds", "k", "--kind", "k:1000:0-23:1-1", "--per-week", "6.72",
                        "--seed", seed, "--out", dir.path() + "/l.csv"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(injected(r.err) == 384);
    CHECK(events_in(rows_of(dir.read("l.csv")), 100).size() == 384);
  }
}

TEST_CASE("inject: no event over a hole in the history, so eval reads as many as were injected, each from a whole minute") {
  // Three days kept, three dropped: events either side of a hole, of one kind, were read by eval as one (157
  // injected, 135 read), and --per-week 4.9 started events at fractions of a minute.
  temp_dir dir;
  std::istringstream all(flat_history(240, 60, "100"));
  std::string csv, line;
  std::getline(all, line);
  csv = line + "\n";
  for (int i = 0; std::getline(all, line); ++i)
    if (i / 24 % 6 < 3) csv += line + "\n";
  const std::string data = dir.file("h.csv", csv), out = dir.path() + "/l.csv", model = dir.path() + "/band.toml";
  const auto r = run({"inject", "--data", data, "--per-week", "4.9", "--kinds", "heater_night", "--seed", "14",
                      "--out", out});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto rows = rows_of(dir.read("l.csv"));
  const auto events = events_in(rows, 100);
  CHECK(events.size() == static_cast<std::size_t>(injected(r.err)));
  CHECK(injected(r.err) > 30);
  for (const auto& e : events) {
    const double minutes = (rows[e.first].wh - 100) * 60 / 2000;  // on in its first hour
    CHECK(std::fabs(minutes - std::round(minutes)) < 1e-6);
  }
  REQUIRE(run({"train", "--scorer", "percentile_band", "--data", data, "--out", model, "--holdout", "0"}).exit_code ==
          0);
  const auto e = run({"eval", "--model", model, "--data", out, "--events", dir.path() + "/events.csv"});
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  const std::string written = dir.read("events.csv");
  CHECK(static_cast<std::size_t>(std::count(written.begin(), written.end(), '\n')) == events.size() + 1);  // + header
}

TEST_CASE("inject: events that fall in a gap of the history are left out, and the summary counts them") {
  temp_dir dir;
  // Four weeks from 2008-01-07, without the two in the middle (2008-01-14 .. 2008-01-27).
  std::istringstream all(flat_history(28, 60, "100"));
  std::string csv, line;
  while (std::getline(all, line)) {
    const bool in_gap = line.rfind("2008-01-", 0) == 0 && std::stoi(line.substr(8, 2)) >= 14 &&
                        std::stoi(line.substr(8, 2)) <= 27;
    if (!in_gap) csv += line + "\n";
  }
  const std::string data = dir.file("h.csv", csv);
  const auto r = run({"inject", "--data", data, "--per-week", "4", "--seed", "3", "--out", dir.path() + "/l.csv"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.err, m, std::regex("readings changed; left out ([0-9]+) more that fell wholly or "
                                                 "partly where the history has no readings; wrote ")));
  const int left_out = std::stoi(m[1]);
  // 16 periods of 1.75 days; the 7 within the first 13 days of the gap have no readings at all (an event in the
  // last one may run on into the day after it).
  CHECK(left_out >= 7);
  CHECK(injected(r.err) + left_out == 16);
  CHECK(events_in(rows_of(dir.read("l.csv")), 100).size() == static_cast<std::size_t>(injected(r.err)));
}

TEST_CASE("inject: every kind's power, start window and duration, on minute readings") {
  temp_dir dir;
  // 8 weeks of one reading a minute, each a minute's energy, 1 Wh: an event adds watts / 60 Wh to each of its
  // minutes.
  const std::string data = dir.file("minutes.csv", flat_history(56, 1, "1"));
  std::map<std::string, int> seen;
  for (const std::string seed : {"1", "2"}) {
    const auto r = run({"inject", "--data", data, "--data-set", "span=1m", "--timezone", "America/Vancouver",
                        "--per-week", "4", "--seed", seed, "--out", dir.path() + "/l.csv"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto rows = rows_of(dir.read("l.csv"));
    CHECK(rows.front().span_ms == 60000);  // the file says so: it reads back as minutes
    REQUIRE(rows.size() == 56 * 1440);
    const auto events = events_in(rows, 1);
    CHECK(events.size() == static_cast<std::size_t>(injected(r.err)));
    CHECK(events.size() == 32);
    for (const auto& e : events) {
      INFO(e.kind << " from " << rows[e.first].ts << ", " << e.count << " minutes");
      REQUIRE(builtin.count(e.kind));
      const kind_rule& k = builtin.at(e.kind);
      ++seen[e.kind];
      CHECK(starts_in_window(k, rows[e.first].minute_of_day()));
      CHECK(e.count >= k.min_hours * 60);
      CHECK(e.count <= k.max_hours * 60);
      for (std::size_t i = e.first; i < e.first + e.count; ++i) CHECK(std::fabs(rows[i].wh - (1 + k.watts / 60)) < 1e-6);
    }
  }
  CHECK(seen.size() == 3);
}

TEST_CASE("inject: on hourly readings an hour gets watts x 1 h, a partly covered one its share") {
  temp_dir dir;
  const std::string data = dir.file("h.csv", flat_history(140, 60, "100"));
  const auto r = run({"inject", "--data", data, "--timezone", "Europe/Paris", "--per-week", "2", "--seed", "5",
                      "--out", dir.path() + "/l.csv"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto rows = rows_of(dir.read("l.csv"));
  const auto events = events_in(rows, 100);
  REQUIRE(events.size() == 40);
  std::map<std::string, int> seen;
  for (const auto& e : events) {
    INFO(e.kind << " from " << rows[e.first].ts << ", " << e.count << " readings, +" << e.added << " Wh");
    const kind_rule& k = builtin.at(e.kind);
    ++seen[e.kind];
    // the energy of the whole event, its duration in whole minutes within the kind's
    const double hours = e.added / k.watts;
    CHECK(std::fabs(hours * 60 - std::round(hours * 60)) < 1e-6);
    CHECK(hours >= k.min_hours - 1e-9);
    CHECK(hours <= k.max_hours + 1e-9);
    // it starts in the first reading's hour, whose local hour (the text of ts) is in the window
    CHECK((starts_in_window(k, rows[e.first].minute_of_day()) ||
           starts_in_window(k, rows[e.first].minute_of_day() + 59)));
    // readings it covers whole get watts x 1 h, the first and the last at most that
    for (std::size_t i = e.first; i < e.first + e.count; ++i) {
      const double added = rows[i].wh - 100;
      CHECK(added > 0);
      if (i > e.first && i + 1 < e.first + e.count) CHECK(std::fabs(added - k.watts) < 1e-6);
      else CHECK(added <= k.watts + 1e-6);
    }
  }
  CHECK(seen.size() == 3);
}

TEST_CASE("inject: eval reads back every reading, at the same instants and local hours") {
  temp_dir dir;
  // Across the spring and autumn changes in Paris.
  const std::string data = dir.file("h.csv", flat_history(300, 60, "100"));
  const std::string out = dir.path() + "/l.csv", again = dir.path() + "/again.csv";
  REQUIRE(run({"inject", "--data", data, "--timezone", "Europe/Paris", "--seed", "2", "--out", out}).exit_code == 0);
  const auto rows = rows_of(dir.read("l.csv"));
  CHECK(rows.size() == 300 * 24);
  // 2008-03-30T02:00 does not exist in Paris: read as 03:00+02:00, as every command reads it
  CHECK_THAT(dir.read("l.csv"), Contains("\n2008-03-30T01:00:00+01:00,"));
  CHECK_THAT(dir.read("l.csv"), Contains("\n2008-03-30T03:00:00+02:00,"));
  CHECK_THAT(dir.read("l.csv"), Contains("\n2008-06-01T12:00:00+02:00,"));

  // eval sees every reading, labelled
  const std::string model = dir.path() + "/band.toml";
  REQUIRE(run({"train", "--scorer", "percentile_band", "--data", data, "--timezone", "Europe/Paris", "--out", model,
               "--holdout", "0"})
              .exit_code == 0);
  const auto e = run({"eval", "--model", model, "--data", out, "--timezone", "Europe/Paris"});
  INFO(e.out << e.err);
  REQUIRE(e.exit_code == 0);
  std::size_t labelled = 0;
  for (const auto& r : rows) labelled += r.label != "0";
  CHECK_THAT(e.out, Contains("history: 7200 readings on 300 days, " + std::to_string(labelled) + " labelled anomalous"));

  // injecting into the output again reads and writes the very same timestamps
  const auto r = run({"inject", "--data", out, "--timezone", "Europe/Paris", "--seed", "9", "--out", again});
  REQUIRE(r.exit_code == 0);
  const auto twice = rows_of(dir.read("again.csv"));
  REQUIRE(twice.size() == rows.size());
  std::size_t same_ts = 0, kept = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    same_ts += twice[i].ts == rows[i].ts;
    // a label of the first injection survives where the second puts no event
    kept += rows[i].label != "0" && twice[i].wh == rows[i].wh && twice[i].label == rows[i].label;
  }
  CHECK(same_ts == rows.size());
  CHECK(kept > 0);
}

TEST_CASE("inject: --kinds chooses kinds, --kind defines or changes one") {
  temp_dir dir;
  const std::string data = dir.file("m.csv", flat_history(28, 1, "1"));
  const std::string out = dir.path() + "/l.csv";
  auto inject = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"inject", "--data", data, "--data-set", "span=1m", "--out", out, "--per-week", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  };
  auto r = inject({"--kinds", "oven_afternoon"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("(--per-week 2, --seed 1): oven_afternoon 8; "));
  const auto ovens = events_in(rows_of(dir.read("l.csv")), 1);
  CHECK(ovens.size() == 8);
  for (const auto& e : ovens) CHECK(e.kind == "oven_afternoon");

  // a new kind, alone: 3 kW switched on between 05:00 and 06:00 for 30 to 45 minutes
  auto rows = inject_alone(dir, data, "1m", "boiler:3000:5-6:0.5-0.75");
  auto events = events_in(rows, 1);
  REQUIRE(events.size() == 8);
  for (const auto& e : events) {
    CHECK(e.kind == "boiler");
    CHECK(e.count >= 30);
    CHECK(e.count <= 45);
    CHECK(rows[e.first].minute_of_day() >= 5 * 60);
    CHECK(rows[e.first].minute_of_day() <= 6 * 60);
    CHECK(std::fabs(rows[e.first].wh - 51) < 1e-6);
  }

  // a built-in kind changed: a weaker night heater, with the other two
  r = inject({"--kind", "heater_night:500:22-1:2-7"});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("): heater_night "));
  rows = rows_of(dir.read("l.csv"));
  std::size_t night_heaters = 0;
  for (const auto& e : events_in(rows, 1))
    if (e.kind == "heater_night") {
      ++night_heaters;
      CHECK(std::fabs(rows[e.first].wh - (1 + 500.0 / 60)) < 1e-6);
    }
  CHECK(night_heaters > 0);

  // without --kinds, a new kind joins the built-in ones
  r = inject({"--kind", "boiler:3000:5-6:0.5-0.75", "--seed", "4"});
  REQUIRE(r.exit_code == 0);
  CHECK(std::regex_search(r.err, std::regex("heater_night [0-9]+, oven_afternoon [0-9]+, heater_day [0-9]+, boiler "
                                            "[0-9]+; ")));
}

TEST_CASE("inject: a kind cycling on its thermostat adds its power in its on minutes only") {
  temp_dir dir;
  // Minute readings: 2.4 kW on for 3 minutes, off for 2, from the switch-on.
  auto rows = inject_alone(dir, dir.file("m.csv", flat_history(28, 1, "1")), "1m", "convector:2400:22-1:2-7:3/2");
  auto events = events_in(rows, 1);
  REQUIRE(events.size() == 8);
  for (const auto& e : events) {
    CHECK(e.kind == "convector");
    for (std::size_t i = 0; i < e.count; ++i) {
      INFO("minute " << i << " of the event from " << rows[e.first].ts);
      CHECK(std::fabs(rows[e.first + i].wh - (i % 5 < 3 ? 1 + 2400.0 / 60 : 1)) < 1e-6);
    }
  }
  // Hourly readings: an hour wholly inside gets 12 cycles' 36 minutes on.
  rows = inject_alone(dir, dir.file("h.csv", flat_history(28, 60, "100")), "1h", "convector:2400:22-1:3-7:3/2");
  events = events_in(rows, 100);
  REQUIRE(events.size() == 8);
  for (const auto& e : events)
    for (std::size_t i = e.first + 1; i + 1 < e.first + e.count; ++i) CHECK(std::fabs(rows[i].wh - 1540) < 1e-6);
}

TEST_CASE("inject into a Pi's own readings: each covers its trailing hour, and its power_w is raised while on") {
  temp_dir dir;
  const std::string data = pi_history(dir, 14);
  const std::string out = dir.path() + "/l.csv";
  // A 2 kW heater switched on at 01:00 for exactly two hours, once a week.
  const auto r = run({"inject", "--data", data, "--out", out, "--per-week", "1", "--kind", "heater:2000:1-1:2-2",
                      "--kinds", "heater"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(injected(r.err) == 2);
  const std::string csv = dir.read("l.csv");
  CHECK(csv.rfind("ts,wh,pulses,power_w,label\n", 0) == 0);  // gpio_meter's labels are kept, as columns
  // The first event's day, "2008-01-07", then its readings: HH:MM -> "wh,pulses,power_w,label".
  const std::string day = csv.substr(csv.rfind('\n', csv.find(",heater")) + 1, 10);
  std::map<std::string, std::string> row;
  std::istringstream in(csv);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(day, 0) == 0) row[line.substr(11, 5)] = line.substr(26);
  // The trailing hour stamped 00:30 holds the heater's first half hour; its power, measured at 01:30, has it.
  CHECK(row["00:00"] == "500,500,500,0");       // the hour to 01:00: read as the heater comes on
  CHECK(row["00:01"] == "533.333333,500,2500,heater");
  CHECK(row["00:30"] == "1500,500,2500,heater");
  CHECK(row["01:30"] == "2500,500,2500,heater");
  CHECK(row["02:00"] == "2500,500,500,heater");  // read at 03:00, as it goes off
  CHECK(row["02:30"] == "1500,500,500,heater");
  CHECK(row["03:00"] == "500,500,500,0");

  // And the Pi's own readings so labelled judge its configuration: power_step (the shipped model, 1500 W at
  // 01:00) tells both heaters, within 15 minutes of the first reading they show in, and nothing else.
  const auto e = run({"eval", "--model", std::string(STREAM_SMARTS_SOURCE_DIR) + "/models/household-power-step.toml",
                      "--data", out});
  INFO(e.out << e.err);
  REQUIRE(e.exit_code == 0);
  CHECK(std::regex_search(e.out, std::regex("power_step .* 0\\.00 +2/2\n")));
  CHECK(std::regex_search(e.out, std::regex("heater +2 +2 +1\\.00 +([0-9]|1[0-5]) min ")));
}

TEST_CASE("inject reads back what a pipeline recorded with receive = all, as the history it was") {
  temp_dir dir;
  // A week and a day of a Pi's readings, recorded.
  const std::string data = pi_history(dir, 8);
  const std::string history = recorded(dir, "path = \"pi.csv\"");
  auto inject = [&](const std::string& from, const std::string& out) {
    const auto r = run({"inject", "--data", from, "--out", dir.path() + "/" + out, "--kind", "heater:2000:1-1:2-2",
                        "--kinds", "heater"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(injected(r.err) == 1);
    return dir.read(out);
  };
  const std::string from_csv = inject(data, "from_csv.csv");
  CHECK(inject(history, "from_jsonl.csv") == from_csv);  // the same readings, labels, and nothing of the verdict
  CHECK(from_csv.rfind("ts,wh,pulses,power_w,label\n", 0) == 0);
}

TEST_CASE("a recording says its readings' span: read back, it needs no span option") {
  temp_dir dir;
  // Eight days of a minute's energy each (600 W), replayed with span = "1m"
  // and recorded as JSON: each record says "span_ms":60000.
  const std::string minutes = dir.file("minutes.csv", flat_history(8, 1, "10"));
  const std::string history = recorded(dir, "path = \"minutes.csv\"\nspan = \"1m\"");
  REQUIRE_THAT(dir.read("recorded.jsonl"), Contains("\"span_ms\":60000,"));
  // A heater from 01:00 for two hours adds 2000 W x 1 min = 33.3 Wh to each minute: read as an hour's
  // energy (the option's default), each would get 2000 Wh.
  auto inject = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--kind", "heater:2000:1-1:2-2", "--kinds", "heater", "--out", dir.path() + "/l.csv"});
    const auto r = run(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return rows_of(dir.read("l.csv"));
  };
  const auto from_csv = inject({"inject", "--data", minutes, "--data-set", "span=1m"});
  const auto from_jsonl = inject({"inject", "--data", history});
  REQUIRE(from_jsonl.size() == from_csv.size());
  const auto events = events_in(from_jsonl, 10);
  REQUIRE(events.size() == 1);
  CHECK(events[0].count == 120);
  CHECK(std::fabs(from_jsonl[events[0].first].wh - (10 + 2000.0 / 60)) < 1e-5);
  for (std::size_t i = 0; i < from_csv.size(); ++i) {
    CHECK(from_jsonl[i].wh == from_csv[i].wh);
    CHECK(from_jsonl[i].label == from_csv[i].label);
    CHECK(from_jsonl[i].span_ms == 60000);
  }
  // And inject's own file says it too: injected into again, its minutes stay minutes.
  const std::string labelled = dir.file("labelled.csv", dir.read("l.csv"));
  const auto again = inject({"inject", "--data", labelled, "--seed", "2"});
  const auto second = events_in(again, 10);
  REQUIRE(second.size() == 2);  // the first injection's heater is kept where the second puts none
  for (const auto& e : second) CHECK(std::fabs(again[e.first].wh - (10 + 2000.0 / 60)) < 1e-5);
}

TEST_CASE("inject refuses bad options, naming the option and the form it expects") {
  temp_dir dir;
  const std::string data = dir.file("h.csv", flat_history(14, 60, "100"));
  const std::string out = dir.path() + "/l.csv";
  auto inject = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"inject", "--data", data, "--out", out};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  };
  const std::string form =
      " (expected NAME:WATTS:FIRST_HOUR-LAST_HOUR:MIN_H-MAX_H[:ON_MIN/OFF_MIN], e.g. heater_night:2000:22-1:2-7)";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--kind", "heater"}, "--kind 'heater': it has 1 part separated by ':', not 4 or 5" + form},
      {{"--kind", "a:1:2:3:4:5"}, "--kind 'a:1:2:3:4:5': it has 6 parts separated by ':', not 4 or 5" + form},
      {{"--kind", "my heater:2000:22-1:2-7"},
       "--kind 'my heater:2000:22-1:2-7': NAME must be letters, digits, '_' or '-', not 'my heater'" + form},
      {{"--kind", "0:2000:22-1:2-7"},
       "--kind '0:2000:22-1:2-7': NAME cannot be '0', which eval reads as the label of an ordinary reading (0, false, "
       "no)"},
      // eval read these as ordinary too, and counted every event's alert as a false one.
      {{"--kind", "No:2000:22-1:2-7"},
       "--kind 'No:2000:22-1:2-7': NAME cannot be 'No', which eval reads as the label of an ordinary reading (0, "
       "false, no)"},
      {{"--kind", "00:2000:22-1:2-7"},
       "--kind '00:2000:22-1:2-7': NAME cannot be '00', which eval reads as the label of an ordinary reading (0, "
       "false, no)"},
      {{"--kind", "h:2kW:22-1:2-7"},
       "--kind 'h:2kW:22-1:2-7': WATTS must be a number above 0, at most 100000 (100 kW), not '2kW'" + form},
      {{"--kind", "h:-5:22-1:2-7"}, "WATTS must be a number above 0, at most 100000 (100 kW), not '-5'"},
      {{"--kind", "h:1e308:22-1:2-7"}, "WATTS must be a number above 0, at most 100000 (100 kW), not '1e308'"},
      {{"--kind", "h:2000:22:2-7"},
       "--kind 'h:2000:22:2-7': FIRST_HOUR-LAST_HOUR must be two hours of the day from 0 to 23 such as 22-1 "
       "(22:00 to 01:00), not '22'" + form},
      {{"--kind", "h:2000:22-24:2-7"}, "FIRST_HOUR-LAST_HOUR must be two hours of the day from 0 to 23"},
      {{"--kind", "h:2000:22-1:7-2"},
       "--kind 'h:2000:22-1:7-2': MIN_H-MAX_H must be two durations in hours, at least a minute, the first not above "
       "the second, such as 2-7 or 0.5-1.5, not '7-2'" + form},
      {{"--kind", "h:2000:22-1:0-2"}, "MIN_H-MAX_H must be two durations in hours, at least a minute"},
      {{"--kind", "h:2000:22-1:2-200"}, "--kind 'h:2000:22-1:2-200': an event cannot last more than a week (168 hours)"},
      {{"--kind", "h:2000:22-1:2-7:3"},
       "--kind 'h:2000:22-1:2-7:3': ON_MIN/OFF_MIN must be two whole numbers of minutes, each at least 1, such as 3/2 "
       "(on for 3 minutes, off for 2, from the switch-on), not '3'" + form},
      {{"--kind", "h:2000:22-1:2-7:3/0"}, "ON_MIN/OFF_MIN must be two whole numbers of minutes, each at least 1"},
      {{"--kind", "h:2000:22-1:2-7:1.5/2"}, "ON_MIN/OFF_MIN must be two whole numbers of minutes, each at least 1"},
      {{"--kind", "h:1:1-2:1-2", "--kind", "h:2:1-2:1-2"}, "--kind 'h:2:1-2:1-2': 'h' is defined by another --kind already"},
      {{"--kinds", "oven"},
       "--kinds: no kind named 'oven'; built in: heater_night, oven_afternoon, heater_day; define others with --kind "
       "NAME:WATTS:FIRST_HOUR-LAST_HOUR:MIN_H-MAX_H[:ON_MIN/OFF_MIN], e.g. heater_night:2000:22-1:2-7"},
      {{"--kinds", "heater_nigth"}, "--kinds: no kind named 'heater_nigth' (did you mean 'heater_night'?)"},
      {{"--kinds", "heater_night,,heater_day"},
       "--kinds 'heater_night,,heater_day' must be kind names separated by commas, such as heater_night, "
       "oven_afternoon, heater_day; it has an empty one"},
      {{"--kinds", "heater_day,heater_day"}, "--kinds 'heater_day,heater_day' names 'heater_day' twice"},
      {{"--per-week", "0"}, "--per-week must be a number of events per week above 0, such as 1 or 0.5, not 0"},
      {{"--per-week", "often"}, "--per-week needs a number, not 'often'"},
      {{"--per-week", "6"},
       "--per-week 6 is too many: each event needs a period of its longest duration plus a day to be placed in; "
       "with these kinds at most 4.94 per week"},
      {{"--seed", "x"}, "--seed needs a whole number of 0 or more, not 'x'"},
      {{"--data-set", "stat=2008-01-01"}, "unknown option 'stat' for source 'history' (replay) (did you mean 'start'?)"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = inject(args);
    INFO(args.front() << " " << args[1]);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains(message));
  }
  // a short kind allows more per week
  auto r = inject({"--kinds", "oven_afternoon", "--per-week", "6"});
  CHECK(r.exit_code == 0);

  r = run({"inject", "--data", data});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("inject needs --data (or --source) and --out"));
  r = run({"inject", "--out", out});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("inject needs --data (or --source) and --out"));
  r = inject({"--source", "replai"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("no source plugin named 'replai' (did you mean 'replay'?)"));
  r = inject({"--source", "file"});  // a sink with a history file of its own (path): only the one error
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("no source plugin named 'file' ('file' is a sink)"));
  CHECK_THAT(r.err, !Contains("--data is the path of a history file"));

  r = run({"inject", "--data", data, "--out", dir.path() + "/no/such/dir/l.csv"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("cannot write " + dir.path() + "/no/such/dir/l.csv: No such file or directory"));
  r = inject({"--data-set", "start=2030-01-01T00:00:00"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("stream-smarts: the history has no readings\n"));

  // shorter than a period: no event, said so
  r = inject({"--per-week", "0.1"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("injected 0 events into 336 readings"));
  CHECK_THAT(r.err, Contains("(the history is shorter than one period of 70 days: no event)"));
}

TEST_CASE("inject keeps the history's meter, so the labelled file replays as that meter") {
  temp_dir dir;
  std::string csv = "ts,wh,meter\n";
  for (int h = 0; h < 24 * 21; ++h) csv += history_time(h / 24, 60 * (h % 24)) + ",120,flat-7\n";
  const std::string out = dir.path() + "/l.csv";
  const auto r = run({"inject", "--data", dir.file("h.csv", csv), "--out", out});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string labelled = dir.read("l.csv");
  CHECK(labelled.rfind("ts,wh,meter,label\n", 0) == 0);
  std::size_t rows = 0;
  for (auto at = labelled.find(",flat-7,"); at != std::string::npos; at = labelled.find(",flat-7,", at + 1)) ++rows;
  CHECK(rows == 24 * 21);
}

TEST_CASE("inject writes a kWh export's readings in Wh to a millionth, as they read back") {
  temp_dir dir;
  std::string csv = "ts,wh\n";
  for (int h = 0; h < 24 * 21; ++h) csv += history_time(h / 24, 60 * (h % 24)) + ",2.61587\n";
  const auto r = run({"inject", "--data", dir.file("h.csv", csv), "--data-set", "wh_unit=kWh", "--out",
                      dir.path() + "/l.csv"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string labelled = dir.read("l.csv");
  CHECK_THAT(labelled, Contains(",2615.87,0\n"));
  CHECK(labelled.find("0000000") == std::string::npos);
}

TEST_CASE("inject reads a utility's own export through the replay source's options") {
  // A German portal's export: ';' between columns, date and time apart,
  // day first, kWh with a decimal comma. Read as told, it is Wh a reading.
  temp_dir dir;
  std::string csv = "Datum;Uhrzeit;Verbrauch (kWh)\n";
  for (int h = 0; h < 24 * 21; ++h) {
    const std::string iso = history_time(h / 24, 60 * (h % 24));  // 2008-01-07T00:00:00
    csv += iso.substr(8, 2) + "." + iso.substr(5, 2) + "." + iso.substr(0, 4) + ";" + iso.substr(11, 5) + ";0,35\n";
  }
  const std::string data = dir.file("export.csv", csv);
  const std::vector<std::string> told = {"--data-set", "delimiter=;", "--data-set", "decimal=,",
                                         "--data-set", "ts_field=Datum", "--data-set", "time_field=Uhrzeit",
                                         "--data-set", "ts_format=%d.%m.%Y %H:%M", "--data-set",
                                         "wh_field=Verbrauch (kWh)", "--data-set", "wh_unit=kWh"};
  std::vector<std::string> args = {"inject", "--data", data, "--out", dir.path() + "/l.csv"};
  args.insert(args.end(), told.begin(), told.end());
  const auto r = run(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string labelled = dir.read("l.csv");
  CHECK(labelled.rfind("ts,wh,label\n2008-01-07T00:00:00+00:00,350,0\n", 0) == 0);
  CHECK_THAT(labelled, Contains("\n2008-01-27T23:00:00+00:00,350,0\n"));

  // Not told, the same file is refused with the option that reads it.
  const auto plain = run({"inject", "--data", data, "--out", dir.path() + "/p.csv"});
  CHECK(plain.exit_code == 2);
  CHECK_THAT(plain.err, Contains("export.csv:1: header row has no 'ts' column: 'Datum;Uhrzeit;Verbrauch (kWh)'; it "
                                 "has one column: its columns are separated by ';': set delimiter = \";\""));
}

TEST_CASE("inject reads an Emoncms feed: no header row, epoch seconds, a kWh index") {
  temp_dir dir;
  std::string csv;
  const long first = 1199664000;  // 2008-01-07T00:00:00Z
  for (int h = 0; h <= 24 * 21; ++h) csv += std::to_string(first + 3600L * h) + "," + std::to_string(5000 + 0.4 * h) + "\n";
  const std::string data = dir.file("feed.csv", csv);
  const auto r = run({"inject", "--data", data, "--out", dir.path() + "/l.csv", "--data-set", "columns=[\"ts\", \"wh\"]",
                      "--data-set", "ts_format=epoch_s", "--data-set", "wh_unit=kWh", "--data-set", "wh_kind=index"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string labelled = dir.read("l.csv");
  CHECK(labelled.rfind("ts,wh,label\n2008-01-07T00:00:00+00:00,400,0\n", 0) == 0);  // the use of the hour from 00:00
  CHECK_THAT(labelled, Contains("\n2008-01-27T23:00:00+00:00,400,0\n"));

  // Read as the default form, the first line is no header; it says so.
  const auto plain = run({"inject", "--data", data, "--out", dir.path() + "/p.csv"});
  CHECK(plain.exit_code == 2);
  CHECK_THAT(plain.err, Contains("feed.csv:1: header row has no 'ts' column: '1199664000,5000.000000'; it looks like "
                                 "data: a file without a header row needs its columns named (columns = [\"ts\", "
                                 "\"wh\"])"));
}

TEST_CASE("inject places end-stamped readings in the hour the end of summer time repeats") {
  // A German portal's quarter-hours stamped at their end, in local time
  // without an offset, across 2024-10-27 in Europe/Paris: 02:00 to 02:45
  // come twice (the clock shows 02:00 again where 03:00 summer time would
  // be). Each repeated time is placed first, then moved to its quarter's
  // start: every quarter once, in order (before, the second 02:00 started
  // where the first did, and a quarter was lost).
  temp_dir dir;
  std::string csv = "ts,wh\n";
  const char* ends[] = {"01:45", "02:00", "02:15", "02:30", "02:45", "02:00", "02:15", "02:30", "02:45", "03:00", "03:15"};
  for (const char* end : ends) csv += std::string("2024-10-27T") + end + ":00,100\n";
  const auto r = run({"inject", "--timezone", "Europe/Paris", "--data", dir.file("q.csv", csv), "--data-set", "span=15m",
                      "--data-set", "ts_marks=end", "--out", dir.path() + "/l.csv"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, !Contains("repeat"));
  CHECK(dir.read("l.csv") ==
        "ts,wh,span_ms,label\n"
        "2024-10-27T01:30:00+02:00,100,900000,0\n2024-10-27T01:45:00+02:00,100,900000,0\n"
        "2024-10-27T02:00:00+02:00,100,900000,0\n2024-10-27T02:15:00+02:00,100,900000,0\n"
        "2024-10-27T02:30:00+02:00,100,900000,0\n2024-10-27T02:45:00+02:00,100,900000,0\n"
        "2024-10-27T02:00:00+01:00,100,900000,0\n2024-10-27T02:15:00+01:00,100,900000,0\n"
        "2024-10-27T02:30:00+01:00,100,900000,0\n2024-10-27T02:45:00+01:00,100,900000,0\n"
        "2024-10-27T03:00:00+01:00,100,900000,0\n");
}

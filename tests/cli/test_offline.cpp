// `stream-smarts train`, `eval` and `report`, run as a user would, on small
// synthetic histories whose right answers are known.
#include "fixture_pipeline.hpp"
#include "history_text.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

using namespace test_support;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

/// `days` days of hourly readings from 2008-01-07 (a Monday): every hour of
/// day d is 100 + (d % 5) * 10 Wh, so a p0-p100 band is [100, 140], median 120.
std::string hourly_days(int days) {
  std::string csv = "ts,wh\n";
  for (int d = 0; d < days; ++d)
    for (int h = 0; h < 24; ++h) csv += history_time(d, 60 * h) + "," + std::to_string(100 + (d % 5) * 10) + "\n";
  return csv;
}

std::string four_weeks() { return hourly_days(28); }

/// One week from 2008-02-04, all 120 Wh, with labelled anomalies: four
/// 500 Wh readings alerted and truly anomalous, a 130 Wh one anomalous but
/// inside the band (missed), and two unlabelled 300 Wh (false alerts).
std::string labelled_week() {
  std::string csv = "ts,wh,label\n";
  for (int d = 0; d < 7; ++d)
    for (int h = 0; h < 24; ++h) {
      std::string wh = "120", label = "0";
      if ((d == 0 && (h == 3 || h == 4)) || (d == 2 && h == 3)) wh = "500", label = "1";
      if (d == 3 && h == 5) wh = "500", label = "heater";
      if (d == 4 && h == 3) wh = "130", label = "1";
      if (d == 5 && h == 12) wh = "300";
      if (d == 6 && h == 13) wh = "300", label = "";
      csv += history_time(28 + d, 60 * h) + "," + wh + "," + label + "\n";
    }
  return csv;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

} // namespace

TEST_CASE("train prints a hold-out report on the last days, and the same --seed gives the same report and model") {
  temp_dir dir;
  const std::string data = dir.file("history.csv", four_weeks());
  auto train = [&](const std::string& out, const std::string& seed) {
    return run({"train", "--scorer", "percentile_band", "--data", data, "--out", dir.path() + "/" + out, "--seed",
                seed});
  };
  const auto a = train("a.toml", "3"), b = train("b.toml", "3");
  INFO(a.err);
  REQUIRE(a.exit_code == 0);
  // Four weeks: trained on the first 22 days, judged on the last 6 (a fifth, rounded).
  CHECK_THAT(a.out, StartsWith("hold-out (--holdout 0.2): trained on 528 readings on 22 days (2008-01-07 to "
                               "2008-01-28), judged on the 144 readings on 6 days (2008-01-29 to 2008-02-03) after "
                               "them\n"));
  CHECK_THAT(a.out, Contains("\n  coverage      "));
  CHECK_THAT(a.out, Contains(" % of held-out readings inside the expected band\n  centre error  "));
  CHECK_THAT(a.out, Contains(" held-out readings score above 1.00 ("));
  CHECK_THAT(a.out, Contains("percentile_band: 672 readings from 2008-01-07T00:00:00+00:00 to 2008-02-03T23:00:00+00:00"));
  CHECK(a.out.substr(0, a.out.rfind("written to")) == b.out.substr(0, b.out.rfind("written to")));
  CHECK(dir.read("a.toml") == dir.read("b.toml"));
  CHECK_THAT(dir.read("a.toml"), Contains("[100.0, 140.0, 120.0],  # 00:00"));
  CHECK_FALSE(count(a.err, "\033[K"));  // no terminal, no progress bar

  const auto without = run({"train", "--scorer", "percentile_band", "--data", data, "--out", dir.path() + "/d.toml",
                            "--holdout", "0"});
  REQUIRE(without.exit_code == 0);
  CHECK(without.out.find("hold-out") == std::string::npos);
  CHECK(dir.read("d.toml") == dir.read("a.toml"));  // the model is always trained on all of the history
}

TEST_CASE("train's hold-out report judges the events inject adds to the held-out days") {
  // Ten weeks of a flat house: the last 14 days are held out, and a band of
  // everything seen catches any heater or oven added to them.
  temp_dir dir;
  const std::string data = dir.file("history.csv", hourly_days(70));
  const auto trained = run({"train", "--scorer", "percentile_band", "--data", data, "--out", dir.path() + "/m.toml",
                            "--seed", "2"});
  INFO(trained.out << trained.err);
  REQUIRE(trained.exit_code == 0);
  CHECK_THAT(trained.out, Contains("judged on the 336 readings on 14 days (2008-03-03 to 2008-03-16) after them\n"));
  // The line for what inject --seed N adds from 2008-03-03 on (runs of one
  // label, by kind), as a regex; caught: how many of each, "[0-9]+" if unknown.
  const auto events_line = [&](const std::string& seed, bool all_caught) {
    const std::string labelled = dir.path() + "/l" + seed + ".csv";
    REQUIRE(run({"inject", "--data", data, "--seed", seed, "--out", labelled}).exit_code == 0);
    std::map<std::string, int> events;
    std::string before = "0";
    const auto lines = lines_of(dir.read("l" + seed + ".csv"));
    REQUIRE(lines.at(0) == "ts,wh,label");
    for (auto line = lines.begin() + 1; line != lines.end(); ++line) {
      const std::string label = line->substr(line->rfind(',') + 1);
      if (*line >= "2008-03-03" && label != "0" && label != before) ++events[label];
      before = label;
    }
    int all = 0;
    std::string kinds;
    for (const auto& [kind, n] : events) {
      all += n;
      kinds += (kinds.empty() ? ": " : ", ") + kind + " " + (all_caught ? std::to_string(n) : "[0-9]+") + "/" +
               std::to_string(n);
    }
    REQUIRE(all > 0);
    REQUIRE(all < 10);  // inject adds 10 to the whole history
    return std::regex("\n  events        " + (all_caught ? std::to_string(all) : "[0-9]+") + " of " +
                      std::to_string(all) + " caught \\(" + (all_caught ? "100\\.0" : "[0-9.]+") + " %" + kinds +
                      "\\), added as inject --seed " + seed + " adds them\n");
  };
  CHECK(std::regex_search(trained.out, events_line("2", true)));

  // Trained on inject's output: its own labels are not the report's events,
  // and its alerts on them are said to be on labelled readings.
  const auto labelled = run({"train", "--scorer", "percentile_band", "--data", dir.path() + "/l2.csv", "--out",
                             dir.path() + "/l.toml", "--seed", "3"});
  REQUIRE(labelled.exit_code == 0);
  INFO(labelled.out);
  CHECK(std::regex_search(labelled.out, events_line("3", false)));  // seed 2's own would make more
  // Every alert of a flat house is on an event (the band learnt the trained days' events).
  CHECK(std::regex_search(labelled.out, std::regex("\n  alerts        ([1-9][0-9]*) held-out readings score above "
                                                   "1.00 \\([0-9.]+ per week\\), \\1 of them on readings the "
                                                   "history labels anomalous\n")));

  // A hold-out of one day that no event of --seed 1 falls on.
  const auto one_day = run({"train", "--scorer", "percentile_band", "--data", data, "--out", dir.path() + "/d.toml",
                            "--holdout", "0.01"});
  REQUIRE(one_day.exit_code == 0);
  CHECK_THAT(one_day.out, Contains("\n  events        none fell on the held-out days (added as inject --seed 1 adds "
                                   "them)\n"));
}

TEST_CASE("train's hold-out report and eval count the alerts of minute readings in clock hours too") {
  // Four weeks of 10-minute readings: 100 Wh, but 100 + 10 x day at 03:xx, so
  // each held-out day (the last, above the training days' median) alerts six times in one hour.
  std::string csv = "ts,wh\n";
  for (int d = 0; d < 28; ++d)
    for (int m = 0; m < 24 * 60; m += 10)
      csv += history_time(d, m) + "," + std::to_string(m / 60 == 3 ? 100 + 10 * d : 100) + "\n";
  temp_dir dir;
  const std::string data = dir.file("minutes.csv", csv);
  const auto r = run({"train", "--scorer", "percentile_band", "--data", data, "--out", dir.path() + "/m.toml",
                      "--set", "hi_percentile=50", "--seed", "3"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex("  alerts        ([0-9]+) held-out readings score above 1.00 "
                                                 "\\([0-9.]+ per week\\), in ([0-9]+) clock hours? \\([0-9.]+ per week\\)\n")));
  CHECK(std::stoi(m[2]) > 0);
  CHECK(std::stoi(m[1]) == 6 * std::stoi(m[2]));
  // eval, after its table, as alerts_per_week counts them.
  const auto judged = run({"eval", "--model", dir.path() + "/m.toml", "--data", data});
  INFO(judged.out);
  REQUIRE(judged.exit_code == 0);
  REQUIRE(std::regex_search(judged.out, m, std::regex("\n" + dir.path() + "/m.toml: ([0-9]+) alerts, in ([0-9]+) "
                                                      "clock hours \\([0-9.]+ per week\\)\n")));
  CHECK(std::stoi(m[1]) == 6 * std::stoi(m[2]));
  // Hourly readings: one alert is one hour, nothing to add.
  const auto hourly = run({"train", "--scorer", "percentile_band", "--data", dir.file("hours.csv", four_weeks()),
                           "--out", dir.path() + "/h.toml", "--set", "hi_percentile=50"});
  REQUIRE(hourly.exit_code == 0);
  CHECK_THAT(hourly.out, Contains(" per week)\n"));
  CHECK(hourly.out.find("clock hours") == std::string::npos);
}

TEST_CASE("train, eval, report and inject refuse a history that looks like kWh, and read it as kWh when told") {
  std::string csv = "ts,kwh\n";  // four weeks of 0.1-0.14 kWh an hour
  for (int d = 0; d < 28; ++d)
    for (int h = 0; h < 24; ++h) csv += history_time(d, 60 * h) + "," + std::to_string(0.1 + (d % 5) * 0.01) + "\n";
  temp_dir dir;
  const std::string data = dir.file("kwh.csv", csv);
  const std::string refusal = "stream-smarts: the history's median reading is 0.12 Wh an hour, less than any "
                              "household uses: if its numbers are kWh, give --data-set wh_unit=kWh (or wh_unit=Wh "
                              "if they are Wh)\n";
  const auto as_wh = run({"train", "--scorer", "percentile_band", "--data", data, "--data-set", "wh_field=kwh",
                          "--out", dir.path() + "/wh.toml", "--holdout", "0"});
  CHECK(as_wh.exit_code == 2);
  CHECK_THAT(as_wh.err, Catch::EndsWith(refusal));
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/wh.toml"));
  const auto as_kwh = run({"train", "--scorer", "percentile_band", "--data", data, "--data-set", "wh_field=kwh",
                           "--data-set", "wh_unit=kWh", "--out", dir.path() + "/kwh.toml", "--holdout", "0"});
  CHECK(as_kwh.exit_code == 0);
  CHECK(as_kwh.err.find("median reading") == std::string::npos);
  CHECK_THAT(dir.read("kwh.toml"), Contains("140"));  // the band's top, in Wh
  // Told it is Wh, they take it as Wh (a meter of one small appliance).
  CHECK(run({"train", "--scorer", "percentile_band", "--data", data, "--data-set", "wh_field=kwh", "--data-set",
             "wh_unit=Wh", "--out", dir.path() + "/wh.toml", "--holdout", "0"})
            .exit_code == 0);
  // Not only train: inject would add 2000 Wh events to readings of 0.12, and eval call the model perfect.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"eval", "--model", dir.path() + "/kwh.toml"},
           {"report", "--model", dir.path() + "/kwh.toml", "--out", dir.path() + "/r.svg"},
           {"inject", "--out", dir.path() + "/l.csv"}}) {
    std::vector<std::string> full = args;
    for (const char* more : {"--data", "", "--data-set", "wh_field=kwh"}) full.push_back(more);
    full[full.size() - 3] = data;
    const auto r = run(full);
    INFO(args[0]);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::EndsWith(refusal));
  }
}

TEST_CASE("the offline commands refuse a meter's index, and warn of spans, zeros, glitches and repeated rows") {
  temp_dir dir;
  // Four weeks of hourly readings, each built by `wh(day, hour)`.
  const auto history = [&](const std::string& name, const std::function<std::string(int, int)>& wh) {
    std::string csv = "ts,wh\n";
    for (int d = 0; d < 28; ++d)
      for (int h = 0; h < 24; ++h) csv += history_time(d, 60 * h) + "," + wh(d, h) + "\n";
    return dir.file(name, csv);
  };
  const auto train = [&](const std::string& data, const std::vector<std::string>& more = {}) {
    std::vector<std::string> args{"train", "--scorer", "percentile_band", "--data", data, "--out",
                                  dir.path() + "/m.toml", "--holdout", "0"};
    args.insert(args.end(), more.begin(), more.end());
    return run(args);
  };
  const auto usual = [](int d, int h) { return std::to_string(200 + 30 * ((d * 7 + h) % 11)); };

  // A running total: Home Assistant's energy sensor, a utility's index.
  const auto index = train(history("index.csv", [](int d, int h) { return std::to_string(5000000 + 400 * (24 * d + h)); }));
  CHECK(index.exit_code == 2);
  CHECK_THAT(index.err, Contains("stream-smarts: the history's readings never go down (5000000 Wh at 2008-01-07T00:00:00"
                                 "+00:00, 5268400 Wh at 2008-02-03T23:00:00+00:00): that is a meter's index, the total "
                                 "so far, not what each reading used; read it as one (--data-set wh_kind=index: each "
                                 "reading is then the use since the one before)\n"));
  // Read as one, it is 400 Wh an hour.
  const auto as_index = train(dir.path() + "/index.csv", {"--data-set", "wh_kind=index"});
  INFO(as_index.err);
  CHECK(as_index.exit_code == 0);
  CHECK_THAT(as_index.out, Contains("percentile_band: 671 readings"));
  // A "today's energy" sensor, back to near 0 each midnight, was taken for use: thresholds of 1-19 kWh.
  const auto today = train(history("today.csv", [](int, int h) { return std::to_string(400 * (h + 1)); }));
  CHECK(today.exit_code == 2);
  CHECK_THAT(today.err, Contains("stream-smarts: the history's readings go down only to start again from near 0 (27 "
                                 "times, first at 2008-01-08T00:00:00+00:00): that is a counter reset each day or so "
                                 "(a \"today's energy\" sensor), the total so far, not what each reading used; read "
                                 "it as one (--data-set wh_kind=index: each reading is then the use since the one "
                                 "before)\n"));
  CHECK(train(dir.path() + "/today.csv", {"--data-set", "wh_kind=index"}).exit_code == 0);

  // An index recorded at each change of its sensor, as Home Assistant does:
  // read between its records, each reading has a span of its own.
  std::string changes = "ts,wh\n";
  for (int m = 0, i = 0; m < 28 * 24 * 60; m += 7 + (i * 13) % 47, ++i)
    changes += history_time(m / 1440, m % 1440) + "," + std::to_string(5000000 + 7 * m) + "\n";
  const std::string changes_file = dir.file("changes.csv", changes);
  const auto unread = train(changes_file);  // read as use, it is refused as an index, and resample named
  CHECK(unread.exit_code == 2);
  CHECK_THAT(unread.err, Catch::EndsWith("read it as one (--data-set wh_kind=index: each reading is then the use since "
                                         "the one before; its times are irregular, as a sensor's changes are: add "
                                         "--data-set resample=true for one reading per hour)\n"));
  const auto between = train(changes_file, {"--data-set", "wh_kind=index"});
  CHECK_THAT(between.err, Contains("warning [runtime] 1315 of 1344 readings cover another span than the median, 30m "
                                   "(from 7m to 53m), but a model learns and judges readings of one span: if the "
                                   "history is a meter's index recorded at irregular times (Home Assistant's), give "
                                   "--data-set resample=true for one reading per hour\n"));
  const auto resampled = train(changes_file, {"--data-set", "wh_kind=index", "--data-set", "resample=true"});
  INFO(resampled.err);
  CHECK(resampled.exit_code == 0);
  CHECK(resampled.err.find("cover another span") == std::string::npos);
  CHECK_THAT(resampled.out, Contains("percentile_band: 671 readings"));  // each hour's 420 Wh, but the first's

  // Quarter-hours read with the default hour's span.
  std::string quarters = "ts,wh\n";
  for (int d = 0; d < 2; ++d)
    for (int m = 0; m < 24 * 60; m += 15) quarters += history_time(d, m) + "," + usual(d, m / 60) + "\n";
  const std::string quarter_file = dir.file("quarters.csv", quarters);
  auto r = train(quarter_file);
  CHECK_THAT(r.err, Contains("warning [runtime] readings come every 15m, each read as the energy of 1h (the source's "
                             "span): if each is the energy of its own 15m, give --data-set span=15m; if each is a "
                             "trailing hour's, give span=1h to say so\n"));
  CHECK(train(quarter_file, {"--data-set", "span=15m"}).err.find("readings come every") == std::string::npos);
  // Minute energies look like a Pi's minute readings of the trailing hour
  // here: both are warned of, and span=1h says the latter.
  std::string minutes = "ts,wh\n";
  for (int m = 0; m < 2 * 24 * 60; ++m) minutes += history_time(m / 1440, m % 1440) + "," + usual(0, m / 60 % 24) + "\n";
  const std::string minute_file = dir.file("minutes.csv", minutes);
  CHECK_THAT(train(minute_file).err,
             Contains("warning [runtime] readings come every 1m, each read as the energy of 1h"));
  CHECK(train(minute_file, {"--data-set", "span=1h"}).err.find("readings come every") == std::string::npos);

  // Ten days' outage exported as zeros, two glitches, a repeated row.
  std::string csv = "ts,wh\n";
  for (int d = 0; d < 28; ++d)
    for (int h = 0; h < 24; ++h) {
      const std::string wh = d >= 10 && d < 20 ? "0" : (d == 3 && h < 2) ? "10000000" : usual(d, h);
      csv += history_time(d, 60 * h) + "," + wh + "\n";
      if (d == 5 && h == 7) csv += history_time(d, 60 * h) + "," + wh + "\n";
    }
  r = train(dir.file("odd.csv", csv));
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("warning [runtime] 240 readings of 0 Wh in a row, 2008-01-17T00:00:00+00:00 to "
                             "2008-01-26T23:00:00+00:00: no house uses nothing for half a day; if the meter was off, "
                             "leave those lines out (a missing reading is skipped, a zero is learnt as usage)\n"));
  CHECK_THAT(r.err, Contains("warning [runtime] 2 readings are above 60 kW, more than a house's supply (the first: "
                             "10000000 Wh at 2008-01-10T00:00:00+00:00): meter glitches? leave them out, or the model "
                             "learns them as usual\n"));
  CHECK_THAT(r.err, Contains("warning [runtime] 1 reading repeats the time of the reading before (the first: "
                             "2008-01-12T07:00:00+00:00): each is judged as a reading of its own; leave the repeats "
                             "out\n"));
  // An ordinary history: no word of any of it.
  r = train(history("usual.csv", usual), {"--timezone", "UTC"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("warning [") == std::string::npos);  // the log's; not a path that holds the word
  CHECK(r.err.find(": warning:") == std::string::npos);  // an option's
  // Without --timezone the hours learnt are UTC's, which a house in Paris is not told by its model's alerts.
  r = train(history("usual.csv", usual));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("warning [runtime] no --timezone: the model learns the hours of the day in UTC; give "
                             "--timezone, the house's zone (e.g. Europe/Paris), as the pipeline's timezone\n"));
  // A house drawing nothing from the grid most hours (solar): a median of 0 is not kWh.
  r = train(history("solar.csv", [&](int d, int h) { return h >= 7 && h < 22 ? std::string("0") : usual(d, h); }));
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("median reading") == std::string::npos);
  // 02:00 on the day summer time begins does not exist: read as 03:00, not a repeated row.
  std::string spring = "ts,wh\n";  // 2008-03-17 to 2008-04-13, summer time from 2008-03-30
  for (int d = 70; d < 98; ++d)
    for (int h = 0; h < 24; ++h) spring += history_time(d, 60 * h) + "," + usual(d, h) + "\n";
  r = train(dir.file("spring.csv", spring), {"--timezone", "Europe/Paris"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("repeat") == std::string::npos);
}

TEST_CASE("a model records the span of its readings, and a scorer warns once of readings of another span") {
  temp_dir dir;
  const std::string band = dir.path() + "/band.toml";
  REQUIRE(run({"train", "--scorer", "percentile_band", "--data", dir.file("h.csv", four_weeks()), "--out", band,
               "--holdout", "0"})
              .exit_code == 0);
  CHECK_THAT(dir.read("band.toml"), Contains("\nreading_span_ms = 3600000\n"));
  std::string quarters = "ts,wh\n";
  for (int m = 0; m < 2 * 24 * 60; m += 15) quarters += history_time(28 + m / 1440, m % 1440) + ",30\n";
  const std::string data = dir.file("q.csv", quarters);
  const auto r = run({"eval", "--model", band, "--data", data, "--data-set", "span=15m"});
  CHECK(r.exit_code == 0);
  const std::string warning = "warning [percentile_band] readings of home cover 15m, but the model was trained on "
                              "readings of 1h: their Wh are not comparable; train it on readings like these, or give "
                              "the source the span its readings cover\n";
  CHECK_THAT(r.err, Contains(warning));
  CHECK(r.err.find(warning) == r.err.rfind(warning));  // once, not per reading
  // Hourly readings as trained: no word.
  CHECK(run({"eval", "--model", band, "--data", dir.file("w.csv", labelled_week())}).err.find("cover") ==
        std::string::npos);
}

TEST_CASE("train draws a progress bar on a terminal") {
  temp_dir dir;
  const std::string data = dir.file("history.csv", four_weeks());
  const std::string command = binary() + " train --scorer percentile_band --data " + data + " --out " + dir.path() +
                              "/m.toml --log-level warning";
  // script(1) gives the command a pseudo-terminal; what it printed comes back on our stdout.
  const auto r = child({"/usr/bin/script", "-qec", command, "/dev/null"}, {{"TERM", "xterm"}})
                     .wait(std::chrono::seconds(60));
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("\r\033[K[1/5] reading history"));
  CHECK_THAT(r.out, Contains("[2/5] training on "));
  CHECK_THAT(r.out, Contains("[3/5] scoring 672 readings, judging the last 6 days"));
  CHECK_THAT(r.out, Contains("[4/5] scoring them again with events added, as inject --seed 1 adds them"));
  CHECK_THAT(r.out, Contains("[5/5] training on all 672 readings"));
  CHECK_THAT(r.out, Contains("] 100 %"));
  CHECK_THAT(r.out, Contains("\r\033[Khold-out (--holdout 0.2): "));  // the bar is cleared before the report
}

TEST_CASE("train refuses what it cannot do, saying why") {
  temp_dir dir;
  const std::string data = dir.file("history.csv", four_weeks());
  const std::string out = dir.path() + "/m.toml";
  auto train = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"train", "--data", data, "--out", out};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  };
  auto r = train({"--scorer", "percentile_bnd"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("no scorer plugin named 'percentile_bnd' (did you mean 'percentile_band'?); searched " +
                             plugin_dir() + "\n"));
  // Kinds inject could not place one a week (a 160-hour event needs more than a week).
  const std::vector<std::string> long_kind{"--scorer", "percentile_band", "--kind", "long:500:8-12:150-160",
                                           "--kinds", "long"};
  r = train(long_kind);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("(command line): these --kinds cannot be placed one a week, as the rehearsals and the "
                             "hold-out report place them: each event needs a period of its longest duration plus a "
                             "day; give shorter kinds, or --holdout 0 --rehearsals 0"));
  auto without_events = long_kind;
  without_events.insert(without_events.end(), {"--holdout", "0", "--rehearsals", "0"});
  CHECK(train(without_events).exit_code == 0);
  r = train({"--scorer", "console"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("no scorer plugin named 'console' ('console' is a sink)"));
  r = train({"--scorer", "percentile_band", "--timezone", "Mars/Olympus"});  // once aborted the program
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("(command line): unknown time zone 'Mars/Olympus'"));
  r = train({"--scorer", "percentile_band", "--holdout", "1.5"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("--holdout must be a share of days from 0 (none) to below 1, e.g. 0.2"));
  r = train({"--scorer", "sustained_load", "--rehearsals", "500"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("--rehearsals must be a whole number from 0 (none) to 100, e.g. 5"));
  r = train({"--scorer", "sustained_load", "--kinds", "toaster"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("--kinds: no kind named 'toaster'"));
  r = train({"--scorer", "percentile_band", "--seed", "one"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("--seed needs a whole number of 0 or more, not 'one'"));
  r = train({"--scorer", "percentile_band", "--seed", "-1"});  // not 2^64 - 1
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("--seed needs a whole number of 0 or more, not '-1'"));
  r = train({"--scorer", "percentile_band", "--set", "hi_percentile=120"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("(command line): option 'hi_percentile' of scorer 'percentile_band' (percentile_band) "
                             "must be within 0..100; got 120"));
  r = train({"--scorer", "dlib_regression", "--set", "gamma=0", "--set", "max_basis=5000"});  // their declared ranges
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("(command line): option 'gamma' of scorer 'dlib_regression' (dlib_regression) must be "
                             "above 0; got 0\n(command line): option 'max_basis' of scorer 'dlib_regression' "
                             "(dlib_regression) must be within 1..1000; got 5000\n"));
  r = run({"train", "--scorer", "percentile_band", "--out", out});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("train needs --scorer, --data (or --source) and --out"));
  r = run({"train", "--scorer", "percentile_band", "--source", "kafka_source", "--data", "raw_power", "--out", out});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("(command line): --data is the path of a history file, and source 'kafka_source' reads "
                             "none: give its options with --data-set (`stream-smarts plugins --describe kafka_source`)"));

  const std::string one_day = dir.file("day.csv", "ts,wh\n2008-01-07T00:00:00,100\n2008-01-07T01:00:00,100\n");
  r = run({"train", "--scorer", "percentile_band", "--data", one_day, "--out", out});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("the hold-out split left no held-out readings: the history is 2 readings on 1 day "
                             "(2008-01-07), and --holdout 0.2 of it is less than half a day; give more history, "
                             "another --holdout, or --holdout 0"));
  const std::string two_days = dir.file("days.csv", "ts,wh\n2008-01-07T00:00:00,100\n2008-01-08T01:00:00,100\n");
  r = run({"train", "--scorer", "percentile_band", "--data", two_days, "--out", out, "--holdout", "0.8"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("the hold-out split left no training readings: the history is 2 readings on 2 days "
                             "(2008-01-07 to 2008-01-08), and --holdout 0.8 of it is all of its days; give more "
                             "history, another --holdout, or --holdout 0"));
}

TEST_CASE("train gives sustained_load rehearsals: the budget goes where injected events are caught") {
  temp_dir dir;
  auto train = [&](const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args{"train", "--scorer", "sustained_load", "--timezone", "Europe/Paris",
                                  "--data", source_dir() + "/data/household_hourly.csv",
                                  "--data-set", "end=2007-06-01T00:00:00", "--holdout", "0",
                                  "--out", dir.path() + "/" + name};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run(args);
    CHECK(r.exit_code == 0);
    return dir.read(name);
  };
  const std::string rehearsed = train("a.toml", {});
  CHECK_THAT(rehearsed, Contains("\nrehearsals = 5  #"));
  CHECK(train("b.toml", {}) == rehearsed);  // the same seed, the same model
  const std::string even = train("c.toml", {"--rehearsals", "0"});
  CHECK_THAT(even, Contains("\nrehearsals = 0  #"));
  CHECK(even.substr(even.find("hourly")) != rehearsed.substr(rehearsed.find("hourly")));
  // Rehearsing other kinds of events spends the budget elsewhere.
  const std::string nights = train("d.toml", {"--kinds", "heater_night"});
  CHECK(nights.substr(nights.find("hourly")) != rehearsed.substr(rehearsed.find("hourly")));
}

TEST_CASE("train takes history out of time order as in order: as two partitions of a topic read one after the other") {
  // The first five months of the household, every other hour first, then the rest.
  std::ifstream in(source_dir() + "/data/household_hourly.csv");
  std::string line, header, in_order, interleaved;
  std::vector<std::string> rows;
  std::getline(in, header);
  while (std::getline(in, line) && line < "2007-06-01") rows.push_back(line);
  REQUIRE(rows.size() > 3000);
  for (const auto& r : rows) in_order += r + "\n";
  for (std::size_t parity : {0, 1})
    for (std::size_t i = parity; i < rows.size(); i += 2) interleaved += rows[i] + "\n";
  temp_dir dir;
  auto train = [&](const std::string& name, const std::string& csv) {
    const auto r = run({"train", "--scorer", "sustained_load", "--timezone", "Europe/Paris", "--data",
                        dir.file(name + ".csv", header + "\n" + csv), "--out", dir.path() + "/" + name + ".toml"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    return r.out.substr(0, r.out.rfind("written to")) + dir.read(name + ".toml");
  };
  const std::string sorted = train("sorted", in_order);
  CHECK_THAT(sorted, Contains("hold-out (--holdout 0.2): "));
  CHECK(train("interleaved", interleaved) == sorted);  // the same hold-out report and model, byte for byte
}

TEST_CASE("eval prints precision, recall, F1 and false alerts per week for each model") {
  temp_dir dir;
  const std::string model = dir.path() + "/band.toml";
  REQUIRE(run({"train", "--scorer", "percentile_band", "--data", dir.file("h.csv", four_weeks()), "--out", model,
               "--holdout", "0"})
              .exit_code == 0);
  const std::string tight = dir.path() + "/tight.toml";
  REQUIRE(run({"train", "--scorer", "percentile_band", "--data", dir.path() + "/h.csv", "--out", tight, "--holdout",
               "0", "--set", "hi_percentile=50"})
              .exit_code == 0);
  const std::string week = dir.file("week.csv", labelled_week());

  const auto r = run({"eval", "--model", model, "--model", tight, "--data", week});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("history: 168 readings on 7 days, 5 labelled anomalous; alert = score above 1.00\n"));
  // band [100, 140]: 6 alerts, 4 of them labelled: precision 4/6, recall 4/5, 2 false alerts in one week;
  // 4 events (the two 500 Wh hours on the first day are one), the 130 Wh one missed.
  CHECK(std::regex_search(r.out, std::regex("band.toml +percentile_band +6 +6.00 +0.667 +0.800 +0.727 +2.00 +3/4\n")));
  // band [100, 120]: the 130 Wh reading alerts too, so all 5 anomalies are caught.
  CHECK(std::regex_search(r.out, std::regex("tight.toml +percentile_band +7 +7.00 +0.714 +1.000 +0.833 +2.00 +4/4\n")));
  CHECK(std::regex_search(r.out, std::regex("\nmodel +scorer +alerts +per week +precision +recall +F1 +false h/week "
                                            "+events caught\n")));

  const auto unlabelled = run({"eval", "--model", model, "--data", dir.path() + "/h.csv"});
  REQUIRE(unlabelled.exit_code == 0);
  CHECK_THAT(unlabelled.out, Contains("(the history has no `label` column, 1 = truly anomalous: precision, recall "
                                      "and F1 need one)"));
  CHECK(std::regex_search(unlabelled.out, std::regex("band.toml +percentile_band +0 +0.00 +- +- +- +- +-\n")));
}

namespace {

/// One week from 2008-02-04, all 120 Wh, with events whose catches and
/// delays against a [100, 140] band are known (130 Wh: inside it, 500: above):
/// three heater_night events (alert in the third reading: 2 h; at once: 0;
/// never), two oven_afternoon (after 1 h; never), and two unlabelled 300 Wh
/// readings (false alerts).
std::string events_week() {
  std::map<std::pair<int, int>, std::pair<std::string, std::string>> special{
      {{0, 22}, {"130", "heater_night"}}, {{0, 23}, {"130", "heater_night"}}, {{1, 0}, {"500", "heater_night"}},
      {{1, 1}, {"500", "heater_night"}},  {{2, 23}, {"500", "heater_night"}}, {{3, 0}, {"130", "heater_night"}},
      {{4, 22}, {"130", "heater_night"}}, {{4, 23}, {"130", "heater_night"}}, {{1, 14}, {"130", "oven_afternoon"}},
      {{1, 15}, {"500", "oven_afternoon"}}, {{1, 16}, {"500", "oven_afternoon"}}, {{5, 13}, {"135", "oven_afternoon"}},
      {{5, 14}, {"135", "oven_afternoon"}}, {{6, 3}, {"300", "0"}},  {{6, 10}, {"300", "0"}}};
  std::string csv = "ts,wh,label\n";
  for (int d = 0; d < 7; ++d)
    for (int h = 0; h < 24; ++h) {
      const auto s = special.find({d, h});
      const auto [wh, label] = s == special.end() ? std::make_pair(std::string("120"), std::string("0")) : s->second;
      csv += history_time(28 + d, 60 * h) + "," + wh + "," + label + "\n";
    }
  return csv;
}

} // namespace

TEST_CASE("eval prints, per model and event kind, the events caught and the delay to the first alert") {
  temp_dir dir;
  const std::string model = dir.path() + "/band.toml", tight = dir.path() + "/tight.toml";
  const std::string history = dir.file("h.csv", four_weeks());
  REQUIRE(run({"train", "--scorer", "percentile_band", "--data", history, "--out", model, "--holdout", "0"})
              .exit_code == 0);
  REQUIRE(run({"train", "--scorer", "percentile_band", "--data", history, "--out", tight, "--holdout", "0", "--set",
               "hi_percentile=50"})
              .exit_code == 0);
  const auto r = run({"eval", "--model", model, "--model", tight, "--data", dir.file("week.csv", events_week())});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  // band [100, 140]: 5 of the 13 event readings and 2 ordinary ones alert; 3 of the 5 events caught.
  CHECK(std::regex_search(r.out, std::regex("band.toml +percentile_band +7 +7.00 +0.714 +0.385 +0.500 +2.00 +3/5\n")));
  // band [100, 120]: every event reading alerts, each event at its first reading.
  CHECK(std::regex_search(r.out, std::regex("tight.toml +percentile_band +15 +15.00 +0.867 +1.000 +0.929 +2.00 +5/5\n")));
  const std::string kinds = r.out.substr(r.out.find("\n\nevents by kind"));
  const std::string w = std::string(dir.path().size() + 11 - 5, ' ');  // the model column is as wide as its names
  CHECK(kinds == "\n\nevents by kind (delay: from the event's first reading to its first alert)\n"
                 "model" + w + "  kind            events  caught  share  median delay  max delay\n" +
                     model + "   heater_night         3       2   0.67           1 h        2 h\n" +
                     model + "   oven_afternoon       2       1   0.50           1 h        1 h\n" +
                     tight + "  heater_night         3       3   1.00         0 min      0 min\n" +
                     tight + "  oven_afternoon       2       2   1.00         0 min      0 min\n");
}

TEST_CASE("eval and report refuse --set of a training option: the model scores as it was trained") {
  // eval --model m --set hi_percentile=90 printed the same table as without it.
  temp_dir dir;
  const std::string model = dir.path() + "/band.toml", history = dir.file("h.csv", four_weeks());
  REQUIRE(run({"train", "--scorer", "percentile_band", "--data", history, "--out", model, "--holdout", "0"})
              .exit_code == 0);
  // Out of range, it said "no scorer plugin can load this model" instead.
  for (const std::string value : {"90", "500"}) {
    const auto r = run({"eval", "--model", model, "--set", "hi_percentile=" + value, "--data", history});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("stream-smarts: --set hi_percentile=" + value + " after --model " + model +
                               ": hi_percentile is for training: a scorer scores with what its model was trained "
                               "with; to change it, train the model again (stream-smarts train --set "
                               "hi_percentile=...)\n"));
  }
  const auto no_value = run({"eval", "--model", model, "--set", "hi_percentile", "--data", history});
  CHECK(no_value.exit_code == 2);  // not "is for training"
  CHECK_THAT(no_value.err, Contains("\n  percentile_band: (command line): 'hi_percentile' is not of the form key=value\n"));
}

TEST_CASE("eval and report refuse --set model=: it swapped the model under the name of the first") {
  temp_dir dir;
  const std::string model = dir.path() + "/band.toml", history = dir.file("h.csv", four_weeks());
  REQUIRE(run({"train", "--scorer", "percentile_band", "--data", history, "--out", model, "--holdout", "0"})
              .exit_code == 0);
  for (const std::string command : {"eval", "report"}) {
    std::vector<std::string> args{command, "--model", model, "--set", "model=other.toml", "--data", history};
    if (command == "report") args.insert(args.end(), {"--out", dir.path() + "/r.svg"});
    const auto r = run(args);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("stream-smarts: --set model=other.toml after --model " + model +
                               ": give each model with its own --model\n"));
  }
}

TEST_CASE("eval --events writes a row per model and event: caught or not, the first alert, the highest score") {
  temp_dir dir;
  const std::string model = dir.path() + "/band.toml", events = dir.path() + "/events.csv";
  REQUIRE(run({"train", "--scorer", "percentile_band", "--data", dir.file("h.csv", four_weeks()), "--out", model,
               "--holdout", "0"})
              .exit_code == 0);
  const std::string week = dir.file("week.csv", events_week());
  const auto r = run({"eval", "--model", model, "--data", week, "--events", events});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("wrote " + events + ": 5 rows (5 events, 1 model)\n"));
  // band [100, 140]: 130 Wh scores 0.75, 135 Wh 0.875, 500 Wh 10.
  CHECK(dir.read("events.csv") ==
        "model,kind,first_reading,last_reading,readings,caught,first_alert,delay_min,highest_score\n" +
            model + ",heater_night,2008-02-04T22:00:00+00:00,2008-02-05T01:00:00+00:00,4,1,2008-02-05T00:00:00+00:00,120,10.000\n" +
            model + ",oven_afternoon,2008-02-05T14:00:00+00:00,2008-02-05T16:00:00+00:00,3,1,2008-02-05T15:00:00+00:00,60,10.000\n" +
            model + ",heater_night,2008-02-06T23:00:00+00:00,2008-02-07T00:00:00+00:00,2,1,2008-02-06T23:00:00+00:00,0,10.000\n" +
            model + ",heater_night,2008-02-08T22:00:00+00:00,2008-02-08T23:00:00+00:00,2,0,,,0.750\n" +
            model + ",oven_afternoon,2008-02-09T13:00:00+00:00,2008-02-09T14:00:00+00:00,2,0,,,0.875\n");

  // A history without labels has no events: the header alone.
  const auto unlabelled = run({"eval", "--model", model, "--data", dir.path() + "/h.csv", "--events", events});
  REQUIRE(unlabelled.exit_code == 0);
  CHECK(dir.read("events.csv") ==
        "model,kind,first_reading,last_reading,readings,caught,first_alert,delay_min,highest_score\n");

  // Where it cannot be written: said with the reason, before any figure is printed.
  const std::string nowhere = dir.path() + "/no/such/dir/events.csv";
  const auto refused = run({"eval", "--model", model, "--data", week, "--events", nowhere});
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.err, Contains("cannot write " + nowhere + ": No such file or directory"));
  CHECK(refused.out.empty());
}

TEST_CASE("eval on minute readings: delays in minutes, false alerts counted in clock hours") {
  temp_dir dir;
  const std::string model = dir.path() + "/band.toml";
  REQUIRE(run({"train", "--scorer", "percentile_band", "--data", dir.file("h.csv", four_weeks()), "--out", model,
               "--holdout", "0"})
              .exit_code == 0);
  // A day of minute readings (the band is per hour of day, so 120 is normal):
  // an oven from 10:00 to 10:59 alerting from 10:25, and eight false alerts
  // in three clock hours (03:10-03:14, 03:59, 04:00, 23:30).
  std::string csv = "ts,wh,label\n";
  for (int m = 0; m < 1440; ++m) {
    std::string wh = "120", label = "0";
    if (m >= 600 && m < 660) label = "oven", wh = m >= 625 ? "500" : "130";
    if ((m >= 190 && m < 195) || m == 239 || m == 240 || m == 1410) wh = "300";
    csv += history_time(28, m) + "," + wh + "," + label + "\n";
  }
  const auto r = run({"eval", "--model", model, "--data", dir.file("minutes.csv", csv)});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("history: 1440 readings on 1 days, 60 labelled anomalous"));
  // 35 + 8 alerts; 8 false ones in 3 clock hours, over 1/7 week: 21 false alert-hours a week.
  CHECK(std::regex_search(r.out, std::regex("band.toml +percentile_band +43 +301.00 +0.814 +0.583 +0.680 +21.00 +1/1\n")));
  CHECK(std::regex_search(r.out, std::regex("band.toml +oven +1 +1 +1.00 +25 min +25 min\n")));
}

TEST_CASE("eval and report name every scorer's reason when no plugin can load a model") {
  temp_dir dir;
  const std::string week = dir.file("week.csv", labelled_week());
  const std::string junk = dir.file("junk.dat", "hello\n");
  // report's --out, which eval does not take
  auto out = [&](const std::string& command) {
    return command == "report" ? std::vector<std::string>{"--out", dir.path() + "/x.svg"} : std::vector<std::string>{};
  };
  auto with = [](std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  for (const char* command : {"eval", "report"}) {
    const auto r = run(with({command, "--model", junk, "--data", week}, out(command)));
    CHECK(r.exit_code == 2);  // report said "report failed" and exit 1: the input is unusable, as for eval
    CHECK_THAT(r.err, Contains("stream-smarts: " + junk + ": no scorer plugin can load this model:\n  "));
    CHECK_THAT(r.err, Contains("\n  percentile_band: " + junk + ": "));
  }
  // A good model with a bad --set: the option is named, not the model blamed.
  // And a history that cannot be read is the command line's fault, as for train: exit 2.
  const std::string band = dir.path() + "/band.toml";
  REQUIRE(run({"train", "--scorer", "percentile_band", "--data", dir.file("h.csv", four_weeks()), "--out", band,
               "--holdout", "0"})
              .exit_code == 0);
  const auto bad_set = run({"eval", "--model", band, "--set", "band=3", "--data", week});
  CHECK(bad_set.exit_code == 2);
  CHECK_THAT(bad_set.err, Contains(band + ": no scorer plugin can load this model with --set band=3:\n"));
  CHECK_THAT(bad_set.err, Contains("\n  percentile_band: (command line): option 'band' of scorer 'percentile_band' "
                                   "(percentile_band) must be a list of lists of numbers, not an integer\n"));
  for (const char* command : {"eval", "report"}) {
    const auto no_data = run(with({command, "--model", band, "--data", dir.path() + "/none.csv"}, out(command)));
    CHECK(no_data.exit_code == 2);
    CHECK_THAT(no_data.err, Contains("(command line): option 'path': " + dir.path() + "/none.csv: cannot open: No such "
                                     "file or directory\n"));
  }
  const auto missing = run({"eval", "--data", week});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Contains("eval needs --model (one or more) and --data"));
}

TEST_CASE("eval and report warn of a model trained in another time zone as the command line's") {
  temp_dir dir;
  const std::string week = dir.file("week.csv", labelled_week());
  const std::string model = source_dir() + "/models/household-band.toml";  // trained in Europe/Paris
  const std::string warning = "(command line): warning: option 'model' of scorer 'percentile_band' "
                              "(percentile_band): " + model + ": trained in time zone Europe/Paris but read in UTC "
                              "here (the pipeline's timezone, or --timezone); its hours may be shifted\n";
  const auto eval = run({"eval", "--model", model, "--data", week});
  INFO(eval.err);
  CHECK(eval.exit_code == 0);
  CHECK(count(eval.err, warning) == 1);
  const auto report = run({"report", "--model", model, "--data", week, "--out", dir.path() + "/r.svg"});
  CHECK(count(report.err, warning) == 1);
  const auto paris = run({"eval", "--model", model, "--data", week, "--timezone", "Europe/Paris"});
  CHECK(paris.exit_code == 0);
  CHECK(paris.err.find(": warning: ") == std::string::npos);
}

TEST_CASE("report draws the expected band, the readings and the alerts as SVG") {
  temp_dir dir;
  const std::string model = dir.path() + "/band.toml";
  REQUIRE(run({"train", "--scorer", "percentile_band", "--data", dir.file("h.csv", four_weeks()), "--out", model,
               "--holdout", "0"})
              .exit_code == 0);
  const std::string week = dir.file("week.csv", labelled_week());
  const std::string svg = dir.path() + "/day.svg";

  // Without --period: the day with the highest score, 2008-02-04 (its 500 Wh at 03:00 is the first of the top).
  auto r = run({"report", "--model", model, "--data", week, "--out", svg});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "wrote " + svg + ": 2008-02-04, 24 readings\n");
  std::string picture = dir.read("day.svg");
  CHECK(picture.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(picture.size() > 1000);
  CHECK(count(picture, "fill=\"#a8dca0\"/>") == 24 + 1);  // a green band per reading, and the legend's
  CHECK(count(picture, "fill=\"#f6c9c4\"/>") == 24 + 1);  // the red region above it
  CHECK(count(picture, "<circle") == 2 * 2 + 1);          // two alerts, marked in both panels, and the legend
  CHECK_THAT(picture, Contains("24 readings, 2 alerts (score above 1)"));
  CHECK(picture.substr(picture.size() - 7) == "</svg>\n");

  r = run({"report", "--model", model, "--data", week, "--out", svg, "--period", "2008-02"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "wrote " + svg + ": 2008-02, 168 readings\n");
  CHECK(count(dir.read("day.svg"), "<circle") == 6 * 2 + 1);

  r = run({"report", "--model", model, "--data", week, "--out", svg, "--period", "2008-03-01"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("no readings in 2008-03-01; the history runs from 2008-02-04 to 2008-02-10"));
  for (const char* not_a_period : {"March", "2008-13", "2008-02-30"}) {
    r = run({"report", "--model", model, "--data", week, "--out", svg, "--period", not_a_period});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains(std::string("--period must be a day (2008-01-14) or a month (2008-01), not '") +
                               not_a_period + "'"));
  }
  const std::string nowhere = dir.path() + "/no/such/dir/day.svg";
  r = run({"report", "--model", model, "--data", week, "--out", nowhere});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("report failed: cannot write " + nowhere + ": No such file or directory"));
}

TEST_CASE("report scores the history once, in time order, as a running pipeline does, and power_step's band in W") {
  temp_dir dir;
  const std::string model = dir.path() + "/step.toml";
  const auto trained = run({"train", "--scorer", "power_step", "--data", dir.file("h.csv", hourly_days(50)), "--out", model});
  INFO(trained.out << trained.err);
  REQUIRE(trained.exit_code == 0);
  CHECK_THAT(trained.out, Contains(" W mean absolute error\n"));  // its band is power, not energy
  // A 3 kW step from 22:00 on 2008-02-26 that stays until 03:00 the next
  // day: power_step alerts while it stays, so the next day's picture starts
  // in alert, as the running pipeline would: the day before is its warm-up.
  std::string csv = "ts,wh\n";
  for (int d = 50; d < 53; ++d)
    for (int h = 0; h < 24; ++h)
      csv += history_time(d, 60 * h) + "," + ((d == 50 && h >= 22) || (d == 51 && h < 3) ? "3000" : "120") + "\n";
  const std::string days = dir.file("days.csv", csv);
  const std::string svg = dir.path() + "/day.svg";
  for (const auto& [day, alerts] : {std::pair{"2008-02-26", "2 alerts"}, {"2008-02-27", "3 alerts"}}) {
    const auto r = run({"report", "--model", model, "--data", days, "--out", svg, "--period", day});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(dir.read("day.svg"), Contains(std::string("24 readings, ") + alerts + " (score above 1)"));
    CHECK_THAT(dir.read("day.svg"), Contains(">power (W)</text>"));
  }
}

TEST_CASE("eval: --set after a --model is a scoring option of that model only") {
  temp_dir dir;
  const std::string dlib = source_dir() + "/models/household-dlib.dat";
  const std::string labelled = dir.path() + "/labelled.csv";
  REQUIRE(run({"inject", "--timezone", "Europe/Paris", "--data", source_dir() + "/data/household_hourly.csv",
               "--data-set", "start=2009-10-01T00:00:00", "--data-set", "end=2010-01-01T00:00:00", "--seed", "1",
               "--out", labelled})
              .exit_code == 0);
  const auto r = run({"eval", "--timezone", "Europe/Paris", "--data", labelled, "--model", dlib, "--model", dlib,
                      "--set", "excess_wh=2000", "--set", "excess_allowance=1"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  std::smatch plain, excess;
  const std::regex row("household-dlib.dat +dlib_regression +([0-9]+) ");
  const std::string out = r.out;
  REQUIRE(std::regex_search(out, plain, row));
  const std::string rest = plain.suffix();
  REQUIRE(std::regex_search(rest, excess, row));
  CHECK(std::stoi(excess[1]) > std::stoi(plain[1]));  // the accumulated excess alerts on more hours

  const auto refused = run({"eval", "--data", labelled, "--model", source_dir() + "/models/household-band.toml",
                            "--set", "excess_wh=2000"});
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Contains("percentile_band: (command line): unknown option 'excess_wh'"));

  const auto before = run({"eval", "--data", labelled, "--set", "excess_wh=2000", "--model", dlib});  // once ignored
  CHECK(before.exit_code == 2);
  CHECK(before.err == "stream-smarts: --set comes after the --model it is for: --model FILE --set KEY=VALUE\n");
}

TEST_CASE("train, eval, report and inject refuse a history of several meters, and one with no readings") {
  // Two flats interleaved read as one house whose readings come twice an
  // hour: eval counted each labelled reading an event of no delay, report
  // drew nothing, train said there were no 6 hours in a row.
  temp_dir dir;
  std::string csv = "ts,wh,meter\n";
  for (int h = 0; h < 24 * 30; ++h)
    for (const char* flat : {"a", "b"}) csv += history_time(h / 24, 60 * (h % 24)) + ",120," + flat + "\n";
  const std::string flats = dir.file("flats.csv", csv);
  const std::string band = dir.path() + "/band.toml";
  REQUIRE(run({"train", "--scorer", "percentile_band", "--data", dir.file("h.csv", four_weeks()), "--out", band,
               "--holdout", "0"})
              .exit_code == 0);
  const std::string refusal = "stream-smarts: the history holds readings of 2 meters (a, b); train, eval, report and "
                              "inject work on one meter's history: give each meter's readings a file of their own\n";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"train", "--scorer", "sustained_load", "--data", flats, "--out", dir.path() + "/s.toml"},
           {"eval", "--model", band, "--data", flats},
           {"report", "--model", band, "--data", flats, "--out", dir.path() + "/r.svg"},
           {"inject", "--data", flats, "--out", dir.path() + "/l.csv"}}) {
    const auto r = run(args);
    INFO(args[0] << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains(refusal));
  }
  const std::string empty = dir.file("empty.csv", "ts,wh\n");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"train", "--scorer", "percentile_band", "--data", empty, "--out", dir.path() + "/e.toml"},
           {"eval", "--model", band, "--data", empty},
           {"report", "--model", band, "--data", empty, "--out", dir.path() + "/e.svg"}}) {
    const auto r = run(args);
    INFO(args[0] << ": " << r.err);
    CHECK(r.exit_code == 2);  // as inject: unusable input, not a failed run (exit 1, or a table of "-")
    CHECK_THAT(r.err, Contains("stream-smarts: the history has no readings\n"));
  }
}

TEST_CASE("train, eval, report and inject never write over the history or the model they read") {
  temp_dir dir;
  const std::string history = four_weeks();
  const std::string data = dir.file("history.csv", history);
  const std::string band = dir.path() + "/band.toml";
  REQUIRE(run({"train", "--scorer", "percentile_band", "--data", data, "--out", band, "--holdout", "0"}).exit_code == 0);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"train", "--scorer", "percentile_band", "--data", data, "--out", data},
           {"eval", "--model", band, "--data", data, "--events", dir.path() + "/./history.csv"},
           {"report", "--model", band, "--data", data, "--out", data},
           {"inject", "--data", data, "--out", data}}) {
    const auto r = run(args);
    INFO(args[0] << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains(" is the history (--data): it would be overwritten; write to another file"));
  }
  CHECK(dir.read("history.csv") == history);
  // Nor over a model they read: a report's SVG replaced the shipped model.
  const std::string model = dir.read("band.toml");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"eval", "--model", band, "--data", data, "--events", band},
           {"report", "--model", band, "--data", data, "--out", dir.path() + "/./band.toml"}}) {
    const auto r = run(args);
    INFO(args[0] << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains(" is a model read (--model): it would be overwritten; write to another file"));
  }
  CHECK(dir.read("band.toml") == model);
}

TEST_CASE("sustained_load trained on a minute's energies holds them to a minute's share of min_excess_wh") {
  // The second household's first quarter of 2013, each hour as 60 minutes of a sixtieth of its energy. Held to
  // an hour's 200 Wh, a minute's floor (a 2 kW heater adds 33 Wh) never alerted: thresholds 200-200 Wh, 0 events.
  temp_dir dir;
  std::ifstream in(std::string(STREAM_SMARTS_SOURCE_DIR) + "/data/household2_hourly.csv");
  std::string minutes = "ts,wh\n", line;
  while (std::getline(in, line)) {
    if (line.rfind("2013-01", 0) != 0 && line.rfind("2013-02", 0) != 0 && line.rfind("2013-03", 0) != 0) continue;
    const double wh = std::stod(line.substr(line.find(',') + 1)) / 60;
    for (int m = 0; m < 60; ++m) {
      char row[64];
      std::snprintf(row, sizeof row, "%s:%02d:00,%.4f\n", line.substr(0, 13).c_str(), m, wh);
      minutes += row;
    }
  }
  const std::string data = dir.file("minutes.csv", minutes), model = dir.path() + "/m.toml";
  const std::string labelled = dir.path() + "/l.csv";
  const std::vector<std::string> paris{"--timezone", "Europe/Paris", "--data-set", "span=1m"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), paris.begin(), paris.end());
    return run(args);
  };
  const auto trained = with({"train", "--scorer", "sustained_load", "--data", data, "--out", model});
  INFO(trained.out << trained.err);
  REQUIRE(trained.exit_code == 0);
  std::smatch m;
  const std::string said = trained.out + trained.err;
  REQUIRE(std::regex_search(said, m, std::regex("thresholds ([0-9]+)-([0-9]+) Wh")));
  CHECK(std::stoi(m[1]) >= 3);    // 200 Wh an hour: 3.3 Wh a minute
  CHECK(std::stoi(m[2]) < 200);
  REQUIRE(with({"inject", "--data", data, "--seed", "1", "--out", labelled}).exit_code == 0);
  const auto judged = with({"eval", "--model", model, "--data", labelled});
  INFO(judged.out);
  REQUIRE(std::regex_search(judged.out, m, std::regex("heater_night +([0-9]+) +([0-9]+) ")));
  CHECK(std::stoi(m[2]) > 0);
}

TEST_CASE("the offline commands refuse a source's pacing: they read the whole history at once") {
  temp_dir dir;
  const std::string data = dir.file("history.csv", four_weeks());
  // speed=realtime, copied from a pipeline file, read the history over its own length: it looked like a hang.
  const auto r = run({"inject", "--data", data, "--data-set", "speed=realtime", "--out", dir.path() + "/l.csv"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "(command line): --data-set speed=realtime: the offline commands read the whole history, as fast "
                 "as they can; leave speed out\n");
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/l.csv"));
}

TEST_CASE("the offline commands refuse a topic's stop_at_end and warm_up: a history is what the topic holds now") {
  temp_dir dir;
  const auto r = run({"inject", "--source", "kafka_source", "--data-set", "topics=['power']", "--data-set",
                      "stop_at_end=false", "--data-set", "warm_up=1h", "--out", dir.path() + "/l.csv"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "(command line): --data-set stop_at_end=false: the offline commands read the whole history, as fast "
                 "as they can; leave stop_at_end out\n(command line): --data-set warm_up=1h: the offline commands "
                 "read the whole history, as fast as they can; leave warm_up out\n");
}

TEST_CASE("the offline commands give a source's options what it declares for a history whatever their names") {
  temp_dir dir;
  const std::string report = dir.path() + "/report.txt", recording = dir.file("recording.csv", "");
  const auto read = [&](std::vector<std::string> more) {
    std::vector<std::string> args{"inject", "--source", "fixture_source", "--data-set", "report='" + report + "'",
                                  "--data-set", "count=2000", "--out", dir.path() + "/l.csv"};
    args.insert(args.end(), more.begin(), more.end());
    return run(args, fixture_env);
  };
  const auto r = read({"--data", recording});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(dir.read("report.txt"), Contains("\nread_as history\nrecording " + recording + "\n"));
  const auto refused = read({"--data-set", "read_as=pipeline"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err == "(command line): --data-set read_as=pipeline: the offline commands read the whole history, as "
                       "fast as they can; leave read_as out\n");
}

TEST_CASE("train on too little history says what the hold-out took, and how to train on all of it") {
  temp_dir dir;
  // 42 days: sustained_load's minimum (baseline_days + 14), of which the hold-out keeps some for checking.
  const std::string data = dir.file("h.csv", hourly_days(42));
  const auto r = run({"train", "--scorer", "sustained_load", "--data", data, "--out", dir.path() + "/s.toml",
                      "--rehearsals", "0"});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains(" (trained on the days before the hold-out: 816 readings on 34 days (2008-01-07 to "
                             "2008-02-09) of the history's "));
  CHECK_THAT(r.err, Contains(" of the history's 1008 readings on 42 days (2008-01-07 to 2008-02-17); --holdout 0 "
                             "trains on all of it)"));
}

TEST_CASE("eval reads a label of 0 written as 0.0 (pandas), false (JSON), False, FALSE or no as not anomalous") {
  temp_dir dir;
  const std::string band = dir.path() + "/band.toml";
  REQUIRE(run({"train", "--scorer", "percentile_band", "--data", dir.file("h.csv", four_weeks()), "--out", band,
               "--holdout", "0"})
              .exit_code == 0);
  std::string week = labelled_week();
  const auto written_as = [&](const std::string& zero) {
    std::string text = week;
    for (std::size_t at = 0; (at = text.find(",0\n", at)) != std::string::npos; at += zero.size() + 2)
      text.replace(at, 3, "," + zero + "\n");
    return text;
  };
  const auto plain = run({"eval", "--model", band, "--data", dir.file("w.csv", week)});
  REQUIRE(plain.exit_code == 0);
  for (const auto& text : {written_as("0.0"), written_as("false"), written_as("False"), written_as("FALSE"),
                           written_as("no")}) {
    const auto r = run({"eval", "--model", band, "--data", dir.file("w2.csv", text)});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Contains("5 labelled anomalous"));
    CHECK(r.out == plain.out);
  }
  // A word this does not read: nearly every reading an event, and a warning says why.
  const auto other = run({"eval", "--model", band, "--data", dir.file("w3.csv", written_as("normal"))});
  CHECK_THAT(other.err, Contains("warning [runtime] 167 of 168 readings are labelled anomalous: a reading not "
                                 "anomalous has an empty label, 0, false or no\n"));
  CHECK(plain.err.find("labelled anomalous") == std::string::npos);
}

TEST_CASE("an option the command would ignore is refused, naming the commands it is for") {
  // eval --period evaluated the whole history; inject --threshold did nothing.
  temp_dir dir;
  const std::string data = dir.file("h.csv", four_weeks());
  auto r = run({"eval", "--model", "m.toml", "--data", data, "--period", "2008-01"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("stream-smarts: --period is not an option of eval (it is for report)\n"));
  r = run({"inject", "--data", data, "--out", dir.path() + "/l.csv", "--threshold", "5"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("stream-smarts: --threshold is not an option of inject (it is for train, eval, report)\n"));
  r = run({"plugins", "--scorer", "sustained_load"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("stream-smarts: --scorer is not an option of plugins (it is for train)\n"));
  CHECK(run({"plugins", "--log-level", "warning"}).exit_code == 0);  // for every command
  r = run({"run", "p.toml", "--plugin-dir", dir.path()});  // run's own word on it
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("stream-smarts: for run, list plugin folders in the pipeline's plugin_dirs or "
                             "STREAM_SMARTS_PLUGIN_PATH\n"));
}

TEST_CASE("an option of one value given twice is refused, those that add (--model, --set, --kind) are not") {
  // eval --data a.csv --data b.csv judged b.csv alone, without a word.
  temp_dir dir;
  const std::string data = dir.file("h.csv", four_weeks()), other = dir.file("other.csv", four_weeks());
  auto r = run({"eval", "--model", "m.toml", "--data", data, "--data", other});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "stream-smarts: --data is given twice; it takes one value\n");
  r = run({"inject", "--data", data, "--out", dir.path() + "/a.csv", "--out", dir.path() + "/b.csv"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "stream-smarts: --out is given twice; it takes one value\n");
  r = run({"inject", "--data", data, "--out", dir.path() + "/a.csv", "--kind", "x:1000:0-23:1-2", "--kind",
           "y:1000:0-23:1-2", "--kinds", "x,y", "--data-set", "span=1h", "--data-set", "meter=home"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
}

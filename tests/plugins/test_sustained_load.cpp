// The sustained_load scorer: its pure parts (the floor window, the usual
// level, training and the model file) compiled in directly, and the built
// plugin driven through the SDK.
#include "ordinary_days.hpp"
#include "plugin_harness.hpp"
#include "sustained_model.hpp"

#include <catch2/catch.hpp>
#include <common/vector_queue.hpp>

#include <cmath>
#include <set>
#include <string>
#include <vector>

using namespace stream_smarts;
using namespace stream_smarts::sustained_load;
using namespace stream_smarts::testing;

namespace {

const std::int64_t start_ms = history_start_ms;
reading at(std::int64_t ts_ms, double wh) { return reading_at(ts_ms, wh); }

} // namespace

TEST_CASE("sustained_load floor: the smallest excess of the last hours", "[sustained]") {
  floor_window w(3);
  CHECK(std::isnan(w.next(0, 1000)));           // one hour: not yet sustained
  CHECK(std::isnan(w.next(hour_ms, 1200)));
  CHECK(w.next(2 * hour_ms, 900) == 900);       // three hours: the smallest
  CHECK(w.first_ms() == 0);                     // over the hours since 0 h
  CHECK(w.next(3 * hour_ms, 1500) == 900);
  CHECK(w.first_ms() == hour_ms);
  CHECK(w.next(4 * hour_ms, 1100) == 900);      // 2 h is still one of the last three hours
  CHECK(w.next(5 * hour_ms, 1300) == 1100);     // now it is not
  CHECK(w.next(6 * hour_ms, -50) == -50);       // one ordinary hour ends it
  // A gap of more than an hour starts again.
  CHECK(std::isnan(w.next(8 * hour_ms, 1000)));
  CHECK(std::isnan(w.next(9 * hour_ms, 1000)));
  CHECK(w.next(10 * hour_ms, 1000) == 1000);
  CHECK(w.first_ms() == 8 * hour_ms);           // nothing from before the gap
  // Time going backwards (a replayed batch) starts again too.
  CHECK(std::isnan(w.next(9 * hour_ms, 1000)));
}

TEST_CASE("sustained_load floor: minute readings use the same hours", "[sustained]") {
  floor_window w(2);
  const std::int64_t minute = 60000;
  double last = 0;
  int known = 0;
  for (int i = 0; i <= 90; ++i) {
    last = w.next(i * minute, i < 30 ? 100 : 800);
    known += std::isfinite(last);
  }
  CHECK(known == 31);  // from minute 60: the window spans two hours of trailing-hour readings
  CHECK(last == 100);  // minutes 0-29 (100) are still inside (t - 2 h, t]
  CHECK(w.first_ms() == 0);
  for (int i = 91; i <= 150; ++i) last = w.next(i * minute, 800);
  CHECK(last == 800);
  CHECK(w.first_ms() == 31 * minute);  // the oldest reading inside (t - 2 h, t]
}

TEST_CASE("sustained_load usual level: the meter's own median once it has three days", "[sustained]") {
  usual_level u(14, false);
  CHECK(u.next(at(start_ms, 100), 555) == 555);
  CHECK(u.next(at(start_ms + 24 * hour_ms, 300), 555) == 555);
  CHECK(u.next(at(start_ms + 48 * hour_ms, 200), 555) == 555);
  CHECK(u.next(at(start_ms + 72 * hour_ms, 900), 555) == 200);  // median of 100, 300, 200
  CHECK(u.next(at(start_ms + 73 * hour_ms, 900), 555) == 555);  // another hour of the day has no days yet
  // Older than baseline_days: forgotten.
  usual_level short_memory(3, false);
  for (int d = 0; d < 6; ++d) short_memory.next(at(start_ms + d * 24 * hour_ms, d < 3 ? 5000 : 100), 0);
  CHECK(short_memory.next(at(start_ms + 6 * 24 * hour_ms, 0), 0) == 100);
}

TEST_CASE("sustained_load usual level by_weekday: weekdays and weekends apart", "[sustained]") {
  // Two weeks from Monday: 100 Wh at 10:00 on weekdays, 1000 on weekends.
  usual_level split(28, true), together(28, false);
  for (int d = 0; d < 14; ++d) {
    const reading r = at(start_ms + (d * 24 + 10) * hour_ms, d % 7 >= 5 ? 1000 : 100);
    split.next(r, 0);
    together.next(r, 0);
  }
  const reading monday = at(start_ms + (14 * 24 + 10) * hour_ms, 0), saturday = at(start_ms + (19 * 24 + 10) * hour_ms, 0);
  CHECK(monday.local.weekday == 0);
  CHECK(saturday.local.weekday == 5);
  CHECK(split.next(monday, 0) == 100);
  CHECK(split.next(saturday, 0) == 1000);
  CHECK(together.next(saturday, 0) == 100);
}

TEST_CASE("sustained_load follows a rise until it has gone, not until an hour allows more", "[sustained]") {
  sustained_model m;
  m.trained.hours = {2};
  m.threshold.assign(1, {});
  m.threshold[0].fill(500);
  m.threshold[0][17] = 1500;  // the evening allows more
  followed_rise rise;
  auto still_on = [&](int hour, double floor_wh, double excess_wh = 0) {
    meter_state::step s{300, {}, hour, excess_wh};
    s.floor_wh.fill(std::nan(""));
    s.floor_wh[0] = floor_wh;
    return rise.still_on(m, s, judge(m, s, hour));
  };
  CHECK_FALSE(still_on(15, 400));   // below its threshold: nothing followed
  CHECK(still_on(16, 800));         // 1.6: the rise is followed from here
  CHECK(still_on(17, 900));         // 0.6 at 17:00, but still above the 500 it crossed
  CHECK(still_on(17, 900));         // the same step again (delivered again): the same answer
  CHECK_FALSE(still_on(17, 450));   // fell below what it crossed: gone
  CHECK_FALSE(still_on(17, 900));   // 0.6 again, with nothing followed: a new rise must score above 1.0
  CHECK(still_on(18, 900));         // as this one does
  // A gap of an hour or two starts the window again: meanwhile the reading alone says.
  CHECK(still_on(19, std::nan(""), 2500));
  CHECK_FALSE(still_on(20, std::nan(""), 100));  // gone
}

TEST_CASE("sustained_load: a rise began at the start of the longest window whose floor is above the threshold", "[sustained]") {
  // A heater on for six hours, told by the 2-hour window: "since" was two
  // hours ago, while the 6-hour window saw it all along.
  settings two_and_six;
  two_and_six.hours = {2, 6};
  meter_state m(two_and_six);
  hourly usual;
  usual.fill(300);
  meter_state::step s{};
  for (int h = 0; h < 6; ++h) s = m.next(at(start_ms + h * hour_ms, 2300), usual);
  CHECK(m.window_start_ms(0) == start_ms + 4 * hour_ms);
  CHECK(m.rise_start_ms(s, 0, 1500) == start_ms);                // 2000 above usual for all six hours
  CHECK(m.rise_start_ms(s, 0, 2500) == start_ms + 4 * hour_ms);  // no floor that high: the window's own
  s = m.next(at(start_ms + 6 * hour_ms, 1000), usual);           // a lower hour: the six-hour floor falls
  CHECK(m.rise_start_ms(s, 0, 600) == start_ms + hour_ms);       // both windows' floors are 700
  CHECK(m.rise_start_ms(s, 0, 800) == start_ms + 5 * hour_ms);
}

TEST_CASE("sustained_load training: thresholds from the history, a heater above them", "[sustained]") {
  const auto history = ordinary_days(60);
  settings s;
  const sustained_model m = train(history, s);
  CHECK(m.readings == 60 * 24);
  CHECK(m.usual[3] == Approx(300).margin(30));
  CHECK(m.usual[20] == Approx(1500).margin(150));
  REQUIRE(m.threshold.size() == 3);  // the 2-, 3- and 6-hour floors
  for (const auto& by_hour : m.threshold)
    for (double t : by_hour) CHECK(t >= s.min_excess_wh);
  // A smaller budget never lowers a threshold.
  settings strict = s;
  strict.alerts_per_week = 0.1;
  const sustained_model tight = train(history, strict);
  for (std::size_t w = 0; w < m.threshold.size(); ++w)
    for (int h = 0; h < hours_per_day; ++h) CHECK(tight.threshold[w][h] >= m.threshold[w][h]);

  // Replay the history, then leave a 2 kW heater on from 01:00 for 5 hours.
  meter_state state(m.trained);
  for (const auto& r : history) state.next(r, m.usual);
  std::vector<double> scores;
  for (int h = 0; h < 8; ++h) {
    const reading r = at(start_ms + (60 * 24 + h) * hour_ms, (h >= 1 && h <= 5 ? 2300 : 300));
    scores.push_back(judge(m, state.next(r, m.usual), h).score);
  }
  CHECK(scores[0] < 1);
  CHECK(scores[1] < 1);  // one hour is not sustained
  CHECK(scores[2] > 1);  // the second hour of the heater: the 2-hour floor
  CHECK(scores[5] > 1);
  CHECK(scores[6] < 1);  // off again

  // The heater again, and midway a Kafka rebalance reads its last three hours
  // again: they restarted the windows, and a spell still on fell to 0.
  auto heater = [&](int h) { return at(start_ms + (61 * 24 + h) * hour_ms, h >= 1 ? 2300 : 300); };
  double latest = 0;
  for (int h = 0; h <= 4; ++h) {
    const auto st = state.next(heater(h), m.usual);
    latest = judge(m, st, st.hour).score;
  }
  REQUIRE(latest > 1);
  for (int h = 2; h <= 4; ++h) {  // delivered again: the latest step, judged at its own hour, is the latest score
    const auto st = state.next(heater(h), m.usual);
    CHECK(st.hour == 4);
    CHECK(judge(m, st, st.hour).score == latest);
  }
  CHECK(judge(m, state.next(heater(5), m.usual), 5).score > 1);  // and on it goes
}

namespace {

/// `days` of a house that uses 1000 Wh every hour, give or take 600 (a fixed
/// pseudo-random draw): busy spells as likely at any hour.
std::vector<reading> erratic_days(int days) {
  std::vector<reading> out;
  unsigned jitter = 777;
  for (int i = 0; i < days * 24; ++i) {
    jitter = jitter * 1103515245u + 12345u;
    out.push_back(at(start_ms + i * hour_ms, 400 + 1200 * ((jitter >> 16) % 1000) / 1000.0));
  }
  return out;
}

/// The history with an oven left on (+500 Wh) from 14:00 to 18:00 on every
/// `every`-th day from day `first`, its readings labelled as inject labels them.
std::vector<reading> with_ovens(std::vector<reading> history, int first, int every) {
  for (auto& r : history)
    if ((r.ts_ms - start_ms) / (24 * hour_ms) % every == first && r.local.hour >= 14 && r.local.hour < 18) {
      r.wh += 500;
      r.labels.push_back({"label", "oven"});
    }
  return history;
}

/// The ovens with at least one reading scored above 1.
int caught(const std::vector<reading>& labelled, const sustained_model& m) {
  meter_state state(m.trained);
  int ovens = 0;
  bool in_oven = false;
  for (const auto& r : labelled) {
    const bool oven = !r.labels.empty();
    const bool alert = judge(m, state.next(r, m.usual), r.local.hour).score > 1;
    if (oven && alert && !in_oven) ++ovens;
    in_oven = oven && (in_oven || alert);
  }
  return ovens;
}

} // namespace

TEST_CASE("sustained_load training: rehearsals send the budget where the events are", "[sustained]") {
  const auto history = erratic_days(140);
  settings s;
  s.min_excess_wh = 50;  // below the house's own noise: the budget alone sets the thresholds
  const sustained_model even = train(history, s);
  const sustained_model rehearsed = train(history, s, {2, [&](int i) { return with_ovens(history, i, 3); }});
  CHECK(even.rehearsals == 0);
  CHECK(rehearsed.rehearsals == 2);
  // Spent in the afternoon, where the ovens are: a lower threshold there...
  auto lowest_at = [](const sustained_model& m, int h) {
    double t = m.threshold[0][h];
    for (const auto& by_hour : m.threshold) t = std::min(t, by_hour[h]);
    return t;
  };
  CHECK(lowest_at(rehearsed, 17) < lowest_at(even, 17));
  // More ovens caught on days the rehearsals did not use, within the budget on the history.
  const auto test = with_ovens(history, 2, 3);
  CHECK(caught(test, rehearsed) > caught(test, even) + 5);
  int alerts = 0, at_night = 0, window_alerts = 0;
  meter_state state(rehearsed.trained);
  for (const auto& r : history) {
    const auto step = state.next(r, rehearsed.usual);
    const bool alert = judge(rehearsed, step, r.local.hour).score > 1;
    alerts += alert;
    at_night += alert && r.local.hour < 6;
    for (std::size_t w = 0; w < rehearsed.threshold.size(); ++w)
      window_alerts += step.floor_wh[w] > rehearsed.threshold[w][r.local.hour];
  }
  CHECK(alerts > 0);
  CHECK(alerts <= 20);  // one a week over the 20 weeks
  CHECK(at_night == 0);  // none spent where no oven was
  // One budget for all the windows: a reading another window already alerts
  // costs nothing more, so the windows' alerts counted apart exceed it.
  CHECK(window_alerts > 20);
}

namespace {

/// Alert-hours of `m` on the readings from `from_ms` on, the history replayed before them.
int alerts_from(const std::vector<reading>& history, std::int64_t from_ms, const sustained_model& m) {
  meter_state state(m.trained);
  int alerts = 0;
  for (const auto& r : history) {
    const bool alert = judge(m, state.next(r, m.usual), r.local.hour).score > 1;
    alerts += r.ts_ms > from_ms && alert;
  }
  return alerts;
}

/// The clock hours after `from_ms` with an alert, as eval counts false alert-hours.
int alert_hours_from(const std::vector<reading>& history, std::int64_t from_ms, const sustained_model& m) {
  meter_state state(m.trained);
  std::set<std::int64_t> hours;
  for (const auto& r : history)
    if (judge(m, state.next(r, m.usual), r.local.hour).score > 1 && r.ts_ms > from_ms) hours.insert(clock_hour(r));
  return static_cast<int>(hours.size());
}

/// erratic_days with each level held for four hours: rises that last.
std::vector<reading> erratic_spells(int days) {
  auto history = erratic_days(days);
  for (std::size_t i = 0; i < history.size(); ++i) history[i].wh = history[i - i % 4].wh;
  return history;
}

/// The same history read every quarter-hour: each hour's energy in four equal readings.
std::vector<reading> in_quarter_hours(const std::vector<reading>& hourly) {
  std::vector<reading> out;
  for (const auto& r : hourly)
    for (int q = 0; q < 4; ++q) {
      reading part = at(r.ts_ms + q * hour_ms / 4, r.wh / 4);
      part.span_ms = hour_ms / 4;
      out.push_back(part);
    }
  return out;
}

} // namespace

TEST_CASE("sustained_load training: the budget counts alert-hours, however often the meter reads", "[sustained]") {
  settings s;
  s.min_excess_wh = 10;  // below the house's own noise: the budget alone sets the thresholds
  s.budget_days = 28;
  // Four weeks: four alert-hours, whether read every hour or every quarter-hour.
  // (Counted in readings, the quarter-hours' budget was four quarter-hours,
  // less than one spell alerts: that model never alerted.)
  for (const auto& history : {erratic_spells(120), in_quarter_hours(erratic_spells(120))}) {
    const int hours = alert_hours_from(history, history.back().ts_ms - 28 * 24 * hour_ms, train(history, s));
    INFO(history.size() << " readings");
    CHECK(hours >= 3);
    CHECK(hours <= 4);
  }
}

TEST_CASE("sustained_load training: the budget is met on the last budget_days", "[sustained]") {
  // A house whose busy spells were twice as big before its last 100 days.
  auto history = erratic_days(300);
  const std::int64_t quieter_from = history[200 * 24].ts_ms;
  for (auto& r : history)
    if (r.ts_ms < quieter_from) r.wh = 2 * r.wh - 400;
  settings all;
  all.min_excess_wh = 50;
  all.budget_days = 0;
  settings recent = all;
  recent.budget_days = 100;
  const sustained_model old = train(history, all), met = train(history, recent);
  CHECK(met.trained.budget_days == 100);
  int lower = 0;  // one factor for all; a threshold at min_excess_wh stays there
  for (std::size_t w = 0; w < met.threshold.size(); ++w)
    for (int h = 0; h < hours_per_day; ++h) {
      CHECK(met.threshold[w][h] <= old.threshold[w][h]);
      lower += met.threshold[w][h] < old.threshold[w][h];
    }
  CHECK(lower > 60);
  // About one alert-hour a week on the last 100 days (14 weeks), not the few the busier years allow.
  const int before = alerts_from(history, quieter_from, old), after = alerts_from(history, quieter_from, met);
  CHECK(before < 5);
  CHECK(after >= 10);
  CHECK(after <= 15);
  // The whole history alerts more than its budget now: it is the recent days that count.
  CHECK(alerts_from(history, 0, met) > 43);

  // A meter silent through its last budget_days (one reading after a month's
  // gap) has nothing to meet the budget on: the thresholds stay as the whole
  // history set them, rather than falling as if those days never alerted.
  auto silent = erratic_days(200);
  silent.push_back(at(silent.back().ts_ms + 30 * 24 * hour_ms, 1000));
  settings short_recent = all;
  short_recent.budget_days = 14;
  CHECK(train(silent, short_recent).threshold == train(silent, all).threshold);
}

TEST_CASE("sustained_load training refuses too short a history", "[sustained]") {
  CHECK_THROWS_WITH(train(ordinary_days(20), settings{}),
                    "sustained_load: the history has readings on 20 days, fewer than 42 (baseline_days + 2 weeks); "
                    "give it more, a few months is best");
  settings bad;
  bad.hours = {0};
  CHECK_THROWS_WITH(train(ordinary_days(60), bad), "hours must be within 1..24; got 0");
  bad.hours = {3, 2};
  CHECK_THROWS_WITH(train(ordinary_days(60), bad),
                    "hours must be in increasing order, each once, e.g. [2, 3, 6]; got 3 before 2");
  bad.hours = {1, 2, 3, 4, 5, 6, 7};
  CHECK_THROWS_WITH(train(ordinary_days(60), bad), "hours must name 1 to 6 windows; got 7");
  bad = settings{};
  bad.budget_days = 7;
  CHECK_THROWS_WITH(train(ordinary_days(60), bad), "budget_days must be 0 (all of the history) or within 14..3660; got 7");
}

TEST_CASE("sustained_load model file: round trip and clear errors", "[sustained]") {
  sustained_model m = train(ordinary_days(60), settings{});
  m.timezone = "Europe/Paris";
  m.rehearsals = 5;
  const sustained_model back = from_toml(to_toml(m));
  CHECK(back.usual == m.usual);
  CHECK(back.threshold == m.threshold);
  CHECK(back.trained.hours == std::vector<std::int64_t>{2, 3, 6});
  CHECK(back.trained.by_weekday);
  CHECK(back.rehearsals == 5);
  CHECK(back.timezone == "Europe/Paris");
  CHECK_THROWS_WITH(from_toml("format = \"stream-smarts/percentile_band\"\nformat_version = 1\n"),
                    "not a sustained_load model (expected format = \"stream-smarts/sustained_load\")");
  std::string text = to_toml(m);
  text = text.substr(0, text.find("  # 05:00"));  // cut off after hour 05
  CHECK_THROWS_WITH(from_toml(text), Catch::Contains("not valid TOML (line"));
  text = to_toml(m);
  const auto row = text.find("  [", text.find("hourly"));
  text.replace(row, text.find("],", row) + 1 - row, "  [300.0, 0.0]");
  CHECK_THROWS_WITH(from_toml(text), "hourly row for hour 00: expected [usual, then a threshold for each of 3 "
                                     "windows] with thresholds above 0");
  // A file from before by_weekday and rehearsals: every day alike, an even budget.
  text = to_toml(m);
  for (const char* key : {"by_weekday = true\n", "rehearsals = 5  # 0: the budget spread evenly over the hours\n"}) {
    REQUIRE(text.find(key) != std::string::npos);
    text.erase(text.find(key), std::string(key).size());
  }
  const sustained_model old = from_toml(text);
  CHECK_FALSE(old.trained.by_weekday);
  CHECK(old.rehearsals == 0);
  CHECK(back.trained.budget_days == 365);
  text = to_toml(m);
  text.erase(text.find("budget_days = 365"), 17);
  CHECK(from_toml(text).trained.budget_days == 0);  // before budget_days: the budget met on all of the history
  text = to_toml(m);
  text.replace(text.find("by_weekday = true"), 17, "by_weekday = 1");
  CHECK_THROWS_WITH(from_toml(text), "'by_weekday' must be true or false");
  text = to_toml(m);
  text.replace(text.find("rehearsals = 5"), 14, "rehearsals = -1");
  CHECK_THROWS_WITH(from_toml(text), "'rehearsals' must be 0 or more; got -1");
  text = to_toml(m);
  text.replace(text.find("hours = [2, 3, 6]"), 17, "hours = [2, 3.5, 6]");
  CHECK_THROWS_WITH(from_toml(text), "'hours' must be a list of whole numbers of hours, e.g. [2, 3, 6]");
}

TEST_CASE("sustained_load model file: version 1 (one window) is still read", "[sustained]") {
  settings one;
  one.hours = {3};
  const sustained_model m = train(ordinary_days(60), one);
  std::string text = to_toml(m);
  for (auto [now, then] : {std::pair{"format_version = 2", "format_version = 1"}, {"hours = [3]", "hours = 3"}}) {
    REQUIRE(text.find(now) != std::string::npos);
    text.replace(text.find(now), std::string(now).size(), then);
  }
  const sustained_model old = from_toml(text);
  CHECK(old.trained.hours == std::vector<std::int64_t>{3});
  CHECK(old.threshold == m.threshold);
  text.replace(text.find("format_version = 1"), 18, "format_version = 3");
  CHECK_THROWS_WITH(from_toml(text), "unsupported format_version 3 (this plugin reads version 1 to 2)");
}

TEST_CASE("sustained_load plugin: trains, loads and scores per meter", "[stages][sustained]") {
  const auto& d = load(SUSTAINED_PLUGIN);
  CHECK(d.info.name == "sustained_load");
  temp_dir dir;
  fake_context trainer(d, {{"hours", std::int64_t{2}}}, dir.path);
  const std::string summary = d.train(ordinary_days(60), trainer, dir.path + "/sl.toml");
  CHECK_THAT(summary, Catch::StartsWith("sustained_load: 1440 readings from 2010-01-04T00:00:00+01:00 to "
                                        "2010-03-04T23:00:00+01:00, 2-hour floor over a 28-day usual level"));
  CHECK_THAT(summary, Catch::Contains("(alerts_per_week = 1 on the last 365 days of this history, spread evenly"));
  fake_context ctx(d, {{"model", std::string("sl.toml")}}, dir.path);
  auto s = d.make_scorer(ctx);
  const std::int64_t night = start_ms + 50 * 24 * hour_ms + 2 * hour_ms;
  reading a = at(night, 3000), b = at(night + hour_ms, 3000);
  CHECK(s->score(a).score == 0);  // one hour: not known to be sustained
  b.meter = "garage";             // another meter has its own window
  CHECK(s->score(b).score == 0);
  a = at(night + hour_ms, 3000);
  const score_result r = s->score(a);
  CHECK(r.score > 1);
  CHECK(r.expected_lo == Approx(300).margin(30));  // the usual level
  CHECK(r.expected_hi > r.expected_lo);
  CHECK(r.since_ms == night);  // the rise began with the first of its two hours
}

TEST_CASE("sustained_load plugin option problems", "[stages][sustained]") {
  const auto& d = load(SUSTAINED_PLUGIN);
  auto error = [&](std::map<std::string, option_value> given) {
    return option_error_of([&] {
      fake_context ctx(d, std::move(given), "/nonexistent");
      d.make_scorer(ctx);
    });
  };
  CHECK(error({}) == "model: model is not set: train one with `stream-smarts train --scorer sustained_load "
                     "--data FILE --out FILE`");
  CHECK(error({{"model", std::string("m.toml")}}) == "model: /nonexistent/m.toml: cannot open: No such file or directory");
  CHECK(training_error_of(d, {{"hours", std::int64_t{30}}}) == "hours: must be within 1..24; got 30");
  CHECK(training_error_of(d, {{"hours", std::vector<double>{2, 2.5}}}) ==
        "hours: must be whole numbers of hours; got 2.5");
  CHECK(training_error_of(d, {{"hours", std::vector<double>{6, 3}}}) ==
        "hours: must be in increasing order, each once, e.g. [2, 3, 6]; got 6 before 3");
  CHECK(training_error_of(d, {{"baseline_days", std::int64_t{5000000000}}}) ==
        "baseline_days: must be within 3..365; got 5000000000");  // as given, not cut to an int
  CHECK(training_error_of(d, {{"alerts_per_week", 0.0}}) ==
        "alerts_per_week: must be above 0 and at most 84 (half the hours of a week); got 0");
  CHECK(training_error_of(d, {{"budget_days", std::int64_t{-1}}}) ==
        "budget_days: must be 0 (all of the history) or within 14..3660; got -1");
}

TEST_CASE("vector_queue is a first-in-first-out queue", "[sustained]") {
  vector_queue<int> q;
  CHECK(q.empty());
  for (int i = 0; i < 100; ++i) q.push_back(i);
  for (int i = 0; i < 70; ++i) {
    CHECK(q.front() == i);
    q.pop_front();
  }
  CHECK(q.size() == 30);
  CHECK(q[0] == 70);
  CHECK(q.back() == 99);
  q.pop_back();
  CHECK(q.back() == 98);
  int sum = 0;
  for (int v : q) sum += v;
  CHECK(sum == (70 + 98) * 29 / 2);
  while (!q.empty()) q.pop_front();
  q.emplace_back(5);
  CHECK(q.front() == 5);
  CHECK(q.size() == 1);
}

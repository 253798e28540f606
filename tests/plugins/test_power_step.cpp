// The power_step scorer: its pure parts (the step window, the held level,
// training and the model file) compiled in directly, and the built plugin
// driven through the SDK.
#include "ordinary_days.hpp"
#include "plugin_harness.hpp"
#include "step_model.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

using namespace stream_smarts;
using namespace stream_smarts::power_step;
using namespace stream_smarts::testing;

namespace {

const std::int64_t start_ms = history_start_ms;
reading at(std::int64_t ts_ms, double wh) { return reading_at(ts_ms, wh); }

/// gpio_meter's readings stamped from 02:00 (the start of their trailing
/// hours), so emitted from 03:00, of a 300 W house with a heater switched on
/// at 03:20: the verdict on the last, emitted at 03:39.
const std::int64_t from_two = start_ms + 50 * 24 * hour_ms + 2 * hour_ms;
score_result heater_switched_on_at_0320(scorer& s) {
  score_result r{};
  for (int i = 0; i < 40; ++i) {
    reading minute = at(from_two + i * minute_ms, 300);
    minute.labels = {{"power_w", i < 20 ? "300" : "2300"}};
    r = s.score(minute);
  }
  return r;
}

/// dir/ps.toml: a model whose threshold is 1500 W at every hour but 02:00's.
void write_model(const temp_dir& dir, double two_am_w = 1500) {
  step_model m = train(ordinary_days(40), settings{}, history_zone);
  m.threshold.fill(1500);
  m.threshold[2] = two_am_w;
  write_model_file(m, dir.path + "/ps.toml");
}

} // namespace

TEST_CASE("power_step window: the lowest power of the hold against the median before it", "[power_step]") {
  step_window w(10 * minute_ms, 30 * minute_ms);
  step_window::step s{};
  for (int m = 0; m < 30; ++m) s = w.next(m * minute_ms, m % 2 ? 300 : 500);  // 400 W on average
  CHECK(s.before_w == 500);  // median of the 20 readings before the hold: ten of each, the upper middle
  for (int m = 30; m < 39; ++m) s = w.next(m * minute_ms, m == 35 ? 2100 : 2400);  // a heater, one dip
  CHECK(s.floor_w == 300);   // minute 29 is still in the hold (t - 10 min, t]
  s = w.next(39 * minute_ms, 2400);
  CHECK(s.floor_w == 2100);  // the whole hold is the heater: its lowest
  CHECK(s.before_w == 500);
  s = w.next(40 * minute_ms, 300);
  CHECK(s.floor_w == 300);   // a kettle's few minutes never make a floor
}

TEST_CASE("power_step window: hourly readings measure against the hour before, and gaps start again", "[power_step]") {
  step_window w(10 * minute_ms, 30 * minute_ms);
  CHECK(std::isnan(w.next(0, 400).floor_w));  // nothing before: unknown
  auto s = w.next(hour_ms, 2400);
  CHECK(s.before_w == 400);
  CHECK(s.floor_w == 2400);
  CHECK(w.next(2 * hour_ms, 2500).before_w == 2400);
  CHECK(std::isnan(w.next(4 * hour_ms, 400).floor_w));  // a gap of two hours
  CHECK(std::isnan(w.next(3 * hour_ms, 400).floor_w));  // time going backwards
  CHECK(std::isnan(w.next(5 * hour_ms, std::nan("")).floor_w));
}

TEST_CASE("power_step: the level before a step is held while the load stays on", "[power_step]") {
  settings s;
  meter_state m(s);
  double score = 0;
  for (int i = 0; i < 40; ++i) score = m.next(i * minute_ms, 400, 1500).score;
  CHECK(score == 0);
  for (int i = 40; i < 49; ++i) CHECK(m.next(i * minute_ms, 2400, 1500).score < 1);  // not held 10 minutes yet
  const auto on = m.next(49 * minute_ms, 2400, 1500);
  CHECK(on.score == Approx(2000.0 / 1500));
  CHECK(on.before_w == 400);
  CHECK(on.since_ms == 40 * minute_ms);  // the hold's first reading: when the step began
  // Hours later the 30 minutes before are the heater too; the alert goes on.
  meter_state::scored later{};
  for (int i = 50; i < 200; ++i) later = m.next(i * minute_ms, 2400, 1500);
  CHECK(later.score == Approx(2000.0 / 1500));
  CHECK(later.before_w == 400);
  CHECK(later.since_ms == 40 * minute_ms);
  // A Kafka rebalance delivers the last 20 minutes again: they restarted the
  // window, and the step still held ended.
  for (int i = 180; i < 200; ++i) CHECK(m.next(i * minute_ms, 2400, 1500).score == Approx(2000.0 / 1500));
  CHECK(m.next(199 * minute_ms, 2400, 1500).since_ms == 40 * minute_ms);
  // Switched off: back to normal, and the level before follows the house again.
  later = m.next(200 * minute_ms, 400, 1500);
  CHECK(later.score < 1);
  CHECK(later.since_ms == 0);
  for (int i = 201; i < 260; ++i) later = m.next(i * minute_ms, 400, 1500);
  CHECK(later.score == 0);
}

TEST_CASE("power_step: outside the active hours a new step scores 0, one already held goes on", "[power_step]") {
  settings s;
  meter_state m(s);
  for (int i = 0; i < 40; ++i) m.next(i * minute_ms, 400, 1500);
  for (int i = 40; i < 50; ++i) CHECK(m.next(i * minute_ms, 2400, 1500, false).score == 0);  // not watching
  const auto found = m.next(50 * minute_ms, 2400, 1500, true);  // watching again: the step is told
  CHECK(found.score == Approx(2000.0 / 1500));
  CHECK(found.since_ms == 41 * minute_ms);
  const auto later = m.next(51 * minute_ms, 2400, 1500, false);  // held: followed until it ends
  CHECK(later.score == Approx(2000.0 / 1500));
  CHECK(later.since_ms == 41 * minute_ms);
  CHECK(m.next(52 * minute_ms, 400, 1500, false).score < 1);
}

TEST_CASE("power_step: a step held into an hour of a higher threshold goes on while the load does", "[power_step]") {
  // The shipped model's 05:00 threshold is 1558 W, 06:00's 2344 W: a 2 kW heater on since 01:00 was
  // "back to normal" at 06:00.
  settings s;
  meter_state m(s);
  for (int i = 0; i < 40; ++i) m.next(i * minute_ms, 300, 1500);
  meter_state::scored held{};
  for (int i = 40; i < 60; ++i) held = m.next(i * minute_ms, 2300, 1500);
  CHECK(held.score == Approx(2000.0 / 1500));
  const auto morning = m.next(60 * minute_ms, 2300, 2400);
  CHECK(morning.score == Approx(2000.0 / 1500));  // still by the threshold it was found by
  CHECK(morning.threshold_w == 1500);
  CHECK(morning.since_ms == held.since_ms);
  const auto lower = m.next(61 * minute_ms, 2300, 1200);  // an hour of a lower threshold measures it by its own
  CHECK(lower.score == Approx(2000.0 / 1200));
  for (int i = 62; i < 80; ++i) held = m.next(i * minute_ms, 300, 2400);
  CHECK(held.score < 1);  // switched off: it ends
  // A new step in that hour is judged by its threshold.
  for (int i = 80; i < 100; ++i) held = m.next(i * minute_ms, 2300, 2400);
  CHECK(held.score < 1);
}

TEST_CASE("power_step power: the label when it holds a number, at the reading's end, else the Wh, at its start",
          "[power_step]") {
  const auto sample = [](const reading& r, std::string_view label) {
    const power_sample p = power_of(r, label);
    return std::pair(p.ts_ms, p.w);
  };
  reading r = at(start_ms, 450);
  CHECK(sample(r, "power_w") == std::pair(start_ms, 450.0));
  r.labels = {{"pulses", "7"}, {"power_w", "2250.5"}};
  CHECK(sample(r, "power_w") == std::pair(start_ms + hour_ms, 2250.5));
  CHECK(sample(r, "") == std::pair(start_ms, 450.0));
  r.span_ms = minute_ms;  // a source whose readings are each a minute's energy
  CHECK(sample(r, "power_w") == std::pair(start_ms + minute_ms, 2250.5));
  r.span_ms = 0;          // one that does not say: a moment
  CHECK(sample(r, "power_w") == std::pair(start_ms, 2250.5));
  for (const char* not_a_number : {"n/a", "", " 2250", "2250 W", "inf", "nan"}) {
    r.labels = {{"power_w", not_a_number}};
    CHECK(sample(r, "power_w") == std::pair(start_ms, 450.0));
  }
}

TEST_CASE("power_step hour: gpio_meter's power is judged by the hour it was drawn in", "[power_step]") {
  // Emitted at 01:10, of the hour from 00:10: its Wh belongs to midnight, its power to 01:00.
  reading r = at(start_ms + 10 * minute_ms, 900);
  CHECK(threshold_hour(r, power_of(r, "power_w"), history_zone) == 0);
  r.labels = {{"power_w", "2300"}};
  CHECK(threshold_hour(r, power_of(r, "power_w"), history_zone) == 1);
  r = at(start_ms + 23 * hour_ms + 30 * minute_ms, 900);  // emitted at 00:30 the next day
  r.labels = {{"power_w", "2300"}};
  CHECK(threshold_hour(r, power_of(r, "power_w"), history_zone) == 0);
}

TEST_CASE("power_step training: a Pi's own minute readings put each step in the hour it was switched on",
          "[power_step]") {
  // 30 days of gpio_meter readings: 300 W, and 2300 W from 06:00 to 06:30 every day.
  std::vector<reading> history;
  for (std::int64_t m = 0; m < 30 * 24 * 60; ++m) {
    const std::int64_t emitted = start_ms + m * minute_ms, minute_of_day = m % (24 * 60);
    reading r = at(emitted - hour_ms, 0);  // the trailing hour's start, as gpio_meter stamps it
    r.labels = {{"power_w", minute_of_day >= 6 * 60 && minute_of_day < 6 * 60 + 30 ? "2300" : "300"}};
    history.push_back(std::move(r));
  }
  settings low;
  low.min_step_w = 100;
  const step_model m = train(history, low, history_zone);
  // Each hour is learnt with the two beside it (alert_budget.hpp): 05:00 to
  // 07:00 hold the 06:00 steps, 04:00 none. Stamped by the trailing hour's
  // start they would fall in 05:00, and 04:00 would hold them instead of 07:00.
  CHECK(m.threshold[7] == Approx(2000));
  CHECK(m.threshold[4] == Approx(100));
}

TEST_CASE("power_step training: thresholds from the history's steps, never below min_step_w", "[power_step]") {
  const auto history = ordinary_days(60);
  const step_model m = train(history, settings{}, history_zone);
  CHECK(m.readings == 60 * 24);
  for (double t : m.threshold) CHECK(t >= 1500);
  settings low;
  low.min_step_w = 100;
  const step_model learnt = train(history, low, history_zone);
  // The history's own steps: small at night, the 900 -> 1500 W rise at 18:00 by day.
  CHECK(learnt.threshold[3] < 300);
  CHECK(learnt.threshold[18] > 600);
  CHECK_THROWS_WITH(train(ordinary_days(20), settings{}, history_zone),
                    "power_step: the history has readings on 20 days, fewer than 28; give it more, a few months is best");
  auto stretched = ordinary_days(20);  // and one stray row from 1970, before a Pi's clock was set
  stretched.insert(stretched.begin(), stretched.front());
  stretched.front().ts_ms = 0;
  stretched.front().local = history_zone.local(0);
  CHECK_THROWS_WITH(train(stretched, settings{}, history_zone),
                    "power_step: the history has readings on 21 days, fewer than 28; give it more, a few months is best");
  settings bad;
  bad.hold_ms = 2 * hour_ms;
  CHECK_THROWS_WITH(train(history, bad, history_zone), "hold must be within 1m..1h; got 2h");
}

TEST_CASE("power_step model file: round trip and clear errors", "[power_step]") {
  step_model m = train(ordinary_days(40), settings{}, history_zone);
  m.timezone = "Europe/Paris";
  const step_model back = from_toml(to_toml(m));
  CHECK(back.threshold == m.threshold);
  CHECK(back.trained.hold_ms == 10 * minute_ms);
  CHECK(back.trained.before_ms == 30 * minute_ms);
  CHECK(back.timezone == "Europe/Paris");
  CHECK_THROWS_WITH(from_toml("format = \"stream-smarts/sustained_load\"\nformat_version = 1\n"),
                    "not a power_step model (expected format = \"stream-smarts/power_step\")");
  std::string text = to_toml(m);
  CHECK_THROWS_WITH(from_toml(text.substr(0, text.find("  # 05:00"))), Catch::Contains("not valid TOML (line"));
  text = to_toml(m);
  const auto first = text.find('\n', text.find("thresholds = [")) + 1;
  text.replace(first, text.find(',', first) - first, "  -5.0");
  CHECK_THROWS_WITH(from_toml(text), "threshold for hour 00: expected a number of W above 0");
  text = to_toml(m);
  text.replace(text.find("hold_s = 600"), 12, "hold_s = 7200");
  CHECK_THROWS_WITH(from_toml(text), "hold must be within 1m..1h; got 2h");
  // Found by fuzzing: a float or a huge integer overflowed on its way to ms.
  const std::string seconds = "hold_s = 600";
  for (const auto& [value, message] : {std::pair<std::string, std::string>{"5E124", "'hold_s' must be an integer"},
                                       {"600.0", "'hold_s' must be an integer"},
                                       {"9000000000000000000", "'hold_s' is out of range: 9000000000000000000 s"}}) {
    text = to_toml(m);
    text.replace(text.find(seconds), seconds.size(), "hold_s = " + value);
    CHECK_THROWS_WITH(from_toml(text), message);
  }
}

TEST_CASE("power_step plugin: trains, loads and scores minute readings per meter", "[stages][power_step]") {
  const auto& d = load(POWER_STEP_PLUGIN);
  CHECK(d.info.name == "power_step");
  temp_dir dir;
  fake_context trainer(d, {}, dir.path);
  const std::string summary = d.train(ordinary_days(40), trainer, dir.path + "/ps.toml");
  CHECK_THAT(summary, Catch::StartsWith("power_step: 960 readings from 2010-01-04T00:00:00+01:00 to "
                                        "2010-02-12T23:00:00+01:00, a step held 10m against the 30m before"));
  fake_context ctx(d, {{"model", std::string("ps.toml")}}, dir.path);
  auto s = d.make_scorer(ctx);
  // A night of gpio_meter readings: its power_w label, not the trailing hour's Wh.
  const std::int64_t night = start_ms + 50 * 24 * hour_ms + 2 * hour_ms;
  auto minute = [&](int i, double watts, const std::string& meter) {
    reading r = at(night + i * minute_ms, 300);
    r.meter = meter;
    r.labels = {{"power_w", std::to_string(watts)}};
    return r;
  };
  for (int i = 0; i < 40; ++i) CHECK(s->score(minute(i, 300, "home")).score <= 0);
  for (int i = 40; i < 49; ++i) s->score(minute(i, 2300, "home"));
  const score_result r = s->score(minute(49, 2300, "home"));
  CHECK(r.score > 1);
  CHECK(r.expected_lo == 300);  // the level before the step
  CHECK(r.expected_hi == Approx(300 + 1500));
  CHECK(r.unit == band_unit::w);  // the range is power, not the hour's Wh: notifications and JSON say so
  CHECK(s->score(minute(49, 2300, "garage")).score == 0);  // another meter has its own window
}

TEST_CASE("power_step plugin: a step in gpio_meter's power meets the threshold of the hour it began in",
          "[stages][power_step]") {
  const auto& d = load(POWER_STEP_PLUGIN);
  temp_dir dir;
  write_model(dir, 5000);  // 02:00 allows far more than 03:00
  fake_context ctx(d, {{"model", std::string("ps.toml")}}, dir.path);
  const score_result r = heater_switched_on_at_0320(*d.make_scorer(ctx));
  CHECK(r.score == Approx(2000.0 / 1500));
  CHECK(r.expected_hi == Approx(300 + 1500));
  CHECK(r.since_ms == from_two + hour_ms + 20 * minute_ms);  // 03:20, after the reading's own ts (02:39)
}

TEST_CASE("power_step plugin: active_hours are the hours the power was drawn in, not the reading's",
          "[stages][power_step]") {
  const auto& d = load(POWER_STEP_PLUGIN);
  temp_dir dir;
  write_model(dir);
  auto last_score = [&](const std::string& active_hours) {
    fake_context ctx(d, {{"model", std::string("ps.toml")}, {"active_hours", active_hours}}, dir.path);
    return heater_switched_on_at_0320(*d.make_scorer(ctx)).score;
  };
  CHECK(last_score("") == Approx(2000.0 / 1500));             // all day
  CHECK(last_score("03:00-04:00") == Approx(2000.0 / 1500));  // drawn at 03:20-03:39
  CHECK(last_score("22:00-03:00") == 0);
  CHECK(last_score("02:00-03:00") == 0);                      // the readings' own hour: not what counts
}

TEST_CASE("power_step plugin option problems", "[stages][power_step]") {
  const auto& d = load(POWER_STEP_PLUGIN);
  auto error = [&](std::map<std::string, option_value> given) {
    return option_error_of([&] {
      fake_context ctx(d, std::move(given), "/nonexistent");
      d.make_scorer(ctx);
    });
  };
  CHECK(error({}) == "model: model is not set: train one with `stream-smarts train --scorer power_step "
                     "--data FILE --out FILE`");
  CHECK(error({{"model", std::string("m.toml")}}) == "model: /nonexistent/m.toml: cannot open: No such file or directory");
  CHECK(training_error_of(d, {{"hold", std::chrono::milliseconds(30000)}}) ==
        "hold: must be within 1m..1h; got 30s");
  CHECK(training_error_of(d, {{"before", std::chrono::milliseconds(7 * hour_ms)}}) ==
        "before: must be within 1m..6h; got 7h");
  CHECK(training_error_of(d, {{"min_step_w", -1.0}}) ==
        "min_step_w: must be a number of W above 0; got -1");
  temp_dir dir;
  write_model(dir);
  const auto active_hours_error = option_error_of([&] {
    fake_context ctx(d, {{"model", std::string("ps.toml")}, {"active_hours", std::string("22-7")}}, dir.path);
    d.make_scorer(ctx);
  });
  CHECK(active_hours_error == "active_hours: must be local times \"HH:MM-HH:MM\", e.g. \"22:00-07:00\", not \"22-7\"");
  const auto no_time = option_error_of([&] {
    fake_context ctx(d, {{"model", std::string("ps.toml")}, {"active_hours", std::string("22:00-22:00")}}, dir.path);
    d.make_scorer(ctx);
  });
  CHECK(no_time == "active_hours: \"22:00-22:00\" is no time at all (it ends where it starts); the whole day is "
                   "\"00:00-24:00\"");
}

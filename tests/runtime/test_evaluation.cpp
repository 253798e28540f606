// The figures of `train`'s hold-out report and of `eval`.
#include "evaluation.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace stream_smarts;
using namespace stream_smarts::runtime;

namespace {

local_fields day(int n) {  // day n from 2008-01-01
  local_fields l;
  l.year = 2008;
  l.month = static_cast<std::int8_t>(1 + n / 28);
  l.day = static_cast<std::int8_t>(1 + n % 28);
  return l;
}

reading at(int n, double wh, std::string label = "-") {
  reading r;
  r.local = day(n);
  r.wh = wh;
  if (label != "-") r.labels.push_back({"label", label});
  return r;
}

} // namespace

TEST_CASE("the hold-out is the last share of the days with readings, whatever the order of the readings") {
  // Days 0..39 with readings, but not day 35; given newest first.
  std::vector<reading> history;
  for (int n = 39; n >= 0; --n)
    if (n != 35)
      for (int h = 0; h < 2; ++h) history.push_back(at(n, 100));
  const holdout fifth(history, 0.2);  // 39 days: 7.8, rounded to 8
  CHECK(fifth.days() == 8);
  int held = 0;
  for (int n = 0; n < 40; ++n) held += fifth.contains(at(n, 100));
  CHECK(held == 9);  // days 31..39, of which 35 had no readings
  CHECK_FALSE(fifth.contains(at(30, 100)));
  CHECK(fifth.contains(at(31, 100)));
  CHECK(fifth.contains(at(60, 100)));  // and anything after them

  CHECK(holdout(history, 0.0).days() == 0);
  CHECK_FALSE(holdout(history, 0.0).contains(at(39, 100)));
  CHECK(holdout(history, 0.01).days() == 0);  // under half a day: none
  CHECK(holdout(history, 0.99).days() == 39 - 0);  // 38.6 rounds to all 39: nothing left to train on
  CHECK(holdout({}, 0.2).days() == 0);
}

TEST_CASE("the hold-out is scored in order with the days before it, and judged on the held-out days only") {
  // A scorer with running state: it alerts on a rise of more than 50 Wh
  // from the reading before. Every day is flat, each 100 Wh above the last,
  // so each day's first reading rises from the day before it.
  std::vector<reading> history;
  for (int n = 0; n < 84; ++n)
    for (int h = 0; h < 24; ++h) history.push_back(at(n, 100.0 * n));
  std::size_t given = 0;
  double before = -1;
  evaluation e(1.0);
  const holdout held(history, 0.2);
  REQUIRE(held.days() == 17);
  judge_held_out(e, history, held, [&](const reading& r) {
    ++given;
    const double rise = before < 0 ? 0 : r.wh - before;
    before = r.wh;
    return score_result{rise / 50, r.wh - 10, r.wh + 10};
  });
  CHECK(given == history.size());   // the scorer saw every day, in order
  CHECK(e.readings() == 24 * 17);   // the report judged the held-out days only
  CHECK(e.alerts() == 17);          // each held-out day's first reading, the first one's risen from the day before
  CHECK(e.weeks() == Approx(17 / 7.0));
}

TEST_CASE("the hold-out judges an event with the days it began on, as eval does from where it starts") {
  // Ten days of four readings; the last two are held out. A heater on from
  // day 7's last reading into day 8 belongs to the trained days; an oven on
  // day 9 is judged.
  std::vector<reading> history;
  for (int n = 0; n < 10; ++n)
    for (int i = 0; i < 4; ++i) {
      const bool heater = (n == 7 && i == 3) || (n == 8 && i < 2), oven = n == 9 && i == 2;
      history.push_back(at(n, 100, heater ? "heater" : oven ? "oven" : "0"));
    }
  evaluation e(1.0);
  judge_held_out(e, history, holdout(history, 0.2), [](const reading& r) {
    return score_result{event_label(r).empty() ? 0.5 : 2.0, 0, 200};
  });
  CHECK(e.readings() == 8 - 2);  // day 8's two heater readings are not judged
  REQUIRE(e.events() == 1);
  CHECK(e.event_outcomes().front().kind == "oven");
  CHECK(e.events_caught() == 1);
}

TEST_CASE("an event is a run of readings with the same anomalous label, caught by any alert in it") {
  evaluation e(1.0);
  const score_result quiet{0.5, 100, 200}, loud{2.0, 100, 200};
  e.add(at(0, 150, "heater"), quiet);
  e.add(at(0, 300, "heater"), loud);   // caught in its second hour
  e.add(at(0, 300, "heater"), loud);
  e.add(at(0, 300, "oven"), quiet);    // another kind right after: another event, missed
  e.add(at(0, 120, "0"), quiet);
  e.add(at(1, 300, "heater"), quiet);  // a third, missed
  CHECK(e.events() == 3);
  CHECK(e.events_caught() == 1);
}

TEST_CASE("a hole in the readings ends an event: one of the same kind after it is another") {
  evaluation e(1.0);
  const score_result quiet{0.5, 100, 200};
  auto hour = [](int h, const char* label) {
    reading r = at(0, 300, label);
    r.ts_ms = h * 3'600'000LL;
    r.span_ms = 3'600'000;
    return r;
  };
  e.add(hour(0, "heater"), quiet);
  e.add(hour(1, "heater"), quiet);   // the next hour: the same event
  e.add(hour(30, "heater"), quiet);  // after 28 hours without readings: another
  e.add(hour(31, "heater"), quiet);
  CHECK(e.events() == 2);
}

TEST_CASE("labels: empty and 0 are normal, anything else anomalous") {
  CHECK(event_label(at(0, 1, "1")) == "1");
  CHECK(event_label(at(0, 1, "heater")) == "heater");
  CHECK(event_label(at(0, 1, "0")).empty());
  CHECK(event_label(at(0, 1, "")).empty());
  CHECK(event_label(at(0, 1)).empty());
}

TEST_CASE("coverage, centre error, precision, recall, F1 and false alerts per week") {
  evaluation e(1.0);
  const score_result in_band{0.5, 100, 200, 120}, above{2.0, 100, 200, 120};
  for (int n = 0; n < 14; ++n) e.add(at(n, 130, "0"), in_band);  // two weeks inside the band, centre off by 10
  e.add(at(0, 300, "1"), above);                                  // a caught anomaly
  e.add(at(1, 300, "0"), above);                                  // a false alert
  e.add(at(2, 150, "1"), in_band);                                // a missed anomaly
  CHECK(e.readings() == 17);
  CHECK(e.weeks() == 2);
  CHECK(e.coverage() == Approx(15.0 / 17));
  CHECK(e.centre_mae() == Approx((14 * 10 + 180 + 180 + 30) / 17.0));
  CHECK(e.alerts() == 2);
  CHECK(e.precision() == Approx(0.5));
  CHECK(e.recall() == Approx(0.5));
  CHECK(e.f1() == Approx(0.5));
  CHECK(e.false_alert_hours_per_week() == Approx(0.5));
  CHECK(e.alerts_per_week() == Approx(1.0));
  CHECK(e.events() == 2);
  CHECK(e.events_caught() == 1);

  evaluation middle(1.0);  // a scorer without a centre: the middle of its band
  middle.add(at(0, 130), {0.3, 100, 200});
  CHECK(middle.centre_mae() == Approx(20));
  CHECK_FALSE(middle.labelled());
  CHECK(std::isnan(middle.precision()));
  CHECK(std::isnan(middle.false_alert_hours_per_week()));
}

namespace {

/// A reading at `minute` minutes after 2008-01-07T00:00Z, in a zone `offset_s` from UTC.
reading minute_at(std::int64_t minute, double wh, const std::string& label, std::int32_t offset_s = 0) {
  reading r = at(6, wh, label);
  r.ts_ms = (days_from_civil(2008, 1, 7) * 1440 + minute) * 60000;
  r.local.utc_offset_s = offset_s;
  return r;
}

} // namespace

TEST_CASE("per kind: events, events caught, and the delay from an event's first reading to its first alert") {
  evaluation e(1.0);
  const score_result quiet{0.5, 100, 200}, loud{2.0, 100, 200};
  auto add = [&](std::int64_t hour, const std::string& label, bool alert) {
    e.add(minute_at(hour * 60, 300, label), alert ? loud : quiet);
  };
  add(0, "heater", false);  // a heater caught in its third hour: 2 h
  add(1, "heater", false);
  add(2, "heater", true);
  add(3, "heater", true);   // the same event: its first alert counts
  add(4, "0", false);
  add(5, "heater", true);   // caught at once: 0
  add(6, "oven", false);    // an oven right after it, never caught
  add(7, "oven", false);
  add(8, "0", false);
  add(9, "heater", false);  // caught after 1 h
  add(10, "heater", true);
  add(11, "heater", false);
  add(12, "0", false);
  add(13, "heater", false);  // missed
  const auto kinds = e.kinds();
  REQUIRE(kinds.size() == 2);
  const kind_figures& heater = kinds.at("heater");
  CHECK(heater.events == 4);
  CHECK(heater.caught == 3);
  CHECK(heater.delays_ms == std::vector<std::int64_t>{2 * 3600000, 0, 3600000});
  CHECK(heater.share_caught() == Approx(0.75));
  CHECK(heater.median_delay_ms() == Approx(3600000));
  CHECK(heater.max_delay_ms() == Approx(2 * 3600000));
  const kind_figures& oven = kinds.at("oven");
  CHECK(oven.events == 1);
  CHECK(oven.caught == 0);
  CHECK(oven.share_caught() == 0);
  CHECK(std::isnan(oven.median_delay_ms()));
  CHECK(std::isnan(oven.max_delay_ms()));
  CHECK(e.events() == 5);
  CHECK(e.events_caught() == 3);

  kind_figures even;  // an even count: the mean of the middle two
  even.delays_ms = {0, 3 * 3600000, 3600000, 2 * 3600000};
  CHECK(even.median_delay_ms() == Approx(1.5 * 3600000));
}

TEST_CASE("each event's outcome: its first and last readings, the first alert and the highest score") {
  evaluation e(1.0);
  auto add = [&](std::int64_t minute, const std::string& label, double score) {
    e.add(minute_at(minute, 300 + static_cast<double>(minute), label), score_result{score, 100, 200});
  };
  add(0, "0", 3.0);         // an alert outside any event: a false alert, no event
  add(60, "heater", 0.25);  // a heater: first alert at 180, highest 1.5 at 240
  add(120, "heater", 0.75);
  add(180, "heater", 1.25);
  add(240, "heater", 1.5);
  add(300, "oven", 0.5);    // an oven right after it: another event, never above 1.0
  add(360, "oven", 1.0);    // at the threshold is not above it
  const auto& events = e.event_outcomes();
  REQUIRE(events.size() == 2);
  const event_outcome& heater = events[0];
  CHECK(heater.kind == "heater");
  CHECK(heater.first.ts_ms == minute_at(60, 0, "").ts_ms);
  CHECK(heater.last.ts_ms == minute_at(240, 0, "").ts_ms);
  CHECK(heater.last.wh == 540);
  CHECK(heater.readings == 4);
  REQUIRE(heater.caught());
  CHECK(heater.first_alert->ts_ms == minute_at(180, 0, "").ts_ms);
  CHECK(heater.delay_ms() == 2 * 3600000);
  CHECK(heater.highest_score == 1.5);
  const event_outcome& oven = events[1];
  CHECK(oven.kind == "oven");
  CHECK(oven.readings == 2);
  CHECK_FALSE(oven.caught());
  CHECK(oven.highest_score == 1.0);
}

TEST_CASE("false alert-hours: clock hours with at least one alert on a reading not labelled anomalous") {
  const score_result quiet{0.5, 100, 200}, loud{2.0, 100, 200};
  evaluation e(1.0);
  for (int m = 0; m < 180; ++m) {  // three hours of minute readings
    const bool alert = (m >= 10 && m < 15) || m == 59 || m == 60 || (m >= 120 && m < 130);
    e.add(minute_at(m, 150, m >= 120 ? "heater" : "0"), alert ? loud : quiet);
  }
  e.add(minute_at(200, 150, ""), loud);  // an empty label is not anomalous either
  CHECK(e.alerts() == 5 + 2 + 10 + 1);
  CHECK(e.false_alert_hours() == 3);  // 00:xx (6 alerts), 01:00 and 03:20; the heater's in 02:xx are caught ones
  CHECK(e.alert_hours() == 4);        // and 02:xx
  CHECK(e.weeks() == Approx(1.0 / 7));
  CHECK(e.false_alert_hours_per_week() == Approx(21));

  evaluation india(1.0);  // +05:30: clock hours start at :30 UTC
  india.add(minute_at(20, 150, "0", 19800), loud);
  india.add(minute_at(40, 150, "0", 19800), loud);
  india.add(minute_at(80, 150, "0", 19800), loud);
  CHECK(india.false_alert_hours() == 2);  // 05:50 and 06:10 are two clock hours, 06:10 and 06:50 one

  evaluation autumn(1.0);  // the hour repeated when clocks go back is two hours
  autumn.add(minute_at(30, 150, "0", 7200), loud);
  autumn.add(minute_at(90, 150, "0", 3600), loud);
  CHECK(autumn.false_alert_hours() == 2);

  evaluation unlabelled(1.0);
  unlabelled.add(at(0, 300), loud);
  CHECK(unlabelled.false_alert_hours() == 1);
  CHECK(std::isnan(unlabelled.false_alert_hours_per_week()));
}

// The alert policy on scripted score sequences: one reading a minute unless
// said otherwise; `run` returns the verdict letters (. quiet, R raise,
// M remind, B back to normal).
#include "alert_policy.hpp"
#include "zone.hpp"

#include <catch2/catch.hpp>

#include <limits>

using namespace stream_smarts;
using namespace stream_smarts::runtime;

namespace {

constexpr std::int64_t minute = 60'000;

const time_zone& utc() {
  static const auto zone = load_time_zone("UTC");
  return *zone;
}

/// A reading `minutes` after midnight UTC of day 0 (local time = UTC here).
scored_reading at(std::int64_t minutes, double score, std::string meter = "home", std::string scorer = "band") {
  scored_reading s;
  s.reading.meter = std::move(meter);
  s.reading.ts_ms = minutes * minute;
  s.reading.local.hour = static_cast<std::int8_t>(minutes / 60 % 24);
  s.reading.local.minute = static_cast<std::int8_t>(minutes % 60);
  s.score = score;
  s.scorer = std::move(scorer);
  return s;
}

/// Settings with the default threshold (1.0) and no quiet hours.
alert_policy_settings rules(std::int64_t sustain_ms, int sustain_readings, std::int64_t cooldown_ms = 0,
                            std::int64_t remind_every_ms = 0, bool resolved = false) {
  alert_policy_settings s;
  s.sustain_ms = sustain_ms;
  s.sustain_readings = sustain_readings;
  s.cooldown_ms = cooldown_ms;
  s.remind_every_ms = remind_every_ms;
  s.resolved = resolved;
  return s;
}

/// Scores one every `step` minutes from minute `first`; one letter per verdict.
std::string run(alert_policy& p, const std::vector<double>& scores, std::int64_t first = 0, std::int64_t step = 1) {
  std::string out;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const auto v = p.decide(at(first + step * static_cast<std::int64_t>(i), scores[i])).what;
    out += v == verdict::raise ? 'R' : v == verdict::remind ? 'M' : v == verdict::resolve ? 'B' : '.';
  }
  return out;
}

} // namespace

TEST_CASE("policy: by default every episode above the threshold raises once") {
  alert_policy p({}, utc());
  CHECK(run(p, {0.5, 2, 2, 2, 0.5, 3, 0.2}) == ".R...R.");
  alert_policy at_threshold({}, utc());
  CHECK(run(at_threshold, {1.0, 1.0, 1.001}) == "..R");  // above 1.0, not at it
}

TEST_CASE("policy: sustain waits for readings in a row and for time") {
  alert_policy by_count(rules(0, 3), utc());
  CHECK(run(by_count, {2, 2, 0.5, 2, 2, 2, 2}) == ".....R.");
  alert_policy by_time(rules(10 * minute, 1), utc());
  CHECK(run(by_time, std::vector<double>(12, 2.0)) == "..........R.");
  alert_policy waiting(rules(10 * minute, 1), utc());
  waiting.decide(at(0, 2));
  CHECK(waiting.decide(at(4, 2)).why(waiting.settings()) == "waiting for sustain: 4m of 10m");
  const auto d = alert_policy(rules(0, 3), utc()).decide(at(0, 2));
  CHECK(d.what == verdict::quiet);
  CHECK(d.why(rules(0, 3)) == "waiting for sustain: 1 of 3 readings");
}

TEST_CASE("policy: cooldown allows one raise per meter per period") {
  alert_policy p(rules(0, 1, 5 * minute), utc());
  CHECK(run(p, {2, 0, 2, 0, 0, 0, 2, 0}) == "R.....R.");
  alert_policy q(rules(0, 1, 5 * minute), utc());
  q.decide(at(0, 2));
  q.decide(at(1, 0));
  const auto d = q.decide(at(2, 2));
  CHECK(d.what == verdict::quiet);
  CHECK(d.why(q.settings()) == "suppressed by cooldown: last alert 2m ago, cooldown 5m");
  CHECK(q.decide(at(2, 2, "garage")).what == verdict::raise);  // another meter has its own
  alert_policy boundary(rules(0, 1, 5 * minute), utc());
  CHECK(run(boundary, {2, 0, 0, 0, 0, 2}) == "R....R");  // the next period begins 5m after the raise
}

TEST_CASE("policy: a reading stamped far off neither silences the meter nor carries its episode") {
  constexpr std::int64_t day = 24 * 60, year = 365 * day;
  alert_policy p(rules(0, 1, 3 * day * minute), utc());
  CHECK(p.decide(at(year, 2)).what == verdict::raise);  // one stray reading a year ahead
  CHECK(p.decide(at(0, 2)).what == verdict::raise);     // then the meter's real time
  CHECK(p.decide(at(1, 0)).what == verdict::quiet);
  const auto d = p.decide(at(-2 * day, 2));             // its clock set back two days
  CHECK(d.why(p.settings()) == "suppressed by cooldown: last alert 48h after this reading's time, cooldown 72h");
}

TEST_CASE("policy: a reading delivered again, or out of order, changes nothing") {
  // A Kafka rebalance reads the readings since the last commit again: the
  // earlier ones sent "back to normal" for a spell still on, and the cooldown
  // then hid the rest of it; repeated ones counted towards sustain twice.
  alert_policy p(rules(0, 1, 180 * minute, 0, true), utc());
  CHECK(run(p, {0.5, 5, 5}) == ".R.");
  const auto again = p.decide(at(0, 0.5));
  CHECK(again.what == verdict::quiet);
  CHECK(again.why(p.settings()) == "not after the meter's latest reading (delivered again?): changes nothing");
  CHECK(run(p, {5, 5}, 1) == "..");  // minutes 1 and 2 again
  CHECK(run(p, {5, 0.5}, 3) == ".B");  // the spell goes on, and ends once
  alert_policy sustain(rules(0, 3), utc());
  CHECK(run(sustain, {5, 5, 5}, 0, 0) == "...");  // one reading, three times, is one reading
  CHECK(run(sustain, {5, 5}, 1) == ".R");
}

TEST_CASE("policy: a meter still reading is not forgotten for a stray row a year ahead") {
  // The newest reading of any meter says how long the others have been
  // silent: after one row stamped a year on, each sweep forgot every meter,
  // and a spell still on was raised again.
  constexpr std::int64_t year = 365 * 24 * 60;
  alert_policy p(rules(0, 1, 60 * minute), utc());
  p.decide(at(year, 2, "clock-not-set"));
  CHECK(p.decide(at(0, 2)).what == verdict::raise);
  std::string again;
  for (int i = 1; i < 10'000; ++i)
    if (p.decide(at(i, 2)).what != verdict::quiet) again += std::to_string(i) + " ";
  CHECK(again.empty());
  CHECK(p.remembered_meters() == 2);
}

TEST_CASE("policy: a gap in a meter's readings ends its episode without a back-to-normal notice") {
  constexpr std::int64_t day = 24 * 60;
  alert_policy p(rules(0, 1, 0, 0, true), utc());
  CHECK(run(p, {2, 2}) == "R.");
  CHECK(run(p, {2, 0.5}, 3 * day) == "RB");  // offline for 3 days: a new episode
  CHECK(run(p, {2}, 4 * day) == "R");
  CHECK(run(p, {0.5}, 5 * day) == ".");      // no notice: when it ended is not known
  alert_policy hourly(rules(0, 1, 0, 0, true), utc());
  auto hour = [](std::int64_t h, double score) {
    scored_reading s = at(h * 60, score);
    s.reading.span_ms = 60 * minute;
    return s;
  };
  CHECK(hourly.decide(hour(0, 2)).what == verdict::raise);
  CHECK(hourly.decide(hour(2, 2)).what == verdict::quiet);    // one hour missing: the same episode
  CHECK(hourly.decide(hour(5, 2)).what == verdict::raise);    // two missing: twice its span
}

TEST_CASE("policy: reminders while still above, a notice when back to normal") {
  alert_policy p(rules(0, 1, 0, 3 * minute, true), utc());
  CHECK(run(p, {2, 2, 2, 2, 2, 2, 2, 0.5, 0.5}) == "R..M..MB.");
  alert_policy no_notice(rules(0, 1, 0, 0, false), utc());
  CHECK(run(no_notice, {2, 2, 0.5}) == "R..");
  alert_policy never_raised(rules(0, 3, 0, 0, true), utc());
  CHECK(run(never_raised, {2, 2, 0.5}) == "...");  // nothing raised, nothing to resolve
}

TEST_CASE("policy: no back to normal while the scorer says the rise behind the alert is still on") {
  // Minutes 0-5: 2 (raised), 0.5 still on, 0.5 still on, 2, 0.5 still on, 0.5 gone.
  const std::vector<std::pair<double, bool>> readings = {{2, true},   {0.5, true}, {0.5, true},
                                                         {2, true},   {0.5, true}, {0.5, false}};
  alert_policy p(rules(0, 1, 0, 2 * minute, true), utc());
  std::string verdicts;
  for (std::size_t i = 0; i < readings.size(); ++i) {
    scored_reading s = at(static_cast<std::int64_t>(i), readings[i].first);
    s.still_on = readings[i].second;
    const decision d = p.decide(s);
    verdicts += d.what == verdict::raise ? 'R' : d.what == verdict::remind ? 'M' : d.what == verdict::resolve ? 'B' : '.';
    if (i == 1) CHECK(d.why(p.settings()) == "inside the expected range, but the scorer says the rise is still on");
    if (i == 5) CHECK(d.elapsed_ms == 5 * minute);  // one episode from minute 0
  }
  CHECK(verdicts == "R..M.B");  // the reminder is for a reading above; one raise, one notice at the end
  // Still on means nothing to a meter with no episode; in one, it counts towards sustain (the rise lasts)
  // but raises only with a reading above.
  alert_policy q(rules(0, 3, 0, 0, true), utc());
  scored_reading alone = at(0, 0.5);
  alone.still_on = true;
  CHECK(q.decide(alone).what == verdict::quiet);
  CHECK(q.remembered_meters() == 0);
  q.decide(at(1, 2));
  scored_reading held = at(2, 0.5);
  held.still_on = true;
  CHECK(q.decide(held).why(q.settings()) == "inside the expected range, but the scorer says the rise is still on");
  CHECK(q.decide(held).what == verdict::quiet);  // the third of the episode, but not above
  CHECK(q.decide(at(3, 2)).what == verdict::raise);  // the fourth, above: it lasted, as sustain = 3 asks
}

TEST_CASE("quiet hours, across midnight") {
  const day_hours night{22 * 60, 7 * 60};
  auto at_local = [](int h, int m) {
    local_fields l;
    l.hour = static_cast<std::int8_t>(h);
    l.minute = static_cast<std::int8_t>(m);
    return l;
  };
  CHECK(night.contains(at_local(22, 0)));
  CHECK(night.contains(at_local(23, 59)));
  CHECK(night.contains(at_local(0, 0)));
  CHECK(night.contains(at_local(6, 59)));
  CHECK_FALSE(night.contains(at_local(7, 0)));
  CHECK_FALSE(night.contains(at_local(21, 59)));
  const day_hours lunch{12 * 60, 14 * 60};
  CHECK(lunch.contains(at_local(13, 0)));
  CHECK_FALSE(lunch.contains(at_local(14, 0)));
  CHECK_FALSE(day_hours{}.contains(at_local(3, 0)));
}

TEST_CASE("quiet hours are written HH:MM-HH:MM") {
  CHECK(day_hours::parse("22:00-07:00")->text() == "22:00-07:00");
  const auto whole_day = day_hours::parse("00:00-24:00");
  CHECK(whole_day->text() == "00:00-24:00");
  CHECK_FALSE(whole_day->empty());
  for (int minute : {0, 7 * 60, 23 * 60 + 59}) {
    local_fields l;
    l.hour = static_cast<std::int8_t>(minute / 60);
    l.minute = static_cast<std::int8_t>(minute % 60);
    CHECK(whole_day->contains(l));  // "always quiet" was never quiet
  }
  CHECK(day_hours::parse("07:00-07:00")->empty());  // refused where it is read
  // Ending where it starts is no time, at 24:00 too (it was all day, "24:00-00:00" none).
  CHECK(day_hours::parse("24:00-24:00")->empty());
  CHECK(day_hours::parse("24:00-00:00")->empty());
  CHECK(day_hours::parse("24:00-07:00")->text() == "00:00-07:00");
  CHECK(day_hours::problem("00:00-24:00").empty());
  for (const char* bad : {"22-07", "22:00", "25:00-07:00", "22:60-07:00", "22:00-7:00", "", "ab:cd-ef:gh"})
    CHECK_FALSE(day_hours::parse(bad));
}

TEST_CASE("policy: a raise in quiet hours waits for their end, across midnight") {
  alert_policy_settings s;
  s.quiet = day_hours::parse("22:00-07:00");
  s.resolved = true;
  // One reading an hour from 20:00 to 09:00 (day 1): above from 23:00 to 07:00, then normal.
  const std::vector<double> night{0.5, 0.5, 0.5, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0.5, 0.5};
  alert_policy p(s, utc());
  CHECK(run(p, night, 20 * 60, 60) == "...........RB.");
  alert_policy q(s, utc());
  for (std::int64_t h = 20; h < 23; ++h) q.decide(at(h * 60, 0.5));
  const auto d = q.decide(at(23 * 60, 2));
  CHECK(d.why(q.settings()) == "suppressed by quiet hours 22:00-07:00");
  // Back to normal inside quiet hours: no notice, and nothing was raised.
  alert_policy r(s, utc());
  CHECK(run(r, {0.5, 2, 2, 0.5}, 22 * 60, 60) == "....");
}

TEST_CASE("policy: a back to normal in quiet hours is told at the first usual reading after them") {
  alert_policy_settings s;
  s.quiet = day_hours::parse("22:00-07:00");
  s.resolved = true;
  // Raised at 20:00, back to normal from 00:00 (quiet), told at 07:00: it was dropped.
  alert_policy p(s, utc());
  CHECK(run(p, {2, 2, 2, 2, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, 20 * 60, 60) == "R..........B..");
  // It says which spell ended: the one from 20:00.
  alert_policy q(s, utc());
  run(q, {2, 2, 2, 2, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, 20 * 60, 60);
  const decision told = q.decide(at((24 + 7) * 60, 0.5));
  CHECK(told.what == verdict::resolve);
  CHECK(told.since_ms == 20 * 60 * minute);
  // A new spell raised after the quiet hours tells more than the old one's end: no notice of it.
  alert_policy n(s, utc());
  CHECK(run(n, {2, 2, 2, 2, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 2, 0.5, 0.5}, 20 * 60, 60) == "R..........RB.");
  // A meter silent for longer than two spans since: nobody knows when it ended.
  alert_policy g(s, utc());
  run(g, {2, 2, 2, 2, 0.5}, 20 * 60, 60);
  CHECK(g.decide(at((24 + 9) * 60, 0.5)).what == verdict::quiet);
}

TEST_CASE("policy: quiet hours are those of the clock when a reading ends") {
  alert_policy_settings s;
  s.quiet = day_hours::parse("22:00-07:00");
  const auto first_alert = [&](std::int64_t first, std::int64_t span_ms) {
    alert_policy p(s, utc());
    for (std::int64_t m = first; m < first + 240; ++m) {
      scored_reading r = at(m, 2);
      r.reading.span_ms = span_ms;
      if (p.decide(r).what == verdict::raise) return m;
    }
    return std::int64_t{-1};
  };
  // A trailing hour read every minute (gpio_meter): the reading read at 07:00
  // has ts 06:00, and is the first the quiet hours let through.
  CHECK(first_alert(5 * 60, 60 * minute) == 6 * 60);
  // Without a span the reading is a moment: its ts.
  CHECK(first_alert(5 * 60, 0) == 7 * 60);
  // The hour from 21:00 is known at 22:00: quiet.
  alert_policy p(s, utc());
  scored_reading evening = at(21 * 60, 2);
  evening.reading.span_ms = 60 * minute;
  CHECK(p.decide(evening).because == decision::cause::quiet_hours);
}

TEST_CASE("policy: reminders wait out quiet hours, and a back-to-normal notice in them is not sent") {
  alert_policy_settings s = rules(0, 1, 0, 60 * minute, true);
  s.quiet = day_hours::parse("22:00-07:00");
  alert_policy p(s, utc());
  // Raised at 20:00, reminded at 21:00, silent 22:00..06:00, reminded at 07:00 and 08:00, normal at 09:00.
  CHECK(run(p, {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0.5}, 20 * 60, 60) == "RM.........MMB");
  // Back to normal at 23:00: nobody is told at night that the heater went off.
  alert_policy night(s, utc());
  CHECK(run(night, {2, 2, 2}, 20 * 60, 60) == "RM.");
  const auto back = night.decide(at(23 * 60, 0.5));
  CHECK(back.what == verdict::quiet);
  CHECK(back.because == decision::cause::quiet_hours);
}

TEST_CASE("policy: each scorer's view of a meter is its own episode") {
  alert_policy p({}, utc());
  CHECK(p.decide(at(0, 2, "home", "band")).what == verdict::raise);
  CHECK(p.decide(at(0, 0.5, "home", "dlib")).what == verdict::quiet);
  CHECK(p.decide(at(1, 2, "home", "dlib")).what == verdict::raise);
  CHECK(p.decide(at(1, 2, "home", "band")).what == verdict::quiet);  // band's episode goes on
}

TEST_CASE("policy: decisions carry the episode's start for reminders and notices") {
  alert_policy p(rules(0, 2, 0, 0, true), utc());
  p.decide(at(10, 2));
  const auto raised = p.decide(at(11, 2));
  CHECK(raised.what == verdict::raise);
  CHECK(raised.since_ms == 10 * minute);
  CHECK(raised.why(p.settings()) == "above the threshold for 2 readings, 1m");
  const auto back = p.decide(at(15, 0.5));
  CHECK(back.what == verdict::resolve);
  CHECK(back.since_ms == 10 * minute);
  CHECK(back.why(p.settings()) == "back inside the expected range after 5m");
  CHECK(back.began_ms == 10 * minute);  // the scorer said nothing earlier
}

TEST_CASE("policy: usage began when the scorer says, but sustain counts the policy's own readings") {
  alert_policy p(rules(2 * minute, 1, 0, 5 * minute, true), utc());
  scored_reading first = at(10, 2);
  first.since_ms = 7 * minute;  // a rise the scorer has seen stay up for three minutes already
  const auto waiting = p.decide(first);
  CHECK(waiting.what == verdict::quiet);
  CHECK(waiting.why(p.settings()) == "waiting for sustain: 0s of 2m");
  scored_reading later = at(12, 2);
  later.since_ms = 11 * minute;  // what the scorer says of later readings does not move the start
  const auto raised = p.decide(later);
  CHECK(raised.what == verdict::raise);
  CHECK(raised.since_ms == 10 * minute);
  CHECK(raised.began_ms == 7 * minute);
  CHECK(p.decide(at(17, 2)).began_ms == 7 * minute);
  CHECK(p.decide(at(18, 0.5)).began_ms == 7 * minute);
}

TEST_CASE("policy: usage may begin after the reading's time, when the scorer says so") {
  // A Pi's reading is stamped with the start of its trailing hour; power_step
  // says when the step in its power (measured at the hour's end) began.
  alert_policy p({}, utc());
  scored_reading r = at(10, 2);
  r.since_ms = 69 * minute;
  const auto raised = p.decide(r);
  CHECK(raised.what == verdict::raise);
  CHECK(raised.since_ms == 10 * minute);  // the episode, as the policy counts it
  CHECK(raised.began_ms == 69 * minute);
}

TEST_CASE("policy: meters inside their band are not remembered, and silent ones are forgotten") {
  // A Kafka topic whose keys come and go (flats, rotating ids) kept one state
  // per key for good, quiet ones included.
  alert_policy p(rules(0, 1, 60 * minute), utc());
  for (int i = 0; i < 10'000; ++i) p.decide(at(i % 60, 0.5, "quiet-" + std::to_string(i)));
  CHECK(p.remembered_meters() == 0);
  CHECK(p.decide(at(0, 2.0, "heater")).what == verdict::raise);
  CHECK(p.decide(at(1, 0.5, "heater")).what == verdict::quiet);
  CHECK(p.remembered_meters() == 1);  // its cooldown is kept
  CHECK(p.decide(at(30, 2.0, "heater")).what == verdict::quiet);  // within it
  // Three days on (more than cooldown + two days), other meters' readings
  // sweep it away: at the first sweep after a whole interval without it.
  const std::int64_t later = 3 * 24 * 60 + 60;
  for (int i = 0; i < 10'000; ++i) p.decide(at(later, 0.5, "other-" + std::to_string(i)));
  CHECK(p.remembered_meters() == 0);
  CHECK(p.decide(at(later + 1, 2.0, "heater")).what == verdict::raise);  // as it would without the forgetting
}

TEST_CASE("policy: the meters of a scorer that stopped sending are forgotten by the readings of another") {
  // A sink fed by a replay that ended and a live topic: with a sweep per
  // scorer, the replay's meters were kept for good.
  alert_policy p(rules(0, 1, 60 * minute), utc());
  for (int i = 0; i < 100; ++i) p.decide(at(0, 2.0, "flat-" + std::to_string(i), "history"));
  CHECK(p.remembered_meters() == 100);
  const std::int64_t later = 3 * 24 * 60 + 60;  // more than cooldown + two days
  for (int i = 0; i < 10'000; ++i) p.decide(at(later + i, 0.5, "home", "live"));
  CHECK(p.remembered_meters() == 0);
}

TEST_CASE("policy: a cooldown as long as a duration can be is no overflow") {
  // cooldown + two days overflowed (UBSan) and forgot every meter at once.
  alert_policy p(rules(0, 1, std::numeric_limits<std::int64_t>::max()), utc());
  CHECK(p.decide(at(0, 2.0)).what == verdict::raise);
  for (int i = 1; i < 10'000; ++i) p.decide(at(i, 0.5, "other-" + std::to_string(i)));
  CHECK(p.remembered_meters() == 1);
  CHECK(p.decide(at(10'000, 2.0)).why(p.settings()).rfind("suppressed by cooldown", 0) == 0);
}

TEST_CASE("policy: meters that come and go, each unusual once, are not kept however many there are") {
  // One new unusual meter an hour for two years: each is remembered for its
  // cooldown plus two days and a sweep's interval without it, then swept;
  // the sweeps keep pace with the new ones.
  alert_policy p(rules(0, 1, 60 * minute), utc());
  std::size_t most = 0;
  for (int i = 0; i < 20'000; ++i) {
    p.decide(at(60LL * i, 2.0, "unit-" + std::to_string(i)));
    most = std::max(most, p.remembered_meters());
  }
  CHECK(most <= 2 * 4096 + 51);  // what two sweeps' intervals add to the 51 hours it keeps
}

TEST_CASE("policy: a raise the sink gave up is not a raise: the next reading above raises again") {
  alert_policy p(rules(0, 1, 60 * minute, 0, true), utc());
  CHECK(p.decide(at(0, 2)).what == verdict::raise);
  p.raise_given_up(at(0, 2));  // the service was down: nobody heard it
  const auto again = p.decide(at(1, 2));
  CHECK(again.what == verdict::raise);      // neither "already raised" nor the cooldown
  CHECK(again.since_ms == 0);               // the same episode
  CHECK(p.decide(at(2, 2)).what == verdict::quiet);
  CHECK(p.decide(at(3, 0.5)).what == verdict::resolve);  // for the raise that was heard

  alert_policy unheard(rules(0, 1, 0, 0, true), utc());
  CHECK(unheard.decide(at(0, 2)).what == verdict::raise);
  unheard.raise_given_up(at(0, 2));
  CHECK(unheard.decide(at(1, 0.5)).what == verdict::quiet);  // no "back to normal" for an alert nobody got

  alert_policy cooled(rules(0, 1, 60 * minute), utc());
  CHECK(run(cooled, {2, 0}) == "R.");
  CHECK(cooled.decide(at(70, 2)).what == verdict::raise);
  cooled.raise_given_up(at(70, 2));
  cooled.decide(at(71, 0));
  const auto d = cooled.decide(at(80, 2));  // the cooldown counts from the raise that was heard (minute 0)
  CHECK(d.what == verdict::raise);
  cooled.decide(at(81, 0));
  CHECK(cooled.decide(at(90, 2)).why(cooled.settings()) == "suppressed by cooldown: last alert 10m ago, cooldown 1h");

  // A reminder decided meanwhile waits behind the raise in the sink's outbox.
  alert_policy reminded(rules(0, 1, 0, 5 * minute), utc());
  CHECK(run(reminded, {2, 2, 2, 2, 2, 2}) == "R....M");
  reminded.raise_given_up(at(0, 2), 5 * minute);  // the sink sends that reminder as the raise
  CHECK(reminded.decide(at(6, 2)).what == verdict::quiet);  // it told it: no second raise
  alert_policy both_refused(rules(0, 1, 0, 5 * minute), utc());
  CHECK(run(both_refused, {2, 2, 2, 2, 2, 2}) == "R....M");
  both_refused.raise_given_up(at(0, 2));  // given up with the reminder, in one refused flush
  CHECK(both_refused.decide(at(6, 2)).what == verdict::raise);  // nobody was told
}

// The gpio_meter source's counting and windowing (pulse_counter.hpp), driven
// directly with made-up pulse times: trailing-hour windows, debounce, long
// gaps, partial first hours, hour/day boundaries and DST in Europe/Paris,
// kernel event clocks and the poll period.
#include "pulse_counter.hpp"

#include <zone.hpp>

#include <catch2/catch.hpp>

#include <vector>

using namespace stream_smarts;
using namespace stream_smarts::gpio_meter;

namespace {

constexpr std::int64_t utc_ns(int y, int mo, int d, int h, int mi = 0, int s = 0) {
  return utc_ms_of(civil_time{y, mo, d, h, mi, s, 0}) * ns_per_ms;
}
constexpr std::int64_t minutes(std::int64_t m) { return m * 60 * ns_per_s; }
constexpr std::int64_t ms(std::int64_t m) { return m * ns_per_ms; }

counter_config config(std::int64_t interval_ns = minutes(1), std::int64_t debounce_ns = ms(50), double ipk = 1000) {
  counter_config c;
  c.interval_ns = interval_ns;
  c.debounce_ns = debounce_ns;
  c.impulses_per_kwh = ipk;
  return c;
}

/// What the plugin does with a regular pulse file: the first pulse starts
/// observation; every boundary a pulse's time passes emits; one last reading
/// after the last pulse.
std::vector<window> replay(pulse_counter& c, const std::vector<std::int64_t>& pulses) {
  std::vector<window> out;
  for (const auto p : pulses) {
    if (!c.begun()) c.begin(p);
    while (c.next_boundary() <= p) out.push_back(c.emit());
    c.add(p);
  }
  if (c.begun()) out.push_back(c.emit());
  return out;
}

/// Pulses every `spacing_ns` from `from` (inclusive) to `to` (exclusive).
std::vector<std::int64_t> steady(std::int64_t from, std::int64_t to, std::int64_t spacing_ns) {
  std::vector<std::int64_t> out;
  for (std::int64_t t = from; t < to; t += spacing_ns) out.push_back(t);
  return out;
}

std::string label_of(const reading& r, const std::string& key) {
  for (const auto& l : r.labels)
    if (l.key == key) return l.value;
  return "(none)";
}

const window& at(const std::vector<window>& ws, std::int64_t end_ns) {
  for (const auto& w : ws)
    if (w.end_ns == end_ns) return w;
  FAIL("no reading ending at " << end_ns);
  return ws.front();
}

} // namespace

TEST_CASE("a 2 kW load: every minute, the energy of the trailing hour", "[gpio_meter][counter]") {
  const std::int64_t t0 = utc_ns(2024, 6, 10, 0);
  pulse_counter c(config());
  // 2 kW at 1000 impulses/kWh: one 1 Wh pulse every 1.8 s, for two hours.
  const auto ws = replay(c, steady(t0, t0 + minutes(120), ms(1800)));
  REQUIRE(ws.size() == 120);  // 00:01 .. 02:00
  for (std::size_t i = 1; i < ws.size(); ++i) CHECK(ws[i].end_ns - ws[i - 1].end_ns == minutes(1));

  const window& first = ws.front();
  CHECK(first.end_ns == t0 + minutes(1));
  CHECK(first.pulses == 34);  // 0, 1.8, ..., 59.4 s
  CHECK(first.wh == 34.0);
  CHECK(first.covered_s == 60.0);
  CHECK(first.partial());

  const window& hour = at(ws, t0 + minutes(60));
  CHECK(hour.pulses == 2000);
  CHECK(hour.wh == 2000.0);
  CHECK(hour.covered_s == 3600.0);
  CHECK_FALSE(hour.partial());
  REQUIRE(hour.power_w);
  CHECK(*hour.power_w == Approx(2000.0));
  CHECK(hour.last_pulse_s == Approx(1.8));

  const reading r = to_reading(hour, "home");
  CHECK(r.meter == "home");
  CHECK(r.ts_ms == t0 / ns_per_ms);  // the start of the hour the energy covers
  CHECK(end_ms(r) == hour.end_ns / ns_per_ms);  // and its end: when it is read
  CHECK(r.wh == 2000.0);
  CHECK(label_of(r, "pulses") == "2000");
  CHECK(label_of(r, "power_w") == "2000");
  CHECK(label_of(r, "last_pulse_s") == "1.8");
  CHECK(label_of(r, "covered_s") == "3600");

  // Half an hour later the window has slid: still 2000 pulses in any hour.
  CHECK(at(ws, t0 + minutes(90)).pulses == 2000);
  CHECK(at(ws, t0 + minutes(90)).wh == 2000.0);
  // The last reading, after the last pulse (01:59:58.2), closes at 02:00.
  CHECK(ws.back().end_ns == t0 + minutes(120));
  CHECK(ws.back().pulses == 2000);
  CHECK(c.counted() == 4000);
  CHECK(c.kept() <= 2000 + 40);  // an hour of pulses and one interval, not everything
}

TEST_CASE("impulses_per_kwh scales the energy of a pulse", "[gpio_meter][counter]") {
  const std::int64_t t0 = utc_ns(2024, 6, 10, 0);
  for (auto [ipk, wh] : {std::pair{500.0, 2.0}, {10000.0, 0.1}, {1000.0, 1.0}}) {
    pulse_counter c(config(minutes(60), ms(1), ipk));
    const auto ws = replay(c, steady(t0, t0 + minutes(60), ns_per_s * 10));  // 360 pulses
    REQUIRE(ws.size() == 1);
    CHECK(ws[0].pulses == 360);
    CHECK(ws[0].wh == Approx(360 * wh));
    REQUIRE(ws[0].power_w);
    CHECK(*ws[0].power_w == Approx(wh * 360));  // one pulse per 10 s, all hour
  }
}

TEST_CASE("a pulse exactly on a boundary belongs to the next hour", "[gpio_meter][counter]") {
  const std::int64_t t0 = utc_ns(2024, 6, 10, 0);
  pulse_counter c(config(minutes(60)));
  c.begin(t0);
  c.add(t0 + minutes(30));
  c.add(t0 + minutes(60) - ms(100));
  c.add(t0 + minutes(60));      // the boundary itself: [t0 + 1h, t0 + 2h)
  const window w = c.emit();
  CHECK(w.end_ns == t0 + minutes(60));
  CHECK(w.pulses == 2);
  CHECK(c.emit().pulses == 1);
}

TEST_CASE("debounce drops contact bounce, not pulses", "[gpio_meter][counter]") {
  const std::int64_t t0 = utc_ns(2024, 6, 10, 0);
  pulse_counter c(config(minutes(1), ms(50)));
  c.begin(t0);
  std::size_t counted = 0;
  for (int i = 0; i < 10; ++i) {
    const std::int64_t p = t0 + i * ms(1800);
    // The pulse, then the contact bouncing 1, 3 and 49 ms later.
    for (std::int64_t bounce : {0, 1, 3, 49}) counted += c.add(p + ms(bounce)) == pulse_verdict::counted;
  }
  CHECK(counted == 10);
  CHECK(c.bounces() == 30);
  CHECK(c.add(t0 + 9 * ms(1800) + ms(50)) == pulse_verdict::counted);  // exactly debounce later: a pulse
  CHECK(c.emit().pulses == 11);

  SECTION("debounce 0 counts every distinct edge") {
    pulse_counter none(config(minutes(1), 0));
    none.begin(t0);
    CHECK(none.add(t0 + 1) == pulse_verdict::counted);
    CHECK(none.add(t0 + 2) == pulse_verdict::counted);
  }
}

TEST_CASE("a pulse earlier than the last one is dropped as out of order", "[gpio_meter][counter]") {
  const std::int64_t t0 = utc_ns(2024, 6, 10, 0);
  pulse_counter c(config());
  c.begin(t0);
  CHECK(c.add(t0 + ms(5000)) == pulse_verdict::counted);
  CHECK(c.add(t0 + ms(1000)) == pulse_verdict::out_of_order);
  CHECK(c.add(t0 + ms(7000)) == pulse_verdict::counted);
  CHECK(c.out_of_order() == 1);
  CHECK(c.emit().pulses == 2);
}

TEST_CASE("a long silence: readings keep coming at 0 Wh, and say how long it has lasted", "[gpio_meter][counter]") {
  const std::int64_t t0 = utc_ns(2024, 6, 10, 0);
  pulse_counter c(config());
  // Ten minutes of 2 kW, then nothing for three hours, then one pulse.
  auto pulses = steady(t0, t0 + minutes(10), ms(1800));
  const std::int64_t last = pulses.back();  // 00:09:59.4
  pulses.push_back(t0 + minutes(190) + ms(500));
  const auto ws = replay(c, pulses);
  REQUIRE(ws.size() == 191);  // one a minute, the gap included
  for (std::size_t i = 1; i < ws.size(); ++i) CHECK(ws[i].end_ns - ws[i - 1].end_ns == minutes(1));

  const window& quiet = at(ws, t0 + minutes(75));  // [00:15, 01:15): nothing
  CHECK(quiet.pulses == 0);
  CHECK(quiet.wh == 0.0);
  CHECK(quiet.last_pulse_s == Approx((t0 + minutes(75) - last) / 1e9));
  REQUIRE(quiet.power_w);
  // No pulse for 65 minutes: at most 1 Wh in that time, i.e. under 1 W.
  CHECK(*quiet.power_w < 1.0);
  CHECK(*quiet.power_w == Approx(3600.0 / quiet.last_pulse_s));
  const reading r = to_reading(quiet, "home");
  CHECK(label_of(r, "last_pulse_s") == "3900.6");
  CHECK(label_of(r, "pulses") == "0");

  const window& still = at(ws, t0 + minutes(190));
  CHECK(still.wh == 0.0);
  CHECK(still.last_pulse_s == Approx((t0 + minutes(190) - last) / 1e9));
  CHECK(ws.back().pulses == 1);
  CHECK(ws.back().last_pulse_s == Approx(59.5));
  // After the silence, the power comes from the spacing: one pulse in three hours.
  REQUIRE(ws.back().power_w);
  CHECK(*ws.back().power_w == Approx(3600.0 / ((t0 + minutes(190) + ms(500) - last) / 1e9)).epsilon(1e-9));
}

TEST_CASE("no pulse at all since the start: last_pulse_s counts from the start", "[gpio_meter][counter]") {
  const std::int64_t start = utc_ns(2024, 6, 10, 0, 0, 20);
  pulse_counter c(config());
  c.begin(start);
  const window w1 = c.emit();
  CHECK(w1.end_ns == utc_ns(2024, 6, 10, 0, 1));
  CHECK(w1.pulses == 0);
  CHECK(w1.last_pulse_s == Approx(40.0));
  CHECK(w1.covered_s == Approx(40.0));
  CHECK_FALSE(w1.power_w);
  const reading r = to_reading(w1, "home");
  CHECK(label_of(r, "power_w") == "(none)");
  CHECK(label_of(r, "covered_s") == "40");
  for (int i = 0; i < 58; ++i) c.emit();
  const window w60 = c.emit();  // 01:00: 3580 s observed
  CHECK(w60.covered_s == Approx(3580.0));
  CHECK(w60.partial());
  CHECK(to_reading(w60, "home").labels.back().value == "3580");
  CHECK_FALSE(c.emit().partial());  // 01:01: a full hour since 00:00:20
}

TEST_CASE("one pulse: last_pulse_s, but no power yet", "[gpio_meter][counter]") {
  const std::int64_t t0 = utc_ns(2024, 6, 10, 0);
  pulse_counter c(config());
  c.begin(t0);
  c.add(t0 + ms(12'345));
  const window w = c.emit();
  CHECK(w.pulses == 1);
  CHECK_FALSE(w.power_w);
  CHECK(w.last_pulse_s == Approx(47.655));
  CHECK(label_of(to_reading(w, "home"), "last_pulse_s") == "47.7");
}

TEST_CASE("hour and day boundaries", "[gpio_meter][counter][time]") {
  SECTION("the first reading is at the first boundary after the start") {
    pulse_counter c(config(minutes(15)));
    c.begin(utc_ns(2024, 12, 31, 23, 50, 7));
    CHECK(c.next_boundary() == utc_ns(2025, 1, 1, 0));
    const reading r = to_reading(c.emit(), "home");
    CHECK(r.ts_ms == utc_ns(2024, 12, 31, 23) / ns_per_ms);  // the year before
    CHECK(c.next_boundary() == utc_ns(2025, 1, 1, 0, 15));
  }
  SECTION("a start exactly on a boundary waits for the next one") {
    pulse_counter c(config(minutes(60)));
    c.begin(utc_ns(2024, 2, 29, 23));
    CHECK(c.next_boundary() == utc_ns(2024, 3, 1, 0));
  }
  SECTION("interval = 1h gives the hourly readings of a history file, across midnight") {
    const std::int64_t t0 = utc_ns(2024, 6, 10, 22, 0);
    pulse_counter c(config(minutes(60)));
    // 500 W for four hours: a pulse every 7.2 s.
    const auto ws = replay(c, steady(t0, t0 + minutes(240), ms(7200)));
    REQUIRE(ws.size() == 4);
    const std::int64_t expected_ts[] = {utc_ns(2024, 6, 10, 22), utc_ns(2024, 6, 10, 23), utc_ns(2024, 6, 11, 0),
                                        utc_ns(2024, 6, 11, 1)};
    for (std::size_t i = 0; i < 4; ++i) {
      const reading r = to_reading(ws[i], "home");
      CHECK(r.ts_ms == expected_ts[i] / ns_per_ms);
      CHECK(r.wh == 500.0);
      CHECK(label_of(r, "covered_s") == "3600");  // started exactly at 22:00
    }
  }
  SECTION("phase: local hours in a zone with a half-hour offset") {
    CHECK(phase_for(3600, minutes(60)) == 0);
    CHECK(phase_for(7200, minutes(1)) == 0);
    CHECK(phase_for(19800, minutes(60)) == minutes(30));  // Asia/Kolkata, +05:30
    CHECK(phase_for(-12600, minutes(60)) == minutes(30));  // America/St_Johns, -03:30
    CHECK(phase_for(20700, minutes(60)) == minutes(45));   // Asia/Kathmandu, +05:45
    counter_config cfg = config(minutes(60));
    cfg.phase_ns = phase_for(19800, cfg.interval_ns);
    pulse_counter c(cfg);
    c.begin(utc_ns(2024, 6, 10, 0, 10));
    CHECK(c.next_boundary() == utc_ns(2024, 6, 10, 0, 30));  // 06:00 in Kolkata
  }
}

TEST_CASE("DST changes in Europe/Paris: UTC readings stay evenly spaced, local hours follow the clock",
          "[gpio_meter][counter][time]") {
  const auto paris = runtime::load_time_zone("Europe/Paris");
  auto local_hour_minute = [&](std::int64_t ts_ms) {
    const auto l = paris->local(ts_ms);
    return std::to_string(l.hour) + ":" + (l.minute < 10 ? "0" : "") + std::to_string(l.minute);
  };
  SECTION("spring: 02:00 CET becomes 03:00 CEST (2024-03-31 01:00 UTC)") {
    counter_config cfg = config(minutes(15));
    cfg.phase_ns = phase_for(paris->local(utc_ns(2024, 3, 31, 0) / ns_per_ms).utc_offset_s, cfg.interval_ns);
    pulse_counter c(cfg);
    const auto ws = replay(c, steady(utc_ns(2024, 3, 30, 23, 0), utc_ns(2024, 3, 31, 3, 0), ms(7200)));
    std::vector<std::string> hours;
    for (const auto& w : ws) {
      const reading r = to_reading(w, "home");
      CHECK(r.ts_ms == w.end_ns / ns_per_ms - 3'600'000);
      if (r.ts_ms >= utc_ns(2024, 3, 31, 0, 30) / ns_per_ms && r.ts_ms <= utc_ns(2024, 3, 31, 1, 15) / ns_per_ms)
        hours.push_back(local_hour_minute(r.ts_ms));
    }
    CHECK(hours == std::vector<std::string>{"1:30", "1:45", "3:00", "3:15"});
    for (std::size_t i = 1; i < ws.size(); ++i) CHECK(ws[i].end_ns - ws[i - 1].end_ns == minutes(15));
    CHECK(at(ws, utc_ns(2024, 3, 31, 2)).wh == 500.0);  // 500 W over any hour, DST or not
  }
  SECTION("autumn: 03:00 CEST becomes 02:00 CET (2024-10-27 01:00 UTC): hour 2 twice, one UTC hour each") {
    pulse_counter c(config(minutes(60)));
    const auto ws = replay(c, steady(utc_ns(2024, 10, 26, 23, 0), utc_ns(2024, 10, 27, 3, 0), ms(7200)));
    REQUIRE(ws.size() == 4);
    std::vector<std::string> hours;
    std::vector<int> offsets;
    for (const auto& w : ws) {
      const reading r = to_reading(w, "home");
      hours.push_back(local_hour_minute(r.ts_ms));
      offsets.push_back(paris->local(r.ts_ms).utc_offset_s);
      CHECK(r.wh == 500.0);
    }
    CHECK(hours == std::vector<std::string>{"1:00", "2:00", "2:00", "3:00"});
    CHECK(offsets == std::vector<int>{7200, 7200, 3600, 3600});
  }
}

TEST_CASE("kernel event timestamps to UTC", "[gpio_meter][counter][time]") {
  const std::int64_t realtime_now = utc_ns(2024, 6, 10, 12);
  const std::int64_t monotonic_now = 86'400 * ns_per_s + 500 * ns_per_ms;  // up for a day
  SECTION("Linux 5.7 and later: CLOCK_MONOTONIC, moved by realtime - monotonic") {
    const std::int64_t event = monotonic_now - ms(120);  // 120 ms ago
    CHECK(event_utc_ns(event, realtime_now, monotonic_now) == realtime_now - ms(120));
  }
  SECTION("older kernels: CLOCK_REALTIME already") {
    const std::int64_t event = realtime_now - ms(120);
    CHECK(event_utc_ns(event, realtime_now, monotonic_now) == event);
  }
  SECTION("a machine up for years is still told apart") {
    const std::int64_t up_for_years = 5LL * 365 * 86'400 * ns_per_s;
    CHECK(event_utc_ns(up_for_years - ms(3), realtime_now, up_for_years) == realtime_now - ms(3));
  }
}

TEST_CASE("restart after a clock jump or a stall", "[gpio_meter][counter]") {
  const std::int64_t t0 = utc_ns(2024, 6, 10, 0);
  pulse_counter c(config());
  c.begin(t0);
  c.add(t0 + ms(1000));
  c.emit();  // 00:01
  const std::int64_t now = t0 + minutes(300) + ms(30'000);  // 05:00:30
  CHECK(c.restart_at(now) == 299);  // 00:02 .. 05:00 were due
  CHECK(c.next_boundary() == t0 + minutes(301));
  const window w = c.emit();
  CHECK(w.covered_s == Approx(30.0));
  CHECK(w.partial());
  CHECK(c.restart_at(t0 + minutes(301)) == 0);
}

TEST_CASE("silence watched: since the latest pulse, or since observation restarted, moving with the clock",
          "[gpio_meter][counter]") {
  // What silent_after measures: a sensor off the meter, not time the machine slept or was not read.
  const std::int64_t t0 = utc_ns(2024, 6, 10, 0);
  pulse_counter c(config());
  c.begin(t0);
  CHECK(c.silence_ns(t0 + minutes(180)) == minutes(180));  // no pulse yet: since counting began
  c.add(t0 + minutes(5));
  CHECK(c.silence_ns(t0 + minutes(185)) == minutes(180));
  c.restart_at(t0 + minutes(240));  // suspended, or not read for hours
  CHECK(c.silence_ns(t0 + minutes(241)) == minutes(1));
  c.clock_stepped(minutes(120), t0 + minutes(362));  // set forward: the start moves with it
  CHECK(c.silence_ns(t0 + minutes(362)) == minutes(2));
  c.add(t0 + minutes(363));
  CHECK(c.silence_ns(t0 + minutes(364)) == minutes(1));
}

/// The clocks `run_ns` after `from`: all three ran on.
clock_readings after(const clock_readings& from, std::int64_t run_ns) {
  return {from.realtime_ns + run_ns, from.boottime_ns + run_ns, from.monotonic_ns + run_ns};
}
/// The clocks after a suspend of `slept_ns`: the monotonic clock stopped, the others ran on.
clock_readings after_suspend(const clock_readings& from, std::int64_t slept_ns) {
  return {from.realtime_ns + slept_ns, from.boottime_ns + slept_ns, from.monotonic_ns};
}
/// The clocks after the wall clock was set by `step_ns`.
clock_readings after_step(const clock_readings& from, std::int64_t step_ns) {
  return {from.realtime_ns + step_ns, from.boottime_ns, from.monotonic_ns};
}

TEST_CASE("a step of the wall clock is told from its steady run, from NTP's slewing and from a suspend",
          "[gpio_meter][counter][time]") {
  clock_watch watch;
  const clock_readings boot{utc_ns(2026, 12, 1, 8), minutes(1), minutes(1)};  // the time the Pi shut down at
  auto look = [&](const clock_readings& now) {
    const clock_change c = watch.look(now);
    return std::pair{c.stepped_ns, c.suspended_ns};
  };
  CHECK(look(boot) == std::pair<std::int64_t, std::int64_t>{0, 0});
  clock_readings now = after(boot, ms(150));
  now.realtime_ns += 200'000;  // slewed by 0.2 ms
  CHECK(look(now) == std::pair<std::int64_t, std::int64_t>{0, 0});
  now = after_step(after(now, ms(150)), minutes(2));  // NTP: 2 min on
  CHECK(look(now) == std::pair<std::int64_t, std::int64_t>{minutes(2), 0});
  now = after_step(after(now, ms(150)), -minutes(120));  // by hand: 2 h back
  CHECK(look(now) == std::pair<std::int64_t, std::int64_t>{-minutes(120), 0});
  now = after_suspend(after(now, ms(150)), minutes(20));  // the lid closed for 20 minutes: not a step
  CHECK(look(now) == std::pair<std::int64_t, std::int64_t>{0, minutes(20)});
  now = after_step(after_suspend(now, minutes(300)), -minutes(1));  // woke up, and NTP set it right at once
  CHECK(look(now) == std::pair<std::int64_t, std::int64_t>{-minutes(1), minutes(300)});
  CHECK(look(after(now, ms(150))) == std::pair<std::int64_t, std::int64_t>{0, 0});
}

TEST_CASE("a suspended machine: the pulses before it keep their time, the readings due meanwhile are skipped",
          "[gpio_meter][counter][time]") {
  const std::int64_t t0 = utc_ns(2024, 6, 10, 2);
  pulse_counter c(config());
  clock_watch watch;
  const clock_readings start{t0, minutes(5), minutes(5)};
  c.begin(t0);
  CHECK(follow_clocks(watch, start, c).suspended_ns == 0);
  for (const auto p : steady(t0, t0 + minutes(10), ms(1800))) c.add(p);  // 2 kW for ten minutes
  while (c.next_boundary() <= t0 + minutes(10)) c.emit();
  const clock_readings awake = after_suspend(after(start, minutes(10)), minutes(120));  // then two hours asleep
  const clock_change change = follow_clocks(watch, awake, c);
  CHECK(change.stepped_ns == 0);
  CHECK(change.suspended_ns == minutes(120));
  CHECK(change.skipped == 120);  // 02:11 .. 04:10 were due
  CHECK(c.next_boundary() == awake.realtime_ns + minutes(1));
  const window w = c.emit();  // the hour 03:11 .. 04:11: the pulses of 02:00 .. 02:10 are not in it
  CHECK(w.pulses == 0);
  CHECK(w.partial());
  CHECK(w.covered_s == Approx(60.0));

  SECTION("a clock step, by contrast, moves the pulses with it") {
    pulse_counter stepped(config());
    clock_watch w2;
    stepped.begin(t0);
    follow_clocks(w2, start, stepped);
    for (const auto p : steady(t0, t0 + minutes(10), ms(1800))) stepped.add(p);
    const clock_readings set = after_step(after(start, minutes(10)), minutes(120));
    CHECK(follow_clocks(w2, set, stepped).stepped_ns == minutes(120));
    CHECK(stepped.next_boundary() == set.realtime_ns + minutes(1));
    CHECK(stepped.emit().pulses == 334);
  }
}

TEST_CASE("how far a clock moved is said to the whole second, not in raw milliseconds", "[gpio_meter][counter][time]") {
  CHECK(clock_amount_text(-ms(7'199'999)) == "2h");  // set back by 2h, measured a microsecond short
  CHECK(clock_amount_text(minutes(20) + 300'000) == "20m");
  CHECK(clock_amount_text(ms(90'400)) == "1m30s");
  CHECK(clock_amount_text(ms(1'500)) == "2s");
}

TEST_CASE("the clock set back or forward: pulses move with it, none is lost, no reading covers time that did not pass",
          "[gpio_meter][counter][time]") {
  const std::int64_t t0 = utc_ns(2024, 6, 10, 2);  // the clock is 2 h ahead
  pulse_counter c(config());
  c.begin(t0);
  const auto before = steady(t0, t0 + minutes(10), ms(1800));  // 2 kW
  for (const auto p : before) c.add(p);
  while (c.next_boundary() <= t0 + minutes(10)) c.emit();
  const std::int64_t corrected = t0 - minutes(120) + minutes(10);  // NTP sets it back by 2 h
  c.clock_stepped(-minutes(120), corrected);
  CHECK(c.next_boundary() == corrected + minutes(1));
  const std::int64_t last_before = before.back() - minutes(120);
  const auto after = steady(last_before + ms(1800), corrected + minutes(1), ms(1800));
  for (const auto p : after) CHECK(c.add(p) == pulse_verdict::counted);  // not "earlier than the one before"
  const window w = c.emit();
  CHECK(w.end_ns == corrected + minutes(1));
  CHECK(w.pulses == before.size() + after.size());  // the ten minutes before the step, and the one after
  CHECK(w.covered_s == Approx(660.0));
  REQUIRE(w.power_w);
  CHECK(*w.power_w == Approx(2000.0).epsilon(0.01));
  pulse_counter ahead(config());
  ahead.begin(t0);
  ahead.add(t0 + ms(500));
  ahead.clock_stepped(minutes(10), t0 + minutes(10) + ms(700));  // set forward by 10 minutes
  CHECK(ahead.next_boundary() == t0 + minutes(11));               // one reading, not ten at once
  CHECK(ahead.emit().pulses == 1);
}

TEST_CASE("the poll period keeps the kernel's 16-event FIFO from overflowing", "[gpio_meter][counter]") {
  using std::chrono::milliseconds;
  // 50 kW at 1000 impulses/kWh = 13.9 pulses/s; x 4 edges = 55.6 events/s; 8 events in 144 ms.
  CHECK(poll_period(1000, milliseconds{50}) == milliseconds{144});
  // 10000 impulses/kWh: the 50 ms debounce caps it at 20 pulses/s: 80 events/s, 8 in 100 ms.
  CHECK(poll_period(10000, milliseconds{50}) == milliseconds{100});
  CHECK(poll_period(10000, milliseconds{1}) == milliseconds{14});
  CHECK(poll_period(100, milliseconds{50}) == milliseconds{1000});  // capped: 1.44 s
  CHECK(poll_period(1e6, milliseconds{0}) == milliseconds{5});      // floor
  CHECK(max_measurable_w(1000, milliseconds{50}) == Approx(72000));
  CHECK(max_measurable_w(10000, milliseconds{50}) == Approx(7200));
}

TEST_CASE("number formatting of labels", "[gpio_meter][counter]") {
  CHECK(format_decimal(2000.0000000001, 1) == "2000");
  CHECK(format_decimal(1999.96, 1) == "2000");
  CHECK(format_decimal(1.8, 1) == "1.8");
  CHECK(format_decimal(0.04, 1) == "0");
  CHECK(format_decimal(12.25, 3) == "12.25");
}

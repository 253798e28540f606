// `stream-smarts run` with the gpio_meter source: a synthesized pulse file
// through percentile_band to the console; option errors at validate; the
// missing-chip error of a run. (Its idle CPU is measured by bench/pi/run.)
#include "fixture_pipeline.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <sstream>

using namespace test_support;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

/// The same band for every hour: up to 1500 Wh is usual.
std::string band_1500() {
  std::string band = "band = [";
  for (int h = 0; h < 24; ++h) band += std::string(h ? ", " : "") + "[0, 1500]";
  return band + "]";
}

/// gpio_meter 'meter' (with `source`) -> percentile_band 'band' -> console sinks (with `sinks`).
std::string pipeline(const std::string& source, const std::string& sinks, const std::string& settings = "",
                     const std::string& timezone = "UTC") {
  return "[pipeline]\nname = 'gpio'\ntimezone = '" + timezone + "'\n" + settings +
         "\n[[sources]]\nname = 'meter'\nplugin = 'gpio_meter'\n" + source +
         "\n[[scorers]]\nname = 'band'\nplugin = 'percentile_band'\nfrom = ['meter']\n" + band_1500() + "\n" + sinks;
}

/// 2 kW at 1000 impulses/kWh: a 1 Wh impulse every 1.8 s, from 2024-06-10T00:00:00Z for an hour.
std::string two_kw_hour() {
  std::string text = "# 2 kW for an hour\n";
  char buf[64];
  for (long long k = 0; k < 2000; ++k) {
    const long long tenths = 17179776000LL + k * 18;
    std::snprintf(buf, sizeof buf, "%lld.%lld\n", tenths / 10, tenths % 10);
    text += buf;
  }
  return text;
}

/// A pulse on 2024-10-27, the end of summer time in Paris, `minute` minutes
/// after midnight, in local time without an offset (as `date +%FT%T` writes it).
std::string pulse_on_27_october(int minute) {
  char line[64];
  std::snprintf(line, sizeof line, "2024-10-27T%02d:%02d:00\n", minute / 60, minute % 60);
  return line;
}

/// Runs the pulse file `text` through the pipeline in Europe/Paris, every
/// reading to a console sink (with `console_options`).
result run_in_paris(const std::string& text, const std::string& console_options) {
  temp_dir dir;
  dir.file("pulses.txt", text);
  const auto p = dir.file("p.toml", pipeline("pulse_file = 'pulses.txt'\ninterval = '1h'",
                                             "[[sinks]]\nname = 'all'\nplugin = 'console'\nfrom = ['band']\n" +
                                                 console_options + "receive = 'all'\n",
                                             "", "Europe/Paris"));
  return run({"run", p});
}

} // namespace

TEST_CASE("gpio_meter: a 2 kW hour from a pulse file, through a band, to the console") {
  temp_dir dir;
  dir.file("pulses.txt", two_kw_hour());
  const auto p = dir.file("p.toml", pipeline("pulse_file = 'pulses.txt'",
                                             "[[sinks]]\nname = 'all'\nplugin = 'console'\nfrom = ['band']\n"
                                             "format = 'json'\nreceive = 'all'\n"
                                             "[[sinks]]\nname = 'alerts'\nplugin = 'console'\nfrom = ['band']\n"
                                             "stream = 'stderr'\n"));
  const auto r = run({"run", p});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 60);  // a reading a minute, 00:01 .. 01:00
  // The last: the hour 00:00 .. 01:00 (ts = its start), 2000 Wh, every label;
  // still unusual since the reading of 23:46 raised the alert (since_ms).
  CHECK(lines.back() ==
        "{\"ts\":\"2024-06-10T00:00:00+00:00\",\"ts_ms\":1717977600000,\"span_ms\":3600000,\"meter\":\"home\","
        "\"hour\":0,\"wh\":2000,"
        "\"score\":1.3333333333333333,\"expected_lo\":0,\"expected_hi\":1500,\"scorer\":\"band\",\"alert\":\"none\","
        "\"threshold\":1,\"since_ms\":1717976760000,\"labels\":{\"pulses\":\"2000\",\"power_w\":\"2000\","
        "\"last_pulse_s\":\"1.8\","
        "\"covered_s\":\"3600\"}}");
  // The first: one minute observed, and it says so.
  CHECK_THAT(lines.front(), Contains("\"ts\":\"2024-06-09T23:01:00+00:00\"") && Contains("\"wh\":34,") &&
                                Contains("\"covered_s\":\"60\""));
  // Usage passes the band's 1500 Wh at 00:46, 14 minutes before the hour is complete: one alert.
  std::size_t raised = 0;
  for (const auto& line : lines) raised += line.find("\"alert\":\"raised\"") != std::string::npos;
  CHECK(raised == 1);
  CHECK_THAT(lines[45], Contains("\"ts\":\"2024-06-09T23:46:00+00:00\"") && Contains("\"wh\":1534,") &&
                            Contains("\"alert\":\"raised\""));
  CHECK_THAT(r.err, Contains("[2024-06-09 home band] Unusual power usage of 1534 Wh at 23:46 (score 1.02). Please check!"));
  CHECK_THAT(r.err, Contains("[meter] replayed 60 readings: 2000 pulses counted"));
  CHECK_THAT(r.err, Contains("pipeline 'gpio' finished: 60 readings, 2 alerts delivered"));  // the raise, to each sink
}

TEST_CASE("gpio_meter: a console message with {end} says when the trailing hour was read") {
  // Each reading is the hour before it was read, stamped with that hour's
  // start: the standard line's "at 23:46" is the reading read at 0:46.
  temp_dir dir;
  dir.file("pulses.txt", two_kw_hour());
  const auto p = dir.file(
      "p.toml", pipeline("pulse_file = 'pulses.txt'",
                         "[[sinks]]\nname = 'alerts'\nplugin = 'console'\nfrom = ['band']\nremind_every = '10m'\n"
                         "message = 'Unusual power usage since {since}: {wh} Wh in the hour to {end}.'\n"
                         "reminder_message = 'Still unusual since {since}: {wh} Wh in the hour to {end}.'\n"));
  const auto r = run({"run", p});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(lines_of(r.out) == std::vector<std::string>{
                               "Unusual power usage since 23:46: 1534 Wh in the hour to 0:46.",
                               "Still unusual since 23:46: 1867 Wh in the hour to 0:56.",
                           });
}

TEST_CASE("gpio_meter: a pulse file in local time counts the hour the end of summer time repeats") {
  // A pulse a minute from 01:00 to the second 02:59, written in local time without an offset, as `date
  // +%FT%T` writes it: 02:00..02:59 twice (CEST, then CET), 180 pulses in three hours.
  std::string text;
  for (int k = 0; k < 180; ++k) text += pulse_on_27_october(k < 60 ? 60 + k : 120 + k % 60);
  const auto r = run_in_paris(text, "format = 'json'\n");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 3);
  CHECK_THAT(lines[0], Contains("\"ts\":\"2024-10-27T01:00:00+02:00\"") && Contains("\"wh\":60,"));
  CHECK_THAT(lines[1], Contains("\"ts\":\"2024-10-27T02:00:00+02:00\"") && Contains("\"wh\":60,"));
  CHECK_THAT(lines[2], Contains("\"ts\":\"2024-10-27T02:00:00+01:00\"") && Contains("\"wh\":60,"));
  CHECK_THAT(r.err, Contains("[meter] replayed 3 readings: 180 pulses counted, 0 dropped as bounce (closer than "
                             "debounce 50ms), skipped 0 lines"));
}

TEST_CASE("gpio_meter: a gap across the end of summer time, in local time, loses no pulse") {
  // A pulse a minute from 01:00 to 02:10 summer time, the Pi off for 59
  // minutes, then 02:09 and 02:11 to 02:59 winter time. The line after the
  // gap is held (it might be a wrong timestamp) until the next: read against
  // the held one, 02:11 is winter time too. Read against the last counted
  // pulse (02:10 summer time), it was summer time, before the held line,
  // which was dropped as wrong.
  std::string text;
  for (int m = 60; m <= 130; ++m) text += pulse_on_27_october(m);
  for (int m = 129; m < 180; ++m)
    if (m != 130) text += pulse_on_27_october(m);
  const auto r = run_in_paris(text, "");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("[meter] replayed 3 readings: 121 pulses counted, 0 dropped as bounce (closer than "
                             "debounce 50ms), skipped 0 lines"));
}

TEST_CASE("gpio_meter: option errors are reported at validate, at the option's line") {
  temp_dir dir;
  const auto sinks = "[[sinks]]\nname = 'out'\nplugin = 'console'\nfrom = ['band']\n";
  const auto bad_interval = run({"validate", dir.file("a.toml", pipeline("line = 17\ninterval = '500ms'", sinks))});
  CHECK(bad_interval.exit_code == 2);
  CHECK(bad_interval.err == dir.path() +
                                "/a.toml:9:12: option 'interval' of source 'meter' (gpio_meter) must be within 1s..1h; "
                                "got 500ms\n");
  const auto bad_numbers =
      run({"validate", dir.file("d.toml", pipeline("line = 17\ninterval = '2h'\nimpulses_per_kwh = 0", sinks))});
  CHECK(bad_numbers.exit_code == 2);
  CHECK(bad_numbers.err == dir.path() + "/d.toml:9:12: option 'interval' of source 'meter' (gpio_meter) must be "
                                        "within 1s..1h; got 2h\n" +
                               dir.path() + "/d.toml:10:20: option 'impulses_per_kwh' of source 'meter' (gpio_meter) "
                                            "must be above 0; got 0\n");
  const auto no_line = run({"validate", dir.file("b.toml", pipeline("", sinks))});
  CHECK(no_line.exit_code == 2);
  CHECK_THAT(no_line.err, Contains("b.toml:5:1: option 'line' of source 'meter' (gpio_meter): is required unless "
                                   "pulse_file is given"));
  // Without the hardware the pipeline is still valid, the chip being opened by `run`; but said, as
  // validate is run where the service will be.
  const auto ok = run({"validate", dir.file("c.toml", pipeline("chip = 'gpiochip99'\nline = 'GPIO17'", sinks))});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  const std::string missing = "option 'chip' of source 'meter' (gpio_meter): GPIO chip \"gpiochip99\" "
                              "(/dev/gpiochip99) not found: /dev/gpiochip99 does not exist.";
  CHECK_THAT(ok.err, Contains(dir.path() + "/c.toml:8:8: warning: " + missing));
  // run fails on it after its restarts, the warning said once, not at each new instance.
  const auto failed = run({"run", dir.file("c.toml", pipeline("chip = 'gpiochip99'\nline = 'GPIO17'", sinks,
                                                             "max_restarts = 2\nrestart_backoff = '1ms'\n"))});
  INFO(failed.err);
  CHECK(failed.exit_code == 1);
  CHECK(count_lines(failed.err, dir.path() + "/c.toml:10:8: " + missing) == 1);
  CHECK(count_lines(failed.err, " of at most 2 in a row)") == 2);  // two new instances, each warning anew
}

TEST_CASE("gpio_meter: a debounce that caps the power measured is warned of at debounce by validate and run") {
  temp_dir dir;
  dir.file("pulses.txt", two_kw_hour());
  const auto sinks = "[[sinks]]\nname = 'out'\nplugin = 'console'\nfrom = ['band']\n";
  const std::string source = "pulse_file = 'pulses.txt'\nimpulses_per_kwh = 10000\n";
  const std::string warning = "option 'debounce' of source 'meter' (gpio_meter): 50ms with 10000 impulses/kWh drops "
                              "pulses closer than that, so power above 7.2 kW cannot be measured; lower debounce if "
                              "the house can draw more";
  const auto p = dir.file("p.toml", pipeline(source + "debounce = '50ms'", sinks));
  const auto v = run({"validate", p});
  CHECK(v.exit_code == 0);
  CHECK(v.err == p + ":10:12: warning: " + warning + "\n");
  const auto r = run({"run", p});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("warning [runtime] " + p + ":10:12: " + warning + "\n"));
  // debounce left out, its default: at the source's table.
  const auto q = dir.file("q.toml", pipeline(source, sinks));
  CHECK(run({"validate", q}).err == q + ":5:1: warning: " + warning + "\n");
}

TEST_CASE("gpio_meter: a run without the GPIO chip stops with a message saying what to do") {
  temp_dir dir;
  const auto sinks = "[[sinks]]\nname = 'out'\nplugin = 'console'\nfrom = ['band']\n";
  const auto r = run({"run", dir.file("p.toml", pipeline("chip = 'gpiochip99'\nline = 17", sinks,
                                                         "max_restarts = 1\nrestart_backoff = '5ms'\n"))},
                     {}, 30s);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("[meter] start failed: GPIO chip \"gpiochip99\" (/dev/gpiochip99) not found: "
                             "/dev/gpiochip99 does not exist. Check the chip option (gpiodetect, in Debian's gpiod "
                             "package, lists the chips) and that the GPIO driver is loaded; without GPIO hardware, "
                             "give pulse_file instead; giving up after 2 failures in a row"));
}

// The gpio_meter plugin as built (.so), driven through the SDK with a fake
// stage_context (plugin_harness.hpp): its options, option errors, the
// missing-chip error, pulse files replayed to the end, and a live FIFO.
#include "plugin_harness.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

using namespace stream_smarts;
using namespace stream_smarts::testing;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using std::chrono::milliseconds;

namespace {

constexpr std::int64_t t0_s = 1717977600;  // 2024-06-10T00:00:00Z
constexpr std::int64_t t0_ms = t0_s * 1000;

/// `count` pulse lines from t0, `tenths` tenths of a second apart: "1717977600.0", "1717977601.8", ...
std::string pulses(std::int64_t from_tenths, int count, int tenths, const std::string& suffix = "\n") {
  std::string text;
  char buf[64];
  for (int k = 0; k < count; ++k) {
    const std::int64_t t = from_tenths + static_cast<std::int64_t>(k) * tenths;
    std::snprintf(buf, sizeof buf, "%lld.%lld", static_cast<long long>(t / 10), static_cast<long long>(t % 10));
    text += buf + suffix;
  }
  return text;
}

std::vector<reading> drain(source& s, std::size_t max, std::size_t& batches, int max_calls = 100000) {
  std::vector<reading> out;
  for (int i = 0; i < max_calls; ++i) {
    const std::size_t before = out.size();
    const read_result r = s.read(out, max);
    REQUIRE(out.size() - before <= max);
    batches += out.size() > before;
    if (r.finished) {
      CHECK(out.size() == before);  // finished only with an empty batch
      return out;
    }
    REQUIRE(r.wait.count() == 0);  // a regular file never waits
  }
  FAIL("source did not finish");
  return out;
}

std::vector<reading> drain(source& s, std::size_t max = 1024) {
  std::size_t batches = 0;
  return drain(s, max, batches);
}

/// Every reading a gpio_meter made with `ctx` replays, to the end of its file.
std::vector<reading> replayed(const plugin_descriptor& d, fake_context& ctx) {
  auto src = d.make_source(ctx);
  src->start();
  return drain(*src);
}

std::string label_of(const reading& r, const std::string& key) {
  for (const auto& l : r.labels)
    if (l.key == key) return l.value;
  return "(none)";
}

/// gpio_meter started on a FIFO, read live with a 1 s interval (and `more` options).
struct live_fifo {
  explicit live_fifo(std::map<std::string, option_value> more = {})
      : ctx{load(GPIO_METER_PLUGIN), with(std::move(more), {{"pulse_file", fifo}, {"interval", milliseconds{1000}}}),
            dir.path},
        src(started(load(GPIO_METER_PLUGIN).make_source(ctx))) {}
  temp_dir dir;
  std::string fifo = make(dir.path + "/pulses.fifo");
  fake_context ctx;
  std::unique_ptr<source> src;

  static std::map<std::string, option_value> with(std::map<std::string, option_value> more,
                                                  const std::map<std::string, option_value>& base) {
    more.insert(base.begin(), base.end());
    return more;
  }

  static std::string make(const std::string& path) {
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    return path;
  }
  static std::unique_ptr<source> started(std::unique_ptr<source> s) {
    s->start();
    return s;
  }
};

bool logged(const fake_context& ctx, const std::string& needle) {
  for (const auto& l : ctx.log_.lines)
    if (l.find(needle) != std::string::npos) return true;
  return false;
}

} // namespace

TEST_CASE("gpio_meter declares its options once, with defaults", "[gpio_meter][stages]") {
  const auto& d = load(GPIO_METER_PLUGIN);
  CHECK(d.info.name == "gpio_meter");
  CHECK(d.info.kind == plugin_kind::source);
  std::map<std::string, option_value> defaults;
  std::vector<std::string> names;
  for (const auto& o : d.info.options) {
    names.push_back(o.name);
    defaults[o.name] = o.default_value;
    CHECK_FALSE(o.required);  // line is required only without pulse_file: checked by the constructor
    CHECK(o.description.find('|') == std::string::npos);  // would break the README's table
  }
  CHECK(names == std::vector<std::string>{"chip", "line", "edge", "bias", "debounce", "impulses_per_kwh", "interval",
                                          "silent_after", "meter", "pulse_file"});
  CHECK(std::get<std::string>(defaults["chip"]) == "gpiochip0");
  CHECK(std::holds_alternative<std::monostate>(defaults["line"]));
  CHECK(std::get<std::string>(defaults["edge"]) == "falling");
  CHECK(std::get<std::string>(defaults["bias"]) == "pull-up");
  CHECK(std::get<milliseconds>(defaults["debounce"]) == 50ms);
  CHECK(std::get<double>(defaults["impulses_per_kwh"]) == 1000.0);
  CHECK(std::get<milliseconds>(defaults["interval"]) == 1min);
  CHECK(std::get<milliseconds>(defaults["silent_after"]) == 3h);
  CHECK(std::get<std::string>(defaults["meter"]) == "home");
  CHECK(std::holds_alternative<std::monostate>(defaults["pulse_file"]));
}

TEST_CASE("gpio_meter option errors, at construction (validate)", "[gpio_meter][stages]") {
  const auto& d = load(GPIO_METER_PLUGIN);
  temp_dir dir;
  auto error = [&](std::map<std::string, option_value> given) {
    return option_error_of([&] {
      fake_context c(d, std::move(given), dir.path);
      d.make_source(c);
    });
  };
  const option_value line17 = std::int64_t{17};
  CHECK(error({{"line", line17}}) == "no error");  // no hardware is touched before start()
  CHECK(error({{"line", std::string("GPIO17")}}) == "no error");
  CHECK(error({{"line", std::string("17")}}) == "no error");
  CHECK(error({{"line", std::string("99999")}}) == "line: must be a line offset 0..65535 or a line name; got 99999");
  CHECK(error({{"line", std::string("000000017")}}) == "line: must be a line offset 0..65535 or a line name; got "
                                                        "000000017");
  CHECK(error({{"line", line17}, {"debounce", milliseconds{60000}}}) ==
        "debounce: must be shorter than interval (1m); got 1m");
  CHECK(error({{"line", line17}, {"silent_after", milliseconds{90000}}}) ==
        "silent_after: must be at least twice interval (2m), or \"0s\" for never; got 1m30s");
  CHECK(error({{"line", line17}, {"silent_after", milliseconds{120000}}}) == "no error");
  CHECK(error({{"line", line17}, {"silent_after", milliseconds{0}}}) == "no error");
  CHECK(error({}) == "line: is required unless pulse_file is given: the GPIO line the meter is wired to, as an "
                     "offset (line = 17) or a line name (line = \"GPIO17\")");
  CHECK(error({{"line", line17}, {"pulse_file", std::string("p.txt")}}) ==
        "pulse_file: give either line (a GPIO input) or pulse_file, not both");
  CHECK(error({{"line", std::int64_t{-1}}}) == "line: must be a line offset 0..65535 or a line name; got -1");
  CHECK(error({{"line", std::string("")}}) ==
        "line: must not be empty: a line offset (17) or name (\"GPIO17\")");
  CHECK(error({{"line", line17}, {"chip", std::string("")}}) == "chip: must not be empty");
  CHECK(error({{"line", line17}, {"meter", std::string("")}}) == "meter: must not be empty");
  CHECK(error({{"pulse_file", std::string("")}}) == "pulse_file: must not be empty");
  CHECK(error({{"pulse_file", std::string(".")}}) == "pulse_file: " + dir.path +
                                                        "/.: is a directory; give a file of pulse timestamps or a "
                                                        "FIFO (mkfifo)");
  // A pulse file may be a FIFO its writer creates later: not an error yet.
  CHECK(error({{"pulse_file", std::string("later.fifo")}}) == "no error");

  SECTION("a debounce that caps the measurable power is a warning, for a GPIO line and a pulse file alike") {
    for (const auto& [option, value] : std::map<std::string, option_value>{{"line", line17},
                                                                           {"pulse_file", std::string("p.txt")}}) {
      // A chip that is there (any machine has /dev/null), so that only the debounce is warned of.
      fake_context c(d, {{option, value}, {"impulses_per_kwh", 10000.0}, {"chip", std::string("/dev/null")}}, dir.path);
      d.make_source(c);
      CHECK(c.log_.lines == std::vector<std::string>{
                                "warning: debounce: 50ms with 10000 impulses/kWh drops pulses closer than that, so "
                                "power above 7.2 kW cannot be measured; lower debounce if the house can draw more"});
    }
  }

  SECTION("a chip that is not on this machine is a warning (validate), not yet an error (run)") {
    fake_context c(d, {{"line", line17}, {"chip", std::string("gpiochip99")}}, dir.path);
    d.make_source(c);
    CHECK(c.log_.lines == std::vector<std::string>{
                              "warning: chip: GPIO chip \"gpiochip99\" (/dev/gpiochip99) not found: /dev/gpiochip99 does "
                              "not exist. Check the chip option (gpiodetect, in Debian's gpiod package, lists the "
                              "chips) and that the GPIO driver is loaded; without GPIO hardware, give pulse_file "
                              "instead"});
  }
}

TEST_CASE("gpio_meter: a missing GPIO chip is a clear error at start", "[gpio_meter][stages][gpio]") {
  const auto& d = load(GPIO_METER_PLUGIN);
  temp_dir dir;
  auto start_error = [&](std::map<std::string, option_value> given) {
    fake_context c(d, std::move(given), dir.path);
    auto src = d.make_source(c);
    try {
      src->start();
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    src->stop();
    return std::string("started");
  };
  CHECK(start_error({{"chip", std::string("gpiochip99")}, {"line", std::int64_t{17}}}) ==
        "GPIO chip \"gpiochip99\" (/dev/gpiochip99) not found: /dev/gpiochip99 does not exist. Check the chip "
        "option (gpiodetect, in Debian's gpiod package, lists the chips) and that the GPIO driver is loaded; without "
        "GPIO hardware, give pulse_file instead");
  CHECK(start_error({{"chip", std::string("99")}, {"line", std::string("GPIO17")}}) ==
        "GPIO chip \"99\" (/dev/gpiochip99) not found: /dev/gpiochip99 does not exist. Check the chip option "
        "(gpiodetect, in Debian's gpiod package, lists the chips) and that the GPIO driver is loaded; without GPIO "
        "hardware, give pulse_file instead");
  CHECK(start_error({{"chip", dir.path + "/gpiochip0"}, {"line", std::int64_t{0}}}) ==
        "GPIO chip \"" + dir.path + "/gpiochip0\" not found: " + dir.path +
            "/gpiochip0 does not exist. Check the chip option (gpiodetect, in Debian's gpiod package, lists the "
            "chips) and that the GPIO driver is loaded; without GPIO hardware, give pulse_file instead");
  // A device that is not a GPIO chip.
  CHECK(start_error({{"chip", std::string("/dev/null")}, {"line", std::int64_t{0}}}) ==
        "/dev/null is not a GPIO chip (chip = \"/dev/null\"): give a gpiochip device such as gpiochip0 (gpiodetect "
        "lists them)");
  CHECK(start_error({{"chip", dir.path}, {"line", std::int64_t{0}}}) ==  // said "Is a directory"
        dir.path + " is not a GPIO chip (chip = \"" + dir.path + "\"): give a gpiochip device such as gpiochip0 "
                   "(gpiodetect lists them)");
  // A label no chip has (this machine has no chips): not only "/dev/pinctrl-bcm2711 does not exist".
  CHECK(start_error({{"chip", std::string("pinctrl-bcm2711")}, {"line", std::int64_t{17}}}).find(
            "not found: /dev/pinctrl-bcm2711 does not exist, and no chip is labelled \"pinctrl-bcm2711\"") !=
        std::string::npos);
}

TEST_CASE("gpio_meter replays a pulse file: a 2 kW load for an hour", "[gpio_meter][stages][file]") {
  const auto& d = load(GPIO_METER_PLUGIN);
  temp_dir dir;
  // One pulse every 1.8 s from 00:00:00 for an hour: 2000 pulses, 2000 Wh.
  dir.write("pulses.txt", "# 2 kW for an hour\n" + pulses(t0_s * 10, 2000, 18));
  fake_context ctx(d, {{"pulse_file", std::string("pulses.txt")}, {"meter", std::string("flat")}}, dir.path);
  auto src = d.make_source(ctx);
  for (int round = 0; round < 2; ++round) {  // a restarted source starts afresh: the same readings
    src->start();
    std::size_t batches = 0;
    const auto got = drain(*src, 7, batches);
    src->stop();
    REQUIRE(got.size() == 60);  // 00:01 .. 01:00, the last one after the end of the file
    CHECK(batches == 9);        // 7 readings a batch
    for (std::size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].meter == "flat");
      CHECK(got[i].ts_ms == t0_ms - 3'600'000 + static_cast<std::int64_t>(i + 1) * 60'000);
    }
    CHECK(got[0].wh == 34.0);
    CHECK(label_of(got[0], "covered_s") == "60");
    CHECK(got[44].wh == 1500.0);  // 00:45: 1500 pulses in [23:45, 00:45)
    const reading& last = got.back();
    CHECK(last.ts_ms == t0_ms);  // the hour 00:00 .. 01:00
    CHECK(last.wh == 2000.0);
    CHECK(label_of(last, "pulses") == "2000");
    CHECK(label_of(last, "power_w") == "2000");
    CHECK(label_of(last, "last_pulse_s") == "1.8");
    CHECK(label_of(last, "covered_s") == "3600");
    CHECK(ctx.log_.lines.back() ==
          "info: replayed 60 readings: 2000 pulses counted, 0 dropped as bounce (closer than debounce 50ms), skipped 0 "
          "lines");
  }
}

TEST_CASE("gpio_meter pulse file: malformed lines are skipped with file:line, nothing else is lost",
          "[gpio_meter][stages][file]") {
  const auto& d = load(GPIO_METER_PLUGIN);
  temp_dir dir;
  const std::string file = dir.write("p.log",
                                     "# pulses\n"                        // 1
                                     "1717977600.0\n"                    // 2
                                     "abc\n"                             // 3
                                     "1717977601.8\r\n"                  // 4
                                     "2024-06-10T00:00:03.6Z\n"          // 5
                                     "1717977602\n"                      // 6: before the one at 00:00:03.6
                                     "1717977605.4\n"                    // 7
                                     "1717977605.41\n"                   // 8: 10 ms later, bounce
                                     "\n"                                // 9
                                     "2024-06-10T01:00:07.2\n"           // 10: local (+01:00): 00:00:07.2Z
                                     "1717977609" + std::string(5000, '0') + "\n"  // 11
                                     "1717977609.0");                    // 12, no newline at the end
  fake_context ctx(d, {{"pulse_file", file}}, dir.path);
  auto src = d.make_source(ctx);
  src->start();
  const auto got = drain(*src);
  REQUIRE(got.size() == 1);
  CHECK(got[0].ts_ms == t0_ms + 60'000 - 3'600'000);
  CHECK(got[0].wh == 6.0);  // lines 2, 4, 5, 7, 10, 12
  CHECK(ctx.log_.lines ==
        std::vector<std::string>{
            "warning: " + file + ":3: not a timestamp: 'abc' (expected epoch seconds such as 1718000000.25, or "
                                 "ISO-8601 such as 2024-06-10T08:13:20.250+02:00), line skipped",
            "warning: " + file + ":6: pulse at 2024-06-10T01:00:02+01:00 is earlier than the one before it "
                                 "(2024-06-10T01:00:03+01:00), line skipped",
            "warning: " + file + ":11: line longer than 4096 bytes, skipped",
            "info: replayed 1 readings: 6 pulses counted, 1 dropped as bounce (closer than debounce 50ms), skipped 3 "
            "lines",
        });
}

TEST_CASE("gpio_meter pulse file: lines far ahead are left out, not every pulse after them",
          "[gpio_meter][stages][file]") {
  // A line of 2039 (or 5 hours on) among an hour of 2 kW made every real
  // pulse after it "earlier than the one before it": the heater was lost.
  const auto& d = load(GPIO_METER_PLUGIN);
  const std::string real_before = pulses(t0_s * 10, 500, 18), real_after = pulses((t0_s + 900) * 10, 1500, 18);
  struct wrong_lines {
    std::string text;
    std::vector<std::string> at;  // the local times the warnings say, line 501 on
  };
  for (const auto& [ahead, at] : std::vector<wrong_lines>{
           {pulses((t0_s + 5 * 3600) * 10, 1, 1), {"2024-06-10T06:00:00+01:00"}},
           {"2200000000\n", {"2039-09-19T00:06:40+01:00"}},
           {"2200000000\n2200000001\n", {"2039-09-19T00:06:40+01:00", "2039-09-19T00:06:41+01:00"}},
       }) {
    temp_dir dir;
    const std::string file = dir.write("p.txt", real_before + ahead + real_after);
    fake_context ctx(d, {{"pulse_file", file}}, dir.path);
    const auto got = replayed(d, ctx);
    REQUIRE(got.size() == 60);
    CHECK(got.back().wh == 2000.0);
    const std::size_t next = 501 + at.size();
    for (std::size_t i = 0; i < at.size(); ++i)
      CHECK(ctx.log_.lines.at(i) == "warning: " + file + ":" + std::to_string(501 + i) + ": pulse at " + at[i] +
                                        " is later than the one at line " + std::to_string(next) +
                                        " (2024-06-10T01:15:00+01:00), line skipped");
    CHECK(ctx.log_.lines.back() ==
          "info: replayed 60 readings: 2000 pulses counted, 0 dropped as bounce (closer than debounce 50ms), skipped " +
              std::to_string(at.size()) + " lines");
  }
}

TEST_CASE("gpio_meter pulse file: a real gap, then a line behind it: the gap's pulse counts, the line behind does not",
          "[gpio_meter][stages][file]") {
  const auto& d = load(GPIO_METER_PLUGIN);
  temp_dir dir;
  const std::int64_t after_gap_s = t0_s + 3600 + 3 * 3600;  // 3 h after the last of an hour's pulses
  const std::string file = dir.write("p.txt", pulses(t0_s * 10, 120, 300) + pulses(after_gap_s * 10, 1, 1) +
                                                  pulses((t0_s - 365 * 86400) * 10, 1, 1) +
                                                  pulses((after_gap_s + 30) * 10, 119, 300));
  fake_context ctx(d, {{"pulse_file", file}}, dir.path);
  replayed(d, ctx);
  CHECK(ctx.log_.lines.front() == "warning: " + file + ":122: pulse at 2023-06-11T01:00:00+01:00 is earlier than "
                                                       "the one before it (2024-06-10T01:59:30+01:00), line skipped");
  CHECK_THAT(ctx.log_.lines.back(), Contains(": 240 pulses counted, ") && Contains(", skipped 1 lines"));
}

TEST_CASE("gpio_meter pulse file: a line far ahead, the last whole line of a block read, waits for the next block",
          "[gpio_meter][stages][file]") {
  const auto& d = load(GPIO_METER_PLUGIN);
  temp_dir dir;
  const std::string before = pulses(t0_s * 10, 500, 18), ahead = pulses((t0_s + 5 * 3600) * 10, 1, 1);
  std::string padding;  // comments, each under the 4096-byte line limit, so the line ahead ends at byte 65536
  for (std::size_t left = 65536 - before.size() - ahead.size(); left > 0;) {
    const std::size_t line = std::min<std::size_t>(left, 4000);
    REQUIRE(line >= 2);
    padding += "#" + std::string(line - 2, 'x') + "\n";
    left -= line;
  }
  REQUIRE(before.size() + padding.size() + ahead.size() == 65536);
  const std::string file = dir.write("p.txt", before + padding + ahead + pulses((t0_s + 900) * 10, 1500, 18));
  fake_context ctx(d, {{"pulse_file", file}}, dir.path);
  const auto got = replayed(d, ctx);
  REQUIRE(got.size() == 60);
  CHECK(got.back().wh == 2000.0);
  CHECK_THAT(ctx.log_.lines.front(), Contains(" is later than the one at line 517 (2024-06-10T01:15:00+01:00), line "
                                              "skipped"));
}

TEST_CASE("gpio_meter pulse file: a byte order mark before the first line is no part of it",
          "[gpio_meter][stages][file]") {
  const auto& d = load(GPIO_METER_PLUGIN);
  temp_dir dir;
  dir.write("p.txt", "\xEF\xBB\xBF" + pulses(t0_s * 10, 3, 18));  // as a Windows editor saves it
  fake_context ctx(d, {{"pulse_file", std::string("p.txt")}}, dir.path);
  auto src = d.make_source(ctx);
  src->start();
  const auto got = drain(*src);
  REQUIRE(got.size() == 1);
  CHECK(got[0].wh == 3.0);
  CHECK(ctx.log_.lines == std::vector<std::string>{"info: replayed 1 readings: 3 pulses counted, 0 dropped as bounce "
                                                   "(closer than debounce 50ms), skipped 0 lines"});
}

TEST_CASE("gpio_meter pulse file: a long silence gives readings at 0 Wh that say so", "[gpio_meter][stages][file]") {
  const auto& d = load(GPIO_METER_PLUGIN);
  temp_dir dir;
  // Ten minutes of 2 kW, then nothing for three hours, then one pulse.
  dir.write("p.txt", pulses(t0_s * 10, 334, 18) + pulses((t0_s + 190 * 60) * 10 + 5, 1, 1));
  fake_context ctx(d, {{"pulse_file", std::string("p.txt")}}, dir.path);
  auto src = d.make_source(ctx);
  src->start();
  const auto got = drain(*src);
  REQUIRE(got.size() == 191);  // one a minute, the silence included
  const reading& quiet = got[74];  // 01:15, the hour 00:15 .. 01:15
  CHECK(quiet.ts_ms == t0_ms + 15 * 60'000);
  CHECK(quiet.wh == 0.0);
  CHECK(label_of(quiet, "pulses") == "0");
  CHECK(label_of(quiet, "last_pulse_s") == "3900.6");  // since 00:09:59.4
  CHECK(label_of(quiet, "power_w") == "0.9");          // at most 1 Wh in 65 minutes
  CHECK(label_of(quiet, "covered_s") == "3600");
  std::size_t zero = 0;
  for (const auto& r : got) zero += r.wh == 0.0;
  CHECK(zero == 190 - 69);  // from the hour 00:10 .. 01:10 to the one ending at 03:10
  CHECK(ctx.troubles_.empty());  // over silent_after (3h), but a file's past is no sensor off the meter now
  CHECK(ctx.gauges_.count("meter_silence_seconds") == 0);
}

TEST_CASE("gpio_meter pulse file stopped part way says so, not 'replayed'", "[gpio_meter][stages][file]") {
  const auto& d = load(GPIO_METER_PLUGIN);
  temp_dir dir;
  dir.write("pulses.txt", pulses(t0_s * 10, 2000, 18));
  fake_context ctx(d, {{"pulse_file", std::string("pulses.txt")}}, dir.path);
  auto src = d.make_source(ctx);
  src->start();
  std::vector<reading> out;
  for (int calls = 0; calls < 1000 && out.empty(); ++calls) src->read(out, 7);
  REQUIRE(out.size() == 7);
  src->stop();  // Ctrl-C
  CHECK_THAT(ctx.log_.lines.back(), StartsWith("info: stopped after 7 readings: "));
}

TEST_CASE("gpio_meter pulse file: empty or missing", "[gpio_meter][stages][file]") {
  const auto& d = load(GPIO_METER_PLUGIN);
  temp_dir dir;
  dir.write("empty.txt", "# nothing yet\n");
  fake_context ctx(d, {{"pulse_file", std::string("empty.txt")}}, dir.path);
  auto src = d.make_source(ctx);
  src->start();
  CHECK(drain(*src).empty());
  CHECK(logged(ctx, "warning: " + dir.path + "/empty.txt: no pulses in the file, so no readings"));

  fake_context missing(d, {{"pulse_file", std::string("nowhere.fifo")}}, dir.path);
  auto gone = d.make_source(missing);
  CHECK_THROWS_WITH(gone->start(), "pulse_file " + dir.path +
                                       "/nowhere.fifo: No such file or directory; create the FIFO with mkfifo, or "
                                       "fix the path");
}

TEST_CASE("gpio_meter live: idle() takes what is queued, while the sinks hold read() back", "[gpio_meter][stages][fifo]") {
  // A GPIO line's kernel queue holds 16 events and drops the rest: left
  // unread for minutes while a sink retried, impulses were lost. A FIFO
  // shows the same draining: FIONREAD counts the bytes still queued.
  live_fifo live;
  const int w = ::open(live.fifo.c_str(), O_WRONLY | O_NONBLOCK);
  REQUIRE(w >= 0);
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const std::string lines = std::to_string(now.tv_sec - 2) + "\n" + std::to_string(now.tv_sec - 1) + "\n";
  REQUIRE(::write(w, lines.data(), lines.size()) == static_cast<ssize_t>(lines.size()));
  int queued = -1;
  REQUIRE(::ioctl(w, FIONREAD, &queued) == 0);
  CHECK(queued == static_cast<int>(lines.size()));
  CHECK(live.src->idle() == milliseconds{144});  // the poll period at 1000 impulses/kWh: called again that soon
  REQUIRE(::ioctl(w, FIONREAD, &queued) == 0);
  CHECK(queued == 0);
  ::close(w);
  live.src->stop();
}

TEST_CASE("gpio_meter reads a FIFO live: by the wall clock, never blocking, through writers coming and going",
          "[gpio_meter][stages][fifo]") {
  live_fifo live;
  const std::string& fifo = live.fifo;
  fake_context& ctx = live.ctx;
  auto& src = live.src;

  auto now_s = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
  };
  auto line = [](double t) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6f\n", t);
    return std::string(buf);
  };
  auto write_all = [](int fd, const std::string& text) {
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  };
  milliseconds longest_call{0};
  std::vector<reading> all;
  bool finished = false;
  // Calls read() as the runtime would (sleeping `wait` between calls, at most
  // `limit` in all) until a reading has `n` pulses.
  auto reading_with = [&](int n, std::chrono::seconds limit) -> std::optional<reading> {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (int calls = 0; calls < 100'000 && std::chrono::steady_clock::now() < deadline; ++calls) {
      std::vector<reading> out;
      const auto before = std::chrono::steady_clock::now();
      const read_result r = src->read(out, 100);
      longest_call = std::max(longest_call, std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - before));
      finished = finished || r.finished;
      all.insert(all.end(), out.begin(), out.end());
      for (const auto& reading : out)
        if (label_of(reading, "pulses") == std::to_string(n)) return reading;
      if (out.empty()) {
        CHECK(r.wait > 0ms);
        CHECK(r.wait <= 144ms);  // the poll period at 1000 impulses/kWh
        std::this_thread::sleep_for(r.wait);
      }
    }
    return std::nullopt;
  };

  // No writer yet: readings come anyway (0 Wh), by the clock.
  auto empty = reading_with(0, 5s);
  REQUIRE(empty);
  CHECK(empty->wh == 0.0);

  // A writer: three pulses and a malformed line.
  int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
  REQUIRE(w >= 0);
  double t = now_s();
  // Half a minute ahead is refused too: taken, it made the pulse after it "earlier than the one before".
  write_all(w, line(t - 3) + line(t - 2) + "garbage\n" + line(t - 1) + line(t + 3600) + line(t + 30) + line(t - 0.5));
  auto first = reading_with(4, 5s);
  REQUIRE(first);
  CHECK(first->wh == 4.0);
  CHECK(label_of(*first, "power_w") != "(none)");
  CHECK(logged(ctx, "warning: " + fifo + ":3: not a timestamp: 'garbage'"));
  CHECK(logged(ctx, "warning: " + fifo + ":5: 35"));  // 3599 s, or less on a slow machine
  CHECK(logged(ctx, "warning: " + fifo + ":6: "));
  CHECK(logged(ctx, " s ahead of this machine's clock ("));
  CHECK_FALSE(logged(ctx, "is earlier than the one before it"));

  // The writer goes away: not the end.
  ::close(w);
  reading_with(-1, 2s);  // nothing to find: just keep reading for a while
  CHECK_FALSE(finished);
  CHECK(logged(ctx, "info: the writer closed " + fifo + "; waiting for the next one"));

  // The next writer, whose last line has no newline before it closes.
  w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
  REQUIRE(w >= 0);
  t = now_s();
  write_all(w, line(t - 0.5) + line(t - 0.25));
  const std::string unterminated = line(t).substr(0, line(t).size() - 1);
  write_all(w, unterminated);
  ::close(w);
  auto second = reading_with(7, 5s);
  REQUIRE(second);
  CHECK(second->wh == 7.0);
  CHECK_FALSE(finished);
  CHECK(longest_call < 250ms);  // read() never waited for the writer (it would have hung)

  // Readings come one interval apart, ts = the start of the trailing hour.
  REQUIRE(all.size() >= 3);
  for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i].ts_ms - all[i - 1].ts_ms == 1000);
  src->stop();
  CHECK(logged(ctx, "info: stopped after "));
}

TEST_CASE("gpio_meter live: no impulse for silent_after is trouble until the next one", "[gpio_meter][stages][fifo]") {
  live_fifo live({{"silent_after", milliseconds{2000}}});
  fake_context& ctx = live.ctx;
  // Reads as the runtime would until `done`, at most `limit` and 100 000 calls.
  auto read_until = [&](auto done, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (int calls = 0; calls < 100'000 && std::chrono::steady_clock::now() < deadline && !done(); ++calls) {
      std::vector<reading> out;
      const read_result r = live.src->read(out, 100);
      if (out.empty()) std::this_thread::sleep_for(r.wait);
    }
    return done();
  };
  const std::string check = " (silent_after 2s): is the program writing " + live.fifo +
                            " still running, and its sensor on the meter?";

  // No writer: silent since counting began, told once over two seconds have gone.
  REQUIRE(read_until([&] { return !ctx.troubles_.empty(); }, 10s));
  CHECK(ctx.gauges_.at("meter_silence_seconds") >= 2.0);
  CHECK(ctx.troubles_.back() == "no impulse since counting began" + check);
  CHECK(logged(ctx, "warning: no impulse since counting began" + check));

  // An impulse now: fine again at the next reading.
  const int w = ::open(live.fifo.c_str(), O_WRONLY | O_NONBLOCK);
  REQUIRE(w >= 0);
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const std::string line = std::to_string(now.tv_sec) + "\n";
  const auto written = std::chrono::steady_clock::now();
  REQUIRE(::write(w, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
  REQUIRE(read_until([&] { return ctx.troubles_.size() == 2; }, 10s));
  CHECK(ctx.troubles_.back().empty());
  // Since the impulse (stamped up to a second before it was written), not the 2 s and more before it.
  const std::chrono::duration<double> since_written = std::chrono::steady_clock::now() - written;
  CHECK(ctx.gauges_.at("meter_silence_seconds") <= since_written.count() + 1.5);
  CHECK(logged(ctx, "info: impulses again, after a silence of over 2s"));

  // Silent again: since that impulse, at its local time.
  REQUIRE(read_until([&] { return ctx.troubles_.size() == 3; }, 10s));
  CHECK_THAT(ctx.troubles_.back(), StartsWith("no impulse since 20") && Contains(check));
  ::close(w);
  live.src->stop();
}

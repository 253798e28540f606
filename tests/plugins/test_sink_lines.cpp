// The console and file sinks' text lines with message templates, as built
// (.so): the line of each kind of alert someone wrote, the standard line
// where they wrote none, one line per event whatever a template or a meter
// name holds, and the option errors. The standard line itself:
// test_alert_lines.cpp.
#include "plugin_harness.hpp"

#include <cstdio>
#include <fstream>

#include <unistd.h>

using namespace stream_smarts;
using namespace stream_smarts::testing;

namespace {

// gpio_meter's reading of 02:10 (+01:00, fake_context's zone): the trailing
// hour 02:10 .. 03:10, read at 03:10, unusual since 03:01.
alert sample(alert_kind kind, const std::string& meter = "home") {
  const fixed_zone zone(3600);
  alert a;
  a.kind = kind;
  a.threshold = 1.0;
  reading& r = a.scored.reading;
  r.meter = meter;
  r.ts_ms = zone.to_utc_ms(civil_time{2024, 6, 9, 2, 10, 0, 0});
  r.span_ms = 3600000;
  r.local = zone.local(r.ts_ms);
  r.wh = 900;
  a.scored.score = 1.2;
  a.scored.expected_hi = 750;
  a.scored.scorer = "left_on";
  a.since_ms = zone.to_utc_ms(civil_time{2024, 6, 9, 3, 1, 0, 0});
  return a;
}

const std::vector<alert> every_kind{sample(alert_kind::raised), sample(alert_kind::reminder),
                                    sample(alert_kind::resolved), sample(alert_kind::none)};

/// What a file sink with `given` options appends for `alerts`.
std::string file_lines(std::map<std::string, option_value> given, const std::vector<alert>& alerts) {
  const auto& d = load(FILE_PLUGIN);
  temp_dir dir;
  given["path"] = std::string("alerts.log");
  fake_context ctx(d, std::move(given), dir.path);
  write_through(*d.make_sink(ctx), alerts);
  return dir.read("alerts.log");
}

/// What a console sink on stderr with `given` options prints for `alerts`.
std::string console_lines(std::map<std::string, option_value> given, const std::vector<alert>& alerts) {
  const auto& d = load(CONSOLE_PLUGIN);
  temp_dir dir;
  given["stream"] = std::string("stderr");
  fake_context ctx(d, std::move(given), dir.path);
  return stderr_of(dir, [&] { write_through(*d.make_sink(ctx), alerts); });
}

const std::string standard_lines =
    "[2024-06-09 home left_on] Unusual power usage of 900 Wh at 02:10, since 03:01 (score 1.20). Please check!\n"
    "[2024-06-09 home left_on] Still unusual power usage of 900 Wh at 02:10, since 03:01 (score 1.20). Please check!\n"
    "[2024-06-09 home left_on] Power usage back to normal: 900 Wh at 02:10, unusual since 03:01 (score 1.20).\n"
    "[2024-06-09 home left_on] Power usage of 900 Wh at 02:10, since 03:01 (score 1.20).\n";

const std::map<std::string, option_value> three_messages{
    {"message", std::string("Unusual power usage since {since}: {wh} Wh in the hour to {end}.")},
    {"reminder_message", std::string("{meter}: still {wh} Wh in the hour to {end}, since {since}.")},
    {"resolved_message", std::string("{date} {meter} {status} at {end} ({scorer}, score {score}).")},
};

} // namespace

TEST_CASE("file and console sinks write each kind of alert with its message and the standard line without",
          "[stages][lines]") {
  CHECK(file_lines({}, every_kind) == standard_lines);
  CHECK(console_lines({}, every_kind) == standard_lines);
  // A reading that is no alert (receive = "all") keeps the standard line:
  // the messages are about unusual usage.
  const std::string expected =
      "Unusual power usage since 3:01: 900 Wh in the hour to 3:10.\n"
      "home: still 900 Wh in the hour to 3:10, since 3:01.\n"
      "2024-06-09 home back to normal at 3:10 (left_on, score 1.20).\n"
      "[2024-06-09 home left_on] Power usage of 900 Wh at 02:10, since 03:01 (score 1.20).\n";
  CHECK(file_lines(three_messages, every_kind) == expected);
  CHECK(console_lines(three_messages, every_kind) == expected);
}

TEST_CASE("a kind without its message keeps the standard line", "[stages][lines]") {
  const std::string lines = file_lines({{"message", std::string("{status} at {end}")}}, every_kind);
  CHECK(lines ==
        "unusual at 3:10\n"
        "[2024-06-09 home left_on] Still unusual power usage of 900 Wh at 02:10, since 03:01 (score 1.20). Please check!\n"
        "[2024-06-09 home left_on] Power usage back to normal: 900 Wh at 02:10, unusual since 03:01 (score 1.20).\n"
        "[2024-06-09 home left_on] Power usage of 900 Wh at 02:10, since 03:01 (score 1.20).\n");
}

TEST_CASE("a message line is one line whatever the meter name or the template holds", "[stages][lines]") {
  // A meter name from a Kafka key, and line breaks and an escape sequence
  // written in the template, escaped as in the standard line.
  const std::vector<alert> forged{sample(alert_kind::raised, "home\n[2024-06-09 home left_on] all fine\r\x1b[2K")};
  const std::map<std::string, option_value> given{{"message", std::string("{meter}:\n{wh} Wh\t\x1b[31m!")}};
  const std::string expected = "home\\n[2024-06-09 home left_on] all fine\\r\\x1b[2K:\\n900 Wh\t\\x1b[31m!\n";
  CHECK(file_lines(given, forged) == expected);
  CHECK(console_lines(given, forged) == expected);
  // The standard line escapes the meter name the same way.
  CHECK(file_lines({}, forged) ==
        "[2024-06-09 home\\n[2024-06-09 home left_on] all fine\\r\\x1b[2K left_on] Unusual power usage of 900 Wh at "
        "02:10, since 03:01 (score 1.20). Please check!\n");
}

TEST_CASE("file and console sinks refuse a bad message and a message with format json", "[stages][lines]") {
  for (const char* plugin : {FILE_PLUGIN, CONSOLE_PLUGIN}) {
    const auto& d = load(plugin);
    INFO(d.info.name);
    const auto error_of = [&](std::map<std::string, option_value> given) {
      return option_error_of([&] {
        given["path"] = std::string("alerts.log");
        if (d.info.name == "console") given.erase("path");
        temp_dir dir;
        fake_context ctx(d, std::move(given), dir.path);
        d.make_sink(ctx);
      });
    };
    CHECK(error_of({{"resolved_message", std::string("back at {ends}")}}) ==
          "resolved_message: unknown field {ends}; the fields are {wh}, {hour}, {time}, {date}, {score}, "
          "{expected_lo}, {expected_hi}, {expected_unit}, {expected_unit_words}, {scorer}, {meter}, {since}, {end}, "
          "{status} ({{ and }} for literal braces)");
    CHECK(error_of({{"message", std::string("")}}).rfind("message: is empty; write the text to send", 0) == 0);
    CHECK(error_of({{"format", std::string("json")}, {"reminder_message", std::string("{wh}")}}) ==
          "reminder_message: is for format = \"text\"; a JSON line has every field already");
    CHECK(error_of({{"format", std::string("json")}}) == "no error");
  }
}

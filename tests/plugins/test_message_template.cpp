// The notification sinks' texts: templates, their fields, their errors, and
// the default messages of each kind of alert.
#include "fixed_zone.hpp"

#include <messages.hpp>

#include <catch2/catch.hpp>

using namespace stream_smarts;
using namespace stream_smarts::notification;
using stream_smarts::testing::fixed_zone;

namespace {

const fixed_zone paris_winter(3600);

std::int64_t local_ms(int day, int hour, int minute = 0) {
  return paris_winter.to_utc_ms(civil_time{2007, 1, day, hour, minute, 0, 0});
}

// 1500.4 Wh at 2007-01-14 04:00 (+01:00), band [100, 360].
alert sample(alert_kind kind = alert_kind::raised) {
  alert a;
  a.kind = kind;
  reading& r = a.scored.reading;
  r.meter = "home";
  r.ts_ms = local_ms(14, 4);
  r.local = paris_winter.local(r.ts_ms);
  r.wh = 1500.4;
  a.scored.score = 5.3861;
  a.scored.expected_lo = 100;
  a.scored.expected_hi = 360.2;
  a.scored.scorer = "band";
  a.since_ms = r.ts_ms;
  return a;
}

std::string render(std::string_view text, const alert& a = sample()) {
  return message_template("message", text).render(a, paris_winter);
}

std::string error_of(std::string_view text) {
  try {
    message_template("message", text);
  } catch (const option_error& e) {
    return e.option() + ": " + e.what();
  }
  return "no error";
}

/// The options a sink declaring these gets by default, plus `given`.
stream_smarts::options defaults(std::vector<option_spec> specs, std::map<std::string, option_value> given = {}) {
  std::map<std::string, option_value, std::less<>> values;
  for (const auto& s : specs) values[s.name] = s.default_value;
  for (auto& [k, v] : given) values[k] = v;
  return stream_smarts::options(std::move(values));
}

} // namespace

TEST_CASE("every field", "[notification]") {
  CHECK(render("{wh}|{hour}|{time}|{date}|{score}|{expected_lo}|{expected_hi}|{expected_unit}|{expected_unit_words}|"
               "{scorer}|{meter}|{since}|{end}|{status}") ==
        "1500|4|4:00|2007-01-14|5.39|100|360|Wh|watt hours|band|home|4:00|4:00|unusual");
}

TEST_CASE("{end} is when the reading's span ends: a trailing hour read at 1:10", "[notification]") {
  alert a = sample();
  reading& r = a.scored.reading;
  r.ts_ms = local_ms(14, 0, 10);
  r.local = paris_winter.local(r.ts_ms);
  r.span_ms = 3'600'000;
  CHECK(render("{time} to {end}", a) == "0:10 to 1:10");
  r.span_ms = 0;  // a reading that does not say its span: a moment
  CHECK(render("{time} to {end}", a) == "0:10 to 0:10");
}

TEST_CASE("{expected_unit} says what the range is in", "[notification]") {
  alert a = sample();
  a.scored.unit = band_unit::w;  // power_step judges power, not the hour's energy
  CHECK(render("more than {expected_hi} {expected_unit}", a) == "more than 360 W");
  CHECK(render("up to {expected_hi} {expected_unit_words}", a) == "up to 360 watts");
}

TEST_CASE("times are written as people write them", "[notification]") {
  alert a = sample();
  a.scored.reading.local = paris_winter.local(local_ms(14, 16, 30));
  a.since_ms = local_ms(13, 22);
  CHECK(render("{time} {hour} since {since}", a) == "16:30 16 since 22:00");
  a.scored.reading.local = paris_winter.local(local_ms(14, 0, 5));
  CHECK(render("{time} {hour}", a) == "0:05 0");
}

TEST_CASE("{since} says its date once the usage began a day or more before the reading", "[notification]") {
  alert a = sample(alert_kind::reminder);
  a.since_ms = a.scored.reading.ts_ms - 23 * 3'600'000;
  CHECK(render("since {since}", a) == "since 5:00");
  a.since_ms = a.scored.reading.ts_ms - 50 * 3'600'000;
  CHECK(render("since {since}", a) == "since 2:00 on 2007-01-12");
}

TEST_CASE("{since} without an episode start is the reading's own time", "[notification]") {
  alert a = sample();
  a.since_ms = 0;
  CHECK(render("since {since}", a) == "since 4:00");
}

TEST_CASE("numbers are rounded, never -0", "[notification]") {
  alert a = sample();
  a.scored.reading.wh = 1499.6;
  a.scored.expected_lo = -0.3;
  a.scored.score = -0.001;
  CHECK(render("{wh} {expected_lo} {score}", a) == "1500 0 0.00");
}

TEST_CASE("{{ and }} are literal braces, and other text is kept as written", "[notification]") {
  CHECK(render("{{wh}} = {wh} }} {{") == "{wh} = 1500 } {");
  CHECK(render("no fields, ünïcode ⚡") == "no fields, ünïcode ⚡");
}

TEST_CASE("template errors name the problem", "[notification]") {
  const std::string fields = "{wh}, {hour}, {time}, {date}, {score}, {expected_lo}, {expected_hi}, {expected_unit}, "
                             "{expected_unit_words}, "
                             "{scorer}, {meter}, {since}, {end}, {status}";
  CHECK(error_of("{kwh} at {time}") ==
        "message: unknown field {kwh}; the fields are " + fields + " ({{ and }} for literal braces)");
  CHECK(error_of("{}") == "message: unknown field {}; the fields are " + fields + " ({{ and }} for literal braces)");
  CHECK(error_of("at {time") == "message: '{' at character 4 is not closed; write {{ for a literal brace");
  CHECK(error_of("{wh {time}") == "message: '{' at character 1 is not closed; write {{ for a literal brace");
  CHECK(error_of("a } b") == "message: '}' at character 3 closes nothing; write }} for a literal brace");
  CHECK(error_of("") == "message: is empty; write the text to send, e.g. with " + fields);
  CHECK(error_of(" \t\n") == "message: is only blanks; write the text to send, e.g. with " + fields);
  // Characters, not bytes: a user counts "日本語 }" as five.
  CHECK(error_of("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E }") ==
        "message: '}' at character 5 closes nothing; write }} for a literal brace");
}

TEST_CASE("written defaults, one per kind", "[notification]") {
  const messages m(defaults(message_options(written)), paris_winter);
  CHECK(m.render(sample())->message == "Unusual power usage of 1500 Wh at 4:00. Please check!");
  alert later = sample(alert_kind::reminder);
  later.scored.reading.local = paris_winter.local(local_ms(14, 7));
  CHECK(m.render(later)->message == "Power usage has been unusual since 4:00: 1500 Wh at 7:00. Please check!");
  later.kind = alert_kind::resolved;
  later.scored.reading.wh = 210;
  CHECK(m.render(later)->message == "Power usage back to normal: 210 Wh at 7:00 (unusual since 4:00).");
  CHECK(m.render(sample())->title.empty());  // no title option declared
}

TEST_CASE("spoken defaults sound right aloud", "[notification]") {
  const messages m(defaults(message_options(spoken)), paris_winter);
  CHECK(m.render(sample())->message ==
        "Unusual power use: 1500 watt hours in the hour from 4:00, where up to 360 watt hours is usual. "
        "Did you leave something on?");
  alert later = sample(alert_kind::reminder);
  later.scored.reading.local = paris_winter.local(local_ms(14, 6));
  CHECK(m.render(later)->message ==
        "Power use has been unusual since 4:00: 1500 watt hours in the hour from 6:00. Did you leave something on?");
  later.kind = alert_kind::resolved;
  CHECK(m.render(later)->message == "Power use is back to normal, after being unusual since 4:00.");
}

TEST_CASE("a scored reading that is not an alert makes no notification", "[notification]") {
  const messages m(defaults(message_options(written)), paris_winter);
  CHECK_FALSE(m.render(sample(alert_kind::none)).has_value());
}

TEST_CASE("own texts and a title", "[notification]") {
  std::vector<option_spec> specs = message_options(written);
  specs.push_back(title_option("Power usage {status} at {meter}"));
  const messages own(defaults(specs, {{"resolved_message", std::string("{meter} fine again")}}), paris_winter);
  const auto text = own.render(sample(alert_kind::resolved));
  CHECK(text->title == "Power usage back to normal at home");
  CHECK(text->message == "home fine again");
  // One title tells the three kinds apart on a lock screen.
  CHECK(own.render(sample(alert_kind::raised))->title == "Power usage unusual at home");
  CHECK(own.render(sample(alert_kind::reminder))->title == "Power usage still unusual at home");
  // Each template is checked under its own option's name.
  try {
    messages(defaults(specs, {{"title", std::string("{watts}")}}), paris_winter);
    FAIL("no error");
  } catch (const option_error& e) {
    CHECK(e.option() == "title");
  }
}

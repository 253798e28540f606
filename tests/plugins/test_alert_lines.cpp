// The console and file sinks' lines: exact text and JSON, and JSON escaping.
#include "fixed_zone.hpp"

#include <common/alert_lines.hpp>

#include <catch2/catch.hpp>

#include <limits>

using namespace stream_smarts;
using namespace stream_smarts::alert_lines;
using stream_smarts::testing::fixed_zone;

namespace {

// 2007-01-14 04:00 at +01:00 (a Sunday).
alert sample(alert_kind kind = alert_kind::raised) {
  const fixed_zone zone(3600);
  alert a;
  a.kind = kind;
  a.threshold = 1.0;
  reading& r = a.scored.reading;
  r.meter = "home";
  r.ts_ms = zone.to_utc_ms(civil_time{2007, 1, 14, 4, 0, 0, 0});
  r.local = zone.local(r.ts_ms);
  r.wh = 1500.4;
  a.scored.score = 5.4614;
  a.scored.expected_lo = 128;
  a.scored.expected_hi = 375.25;
  a.scored.scorer = "band";
  return a;
}

std::string text(const alert& a) {
  std::string out;
  append_text_line(out, a, fixed_zone(3600));
  return out;
}

std::string json_of(const alert& a) {
  std::string out;
  append_json_line(out, a);
  return out;
}

std::string escaped(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

} // namespace

TEST_CASE("text line for an alert", "[console]") {
  CHECK(text(sample()) == "[2007-01-14 home band] Unusual power usage of 1500 Wh at 04:00 (score 5.46). Please check!\n");
}

TEST_CASE("text line: a meter's line break or terminal escape cannot forge or hide a line", "[console]") {
  // As a Kafka key can carry: the JSON lines escape it already.
  alert a = sample();
  a.scored.reading.meter = "flat 1\n[2007-01-14 home band] Unusual\x1b[31m\r";
  CHECK(text(a) == "[2007-01-14 flat 1\\n[2007-01-14 home band] Unusual\\x1b[31m\\r band] Unusual power usage of "
                   "1500 Wh at 04:00 (score 5.46). Please check!\n");
}

TEST_CASE("text line for a reading that is not an alert", "[console]") {
  alert a = sample(alert_kind::none);
  a.scored.reading.wh = 799.6;
  a.scored.score = 0.4249;
  a.scored.reading.local.hour = 9;
  CHECK(text(a) == "[2007-01-14 home band] Power usage of 800 Wh at 09:00 (score 0.42).\n");
}

TEST_CASE("text lines for a reminder and an all-clear say which they are", "[console]") {
  alert a = sample(alert_kind::reminder);
  a.since_ms = a.scored.reading.ts_ms - 3'600'000;
  CHECK(text(a) ==
        "[2007-01-14 home band] Still unusual power usage of 1500 Wh at 04:00, since 03:00 (score 5.46). Please check!\n");
  a.kind = alert_kind::resolved;
  a.scored.reading.wh = 200;
  a.scored.score = 0.38;
  CHECK(text(a) == "[2007-01-14 home band] Power usage back to normal: 200 Wh at 04:00, unusual since 03:00 (score 0.38).\n");
}

TEST_CASE("text line for usage that began at another time than the reading says since when", "[console]") {
  alert a = sample();
  a.since_ms = a.scored.reading.ts_ms - 3 * 3'600'000;  // a rise that has stayed up since 01:00
  CHECK(text(a) ==
        "[2007-01-14 home band] Unusual power usage of 1500 Wh at 04:00, since 01:00 (score 5.46). Please check!\n");
  a.since_ms = a.scored.reading.ts_ms;  // began with this reading: nothing to add
  CHECK(text(a) == "[2007-01-14 home band] Unusual power usage of 1500 Wh at 04:00 (score 5.46). Please check!\n");
  a.since_ms = a.scored.reading.ts_ms + 3'600'000 - 9 * 60'000;  // a Pi's trailing hour from 04:00: a step at 04:51
  CHECK(text(a) ==
        "[2007-01-14 home band] Unusual power usage of 1500 Wh at 04:00, since 04:51 (score 5.46). Please check!\n");
  a.since_ms = a.scored.reading.ts_ms - 50 * 3'600'000;  // a spell of two days
  CHECK(text(a) == "[2007-01-14 home band] Unusual power usage of 1500 Wh at 04:00, since 02:00 on 2007-01-12 (score "
                   "5.46). Please check!\n");
}

TEST_CASE("text lines append", "[console]") {
  std::string out;
  const fixed_zone zone(3600);
  append_text_line(out, sample(), zone);
  append_text_line(out, sample(alert_kind::none), zone);
  CHECK(out ==
        "[2007-01-14 home band] Unusual power usage of 1500 Wh at 04:00 (score 5.46). Please check!\n"
        "[2007-01-14 home band] Power usage of 1500 Wh at 04:00 (score 5.46).\n");
}

TEST_CASE("JSON line says since when only for usage that began at another time than the reading", "[console]") {
  alert a = sample();
  a.since_ms = a.scored.reading.ts_ms - 3 * 3'600'000;
  CHECK_THAT(json_of(a), Catch::EndsWith(",\"threshold\":1,\"since_ms\":1168732800000,\"labels\":{}}\n"));
  a.since_ms = a.scored.reading.ts_ms;
  CHECK_THAT(json_of(a), Catch::EndsWith(",\"threshold\":1,\"labels\":{}}\n"));
  a.since_ms = a.scored.reading.ts_ms + 60'000;
  CHECK_THAT(json_of(a), Catch::EndsWith(",\"threshold\":1,\"since_ms\":1168743660000,\"labels\":{}}\n"));
}

TEST_CASE("JSON line says still_on only when the scorer says the rise is still there", "[console]") {
  alert a = sample(alert_kind::none);
  CHECK(json_of(a).find("still_on") == std::string::npos);
  a.scored.still_on = true;
  CHECK_THAT(json_of(a), Catch::EndsWith(",\"alert\":\"none\",\"threshold\":1,\"still_on\":true,\"labels\":{}}\n"));
}

TEST_CASE("JSON line: labels always, {} if none", "[console]") {
  CHECK(json_of(sample()) ==
        "{\"ts\":\"2007-01-14T04:00:00+01:00\",\"ts_ms\":1168743600000,\"meter\":\"home\",\"hour\":4,"
        "\"wh\":1500.4,\"score\":5.4614,\"expected_lo\":128,\"expected_hi\":375.25,\"scorer\":\"band\","
        "\"alert\":\"raised\",\"threshold\":1,\"labels\":{}}\n");
}

TEST_CASE("JSON line says the reading's span and a range not in Wh", "[console]") {
  alert a = sample();
  a.scored.reading.span_ms = 3'600'000;  // a trailing hour: a consumer can tell when it ended
  a.scored.unit = band_unit::w;          // power_step judges power
  CHECK(json_of(a) ==
        "{\"ts\":\"2007-01-14T04:00:00+01:00\",\"ts_ms\":1168743600000,\"span_ms\":3600000,\"meter\":\"home\","
        "\"hour\":4,\"wh\":1500.4,\"score\":5.4614,\"expected_lo\":128,\"expected_hi\":375.25,"
        "\"expected_unit\":\"W\",\"scorer\":\"band\",\"alert\":\"raised\",\"threshold\":1,\"labels\":{}}\n");
}

TEST_CASE("JSON line with labels and a non-alert", "[console]") {
  alert a = sample(alert_kind::none);
  a.scored.reading.labels = {{"label", "heater"}, {"note", "say \"hi\""}};
  CHECK(json_of(a) ==
        "{\"ts\":\"2007-01-14T04:00:00+01:00\",\"ts_ms\":1168743600000,\"meter\":\"home\",\"hour\":4,"
        "\"wh\":1500.4,\"score\":5.4614,\"expected_lo\":128,\"expected_hi\":375.25,\"scorer\":\"band\","
        "\"alert\":\"none\",\"threshold\":1,\"labels\":{\"label\":\"heater\",\"note\":\"say \\\"hi\\\"\"}}\n");
}

TEST_CASE("JSON line with a negative offset and an awkward meter", "[console]") {
  const fixed_zone zone(-8 * 3600);
  alert a = sample();
  a.scored.reading.local = zone.local(a.scored.reading.ts_ms);
  a.scored.reading.meter = "flat \"2\"\n";
  a.scored.score = std::numeric_limits<double>::infinity();
  const std::string line = json_of(a);
  CHECK(line.rfind("{\"ts\":\"2007-01-13T19:00:00-08:00\",\"ts_ms\":1168743600000,\"meter\":\"flat \\\"2\\\"\\n\","
                   "\"hour\":19,",
                   0) == 0);
  CHECK(line.find("\"score\":null,") != std::string::npos);  // JSON has no infinity
}

TEST_CASE("JSON escaping", "[console]") {
  CHECK(escaped("") == "\"\"");
  CHECK(escaped("plain") == "\"plain\"");
  CHECK(escaped("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(escaped("\n\t\r\b\f") == "\"\\n\\t\\r\\b\\f\"");
  CHECK(escaped(std::string_view("\0\x1f", 2)) == "\"\\u0000\\u001f\"");
  CHECK(escaped("/ \x7f") == "\"/ \x7f\"");
  CHECK(escaped("\xC3\xA9t\xC3\xA9") == "\"\xC3\xA9t\xC3\xA9\"");  // UTF-8 passes through
  CHECK(escaped("\xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBD \xF4\x8F\xBF\xBF") ==
        "\"\xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBD \xF4\x8F\xBF\xBF\"");
}

TEST_CASE("JSON output stays valid UTF-8 whatever bytes a label had", "[console]") {
  // A Latin-1 label in a replayed CSV made the console's and the Kafka
  // sink's JSON invalid (docs/reliability.md, invalid UTF-8).
  CHECK(escaped("caf\xE9") == "\"caf\\ufffd\"");                        // Latin-1
  CHECK(escaped("\xFF\xFE") == "\"\\ufffd\\ufffd\"");                   // not a lead byte
  CHECK(escaped("\x80x") == "\"\\ufffdx\"");                            // a lone continuation byte
  CHECK(escaped("a\xC3") == "\"a\\ufffd\"");                            // cut short at the end
  CHECK(escaped("\xE2\x82x") == "\"\\ufffd\\ufffdx\"");                 // cut short in the middle
  CHECK(escaped("\xC0\xAF") == "\"\\ufffd\\ufffd\"");                   // overlong '/'
  CHECK(escaped("\xE0\x80\xAF") == "\"\\ufffd\\ufffd\\ufffd\"");          // overlong, 3 bytes
  CHECK(escaped("\xED\xA0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");          // a surrogate
  CHECK(escaped("\xF4\x90\x80\x80") == "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // past U+10FFFF
}

TEST_CASE("JSON numbers are the shortest round-trip form", "[console]") {
  std::string out;
  append_json_number(out, 0.1);
  out += ' ';
  append_json_number(out, 1500.0);
  out += ' ';
  append_json_number(out, -2.5e-7);
  out += ' ';
  append_json_number(out, std::nan(""));
  CHECK(out == "0.1 1500 -2.5e-07 null");
}

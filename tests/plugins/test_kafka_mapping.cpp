// The Kafka source's pure parts: payload fields -> reading (the original's
// {"hour", "kwh"} records, timestamps, meters, labels, every rejection), the
// at-least-once offset bookkeeping, and the Kafka sink's payloads.
#include "alert_format.hpp"
#include "fixed_zone.hpp"
#include "offset_tracker.hpp"
#include "payload.hpp"
#include "reading_mapping.hpp"

#include <zone.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <limits>

using namespace stream_smarts;
using namespace stream_smarts::kafka_source;
using stream_smarts::testing::fixed_zone;

namespace {

constexpr std::int64_t utc(int y, int mo, int d, int h, int mi = 0, int s = 0) {
  return utc_ms_of(civil_time{y, mo, d, h, mi, s, 0});
}

options mapping_options(std::string wh = "wh", std::string ts = "", std::string hour = "", std::string meter_field = "",
                        std::string wh_unit = "Wh") {
  return options({{"wh_field", wh},
                  {"wh_unit", wh_unit},
                  {"ts_field", ts},
                  {"hour_field", hour},
                  {"meter_field", meter_field},
                  {"meter", std::string("home")},
                  {"span", std::chrono::milliseconds{3'600'000}}});
}

struct mapped {
  bool ok;
  reading r;
  std::string why;
};

mapped map_json(const options& o, std::string_view payload, message_meta meta, const time_zone& zone) {
  auto decoder = make_json_decoder();
  std::vector<payload_field> fields;
  mapped out{false, {}, {}};
  if (!decoder->decode(payload, fields, out.why)) return out;
  out.ok = reading_mapping(o).map(fields, meta, zone, out.r, out.why);
  return out;
}

std::string reason(const options& o, std::string_view payload, message_meta meta = {"", utc(2024, 1, 10, 9, 30)}) {
  const fixed_zone zone(3600);
  const mapped m = map_json(o, payload, meta, zone);
  REQUIRE_FALSE(m.ok);
  return m.why;
}

} // namespace

TEST_CASE("the original record {hour, kwh}: Wh from kwh, the hour from the payload, the day from the message") {
  const fixed_zone paris_winter(3600);
  const auto o = mapping_options("kwh", "", "hour");
  // Message written at 09:30 local: hour 4 is 04:00 that same day...
  auto m = map_json(o, R"({"hour": 4, "kwh": 1500})", {"flat-7", utc(2024, 1, 10, 8, 30)}, paris_winter);
  REQUIRE(m.ok);
  CHECK(m.r.wh == 1500);
  CHECK(m.r.ts_ms == utc(2024, 1, 10, 3));  // 04:00 at UTC+1
  CHECK(m.r.meter == "flat-7");
  CHECK(m.r.labels.empty());
  // ...and hour 23 is the evening before.
  m = map_json(o, R"({"hour": 23.0, "kwh": 300.5})", {"", utc(2024, 1, 10, 8, 30)}, paris_winter);
  REQUIRE(m.ok);
  CHECK(m.r.ts_ms == utc(2024, 1, 9, 22));
  CHECK(m.r.meter == "home");
}

TEST_CASE("the hour of day is found across a daylight-saving change") {
  const auto paris = runtime::load_time_zone("Europe/Paris");
  // 2024-03-31 02:00 local does not exist; at 05:00 local (03:00 UTC) hour 1 is 01:00 CET = 00:00 UTC.
  CHECK(start_of_latest_hour(utc(2024, 3, 31, 3), 1, *paris) == utc(2024, 3, 31, 0));
  CHECK(start_of_latest_hour(utc(2024, 3, 31, 3), 4, *paris) == utc(2024, 3, 31, 2));
  // Autumn: 02:00 happens twice; 03:30 CET (02:30 UTC) -> the latest 02:00, 01:00 UTC.
  CHECK(start_of_latest_hour(utc(2024, 10, 27, 2, 30), 2, *paris) == utc(2024, 10, 27, 1));
  CHECK(paris->local(start_of_latest_hour(utc(2024, 10, 27, 2, 30), 0, *paris)).hour == 0);
}

TEST_CASE("time from a ts field (ISO-8601 or epoch ms), meter from a field, other fields as labels") {
  const fixed_zone zone(0);
  const auto o = mapping_options("wh", "ts", "", "house");
  auto m = map_json(o, R"({"ts": "2024-01-10T04:00:00Z", "wh": 2, "house": "b12", "phase": 3, "note": null})",
                    {"key-ignored", std::nullopt}, zone);
  REQUIRE(m.ok);
  CHECK(m.r.ts_ms == utc(2024, 1, 10, 4));
  CHECK(m.r.span_ms == 3'600'000);  // the source's `span`: messages do not say
  CHECK(m.r.meter == "b12");
  REQUIRE(m.r.labels.size() == 1);
  CHECK(m.r.labels[0].key == "phase");
  CHECK(m.r.labels[0].value == "3");
  m = map_json(o, R"({"ts": 1704859200000, "wh": 2})", {"", std::nullopt}, zone);
  REQUIRE(m.ok);
  CHECK(m.r.ts_ms == 1704859200000);
  CHECK(m.r.meter == "home");
}

TEST_CASE("a keyed message is never another house's 'home': a meter_field number is its value, absent or null is the key") {
  const fixed_zone zone(0);
  const auto o = mapping_options("wh", "ts", "", "meter");
  const auto meter_of = [&](std::string_view payload, std::string key) {
    const auto m = map_json(o, payload, {std::move(key), std::nullopt}, zone);
    REQUIRE(m.ok);
    return m.r.meter;
  };
  CHECK(meter_of(R"({"ts": 1704859200000, "wh": 2, "meter": "house-1"})", "h1") == "house-1");
  CHECK(meter_of(R"({"ts": 1704859200000, "wh": 2, "meter": 2})", "h2") == "2");
  // One meter however a producer writes its number; a long id stays exact.
  CHECK(meter_of(R"({"ts": 1704859200000, "wh": 2, "meter": 2.0})", "h2") == "2");
  CHECK(meter_of(R"({"ts": 1704859200000, "wh": 2, "meter": 2e0})", "h2") == "2");
  CHECK(meter_of(R"({"ts": 1704859200000, "wh": 2, "meter": 2.50})", "h2") == "2.5");
  CHECK(meter_of(R"({"ts": 1704859200000, "wh": 2, "meter": 12345678901234567890})", "h2") == "12345678901234567890");
  CHECK(meter_of(R"({"ts": 1704859200000, "wh": 2, "meter": 1e300})", "h2") == "1e+300");
  CHECK(meter_of(R"({"ts": 1704859200000, "wh": 2})", "h3") == "h3");
  CHECK(meter_of(R"({"ts": 1704859200000, "wh": 2, "meter": null})", "h4") == "h4");
  CHECK(meter_of(R"({"ts": 1704859200000, "wh": 2, "meter": ""})", "h5") == "h5");
  CHECK(meter_of(R"({"ts": 1704859200000, "wh": 2})", "") == "home");
  CHECK(reason(o, R"({"ts": 1704859200000, "wh": 2, "meter": true})") ==
        "meter must name the meter as a string or a number, got a boolean");
}

TEST_CASE("stream-smarts's own records (kafka_sink with receive = all) read back: their labels, not their verdict") {
  const fixed_zone zone(3600);
  const auto o = mapping_options("wh", "ts", "", "meter");
  const auto m = map_json(o,
                          R"({"ts":"2024-01-10T01:10:00+01:00","ts_ms":1704845400000,"span_ms":3600000,)"
                          R"("meter":"pi","hour":1,"wh":900,"score":1.33,"expected_lo":300,"expected_hi":1800,)"
                          R"("expected_unit":"W","scorer":"switched_on","alert":"raised","threshold":1,)"
                          R"("since_ms":1704845460000,"labels":{"pulses":"900","power_w":"2300"}})",
                          {"pi", std::nullopt}, zone);
  REQUIRE(m.ok);
  CHECK(m.r.ts_ms == 1704845400000);
  CHECK(m.r.wh == 900);
  CHECK(m.r.meter == "pi");
  CHECK(m.r.span_ms == 3'600'000);
  REQUIRE(m.r.labels.size() == 2);
  CHECK(m.r.labels[0].key == "pulses");
  CHECK(m.r.labels[1].key == "power_w");
  CHECK(m.r.labels[1].value == "2300");
}

TEST_CASE("a record's own span_ms comes before the span option, and is not a label") {
  const fixed_zone zone(3600);
  const auto o = mapping_options("wh", "ts");  // span = 1h
  const auto said = map_json(o, R"({"ts":"2024-01-10T01:10:00","wh":25,"span_ms":60000,"room":"hall"})", {}, zone);
  REQUIRE(said.ok);
  CHECK(said.r.span_ms == 60000);
  REQUIRE(said.r.labels.size() == 1);
  CHECK(said.r.labels[0].key == "room");
  CHECK(map_json(o, R"({"ts":"2024-01-10T01:10:00","wh":25})", {}, zone).r.span_ms == 3'600'000);
  CHECK(map_json(o, R"({"ts":"2024-01-10T01:10:00","wh":25,"span_ms":null})", {}, zone).r.span_ms == 3'600'000);
  CHECK(map_json(o, R"({"ts":"2024-01-10T01:10:00","wh":25,"span_ms":0})", {}, zone).r.span_ms == 0);
  CHECK(reason(o, R"({"ts":"2024-01-10T01:10:00","wh":25,"span_ms":"60000"})") ==
        "span_ms must be a number, got a string");
  CHECK(reason(o, R"({"ts":"2024-01-10T01:10:00","wh":25,"span_ms":90000000})") ==
        "span_ms must be whole milliseconds from 0 to 86400000 (a day), got '90000000'");
}

TEST_CASE("Home Assistant's Kafka integration: the state a string, beside nested attributes and context") {
  const fixed_zone zone(0);
  const auto o = mapping_options("state", "last_updated", "", "", "kWh");
  const auto m = map_json(o,
                          R"({"entity_id": "sensor.house_energy", "state": "1234.567", "attributes": )"
                          R"({"unit_of_measurement": "kWh", "device_class": "energy", "friendly_name": "House"}, )"
                          R"("last_changed": "2024-01-10T08:30:00.123456+00:00", )"
                          R"("last_updated": "2024-01-10T08:30:00.123456+00:00", )"
                          R"("context": {"id": "01HM", "parent_id": null, "user_id": null}})",
                          {"sensor.house_energy", utc(2024, 1, 10, 9)}, zone);
  REQUIRE(m.ok);
  CHECK(m.r.wh == Approx(1'234'567));
  CHECK(m.r.ts_ms == utc(2024, 1, 10, 8, 30) + 123);
  CHECK(m.r.meter == "sensor.house_energy");
  // The scalars beside it are labels; the nested attributes and context are not.
  REQUIRE(m.r.labels.size() == 2);
  CHECK(m.r.labels[0].key == "entity_id");
  CHECK(m.r.labels[1].key == "last_changed");
  CHECK(reason(mapping_options("state", "", "", "attributes"), R"({"state": "1", "attributes": {"a": 1}})") ==
        "attributes must name the meter as a string or a number, got a nested object or array");
}

TEST_CASE("every rejected payload says what is wrong") {
  const auto original = mapping_options("kwh", "", "hour");
  CHECK(reason(original, "not json") == "bad JSON at column 1: expected '{'");
  CHECK(reason(original, R"({"hour": 4})") == "missing \"kwh\"");
  CHECK(reason(original, R"({"hour": 4, "kwh": "on"})") == "kwh is not a number: 'on'");
  CHECK(reason(original, R"({"hour": 4, "kwh": true})") == "kwh must be a number, got a boolean");
  CHECK(reason(original, R"({"hour": 4, "kwh": {"v": 1}})") == "kwh must be a number, got a nested object or array");
  CHECK(reason(original, R"({"hour": 4, "kwh": -3})") ==
        "kwh is negative: '-3' (energy sent to the grid? read the energy drawn from it)");
  CHECK(reason(original, R"({"hour": 4, "kwh": 1e999})") == "kwh is out of range: '1e999'");
  CHECK(reason(original, R"({"kwh": 5})") == "missing \"hour\"");
  CHECK(reason(original, R"({"hour": 24, "kwh": 5})") == "hour must be a whole hour of day 0..23, got 24");
  CHECK(reason(original, R"({"hour": 4.5, "kwh": 5})") == "hour must be a whole hour of day 0..23, got 4.5");
  CHECK(reason(original, R"({"hour": "4", "kwh": 5})") == "hour must be a whole hour of day 0..23, got a string");
  CHECK(reason(original, R"({"hour": 4, "kwh": 5})", {"", std::nullopt}) ==
        "the message has no timestamp (and no ts_field is configured)");
  const auto with_ts = mapping_options("wh", "ts");
  CHECK(reason(with_ts, R"({"wh": 5})") == "missing \"ts\"");
  CHECK(reason(with_ts, R"({"wh": 5, "ts": "yesterday"})") ==
        "bad timestamp 'yesterday' (expected ISO-8601 such as 2007-01-01T04:00:00)");
  CHECK(reason(with_ts, R"({"wh": 5, "ts": 1.5})") == "ts is not a whole number of epoch milliseconds: 1.5");
  CHECK(reason(with_ts, R"({"wh": 5, "ts": true})") ==
        "ts must be an ISO-8601 string or epoch milliseconds, got a boolean");
}

TEST_CASE("epoch seconds in a timestamp field are refused, not read as milliseconds of 1970") {
  // 2007-01-14 04:00 in seconds would be scored at 13:00 on 1970-01-14.
  const auto with_ts = mapping_options("wh", "ts");
  CHECK(reason(with_ts, R"({"wh": 5, "ts": 1168743600})") ==
        "ts is 1168743600, which as epoch milliseconds is in 1970; it looks like epoch seconds: timestamps are epoch "
        "milliseconds (1168743600000)");
  CHECK(reason(with_ts, R"({"wh": 5, "ts": 99999999999})").find("looks like epoch seconds") != std::string::npos);
  const fixed_zone zone(0);
  for (const char* ts : {"1168743600000", "1.1687436e12", "0", "3600000", "100000000000"}) {
    INFO(ts);
    const auto m = map_json(with_ts, std::string(R"({"wh": 5, "ts": )") + ts + "}", {}, zone);
    CHECK(m.ok);
  }
  CHECK(map_json(with_ts, R"({"wh": 5, "ts": 1.1687436e12})", {}, zone).r.ts_ms == 1168743600000);
}

TEST_CASE("timestamps outside years 0000 to 9999 are refused, not localized") {
  // Found by tests/fuzz/run json_reading: the local time of such an instant
  // overflowed, and the scorer's failures on it stopped the pipeline.
  const auto with_ts = mapping_options("wh", "ts");
  CHECK(reason(with_ts, R"({"wh": 5, "ts": 9e15})") ==
        "ts is out of range: 9e15 (epoch milliseconds of years 0000 to 9999)");
  CHECK(reason(with_ts, R"({"wh": 5, "ts": -1e300})") ==
        "ts is out of range: -1e300 (epoch milliseconds of years 0000 to 9999)");
  const auto original = mapping_options("kwh", "", "hour");
  CHECK(reason(original, R"({"hour": 4, "kwh": 5})", {"", INT64_MAX}) ==
        "the message timestamp is out of range: 9223372036854775807 (epoch milliseconds of years 0000 to 9999)");
  const fixed_zone zone(0);
  CHECK(map_json(with_ts, R"({"wh": 5, "ts": 253402300799999})", {}, zone).ok);
  CHECK(map_json(original, R"({"hour": 4, "kwh": 5})", {"", 253402300799999}, zone).ok);
}

TEST_CASE("a NaN or infinite Wh (an Avro float can be one) is refused like any other bad value") {
  const fixed_zone zone(0);
  const reading_mapping mapping(mapping_options("kwh", "", "hour"));
  for (const auto& [value, text] : {std::pair{std::numeric_limits<double>::quiet_NaN(), "nan"},
                                    std::pair{std::numeric_limits<double>::infinity(), "inf"},
                                    std::pair{-std::numeric_limits<double>::infinity(), "-inf"}}) {
    // What the Avro decoder hands on: the number and its text.
    const std::vector<payload_field> fields{{"hour", payload_field::kind::number, 4, "4"},
                                            {"kwh", payload_field::kind::number, value, text}};
    reading r;
    std::string why;
    CHECK_FALSE(mapping.map(fields, {"", utc(2024, 1, 10, 9, 30)}, zone, r, why));
    CHECK(why == std::string("kwh is not finite: '") + text + "'");
  }
}

TEST_CASE("offsets become committable only when their batch and every earlier one are handled") {
  offset_tracker t;
  const partition_key p0{"raw_power", 0}, p1{"raw_power", 1};
  t.read({{p0, 10}}, true);            // batch 1
  t.read({{p0, 20}, {p1, 5}}, true);   // batch 2
  t.read({{p1, 9}}, false);            // only undecodable messages: done at once, but after batch 2
  t.read({{p0, 30}}, true);            // batch 3
  CHECK(t.take_done().empty());
  CHECK(t.in_flight() == 3);
  t.handled(1);
  CHECK(t.take_done() == offsets{{p0, 10}});
  t.handled(1);
  CHECK(t.take_done() == offsets{{p0, 20}, {p1, 9}});
  CHECK(t.take_done().empty());
  t.forget(p0);  // revoked while batch 3 was in flight: its new owner re-reads it
  t.handled(1);
  CHECK(t.take_done().empty());
  CHECK(t.in_flight() == 0);
  t.read({{p1, 12}}, true);
  t.handled(1);
  t.forget(p1);  // revoked before its committable offset was taken: no longer ours to commit
  CHECK(t.take_done().empty());
}

TEST_CASE("a batch whose partitions were all revoked during its read still counts, so later commits stay in step") {
  offset_tracker t;
  const partition_key p1{"raw_power", 1};
  t.read({}, true);             // batch 1: readings went downstream, their partition is gone
  t.read({{p1, 7}}, true);      // batch 2
  t.handled(1);                 // the runtime's commit(1) is batch 1, not batch 2
  CHECK(t.take_done().empty());
  CHECK(t.in_flight() == 1);
  t.handled(1);
  CHECK(t.take_done() == offsets{{p1, 7}});
  t.read({}, false);            // nothing downstream and nothing to commit: not a batch
  CHECK(t.in_flight() == 0);
}

TEST_CASE("thousands of batches in flight behind a retrying sink keep a bounded memory, and commit no offset early") {
  offset_tracker t;
  const partition_key p0{"raw_power", 0}, p1{"raw_power", 1};
  constexpr std::int64_t reads = 10'000;
  for (std::int64_t i = 1; i <= reads; ++i) t.read({{p0, i}, {p1, 2 * i}}, true);
  CHECK(t.in_flight() == static_cast<std::size_t>(reads));
  CHECK(t.entries() == offset_tracker::most_entries);
  t.handled(100);  // within the entries kept apart: each commits as it is handled
  CHECK(t.take_done() == offsets{{p0, 100}, {p1, 200}});
  t.handled(reads - 101);  // all but the newest: the shared entry waits for it
  CHECK(t.take_done() == offsets{{p0, offset_tracker::most_entries - 1}, {p1, 2 * (offset_tracker::most_entries - 1)}});
  t.handled(1);
  CHECK(t.take_done() == offsets{{p0, reads}, {p1, 2 * reads}});
  CHECK(t.entries() == 0);
}

TEST_CASE("the ksql format is what the original query wrote to ANOMOLY_POWER") {
  alert a;
  a.scored.reading.ts_ms = utc(2024, 1, 10, 3);
  a.scored.reading.local.hour = 4;
  a.scored.reading.wh = 1500;
  a.scored.score = 5.25;
  std::string out;
  kafka_sink::append_ksql(out, a);
  CHECK(out == R"({"EVENT_TS":1704855600000,"HOUR":4,"KWH":1500,"FN":5.25})");
  // Its consumers take every row for an unusual reading: a "back to normal" is not written.
  for (const auto kind : {alert_kind::raised, alert_kind::reminder, alert_kind::none}) {
    a.kind = kind;
    CHECK(kafka_sink::ksql_writes(a));
  }
  a.kind = alert_kind::resolved;
  CHECK_FALSE(kafka_sink::ksql_writes(a));
}

TEST_CASE("a time field the mapping leaves unused is found, to be told once") {
  const fixed_zone zone(0);
  const auto by_message = mapping_options("wh", "");
  const reading_mapping m(by_message);
  const auto fields_of = [](std::string_view payload) {
    std::vector<payload_field> fields;
    std::string why;
    REQUIRE(make_json_decoder()->decode(payload, fields, why));
    return fields;
  };
  CHECK(m.unused_time_field(fields_of(R"({"wh": 5, "ts": "2007-01-14T04:00:00"})")) == "ts");
  CHECK(m.unused_time_field(fields_of(R"({"wh": 5, "timestamp": 1168743600000})")) == "timestamp");
  CHECK(m.unused_time_field(fields_of(R"({"wh": 5, "ts": null})")).empty());
  CHECK(m.unused_time_field(fields_of(R"({"wh": 5})")).empty());
  CHECK(reading_mapping(mapping_options("wh", "ts")).unused_time_field(fields_of(R"({"wh": 5, "ts": 1})")).empty());
  CHECK(reading_mapping(mapping_options("kwh", "", "hour"))  // the original schema: hour plus the message's time
            .unused_time_field(fields_of(R"({"kwh": 5, "hour": 4, "time": "x"})")).empty());
}

TEST_CASE("wh_unit = kWh reads each number as 1000 Wh") {
  const fixed_zone zone(0);
  CHECK(map_json(mapping_options("kwh", "ts", "", "", "kWh"), R"({"kwh": 1.5, "ts": 1168743600000})", {}, zone).r.wh ==
        1500);
  CHECK(map_json(mapping_options("kwh", "ts"), R"({"kwh": 1.5, "ts": 1168743600000})", {}, zone).r.wh == 1.5);
  // A number finite in kWh but not in Wh is refused, not scored as infinite.
  const auto huge = map_json(mapping_options("kwh", "ts", "", "", "kWh"), R"({"kwh": 1e307, "ts": 1168743600000})", {},
                             zone);
  CHECK_FALSE(huge.ok);
  CHECK(huge.why == "kwh is out of range: '1e307'");
}

TEST_CASE("wh_unit = W reads a mean power as the energy of the reading's span") {
  // A plug or a load curve that publishes watts: 600 W over the hour is 600 Wh,
  // over a message's own 15 minutes 150 Wh.
  const fixed_zone zone(0);
  const auto watts = mapping_options("power", "ts", "", "", "W");
  CHECK(map_json(watts, R"({"power": 600, "ts": 1168743600000})", {}, zone).r.wh == 600);
  CHECK(map_json(watts, R"({"power": 600, "ts": 1168743600000, "span_ms": 900000})", {}, zone).r.wh == 150);
  CHECK(map_json(mapping_options("power", "ts", "", "", "kW"), R"({"power": 0.6, "ts": 1168743600000, "span_ms": 900000})",
                 {}, zone).r.wh == 150);
  const auto no_time = map_json(watts, R"({"power": 600, "ts": 1168743600000, "span_ms": 0})", {}, zone);
  CHECK_FALSE(no_time.ok);
  CHECK(no_time.why == "power is a mean power (wh_unit = \"W\"), and the reading covers no time (span_ms 0): its "
                       "energy cannot be known");
}

TEST_CASE("with an index, an offset commits no further than the index a meter of its partition needs again") {
  const partition_key p{"energy", 0}, q{"energy", 1};
  index_holds holds;
  constexpr std::int64_t hour = 3'600'000;
  // No meter held yet: what is handled is committable.
  CHECK(holds.take_committable({{q, 3}}) == offsets{{q, 3}});
  holds.hold(p, "sensor.a", 10, 0);
  holds.hold(p, "sensor.b", 12, hour);
  CHECK(holds.take_committable({{p, 20}}) == offsets{{p, 10}});
  CHECK(holds.take_committable({}).empty());  // nothing new
  // sensor.a's span is complete: the handled offsets come free, up to sensor.b's.
  holds.hold(p, "sensor.a", 15, 2 * hour);
  CHECK(holds.take_committable({}) == offsets{{p, 12}});
  // A meter three hours behind its partition's newest index holds nothing more.
  holds.hold(p, "sensor.a", 19, 4 * hour + 1);
  CHECK(holds.take_committable({}) == offsets{{p, 19}});
  CHECK(holds.take_committable({{p, 25}}).empty());  // still sensor.a's 19
  // Given up: its meters are told, to be counted by the partition's new owner.
  CHECK(holds.forget(p) == std::vector<std::string>{"sensor.a", "sensor.b"});
  CHECK(holds.take_committable({{p, 30}}) == offsets{{p, 30}});
}

TEST_CASE("a partition warming up marks what it reads again, and never commits back to its committed offset") {
  using mark = warm_up_marks::mark;
  const partition_key p{"raw_power", 0}, q{"raw_power", 1};
  warm_up_marks warm;
  CHECK_FALSE(warm.any());
  warm.start(p, 100, 5000);  // committed at 100, read again from before it: what is stamped from 5000 on
  CHECK(warm.any());
  CHECK(warm.of(p, 40, 4999) == mark::too_old);
  CHECK(warm.of(p, 41, 5000) == mark::warm_up);
  CHECK(warm.of(p, 99, -1) == mark::warm_up);  // no timestamp: taken
  CHECK(warm.of(q, 5, 6000) == mark::live);    // another partition, not warming
  CHECK(warm.warming(p, 42));                  // given up now, it would need its warm-up again
  CHECK_FALSE(warm.warming(p, 100));           // read up to its committed offset: done, even with nothing after it
  CHECK_FALSE(warm.warming(q, 0));
  // Handled warm-up reads would commit 41..100: none of that goes back to the broker.
  CHECK(warm.above_floor({{p, 41}, {q, 7}}) == offsets{{q, 7}});
  CHECK(warm.above_floor({{p, 100}}).empty());
  CHECK(warm.of(p, 100, 1) == mark::live);  // the committed offset: read as new, however old
  CHECK_FALSE(warm.any());
  CHECK_FALSE(warm.warming(p, 0));
  CHECK(warm.above_floor({{p, 101}}) == offsets{{p, 101}});
  CHECK(warm.above_floor({{p, 90}}) == offsets{{p, 90}});  // past its floor once: as the tracker says
  // Revoked while warming: its new owner warms up on its own.
  warm.start(q, 50, 0);
  warm.forget(q);
  CHECK(warm.of(q, 10, 1) == mark::live);
  CHECK(warm.above_floor({{q, 20}}) == offsets{{q, 20}});
}

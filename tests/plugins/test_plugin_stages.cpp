// The three plugins as built (.so), driven through the SDK interfaces with a
// fake stage_context: option errors, reading a file to the end, scoring,
// training, writing lines. dlopen and a fake context (plugin_harness.hpp),
// not the runtime.
#include "plugin_harness.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <tuple>

#include <sys/stat.h>

using namespace stream_smarts;
using namespace stream_smarts::testing;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;

namespace {

/// Reads until the source finishes: at most `max_calls` calls and 30 s.
std::vector<reading> drain(source& s, std::size_t max, int max_calls = 1000) {
  std::vector<reading> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (int i = 0; i < max_calls && std::chrono::steady_clock::now() < deadline; ++i) {
    const std::size_t before = out.size();
    const read_result r = s.read(out, max);
    REQUIRE(out.size() - before <= max);
    if (r.finished) return out;
    if (r.wait.count() > 0) std::this_thread::sleep_for(r.wait);
  }
  FAIL("source did not finish");
  return out;
}

} // namespace

TEST_CASE("replay reads a CSV file to the end, reporting malformed lines", "[stages][replay]") {
  const auto& d = load(REPLAY_PLUGIN);
  CHECK(d.info.name == "replay");
  temp_dir dir;
  dir.write("h.csv",
            "ts,wh,label\n"
            "2007-01-01T00:00:00,100.5,\n"
            "2007-01-01T01:00:00,abc,\n"
            "\n"
            "2007-01-01T02:00:00,300,heater\n"
            "2007-01-01T03:00:00,-1,\n"
            "2007-01-01T04:00:00Z,400,\n");
  fake_context ctx(d, {{"path", std::string("h.csv")}, {"meter", std::string("flat")}}, dir.path);
  auto src = d.make_source(ctx);
  src->start();
  const auto got = drain(*src, 2);
  src->stop();

  REQUIRE(got.size() == 3);
  CHECK(got[0].meter == "flat");
  CHECK(got[0].wh == 100.5);
  CHECK(got[0].ts_ms == utc_ms_of({2006, 12, 31, 23, 0, 0, 0}));
  CHECK(got[1].labels.size() == 1);
  CHECK(got[1].labels[0].value == "heater");
  CHECK(got[2].ts_ms == utc_ms_of({2007, 1, 1, 4, 0, 0, 0}));
  const std::string file = dir.path + "/h.csv";
  CHECK(ctx.log_.lines == std::vector<std::string>{
                              "warning: " + file + ":3: wh is not a number: 'abc', line skipped",
                              "warning: " + file + ":6: wh is negative: '-1' (energy sent to the grid? "
                              "read the energy drawn from it), line skipped",
                              "info: replayed 3 readings, skipped 2 malformed lines",
                          });
  CHECK(got[0].span_ms == 3'600'000);  // an hour's energy, unless the pipeline says otherwise
}

TEST_CASE("replay logs the first 100 malformed lines, then only counts them", "[stages][replay]") {
  const auto& d = load(REPLAY_PLUGIN);
  temp_dir dir;
  std::string csv = "ts,wh\n2007-01-01T00:00:00,1\n";
  for (int i = 0; i < 150; ++i) csv += "2007-01-01T01:00:00,lots\n";
  dir.write("h.csv", csv + "2007-01-01T02:00:00,2\n");
  fake_context ctx(d, {{"path", std::string("h.csv")}}, dir.path);
  auto src = d.make_source(ctx);
  src->start();
  CHECK(drain(*src, 10).size() == 2);
  src->stop();
  const auto& lines = ctx.log_.lines;
  CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.find("line skipped") != std::string::npos; }) == 100);
  CHECK(std::count(lines.begin(), lines.end(), "warning: 100 malformed lines reported; further ones are only counted") == 1);
  CHECK(lines.back() == "info: replayed 2 readings, skipped 150 malformed lines");
}

TEST_CASE("replay gives its readings the span the pipeline says they cover", "[stages][replay]") {
  const auto& d = load(REPLAY_PLUGIN);
  temp_dir dir;
  dir.write("m.csv", "ts,wh\n2007-01-01T00:00:00,5\n2007-01-01T00:01:00,6\n");
  fake_context ctx(d, {{"path", std::string("m.csv")}, {"span", std::chrono::milliseconds{60'000}}}, dir.path);
  auto src = d.make_source(ctx);
  src->start();
  const auto got = drain(*src, 10);
  src->stop();
  REQUIRE(got.size() == 2);
  CHECK(end_ms(got[1]) == got[1].ts_ms + 60'000);
}

TEST_CASE("replay reads JSON lines and restarts from the top", "[stages][replay]") {
  const auto& d = load(REPLAY_PLUGIN);
  temp_dir dir;
  dir.write("h.ndjson", "{\"ts\":\"2007-01-01T00:00:00\",\"wh\":1}\n{\"ts\":1167613200000,\"wh\":2,\"src\":\"x\"}");
  fake_context ctx(d, {{"path", std::string("h.ndjson")}}, dir.path);
  auto src = d.make_source(ctx);
  for (int round = 0; round < 2; ++round) {
    src->start();
    const auto got = drain(*src, 100);
    src->stop();
    REQUIRE(got.size() == 2);
    CHECK(got[0].meter == "home");
    CHECK(got[1].ts_ms == 1167613200000);
    CHECK(got[1].labels[0].key == "src");
  }
}

TEST_CASE("replay reads a kWh export as Wh when told wh_unit = kWh", "[stages][replay]") {
  // Read as Wh, a 9 kWh hour at 05:00 scored -0.055 and never alerted.
  const auto& d = load(REPLAY_PLUGIN);
  temp_dir dir;
  // 1e307 kWh is no number of Wh: skipped as out of range, not scored as infinite.
  dir.write("h.csv", "ts,kwh\n2007-01-14T05:00:00,9.0\n2007-01-14T05:30:00,1e307\n2007-01-14T06:00:00,0.25\n");
  fake_context ctx(d, {{"path", std::string("h.csv")}, {"wh_field", std::string("kwh")},
                       {"wh_unit", std::string("kWh")}}, dir.path);
  auto src = d.make_source(ctx);
  src->start();
  const auto got = drain(*src, 3);
  REQUIRE(got.size() == 2);
  CHECK(got[0].wh == 9000);
  CHECK(got[1].wh == 250);
  const auto& lines = ctx.log_.lines;
  CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("h.csv:3: kwh is out of range: '1e307'") != std::string::npos;
  }));
}

TEST_CASE("replay reads a European utility export as its options say", "[stages][replay]") {
  // A Linky load curve as Enedis exports it: ';', mean W per half hour,
  // each stamped at its end; a row with a decimal comma; a missing value.
  const auto& d = load(REPLAY_PLUGIN);
  temp_dir dir;
  dir.write("linky.csv", "Horodate;Valeur\n2024-01-07T00:30:00+01:00;500\n2024-01-07T01:00:00+01:00;1250,5\n"
                         "2024-01-07T01:30:00+01:00;\n");
  fake_context ctx(d, {{"path", std::string("linky.csv")}, {"delimiter", std::string(";")},
                       {"decimal", std::string(",")}, {"ts_field", std::string("Horodate")},
                       {"wh_field", std::string("Valeur")}, {"wh_unit", std::string("W")},
                       {"span", std::chrono::milliseconds{1'800'000}}, {"ts_marks", std::string("end")}},
                   dir.path);
  auto src = d.make_source(ctx);
  src->start();
  const auto got = drain(*src, 3);
  REQUIRE(got.size() == 2);
  CHECK(got[0].ts_ms == 1704582000000);  // 2024-01-07T00:00:00+01:00
  CHECK(got[0].wh == 250);
  CHECK(got[0].span_ms == 1'800'000);
  CHECK(got[1].wh == 625.25);
  const auto& lines = ctx.log_.lines;
  CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("linky.csv:4: Valeur is empty, line skipped") != std::string::npos;
  }));
}

TEST_CASE("replay finds the header row after an export's preamble", "[stages][replay]") {
  // Enedis's file starts with its meter's description, then the curve.
  const auto& d = load(REPLAY_PLUGIN);
  temp_dir dir;
  const std::string preamble = "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Unite\n"
                               "12345678901234;Courbe de charge;01/01/2024;31/01/2024;W\n\n";
  dir.write("linky.csv", preamble + "Horodate;Valeur\n2024-01-07T00:30:00+01:00;500\n");
  const std::map<std::string, option_value> told = {
      {"path", std::string("linky.csv")}, {"delimiter", std::string(";")}, {"ts_field", std::string("Horodate")},
      {"wh_field", std::string("Valeur")}, {"wh_unit", std::string("W")}, {"span", std::chrono::milliseconds{1'800'000}},
      {"ts_marks", std::string("end")}};
  fake_context ctx(d, told, dir.path);
  auto src = d.make_source(ctx);
  src->start();
  const auto got = drain(*src, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].wh == 250);
  const auto& lines = ctx.log_.lines;
  CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("linky.csv:4: the header row, after 3 lines of preamble, which are skipped") != std::string::npos;
  }));

  // Past the first 20 lines, or never, the first line's problem is said.
  std::string long_preamble;
  for (int i = 0; i < 20; ++i) long_preamble += "note " + std::to_string(i) + "\n";
  dir.write("late.csv", long_preamble + "Horodate;Valeur\n2024-01-07T00:30:00+01:00;500\n");
  auto late = told;
  late["path"] = std::string("late.csv");
  const std::string why = option_error_of([&] {
    fake_context c(d, late, dir.path);
    d.make_source(c);
  });
  CHECK(why == "path: " + dir.path + "/late.csv:1: header row has no 'Horodate' column: 'note 0'; name its columns "
               "with ts_field and wh_field");
}

TEST_CASE("replay reads a meter's index as the use between its readings", "[stages][replay]") {
  // An Emoncms kWh feed: no header, epoch seconds, the meter's total so far.
  // The first index gives no reading; a fall is a reset counted from 0; an
  // index out of order and one more than a day on are each said and counted
  // (the next one, following it, starts the count again).
  const auto& d = load(REPLAY_PLUGIN);
  temp_dir dir;
  dir.write("feed.csv",
            "1704067200,100.000\n"   // 00:00 UTC: the first index
            "1704070800,100.250\n"   // 01:00: 250 Wh over the hour before
            "1704072600,101.250\n"   // 01:30: 1 kWh over half an hour
            "1704072000,101.500\n"   // 01:20: before the index before
            "1704074400,0.500\n"     // 02:00: a new meter, from 0: 500 Wh
            "1704078000,0.600\n"     // 03:00: 100 Wh
            "1704250800,2.600\n"     // two days on
            "1704254400,2.700\n");   // 100 Wh
  fake_context ctx(d, {{"path", std::string("feed.csv")}, {"columns", std::vector<std::string>{"ts", "wh"}},
                       {"ts_format", std::string("epoch_s")}, {"wh_unit", std::string("kWh")},
                       {"wh_kind", std::string("index")}},
                   dir.path);
  auto src = d.make_source(ctx);
  src->start();
  const auto got = drain(*src, 8);
  std::vector<std::tuple<std::int64_t, std::int64_t, double>> readings;  // (ts s, span min, Wh)
  for (const reading& r : got) readings.emplace_back(r.ts_ms / 1000, r.span_ms / 60'000, std::round(r.wh));
  CHECK(readings == std::vector<std::tuple<std::int64_t, std::int64_t, double>>{
                        {1704067200, 60, 250}, {1704070800, 30, 1000}, {1704072600, 30, 500},
                        {1704074400, 60, 100}, {1704250800, 60, 100}});
  const auto& lines = ctx.log_.lines;
  const auto logged = [&](const std::string& text) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; });
  };
  CHECK(logged("feed.csv:4: index not after the meter's index before: an index is read in time order, line skipped"));
  CHECK(logged("feed.csv:7: index 48h after the meter's index before, more than a day: the use between is not one "
               "reading; left out unless the next index follows it, line skipped"));
  CHECK(logged("feed.csv:8: index follows the one left out before it (2600 Wh): counting starts again from that one"));
  CHECK_FALSE(logged("feed.csv:8: index follows the one left out before it (2600 Wh): counting starts again from "
                     "that one, line skipped"));
  CHECK(logged("replayed 5 readings, skipped 2 malformed lines"));
  CHECK(logged("feed.csv:4: 1 reading was earlier than their meter's reading before"));
}

TEST_CASE("replay reads a Home Assistant history of an energy sensor as one reading per hour", "[stages][replay]") {
  // The History panel's "Download data": a row at each change of the sensor
  // (its total in kWh), "unavailable" while it was away.
  const auto& d = load(REPLAY_PLUGIN);
  temp_dir dir;
  dir.write("history.csv",
            "entity_id,state,last_changed\n"
            "sensor.energy,unavailable,2024-01-17T01:00:00.000Z\n"
            "sensor.energy,1000.1,2024-01-17T01:20:00.000Z\n"
            "sensor.energy,1000.3,2024-01-17T02:00:00.000Z\n"
            "sensor.energy,1000.9,2024-01-17T02:30:00.000Z\n"
            "sensor.energy,1001.2,2024-01-17T04:30:00.000Z\n");
  fake_context ctx(d, {{"path", std::string("history.csv")}, {"meter_field", std::string("entity_id")},
                       {"ts_field", std::string("last_changed")}, {"wh_field", std::string("state")},
                       {"wh_unit", std::string("kWh")}, {"wh_kind", std::string("index")}, {"resample", true},
                       {"no_reading", std::vector<std::string>{"unavailable", "unknown"}}},
                   dir.path);
  auto src = d.make_source(ctx);
  src->start();
  const auto got = drain(*src, 1);
  REQUIRE(got.size() == 2);  // 02:00-03:00 and 03:00-04:00 UTC (03:00 and 04:00 in the zone, +01:00)
  CHECK(got[0].meter == "sensor.energy");
  CHECK(got[0].ts_ms == utc_ms_of({2024, 1, 17, 2, 0, 0, 0}));
  CHECK(got[0].span_ms == 3'600'000);
  CHECK(got[0].wh == Approx(675));  // the index at 03:00 (1000.975) less that at 02:00 (1000.3), in Wh
  CHECK(got[1].ts_ms == utc_ms_of({2024, 1, 17, 3, 0, 0, 0}));
  CHECK(got[1].wh == Approx(150));
  const auto& lines = ctx.log_.lines;
  CHECK(lines.back() == "info: replayed 2 readings, skipped 0 malformed lines and 1 of no reading");
  CHECK(std::none_of(lines.begin(), lines.end(), [](const std::string& l) { return l.find("warning") == 0; }));
}

TEST_CASE("replay reads a Shelly energy meter's export, in UTC without saying so", "[stages][replay]") {
  // Wh per 10 minutes, stamped in UTC with no offset; the last two rows
  // are 02:30 in Paris twice (the end of summer time), each read once.
  const auto& d = load(REPLAY_PLUGIN);
  temp_dir dir;
  dir.write("em_data.csv",
            "Date/time UTC,Active energy Wh (1),Returned energy Wh (1),Min V,Max V\n"
            "2024-10-27 00:20,21.50,0.00,232.0,233.5\n"
            "2024-10-27 00:30,20.10,0.00,231.0,233.0\n"
            "2024-10-27 01:30,19.90,0.00,231.0,233.0\n");
  fake_context ctx(d, {{"path", std::string("em_data.csv")}, {"ts_field", std::string("Date/time UTC")},
                       {"wh_field", std::string("Active energy Wh (1)")}, {"ts_format", std::string("%Y-%m-%d %H:%M")},
                       {"ts_zone", std::string("UTC")}, {"span", std::chrono::milliseconds{std::chrono::minutes{10}}}},
                   dir.path);
  auto src = d.make_source(ctx);
  src->start();
  const auto got = drain(*src, 8);
  REQUIRE(got.size() == 3);
  CHECK(got[0].ts_ms == utc_ms_of({2024, 10, 27, 0, 20, 0, 0}));
  CHECK(got[0].wh == 21.5);
  CHECK(got[0].span_ms == 600'000);
  CHECK(got[1].ts_ms == utc_ms_of({2024, 10, 27, 0, 30, 0, 0}));
  CHECK(got[2].ts_ms == utc_ms_of({2024, 10, 27, 1, 30, 0, 0}));
  CHECK(got[2].labels.at(1).key == "Min V");
}

TEST_CASE("replay start and end keep a time window", "[stages][replay]") {
  const auto& d = load(REPLAY_PLUGIN);
  temp_dir dir;
  dir.write("h.csv", "ts,wh\n2007-01-01T00:00:00,1\n2007-01-01T01:00:00,2\n2007-01-01T02:00:00,3\nbad\n");
  fake_context ctx(d,
                   {{"path", std::string("h.csv")},
                    {"start", std::string("2007-01-01T01:00:00")},
                    {"end", std::string("2007-01-01T01:00:00Z")}},  // 02:00 local, exclusive
                   dir.path);
  auto src = d.make_source(ctx);
  src->start();
  const auto got = drain(*src, 10);
  REQUIRE(got.size() == 1);
  CHECK(got[0].wh == 2);
  CHECK(ctx.log_.lines.back() == "info: replayed 1 readings, skipped 1 malformed lines, left out 2 outside start/end");

  auto error = [&](std::map<std::string, option_value> given) {
    given["path"] = std::string("h.csv");
    return option_error_of([&] {
      fake_context c(d, std::move(given), dir.path);
      d.make_source(c);
    });
  };
  CHECK(error({{"start", std::string("2007-01-01")}}) ==
        "start: not an ISO-8601 time such as 2008-01-01T00:00:00: '2007-01-01'");
  CHECK(error({{"start", std::string("2007-01-02T00:00")}, {"end", std::string("2007-01-01T00:00")}}) ==
        "end: must be after start");
}

TEST_CASE("replay paces readings without sleeping", "[stages][replay]") {
  const auto& d = load(REPLAY_PLUGIN);
  temp_dir dir;
  dir.write("h.csv", "ts,wh\n2007-01-01T00:00:00,1\n2007-01-01T01:00:00,2\n2007-01-01T02:00:00,3\n");

  SECTION("realtime: the next hour is far off, so wait is capped at 1 s") {
    fake_context ctx(d, {{"path", std::string("h.csv")}, {"speed", std::string("realtime")}}, dir.path);
    auto src = d.make_source(ctx);
    src->start();
    std::vector<reading> out;
    const auto first = src->read(out, 10);
    CHECK(out.size() == 1);  // the first reading is due at once
    CHECK_FALSE(first.finished);
    const auto second = src->read(out, 10);
    CHECK(out.size() == 1);
    CHECK(second.wait == std::chrono::milliseconds{1000});
    src->stop();  // the second reading, read and waiting for its time, was never handed on
    CHECK(ctx.log_.lines.back() == "info: stopped after 1 readings, skipped 0 malformed lines");
  }
  SECTION("a multiplier: an hour of data per 20 ms") {
    fake_context ctx(d, {{"path", std::string("h.csv")}, {"speed", 3600.0 * 1000 / 20}}, dir.path);
    auto src = d.make_source(ctx);
    src->start();
    const auto t0 = std::chrono::steady_clock::now();
    const auto got = drain(*src, 10);
    CHECK(got.size() == 3);
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds{40});
  }
}

TEST_CASE("a paced replay does not wait through a gap of more than 31 days, and says so", "[stages][replay]") {
  const auto& d = load(REPLAY_PLUGIN);
  temp_dir dir;
  // A stray row stamped 1970 (a Pi's clock before NTP), then the real ones.
  dir.write("h.csv", "ts,wh\n1970-01-01T00:00:00,1\n2026-12-01T00:00:00,2\n2026-12-01T00:00:01,3\n");
  fake_context ctx(d, {{"path", std::string("h.csv")}, {"speed", std::string("realtime")}}, dir.path);
  auto src = d.make_source(ctx);
  src->start();
  std::vector<reading> out;
  for (int i = 0; i < 100 && out.size() < 2; ++i) src->read(out, 10);  // a few reads, never a wait of 56 years
  REQUIRE(out.size() >= 2);
  CHECK(out[1].wh == 2);
  CHECK(std::count(ctx.log_.lines.begin(), ctx.log_.lines.end(),
                   "warning: " + dir.path + "/h.csv:3: 20788 days after the reading before it; a paced replay does not "
                   "wait through gaps of more than 31 days") == 1);
}

TEST_CASE("replay option problems", "[stages][replay]") {
  const auto& d = load(REPLAY_PLUGIN);
  temp_dir dir;
  dir.write("h.csv", "time,wh\n");
  dir.write("h.txt", "ts,wh\n");
  dir.write("empty.csv", "\n\n");
  auto error = [&](std::map<std::string, option_value> given) {
    return option_error_of([&] {
      fake_context ctx(d, std::move(given), dir.path);
      d.make_source(ctx);
    });
  };
  const std::string p = dir.path + "/";
  CHECK(error({{"path", std::string("missing.csv")}}) == "path: " + p + "missing.csv: cannot open: No such file or directory");
  // Not blamed on the format its misspelt name does not tell.
  CHECK(error({{"path", std::string("missing.cvs")}}) == "path: " + p + "missing.cvs: cannot open: No such file or directory");
  CHECK(error({{"path", std::string("h.csv")}}) ==
        "path: " + p + "h.csv:1: header row has no 'ts' column: 'time,wh'; name its columns with ts_field and "
                       "wh_field");
  CHECK(error({{"path", std::string("h.csv")}, {"ts_field", std::string("time")}}) == "no error");
  CHECK(error({{"path", std::string("empty.csv")}}) ==
        "path: " + p + "empty.csv: empty file; a CSV history needs a header row (ts,wh)");
  CHECK_THAT(error({{"path", std::string("h.txt")}}), Contains("format: " + p + "h.txt: cannot tell the format"));
  CHECK(error({{"path", std::string("h.txt")}, {"format", std::string("csv")}}) == "no error");
  CHECK(error({{"path", std::string("h.csv")}, {"ts_field", std::string("wh")}}) ==
        "wh_field: must differ from ts_field (both are 'wh')");
  CHECK(error({{"path", std::string("h.csv")}, {"ts_field", std::string("time")}, {"wh_unit", std::string("W")},
               {"span", std::chrono::milliseconds{0}}}) ==
        "wh_unit: \"W\" is a mean power over each reading's span, and span is \"0s\": set span to the time each "
        "reading covers (\"30m\" for a half-hourly load curve)");
  CHECK(error({{"path", std::string("h.csv")}, {"ts_field", std::string("time")}, {"ts_format", std::string("%d/%m")}}) ==
        "ts_format: '%d/%m' has no %Y: a pattern needs the date and hour (%Y %m %d %H)");
  CHECK(error({{"path", std::string("h.csv")}, {"ts_field", std::string("time")}, {"decimal", std::string(",")}}) ==
        "decimal: is also the delimiter: such a file separates its columns with ';' (set delimiter = \";\")");
  CHECK(error({{"path", std::string("h.csv")}, {"ts_field", std::string("time")}, {"time_field", std::string("wh")}}) ==
        "time_field: must differ from wh_field (both are 'wh')");
  CHECK(error({{"path", std::string("h.txt")}, {"format", std::string("jsonl")}, {"time_field", std::string("t")}}) ==
        "time_field: is for CSV files whose date and time are in two columns; in JSON lines ts_field holds both");
  CHECK(error({{"path", std::string("h.csv")}, {"columns", std::vector<std::string>{"t", "wh"}}}) ==
        "columns: names no 'ts' column: set ts_field to one of its names, or name that column 'ts'");
  CHECK(error({{"path", std::string("h.txt")}, {"format", std::string("jsonl")},
               {"columns", std::vector<std::string>{"ts", "wh"}}}) ==
        "columns: is for CSV files without a header row; JSON lines name their fields");
  CHECK(error({{"path", std::string("h.txt")}, {"format", std::string("jsonl")}, {"delimiter", std::string(";")}}) ==
        "delimiter: is for CSV files; JSON lines separate their fields with commas");
  CHECK(error({{"path", std::string("h.txt")}, {"format", std::string("jsonl")}, {"decimal", std::string(",")}}) ==
        "decimal: is for CSV files; JSON numbers have a decimal point");
  // Cells are read trimmed, so names are too: " time" as copied from a header.
  CHECK(error({{"path", std::string("h.csv")}, {"ts_field", std::string(" time ")}}) == "no error");
  CHECK(error({{"path", std::string("h.csv")}, {"ts_field", std::string("time")}, {"wh_kind", std::string("index")},
               {"wh_unit", std::string("kW")}}) ==
        "wh_kind: an index is energy: wh_unit must be \"Wh\" or \"kWh\", not \"kW\"");
  CHECK(error({{"path", std::string("h.csv")}, {"ts_field", std::string("time")}, {"wh_kind", std::string("index")},
               {"ts_marks", std::string("end")}}) ==
        "ts_marks: is for readings of a span; an index (wh_kind = \"index\") is read at an instant");
  for (const char* option : {"resample", "hourly_statistics"})
    CHECK(error({{"path", std::string("h.csv")}, {"ts_field", std::string("time")}, {option, true}}) ==
          std::string(option) + ": is for a meter's index (wh_kind = \"index\"); readings of use are taken as they are");
  for (const auto& [span, text] : {std::pair{45, "45m"}, {0, "0s"}, {120, "2h"}})
    CHECK(error({{"path", std::string("h.csv")}, {"ts_field", std::string("time")}, {"wh_kind", std::string("index")},
                 {"resample", true}, {"span", std::chrono::milliseconds{std::chrono::minutes{span}}}}) ==
          "span: with resample = true, the span of each reading must divide an hour (\"1h\", \"30m\", \"15m\", "
          "\"1m\"), not \"" + std::string(text) + "\"");
  // Names are looked up trimmed, so they are compared trimmed.
  CHECK(error({{"path", std::string("h.csv")}, {"ts_field", std::string("time")}, {"wh_field", std::string("time ")}}) ==
        "wh_field: must differ from ts_field (both are 'time')");
  CHECK(error({{"path", std::string(".")}, {"format", std::string("csv")}}) == "path: " + p + ".: is a directory");
  CHECK(error({{"path", std::string(".")}}) == "path: " + p + ".: is a directory");  // not "cannot tell the format"
  REQUIRE(::mkfifo((p + "fifo.csv").c_str(), 0600) == 0);  // a check that opened it would wait for a writer
  CHECK(error({{"path", std::string("fifo.csv")}}) ==
        "path: " + p + "fifo.csv: is not a regular file (a pipe or a device?); replay opens its file twice, to check "
        "it and to read it");
}

TEST_CASE("replay refuses a file none of whose first lines is a reading, and says why", "[stages][replay]") {
  // Epoch seconds in a CSV: 500 lines skipped and a run that "succeeded"
  // with 0 readings, before.
  const auto& d = load(REPLAY_PLUGIN);
  temp_dir dir;
  std::string seconds = "ts,wh\n\n";
  for (int i = 0; i < 30; ++i) seconds += std::to_string(1168743600 + 3600 * i) + ",400\n";
  dir.write("seconds.csv", seconds);
  std::string late = "ts,wh\n";  // 19 bad lines, then a reading: a file with a bad start is still a history
  for (int i = 0; i < 19; ++i) late += "junk,1\n";
  dir.write("late.csv", late + "2007-01-01T00:00:00,1\n");
  dir.write("header-only.csv", "ts,wh\n");
  auto error = [&](const char* file) {
    return option_error_of([&] {
      fake_context ctx(d, {{"path", std::string(file)}}, dir.path);
      d.make_source(ctx);
    });
  };
  CHECK(error("seconds.csv") == "path: " + dir.path + "/seconds.csv:3: bad timestamp '1168743600' (expected ISO-8601 "
                                "such as 2007-01-01T04:00:00); epoch seconds or milliseconds? set ts_format = "
                                "\"epoch_s\" or \"epoch_ms\"; none of the first 20 data lines is a reading (is it the "
                                "right file, format and ts_field/wh_field?)");
  CHECK(error("late.csv") == "no error");
  CHECK(error("header-only.csv") == "no error");
  // A sensor away for its first hours: lines of no reading are not wrong.
  std::string away = "ts,wh\n";
  for (int i = 0; i < 25; ++i) away += "2007-01-01T00:00:00,unavailable\n";
  dir.write("away.csv", away);
  CHECK_THAT(error("away.csv"), Contains("away.csv:2: wh is not a number: 'unavailable'; if that means no reading, set "
                                         "no_reading = [\"unavailable\"]; none of the first 20 data lines"));
  const auto error_marked = [&](const char* file) {
    return option_error_of([&] {
      fake_context ctx(d, {{"path", std::string(file)}, {"no_reading", std::vector<std::string>{"unavailable"}}},
                       dir.path);
      d.make_source(ctx);
    });
  };
  CHECK(error_marked("away.csv") == "no error");
  // A line too long to read after one of no reading is still wrong.
  dir.write("away-long.csv", "ts,wh\n2007-01-01T00:00:00,unavailable\n" + std::string((1u << 20) + 10, 'x') + "\n");
  CHECK(error_marked("away-long.csv") == "path: " + dir.path + "/away-long.csv:3: line longer than 1 MiB; none of the "
                                         "first 2 data lines is a reading (is it the right file, format and "
                                         "ts_field/wh_field?)");
}

TEST_CASE("replay says how many readings went back in time, and where the first did", "[stages][replay]") {
  const auto& d = load(REPLAY_PLUGIN);
  temp_dir dir;
  dir.write("h.csv", "ts,wh\n2007-01-01T03:00:00,3\n2007-01-01T02:00:00,2\n2007-01-01T02:00:00,2\n"
                     "2007-01-01T01:00:00,1\n2007-01-01T04:00:00,4\n");
  fake_context ctx(d, {{"path", std::string("h.csv")}}, dir.path);
  auto src = d.make_source(ctx);
  src->start();
  CHECK(drain(*src, 10).size() == 5);  // all scored, in the file's order
  src->stop();
  CHECK(ctx.log_.lines.back() == "warning: " + dir.path + "/h.csv:3: 2 readings were earlier than their meter's "
                                 "reading before; readings are scored in the order they come, so sort the file by "
                                 "time (oldest first)");  // 02:00 after 03:00, 01:00 after 02:00; the repeated 02:00 is not earlier
}

TEST_CASE("percentile_band scores with an inline band", "[stages][band]") {
  const auto& d = load(BAND_PLUGIN);
  CHECK(d.info.name == "percentile_band");
  CHECK(d.train);
  number_matrix band;
  for (int h = 0; h < 24; ++h) band.push_back({100, 300});
  fake_context ctx(d, {{"band", band}}, "/tmp");
  auto s = d.make_scorer(ctx);
  reading r;
  r.wh = 1192;
  r.local.hour = 4;
  const auto res = s->score(r);
  CHECK(res.score == Approx(5.46));
  CHECK(res.expected_lo == 100);
  CHECK(res.expected_hi == 300);
  r.local.hour = 24;
  CHECK_THROWS_AS(s->score(r), std::out_of_range);
}

TEST_CASE("percentile_band option problems", "[stages][band]") {
  const auto& d = load(BAND_PLUGIN);
  auto error = [&](std::map<std::string, option_value> given) {
    return option_error_of([&] {
      fake_context ctx(d, std::move(given), "/nonexistent");
      d.make_scorer(ctx);
    });
  };
  number_matrix band(23, {1, 2});
  CHECK(error({}) == "band: neither band nor model is set; give exactly one of them (band = 24 [lo, hi] rows, or "
                     "model = a trained model file)");
  CHECK(error({{"band", band}, {"model", std::string("m.toml")}}) ==
        "band: band and model are both set; give exactly one of them");
  CHECK(error({{"band", band}}) == "band: band needs 24 [lo, hi] rows, one per hour 0..23; got 23");
  band.push_back({300, 200});
  CHECK(error({{"band", band}}) == "band: band row for hour 23: hi (200) must be above lo (300)");
  CHECK(error({{"model", std::string("m.toml")}}) ==
        "model: /nonexistent/m.toml: cannot open: No such file or directory");
  CHECK(training_error_of(d, {{"hi_percentile", 120.0}}) == "hi_percentile: must be within 0..100; got 120");
  CHECK(training_error_of(d, {{"lo_percentile", 50.0}, {"hi_percentile", 50.0}}) ==
        "hi_percentile: hi_percentile (50) must be above lo_percentile (50)");
}

TEST_CASE("percentile_band trains a model file and loads it", "[stages][band]") {
  const auto& d = load(BAND_PLUGIN);
  temp_dir dir;
  const fixed_zone zone(3600);
  std::vector<reading> history;
  for (int i = 0; i < 24 * 7; ++i) {
    reading r;
    r.ts_ms = zone.to_utc_ms({2007, 1, 1, 0, 0, 0, 0}) + i * 3600000LL;
    r.local = zone.local(r.ts_ms);
    r.wh = 100 + i % 24 * 10 + i / 24;
    history.push_back(r);
  }
  fake_context trainer(d, {{"hi_percentile", 99.0}}, dir.path);
  const std::string out = dir.path + "/models/band.toml";
  const std::string summary = d.train(history, trainer, out);
  CHECK(summary == "percentile_band: 168 readings from 2007-01-01T00:00:00+01:00 to 2007-01-07T23:00:00+01:00, "
                   "band p0-p99 per hour, written to " + out);

  fake_context ctx(d, {{"model", std::string("models/band.toml")}}, dir.path);
  auto s = d.make_scorer(ctx);
  reading r = history[5];  // hour 5: 150..156, band [150, 155.94]
  r.wh = 156;
  CHECK(s->score(r).expected_hi == Approx(155.94));
  CHECK(s->score(r).score > 1.0);
  REQUIRE(ctx.log_.lines.size() == 1);  // same zone name: no warning, just what was loaded
  CHECK_THAT(ctx.log_.lines[0], Contains("info: loaded " + out + " (168 readings from"));

  dir.write("foreign.toml", "title = \"x\"\n");
  CHECK(option_error_of([&] {
          fake_context c(d, {{"model", std::string("foreign.toml")}}, dir.path);
          d.make_scorer(c);
        }) == "model: " + dir.path + "/foreign.toml: not a percentile_band model: no 'format' key (expected format = "
                                     "\"stream-smarts/percentile_band\")");
}

TEST_CASE("console writes whole lines and flushes them", "[stages][console]") {
  const auto& d = load(CONSOLE_PLUGIN);
  CHECK(d.info.name == "console");
  temp_dir dir;
  fake_context ctx(d, {{"stream", std::string("stderr")}, {"format", std::string("json")}}, dir.path);
  alert a;
  a.scored.reading.meter = "home";
  a.scored.reading.wh = 2;
  a.scored.scorer = "band";
  const std::string text = stderr_of(dir, [&] { write_through(*d.make_sink(ctx), {a, a}); });
  const std::string line =
      "{\"ts\":\"1970-01-01T00:00:00+00:00\",\"ts_ms\":0,\"meter\":\"home\",\"hour\":0,\"wh\":2,\"score\":0,"
      "\"expected_lo\":0,\"expected_hi\":0,\"scorer\":\"band\",\"alert\":\"raised\",\"threshold\":1,\"labels\":{}}\n";
  CHECK(text == line + line);
}

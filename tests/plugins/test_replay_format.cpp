// The replay source's parsing: file format, speed, line reading, CSV and JSON
// lines, and the exact reason given for every kind of malformed line.
#include "fixed_zone.hpp"
#include "replay_format.hpp"

#include <catch2/catch.hpp>

#include <cstdio>

using namespace stream_smarts;
using namespace stream_smarts::replay;
using stream_smarts::testing::fixed_zone;

namespace {

constexpr std::int64_t utc(int y, int mo, int d, int h, int mi = 0, int s = 0) {
  return utc_ms_of(civil_time{y, mo, d, h, mi, s, 0});
}

struct parsed {
  bool ok;
  reading r;
  std::string why;
};

parsed parse_line(record_parser& p, std::string_view line, int offset_s = 3600) {
  const fixed_zone zone(offset_s);
  parsed out{false, {}, {}};
  out.ok = p.parse(line, zone, out.r, out.why);
  return out;
}

record_parser csv_parser(std::string_view header = "ts,wh") {
  record_parser p(record_layout(file_format::csv));
  p.read_header(header);
  return p;
}

std::string csv_reason(std::string_view line, std::string_view header = "ts,wh") {
  auto p = csv_parser(header);
  auto r = parse_line(p, line);
  CHECK_FALSE(r.ok);
  return r.why;
}

std::string json_reason(std::string_view line) {
  record_parser p(record_layout(file_format::jsonl));
  auto r = parse_line(p, line);
  CHECK_FALSE(r.ok);
  return r.why;
}

} // namespace

TEST_CASE("format from the file extension", "[replay]") {
  CHECK(format_from_extension("data/household_hourly.csv") == file_format::csv);
  CHECK(format_from_extension("x.CSV") == file_format::csv);
  CHECK(format_from_extension("x.jsonl") == file_format::jsonl);
  CHECK(format_from_extension("x.ndjson") == file_format::jsonl);
  CHECK(format_from_extension("x.json") == file_format::jsonl);
  CHECK_FALSE(format_from_extension("x.txt"));
  CHECK_FALSE(format_from_extension("csv"));
}

TEST_CASE("speed option", "[replay]") {
  CHECK(pace_from_option(std::string("max")).max);
  const pace realtime = pace_from_option(std::string("realtime"));
  CHECK_FALSE(realtime.max);
  CHECK(realtime.factor == 1.0);
  const pace fast = pace_from_option(3600.0);
  CHECK_FALSE(fast.max);
  CHECK(fast.factor == 3600.0);
  // Other words and numbers not above 0 are refused by the runtime, from the
  // option's choices and range (the test "a value outside the range ...").
}

TEST_CASE("line reader splits blocks into lines", "[replay]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  const std::string long_line(100, 'x');
  // A byte order mark goes with the first line only (spreadsheets, and some JSON lines writers, begin with one).
  const std::string text = "\xEF\xBB\xBFts,wh\r\n2007-01-01T00:00:00,1\n\n" + long_line + "\nlast without newline";
  std::fwrite(text.data(), 1, text.size(), f);
  std::rewind(f);

  line_reader reader(f, 16);  // tiny blocks: lines cross block edges, one outgrows the buffer
  std::vector<std::string> lines;
  std::string_view line;
  while (reader.next(line)) lines.emplace_back(line);
  std::fclose(f);

  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == "ts,wh");  // '\r' stripped
  CHECK(lines[1] == "2007-01-01T00:00:00,1");
  CHECK(lines[2].empty());
  CHECK(lines[3] == long_line);
  CHECK(lines[4] == "last without newline");
  CHECK(reader.line_number() == 5);
  CHECK_FALSE(reader.failed());
}

TEST_CASE("line reader skips lines longer than its limit without keeping them", "[replay]") {
  // A file with no line breaks (a binary file, the wrong export) was read
  // whole into memory as one line.
  for (const std::size_t block : {16, 1000}) {
    std::FILE* f = std::tmpfile();
    REQUIRE(f != nullptr);
    const std::string text = "ts,wh\n" + std::string(65, 'x') + "\nok\n" + std::string(63, 'y') + "\r\n" +
                             std::string(300, 'z') + "\n\nend" + std::string(70, '!');
    std::fwrite(text.data(), 1, text.size(), f);
    std::rewind(f);
    line_reader reader(f, block, 64);
    std::vector<std::pair<std::string, bool>> lines;
    std::string_view line;
    while (reader.next(line)) lines.emplace_back(std::string(line), reader.too_long());
    std::fclose(f);
    INFO("block " << block);
    const std::vector<std::pair<std::string, bool>> expected{
        {"ts,wh", false}, {"", true}, {"ok", false}, {std::string(63, 'y'), false}, {"", true}, {"", false}, {"", true}};
    CHECK(lines == expected);
    CHECK(reader.line_number() == 7);
  }
}

TEST_CASE("CSV header", "[replay][csv]") {
  SECTION("columns are found by name, in any order") {
    auto p = csv_parser("wh,ts");
    auto r = parse_line(p, "431.27,2007-01-01T04:00:00");
    REQUIRE(r.ok);
    CHECK(r.r.wh == 431.27);
    CHECK(r.r.ts_ms == utc(2007, 1, 1, 3));
  }
  SECTION("spaces around names are tolerated") {
    auto p = csv_parser(" ts , wh ");
    CHECK(parse_line(p, "2007-01-01T04:00:00,1").ok);
  }
  SECTION("custom column names") {
    record_parser p(record_layout(file_format::csv, "time", "energy"));
    p.read_header("time,energy");
    CHECK(parse_line(p, "2007-01-01T04:00:00,1").ok);
    CHECK(parse_line(p, "2007-01-01T04:00:00,x").why == "energy is not a number: 'x'");
  }
  SECTION("problems") {
    record_parser p(record_layout(file_format::csv));
    CHECK(p.expects_header());
    CHECK_THROWS_WITH(p.read_header("ts,watts"), "header row has no 'wh' column: 'ts,watts'"
                                                   "; name its columns with ts_field and wh_field");
    CHECK_THROWS_WITH(p.read_header("TS,WH"), "header row has no 'ts' column: 'TS,WH'; names are matched exactly: "
                                              "set ts_field to TS");
    CHECK_THROWS_WITH(p.read_header("time,wh"), "header row has no 'ts' column: 'time,wh'"
                                                  "; name its columns with ts_field and wh_field");
    // The raw UCI file: 'Time' is there, but in the one column a ';' file has.
    CHECK_THROWS_WITH(p.read_header("Date;Time;Global_active_power"),
                      "header row has no 'ts' column: 'Date;Time;Global_active_power'; it has one column: its "
                      "columns are separated by ';': set delimiter = \";\"");
    CHECK_THROWS_WITH(p.read_header("ts\twh"), "header row has no 'ts' column: 'ts\twh'; it has one column: its "
                                               "columns are separated by '\\t': set delimiter = \"tab\"");
    CHECK_THROWS_WITH(p.read_header("ts,wh\r2007-01-01T00:00:00,1"),
                      "header row has no 'wh' column: 'ts,wh\r2007-01-01T00:00:00,1'; its lines end in a carriage "
                      "return alone (an old Mac export?): convert them to line feeds");
    CHECK_THROWS_WITH(p.read_header(std::string(300, 'x')),
                      "header row has no 'ts' column: '" + std::string(200, 'x') + "...'; name its columns"
                          " with ts_field and wh_field");
    CHECK_THROWS_WITH(p.read_header("ts,wh,ts"), "header row: duplicate column 'ts'");
    CHECK_THROWS_WITH(p.read_header("ts,\"wh"), "header row: unterminated quoted field");
    CHECK(p.expects_header());
  }
}

TEST_CASE("CSV lines", "[replay][csv]") {
  auto p = csv_parser();

  SECTION("local time in the pipeline's zone") {
    auto r = parse_line(p, "2007-01-01T04:00:00,431.27");
    REQUIRE(r.ok);
    CHECK(r.r.ts_ms == utc(2007, 1, 1, 3));
    CHECK(r.r.wh == 431.27);
    CHECK(r.r.labels.empty());
    CHECK(r.r.meter == "home");  // the default: the source sets the meter option's
  }
  SECTION("timestamps with an offset or Z ignore the zone") {
    CHECK(parse_line(p, "2007-01-01T04:00:00Z,1").r.ts_ms == utc(2007, 1, 1, 4));
    CHECK(parse_line(p, "2007-01-01T04:00:00+02:00,1").r.ts_ms == utc(2007, 1, 1, 2));
    CHECK(parse_line(p, "2007-01-01T04:00:00-05:30,1").r.ts_ms == utc(2007, 1, 1, 9, 30));
    CHECK(parse_line(p, "2007-01-01 04:00,1").r.ts_ms == utc(2007, 1, 1, 3));
    CHECK(parse_line(p, "2007-01-01T04:00:00.250Z,1").r.ts_ms == utc(2007, 1, 1, 4) + 250);
    CHECK(parse_line(p, "\"2007-01-01T04:00:00,250Z\",1").r.ts_ms == utc(2007, 1, 1, 4) + 250);  // ISO's decimal comma, quoted
  }
  SECTION("values") {
    CHECK(parse_line(p, "2007-01-01T04:00:00,0").r.wh == 0.0);
    CHECK(parse_line(p, "2007-01-01T04:00:00,1e3").r.wh == 1000.0);
    CHECK(parse_line(p, " 2007-01-01T04:00:00 , 12.5 ").r.wh == 12.5);
    CHECK(parse_line(p, "\"2007-01-01T04:00:00\",\"12.5\"").r.wh == 12.5);
  }
  SECTION("every malformed case has its reason") {
    CHECK(csv_reason("2007-01-01T04:00:00") == "expected 2 fields, got 1");
    CHECK(csv_reason("2007-01-01T04:00:00,1,2") == "expected 2 fields, got 3 (a decimal comma? write 1.5, not 1,5)");
    CHECK(csv_reason("2007-13-01T04:00:00,1") ==
          "bad timestamp '2007-13-01T04:00:00' (expected ISO-8601 such as 2007-01-01T04:00:00)");
    CHECK(csv_reason("2007-02-29T04:00:00,1") ==
          "bad timestamp '2007-02-29T04:00:00' (expected ISO-8601 such as 2007-01-01T04:00:00)");
    CHECK(csv_reason("yesterday,1") == "bad timestamp 'yesterday' (expected ISO-8601 such as 2007-01-01T04:00:00)");
    CHECK(csv_reason(",1") == "bad timestamp '' (expected ISO-8601 such as 2007-01-01T04:00:00)");
    CHECK(csv_reason("2007-01-01T04:00:00,") == "wh is empty");
    CHECK(csv_reason("2007-01-01T04:00:00,abc") == "wh is not a number: 'abc'");
    CHECK(csv_reason("2007-01-01T04:00:00,12abc") == "wh is not a number: '12abc'");
    CHECK(csv_reason("2007-01-01T04:00:00,+12") == "wh is not a number: '+12'");
    CHECK(csv_reason("2007-01-01T04:00:00,1,5") == "expected 2 fields, got 3 (a decimal comma? write 1.5, not 1,5)");
    CHECK(csv_reason("2007-01-01T04:00:00,1,x") == "expected 2 fields, got 3");
    CHECK(csv_reason("2007-01-01T04:00:00,nan") == "wh is not finite: 'nan'");
    CHECK(csv_reason("2007-01-01T04:00:00,inf") == "wh is not finite: 'inf'");
    CHECK(csv_reason("2007-01-01T04:00:00,1e999") == "wh is out of range: '1e999'");
    CHECK(csv_reason("2007-01-01T04:00:00,-5") ==
          "wh is negative: '-5' (energy sent to the grid? read the energy drawn from it)");
    CHECK(csv_reason("2007-01-01T04:00:00,\"12") == "unterminated quoted field");
    CHECK(csv_reason("2007-01-01T04:00:00,\"12\"x") == "unexpected text after a quoted field");
  }
  SECTION("negative zero is zero, not negative") {
    const auto r = parse_line(p, "2007-01-01T04:00:00,-0");
    REQUIRE(r.ok);
    CHECK_FALSE(std::signbit(r.r.wh));  // a JSON sink would write it "-0"
  }
}

TEST_CASE("CSV extra columns become labels", "[replay][csv]") {
  auto p = csv_parser("ts,wh,label,note");
  auto r = parse_line(p, "2007-01-01T04:00:00,1500,heater,\"on, then \"\"off\"\"\"");
  REQUIRE(r.ok);
  REQUIRE(r.r.labels.size() == 2);
  CHECK(r.r.labels[0].key == "label");
  CHECK(r.r.labels[0].value == "heater");
  CHECK(r.r.labels[1].key == "note");
  CHECK(r.r.labels[1].value == "on, then \"off\"");

  auto empty = parse_line(p, "2007-01-01T05:00:00,1500,,");
  REQUIRE(empty.ok);
  CHECK(empty.r.labels.empty());  // an empty cell is no label

  // A spreadsheet leaves empty cells at a row's end out, and names no column of its trailing ",,".
  auto short_row = parse_line(p, "2007-01-01T05:00:00,1500,heater");
  REQUIRE(short_row.ok);
  REQUIRE(short_row.r.labels.size() == 1);
  CHECK(short_row.r.labels[0].value == "heater");
  CHECK(csv_reason("2007-01-01T04:00:00", "ts,wh,label,note") == "expected 4 fields, got 1");
  CHECK(csv_reason("1500,heater", "wh,label,note,ts") == "expected 4 fields, got 2");
  auto unnamed = csv_parser("ts,wh,,");
  auto cells = parse_line(unnamed, "2007-01-01T05:00:00,1500,x,y");
  REQUIRE(cells.ok);
  CHECK(cells.r.labels.empty());  // a column without a name is no label
}

TEST_CASE("a span_ms column is the reading's own span, not a label", "[replay][csv]") {
  auto p = csv_parser("ts,wh,span_ms,label");
  auto r = parse_line(p, "2007-01-01T04:00:00,25,60000,heater");
  REQUIRE(r.ok);
  CHECK(r.r.span_ms == 60000);
  REQUIRE(r.r.labels.size() == 1);
  CHECK(r.r.labels[0].key == "label");
  reading said_by_option;
  said_by_option.span_ms = 3'600'000;
  CHECK(p.parse("2007-01-01T05:00:00,25,,0", fixed_zone(3600), said_by_option, r.why));
  CHECK(said_by_option.span_ms == 3'600'000);  // an empty cell does not say
  CHECK(parse_line(p, "2007-01-01T05:00:00,25,86400000,0").r.span_ms == 86'400'000);
  const std::string range = "span_ms must be whole milliseconds from 0 to 86400000 (a day), got ";
  CHECK(csv_reason("2007-01-01T04:00:00,25,1.5,0", "ts,wh,span_ms,label") == range + "'1.5'");
  CHECK(csv_reason("2007-01-01T04:00:00,25,-60000,0", "ts,wh,span_ms,label") == range + "'-60000'");
  CHECK(csv_reason("2007-01-01T04:00:00,25,86400001,0", "ts,wh,span_ms,label") == range + "'86400001'");
  CHECK(csv_reason("2007-01-01T04:00:00,25,1h,0", "ts,wh,span_ms,label") == range + "'1h'");
}

TEST_CASE("each reading's meter from meter_field, as stream-smarts's own records name it", "[replay]") {
  // A recording of two flats replayed as one meter ("home") raised no alert
  // at all: their readings were mixed into one house.
  record_parser json(record_layout(file_format::jsonl, "ts", "wh", "meter"));
  auto r = parse_line(json, R"({"ts":"2008-01-01T00:00:00","meter":"flat1","wh":1596.93,"labels":{}})");
  REQUIRE(r.ok);
  CHECK(r.r.meter == "flat1");
  CHECK(r.r.labels.empty());
  CHECK(parse_line(json, R"({"ts":"2008-01-01T00:00:00","meter":42,"wh":1})").r.meter == "42");  // as kafka_source
  CHECK(parse_line(json, R"({"ts":"2008-01-01T00:00:00","meter":42.0,"wh":1})").r.meter == "42");  // the same meter
  for (const char* unsaid : {R"({"ts":"2008-01-01T00:00:00","wh":1})", R"({"ts":"2008-01-01T00:00:00","meter":null,"wh":1})",
                             R"({"ts":"2008-01-01T00:00:00","meter":"","wh":1})"}) {
    reading given;
    given.meter = "home";  // the source's `meter` option
    std::string why;
    CHECK(json.parse(unsaid, fixed_zone(0), given, why));
    CHECK(given.meter == "home");
  }
  CHECK(parse_line(json, R"({"ts":"2008-01-01T00:00:00","meter":true,"wh":1})").why ==
        "meter must name the meter as a string or a number, got a boolean");

  record_parser csv(record_layout(file_format::csv, "ts", "wh", "meter"));
  csv.read_header("ts,meter,wh,note");
  r = parse_line(csv, "2008-01-01T00:00:00,flat2,200,cold");
  REQUIRE(r.ok);
  CHECK(r.r.meter == "flat2");
  REQUIRE(r.r.labels.size() == 1);  // the meter column is not a label too
  CHECK(r.r.labels[0].key == "note");

  record_parser none(record_layout(file_format::jsonl));  // meter_field = "": every reading is the option's
  CHECK(parse_line(none, R"({"ts":"2008-01-01T00:00:00","meter":"flat1","wh":1})").r.labels.size() == 1);
}

TEST_CASE("whether a timestamp was written as wall-clock time, which summer time repeats", "[replay]") {
  record_parser json(record_layout(file_format::jsonl));
  REQUIRE(parse_line(json, R"({"ts":"2007-10-28T02:30:00","wh":1})").ok);
  CHECK(json.ts_was_wall_clock());
  REQUIRE(parse_line(json, R"({"ts":"2007-10-28T00:30:00Z","wh":1})").ok);
  CHECK_FALSE(json.ts_was_wall_clock());
  REQUIRE(parse_line(json, R"({"ts":1193531400000,"wh":1})").ok);
  CHECK_FALSE(json.ts_was_wall_clock());
  auto csv = csv_parser();
  REQUIRE(parse_line(csv, "2007-10-28T02:30:00+01:00,1").ok);
  CHECK_FALSE(csv.ts_was_wall_clock());
  REQUIRE(parse_line(csv, "2007-10-28T02:30:00,1").ok);
  CHECK(csv.ts_was_wall_clock());
}

TEST_CASE("JSON lines", "[replay][jsonl]") {
  record_parser p(record_layout(file_format::jsonl));

  SECTION("a plain line") {
    auto r = parse_line(p, R"({"ts": "2007-01-01T04:00:00", "wh": 431.27})");
    REQUIRE(r.ok);
    CHECK(r.r.ts_ms == utc(2007, 1, 1, 3));
    CHECK(r.r.wh == 431.27);
    CHECK(r.r.labels.empty());
  }
  SECTION("ts as epoch milliseconds, or with an offset") {
    CHECK(parse_line(p, R"({"ts":1167624000000,"wh":1})").r.ts_ms == 1167624000000);
    CHECK(parse_line(p, R"({"ts":253402300799999,"wh":1})").r.ts_ms == 253402300799999);   // 9999-12-31T23:59:59.999Z
    CHECK(parse_line(p, R"({"ts":-62167219200000,"wh":1})").r.ts_ms == -62167219200000);  // 0000-01-01T00:00:00Z
    CHECK(parse_line(p, R"({"wh":1,"ts":"2007-01-01T04:00:00+01:00"})").r.ts_ms == utc(2007, 1, 1, 3));
  }
  SECTION("a wh that says there is no reading: a string, or null") {
    CHECK(parse_line(p, R"({"ts":"2007-01-01T04:00:00","wh":null})").why ==
          "wh must be a number, got null; if that means no reading, set no_reading = [\"null\"]");
    CHECK(parse_line(p, R"({"ts":"2007-01-01T04:00:00","wh":"unavailable"})").why ==
          "wh is not a number: 'unavailable'; if that means no reading, set no_reading = [\"unavailable\"]");
    CHECK(parse_line(p, R"({"ts":"2007-01-01T04:00:00","wh":"on"})").why == "wh is not a number: 'on'");
    // A string holding a number is read, as Home Assistant writes a state.
    CHECK(parse_line(p, R"({"ts":"2007-01-01T04:00:00","wh":"1500.5"})").r.wh == 1500.5);
    CHECK(parse_line(p, R"({"ts":"2007-01-01T04:00:00","wh":" 15"})").why == "wh is not a number: ' 15'");
    record_layout marked(file_format::jsonl);
    marked.no_reading = {"null", "unavailable"};
    record_parser m(std::move(marked));
    for (const char* line : {R"({"ts":"2007-01-01T04:00:00","wh":null})", R"({"ts":"2007-01-01T04:00:00","wh":"unavailable"})"}) {
      CHECK_FALSE(parse_line(m, line).ok);
      CHECK(m.was_no_reading());
    }
    CHECK(parse_line(m, R"({"ts":"2007-01-01T04:00:00","wh":"null"})").why == "no reading ('null')");  // as written
  }
  SECTION("other members become labels; null is left out") {
    auto r = parse_line(p, R"({"ts":"2007-01-01T04:00:00","wh":1,"label":"heater","n":2.50,"ok":true,"x":null})");
    REQUIRE(r.ok);
    REQUIRE(r.r.labels.size() == 3);
    CHECK(r.r.labels[0].key == "label");
    CHECK(r.r.labels[0].value == "heater");
    CHECK(r.r.labels[1].value == "2.50");  // numbers as written
    CHECK(r.r.labels[2].value == "true");
  }
  SECTION("stream-smarts's own lines (console, file, kafka_sink) read back: their labels, not their verdict") {
    auto r = parse_line(p, R"({"ts":"2007-01-01T04:00:00+01:00","ts_ms":1167620400000,"span_ms":3600000,)"
                           R"("meter":"home","hour":4,"wh":1500,"score":5.38,"expected_lo":100,"expected_hi":360,)"
                           R"("scorer":"band","alert":"raised","threshold":1,"since_ms":1167616800000,)"
                           R"("labels":{"pulses":"1500","power_w":"2000.5"}})");
    REQUIRE(r.ok);
    CHECK(r.r.ts_ms == utc(2007, 1, 1, 3));
    CHECK(r.r.wh == 1500);
    CHECK(r.r.span_ms == 3'600'000);
    REQUIRE(r.r.labels.size() == 2);
    CHECK(r.r.labels[0].key == "pulses");
    CHECK(r.r.labels[1].key == "power_w");
    CHECK(r.r.labels[1].value == "2000.5");
    CHECK(parse_line(p, R"({"ts":"2007-01-01T04:00:00","wh":1,"score":2,"labels":{}})").r.labels.empty());
    // Only one level, of values (a nested one is no label), and no key twice.
    auto nested = parse_line(p, R"({"ts":"2007-01-01T04:00:00","wh":1,"labels":{"a":{"b":1},"c":"d"}})");
    REQUIRE(nested.r.labels.size() == 1);
    CHECK(nested.r.labels[0].key == "c");
    CHECK(json_reason(R"({"ts":"x","wh":1,"labels":{"wh":"2"}})") == "bad JSON at column 28: duplicate key \"wh\"");
    CHECK(json_reason(R"({"ts":"x","wh":1,"labels":{},"labels":{}})") ==
          "bad JSON at column 30: duplicate key \"labels\"");
    std::string many = R"({"ts":"2007-01-01T04:00:00","wh":1)";
    for (int i = 0; i < 1000; ++i) many += ",\"k" + std::to_string(i) + "\":1";
    CHECK_THAT(json_reason(many + "}"), Catch::Matchers::EndsWith(": more than 1000 members (a reading has a few)"));
    auto list = parse_line(p, R"({"ts":"2007-01-01T04:00:00","wh":1,"labels":["a"],"e":"f"})");
    REQUIRE(list.r.labels.size() == 1);  // not stream-smarts's labels: a nested member like any other
    CHECK(list.r.labels[0].key == "e");
  }
  SECTION("a line's own span_ms is its span, not a label; null does not say") {
    auto r = parse_line(p, R"({"ts":"2007-01-01T04:00:00","wh":25,"span_ms":60000,"label":"heater"})");
    REQUIRE(r.ok);
    CHECK(r.r.span_ms == 60000);
    REQUIRE(r.r.labels.size() == 1);
    CHECK(r.r.labels[0].key == "label");
    CHECK(parse_line(p, R"({"ts":"2007-01-01T04:00:00","wh":25,"span_ms":0})").r.span_ms == 0);
    auto unsaid = parse_line(p, R"({"ts":"2007-01-01T04:00:00","wh":25,"span_ms":null})");
    CHECK(unsaid.ok);
    CHECK(unsaid.r.span_ms == 0);  // as the caller set it: the source's span option
    CHECK(unsaid.r.labels.empty());
    const std::string range = "span_ms must be whole milliseconds from 0 to 86400000 (a day), got ";
    CHECK(json_reason(R"({"ts":"2007-01-01T04:00:00","wh":25,"span_ms":"60000"})") ==
          "span_ms must be a number, got a string");
    CHECK(json_reason(R"({"ts":"2007-01-01T04:00:00","wh":25,"span_ms":6e4})") == range + "'6e4'");
    CHECK(json_reason(R"({"ts":"2007-01-01T04:00:00","wh":25,"span_ms":-1})") == range + "'-1'");
    CHECK(json_reason(R"({"ts":"2007-01-01T04:00:00","wh":25,"span_ms":86400001})") == range + "'86400001'");
    CHECK(json_reason(R"({"ts":"2007-01-01T04:00:00","wh":25,"span_ms":99999999999999999999})") ==
          range + "'99999999999999999999'");
  }
  SECTION("escapes") {
    auto r = parse_line(
        p, R"({"ts":"2007-01-01T04:00:00","wh":1,"s":"a\"b\\c\/d\b\f\n\r\t","u":"\u00e9\u20ac\ud83d\ude00","k\u0041":"v"})");
    REQUIRE(r.ok);
    REQUIRE(r.r.labels.size() == 3);
    CHECK(r.r.labels[0].value == "a\"b\\c/d\b\f\n\r\t");
    CHECK(r.r.labels[1].value == "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    CHECK(r.r.labels[2].key == "kA");
  }
  SECTION("custom keys") {
    record_parser q(record_layout(file_format::jsonl, "time", "energy"));
    CHECK(parse_line(q, R"({"time":"2007-01-01T04:00:00","energy":3})").r.wh == 3.0);
    CHECK(parse_line(q, R"({"ts":"2007-01-01T04:00:00","energy":3})").why == "missing \"time\"");
  }
  SECTION("every malformed case has its reason") {
    CHECK(json_reason("") == "bad JSON at column 1: expected '{'");
    CHECK(json_reason("[1]") == "bad JSON at column 1: expected '{'");
    CHECK(json_reason("{ts:1}") == "bad JSON at column 2: expected a string key");
    CHECK(json_reason(R"({"ts" 1})") == "bad JSON at column 7: expected ':'");
    CHECK(json_reason(R"({"ts":1 "wh":2})") == "bad JSON at column 9: expected ',' or '}'");
    CHECK(json_reason(R"({"ts":1,})") == "bad JSON at column 9: expected a string key");
    CHECK(json_reason(R"({"ts":1,"wh":2)") == "bad JSON at column 15: expected ',' or '}'");
    CHECK(json_reason(R"({"ts":1,"wh":2} x)") == "bad JSON at column 17: unexpected text after the object");
    CHECK(json_reason(R"({"ts":"2007)") == "bad JSON at column 12: unterminated string");
    CHECK(json_reason("{\"ts\":\"a\tb\"}") == "bad JSON at column 9: control character in string");
    CHECK(json_reason(R"({"ts":"a\qb"})") == "bad JSON at column 9: invalid escape '\\q'");
    CHECK(json_reason(R"({"ts":"\u12G4"})") == "bad JSON at column 8: invalid \\u escape");
    CHECK(json_reason(R"({"ts":"\ud83d"})") == "bad JSON at column 8: unpaired surrogate in \\u escape");
    CHECK(json_reason(R"({"ts":"\ude00"})") == "bad JSON at column 8: unpaired surrogate in \\u escape");
    CHECK(json_reason(R"({"ts":"2007-01-01T04:00:00","wh":{"v":1}})") ==
          "wh must be a number, got a nested object or array");
    CHECK(json_reason(R"({"ts":"2007-01-01T04:00:00","wh":[1]})") ==
          "wh must be a number, got a nested object or array");
    // A nested value's grammar is checked too.
    CHECK(json_reason(R"({"ts":"x","a":{"b" 1}})") == "bad JSON at column 20: expected ':'");
    CHECK(json_reason(R"({"ts":"x","a":{"b":1,}})") == "bad JSON at column 22: expected a string key");
    CHECK(json_reason(R"({"ts":"x","a":[1,2})") == "bad JSON at column 19: expected ',' or ']'");
    CHECK(json_reason(R"({"ts":"x","a":[tru]})") == "bad JSON at column 16: expected a value");
    CHECK(json_reason(R"({"ts":"x","a":{1:2}})") == "bad JSON at column 16: expected a string key");
    CHECK(json_reason(R"({"ts":"x","a":[)") == "bad JSON at column 16: expected a value");
    CHECK(json_reason("{\"a\":" + std::string(65, '[') + std::string(65, ']') + "}") ==
          "bad JSON at column 70: nested more than 64 deep");
    CHECK(json_reason("{\"ts\":\"x\",\"wh\":1,\"a\":" + std::string(64, '[') + std::string(64, ']') + "}") ==
          "bad timestamp 'x' (expected ISO-8601 such as 2007-01-01T04:00:00)");
    CHECK(json_reason(R"({"ts":"x","wh":NaN})") == "bad JSON at column 16: expected a value");
    CHECK(json_reason(R"({"ts":"x","wh":01})") == "bad JSON at column 17: expected ',' or '}'");
    CHECK(json_reason(R"({"ts":"x","wh":1.})") == "bad JSON at column 18: invalid number");
    CHECK(json_reason(R"({"ts":"x","wh":-})") == "bad JSON at column 17: invalid number");
    CHECK(json_reason(R"({"ts":"x","wh":1e})") == "bad JSON at column 18: invalid number");
    CHECK(json_reason(R"({"ts":"x","ts":"y"})") == "bad JSON at column 11: duplicate key \"ts\"");
    CHECK(json_reason(R"({"wh":1})") == "missing \"ts\"");
    CHECK(json_reason(R"({"ts":"2007-01-01T04:00:00"})") == "missing \"wh\"");
    CHECK(json_reason(R"({"ts":"2007-01-01T25:00:00","wh":1})") ==
          "bad timestamp '2007-01-01T25:00:00' (expected ISO-8601 such as 2007-01-01T04:00:00)");
    CHECK(json_reason(R"({"ts":true,"wh":1})") == "ts must be an ISO-8601 string or epoch milliseconds, got a boolean");
    CHECK(json_reason(R"({"ts":1.5,"wh":1})") == "ts is not a whole number of epoch milliseconds: 1.5");
    CHECK(json_reason(R"({"ts":1168743600,"wh":1})") ==  // epoch seconds, which would be 1970-01-14 13:00
          "ts is 1168743600, which as epoch milliseconds is in 1970; it looks like epoch seconds: set ts_format = "
          "\"epoch_s\"");
    // Found by tests/fuzz/run replay: such a reading had no local time, and
    // the scorer's failures on it stopped the pipeline.
    CHECK(json_reason(R"({"ts":9166761320167613201,"wh":2})") ==
          "ts is out of range: 9166761320167613201 (epoch milliseconds of years 0000 to 9999)");
    CHECK(json_reason(R"({"ts":99999999999999999999,"wh":2})") ==
          "ts is out of range: 99999999999999999999 (epoch milliseconds of years 0000 to 9999)");
    CHECK(json_reason(R"({"ts":-62167219200001,"wh":2})") ==
          "ts is out of range: -62167219200001 (epoch milliseconds of years 0000 to 9999)");
    CHECK(json_reason(R"({"ts":"2007-01-01T04:00:00","wh":"12 Wh"})") == "wh is not a number: '12 Wh'");
    CHECK(json_reason(R"({"ts":"2007-01-01T04:00:00","wh":true})") == "wh must be a number, got a boolean");
    CHECK(json_reason(R"({"ts":"2007-01-01T04:00:00","wh":-3.5})") ==
          "wh is negative: '-3.5' (energy sent to the grid? read the energy drawn from it)");
    CHECK(json_reason(R"({"ts":"2007-01-01T04:00:00","wh":1e400})") == "wh is out of range: '1e400'");
  }
  SECTION("the parser recovers after a bad line") {
    CHECK_FALSE(parse_line(p, R"({"ts":"\u00e9)").ok);
    CHECK(parse_line(p, R"({"ts":"2007-01-01T04:00:00","wh":2})").ok);
  }
}

namespace {

// A parser of `layout` whose CSV header has been read.
record_parser csv_parser_of(record_layout layout, std::string_view header) {
  record_parser p(std::move(layout));
  p.read_header(header);
  return p;
}

// parse_line for a reading whose source says it covers `span_ms`.
parsed parse_spanned(record_parser& p, std::string_view line, std::int64_t span_ms) {
  const fixed_zone zone(3600);
  parsed out{false, {}, {}};
  out.r.span_ms = span_ms;
  out.ok = p.parse(line, zone, out.r, out.why);
  return out;
}

} // namespace

TEST_CASE("a European export: semicolons between columns, a decimal comma", "[replay][csv][export]") {
  record_layout layout(file_format::csv, "Horodate", "Valeur");
  layout.delimiter = ';';
  layout.decimal = ',';
  auto p = csv_parser_of(layout, "Horodate;Valeur;Note");
  auto r = parse_line(p, "2024-01-07T14:30:00+01:00;1234,5;cold day");
  REQUIRE(r.ok);
  CHECK(r.r.wh == 1234.5);
  CHECK(r.r.labels.at(0).value == "cold day");
  CHECK(parse_line(p, "2024-01-07T14:30:00+01:00;\"1,5\"").r.wh == 1.5);
  CHECK(parse_line(p, "2024-01-07T14:30:00+01:00;12").r.wh == 12);
  // A '.' there is a thousands separator, not a point: refused, not read as 1.5.
  CHECK(parse_line(p, "2024-01-07T14:30:00+01:00;1.500").why ==
        "Valeur is not a number: '1.500' (with decimal = \",\", a '.' is not a decimal point)");
  CHECK(parse_line(p, "2024-01-07T14:30:00+01:00;-1,5").why ==
        "Valeur is negative: '-1,5' (energy sent to the grid? read the energy drawn from it)");

  SECTION("a decimal comma the layout does not expect says which option reads it") {
    record_layout point(file_format::csv);
    point.delimiter = ';';
    auto q = csv_parser_of(point, "ts;wh");
    CHECK(parse_line(q, "2024-01-07T14:30:00;1,5").why == "wh is not a number: '1,5' (a decimal comma? set decimal = \",\")");
    CHECK(parse_line(q, "2024-01-07T14:30:00;1,234.5").why ==
          "wh is not a number: '1,234.5' (a thousands separator? write the number without it)");
    auto r = csv_parser();
    CHECK(parse_line(r, "2024-01-07T14:30:00,\"1,234\"").why ==
          "wh is not a number: '1,234' (a decimal comma or a thousands separator? write 1234.5)");
  }
}

TEST_CASE("tab-separated columns keep their empty cells", "[replay][csv][export]") {
  record_layout layout(file_format::csv);
  layout.delimiter = '\t';
  auto p = csv_parser_of(layout, "ts\tnote\twh");
  auto r = parse_line(p, "2024-01-07T14:30:00\t\t 42 ");
  REQUIRE(r.ok);
  CHECK(r.r.wh == 42);
  CHECK(r.r.labels.empty());
  CHECK(parse_line(p, "2024-01-07T14:30:00\t a b \t7").r.labels.at(0).value == "a b");
  CHECK(parse_line(p, "2024-01-07T14:30:00,x,7").why == "expected 3 fields, got 1");
}

TEST_CASE("ts_format: epoch seconds and milliseconds, and patterns read as local time", "[replay][export]") {
  SECTION("epoch seconds") {
    record_layout layout(file_format::csv);
    layout.ts_format = timestamp_format("epoch_s");
    auto p = csv_parser_of(layout, "ts,wh");
    CHECK(parse_line(p, "1704067200,1").r.ts_ms == utc(2024, 1, 1, 0));
    CHECK(parse_line(p, "1704067200.25,1").r.ts_ms == utc(2024, 1, 1, 0) + 250);
    CHECK(parse_line(p, "1704067200000,1").why ==
          "ts is out of range: 1704067200000 (epoch seconds of years 0000 to 9999); it looks like epoch "
          "milliseconds: set ts_format = \"epoch_ms\"");
    CHECK(parse_line(p, "2024-01-01,1").why == "ts is not a number of epoch seconds: '2024-01-01'");
    CHECK(parse_line(p, "999999999999999999999,1").why ==  // no number of milliseconds either
          "ts is out of range: 999999999999999999999 (epoch seconds of years 0000 to 9999)");
  }
  SECTION("epoch milliseconds in a CSV file") {
    record_layout layout(file_format::csv);
    layout.ts_format = timestamp_format("epoch_ms");
    auto p = csv_parser_of(layout, "ts,wh");
    CHECK(parse_line(p, "1704067200000,1").r.ts_ms == utc(2024, 1, 1, 0));
    CHECK(parse_line(p, "1704067200,1").why ==
          "ts is 1704067200, which as epoch milliseconds is in 1970; it looks like epoch seconds: set ts_format = "
          "\"epoch_s\"");
  }
  SECTION("a day-first pattern, with or without leading zeros, in the pipeline's zone") {
    record_layout layout(file_format::csv);
    layout.ts_format = timestamp_format("%d/%m/%Y %H:%M");
    auto p = csv_parser_of(layout, "ts,wh");
    CHECK(parse_line(p, "07/01/2024 14:30,1").r.ts_ms == utc(2024, 1, 7, 13, 30));  // zone: UTC+1
    CHECK(parse_line(p, "7/1/2024 4:05,1").r.ts_ms == utc(2024, 1, 7, 3, 5));
    CHECK(parse_line(p, "2024-01-07T14:30:00,1").why ==
          "bad timestamp '2024-01-07T14:30:00' (expected ts_format '%d/%m/%Y %H:%M')");
    CHECK(parse_line(p, "31/02/2024 14:30,1").why ==
          "bad timestamp '31/02/2024 14:30' (expected ts_format '%d/%m/%Y %H:%M')");
    CHECK(parse_line(p, "07/01/2024 14:30:00,1").why ==
          "bad timestamp '07/01/2024 14:30:00' (expected ts_format '%d/%m/%Y %H:%M')");
    // A day's end as some exports stamp its last interval: the next day's 00:00.
    CHECK(parse_line(p, "31/01/2024 24:00,1").r.ts_ms == utc(2024, 1, 31, 23));
    CHECK(parse_line(p, "31/01/2024 24:15,1").why ==
          "bad timestamp '31/01/2024 24:15' (expected ts_format '%d/%m/%Y %H:%M')");
  }
  SECTION("patterns that cannot be a time are refused with why") {
    CHECK_THROWS_WITH(timestamp_format("%d.%m.%Y %H:%M %p"),
                      "'%d.%m.%Y %H:%M %p' is not \"iso8601\", \"epoch_s\", \"epoch_ms\" or a pattern of %Y %m %d %H "
                      "%M %S %z (such as \"%d/%m/%Y %H:%M\"): it has '%p'");
    CHECK_THROWS_WITH(timestamp_format("%d/%m/%Y"),
                      "'%d/%m/%Y' has no %H: a pattern needs the date and hour (%Y %m %d %H)");
    CHECK_THROWS_WITH(timestamp_format("%d/%m/%Y %H %d"), "'%d/%m/%Y %H %d' has %d twice");
    CHECK_THROWS_WITH(timestamp_format("dd/mm/yyyy"),
                      "'dd/mm/yyyy' has no %Y: a pattern needs the date and hour (%Y %m %d %H)");
    CHECK_THROWS_WITH(timestamp_format("%Y%m%d %H%"),
                      "'%Y%m%d %H%' is not \"iso8601\", \"epoch_s\", \"epoch_ms\" or a pattern of %Y %m %d %H %M %S "
                      "%z (such as \"%d/%m/%Y %H:%M\"): it has '%'");
    CHECK_THROWS_WITH(timestamp_format("%Y-%m-%dT%H:%M:%SZ"),
                      "'%Y-%m-%dT%H:%M:%SZ' has 'Z' as text: write the zone as %z (Z, UTC, +01:00, +0100), or it is "
                      "read as local time");
    CHECK_THROWS_WITH(timestamp_format("%d/%m/%Y %H:%M UTC"),
                      "'%d/%m/%Y %H:%M UTC' has 'UTC' as text: write the zone as %z (Z, UTC, +01:00, +0100), or it "
                      "is read as local time");
    CHECK(timestamp_format("%Y%m%d %H%%").which() == timestamp_format::kind::pattern);
  }
  SECTION("in JSON lines") {
    record_layout seconds(file_format::jsonl);
    seconds.ts_format = timestamp_format("epoch_s");
    record_parser p(seconds);
    CHECK(parse_line(p, R"({"ts":1704067200,"wh":1})").r.ts_ms == utc(2024, 1, 1, 0));
    CHECK(parse_line(p, R"({"ts":"1704067200","wh":1})").r.ts_ms == utc(2024, 1, 1, 0));
    CHECK(parse_line(p, R"({"ts":true,"wh":1})").why == "ts must be a number (ts_format = \"epoch_s\"), got a boolean");
    record_layout pattern(file_format::jsonl);
    pattern.ts_format = timestamp_format("%d/%m/%Y %H:%M");
    record_parser q(pattern);
    CHECK(parse_line(q, R"({"ts":"07/01/2024 14:30","wh":1})").r.ts_ms == utc(2024, 1, 7, 13, 30));
    CHECK(parse_line(q, R"({"ts":1704067200000,"wh":1})").why ==
          "ts must be a string (ts_format = \"%d/%m/%Y %H:%M\"), got a number");
  }
}

TEST_CASE("the raw UCI file: date and time in two columns, mean kW over each minute", "[replay][export]") {
  record_layout layout(file_format::csv, "Date", "Global_active_power");
  layout.time_field = "Time";
  layout.delimiter = ';';
  layout.ts_format = timestamp_format("%d/%m/%Y %H:%M:%S");
  layout.unit = {1000.0, true, "kW"};
  auto p = csv_parser_of(layout, "Date;Time;Global_active_power;Voltage");
  auto r = parse_spanned(p, "16/12/2006;17:24:00;4.216;234.840", 60'000);
  REQUIRE(r.ok);
  CHECK(r.r.ts_ms == utc(2006, 12, 16, 16, 24));
  CHECK(r.r.wh == Approx(4216.0 / 60));
  REQUIRE(r.r.labels.size() == 1);  // neither the date nor the time is a label
  CHECK(r.r.labels[0].key == "Voltage");
  // The file's own missing values: named by the hint, skipped once listed.
  CHECK(parse_spanned(p, "21/12/2006;11:23:00;?;?", 60'000).why ==
        "Global_active_power is not a number: '?'; if that means no reading, set no_reading = [\"?\"]");
  CHECK_FALSE(p.was_no_reading());
  layout.no_reading = {"?"};
  auto marked = csv_parser_of(layout, "Date;Time;Global_active_power;Voltage");
  const auto missing = parse_spanned(marked, "21/12/2006;11:23:00;?;?", 60'000);
  CHECK_FALSE(missing.ok);
  CHECK(missing.why == "no reading ('?')");
  CHECK(marked.was_no_reading());
  CHECK(parse_spanned(marked, "16/12/2006;17:24:00;4.216;?", 60'000).ok);  // only wh's marks count
  CHECK_FALSE(marked.was_no_reading());
  CHECK(parse_spanned(marked, "21/12/2006;11:23:00;abc;?", 60'000).why == "Global_active_power is not a number: 'abc'");
  CHECK(parse_spanned(p, "21/12/2006;;1.0;?", 60'000).why ==
        "bad timestamp '21/12/2006 ' (expected ts_format '%d/%m/%Y %H:%M:%S')");
  CHECK(parse_spanned(p, "21/12/2006", 60'000).why == "expected 4 fields, got 1");
  CHECK_THROWS_WITH(csv_parser_of(layout, "Date;Global_active_power"),
                    "header row has no 'Time' column: 'Date;Global_active_power'; set time_field to the name of the "
                    "column with the time of day");
}

TEST_CASE("a load curve: mean power over each reading's span", "[replay][export]") {
  record_layout layout(file_format::csv, "ts", "w");
  layout.unit = {1.0, true, "W"};
  auto p = csv_parser_of(layout, "ts,w,span_ms");
  auto r = parse_spanned(p, "2024-01-07T01:00:00+01:00,500,", 1'800'000);
  REQUIRE(r.ok);
  CHECK(r.r.wh == 250);  // 500 W for half an hour
  CHECK(r.r.ts_ms == utc(2024, 1, 7, 0));
  CHECK(parse_spanned(p, "2024-01-07T01:00:00+01:00,500,900000", 1'800'000).r.wh == 125);  // the row's own span first
  CHECK(parse_spanned(p, "2024-01-07T01:00:00+01:00,500,0", 1'800'000).why ==
        "w is a mean power (wh_unit = \"W\"), and the reading covers no time (span_ms 0): its energy cannot be known");
}

TEST_CASE("a CSV file without a header row, its columns named by the layout", "[replay][csv][export]") {
  record_layout layout(file_format::csv);
  layout.columns = {"ts", "wh", "note"};
  record_parser p(layout);
  CHECK_FALSE(p.expects_header());
  auto r = parse_line(p, "2024-01-07T14:30:00,42,x");
  REQUIRE(r.ok);
  CHECK(r.r.wh == 42);
  CHECK(r.r.labels.at(0).key == "note");

  layout.columns = {"time", "wh"};
  CHECK_THROWS_WITH(record_parser(layout),
                    "names no 'ts' column: set ts_field to one of its names, or name that column 'ts'");
  layout.columns = {"ts", "wh", "ts"};
  CHECK_THROWS_WITH(record_parser(layout), "columns: duplicate column 'ts'");
  // A header-less file read as having a header says what to do.
  CHECK_THROWS_WITH(csv_parser("1704067200,12345.678"),
                    "header row has no 'ts' column: '1704067200,12345.678'; it looks like data: a file without a "
                    "header row needs its columns named (columns = [\"ts\", \"wh\"])");
}

TEST_CASE("ts_format: a zone written in the time, and numbers packed without separators", "[replay][export]") {
  record_layout layout(file_format::csv);
  layout.ts_format = timestamp_format("%Y-%m-%d %H:%M:%S%z");
  auto p = csv_parser_of(layout, "ts,wh");
  CHECK(parse_line(p, "2024-07-01 10:00:00Z,1").r.ts_ms == utc(2024, 7, 1, 10));
  CHECK(parse_line(p, "2024-07-01 10:00:00UTC,1").r.ts_ms == utc(2024, 7, 1, 10));
  CHECK(parse_line(p, "2024-07-01 10:00:00+02:00,1").r.ts_ms == utc(2024, 7, 1, 8));
  CHECK(parse_line(p, "2024-07-01 10:00:00-0130,1").r.ts_ms == utc(2024, 7, 1, 11, 30));
  CHECK(parse_line(p, "2024-07-01 10:00:00+02,1").r.ts_ms == utc(2024, 7, 1, 8));
  CHECK(parse_line(p, "2024-07-01 10:00:00,1").why ==
        "bad timestamp '2024-07-01 10:00:00' (expected ts_format '%Y-%m-%d %H:%M:%S%z')");
  CHECK(parse_line(p, "2024-07-01 10:00:00+25:00,1").why ==
        "bad timestamp '2024-07-01 10:00:00+25:00' (expected ts_format '%Y-%m-%d %H:%M:%S%z')");

  // Fields with nothing between them take two digits each: one reading, not several.
  layout.ts_format = timestamp_format("%Y%m%d%H");
  auto packed = csv_parser_of(layout, "ts,wh");
  CHECK(parse_line(packed, "2024111100,1").r.ts_ms == utc(2024, 11, 10, 23));
  CHECK(parse_line(packed, "202411110,1").why == "bad timestamp '202411110' (expected ts_format '%Y%m%d%H')");
  CHECK(parse_line(packed, "20241111,1").why == "bad timestamp '20241111' (expected ts_format '%Y%m%d%H')");
}

TEST_CASE("ts_zone UTC: times written without an offset are UTC, those with one what they say", "[replay][export]") {
  // Shelly's energy meters export "Date/time UTC" as 2024-10-27 00:30.
  record_layout layout(file_format::csv);
  layout.ts_format = timestamp_format("%Y-%m-%d %H:%M", true);
  auto p = csv_parser_of(layout, "ts,wh");
  const auto first = parse_line(p, "2024-10-27 00:30,1");
  CHECK(first.r.ts_ms == utc(2024, 10, 27, 0, 30));
  CHECK_FALSE(p.ts_was_wall_clock());  // never moved as a repeated local time
  layout.ts_format = timestamp_format("iso8601", true);
  auto iso = csv_parser_of(layout, "ts,wh");
  CHECK(parse_line(iso, "2024-07-01T10:00:00,1").r.ts_ms == utc(2024, 7, 1, 10));
  CHECK(parse_line(iso, "2024-07-01T10:00:00+02:00,1").r.ts_ms == utc(2024, 7, 1, 8));
  CHECK(parse_line(iso, "1719828000,1").why ==
        "bad timestamp '1719828000' (expected ISO-8601 such as 2007-01-01T04:00:00); epoch seconds or milliseconds? "
        "set ts_format = \"epoch_s\" or \"epoch_ms\"");
  layout.ts_format = timestamp_format("%Y-%m-%d %H:%M%z", true);
  auto with_offset = csv_parser_of(layout, "ts,wh");
  CHECK(parse_line(with_offset, "2024-07-01 10:00+02:00,1").r.ts_ms == utc(2024, 7, 1, 8));
}

TEST_CASE("a header-less file of epoch times read as ISO-8601 says which ts_format reads it", "[replay][export]") {
  record_layout layout(file_format::csv);
  layout.columns = {"ts", "wh"};
  record_parser p(layout);
  CHECK(parse_line(p, "1704067200,1").why == "bad timestamp '1704067200' (expected ISO-8601 such as "
                                              "2007-01-01T04:00:00); epoch seconds or milliseconds? set ts_format = "
                                              "\"epoch_s\" or \"epoch_ms\"");
}

// Bad input, tried for real through the binary: what docs/reliability.md's
// table says the system does with each kind (a clear error at file:line, or
// the reading skipped and counted, and nothing lost from the valid ones).
#include "fixture_pipeline.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

using namespace test_support;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

std::string lines(const std::vector<std::string>& all) {
  std::string text;
  for (const auto& l : all) text += l + "\n";
  return text;
}

} // namespace

TEST_CASE("bad input: pipeline files toml++ 3.3 trips over are one syntax error at file:line:column") {
  // Found by tests/fuzz/run pipeline: toml++'s headers assert on these, or
  // reach __builtin_unreachable(); the shipped library must report them.
  CHECK_THAT(invalid("[=b]\n"), StartsWith("p.toml:1:2: TOML syntax error: "));
  CHECK_THAT(invalid(std::string("[[\0sources]]\n", 14)), StartsWith("p.toml:1:3: TOML syntax error: "));
  CHECK_THAT(invalid("a = 1 \xD0\xA1\n"), StartsWith("p.toml:1:7: TOML syntax error: "));  // Cyrillic
  CHECK_THAT(invalid("\xE3\x81\x82 = 1\n"), StartsWith("p.toml:1:1: TOML syntax error: "));  // Hiragana
  CHECK_THAT(invalid("name = \"\xFF\"\n"), StartsWith("p.toml:1:8: TOML syntax error: "));  // invalid UTF-8
  CHECK_THAT(invalid("[pipeline]\nname = \"t"), StartsWith("p.toml:2:10: TOML syntax error: "));  // truncated
  CHECK_THAT(invalid("[pipeline]\nname = \"a\"\nname = \"b\"\n"), StartsWith("p.toml:3:8: TOML syntax error: "));  // duplicate key
  // A key of ~35,000 dotted parts overflowed toml++ 3.3's stack (SIGSEGV).
  std::string deep = "a";
  for (int i = 0; i < 100'000; ++i) deep += ".a";
  CHECK(invalid("[pipeline]\nname = \"a\"\n" + deep + " = 1\n") ==
        "p.toml:3:1: TOML syntax error: a key of more than 1024 dotted parts\n");
  CHECK(invalid("[" + deep + "]\n") == "p.toml:1:2: TOML syntax error: a key of more than 1024 dotted parts\n");
}

TEST_CASE("bad input: NaN, infinity and oversized numbers in a pipeline file are refused at their line") {
  CHECK(invalid(fixture_pipeline("alert_threshold = nan", "", "", "")) ==
        "p.toml:3:19: option 'alert_threshold' of [pipeline] must be a finite number, not nan\n");
  CHECK(invalid(fixture_pipeline("", "", "", "alert_threshold = -inf")) ==
        "p.toml:18:19: option 'alert_threshold' of sink 'out' must be a finite number, not -inf\n");
  CHECK(invalid(fixture_pipeline("", "", "divisor = inf", "")) ==
        "p.toml:12:11: option 'divisor' of scorer 'ratio' (fixture_scorer) must be a finite number, not inf\n");
  // A batch_size of 10^17 hung the source reserving room for it.
  CHECK(invalid(fixture_pipeline("batch_size = 100000000000000000", "", "", "")) ==
        "p.toml:3:14: option 'batch_size' of [pipeline] must be within 1..1000000; got 100000000000000000\n");
  CHECK(invalid(fixture_pipeline("max_in_flight = 0", "", "", "")) ==
        "p.toml:3:17: option 'max_in_flight' of [pipeline] must be within 1..1000; got 0\n");
  CHECK(invalid(fixture_pipeline("max_restarts = 4294967295", "", "", "")) ==
        "p.toml:3:16: option 'max_restarts' of [pipeline] must be within 0..1000; got 4294967295\n");
  // The sum of the parts overflowed (undefined behaviour) and some such durations validated.
  CHECK(invalid(fixture_pipeline("shutdown_timeout = \"99999999999999999d\"", "", "", "")) ==
        "p.toml:3:20: option 'shutdown_timeout' of [pipeline] must be a duration such as \"30s\", \"5m\" or "
        "\"1h30m\", not \"99999999999999999d\"\n");
  // Past 106,751 days the actor timer overflowed: the stop gave up at once, exit 1.
  CHECK(invalid(fixture_pipeline("shutdown_timeout = \"200000d\"", "", "", "")) ==
        "p.toml:3:20: option 'shutdown_timeout' of [pipeline] must be at most 24h; got 4800000h\n");
  CHECK(invalid(fixture_pipeline("restart_backoff = \"25h\"", "", "", "")) ==
        "p.toml:3:19: option 'restart_backoff' of [pipeline] must be at most 24h; got 25h\n");
}

TEST_CASE("bad input: a sink's keys that could not do what they say are refused at their line") {
  // retry_backoff 0s spent every retry within milliseconds, a 429 included.
  CHECK(invalid(fixture_pipeline("", "", "", "retry_backoff = \"0s\"")) ==
        "p.toml:18:17: option 'retry_backoff' of sink 'out' must be above 0s; got 0s\n");
  // With receive = "unusual" the sink's quiet hours and sustain were ignored without a word.
  CHECK(invalid(fixture_pipeline("", "", "", "receive = \"unusual\"\nquiet_hours = \"22:00-07:00\"\nsustain = 3")) ==
        "p.toml:19:15: option 'quiet_hours' of sink 'out' has no effect with receive = \"unusual\": the alert policy "
        "decides only what receive = \"alerts\" gets\n"
        "p.toml:20:11: option 'sustain' of sink 'out' has no effect with receive = \"unusual\": the alert policy "
        "decides only what receive = \"alerts\" gets\n");
  CHECK(invalid(fixture_pipeline("", "", "", "receive = \"all\"\nresolved = true")) ==
        "p.toml:19:12: option 'resolved' of sink 'out' has no effect with receive = \"all\": the alert policy "
        "decides only what receive = \"alerts\" gets\n");
  // [pipeline]'s own are for the sinks that do take alerts: no word.
  temp_dir dir;
  const auto r = run({"validate", dir.file("p.toml", fixture_pipeline("quiet_hours = \"22:00-07:00\"", "", "",
                                                                      "receive = \"unusual\""))},
                     fixture_env);
  CHECK(r.exit_code == 0);
}

TEST_CASE("bad input: every bad line of a history is skipped with file:line and why, every valid reading scored") {
  temp_dir dir;
  const std::string long_line = "2007-01-01T09:00:00,1," + std::string((1 << 20) + 10, 'x');
  const std::string csv = dir.file("h.csv", lines({
      "ts,wh,room",                     // 1
      "2007-01-01T00:00:00,100,a",      // 2  valid
      "2007-01-01T01:00:00",            // 3  truncated
      "2007-01-01T02:00:00,lots,a",     // 4  wrong type
      "2007-01-01T03:00:00,nan,a",      // 5  NaN
      "2007-01-01T04:00:00,-inf,a",     // 6  infinity
      "2007-01-01T05:00:00,-5,a",       // 7  negative Wh
      "2007-01-01T06:00:00,1e400,a",    // 8  oversized number
      "0000-01-01T00:00:00,1,a",        // 9  valid, far in the past
      "9999-12-31T23:00:00,2,a",        // 10 valid, far in the future
      "2007-01-01T07:00:00,3,a",        // 11 valid
      "2007-01-01T07:00:00,3,a",        // 12 valid, a duplicate
      "2007-01-01T03:30:00,4,a",        // 13 valid, out of order
      "2007-01-01T08:00:00,5,caf\xE9",  // 14 valid, a Latin-1 label
      long_line,                        // 15 oversized line
      "2007-13-01T00:00:00,1,a",        // 16 impossible date
  }));
  const std::string jsonl = dir.file("h.jsonl", lines({
      R"({"ts":"2007-01-01T00:00:00","wh":1,"extra":"x","n":2})",  // 1 valid, unknown fields become labels
      R"({"ts":9166761320167613201,"wh":2})",                     // 2 timestamp far out of range
      R"({"ts":"2007-01-01T01:00:00","wh":true})",                // 3 wrong type
      R"({"ts":"2007-01-01T02:00:00","wh":4,"wh":5})",            // 4 duplicate key
      R"({"ts":"2007-01-01T03:00:00","wh":NaN})",                 // 5 NaN is not JSON
      R"({"ts":"2007-01-01T04:00:00","wh":6)",                    // 6 truncated
      "{\"ts\":\"2007-01-01T05:00:00\",\"wh\":7,\"room\":\"\xFF\"}",  // 7 valid, invalid UTF-8
  }));
  const std::string pipeline = dir.file("p.toml", R"([pipeline]
name = "bad"
[[sources]]
name = "csv"
plugin = "replay"
path = "h.csv"
meter = "csv"
[[sources]]
name = "jsonl"
plugin = "replay"
path = "h.jsonl"
meter = "jsonl"
[[scorers]]
name = "ratio"
plugin = "fixture_scorer"
from = ["csv", "jsonl"]
[[sinks]]
name = "out"
plugin = "console"
from = ["ratio"]
receive = "all"
format = "json"
)");
  const auto r = run({"run", pipeline}, fixture_env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> skipped{
      csv + ":3: expected 3 fields, got 1",
      csv + ":4: wh is not a number: 'lots'",
      csv + ":5: wh is not finite: 'nan'",
      csv + ":6: wh is not finite: '-inf'",
      csv + ":7: wh is negative: '-5' (energy sent to the grid? read the energy drawn from it)",
      csv + ":8: wh is out of range: '1e400'",
      csv + ":15: line longer than 1 MiB",
      csv + ":16: bad timestamp '2007-13-01T00:00:00' (expected ISO-8601 such as 2007-01-01T04:00:00)",
      jsonl + ":2: ts is out of range: 9166761320167613201 (epoch milliseconds of years 0000 to 9999)",
      jsonl + ":3: wh must be a number, got a boolean",
      jsonl + ":4: bad JSON at column 36: duplicate key \"wh\"",
      jsonl + ":5: bad JSON at column 34: expected a value",
      jsonl + ":6: bad JSON at column 35: expected ',' or '}'",
  };
  for (const auto& s : skipped) CHECK_THAT(r.err, Contains(s + ", line skipped"));
  CHECK(count_lines(r.err, ", line skipped") == skipped.size());
  CHECK_THAT(r.err, Contains("[csv] replayed 7 readings, skipped 8 malformed lines"));
  CHECK_THAT(r.err, Contains("[jsonl] replayed 2 readings, skipped 5 malformed lines"));
  CHECK_THAT(r.err, Contains("pipeline 'bad' finished: 9 readings"));

  // Every valid reading is scored once, duplicates and all, in file order.
  CHECK(count_lines(r.out, "\"meter\":\"csv\"") == 7);
  CHECK(count_lines(r.out, "\"meter\":\"jsonl\"") == 2);
  CHECK(count_lines(r.out, "\"ts_ms\":-62167219200000,") == 1);   // 0000-01-01T00:00:00Z
  CHECK(count_lines(r.out, "\"ts_ms\":253402297200000,") == 1);   // 9999-12-31T23:00:00Z
  CHECK(count_lines(r.out, "\"ts_ms\":1167634800000,") == 2);     // the duplicate, twice
  CHECK(count_lines(r.out, "\"labels\":{\"extra\":\"x\",\"n\":\"2\"}") == 1);
  // Invalid UTF-8 in a label becomes U+FFFD: the JSON output stays valid.
  CHECK(count_lines(r.out, "\"labels\":{\"room\":\"caf\\ufffd\"}") == 1);
  CHECK(count_lines(r.out, "\"labels\":{\"room\":\"\\ufffd\"}") == 1);
  CHECK(std::all_of(r.out.begin(), r.out.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
}

// `stream-smarts validate`: every kind of bad pipeline file gets one clear
// file:line:column message, and exit code 2.
#include "fixture_pipeline.hpp"
#include "history_text.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

using namespace test_support;

namespace {

const std::string good = R"([pipeline]
name = "t"
[[sources]]
name = "in"
plugin = "fixture_source"
[[scorers]]
name = "ratio"
plugin = "fixture_scorer"
from = ["in"]
[[sinks]]
name = "out"
plugin = "fixture_sink"
from = ["ratio"]
record = "alerts.txt"
)";

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

} // namespace

TEST_CASE("a valid pipeline validates") {
  temp_dir dir;
  const auto r = run({"validate", dir.file("p.toml", good)}, fixture_env);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("ok (1 sources, 1 scorers, 1 sinks)") != std::string::npos);
}

TEST_CASE("TOML syntax error") {
  CHECK(invalid(replace(good, "name = \"t\"", "name = \"t")) ==
        "p.toml:2:10: TOML syntax error: Error while parsing string: unescaped control characters other than TAB "
        "(U+0009) are explicitly prohibited\n");
}

TEST_CASE("unknown plugin, with the nearest name and where it was looked for") {
  CHECK(invalid(replace(good, "\"fixture_scorer\"", "\"fixture_scorr\"")) ==
        "p.toml:8:10: unknown plugin 'fixture_scorr' for scorer 'ratio' (did you mean 'fixture_scorer'?); searched " +
            plugin_dir() + ", " + fixtures("good") + " (STREAM_SMARTS_PLUGIN_PATH); `stream-smarts plugins` lists the "
            "plugins found\n");
}

TEST_CASE("a stage whose plugin is unknown is named by that plugin in its other errors") {
  // Wired wrong too: a sink taking from a source.
  const std::string text = replace(replace(good, "\"fixture_sink\"", "\"webhok\""), "from = [\"ratio\"]",
                                   "from = [\"in\"]");
  CHECK_THAT(invalid(text), Catch::Matchers::Contains("sink 'out' (webhok) takes from 'in', a source"));
}

TEST_CASE("unknown plugin: a plugin_dirs folder that does not exist is named") {
  CHECK(invalid(replace(replace(good, "[pipeline]", "[pipeline]\nplugin_dirs = ['my-plugns']"), "\"fixture_scorer\"",
                        "\"hourcap\"")) ==
        "p.toml:9:10: unknown plugin 'hourcap' for scorer 'ratio'; searched " + plugin_dir() + ", my-plugns "
        "(plugin_dirs, no such folder), " + fixtures("good") + " (STREAM_SMARTS_PLUGIN_PATH); `stream-smarts plugins` "
        "lists the plugins found (with --plugin-dir for each of plugin_dirs)\n");
}

TEST_CASE("unknown option, with the nearest valid key") {
  CHECK(invalid(replace(good, "record =", "recrod =")) ==
        "p.toml:10:1: sink 'out' (fixture_sink) is missing required option 'record' (a string: File the alerts are "
        "appended to.)\n"
        "p.toml:14:1: unknown option 'recrod' for sink 'out' (fixture_sink) (did you mean 'record'?)\n");
}

TEST_CASE("unknown option: a runtime key given without its first word is named") {
  // "retries" is four edits from "max_retries": too far for a typo, but the
  // one sink key it ends, and so what was meant
  CHECK(invalid(good + "retries = 3\n") ==
        "p.toml:15:1: unknown option 'retries' for sink 'out' (fixture_sink) (did you mean 'max_retries'?)\n");
  CHECK(invalid(good + "backoff = \"5s\"\n") ==
        "p.toml:15:1: unknown option 'backoff' for sink 'out' (fixture_sink) (did you mean 'retry_backoff'?)\n");
}

TEST_CASE("wrong type") {
  CHECK(invalid(replace(good, "plugin = \"fixture_source\"", "plugin = \"fixture_source\"\ncount = \"ten\"")) ==
        "p.toml:6:9: option 'count' of source 'in' (fixture_source) must be an integer, not a string\n");
}

TEST_CASE("dangling from") {
  CHECK(invalid(replace(good, "from = [\"in\"]", "from = [\"inn\"]")) ==
        "p.toml:9:9: scorer 'ratio' (fixture_scorer) takes from 'inn', which is not a stage in this file (did you "
        "mean 'in'?)\n");
}

TEST_CASE("cyclic from") {
  const std::string text = good + R"([[scorers]]
name = "a"
plugin = "fixture_scorer"
from = ["b"]
[[scorers]]
name = "b"
plugin = "fixture_scorer"
from = ["a"]
)";
  CHECK(invalid(text) == "p.toml:15:1: stages form a cycle through 'from': 'a' -> 'b' -> 'a'\n");
}

TEST_CASE("a sink wired to a stage of the wrong kind") {
  CHECK(invalid(replace(good, "from = [\"ratio\"]", "from = [\"in\"]")) ==
        "p.toml:6:1: scorer 'ratio' (fixture_scorer) feeds no sink; name it in a sink's 'from'\n"
        "p.toml:13:9: sink 'out' (fixture_sink) takes from 'in', a source; sinks take from scorers\n");
}

TEST_CASE("a plugin in the wrong table") {
  CHECK(invalid(replace(good, "plugin = \"fixture_sink\"", "plugin = \"fixture_source\"")) ==
        "p.toml:12:10: plugin 'fixture_source' is a source, but sink 'out' is in [[sinks]]\n");
}

TEST_CASE("an unset environment variable is named") {
  unsetenv("SS_NOT_SET_ANYWHERE");
  CHECK(invalid(replace(good, "\"alerts.txt\"", "\"${SS_NOT_SET_ANYWHERE}/alerts.txt\"")) ==
        "p.toml:14:10: option 'record' of sink 'out' (fixture_sink) uses environment variable "
        "'SS_NOT_SET_ANYWHERE', which is not set\n");
}

TEST_CASE("a plugin's own check of an option is reported at that option") {
  CHECK(invalid(replace(good, "from = [\"in\"]", "from = [\"in\"]\ndivisor = -1")) ==
        "p.toml:10:11: option 'divisor' of scorer 'ratio' (fixture_scorer): must be above 0\n");
}

TEST_CASE("a plugin's own check is reported with the file's other problems, in one run") {
  const std::string text = replace(good, "from = [\"in\"]", "from = [\"in\"]\ndivisor = -1") +
                           "[[sources]]\nname = \"spare\"\nplugin = \"fixture_source\"\n";
  // In the file's order, though the plugin's check comes last.
  CHECK(invalid(text) == "p.toml:10:11: option 'divisor' of scorer 'ratio' (fixture_scorer): must be above 0\n"
                         "p.toml:16:1: source 'spare' (fixture_source) feeds no scorer; name it in a scorer's 'from'\n");
}

TEST_CASE("a value outside the range a plugin declares is refused at the value") {
  const std::string text = R"([pipeline]
name = "t"
[[sources]]
name = "in"
plugin = "replay"
path = "h.csv"
speed = 0
span = "25h"
[[scorers]]
name = "season"
plugin = "dlib_regression"
from = ["in"]
model = "m.bin"
excess_wh = -1
excess_allowance = 11
excess_min_hours = 0.5
[[sinks]]
name = "out"
plugin = "fixture_sink"
from = ["season"]
record = "alerts.txt"
)";
  CHECK(invalid(text) ==
        "p.toml:7:9: option 'speed' of source 'in' (replay) must be above 0; got 0\n"
        "p.toml:8:8: option 'span' of source 'in' (replay) must be at most 24h; got 25h\n"
        "p.toml:14:13: option 'excess_wh' of scorer 'season' (dlib_regression) must be at least 0; got -1\n"
        "p.toml:15:20: option 'excess_allowance' of scorer 'season' (dlib_regression) must be within 0..10; got 11\n"
        "p.toml:16:20: option 'excess_min_hours' of scorer 'season' (dlib_regression) must be within 1..100; got "
        "0.5\n");
}

TEST_CASE("pipeline settings, duplicate names, unknown time zone, no sources") {
  CHECK(invalid(replace(good, "name = \"t\"", "name = \"t\"\ntimezone = \"Mars/Olympus\"")) ==
        "p.toml:3:12: unknown time zone 'Mars/Olympus' (use an IANA name such as \"Europe/Paris\" or \"UTC\"; see "
        "/usr/share/zoneinfo)\n");
  CHECK(invalid(replace(good, "name = \"ratio\"", "name = \"in\"")).find(
            "p.toml:6:1: stage name 'in' is already used at line 3; names must be unique") != std::string::npos);
  CHECK(invalid(replace(good, "name = \"ratio\"", "name = \"runtime\"")).find(
            "p.toml:6:1: stage name 'runtime' is taken by stream-smarts's own log lines; choose another") !=
        std::string::npos);
  CHECK(invalid(replace(good, "name = \"in\"", "name = \"\"")).find("p.toml:4:8: a stage name must not be empty") !=
        std::string::npos);
  CHECK(invalid(replace(good, "name = \"in\"", "name = \"in\\nsl: ok\"")).find(
            "p.toml:4:8: a stage name must not hold a line break or another control character") != std::string::npos);
  const std::string odd_from = replace(replace(good, "from = [\"ratio\"]", "from = []"), "from = [\"in\"]",
                                       "from = [\"in\", 5]");
  const std::string odd = invalid(odd_from);
  CHECK_THAT(odd, Catch::Matchers::Contains("p.toml:9:15: option 'from' of scorer 'ratio' must hold only strings; this "
                                            "element is an integer\n"));
  CHECK_THAT(odd, Catch::Matchers::Contains("p.toml:13:8: option 'from' of sink 'out' must name at least one stage\n"));
  // Each of two stages with one name has its own 'from': an error in the first's is placed there.
  const std::string twice = replace(good, "from = [\"in\"]", "from = [\"in\", \"nosuch\"]") +
                            "[[scorers]]\nname = \"ratio\"\nplugin = \"fixture_scorer\"\nfrom = [\"in\"]\n";
  CHECK_THAT(invalid(twice), Catch::Matchers::Contains("p.toml:9:15: scorer 'ratio' (fixture_scorer) takes from "
                                                       "'nosuch', which is not a stage in this file"));
  CHECK(invalid("[pipeline]\nname = 'empty'\n") == "p.toml: the pipeline has no [[sources]]: add at least one source stage\n");
  CHECK(invalid(replace(good, "[pipeline]", "[pipelin]")) ==
        "p.toml:1:1: unknown top-level key 'pipelin'; a pipeline has [pipeline], [[sources]], [[scorers]] and "
        "[[sinks]] (did you mean 'pipeline'?)\n");
}

TEST_CASE("a file that does not exist") {
  const auto r = run({"validate", "/nonexistent/p.toml"}, fixture_env);
  CHECK(r.exit_code == 2);
  CHECK(r.err == "/nonexistent/p.toml: cannot open the pipeline file: No such file or directory\n");
  temp_dir dir;
  const auto folder = run({"validate", dir.path()}, fixture_env);
  CHECK(folder.exit_code == 2);
  CHECK(folder.err == dir.path() + ": cannot read the pipeline file: it is a directory\n");
}

TEST_CASE("a band with hi <= lo is rejected at validation, at the band option") {
  std::string rows;
  for (int h = 0; h < 24; ++h) rows += h == 3 ? "[300, 200], " : "[100, 900], ";
  const std::string text = "[[sources]]\nname = 'in'\nplugin = 'fixture_source'\n[[scorers]]\nname = 'band'\n"
                           "plugin = 'percentile_band'\nfrom = ['in']\nband = [" + rows + "]\n[[sinks]]\nname = 'out'\n"
                           "plugin = 'fixture_sink'\nfrom = ['band']\nrecord = 'a.txt'\n";
  CHECK(invalid(text) == "p.toml:8:8: option 'band' of scorer 'band' (percentile_band): band row for hour 3: hi (200) "
                         "must be above lo (300)\n");
}

TEST_CASE("a scorer's training option in a pipeline is refused: it scores with what its model was trained with") {
  // alerts_per_week = 5 beside a model validated, and the scorer alerted as its model said, without a word.
  std::string rows;
  for (int h = 0; h < 24; ++h) rows += "[100, 900], ";
  const std::string text = "[[sources]]\nname = 'in'\nplugin = 'fixture_source'\n[[scorers]]\nname = 'band'\n"
                           "plugin = 'percentile_band'\nfrom = ['in']\nband = [" + rows + "]\nhi_percentile = 95\n"
                           "[[sinks]]\nname = 'out'\nplugin = 'fixture_sink'\nfrom = ['band']\nrecord = 'a.txt'\n";
  const std::string refused = "p.toml:9:17: option 'hi_percentile' of scorer 'band' (percentile_band) is for training: "
                              "a scorer scores with what its model was trained with; to change it, train the model "
                              "again (stream-smarts train --set hi_percentile=...)\n";
  CHECK(invalid(text) == refused);
  // Out of its range too, it is the same one message: fixing the value would not make it do anything.
  CHECK(invalid(replace(text, "hi_percentile = 95", "hi_percentile = 120")) == refused);
  CHECK(invalid(replace(text, "hi_percentile = 95", "hi_percentile = 'high'")) == refused);
}

TEST_CASE("a runtime key on the wrong kind of stage is one clear message") {
  CHECK(invalid(replace(good, "plugin = \"fixture_source\"", "plugin = \"fixture_source\"\nfrom = [\"ratio\"]")) ==
        "p.toml:6:8: source 'in' takes no 'from': sources are where readings start\n");
  CHECK(invalid(replace(good, "from = [\"in\"]", "from = [\"in\"]\nreceive = \"all\"")) ==
        "p.toml:10:11: scorer 'ratio' takes no 'receive': only sinks choose what they receive\n");
}

TEST_CASE("the alert policy's keys are checked in [pipeline] and on sinks") {
  CHECK(invalid(replace(good, "name = \"t\"", "name = \"t\"\nquiet_hours = \"22-7\"")) ==
        "p.toml:3:15: option 'quiet_hours' of [pipeline] must be local times \"HH:MM-HH:MM\", e.g. \"22:00-07:00\", "
        "not \"22-7\"\n");
  CHECK(invalid(replace(good, "name = \"t\"", "name = \"t\"\nquiet_hours = \"07:00-07:00\"")) ==
        "p.toml:3:15: option 'quiet_hours' of [pipeline] \"07:00-07:00\" is no time at all (it ends where it starts); "
        "the whole day is \"00:00-24:00\"\n");
  CHECK(invalid(replace(good, "name = \"t\"", "name = \"t\"\nquiet_hours = \"24:00-24:00\"")) ==
        "p.toml:3:15: option 'quiet_hours' of [pipeline] \"24:00-24:00\" is no time at all (it ends where it "
        "starts); the whole day is \"00:00-24:00\"\n");
  CHECK(invalid(replace(good, "record = \"alerts.txt\"", "record = \"alerts.txt\"\nsustain = 0")) ==
        "p.toml:15:11: option 'sustain' of sink 'out' must be a duration (\"15m\") or 1 to 86400 readings, not 0\n");
  CHECK(invalid(replace(good, "record = \"alerts.txt\"", "record = \"alerts.txt\"\nsustain = 2147483648")) ==
        "p.toml:15:11: option 'sustain' of sink 'out' must be a duration (\"15m\") or 1 to 86400 readings, not "
        "2147483648\n");  // it wrapped round to a negative count, and the first reading raised
  CHECK(invalid(replace(good, "record = \"alerts.txt\"", "record = \"alerts.txt\"\nsustain = \"3\"")) ==
        "p.toml:15:11: option 'sustain' of sink 'out' must be a duration such as \"30s\", \"5m\" or \"1h30m\", or a "
        "whole number (without quotes), not \"3\"\n");
  CHECK(invalid(replace(good, "record = \"alerts.txt\"", "record = \"alerts.txt\"\nmax_retries = 5000")) ==
        "p.toml:15:15: option 'max_retries' of sink 'out' must be within 0..1000; got 5000\n");  // was cut to 1000 unsaid
  CHECK(invalid(replace(good, "record = \"alerts.txt\"", "record = \"alerts.txt\"\ncooldown = \"an hour\"")) ==
        "p.toml:15:12: option 'cooldown' of sink 'out' must be a duration such as \"30s\", \"5m\" or \"1h30m\", not "
        "\"an hour\"\n");
  CHECK(invalid(replace(good, "from = [\"in\"]", "from = [\"in\"]\ncooldown = \"1h\"")) ==
        "p.toml:10:12: scorer 'ratio' takes no 'cooldown': it is a sink's key (alert policy and retries)\n");
  CHECK(invalid(replace(good, "record = \"alerts.txt\"", "record = \"alerts.txt\"\nreceive = \"alarms\"")) ==
        "p.toml:15:11: option 'receive' of sink 'out' must be one of \"alerts\", \"unusual\", \"all\", not "
        "\"alarms\"\n");
}

TEST_CASE("a valid alert policy validates, overridden per sink") {
  temp_dir dir;
  const std::string text = replace(replace(good, "name = \"t\"",
                                           "name = \"t\"\nsustain = \"15m\"\ncooldown = \"1h\"\nremind_every = "
                                           "\"2h\"\nresolved = true\nquiet_hours = \"22:00-07:00\""),
                                   "record = \"alerts.txt\"", "record = \"alerts.txt\"\nquiet_hours = \"\"\nsustain = 3");
  const auto r = run({"validate", dir.file("p.toml", text)}, fixture_env);
  INFO(r.err);
  CHECK(r.exit_code == 0);
}

TEST_CASE("a plugin's warning of an option is said at that option by validate and run") {
  temp_dir dir;
  const std::string warned = "option 'divisor' of scorer 'ratio' (fixture_scorer): a fixture's warning";
  const std::string divisor = "divisor = 50\nwarn_of = 'divisor'";
  auto validate = [&](const std::string& scorer, const std::string& sink) {
    return run({"validate", dir.file("p.toml", fixture_pipeline("", "", scorer, sink))}, fixture_env);
  };
  const auto at_value = validate(divisor, "");
  CHECK(at_value.exit_code == 0);
  CHECK(at_value.err == dir.path() + "/p.toml:12:11: warning: " + warned + "\n");
  // An option left out (its default questioned): at its stage's table.
  CHECK(validate("warn_of = 'divisor'", "").err == dir.path() + "/p.toml:8:1: warning: " + warned + "\n");
  // With an error in the file, as the file's own warnings are.
  const auto with_error = validate(divisor, "bogus = 1");
  CHECK(with_error.exit_code == 2);
  CHECK_THAT(with_error.err, Catch::Matchers::EndsWith("/p.toml:12:11: warning: " + warned + "\n"));
  // run: once, as the runtime's warnings; the instance a restart (throw_every) makes says it again, unheard.
  const auto r = run({"run", dir.file("p.toml", fixture_pipeline("batch_size = 4\nrestart_backoff = '5ms'",
                                                                 "count = 10", divisor + "\nthrow_every = 7", ""))},
                     fixture_env);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  const std::string at = dir.path() + "/p.toml:13:11: " + warned;
  CHECK(count_lines(r.err, "warning [runtime] " + at) == 1);
  CHECK(count_lines(r.err, at) == 1);
  CHECK(count_lines(r.err, "restarting in 5 ms") == 1);
  // train: once, though its hold-out report makes the scorer for each of its two judgings.
  std::string flat = "ts,wh\n";
  for (int h = 0; h < 24 * 28; ++h) flat += history_time(h / 24, 60 * (h % 24)) + ",100\n";
  const auto trained = run({"train", "--scorer", "fixture_scorer", "--data", dir.file("h.csv", flat), "--set",
                            "warn_of=divisor", "--set", "divisor=50", "--out", dir.path() + "/m.toml"},
                           fixture_env);
  INFO(trained.err);
  CHECK(trained.exit_code == 0);
  CHECK(count_lines(trained.err, "(command line): warning: option 'divisor' of scorer 'fixture_scorer' "
                                 "(fixture_scorer): a fixture's warning") == 1);
}

TEST_CASE("a model trained in another time zone is warned of at its model option by validate and run") {
  temp_dir dir;
  const std::string model = source_dir() + "/models/household-band.toml";  // trained in Europe/Paris
  const std::string text = "[pipeline]\nname = 't'\ntimezone = 'UTC'\n[[sources]]\nname = 'in'\n"
                           "plugin = 'fixture_source'\ncount = 24\n[[scorers]]\nname = 'band'\n"
                           "plugin = 'percentile_band'\nfrom = ['in']\nmodel = '" + model + "'\n[[sinks]]\n"
                           "name = 'out'\nplugin = 'fixture_sink'\nfrom = ['band']\nrecord = 'alerts.txt'\n";
  const std::string at = dir.path() + "/p.toml:12:9: ";
  const std::string warning = "option 'model' of scorer 'band' (percentile_band): " + model +
                              ": trained in time zone Europe/Paris but read in UTC here (the pipeline's timezone, or "
                              "--timezone); its hours may be shifted";
  const auto v = run({"validate", dir.file("p.toml", text)}, fixture_env);
  CHECK(v.exit_code == 0);
  CHECK_THAT(v.err, Catch::Matchers::Contains("\n" + at + "warning: " + warning + "\n"));  // after "loaded ..."
  CHECK(count_lines(v.err, ": warning: ") == 1);
  const auto r = run({"run", dir.file("p.toml", text)}, fixture_env);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(count_lines(r.err, "warning [runtime] " + at + warning) == 1);
  CHECK(count_lines(r.err, "warning [") == 1);
}

TEST_CASE("Kafka properties that give credentials or readings away on the network are warned of") {
  temp_dir dir;
  const std::string pipeline = R"([pipeline]
name = "t"
timezone = "Europe/Paris"
[[sources]]
name = "raw_power"
plugin = "kafka_source"
brokers = "127.0.0.1:9"
topics = ["raw_power"]
properties = { "group.id" = "g", "security.protocol" = "SASL_PLAINTEXT", "sasl.mechanism" = "PLAIN", "sasl.username" = "u", "sasl.password" = "${KAFKA_PASSWORD}" }
[[scorers]]
name = "band"
plugin = "percentile_band"
from = ["raw_power"]
model = ")" + source_dir() + R"(/models/household-band.toml"
[[sinks]]
name = "alerts"
plugin = "kafka_sink"
from = ["band"]
brokers = "127.0.0.1:9"
topic = "alerts"
properties = { "security.protocol" = "SSL", "enable.ssl.certificate.verification" = "false", "ssl.endpoint.identification.algorithm" = "none" }
)";
  const auto r = run({"validate", dir.file("p.toml", pipeline)}, {{"KAFKA_PASSWORD", "hunter2-kafka"}});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  // Each at the property to change, as the runtime's own warnings.
  const std::string p = dir.path() + "/p.toml:";
  CHECK_THAT(r.err, Catch::Matchers::Contains(
                        p + "9:93: warning: option 'properties.sasl.mechanism' of source 'raw_power' "
                            "(kafka_source): sasl.mechanism = PLAIN over security.protocol = SASL_PLAINTEXT sends the "
                            "credentials unencrypted; use SASL_SSL\n" +
                        p + "21:85: warning: option 'properties.enable.ssl.certificate.verification' of sink "
                            "'alerts' (kafka_sink): enable.ssl.certificate.verification = false: the broker's "
                            "certificate is not checked, so anyone on the network path can pose as the broker and "
                            "read what is sent to it\n" +
                        p + "21:136: warning: option 'properties.ssl.endpoint.identification.algorithm' of sink "
                            "'alerts' (kafka_sink): ssl.endpoint.identification.algorithm = none: any certificate "
                            "your CA signed passes for this broker, whatever host it was made for\n"));
  CHECK(count_lines(r.err, ": warning: ") == 3);
  CHECK(r.err.find("hunter2-kafka") == std::string::npos);
  const auto safe = run({"validate", dir.file("q.toml", replace(replace(pipeline, "SASL_PLAINTEXT", "SASL_SSL"),
                                                                 "\"false\"", "\"true\""))},
                        {{"KAFKA_PASSWORD", "hunter2-kafka"}});
  INFO(safe.err);
  CHECK(safe.exit_code == 0);
  CHECK(count_lines(safe.err, ": warning: ") == 1);  // the host name check, still off
  // No security.protocol to point at: the first sasl.* property, which does nothing.
  const auto no_login = run({"validate", dir.file("r.toml", replace(pipeline, "\"security.protocol\" = \"SASL_PLAINTEXT\", ", ""))},
                            {{"KAFKA_PASSWORD", "hunter2-kafka"}});
  CHECK(no_login.err.find(dir.path() + "/r.toml:9:53: warning: option 'properties.sasl.mechanism' of source "
                                       "'raw_power' (kafka_source): sasl.* properties are set but security.protocol "
                                       "is plaintext (the default): no login is made; set security.protocol = "
                                       "SASL_SSL\n") != std::string::npos);
  // A security.protocol written: there.
  const auto ssl = run({"validate", dir.file("s.toml", replace(pipeline, "SASL_PLAINTEXT", "SSL"))},
                       {{"KAFKA_PASSWORD", "hunter2-kafka"}});
  CHECK(ssl.err.find(dir.path() + "/s.toml:9:56: warning: option 'properties.security.protocol' of source 'raw_power' "
                     "(kafka_source): sasl.* properties are set but security.protocol is ssl: no login is made; set "
                     "security.protocol = SASL_SSL\n") != std::string::npos);
}

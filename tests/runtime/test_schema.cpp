#include "schema.hpp"
#include "stage.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace stream_smarts;
using namespace stream_smarts::runtime;

namespace {

const std::vector<option_spec> specs{
    required_option("path", option_type::string, "File to read."),
    optional_option("speed", option_type::string | option_type::number, std::string("max"), "Pace.",
                    {"max", "realtime"}),
    optional_option("count", option_type::integer, std::int64_t{3}, "How many."),
    optional_option("ratio", option_type::number, 1.5, "A ratio."),
    optional_option("every", option_type::duration, std::chrono::milliseconds{1000}, "Period."),
    optional_option("format", option_type::string, std::string("text"), "Output.", {"text", "json"}),
    optional_option("band", option_type::number_matrix, {}, "Pairs."),
    optional_option("properties", option_type::string_table, string_table{}, "Pass-through."),
    optional_option("marks", option_type::string_list, std::vector<std::string>{}, "Words."),
};

struct checked {
  validated_options options;
  diagnostics problems;
};

checked check(const std::string& toml_text) {
  checked c;
  const auto table = toml::parse(toml_text, std::string_view{"test.toml"});
  c.options = validate_options(table, specs, {"name"}, "source 'x' (replay)", "test.toml", c.problems);
  return c;
}

} // namespace

TEST_CASE("valid options get their values and defaults") {
  auto c = check("name = 'x'\npath = 'a.csv'\nratio = 2\nproperties = { 'linger.ms' = 5, acks = 'all' }\n");
  REQUIRE_FALSE(c.problems.has_errors());
  CHECK(c.options.values.string("path") == "a.csv");
  CHECK(c.options.values.string("speed") == "max");
  CHECK(c.options.values.integer("count") == 3);
  CHECK(c.options.values.number("ratio") == 2.0);  // an integer where a number is expected
  CHECK(c.options.values.duration("every").count() == 1000);
  CHECK(c.options.values.table("properties").at("linger.ms") == "5");
  CHECK_FALSE(c.options.values.has("band"));
  CHECK(c.options.places.at("ratio").line == 3);
}

TEST_CASE("a plugin's option error or warning is placed at the option or a table option's entry") {
  stage_spec stage;
  stage.place = {"test.toml", 1, 1};
  stage.options = check("name = 'x'\npath = 'a'\nproperties = { acks = 'all', 'sasl.mechanism' = 'PLAIN' }\n").options;
  const auto at = [&](std::string_view option) {
    const location l = option_place(stage, option);
    return std::to_string(l.line) + ":" + std::to_string(l.column);
  };
  CHECK(at("properties.sasl.mechanism") == "3:49");
  CHECK(at("properties.acks") == "3:23");
  CHECK(at("properties") == "3:14");
  CHECK(at("properties.client.id") == "3:14");  // an entry not written (the plugin's default): the option
  CHECK(at("count") == "1:1");                   // an option not written: the stage's table
}

TEST_CASE("an option may accept several types") {
  auto c = check("path = 'a'\nspeed = 3600\n");
  REQUIRE_FALSE(c.problems.has_errors());
  CHECK(c.options.values.number("speed") == 3600.0);
}

TEST_CASE("an unknown option is reported at its key with the nearest valid name") {
  auto c = check("path = 'a'\n  paht = 'b'\n");
  REQUIRE(c.problems.errors().size() == 1);
  CHECK(c.problems.to_string() == "test.toml:2:3: unknown option 'paht' for source 'x' (replay) (did you mean 'path'?)");
}

TEST_CASE("the nearest name: a typo or else the one name a word ends") {
  const std::vector<std::string> names{"max_retries", "retry_backoff", "quiet_hours", "active_hours", "receive"};
  CHECK(nearest("max_retires", names) == "max_retries");
  CHECK(nearest("recieve", names) == "receive");
  CHECK(nearest("retries", names) == "max_retries");
  CHECK(nearest("backoff", names) == "retry_backoff");
  CHECK_FALSE(nearest("hours", names).has_value());  // quiet_ or active_: no guess
  CHECK_FALSE(nearest("tries", names).has_value());  // a whole word only
  CHECK_FALSE(nearest("xyz", names).has_value());
}

TEST_CASE("a missing required option names it, its type and what it is for") {
  auto c = check("count = 1\n");
  CHECK(c.problems.to_string() ==
        "test.toml:1:1: source 'x' (replay) is missing required option 'path' (a string: File to read.)");
}

TEST_CASE("a wrong type says what was expected and what was found") {
  auto c = check("path = 'a'\ncount = 'three'\n");
  CHECK(c.problems.to_string() == "test.toml:2:9: option 'count' of source 'x' (replay) must be an integer, not a string");
  auto d = check("path = 'a'\nspeed = true\n");
  CHECK(d.problems.to_string() ==
        "test.toml:2:9: option 'speed' of source 'x' (replay) must be a string or a number, not a boolean");
  // A word where a list belongs: as --data-set no_reading=unavailable gives it.
  auto e = check("path = 'a'\nmarks = 'unavailable'\n");
  CHECK(e.problems.to_string() == "test.toml:2:9: option 'marks' of source 'x' (replay) must be a list of strings, "
                                  "not a string: write it as a list, [\"unavailable\"]");
}

TEST_CASE("choices, durations and matrices are checked") {
  CHECK(check("path = 'a'\nformat = 'xml'\n").problems.to_string() ==
        "test.toml:2:10: option 'format' of source 'x' (replay) must be one of \"text\", \"json\", not \"xml\"");
  CHECK(check("path = 'a'\nformat = \"\\t\"\n").problems.to_string() ==  // a tab, shown
        "test.toml:2:10: option 'format' of source 'x' (replay) must be one of \"text\", \"json\", not \"\\t\"");
  CHECK(check("path = 'a'\nspeed = '3600'\n").problems.to_string() ==
        "test.toml:2:9: option 'speed' of source 'x' (replay) must be one of \"max\", \"realtime\", or a number "
        "(without quotes), not \"3600\"");
  CHECK(check("path = 'a'\nevery = '5 minutes'\n").problems.to_string() ==
        "test.toml:2:9: option 'every' of source 'x' (replay) must be a duration such as \"30s\", \"5m\" or "
        "\"1h30m\", not \"5 minutes\"");
  CHECK(check("path = 'a'\nevery = '0'\n").problems.to_string() ==
        "test.toml:2:9: option 'every' of source 'x' (replay) must be a duration such as \"30s\", \"5m\" or "
        "\"1h30m\", not \"0\" (a number needs its unit: \"0s\")");
  CHECK(check("path = 'a'\nevery = 90\n").problems.to_string() ==
        "test.toml:2:9: option 'every' of source 'x' (replay) must be a duration (\"30s\", \"5m\", \"1h30m\"), not an "
        "integer (a number needs its unit: \"90s\", \"90m\" or \"90h\")");
  CHECK(check("path = 'a'\nband = [[1, 2], [3, 'x']]\n").problems.to_string() ==
        "test.toml:2:21: option 'band' of source 'x' (replay) must hold only numbers; this element is a string");
}

namespace {

const std::vector<option_spec> ranged{
    optional_option("retries", option_type::integer, std::int64_t{8}, "Tries.").within(0, 1000),
    optional_option("factor", option_type::number, 1.0, "Pace.").above(0),
    optional_option("share", option_type::number, 0.5, "Share.").above(0).at_most(1),
    optional_option("every", option_type::duration, std::chrono::milliseconds{60'000}, "Period.")
        .within(std::chrono::seconds{1}, std::chrono::hours{1}),
    optional_option("wait", option_type::duration, std::chrono::milliseconds{0}, "Wait.").at_most(std::chrono::hours{24}),
    optional_option("speed", option_type::string | option_type::number, std::string("max"), "Pace.", {"max"}).above(0),
};

std::string range_problems(const std::string& toml_text) {
  diagnostics problems;
  validate_options(toml::parse(toml_text, std::string_view{"test.toml"}), ranged, {}, "sink 'x'", "test.toml", problems);
  return problems.to_string();
}

} // namespace

TEST_CASE("a value outside its option's declared range is refused where it is written") {
  CHECK(range_problems("retries = 5000\n") == "test.toml:1:11: option 'retries' of sink 'x' must be within 0..1000; got 5000");
  CHECK(range_problems("retries = -1\n") == "test.toml:1:11: option 'retries' of sink 'x' must be within 0..1000; got -1");
  CHECK(range_problems("factor = 0\n") == "test.toml:1:10: option 'factor' of sink 'x' must be above 0; got 0");
  CHECK(range_problems("share = 1.5\n") == "test.toml:1:9: option 'share' of sink 'x' must be above 0 and at most 1; got 1.5");
  CHECK(range_problems("every = '500ms'\n") == "test.toml:1:9: option 'every' of sink 'x' must be within 1s..1h; got 500ms");
  CHECK(range_problems("wait = '25h'\n") == "test.toml:1:8: option 'wait' of sink 'x' must be at most 24h; got 25h");
  CHECK(range_problems("speed = -3\n") == "test.toml:1:9: option 'speed' of sink 'x' must be above 0; got -3");
  // "got" says the value as written: an integer for a number, -0, the longest duration there is.
  CHECK(range_problems("factor = -9007199254740993\n") ==
        "test.toml:1:10: option 'factor' of sink 'x' must be above 0; got -9007199254740993");
  CHECK(range_problems("factor = -0.0\n") == "test.toml:1:10: option 'factor' of sink 'x' must be above 0; got -0");
  CHECK(range_problems("wait = '9223372036854775807ms'\n") ==
        "test.toml:1:8: option 'wait' of sink 'x' must be at most 24h; got 2562047788015h12m55s807ms");
  // The ends themselves, and the other type of an option of several.
  CHECK(range_problems("retries = 0\nfactor = 0.001\nshare = 1\nevery = '1h'\nwait = '24h'\nspeed = 'max'\n").empty());
}

TEST_CASE("a declared range is documented with the option") {
  const std::string md = render_options(ranged, true);
  CHECK(md.find("| Tries. Within 0..1000. |") != std::string::npos);
  CHECK(md.find("| Share. Above 0 and at most 1. |") != std::string::npos);
  CHECK(md.find("| Period. Within 1s..1h. |") != std::string::npos);
  CHECK(md.find("| Pace. As a string, one of: \"max\". As a number, above 0. |") != std::string::npos);
}

TEST_CASE("a plugin's range that cannot hold is a declaration problem") {
  using std::chrono::milliseconds;
  CHECK(declaration_problem(optional_option("n", option_type::integer, std::int64_t{0}, "N.").within(1, 10)) ==
        "option 'n' with a default of 0, which is not within 1..10");
  CHECK(declaration_problem(optional_option("d", option_type::duration, milliseconds{0}, "D.").above(milliseconds{0})) ==
        "option 'd' with a default of \"0s\", which is not above 0s");
  CHECK(declaration_problem(optional_option("n", option_type::integer, {}, "N.").within(10, 1)) ==
        "option 'n' with a range that allows nothing (within 10..1)");
  CHECK(declaration_problem(optional_option("n", option_type::number, {}, "N.").above(1).at_most(1)) ==
        "option 'n' with a range that allows nothing (above 1 and at most 1)");
  CHECK(declaration_problem(optional_option("s", option_type::duration | option_type::integer, {}, "S.").above(0)) ==
        "option 's' with a range, but it is an integer or a duration (\"30s\", \"5m\", \"1h30m\"): a range is for one "
        "kind of number (an integer, a number or a duration)");
  CHECK(declaration_problem(optional_option("d", option_type::duration, {}, "D.").at_least(1)) ==
        "option 'd' with a range in numbers, but it is a duration (\"30s\", \"5m\", \"1h30m\"): give the range's "
        "ends as durations, e.g. std::chrono::seconds{1}");
  CHECK(declaration_problem(optional_option("n", option_type::number, {}, "N.").at_most(milliseconds{5})) ==
        "option 'n' with a range in durations, but it is a number: give the range's ends as numbers");
  CHECK(declaration_problem(optional_option("d", option_type::duration, {}, "D.").above(std::chrono::microseconds{500})) ==
        "option 'd' with a range end finer than a millisecond");
  CHECK(declaration_problem(optional_option("n", option_type::integer, std::int64_t{1}, "N.").within(1, 10)).empty());
  CHECK(declaration_problem(optional_option("d", option_type::duration, milliseconds{1}, "D.").above(milliseconds{0})).empty());
}

TEST_CASE("a secret with a default is a declaration problem: it would be printed, and be every user's") {
  CHECK(declaration_problem(optional_option("token", option_type::secret, std::string("o.hard-coded"), "T.")) ==
        "option 'token' with a default, which a secret must not have (--describe would print it, and it would be "
        "every user's): declare it with none ({})");
  CHECK(declaration_problem(optional_option("token", option_type::secret, {}, "T.")).empty());
  CHECK(declaration_problem(optional_option("token", option_type::secret, std::string(), "T.")).empty());
}

TEST_CASE("a history value the option refuses is a declaration problem") {
  using std::chrono::milliseconds;
  const auto speed = [] {
    return optional_option("speed", option_type::string | option_type::number, std::string("realtime"), "Pace.",
                           {"max", "realtime"})
        .above(0);
  };
  CHECK(declaration_problem(speed().history_value(std::string("slow"))) ==
        "option 'speed' with a history value of \"slow\", which is not one of its choices");
  CHECK(declaration_problem(speed().history_value(0.0)) ==
        "option 'speed' with a history value of 0.0, which is not above 0");
  CHECK(declaration_problem(speed().history_value(true)) ==
        "option 'speed' with a history value of true, which is a boolean, not a string or a number");
  // An integer where a number is wanted: the fix is plain, so it is said.
  CHECK(declaration_problem(speed().history_value(std::int64_t{2})) ==
        "option 'speed' with a history value of 2, which is an integer, not a string or a number; write 2.0");
  CHECK(declaration_problem(optional_option("w", option_type::duration, milliseconds{5}, "W.").history_value(
            std::string("0s"))) == "option 'w' with a history value of \"0s\", which is a string, not a duration "
                                   "(\"30s\", \"5m\", \"1h30m\")");
  // insert_value would write "-1ms", which no option accepts: every offline command would fail on it.
  CHECK(declaration_problem(optional_option("w", option_type::duration, milliseconds{5}, "W.")
                                .history_value(milliseconds{-1})) ==
        "option 'w' with a history value of \"-1ms\": no duration is negative");
  CHECK(declaration_problem(speed().history_value(std::string("max"))).empty());
  CHECK(declaration_problem(speed().history_value(60.0)).empty());
  CHECK(declaration_problem(optional_option("w", option_type::duration, milliseconds{5}, "W.")
                                .history_value(milliseconds{0}))
            .empty());
}

TEST_CASE("a history file that is no string or that has a history value is a declaration problem") {
  CHECK(declaration_problem(optional_option("n", option_type::integer, {}, "N.").history_file()) ==
        "option 'n' as the history file (--data FILE) but as an integer: a file's path is a string");
  CHECK(declaration_problem(
            required_option("path", option_type::string, "File.").history_file().history_value(std::string("a"))) ==
        "option 'path' as the history file (--data FILE) and with a history value: one or the other");
  CHECK(declaration_problem(required_option("path", option_type::string, "File.").history_file()).empty());
}

TEST_CASE("history options on a plugin that is no source or two history files are a problem") {
  const std::vector<option_spec> paced{
      required_option("path", option_type::string, "File.").history_file(),
      optional_option("stop", option_type::boolean, false, "Stop.").history_value(true)};
  CHECK(history_problem(paced, true).empty());
  CHECK(history_problem(paced, false) == "option 'path' for reading a history, which only a source does");
  CHECK(history_problem({paced[1]}, false) == "option 'stop' for reading a history, which only a source does");
  CHECK(history_problem(specs, false).empty());  // none: any plugin
  const std::vector<option_spec> two{paced[0], optional_option("other", option_type::string, {}, "Other.").history_file()};
  CHECK(history_problem(two, true) ==
        "options 'path' and 'other' both as the history file (--data FILE): one at most");
}

TEST_CASE("the options table says what the offline commands give an option") {
  const std::vector<option_spec> history{
      required_option("path", option_type::string, "File to read.").history_file(),
      optional_option("speed", option_type::string | option_type::number, std::string("realtime"), "Pace",
                      {"max", "realtime"})
          .above(0)
          .history_value(std::string("max")),
      optional_option("stop_at_end", option_type::boolean, false, "").history_value(true),
      optional_option("warm_up", option_type::duration, std::chrono::milliseconds{60000}, "Again.")
          .history_value(std::chrono::milliseconds{0}),
  };
  const std::string md = render_options(history, true);
  CHECK(md.find("| File to read. The offline commands (train, eval, report, inject) take it from --data FILE. |") !=
        std::string::npos);
  CHECK(md.find("| Pace. As a string, one of: \"max\", \"realtime\". As a number, above 0. The offline commands "
                "(train, eval, report, inject) read a history with speed = \"max\". |") != std::string::npos);
  CHECK(md.find("| no | The offline commands (train, eval, report, inject) read a history with stop_at_end = true. |") !=
        std::string::npos);
  CHECK(render_options(history, false).find("      Again. The offline commands (train, eval, report, inject) read a "
                                            "history with warm_up = \"0s\".\n") != std::string::npos);
}

TEST_CASE("insert_value writes an option value as a pipeline file would") {
  toml::table t;
  insert_value(t, "speed", std::string("max"));
  insert_value(t, "stop", true);
  insert_value(t, "warm", std::chrono::milliseconds{90000});
  insert_value(t, "count", std::int64_t{3});
  insert_value(t, "band", number_matrix{{1, 2}, {3.5, 4}});
  insert_value(t, "properties", string_table{{"a.b", "c"}});
  insert_value(t, "marks", std::vector<std::string>{"x"});
  insert_value(t, "nothing", option_value{});
  CHECK(t["speed"].value<std::string>() == "max");
  CHECK(t["stop"].value<bool>() == true);
  CHECK(t["warm"].value<std::string>() == "1m30s");
  CHECK(t["count"].value<std::int64_t>() == 3);
  CHECK(t["band"][1][0].value<double>() == 3.5);
  CHECK(t["properties"]["a.b"].value<std::string>() == "c");
  CHECK(t["marks"][0].value<std::string>() == "x");
  CHECK_FALSE(t.contains("nothing"));
}

TEST_CASE("${VAR} is replaced from the environment, and an unset one is an error naming it") {
  setenv("SS_TEST_DIR", "/data", 1);
  unsetenv("SS_TEST_UNSET");
  auto c = check("path = '${SS_TEST_DIR}/a.csv'\n");
  REQUIRE_FALSE(c.problems.has_errors());
  CHECK(c.options.values.string("path") == "/data/a.csv");
  CHECK(check("path = '${SS_TEST_UNSET}'\n").problems.to_string() ==
        "test.toml:1:8: option 'path' of source 'x' (replay) uses environment variable 'SS_TEST_UNSET', which is "
        "not set");
  std::string missing;
  CHECK(expand_environment("cost $${HOME}", missing) == "cost ${HOME}");
  CHECK(missing.empty());
}

TEST_CASE("a ${ not closed, or without a name, is an error, not sent as written") {
  setenv("SS_TEST_TOKEN", "o.abc", 1);
  CHECK(check("path = '${SS_TEST_TOKEN'\n").problems.to_string() ==
        "test.toml:1:8: option 'path' of source 'x' (replay) has '${' at character 1 that is not closed (write $${ "
        "for a literal ${)");
  CHECK(check("path = 'at ${} x'\n").problems.to_string() ==
        "test.toml:1:8: option 'path' of source 'x' (replay) has '${}' at character 4 without a variable name");
  CHECK(check("path = 'été ${'\n").problems.to_string() ==  // characters, not bytes
        "test.toml:1:8: option 'path' of source 'x' (replay) has '${' at character 5 that is not closed (write $${ "
        "for a literal ${)");
  CHECK_FALSE(check("path = 'a$b{c}'\n").problems.has_errors());  // only "${" starts a variable
}

TEST_CASE("${VAR:-fallback} takes the fallback only when VAR is unset or empty") {
  setenv("SS_TEST_BROKERS", "10.0.0.5:9092", 1);
  setenv("SS_TEST_EMPTY", "", 1);
  unsetenv("SS_TEST_UNSET");
  std::string missing;
  CHECK(expand_environment("${SS_TEST_BROKERS:-localhost:9092}", missing) == "10.0.0.5:9092");
  CHECK(expand_environment("${SS_TEST_UNSET:-localhost:9092}", missing) == "localhost:9092");
  CHECK(expand_environment("${SS_TEST_EMPTY:-x}/${SS_TEST_UNSET:-}", missing) == "x/");
  CHECK(missing.empty());
}

TEST_CASE("durations") {
  CHECK(parse_duration("250ms")->count() == 250);
  CHECK(parse_duration("1h30m")->count() == 5400000);
  CHECK(parse_duration("2d")->count() == 172800000);
  CHECK_FALSE(parse_duration("5"));
  CHECK_FALSE(parse_duration("-5s"));
  CHECK_FALSE(parse_duration(""));
  // The parts' sum overflowed (docs/reliability.md, oversized numbers).
  CHECK(parse_duration("106751991167d")->count() == 106751991167LL * 86400000);
  CHECK_FALSE(parse_duration("106751991168d"));
  CHECK_FALSE(parse_duration("99999999999999999d"));
  CHECK_FALSE(parse_duration("106751991167d1d"));
}

TEST_CASE("a duration is written as a pipeline file writes it, and reads back") {
  using std::chrono::milliseconds;
  CHECK(duration_text(milliseconds{0}) == "0s");
  CHECK(duration_text(milliseconds{250}) == "250ms");
  CHECK(duration_text(milliseconds{3'600'000}) == "1h");
  CHECK(duration_text(milliseconds{900'000}) == "15m");
  CHECK(duration_text(milliseconds{108'600'000}) == "30h10m");  // not "1810m"
  CHECK(duration_text(milliseconds{90'500}) == "1m30s500ms");
  for (const std::int64_t ms : {1LL, 999LL, 61'001LL, 86'400'000LL, 2'678'400'000LL, 3'723'004LL})
    CHECK(parse_duration(duration_text(milliseconds{ms}))->count() == ms);
}

TEST_CASE("documentation is rendered from the declaration") {
  const std::string md = render_options(specs, true);
  CHECK(md.find("| `path` | string |  | yes | File to read. |") != std::string::npos);
  CHECK(md.find("| `format` | string | `\"text\"` | no | Output. One of: \"text\", \"json\". |") != std::string::npos);
  CHECK(md.find("| `every` | duration | `\"1s\"` | no | Period. |") != std::string::npos);
  // Whole numbers in a list as people write them; a lone number keeps ".0" to show it is one.
  const std::vector<option_spec> lists{
      optional_option("hours", option_type::integer | option_type::number_list, std::vector<double>{2, 3, 6}, "Windows."),
      optional_option("shares", option_type::number_list, std::vector<double>{0.5, 1}, "Shares.")};
  const std::string text = render_options(lists, false);
  CHECK(text.find("default [2, 3, 6]") != std::string::npos);
  CHECK(text.find("default [0.5, 1]") != std::string::npos);
  CHECK(render_options(specs, false).find("default 1.5") != std::string::npos);
  // A description without its full stop gets one before the choices.
  const std::vector<option_spec> unstopped{
      optional_option("mode", option_type::string, std::string("ratio"), "how to score", {"ratio", "band"})};
  CHECK(render_options(unstopped, true).find("| how to score. One of: \"ratio\", \"band\". |") != std::string::npos);
}

namespace {

const std::vector<option_spec> secret_specs{
    required_option("token", option_type::secret, "The service's access token."),
};

checked check_secret(const std::string& toml_text, const std::string& file = "test.toml") {
  checked c;
  const auto table = toml::parse(toml_text, std::string_view{file});
  c.options = validate_options(table, secret_specs, {}, "sink 'phone' (pushbullet)", file, c.problems);
  return c;
}

/// A folder with a pipeline file's name in it and a token file beside it.
struct secret_folder {
  std::string dir = "/tmp/ss-secret-" + std::to_string(::getpid());
  secret_folder() {
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/token.txt") << "o.s3cr3t-from-file\n";
    std::ofstream(dir + "/empty.txt") << "\n";
    std::ofstream(dir + "/two-lines.txt") << "o.s3cr3t\nInjected: yes\n";
    std::ofstream(dir + "/bom.txt") << "\xEF\xBB\xBFo.s3cr3t-after-bom\r\n";  // Notepad's way
    std::ofstream(dir + "/blank.txt") << " o.s3cr3t\n";  // pasted with a blank before it
  }
  ~secret_folder() { std::filesystem::remove_all(dir); }
};

} // namespace

TEST_CASE("a secret comes from the environment and is never echoed") {
  setenv("SS_TEST_TOKEN", "o.s3cr3t-from-env", 1);
  auto c = check_secret("token = '${SS_TEST_TOKEN}'\n");
  REQUIRE_FALSE(c.problems.has_errors());
  CHECK(c.options.values.string("token") == "o.s3cr3t-from-env");
  setenv("SS_TEST_TOKEN", "", 1);
  const std::string empty = check_secret("token = '${SS_TEST_TOKEN}'\n").problems.to_string();
  CHECK(empty == "test.toml:1:9: option 'token' of sink 'phone' (pushbullet) is empty (is its environment variable "
                 "set to nothing?)");
  setenv("SS_TEST_TOKEN", "o.s3cr3t\nInjected: yes", 1);  // would be sent as a header of its own
  const std::string two_lines = check_secret("token = '${SS_TEST_TOKEN}'\n").problems.to_string();
  CHECK(two_lines == "test.toml:1:9: option 'token' of sink 'phone' (pushbullet) holds a line break or another "
                     "control character (a token never does; is the variable or file right?)");
  CHECK(two_lines.find("s3cr3t") == std::string::npos);
  setenv("SS_TEST_TOKEN", "o.s3cr3t ", 1);  // pasted with a blank: usable, but refused at the first alert
  const auto blank = check_secret("token = '${SS_TEST_TOKEN}'\n");
  CHECK_FALSE(blank.problems.has_errors());
  REQUIRE(blank.problems.warnings().size() == 1);
  CHECK(blank.problems.warnings()[0].to_string() == "test.toml:1:9: warning: option 'token' of sink 'phone' (pushbullet) begins or "
                                      "ends with a space, which a token never does (pasted with one?); a service will "
                                      "refuse it");
  const std::string wrong = check_secret("token = 42\n").problems.to_string();
  CHECK(wrong.find("must be a secret") != std::string::npos);
  CHECK(check_secret("").problems.to_string().find("missing required option 'token' (a secret (\"${ENV_VAR}\", or the "
                                                   "option's name with _file and a path)") != std::string::npos);
}

TEST_CASE("a secret may be read from <name>_file, relative to the pipeline file") {
  secret_folder folder;
  auto c = check_secret("token_file = 'token.txt'\n", folder.dir + "/pipeline.toml");
  REQUIRE_FALSE(c.problems.has_errors());
  CHECK(c.options.values.string("token") == "o.s3cr3t-from-file");  // without the newline
  CHECK(c.options.places.at("token").line == 1);
  // Readable by every user (as `sudo tee` writes it): said, but read.
  std::filesystem::permissions(folder.dir + "/token.txt", std::filesystem::perms(0644));
  const auto open = check_secret("token_file = 'token.txt'\n", folder.dir + "/pipeline.toml");
  REQUIRE_FALSE(open.problems.has_errors());
  REQUIRE(open.problems.warnings().size() == 1);
  CHECK(open.problems.warnings()[0].to_string() ==
        folder.dir + "/pipeline.toml:1:14: warning: option 'token_file' of sink 'phone' (pushbullet): '" + folder.dir +
            "/token.txt' can be read by every user of this machine: chmod o-r it (the service reads it as group "
            "stream-smarts)");
  std::filesystem::permissions(folder.dir + "/token.txt", std::filesystem::perms(0640));
  CHECK(check_secret("token_file = 'token.txt'\n", folder.dir + "/pipeline.toml").problems.warnings().empty());
  auto bom = check_secret("token_file = 'bom.txt'\n", folder.dir + "/pipeline.toml");
  REQUIRE_FALSE(bom.problems.has_errors());
  CHECK(bom.options.values.string("token") == "o.s3cr3t-after-bom");  // no byte-order mark sent as the token

  const std::string missing = check_secret("token_file = 'nope.txt'\n", folder.dir + "/p.toml").problems.to_string();
  CHECK(missing == folder.dir + "/p.toml:1:14: option 'token_file' of sink 'phone' (pushbullet): cannot read '" +
                       folder.dir + "/nope.txt': No such file or directory");
  // A pipeline file named from the current folder: the secret's file is said in full all the same.
  CHECK(check_secret("token_file = 'nope.txt'\n", "p.toml").problems.to_string() ==
        "p.toml:1:14: option 'token_file' of sink 'phone' (pushbullet): cannot read '" +
            std::filesystem::current_path().string() + "/nope.txt': No such file or directory");
  std::filesystem::permissions(folder.dir + "/blank.txt", std::filesystem::perms(0640));  // only the blank said
  const auto blank = check_secret("token_file = 'blank.txt'\n", folder.dir + "/p.toml");
  REQUIRE(blank.problems.warnings().size() == 1);
  CHECK(blank.problems.warnings()[0].to_string() ==
        folder.dir + "/p.toml:1:14: warning: option 'token_file' of sink 'phone' (pushbullet): '" + folder.dir +
            "/blank.txt' begins or ends with a space, which a token never does (pasted with one?); a service will "
            "refuse it");
  const std::string empty = check_secret("token_file = 'empty.txt'\n", folder.dir + "/p.toml").problems.to_string();
  CHECK(empty == folder.dir + "/p.toml:1:14: option 'token_file' of sink 'phone' (pushbullet): '" + folder.dir +
                     "/empty.txt' is empty");
  const std::string two_lines =
      check_secret("token_file = 'two-lines.txt'\n", folder.dir + "/p.toml").problems.to_string();
  CHECK(two_lines == folder.dir + "/p.toml:1:14: option 'token_file' of sink 'phone' (pushbullet): '" + folder.dir +
                         "/two-lines.txt' holds a line break or another control character (a token never does; is "
                         "the variable or file right?)");
  const std::string both =
      check_secret("token = 'x'\ntoken_file = 'token.txt'\n", folder.dir + "/p.toml").problems.to_string();
  CHECK(both == folder.dir + "/p.toml:2:1: sink 'phone' (pushbullet) gives both 'token' and 'token_file': keep one");
  CHECK(check_secret("tokn_file = 'x'\n").problems.to_string().find("did you mean 'token_file'?") != std::string::npos);
  // Not read whole: it has no end (validate ended in std::bad_alloc).
  CHECK(check_secret("token_file = '/dev/zero'\n", folder.dir + "/p.toml").problems.to_string() ==
        folder.dir + "/p.toml:1:14: option 'token_file' of sink 'phone' (pushbullet): '/dev/zero' is longer than "
                     "64 KiB; a secret's file holds only the secret");
}

TEST_CASE("a problem quoting a data file's control bytes is shown escaped") {
  // A CSV header holding an ESC or a CR would drive the terminal, or write
  // over the start of its own line, when validate printed it.
  diagnostics problems;
  problems.error({"p.toml", 3, 8}, "header row has no 'ts' column: '\x1b[31mts\rwh'");
  CHECK(problems.to_string() == "p.toml:3:8: header row has no 'ts' column: '\\x1b[31mts\\rwh'");
}

// `stream-smarts run`: whole pipelines on the actor runtime, with fixture
// plugins whose speed and failures the tests control.
#include "fixture_pipeline.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <filesystem>
#include <sstream>
#include <thread>

using namespace test_support;
using namespace std::chrono_literals;

namespace {

/// The value after `key ` in the fixture source's report.
long report_value(const std::string& report, const std::string& key) {
  const auto at = report.find(key + " ");
  REQUIRE(at != std::string::npos);
  return std::stol(report.substr(at + key.size() + 1));
}

} // namespace

TEST_CASE("a finite source ends the pipeline by itself, and sinks get alerts only") {
  temp_dir dir;
  const auto r = run({"run", dir.file("p.toml", fixture_pipeline("", "count = 100", "", ""))}, fixture_env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string alerts = dir.read("alerts.txt");
  CHECK(count_lines(alerts, " raised ") == 10);  // every tenth reading is a 500 Wh spike: score 5
  CHECK(count_lines(alerts, " none ") == 0);
  CHECK(alerts.substr(alerts.size() - 8) == "stopped\n");
  CHECK(r.err.find("pipeline 't' finished: 100 readings, 10 alerts delivered") != std::string::npos);
}

TEST_CASE("receive = \"all\" gives a sink every scored reading") {
  temp_dir dir;
  const auto r = run({"run", dir.file("p.toml", fixture_pipeline("", "count = 100", "", "receive = 'all'"))}, fixture_env);
  REQUIRE(r.exit_code == 0);
  CHECK(count_lines(dir.read("alerts.txt"), " raised ") == 10);
  CHECK(count_lines(dir.read("alerts.txt"), " none ") == 90);
}

TEST_CASE("the closing line counts each sink's deliveries in what it receives when there are several") {
  // Listed in the pipeline file's order (out, phone, archive), not as they close or sort.
  temp_dir dir;
  const std::string more_sinks = "receive = 'all'\n"
                                 "[[sinks]]\nname = 'phone'\nplugin = 'fixture_sink'\nfrom = ['ratio']\nrecord = 'phone.txt'\n"
                                 "[[sinks]]\nname = 'archive'\nplugin = 'fixture_sink'\nfrom = ['ratio']\nrecord = 'a.txt'\n"
                                 "receive = 'unusual'\n";
  const auto r = run({"run", dir.file("p.toml", fixture_pipeline("", "count = 100", "", more_sinks))}, fixture_env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // Every alert-kind delivery in the total: 10 raises to each of the three.
  CHECK_THAT(r.err, Catch::Matchers::Contains("pipeline 't' finished: 100 readings, 30 alerts delivered; by sink: "
                                              "out 100 scored readings, phone 10 alerts, archive 10 unusual "
                                              "readings\n"));
  // Readings given up are not alerts given up: said by sink only.
  const auto refused = run({"run", dir.file("q.toml", fixture_pipeline("", "count = 100", "",
                                                                       more_sinks + "reject_writes = true\n"))},
                           fixture_env);
  INFO(refused.err);
  CHECK_THAT(refused.err, Catch::Matchers::Contains("pipeline 't' finished: 100 readings, 20 alerts delivered; by "
                                                    "sink: out 100 scored readings, phone 10 alerts, archive 0 "
                                                    "unusual readings (10 given up)\n"));
}

TEST_CASE("alert_threshold decides what is unusual, and the policy raises once per episode") {
  // 100 readings at [pipeline] alert_threshold = 0.4, with `sink` lines: the raised alerts the sink got.
  auto raised = [](const std::string& sink) {
    temp_dir dir;
    const auto r = run({"run", dir.file("p.toml", fixture_pipeline("alert_threshold = 0.4", "count = 100", "", sink))},
                       fixture_env);
    REQUIRE(r.exit_code == 0);
    return count_lines(dir.read("alerts.txt"), " raised ");
  };
  // 50 Wh scores 0.5: all 100 readings are unusual, one episode.
  CHECK(raised("receive = 'unusual'") == 100);
  CHECK(raised("") == 1);
  // A sink's own threshold overrides the pipeline's.
  CHECK(raised("alert_threshold = 1.0\nreceive = 'unusual'") == 10);
}

TEST_CASE("a NaN score neither raises nor ends an alert, and the log says so at the 1st, 10th, 100th ...") {
  // Every reading unusual (one episode) until the scorer gives NaN from the 21st (20:00) on.
  const auto run_with = [](const std::string& sink) {
    temp_dir dir;
    auto r = run({"run", dir.file("p.toml", fixture_pipeline("alert_threshold = 0.4\nresolved = true", "count = 100",
                                                             "nan_after = 20", sink))},
                 fixture_env);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return std::make_pair(r.err, dir.read("alerts.txt"));
  };
  const auto [err, alerts] = run_with("");
  CHECK(count_lines(alerts, " raised") == 1);
  CHECK(count_lines(alerts, " resolved") == 0);  // not "back to normal": nothing says so
  CHECK(count_lines(err, "warning [ratio] gave no score (NaN) for home 2007-01-01 20:00 (ratio, 50 Wh, score nan): it "
                         "neither raises nor ends an alert (1 reading so far)") == 1);
  CHECK(count_lines(err, "warning [ratio] gave no score (NaN) for home 2007-01-02 05:00 (ratio, 500 Wh, score nan): it "
                         "neither raises nor ends an alert (10 readings so far)") == 1);
  CHECK(count_lines(err, "gave no score") == 2);
  CHECK(count_lines(run_with("receive = 'unusual'").second, " raised") == 20);
}

TEST_CASE("hour of day is computed in the pipeline's time zone") {
  temp_dir dir;
  // 2007-01-01T00:00Z is 01:00 in Paris (winter) and 16:00 the day before in Vancouver.
  const auto src = "count = 1\nspike_wh = 50.0\nwh = 500.0";
  auto paris = run({"run", dir.file("p.toml", fixture_pipeline("timezone = 'Europe/Paris'", src, "", ""))}, fixture_env);
  REQUIRE(paris.exit_code == 0);
  CHECK(dir.read("alerts.txt").find("home 1167609600000 500.000000 5.000000 raised 1\n") == 0);
}

TEST_CASE("a local time written twice when summer time ends is replayed as two hours, in order") {
  temp_dir dir;
  // Europe/Paris, 27 October 2024: 02:00 comes twice (CEST, then CET), as a logger writing local time writes it.
  dir.file("history.csv", "ts,wh\n2024-10-27T01:00:00,50\n2024-10-27T02:00:00,50\n2024-10-27T02:00:00,50\n"
                          "2024-10-27T03:00:00,50\n");
  const std::string text = "[pipeline]\nname = 't'\ntimezone = 'Europe/Paris'\n"
                           "[[sources]]\nname = 'in'\nplugin = 'replay'\npath = 'history.csv'\n"
                           "[[scorers]]\nname = 'ratio'\nplugin = 'fixture_scorer'\nfrom = ['in']\n"
                           "[[sinks]]\nname = 'out'\nplugin = 'fixture_sink'\nfrom = ['ratio']\n"
                           "record = 'alerts.txt'\nreceive = 'all'\n";
  const auto r = run({"run", dir.file("p.toml", text)}, fixture_env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string alerts = dir.read("alerts.txt");
  constexpr std::int64_t one_am_utc = 1729983600000;  // 2024-10-26T23:00:00Z, 01:00 CEST
  for (int i = 0; i < 4; ++i)
    CHECK(count_lines(alerts, "home " + std::to_string(one_am_utc + i * 3600000LL) + " ") == 1);

  // Two flats interleaved: each meter's 02:00 follows its own readings, not the other's.
  dir.file("history.csv", "ts,meter,wh\n2024-10-27T01:00:00,a,50\n2024-10-27T01:00:00,b,50\n"
                          "2024-10-27T02:00:00,a,50\n2024-10-27T02:00:00,b,50\n"
                          "2024-10-27T02:00:00,a,50\n2024-10-27T02:00:00,b,50\n"
                          "2024-10-27T03:00:00,a,50\n2024-10-27T03:00:00,b,50\n");
  std::filesystem::remove(dir.path() + "/alerts.txt");
  const auto flats = run({"run", dir.file("p.toml", text)}, fixture_env);
  INFO(flats.err);
  REQUIRE(flats.exit_code == 0);
  CHECK(flats.err.find("earlier than their meter's reading before") == std::string::npos);  // the file is in order
  for (const std::string meter : {"a", "b"})
    for (int i = 0; i < 4; ++i)
      CHECK(count_lines(dir.read("alerts.txt"), meter + " " + std::to_string(one_am_utc + i * 3600000LL) + " ") == 1);

  // A time written with its offset is what it says, even repeated: not moved an hour on.
  dir.file("history.csv", "ts,wh\n2007-10-28T00:00:00Z,50\n2007-10-28T00:00:00Z,50\n2007-10-28T01:00:00Z,50\n");
  std::filesystem::remove(dir.path() + "/alerts.txt");
  REQUIRE(run({"run", dir.file("p.toml", text)}, fixture_env).exit_code == 0);
  constexpr std::int64_t midnight_utc = 1193529600000;  // 2007-10-28T00:00:00Z, 02:00 CEST
  CHECK(count_lines(dir.read("alerts.txt"), "home " + std::to_string(midnight_utc) + " ") == 2);
  CHECK(count_lines(dir.read("alerts.txt"), "home " + std::to_string(midnight_utc + 3600000) + " ") == 1);
}

TEST_CASE("a slow sink slows the source: in-flight readings stay bounded, and SIGINT drains and exits 0") {
  temp_dir dir;
  const auto file = dir.file("p.toml", fixture_pipeline("batch_size = 16\nmax_in_flight = 4", "count = 0\nreport = 'report.txt'",
                                                "", "delay = '20ms'\nreceive = 'all'"));
  child c({binary(), "run", file}, fixture_env);
  REQUIRE(wait_for_lines(dir, "alerts.txt", 200, 20s));
  c.signal(SIGINT);
  const auto r = c.wait(20s);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("stop requested: stopping sources, draining in-flight readings") != std::string::npos);
  const std::string report = dir.read("report.txt");
  // max_in_flight batches on their way, and a sink's outbox of as many readings
  CHECK(report_value(report, "max_unacked") <= 2 * 4 * 16);
  CHECK(report_value(report, "unacked_at_stop") == 0);   // everything read was delivered before exit
  const std::string alerts = dir.read("alerts.txt");
  CHECK(count_lines(alerts, "home ") == static_cast<std::size_t>(report_value(report, "emitted")));
  CHECK(alerts.substr(alerts.size() - 8) == "stopped\n");
}

TEST_CASE("a source the sinks hold back for seconds is told it is idle, one merely kept at their pace is not") {
  temp_dir dir;
  // One reading at a time; returns the fixture source's report.
  const auto run_one_at_a_time = [&](const std::string& name, int count, const std::string& sink,
                                     const std::string& source = "") {
    const auto r = run({"run", dir.file(name + ".toml", fixture_pipeline("batch_size = 1\nmax_in_flight = 1",
                                                                       "count = " + std::to_string(count) +
                                                                           "\nreport = '" + name + ".txt'\n" + source,
                                                                       "", sink))},
                       fixture_env, 60s);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return dir.read(name + ".txt");
  };
  // The first alert's delivery fails once and is retried 4 s later (3 to
  // 5 s: the retries' jitter), while the source has no credit and reads
  // nothing. Its first idle() comes 1 to 2 s after its credit ran out (the
  // check is once a second), so a retry at 2 s (2.5 s, less its jitter)
  // could come first.
  const std::string held = run_one_at_a_time("held", 20, "unavailable_writes = 1\nretry_backoff = '4s'");
  CHECK(report_value(held, "idles") >= 1);
  CHECK(report_value(held, "idles") <= 5);  // about once a second
  CHECK(report_value(held, "emitted") == 20);
  CHECK(count_lines(dir.read("alerts.txt"), " raised ") == 2);
  // A source that asks for it (gpio_meter's kernel queue) is told every 100 ms instead: about 20 to 40 times.
  const std::string often =
      run_one_at_a_time("often", 20, "unavailable_writes = 1\nretry_backoff = '4s'", "idle_every = '100ms'");
  CHECK(report_value(often, "idles") >= 10);
  CHECK(report_value(often, "emitted") == 20);
  // Out of credit nearly all the time for 2 s, but never a whole second without a read.
  CHECK(report_value(run_one_at_a_time("paced", 100, "delay = '20ms'\nreceive = 'all'"), "idles") == 0);
}

TEST_CASE("a stage that throws is restarted with backoff and the pipeline goes on") {
  temp_dir dir;
  const auto r = run({"run", dir.file("p.toml", fixture_pipeline("batch_size = 4\nrestart_backoff = '5ms'", "count = 100",
                                                         "throw_every = 7", ""))},
                     fixture_env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(count_lines(r.err, "[ratio] score of home 2007-01-01 06:00 (50 Wh) failed: fixture scorer failure; restarting "
                           "in 5 ms (restart 1 of at most 5 in a row)") > 0);
  CHECK(count_lines(dir.read("alerts.txt"), " raised ") == 10);  // nothing lost, and scorers add no duplicates
}

TEST_CASE("a sink that fails now and then delivers every alert at least once") {
  temp_dir dir;
  const auto r = run({"run", dir.file("p.toml", fixture_pipeline("batch_size = 10\nrestart_backoff = '5ms'", "count = 100", "",
                                                         "fail_every = 3"))},
                     fixture_env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string alerts = dir.read("alerts.txt");
  for (int i = 9; i < 100; i += 10) {
    const std::string ts = std::to_string(1167609600000LL + i * 3600000LL);
    CHECK(count_lines(alerts, "home " + ts + " ") >= 1);
  }
}

TEST_CASE("a stage that keeps failing stops the pipeline with a clear message and exit 1") {
  temp_dir dir;
  const auto r = run({"run", dir.file("p.toml", fixture_pipeline("max_restarts = 2\nrestart_backoff = '5ms'", "count = 0", "",
                                                         "fail_always = true"))},
                     fixture_env, 30s);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("[out] flush failed: fixture sink is down; giving up after 3 failures in a row") != std::string::npos);
  CHECK(r.err.find("sink 'out' (fixture_sink) keeps failing (flush: fixture sink is down); stopping the pipeline") !=
        std::string::npos);
}

TEST_CASE("a sink that fails between alerts is restarted, and stops the pipeline if it keeps failing") {
  // No alert ever comes: only idle() calls the plugin, each on a fresh instance after its restart_backoff.
  temp_dir dir;
  const auto r = run({"run", dir.file("p.toml", fixture_pipeline("max_restarts = 2\nrestart_backoff = '5ms'",
                                                                 "count = 0\nspike_wh = 50", "", "idle_fails = true"))},
                     fixture_env, 30s);
  CHECK(r.exit_code == 1);
  CHECK(count_lines(r.err, "error   [out] idle failed: fixture sink finds its service gone; restarting in ") == 2);
  CHECK(r.err.find("[out] idle failed: fixture sink finds its service gone; giving up after 3 failures in a row") !=
        std::string::npos);
  CHECK(r.err.find("sink 'out' (fixture_sink) keeps failing (idle: fixture sink finds its service gone); stopping the "
                   "pipeline") != std::string::npos);
}

TEST_CASE("a failure names the plugin call that threw and the alert it was writing") {
  temp_dir dir;
  const auto r = run({"run", dir.file("p.toml", fixture_pipeline("max_restarts = 1\nrestart_backoff = '5ms'", "count = 10",
                                                         "", "fail_writes = true"))},
                     fixture_env, 30s);
  CHECK(r.exit_code == 1);
  const std::string write = "write of the raised alert for home 2007-01-01 09:00 (ratio, 500 Wh, score 5.00)";
  CHECK(count_lines(r.err, "error   [out] " + write + " failed: fixture sink cannot write; restarting in 5 ms "
                                                     "(restart 1 of at most 1 in a row)") == 1);
  CHECK(count_lines(r.err, "error   [out] " + write + " failed: fixture sink cannot write; giving up after 2 "
                                                     "failures in a row") == 1);
  CHECK(count_lines(r.err, "error   [runtime] sink 'out' (fixture_sink) keeps failing (" + write +
                               ": fixture sink cannot write); stopping the pipeline") == 1);
}

TEST_CASE("a plugin that throws something other than a std::exception is restarted like any other failure") {
  temp_dir dir;
  const auto r = run({"run", dir.file("p.toml", fixture_pipeline("batch_size = 4\nrestart_backoff = '5ms'", "count = 100",
                                                         "throw_every = 7\nthrow_int = true", ""))},
                     fixture_env, 30s);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(count_lines(r.err, "[ratio] score of home 2007-01-01 06:00 (50 Wh) failed: threw something that is not a "
                           "std::exception (a bug in the plugin); restarting in 5 ms") > 0);
  CHECK(count_lines(dir.read("alerts.txt"), " raised ") == 10);
  const auto made = run({"validate", dir.file("q.toml", fixture_pipeline("", "", "throw_int_when_made = true", ""))},
                        fixture_env);
  CHECK(made.exit_code == 2);
  CHECK(made.err.find("q.toml:8:1: scorer 'ratio' (fixture_scorer) cannot start: its constructor threw something "
                      "that is not a std::exception (a bug in the plugin)") != std::string::npos);
}

TEST_CASE("a plugin that crashes the process is named in its last line") {
  temp_dir dir;
  const auto r = run({"run", dir.file("p.toml", fixture_pipeline("", "count = 100", "throw_every = 7\nabort = true", ""))},
                     fixture_env, 30s);
  CHECK_FALSE(r.timed_out);
  CHECK(r.signal == SIGABRT);  // ended by the abort, not an exit
  CHECK_THAT(r.err, Catch::Matchers::Contains("stream-smarts: abort in stage 'ratio' (plugin fixture_scorer, " +
                                              fixtures("good") + "/libfixture_scorer.so); the process ends here\n"));
  // In its constructor (validate makes every stage) and its destructor (after the run) too.
  const std::string named = "stream-smarts: abort in stage 'ratio' (plugin fixture_scorer, " + fixtures("good") +
                            "/libfixture_scorer.so); the process ends here\n";
  const auto made = run({"validate", dir.file("m.toml", fixture_pipeline("", "", "abort_when_made = true", ""))},
                        fixture_env, 30s);
  CHECK(made.signal == SIGABRT);
  CHECK(made.err == named);
  const auto destroyed = run(
      {"run", dir.file("d.toml", fixture_pipeline("", "count = 10", "abort_when_destroyed = true", ""))}, fixture_env,
      30s);
  CHECK(destroyed.signal == SIGABRT);
  CHECK_THAT(destroyed.err, Catch::Matchers::EndsWith(named));
}

TEST_CASE("train and eval name a plugin that crashes the process, as run does") {
  temp_dir dir;
  std::string days = "ts,wh\n";  // ten days: some are held out whatever the seed
  for (int d = 1; d <= 10; ++d) days += "2007-01-" + std::string(d < 10 ? "0" : "") + std::to_string(d) + "T12:00:00,50\n";
  const auto history = dir.file("h.csv", days);
  const auto model = dir.path() + "/m";
  const auto named = [](const std::string& kind, const std::string& plugin) {
    return "stream-smarts: abort in the " + kind + " plugin " + plugin + " (" + fixtures("good") + "/lib" + plugin +
           ".so); the process ends here\n";
  };
  const auto aborted = [&](const std::vector<std::string>& args) {
    const auto r = run(args, fixture_env, 30s);
    CHECK(r.signal == SIGABRT);
    return r.err;
  };
  const std::vector<std::string> train{"train", "--scorer", "fixture_scorer", "--data", history, "--out", model};
  auto with = [](std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  // Its trainer; its scorer judging the days held out; the history's source.
  CHECK_THAT(aborted(with(train, {"--holdout", "0", "--set", "abort_when_training=true"})),
             Catch::Matchers::EndsWith(named("scorer", "fixture_scorer")));
  CHECK_THAT(aborted(with(train, {"--holdout", "0.5", "--set", "throw_every=1", "--set", "abort=true"})),
             Catch::Matchers::EndsWith(named("scorer", "fixture_scorer")));
  REQUIRE(run(with(train, {"--holdout", "0"}), fixture_env).exit_code == 0);
  const std::vector<std::string> eval{"eval", "--model", model};
  CHECK_THAT(aborted(with(eval, {"--set", "abort_when_made=true", "--data", history})),
             Catch::Matchers::EndsWith(named("scorer", "fixture_scorer")));
  CHECK_THAT(aborted(with(eval, {"--set", "abort_when_destroyed=true", "--data", history})),
             Catch::Matchers::EndsWith(named("scorer", "fixture_scorer")));
  CHECK_THAT(aborted(with(eval, {"--source", "fixture_source", "--data-set", "throw_every=1", "--data-set", "abort=true"})),
             Catch::Matchers::EndsWith(named("source", "fixture_source")));
}

TEST_CASE("a source that fails at the same place after every restart stops the pipeline, not re-reads forever") {
  temp_dir dir;
  const auto r = run({"run", dir.file("p.toml", fixture_pipeline("batch_size = 4\nmax_restarts = 2\nrestart_backoff = '5ms'",
                                                         "count = 0\nthrow_every = 3", "", ""))},
                     fixture_env, 30s);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("[in] read failed: fixture source failure on read 3; giving up after 3 failures in a row") !=
        std::string::npos);
  CHECK(r.err.find("pipeline 't' stopped by a failing stage: 0 alerts delivered") != std::string::npos);
  CHECK(r.err.find("finished:") == std::string::npos);
}

TEST_CASE("run validates first and starts nothing on an invalid file") {
  temp_dir dir;
  const auto r = run({"run", dir.file("p.toml", fixture_pipeline("", "count = 'x'", "", ""))}, fixture_env);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("p.toml:7:9: option 'count' of source 'in' (fixture_source) must be an integer, not a string") !=
        std::string::npos);
  CHECK(dir.read("alerts.txt").empty());
}

TEST_CASE("command-line errors say what is wrong") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"frobnicate", "--port", "1"}, "stream-smarts: unknown command 'frobnicate' (nor a plugin's: no program "},
      {{"pipelines/power.toml"},
       "stream-smarts: unknown command 'pipelines/power.toml' (a pipeline file? stream-smarts run pipelines/power.toml)\n"},
      {{}, "stream-smarts: no command given\n"},
      {{"run"}, "stream-smarts: run needs one pipeline file: stream-smarts run FILE\n"},
      {{"validate", "a.toml", "b.toml"}, "stream-smarts: validate needs one pipeline file: stream-smarts validate FILE\n"},
      {{"train", "history.csv"}, "stream-smarts: train takes options only, not 'history.csv'\n"},
      {{"train", "--bogus", "1"}, "stream-smarts: unknown option --bogus\n"},
      {{"train", "--scorer"}, "stream-smarts: --scorer needs a value\n"},
  };
  for (const auto& [args, first_line] : cases) {
    const auto r = run(args);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind(first_line, 0) == 0);
    CHECK_THAT(r.err, Catch::Matchers::Contains("usage:"));
  }
  // A plugin's command not there: said before its options, which are its own.
  CHECK_THAT(run({"frobnicate", "--port", "1"}).err,
             Catch::Matchers::StartsWith("stream-smarts: unknown command 'frobnicate' (nor a plugin's: no program ") &&
                 Catch::Matchers::Contains("/libexec/stream-smarts/stream-smarts-frobnicate)\n"));
  // A near miss gets the guess alone, not the whole usage that would bury it.
  const auto command = run({"runn", "p.toml"});
  CHECK(command.exit_code == 2);
  CHECK(command.err == "stream-smarts: unknown command 'runn' (did you mean 'run'?); stream-smarts --help lists them all\n");
  const auto option = run({"train", "--datta", "h.csv"});
  CHECK(option.exit_code == 2);
  CHECK(option.err == "stream-smarts: unknown option --datta (did you mean '--data'?); stream-smarts --help lists them "
                      "all\n");
  const auto not_finite = run({"eval", "--threshold", "nan"});
  CHECK(not_finite.exit_code == 2);
  CHECK(not_finite.err == "stream-smarts: --threshold needs a number, not 'nan'\n");
  const auto markdown = run({"validate", "p.toml", "--markdown"});
  CHECK(markdown.exit_code == 2);
  CHECK(markdown.err == "stream-smarts: --markdown is for plugins --describe NAME (a README's options table)\n");
  const auto too_high = run({"report", "--threshold", "1e308"});
  CHECK(too_high.exit_code == 2);
  CHECK(too_high.err == "stream-smarts: --threshold must be a score from -1000000 to 1000000, not '1e308'\n");
  const auto level = run({"--log-level", "loud", "plugins"});
  CHECK(level.exit_code == 2);
  CHECK(level.err == "stream-smarts: unknown log level 'loud' (debug, info, warning, error)\n");
  CHECK(run({"--version"}).out.find("stream-smarts ") == 0);
}

TEST_CASE("SIGHUP is said and ignored, and SIGTERM stops like SIGINT: sinks flushed and stopped, exit 0") {
  temp_dir dir;
  const auto file = dir.file("p.toml", fixture_pipeline("batch_size = 8", "count = 0", "", "delay = '5ms'\nreceive = 'all'"));
  child c({binary(), "run", file}, fixture_env);
  REQUIRE(wait_for_lines(dir, "alerts.txt", 40, 20s));
  c.signal(SIGHUP);  // by default it would end the process at once, undrained
  wait_for_log(c, "SIGHUP ignored", 20s);
  CHECK_THAT(c.err(), Catch::Matchers::Contains("warning [runtime] SIGHUP ignored: the pipeline file is read only at "
                                                "start (restart to apply a change); SIGINT or SIGTERM stop"));
  const std::size_t before = count_lines(dir.read("alerts.txt"), "home ");
  CHECK(wait_for_lines(dir, "alerts.txt", before + 40, 20s));  // still running
  c.signal(SIGTERM);
  const auto r = c.wait(20s);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  const std::string alerts = dir.read("alerts.txt");
  CHECK(alerts.substr(alerts.size() - 8) == "stopped\n");
}

TEST_CASE("stop signals while the pipeline starts are taken once it runs: SIGHUP said, SIGTERM a clean stop") {
  // They used to end the process as killed (143, 129 for SIGHUP) with nothing in the log.
  temp_dir dir;
  const std::string gate = dir.path() + "/gate";
  REQUIRE(::mkfifo(gate.c_str(), 0600) == 0);
  child c({binary(), "run", dir.file("p.toml", fixture_pipeline("", "count = 0\nmade_after_fifo = 'gate'", "", ""))},
          fixture_env);
  int writer = -1;  // opens once the source's constructor has the FIFO open
  REQUIRE(eventually([&] { return (writer = ::open(gate.c_str(), O_WRONLY | O_NONBLOCK)) >= 0; }));
  c.signal(SIGHUP);
  c.signal(SIGTERM);
  ::close(writer);
  const auto r = c.wait(20s);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Matchers::Contains("SIGHUP ignored"));
  CHECK_THAT(r.err, Catch::Matchers::Contains("stop requested"));
}

TEST_CASE("a closed stdout fails the console stage with its reason, not the process by SIGPIPE") {
  temp_dir dir;
  const std::string file = dir.file("p.toml", "[pipeline]\nname = 'p'\nmax_restarts = 0\n"
                                              "[[sources]]\nname = 'in'\nplugin = 'replay'\npath = '" +
                                                  source_dir() + "/data/household_hourly.csv'\n"
                                              "[[scorers]]\nname = 'band'\nplugin = 'percentile_band'\nfrom = ['in']\n"
                                              "model = '" + source_dir() + "/models/household-band.toml'\n"
                                              "[[sinks]]\nname = 'out'\nplugin = 'console'\nfrom = ['band']\n"
                                              "receive = 'all'\n");
  // bash, for the status of the first command of a pipe
  const std::string script = "timeout 60 \"$0\" run \"$1\" 2>\"$2\" | head -c 10 >/dev/null; echo \"${PIPESTATUS[0]}\"";
  const auto r = child({"/bin/bash", "-c", script, binary(), file, dir.path() + "/err.txt"}, fixture_env).wait(90s);
  CHECK(r.out == "1\n");  // SIGPIPE would be 141
  const std::string err = dir.read("err.txt");
  CHECK_THAT(err, Catch::Matchers::Contains("sink 'out' (console) keeps failing (flush: console: cannot write to "
                                            "stdout: Broken pipe)"));
  CHECK_THAT(err, Catch::Matchers::Contains("pipeline 'p' stopped by a failing stage: "));
}

TEST_CASE("a second stop signal exits at once (130), but one a moment after the first is the same stop") {
  // The sink waits an hour to retry, so the drain outlasts the test unless cut short.
  temp_dir dir;
  const auto file = dir.file("p.toml", fixture_pipeline("shutdown_timeout = '1h'", "count = 100", "",
                                                        "unavailable_writes = 1000000\nretry_backoff = '1h'"));
  child twice({binary(), "run", file}, fixture_env);
  REQUIRE(wait_for_log(twice, "delivery failed", 20s));
  twice.signal(SIGTERM);
  twice.signal(SIGTERM);  // as `timeout` does: the process, then its group
  std::this_thread::sleep_for(1s);  // not synchronisation: the time that makes the next signal a second one
  CHECK(twice.err().find("second stop signal") == std::string::npos);
  twice.signal(SIGINT);
  const auto r = twice.wait(20s);
  INFO(r.err);
  CHECK(r.exit_code == 130);
  CHECK_THAT(r.err, Catch::Matchers::Contains("error   [runtime] second stop signal: exiting at once"));
}

TEST_CASE("a restarted source is told only of its own batches being handled") {
  temp_dir dir;
  // The first instance has two batches in flight when it fails; the slow sink
  // acknowledges them after the replacement exists. commit() must not reach it.
  const auto r = run({"run", dir.file("p.toml", fixture_pipeline("batch_size = 10\nrestart_backoff = '5ms'",
                                                         "count = 100\nthrow_once_at_read = 3\nreport = 'report.txt'",
                                                         "", "delay = '50ms'"))},
                     fixture_env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("[in] read failed: fixture source fails once; restarting in 5 ms") != std::string::npos);
  const std::string report = dir.read("report.txt");
  CHECK(report_value(report, "emitted") == 100);
  CHECK(report_value(report, "unacked_at_stop") == 0);
  CHECK(report_value(report, "foreign_commits") == 0);
}

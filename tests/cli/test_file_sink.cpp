// The file sink and the console sink against the real kernel's failures:
// /dev/full (a disk that is always full) behind a file and behind stdout,
// paths that cannot be appended to, and the file's lines being the
// console's. The disk that fills and is then freed is tests/faults (it
// needs to mount a tmpfs).
#include "fixture_pipeline.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

using namespace test_support;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

/// fixture_source 'in' (100 readings an hour apart, every tenth a spike: 10
/// alerts) -> fixture_scorer 'ratio' -> the sinks given.
std::string pipeline(const std::string& sinks) {
  return "[pipeline]\nname = 't'\n[[sources]]\nname = 'in'\nplugin = 'fixture_source'\n"
         "[[scorers]]\nname = 'ratio'\nplugin = 'fixture_scorer'\nfrom = ['in']\n" +
         sinks;
}

std::string file_sink(const std::string& path, const std::string& extra) {
  return "[[sinks]]\nname = 'log'\nplugin = 'file'\nfrom = ['ratio']\npath = '" + path + "'\n" + extra + "\n";
}

std::string console_sink(const std::string& extra) {
  return "[[sinks]]\nname = 'out'\nplugin = 'console'\nfrom = ['ratio']\n" + extra + "\n";
}

/// `text` with every occurrence of `cut` removed.
std::string without(std::string text, const std::string& cut) {
  for (auto at = text.find(cut); at != std::string::npos; at = text.find(cut)) text.erase(at, cut.size());
  return text;
}

} // namespace

TEST_CASE("file sink: the same lines as the console, in text and in JSON (synced)") {
  for (const std::string format : {"text", "json"}) {
    temp_dir dir;
    const std::string both = "format = '" + format + "'\nreceive = 'all'";
    const std::string synced = format == "json" ? "\nfsync = true" : "";  // the same lines, synced
    const auto r = run({"run", dir.file("p.toml", pipeline(console_sink(both) + file_sink("alerts.log", both + synced)))},
                       fixture_env);
    INFO(format << "\n" << r.err);
    REQUIRE(r.exit_code == 0);
    const std::string lines = dir.read("alerts.log");
    CHECK(count_lines(lines, "") == 100);
    CHECK(count_lines(lines, format == "json" ? "\"alert\":\"raised\"" : "] Unusual power usage of 500 Wh") == 10);
    CHECK(lines == r.out);
  }
}

TEST_CASE("file sink: /dev/full is retried as a full disk, then given up, never restarted") {
  temp_dir dir;
  const std::string p = dir.file("p.toml", pipeline(file_sink("/dev/full", "retry_backoff = '1ms'\nmax_retries = 2")));
  const auto r = run({"run", p}, fixture_env);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(count_lines(r.err, "warning [log] delivery failed: file: cannot write /dev/full: No space left on device; "
                           "retrying in ") == 2);
  CHECK(count_lines(r.err, "[log] gave up delivering the raised alert for home ") == 10);
  CHECK_THAT(r.err, Contains("No space left on device (3 attempts)"));
  CHECK(count_lines(r.err, "restarting") == 0);
}

TEST_CASE("console sink: stdout on a full disk is retried, not restarted, and the pipeline ends") {
  temp_dir dir;
  const std::string p = dir.file("p.toml", pipeline(console_sink("retry_backoff = '1ms'\nmax_retries = 3")));
  const auto r = child({"/bin/sh", "-c", "exec \"$0\" run \"$1\" >/dev/full", binary(), p}, fixture_env).wait(60s);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(count_lines(r.err, "warning [out] delivery failed: console: cannot write to stdout: No space left on device; "
                           "retrying in ") == 3);
  CHECK(count_lines(r.err, "gave up delivering") == 10);
  CHECK(count_lines(r.err, "restarting") == 0);
  CHECK(count_lines(r.err, "keeps failing") == 0);
}

TEST_CASE("file sink: a path that cannot be appended to is reported at the option, by validate and run") {
  temp_dir dir;
  dir.file("notes.txt", "not a folder\n");
  REQUIRE(::mkdir((dir.path() + "/logs").c_str(), 0755) == 0);
  const std::vector<std::pair<std::string, std::string>> cases{
      {"notes.txt/alerts.log", "cannot create 'notes.txt/alerts.log': 'notes.txt' is a file, not a folder"},
      {"missing/alerts.log", "cannot create 'missing/alerts.log': folder 'missing' does not exist"},
      {"logs", "'logs' is a folder; give a file in it, e.g. 'logs/alerts.log'"},
      {"", "must name a file, e.g. \"alerts.log\""},
  };
  for (const auto& [path, message] : cases) {
    const std::string p = dir.file("p.toml", pipeline(file_sink(path, "")));
    const std::string expected = "p.toml:14:8: option 'path' of sink 'log' (file): " + message;
    for (const char* command : {"validate", "run"}) {
      const auto r = run({command, p}, fixture_env);
      INFO(command << " " << path << "\n" << r.err);
      CHECK(r.exit_code == 2);
      CHECK_THAT(without(r.err, dir.path() + "/"), Contains(expected));
    }
  }
  struct stat st {};
  CHECK(::stat((dir.path() + "/missing").c_str(), &st) != 0);  // nothing made by checking
}

TEST_CASE("console sink: a message with an unknown field is reported at the option, by validate") {
  temp_dir dir;
  const std::string p =
      dir.file("p.toml", pipeline(console_sink("receive = 'unusual'\nmessage = '{wh} Wh from {time} to {ends}'")));
  const auto r = run({"validate", p}, fixture_env);
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK_THAT(without(r.err, dir.path() + "/"),
             Contains("p.toml:15:11: option 'message' of sink 'out' (console): unknown field {ends}; the fields are "
                      "{wh}, {hour}, {time}, {date}, {score}, {expected_lo}, {expected_hi}, {expected_unit}, "
                      "{expected_unit_words}, {scorer}, {meter}, {since}, {end}, {status} ({{ and }} for literal "
                      "braces)"));
}

TEST_CASE("file sink: its messages make the lines, one per event") {
  temp_dir dir;
  const std::string p = dir.file(
      "p.toml", pipeline(file_sink("alerts.log", "message = \"{date} {time} {meter}:\\n{wh} Wh, {status}\"")));
  const auto r = run({"run", p}, fixture_env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string lines = dir.read("alerts.log");
  CHECK(count_lines(lines, "") == 10);
  CHECK(count_lines(lines, " home:\\n500 Wh, unusual") == 10);
}

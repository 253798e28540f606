// The log as a user reads it: --log-format json (one JSON object per line,
// with the stage), and no secret in any line, in either format, at debug
// level and in error paths, whatever a plugin does with it.
#include "fixture_pipeline.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <set>
#include <sstream>

using namespace test_support;
using namespace std::chrono_literals;

namespace {

/// A JSON string at `at` (just after its opening quote), decoded; false on any error.
bool json_string(const std::string& text, std::size_t& at, std::string& out) {
  for (; at < text.size(); ++at) {
    const char c = text[at];
    if (c == '"') {
      ++at;
      return true;
    }
    if (static_cast<unsigned char>(c) < 0x20) return false;  // must be escaped
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++at >= text.size()) return false;
    switch (text[at]) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        if (at + 4 >= text.size()) return false;
        const unsigned code = std::stoul(text.substr(at + 1, 4), nullptr, 16);
        if (code >= 0x80) return false;  // the runtime escapes control characters only
        out += static_cast<char>(code);
        at += 4;
        break;
      }
      default: return false;
    }
  }
  return false;
}

/// A flat JSON object of string values, as the log writes; nothing if the line is not one.
std::optional<std::map<std::string, std::string>> json_object(const std::string& line) {
  std::map<std::string, std::string> fields;
  std::size_t at = 0;
  if (line.empty() || line[at++] != '{') return std::nullopt;
  for (;;) {
    std::string key, value;
    if (at >= line.size() || line[at++] != '"' || !json_string(line, at, key)) return std::nullopt;
    if (at >= line.size() || line[at++] != ':') return std::nullopt;
    if (at >= line.size() || line[at++] != '"' || !json_string(line, at, value)) return std::nullopt;
    if (!fields.emplace(key, value).second) return std::nullopt;
    if (at >= line.size()) return std::nullopt;
    const char next = line[at++];
    if (next == '}') return at == line.size() ? std::optional(fields) : std::nullopt;
    if (next != ',') return std::nullopt;
  }
}

const std::string token = "s3cr3t-Fixture-Token-8f2a9c";
const std::map<std::string, std::string> env_with_token = [] {
  auto env = fixture_env;
  env["FIXTURE_TOKEN"] = token;
  return env;
}();

} // namespace

TEST_CASE("log format json: each line one JSON object with ts, level, stage and message") {
  temp_dir dir;
  // A stage name with a quote and a backslash, to be escaped in every line of its own.
  const std::string text = fixture_pipeline("", "count = 100", "", "") +
                           "[[sinks]]\nname = 'sp\"eak\\er'\nplugin = 'fixture_sink'\nfrom = ['ratio']\n"
                           "record = 'speaker.txt'\nreject_writes = true\n";
  const auto r = run({"--log-format", "json", "--log-level", "debug", "run", dir.file("p.toml", text)}, fixture_env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::set<std::string> stages, levels;
  std::size_t lines = 0;
  for (const auto& line : lines_of(r.err)) {
    INFO(line);
    const auto fields = json_object(line);
    REQUIRE(fields);
    CHECK(fields->size() == 4);
    REQUIRE(fields->count("ts"));
    REQUIRE(fields->count("message"));
    CHECK(fields->at("ts").size() == 24);  // 2026-11-21T10:00:00.123Z
    CHECK(fields->at("ts").back() == 'Z');
    stages.insert(fields->at("stage"));
    levels.insert(fields->at("level"));
    ++lines;
  }
  CHECK(lines > 20);
  CHECK(stages == std::set<std::string>{"runtime", "out", "sp\"eak\\er"});
  CHECK(levels == std::set<std::string>{"debug", "info", "error"});
  CHECK(r.err.find(R"(","level":"info","stage":"runtime","message":"pipeline 't' finished: 100 readings, 10 alerts )"
                   R"x(delivered, 10 given up; by sink: out 10 alerts, sp\"eak\\er 0 alerts (10 given up)"})x") !=
        std::string::npos);
  CHECK(r.err.find(R"(,"level":"error","stage":"sp\"eak\\er","message":"gave up delivering the raised alert for )"
                   R"(home 2007-01-01 09:00 (ratio, 500 Wh, score 5.00): fixture service rejected the token )"
                   R"((HTTP 401): check FIXTURE_TOKEN"})") != std::string::npos);
}

TEST_CASE("log format json: run's problems with the pipeline file are log lines too") {
  temp_dir dir;
  const auto file = dir.file("p.toml", fixture_pipeline("", "count = 'x'", "", ""));
  const auto r = run({"--log-format", "json", "run", file}, fixture_env);
  CHECK(r.exit_code == 2);
  const auto lines = lines_of(r.err);
  REQUIRE(lines.size() == 1);
  const auto fields = json_object(lines[0]);
  REQUIRE(fields);
  CHECK(fields->at("level") == "error");
  CHECK(fields->at("stage") == "runtime");
  CHECK(fields->at("message") ==
        file + ":7:9: option 'count' of source 'in' (fixture_source) must be an integer, not a string");
}

TEST_CASE("log format: text by default, anything else refused") {
  temp_dir dir;
  const auto r = run({"run", dir.file("p.toml", fixture_pipeline("", "count = 10", "", ""))}, fixture_env);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find(" info    [runtime] pipeline 't' finished: 10 readings, 1 alert delivered\n") != std::string::npos);
  const auto bad = run({"--log-format", "xml", "plugins"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err == "stream-smarts: unknown log format 'xml' (text, json)\n");
}

TEST_CASE("a token from the environment never appears in the log, in either format, even at debug level and when "
          "deliveries or the stage fail") {
  // The fixture sink logs its token at debug level and puts it in every error
  // it raises: the runtime removes it from each line.
  const std::vector<std::pair<std::string, std::string>> sinks{
      {"refused", "reject_writes = true"},
      {"retried", "unavailable_writes = 2\nretry_backoff = '5ms'"},
      {"failing", "fail_always = true"},
  };
  for (const char* format : {"text", "json"}) {
    for (const auto& [name, sink] : sinks) {
      temp_dir dir;
      const auto file = dir.file("p.toml", fixture_pipeline("max_restarts = 1\nrestart_backoff = '5ms'", "count = 100",
                                                            "", "token = '${FIXTURE_TOKEN}'\n" + sink));
      const auto r = run({"--log-format", format, "--log-level", "debug", "run", file}, env_with_token, 30s);
      INFO(format << ", " << name << ":\n" << r.err);
      CHECK_FALSE(r.timed_out);
      CHECK(r.err.find("starting (token [secret])") != std::string::npos);  // the debug line
      CHECK(r.err.find(name == "failing" ? "fixture sink is down (token [secret])"
                                         : "fixture service ") != std::string::npos);
      CHECK(r.err.find(token) == std::string::npos);
      CHECK(r.out.find(token) == std::string::npos);
      for (const std::string& piece : {token.substr(0, 12), token.substr(token.size() - 12)})
        CHECK(r.err.find(piece) == std::string::npos);
      if (name == "failing") {  // the runtime's own line quotes the stage's error
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("keeps failing (flush: fixture sink is down (token [secret]))") != std::string::npos);
      } else {
        CHECK(r.exit_code == 0);
        CHECK(r.err.find("(token [secret])") != std::string::npos);
      }
    }
  }
  // And validate shows nothing of it either.
  temp_dir dir;
  const auto v = run({"validate", dir.file("p.toml", fixture_pipeline("", "", "", "token = '${FIXTURE_TOKEN}'"))},
                     env_with_token);
  CHECK(v.exit_code == 0);
  CHECK((v.out + v.err).find(token) == std::string::npos);
}

TEST_CASE("a secret written in the pipeline file is a warning at its line, never quoted") {
  temp_dir dir;
  const auto v = run({"validate", dir.file("p.toml", fixture_pipeline("", "", "", "token = '" + token + "'"))},
                     env_with_token);
  CHECK(v.exit_code == 0);  // usable, but unwise
  CHECK(v.err.find(dir.path() + "/p.toml:18:9: warning: option 'token' of sink 'out' (fixture_sink) is a secret written "
                   "in the file; give it from the environment (\"${VARIABLE}\") or a file (token_file), so that the "
                   "pipeline file can be shown and shared without it\n") != std::string::npos);
  CHECK((v.out + v.err).find(token) == std::string::npos);
  const auto r = run({"run", dir.file("p.toml", fixture_pipeline("", "count = 1", "", "token = '" + token + "'"))},
                     env_with_token);
  CHECK(r.exit_code == 0);
  CHECK(count_lines(r.err, "warning [runtime] " + dir.path() + "/p.toml:18:9: option 'token'") == 1);  // one "warning"
  const auto from_env = run({"validate", dir.file("p.toml", fixture_pipeline("", "", "", "token = '${FIXTURE_TOKEN}'"))},
                            env_with_token);
  CHECK(from_env.err.find(": warning:") == std::string::npos);
  // A fallback is written in the file whether it is used or not; so is a "$${" literal.
  for (const std::string& value : {"${FIXTURE_TOKEN:-" + token + "}", "${SS_NOT_SET_ANYWHERE:-" + token + "}",
                                  "$${FIXTURE_TOKEN}" + token}) {
    const auto written = run({"validate", dir.file("p.toml", fixture_pipeline("", "", "", "token = '" + value + "'"))},
                             env_with_token);
    INFO(value << "\n" << written.err);
    CHECK(written.exit_code == 0);
    CHECK(written.err.find("p.toml:18:9: warning: option 'token' of sink 'out' (fixture_sink) is a secret written") !=
          std::string::npos);
  }
  // And a file that also has errors still says it.
  const auto with_error = run(
      {"validate", dir.file("p.toml", fixture_pipeline("", "", "", "token = '" + token + "'\nbogus = 1"))},
      env_with_token);
  CHECK(with_error.exit_code == 2);
  CHECK(with_error.err.find("unknown option 'bogus'") != std::string::npos);
  CHECK(with_error.err.find("p.toml:18:9: warning: option 'token'") != std::string::npos);
  CHECK(with_error.err.find(token) == std::string::npos);
}

TEST_CASE("a secret given to another option by mistake is masked in that option's error too") {
  // As a token pasted into base_url would be: the console sink's format
  // quotes the value it refuses.
  temp_dir dir;
  const auto file = dir.file("p.toml", fixture_pipeline("", "", "", "token = '${FIXTURE_TOKEN}'") +
                                           "[[sinks]]\nname = 'screen'\nplugin = 'console'\nfrom = ['ratio']\n"
                                           "format = '${FIXTURE_TOKEN}'\n");
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"validate", file}, {"run", file}, {"--log-format", "json", "run", file}}) {
    const auto r = run(command, env_with_token, 30s);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("option 'format' of sink 'screen' (console) must be one of ") != std::string::npos);
    CHECK(r.err.find("[secret]") != std::string::npos);
    CHECK((r.out + r.err).find(token) == std::string::npos);
  }
}

TEST_CASE("a pass-through table's entry whose key names a secret is kept out of the log, the others are not") {
  // As a Kafka stage's `properties = { "sasl.password" = "${KAFKA_PASSWORD}" }`.
  temp_dir dir;
  const auto file = dir.file(
      "p.toml", fixture_pipeline("", "count = 10", "",
                                 "properties = { 'sasl.password' = '${FIXTURE_TOKEN}', 'client.rack' = 'rack-seven-b', "
                                 "'sasl.oauthbearer.config' = 'principal=admin clientSecret=${FIXTURE_TOKEN}' }"));
  const auto r = run({"--log-level", "debug", "run", file}, env_with_token, 30s);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("properties: client.rack=rack-seven-b, sasl.oauthbearer.config=[secret], sasl.password=[secret]") !=
        std::string::npos);
  CHECK(r.err.find("principal=admin") == std::string::npos);
  CHECK(r.err.find(token) == std::string::npos);
}

TEST_CASE("a pass-through table's secret written in the pipeline file is a warning at its line, never quoted") {
  temp_dir dir;
  const auto written = run({"validate", dir.file("p.toml", fixture_pipeline("", "", "",
                                                                            "properties = { 'sasl.password' = '" +
                                                                                token + "', 'client.rack' = 'r7' }"))},
                           env_with_token);
  INFO(written.err);
  CHECK(written.exit_code == 0);
  CHECK(written.err.find("/p.toml:18:34: warning: 'properties.sasl.password' of sink 'out' (fixture_sink) is a "
                         "secret written in the file; give it from the environment (\"${VARIABLE}\"), so that the "
                         "pipeline file can be shown and shared without it\n") != std::string::npos);
  CHECK(count_lines(written.err, ": warning:") == 1);  // not for client.rack
  CHECK(written.err.find(token) == std::string::npos);
  const auto from_env = run({"validate", dir.file("p.toml", fixture_pipeline("", "", "",
                                                                             "properties = { 'sasl.password' = "
                                                                             "'${FIXTURE_TOKEN}' }"))},
                            env_with_token);
  CHECK(from_env.err.find(": warning:") == std::string::npos);
}

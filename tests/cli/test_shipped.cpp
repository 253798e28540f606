// What a new user runs first: the shipped pipelines, and the shipped models
// are what the training commands written in those pipelines produce.
#include "process.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace test_support;
using Catch::Matchers::Contains;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

/// The `stream-smarts train` commands in a pipeline file's comments, as argument lists.
std::vector<std::vector<std::string>> training_commands(const std::string& pipeline) {
  std::vector<std::vector<std::string>> out;
  std::istringstream in(slurp(pipeline));
  bool continued = false;
  for (std::string line; std::getline(in, line);) {
    const auto at = line.find("build/bin/stream-smarts train ");
    if (at == std::string::npos && !continued) continue;
    if (!continued) out.emplace_back();
    std::istringstream words(line.substr(at == std::string::npos ? 1 : at));
    for (std::string w; words >> w;)
      if (w != "\\" && w != "build/bin/stream-smarts") out.back().push_back(w);
    continued = !line.empty() && line.back() == '\\';
  }
  return out;
}

} // namespace

TEST_CASE("the shipped pipelines are valid") {
  // notify.toml's and pi-power.toml's tokens, as their comments say to export them
  const std::map<std::string, std::string> tokens{{"PUSHBULLET_TOKEN", "o.x"},
                                                  {"HA_TOKEN", "y"},
                                                  {"SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/z"}};
  for (const char* file : {"power.toml", "power-dlib.toml", "ksql-compat.toml", "notify.toml", "pi-power.toml"}) {
    const auto r = run({"validate", source_dir() + "/pipelines/" + file}, tokens);
    INFO(file << ": " << r.err);
    CHECK(r.exit_code == 0);
  }
}

TEST_CASE("power-dlib.toml scores the household with both scorers, and each alert names its scorer") {
  const auto r = run({"run", source_dir() + "/pipelines/power-dlib.toml"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::size_t band = count(r.out, " home band] Unusual power usage of "),
                    dlib = count(r.out, " home dlib] Unusual power usage of ");
  CHECK(band >= 10);
  CHECK(dlib > 0);
  CHECK(band + dlib == count(r.out, "\n"));
  CHECK_THAT(r.err, Contains("25089 readings, " + std::to_string(band + dlib) + " alerts delivered"));
}

TEST_CASE("the default pipeline tells of an appliance left on, within its budget of a false alert-hour a week") {
  const auto r = run({"run", source_dir() + "/pipelines/power.toml"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::size_t alerts = count(r.out, " home left_on] Unusual power usage of ");
  CHECK(alerts == count(r.out, "\n"));
  // 25089 hours are 149 weeks: the budget of one false alert-hour a week, not the band's handful
  CHECK(alerts >= 30);
  CHECK(alerts <= 149);
  CHECK_THAT(r.err, Contains("25089 readings, " + std::to_string(alerts) + " alerts delivered"));
}

TEST_CASE("the shipped models are exactly what their documented training commands write") {
  temp_dir dir;
  std::vector<std::vector<std::string>> commands;
  for (const char* file : {"power.toml", "power-dlib.toml", "pi-power.toml"})
    for (auto& c : training_commands(source_dir() + "/pipelines/" + file)) commands.push_back(c);
  REQUIRE(commands.size() == 5);  // sustained_load's twice: power.toml and pi-power.toml share it
  for (auto args : commands) {
    std::string shipped;
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == "--data") args[i + 1] = source_dir() + "/" + args[i + 1];
      if (args[i] == "--out") {
        shipped = source_dir() + "/" + args[i + 1];
        args[i + 1] = dir.path() + "/model";
      }
    }
    REQUIRE_FALSE(shipped.empty());
    const auto r = run(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    INFO(shipped << " differs from what its command writes now: retrain it with that command");
    CHECK(dir.read("model") == slurp(shipped));
  }
}

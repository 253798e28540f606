// The loader: `stream-smarts plugins`, and files in a plugin folder that are
// not usable plugins, each a one-line error naming the file, never a crash.
#include "fixture_pipeline.hpp"
#include "process.hpp"

#include <stream_smarts/plugin.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <iterator>

using namespace test_support;

TEST_CASE("plugins lists the shipped plugins and those on STREAM_SMARTS_PLUGIN_PATH") {
  const auto r = run({"plugins"}, {{"STREAM_SMARTS_PLUGIN_PATH", fixtures("good") + ":" + fixtures("long_name")}});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("KIND    NAME") == 0);
  for (const char* name : {"replay", "percentile_band", "console", "fixture_source", "fixture_scorer", "fixture_sink"})
    CHECK(r.out.find(std::string(" ") + name + " ") != std::string::npos);
  CHECK(r.out.find(fixtures("good") + "/libfixture_sink.so") != std::string::npos);
  CHECK(r.out.find("scorer  a_scorer_with_a_rather_long_name  1.0.0-beta.12  ") != std::string::npos);
  // Every column lines up, however long the plugins' names, versions and paths are.
  std::istringstream lines(r.out);
  std::string header, line;
  std::getline(lines, header);
  for (const char* column : {"NAME", "VERSION", "FILE", "DESCRIPTION"}) {
    const auto at = header.find(column);
    REQUIRE(at != std::string::npos);
    for (std::istringstream rows(r.out.substr(header.size() + 1)); std::getline(rows, line);) {
      INFO(column << ": " << line);
      REQUIRE(line.size() > at);
      CHECK(line.substr(at - 2, 2) == "  ");
      CHECK(line[at] != ' ');
    }
  }
}

TEST_CASE("plugins says where it looked when it finds none") {
  // The runtime package alone, without its plugins: a copy of the binary with no plugin folder beside it.
  temp_dir dir;
  std::filesystem::create_directories(dir.path() + "/bin");
  std::filesystem::copy_file(binary(), dir.path() + "/bin/stream-smarts");
  child c({dir.path() + "/bin/stream-smarts", "plugins"}, {});
  const auto r = c.wait(std::chrono::seconds(30));
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "KIND  NAME  VERSION  FILE  DESCRIPTION\n");
  CHECK(r.err == "no plugins found; searched " + dir.path() + "/lib/stream-smarts/plugins (no such folder); install "
                 "the stream-smarts-plugins package, or set STREAM_SMARTS_PLUGIN_PATH\n");
}

TEST_CASE("plugins --describe prints a plugin's options") {
  const auto r = run({"plugins", "--describe", "fixture_sink"}, {{"STREAM_SMARTS_PLUGIN_PATH", fixtures("good")}});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("fixture_sink (sink, version 0.0.1)") == 0);
  CHECK(r.out.find("  record (string, required)\n      File the alerts are appended to.") != std::string::npos);
  CHECK(r.out.find("  delay (duration, default \"0s\")") != std::string::npos);
  // Where it looked, as validate says it: a wrong STREAM_SMARTS_PLUGIN_PATH shows here.
  const auto unknown = run({"plugins", "--describe", "consol"}, {{"STREAM_SMARTS_PLUGIN_PATH", "/no/such"}});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err == "no plugin named 'consol' (did you mean 'console'?); searched " + plugin_dir() +
                           ", /no/such (STREAM_SMARTS_PLUGIN_PATH, no such folder)\n");
}

TEST_CASE("plugins --describe of a plugin whose file was skipped says why as validate does") {
  const std::string file = fixtures("bad_abi") + "/libbroken_bad_abi.so";
  const std::string why = "built for plugin ABI 999, but this runtime speaks ABI " +
                          std::to_string(stream_smarts::abi_version) + "; rebuild the plugin against this SDK";
  const auto r = run({"plugins", "--describe", "broken_bad_abi"}, {{"STREAM_SMARTS_PLUGIN_PATH", fixtures("bad_abi")}});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err == file + ": " + why + "\n" +
                     "plugin 'broken_bad_abi' cannot be used: " + file + " was skipped: " + why + "\n");
}

TEST_CASE("files that are not usable plugins are one clear line each") {
  const std::string good = fixtures("good");
  auto problem = [&](const std::string& set) {
    const auto r = run({"plugins"}, {{"STREAM_SMARTS_PLUGIN_PATH", good + ":" + fixtures(set)}});
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("fixture_source") != std::string::npos);  // the good ones still load
    return r.err;
  };
  CHECK(problem("bad_abi") == fixtures("bad_abi") + "/libbroken_bad_abi.so: built for plugin ABI 999, but this "
                                                    "runtime speaks ABI " + std::to_string(stream_smarts::abi_version) + "; rebuild the plugin against this SDK\n");
  CHECK(problem("no_factory") == fixtures("no_factory") + "/libbroken_no_factory.so: has no stream_smarts_plugin "
                                                          "factory symbol; export it with STREAM_SMARTS_PLUGIN(...)\n");
  CHECK(problem("not_a_plugin") == fixtures("not_a_plugin") + "/libbroken_not_a_plugin.so: not a stream-smarts "
                                                              "plugin (no stream_smarts_abi_version symbol); move it "
                                                              "out of the plugin folder\n");
  CHECK(problem("duplicate") == fixtures("duplicate") + "/libbroken_duplicate.so: plugin name 'fixture_scorer' is "
                                                        "also that of " + good + "/libfixture_scorer.so; remove one "
                                                        "of the two files: no pipeline can use 'fixture_scorer' "
                                                        "while both are there\n");
  CHECK(problem("old_abi") == fixtures("old_abi") + "/libbroken_old_abi.so: built with libstdc++ (old ABI, "
                                                    "_GLIBCXX_USE_CXX11_ABI=0), but this runtime with libstdc++ "
                                                    "(C++11 ABI); build it with the runtime's compiler and standard "
                                                    "library\n");
}

TEST_CASE("a plugin's own declaration mistakes are found when it is loaded, and blamed on it") {
  const std::string good = fixtures("good");
  auto problem = [&](const std::string& set) {
    return run({"plugins"}, {{"STREAM_SMARTS_PLUGIN_PATH", good + ":" + fixtures(set)}}).err;
  };
  CHECK(problem("bad_default") == fixtures("bad_default") + "/libbroken_bad_default.so: plugin 'bad_default_scorer' "
                                                            "declares option 'limit_wh' with a default of 1000, which "
                                                            "is an integer, not a number; write 1000.0 (a bug in "
                                                            "the plugin: tell its author)\n");
  CHECK(problem("no_kind_factory") == fixtures("no_kind_factory") + "/libbroken_no_kind_factory.so: plugin "
                                                                    "'factoryless_scorer' declares no factory for its "
                                                                    "kind (scorer) (a bug in the plugin: tell its "
                                                                    "author)\n");
  CHECK(problem("factory_throws") == fixtures("factory_throws") + "/libbroken_factory_throws.so: its "
                                                                  "stream_smarts_plugin factory threw: descriptor "
                                                                  "exploded (a bug in the plugin: tell its author)\n");
  CHECK(problem("option_twice") == fixtures("option_twice") + "/libbroken_option_twice.so: plugin 'twice_scorer' "
                                                              "declares option 'limit' twice (a bug in the plugin: "
                                                              "tell its author)\n");
  CHECK(problem("runtime_key") == fixtures("runtime_key") + "/libbroken_runtime_key.so: plugin 'from_scorer' "
                                                            "declares option 'from', which the runtime reads itself "
                                                            "(a stage's own key) (a bug in the plugin: tell its "
                                                            "author)\n");
  CHECK(problem("history_scorer") == fixtures("history_scorer") + "/libbroken_history_scorer.so: plugin "
                                                                  "'history_scorer' declares option 'fast' for "
                                                                  "reading a history, which only a source does (a "
                                                                  "bug in the plugin: tell its author)\n");
  CHECK(problem("two_history_files") == fixtures("two_history_files") + "/libbroken_two_history_files.so: plugin "
                                                                        "'two_files_source' declares options 'a' and "
                                                                        "'b' both as the history file (--data FILE): "
                                                                        "one at most (a bug in the plugin: tell its "
                                                                        "author)\n");
}

TEST_CASE("plugins --describe says what the offline commands give a source's options") {
  const auto replay = run({"plugins", "--describe", "replay"});
  CHECK_THAT(replay.out, Catch::Matchers::Contains("relative to the pipeline file. The offline commands (train, eval, "
                                                   "report, inject) take it from --data FILE.\n"));
  CHECK_THAT(replay.out, Catch::Matchers::Contains("As a number, above 0. The offline commands (train, eval, report, "
                                                   "inject) read a history with speed = \"max\".\n"));
  const auto kafka = run({"plugins", "--describe", "kafka_source"});
  CHECK_THAT(kafka.out, Catch::Matchers::Contains("The offline commands (train, eval, report, inject) read a history "
                                                  "with stop_at_end = true.\n"));
  CHECK_THAT(kafka.out, Catch::Matchers::Contains("The offline commands (train, eval, report, inject) read a history "
                                                  "with warm_up = \"0s\".\n"));
}

TEST_CASE("a file that is not even a shared object") {
  temp_dir dir;
  dir.file("libnotes.so", std::string(200, '#') + "\nthese are my notes, not a library\n");
  const auto r = run({"plugins"}, {{"STREAM_SMARTS_PLUGIN_PATH", dir.path()}});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(dir.path() + "/libnotes.so: cannot be loaded as a plugin: ") == 0);
  CHECK(r.err.find("invalid ELF header") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("a symbol the plugin needs and nothing defines is named as its author wrote it") {
  const auto r = run({"plugins"}, {{"STREAM_SMARTS_PLUGIN_PATH", fixtures("undefined_symbol")}});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Matchers::StartsWith(fixtures("undefined_symbol") + "/libbroken_undefined_symbol.so: "
                                                "cannot be loaded as a plugin: undefined symbol: missing_function(int)"));
}

TEST_CASE("a plugin file cut short (a copy still being written) is skipped, not a bus error for every command") {
  // dlopen maps a file shorter than its segments and the process dies at
  // the first page past its end: a pipeline not even naming the plugin with it.
  temp_dir dir;
  std::ifstream whole(fixtures("good") + "/libfixture_sink.so", std::ios::binary);
  std::string bytes(20000, '\0');
  REQUIRE(whole.read(bytes.data(), static_cast<std::streamsize>(bytes.size())));
  const std::string cut = dir.file("libfixture_sink.so", bytes);
  const auto r = run({"plugins"}, {{"STREAM_SMARTS_PLUGIN_PATH", fixtures("good") + ":" + dir.path()}});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Matchers::StartsWith(cut + ": is cut short: 20000 bytes, where its ELF headers say "));
  CHECK_THAT(r.err, Catch::Matchers::Contains(" (a copy still being written, or cut off?); copy a plugin under "
                                              "another name, then rename it into the folder\n"));
  CHECK_THAT(r.out, Catch::Matchers::Contains("fixture_source"));
}

TEST_CASE("a broken plugin file is skipped with a warning: only a pipeline naming its plugin is refused") {
  // A plugin left behind by an upgrade (another ABI) must not stop every
  // pipeline, and with them every alert: validate and run warn and go on.
  temp_dir dir;
  const std::string good = fixtures("good");
  const auto pipeline = dir.file("p.toml", fixture_pipeline("", "count = 10", "", ""));
  const std::map<std::string, std::string> with_broken{
      {"STREAM_SMARTS_PLUGIN_PATH", good + ":" + fixtures("bad_abi") + ":" + fixtures("factory_throws")}};
  const std::string bad_abi = fixtures("bad_abi") + "/libbroken_bad_abi.so: ",
                    abi = "built for plugin ABI 999, but this runtime speaks ABI " +
                          std::to_string(stream_smarts::abi_version) + "; rebuild the plugin against this SDK";
  const std::string throws = fixtures("factory_throws") + "/libbroken_factory_throws.so: ",
                    threw = "its stream_smarts_plugin factory threw: descriptor exploded (a bug in the plugin: tell "
                            "its author)";
  const auto validated = run({"validate", pipeline}, with_broken);
  INFO(validated.err);
  CHECK(validated.exit_code == 0);
  CHECK_THAT(validated.err, Catch::Matchers::Contains(bad_abi + "warning: " + abi + "; skipped\n"));
  CHECK_THAT(validated.err, Catch::Matchers::Contains(throws + "warning: " + threw + "; skipped\n"));
  const auto ran = run({"run", pipeline}, with_broken, std::chrono::seconds(30));
  INFO(ran.err);
  CHECK(ran.exit_code == 0);
  CHECK(count_lines(ran.err, "warning [runtime] " + bad_abi + abi + "; skipped") == 1);
  CHECK(count_lines(ran.err, "warning [runtime] " + throws + threw + "; skipped") == 1);
  CHECK(count_lines(dir.read("alerts.txt"), " raised ") > 0);

  // A name whose file is skipped is refused where the pipeline names it, saying why.
  auto refused = [&](const std::string& folder, const std::string& scorer) {
    std::string text = fixture_pipeline("", "", "", "");
    text.replace(text.find("'fixture_scorer'"), 16, "'" + scorer + "'");
    const auto r = run({"validate", dir.file("q.toml", text)}, {{"STREAM_SMARTS_PLUGIN_PATH", good + ":" + folder}});
    CHECK(r.exit_code == 2);
    return r.err;
  };
  const std::string at = dir.path() + "/q.toml:10:10: ";
  CHECK_THAT(refused(fixtures("option_twice"), "twice_scorer"),
             Catch::Matchers::StartsWith(at + "plugin 'twice_scorer' for scorer 'ratio' cannot be used: " +
                                         fixtures("option_twice") + "/libbroken_option_twice.so was skipped: plugin "
                                         "'twice_scorer' declares option 'limit' twice (a bug in the plugin: tell "
                                         "its author)\n"));
  // Two files with one name: which one was meant cannot be known.
  CHECK_THAT(refused(fixtures("duplicate"), "fixture_scorer"),
             Catch::Matchers::StartsWith(at + "plugin 'fixture_scorer' for scorer 'ratio' cannot be used: " +
                                         fixtures("duplicate") + "/libbroken_duplicate.so was skipped: plugin name "
                                         "'fixture_scorer' is also that of " + good + "/libfixture_scorer.so; remove "
                                         "one of the two files: no pipeline can use 'fixture_scorer' while both are "
                                         "there\n"));
  // A copy of a plugin that cannot be loaded is that plugin's, by its file's
  // name: refused, rather than another copy of it run unnoticed.
  temp_dir stale;
  std::filesystem::copy_file(fixtures("bad_abi") + "/libbroken_bad_abi.so", stale.path() + "/libfixture_scorer.so");
  CHECK_THAT(refused(stale.path(), "fixture_scorer"),
             Catch::Matchers::StartsWith(at + "plugin 'fixture_scorer' for scorer 'ratio' cannot be used: " +
                                         stale.path() + "/libfixture_scorer.so was skipped: " + abi + "\n"));
  // eval says why too, among the plugins that could not take the model.
  const auto evaluated = run({"eval", "--model", dir.file("m", "10\n"), "--data", dir.file("h.csv", "ts,wh\n")},
                             {{"STREAM_SMARTS_PLUGIN_PATH", good + ":" + fixtures("duplicate")}});
  CHECK(evaluated.exit_code == 2);
  CHECK_THAT(evaluated.err, Catch::Matchers::Contains("\n  fixture_scorer: (command line): plugin 'fixture_scorer' "
                                                      "cannot be used: " + fixtures("duplicate") +
                                                      "/libbroken_duplicate.so was skipped: "));
  // An unknown name says that files were skipped, one of which may be it.
  CHECK_THAT(refused(fixtures("bad_abi"), "night_owl"),
             Catch::Matchers::Contains("unknown plugin 'night_owl' for scorer 'ratio'; 1 plugin file was skipped "
                                       "(see the warnings)"));
}

TEST_CASE("writing-a-plugin.md's table of SDK headers has every header installed") {
  namespace fs = std::filesystem;
  std::ifstream doc(fs::path(STREAM_SMARTS_SOURCE_DIR) / "docs" / "writing-a-plugin.md");
  REQUIRE(doc);
  const std::string text((std::istreambuf_iterator<char>(doc)), std::istreambuf_iterator<char>());
  std::size_t headers = 0;
  const fs::path installed = fs::path(STREAM_SMARTS_SOURCE_DIR) / "runtime/include/stream_smarts";
  for (const auto& header : fs::directory_iterator(installed)) {
    INFO(header.path().string());
    CHECK(text.find("| `" + header.path().filename().string() + "` |") != std::string::npos);
    ++headers;
  }
  CHECK(headers >= 8);
}

TEST_CASE("every shipped plugin's README carries its current options table") {
  // The table is generated from the declaration; a README that drifted from
  // it documents options that do not exist.
  namespace fs = std::filesystem;
  std::size_t checked = 0;
  for (const char* kind : {"sources", "scorers", "sinks"}) {
    for (const auto& folder : fs::directory_iterator(fs::path(STREAM_SMARTS_SOURCE_DIR) / "plugins" / kind)) {
      std::ifstream readme(folder.path() / "README.md");
      REQUIRE(readme);
      std::string title, text((std::istreambuf_iterator<char>(readme)), std::istreambuf_iterator<char>());
      title = text.substr(2, text.find(' ', 2) - 2);  // "# NAME (kind)"
      const auto r = run({"plugins", "--describe", title, "--markdown"});
      INFO(folder.path().string());
      REQUIRE(r.exit_code == 0);
      CHECK(text.find(r.out) != std::string::npos);
      ++checked;
    }
  }
  CHECK(checked >= 5);
}

// `stream-smarts train`: read history with a source plugin, hand it to a
// scorer plugin's trainer, which writes a model file its `model` option loads.
#include "commands.hpp"

#include "log.hpp"
#include "pipeline_file.hpp"
#include "stage.hpp"
#include "zone.hpp"

#include <filesystem>
#include <iostream>
#include <thread>

namespace stream_smarts::runtime {
namespace {

const char* command_line = "(command line)";

/// "key=value" as TOML: `lo_percentile=1` is a number, `end=2008-01-01` a
/// string (it is not valid TOML as a bare value, so it is taken as text).
void add_setting(toml::table& table, const std::string& setting, diagnostics& problems) {
  const auto eq = setting.find('=');
  if (eq == std::string::npos || eq == 0) {
    problems.error({command_line}, "'" + setting + "' is not of the form key=value");
    return;
  }
  const std::string key = setting.substr(0, eq), value = setting.substr(eq + 1);
  try {
    toml::table parsed = toml::parse("v = " + value);
    table.insert_or_assign(key, *parsed.get("v"));
  } catch (const toml::parse_error&) {
    table.insert_or_assign(key, value);
  }
}

stage_spec make_stage(const plugin_registry& registry, const std::string& plugin, plugin_kind kind,
                      const std::string& name, const toml::table& table, diagnostics& problems) {
  stage_spec s;
  s.kind = kind;
  s.name = name;
  s.place = {command_line};
  s.plugin = registry.find(plugin);
  if (s.plugin == nullptr || s.plugin->info().kind != kind) {
    problems.error({command_line}, std::string("no ") + to_string(kind) + " plugin named '" + plugin + "'");
    s.plugin = nullptr;
    return s;
  }
  s.options = validate_options(table, s.plugin->info().options, {}, s.describe(), command_line, problems);
  return s;
}

std::vector<reading> read_history(stage& source) {
  std::vector<reading> history;
  source.as_source->start();
  for (;;) {
    const auto result = source.as_source->read(history, 65536);
    if (result.finished) break;
    // An offline command, not a stage: waiting on a paced source is fine here.
    if (result.wait.count() > 0) std::this_thread::sleep_for(result.wait);
  }
  source.as_source->stop();
  const time_zone& zone = source.context->zone();
  for (auto& r : history) localize(r, zone);
  return history;
}

} // namespace

int train_command(const train_request& request) {
  plugin_registry registry;
  registry.load_folders(plugin_search_path(request.plugin_dirs));
  diagnostics problems = registry.problems();
  pipeline_spec pipeline;
  pipeline.file = command_line;
  pipeline.dir = std::filesystem::current_path().string();
  pipeline.settings.name = "train";
  pipeline.settings.timezone = request.timezone;
  try {
    load_time_zone(request.timezone);
  } catch (const std::exception& e) {
    problems.error({command_line}, e.what());
  }
  toml::table source_table{{"path", request.data}, {"speed", "max"}};
  for (const auto& s : request.source_settings) add_setting(source_table, s, problems);
  toml::table scorer_table;
  for (const auto& s : request.scorer_settings) add_setting(scorer_table, s, problems);
  pipeline.stages.push_back(make_stage(registry, "replay", plugin_kind::source, "history", source_table, problems));
  pipeline.stages.push_back(make_stage(registry, request.scorer, plugin_kind::scorer, request.scorer, scorer_table, problems));
  const stage_spec& scorer = pipeline.stages[1];
  if (scorer.plugin && !scorer.plugin->descriptor->train)
    problems.error({command_line}, "scorer plugin '" + request.scorer + "' cannot be trained (it has no trainer)");
  if (!problems.empty()) {
    std::cerr << problems.to_string() << "\n";
    return 2;
  }
  try {
    stage source{&pipeline.stages[0], std::make_unique<stage_context_impl>(pipeline.stages[0], pipeline), {}, {}, {}};
    source.recreate();
    const std::vector<reading> history = read_history(source);
    runtime_log().info("read " + std::to_string(history.size()) + " readings from " + request.data);
    stage_context_impl context{scorer, pipeline};
    std::cout << scorer.plugin->descriptor->train(history, context, request.out) << "\n";
    return 0;
  } catch (const option_error& e) {
    std::cerr << command_line << ": option '" << e.option() << "': " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "training failed: " << e.what() << "\n";
    return 1;
  }
}

} // namespace stream_smarts::runtime

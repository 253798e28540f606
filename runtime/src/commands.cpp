#include "commands.hpp"

#include "graph.hpp"
#include "log.hpp"
#include "pipeline_file.hpp"
#include "schema.hpp"
#include "stage.hpp"
#include "zone.hpp"

#include <array>
#include <iostream>

namespace stream_smarts::runtime {

namespace {
/// The file's problems, then its warnings: a warning (a secret written in
/// the file) is as true of a file that also has errors.
void report(const config_error& e) {
  // A secret's value may also be in an option that echoes it back (a token
  // given as base_url by mistake): masked here as in the log.
  for (const auto* list : {&e.details().errors(), &e.details().warnings()})
    for (const auto& d : *list) std::cerr << without_secrets(d.to_string()) << "\n";
}
/// run's problems with the file: log lines too when the log is JSON, so
/// that every line a service writes parses.
void report_as_log(const config_error& e) {
  if (current_log_format() != log_format::json) return report(e);
  for (const auto& d : e.details().errors()) write_log_line(log_level::error, "runtime", d.to_string());
  for (const auto& d : e.details().warnings()) write_log_line(log_level::warning, "runtime", log_text(d));
}

/// Reads `file` into `spec` and makes its stages, its secrets masked in the
/// log before any plugin can log. Throws config_error with every problem:
/// the file's, then the plugins' own checks of the stages that could start.
/// The warnings, the file's and the plugins' (warn_option), go to `spec`.
std::vector<stage> load(const std::string& file, plugin_registry& registry, pipeline_spec& spec) {
  diagnostics problems;
  spec = read_pipeline(file, registry, problems);
  set_log_secrets(spec.secrets());
  std::vector<stage> stages = instantiate(spec, problems);
  spec.warnings = problems.warnings();
  return stages;
}

/// `plugins`: a line per plugin, sources first, each column as wide as its
/// longest entry so that the next one lines up.
void print_table(const plugin_registry& registry) {
  using row = std::array<std::string, 5>;
  std::vector<row> rows{{"KIND", "NAME", "VERSION", "FILE", "DESCRIPTION"}};
  for (auto kind : {plugin_kind::source, plugin_kind::scorer, plugin_kind::sink})
    for (const auto& p : registry.plugins())
      if (const auto& info = p.info(); info.kind == kind)
        rows.push_back({to_string(kind), info.name, info.version, p.file, info.description});
  std::size_t widths[4] = {};
  for (const auto& r : rows)
    for (std::size_t i = 0; i < 4; ++i) widths[i] = std::max(widths[i], r[i].size());
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < 4; ++i) std::cout << r[i] << std::string(widths[i] - r[i].size() + 2, ' ');
    std::cout << r[4] << "\n";
  }
}
} // namespace

int validate_command(const std::string& pipeline_file) {
  plugin_registry registry;
  try {
    pipeline_spec spec;
    load(pipeline_file, registry, spec);
    for (const auto& w : spec.warnings) std::cerr << without_secrets(w.to_string()) << "\n";
    std::cout << pipeline_file << ": ok (" << spec.of_kind(plugin_kind::source).size() << " sources, "
              << spec.of_kind(plugin_kind::scorer).size() << " scorers, " << spec.of_kind(plugin_kind::sink).size()
              << " sinks)\n";
    return 0;
  } catch (const config_error& e) {
    report(e);
    return 2;
  }
}

int run_command(const std::string& pipeline_file) {
  hold_stop_signals();
  plugin_registry registry;  // outlives the stages and their actors
  try {
    pipeline_spec spec;  // outlives the stages, which refer to it
    std::vector<stage> stages = load(pipeline_file, registry, spec);
    for (const auto& w : spec.warnings) runtime_log().warning(log_text(w));
    return run_pipeline(spec, stages);
  } catch (const metrics_unavailable& e) {
    report_as_log(e);
    return 1;
  } catch (const config_error& e) {
    report_as_log(e);
    return 2;
  }
}

int plugins_command(const std::vector<std::string>& extra_dirs, const std::string& describe, bool markdown) {
  plugin_registry registry;
  registry.load_folders(plugin_search_path(extra_dirs, "--plugin-dir"));
  for (const auto& problem : registry.problems().errors()) std::cerr << problem.to_string() << "\n";
  if (registry.plugins().empty())  // say where it looked (a package of plugins not installed?)
    std::cerr << "no plugins found; searched " << registry.searched()
              << "; install the stream-smarts-plugins package, or set STREAM_SMARTS_PLUGIN_PATH\n";
  if (!describe.empty()) {
    if (const auto refused = registry.refusal(describe)) {  // as validate says it
      std::cerr << *refused << "\n";
      return 2;
    }
    const loaded_plugin* p = registry.find(describe);
    if (p == nullptr) {
      std::cerr << "no plugin named '" << describe << "'" << registry.not_found_note(describe) << "\n";
      return 2;
    }
    const auto& info = p->info();
    if (markdown) {
      std::cout << render_options(info.options, true);
    } else {
      std::cout << info.name << " (" << to_string(info.kind) << ", version " << info.version << ")\n  "
                << info.description << "\n  file: " << p->file << "\n\noptions:\n"
                << render_options(info.options, false);
    }
    return registry.problems().has_errors() ? 1 : 0;
  }
  print_table(registry);
  return registry.problems().has_errors() ? 1 : 0;
}

} // namespace stream_smarts::runtime

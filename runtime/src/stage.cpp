#include "stage.hpp"

#include "crash_report.hpp"
#include "zone.hpp"

#include <algorithm>
#include <filesystem>
#include <utility>

namespace stream_smarts::runtime {

stage_context_impl::stage_context_impl(const stage_spec& spec, const pipeline_spec& pipeline)
    : spec_(spec), dir_(pipeline.dir), zone_(load_time_zone(pipeline.settings.timezone)), log_(spec.name) {}

namespace {
/// "option 'X' of source 'meter' (kafka_source): ", before what the plugin says of X.
std::string about_option(const stage_spec& spec, std::string_view option) {
  return "option '" + std::string(option) + "' of " + spec.describe() + ": ";
}
} // namespace

void stage_context_impl::warn_option(std::string_view option, const std::string& message) {
  const running_plugin runtime_code(nullptr);  // the runtime's code, called from a plugin's
  diagnostic warning{option_place(spec_, option), about_option(spec_, option) + message};
  // Once: a plugin made anew after a failure (or twice by train) says its warnings again.
  if (!warned_.insert(warning.to_string()).second) return;
  if (on_warning) return on_warning(std::move(warning));
  log_.warning(warning.to_string());
}

std::string stage_context_impl::resolve_path(const std::string& path) const {
  const std::filesystem::path p{path};
  return p.is_absolute() ? path : (std::filesystem::path(dir_) / p).lexically_normal().string();
}

void stage::recreate() {
  destroy();
  ++instance;
  const running_plugin running(crash_note.c_str());
  const plugin_descriptor& d = *spec->plugin->descriptor;
  switch (spec->kind) {
    case plugin_kind::source: as_source = d.make_source(*context); break;
    case plugin_kind::scorer: as_scorer = d.make_scorer(*context); break;
    case plugin_kind::sink: as_sink = d.make_sink(*context); break;
  }
}

void stage::destroy() {
  const running_plugin running(crash_note.c_str());
  // An instance going away publishes nothing: its actor may be gone already
  // (the pipeline's end), and what it said is cleared below.
  auto on_trouble = context ? std::exchange(context->on_trouble, nullptr) : nullptr;
  as_source.reset();
  as_scorer.reset();
  as_sink.reset();
  if (!context) return;
  context->figures().forget_gauges();  // they described the instance that is gone, as did its trouble
  context->trouble({});
  context->on_trouble = std::move(on_trouble);
}

location option_place(const stage_spec& spec, std::string_view option) {
  const auto& places = spec.options.places;
  auto it = places.find(option);
  if (it == places.end()) it = places.find(option.substr(0, option.find('.')));
  return it != places.end() ? it->second : spec.place;
}

std::vector<stage> instantiate(const pipeline_spec& pipeline, diagnostics& problems) {
  std::vector<stage> stages;
  for (const auto& spec : pipeline.stages) {
    if (!spec.can_start) continue;  // its problem is already in `problems`
    stage s;
    s.spec = &spec;
    s.crash_note = "stage '" + spec.name + "' (plugin " + spec.plugin->info().name + ", " + spec.plugin->file + ")";
    s.context = std::make_unique<stage_context_impl>(spec, pipeline);
    s.context->on_warning = [&problems](diagnostic d) { problems.warning(std::move(d.where), std::move(d.message)); };
    try {
      s.recreate();
    } catch (const option_error& e) {
      problems.error(option_place(spec, e.option()), about_option(spec, e.option()) + e.what());
    } catch (const std::exception& e) {
      problems.error(spec.place, spec.describe() + " cannot start: " + e.what());
    } catch (...) {
      problems.error(spec.place, spec.describe() + " cannot start: its constructor " + std::string(not_an_exception));
    }
    s.context->on_warning = nullptr;  // `problems` is said once the stages are made; a restart logs
    stages.push_back(std::move(s));
  }
  if (problems.has_errors()) throw config_error(problems);
  return stages;
}

std::optional<std::chrono::milliseconds> restart_policy::failed() {
  if (++in_a_row_ > max_) return std::nullopt;
  const auto factor = 1LL << std::min(in_a_row_ - 1, 6);
  return std::min<std::chrono::milliseconds>(base_ * factor, std::max(base_, std::chrono::milliseconds{10000}));
}

} // namespace stream_smarts::runtime

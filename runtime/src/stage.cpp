#include "stage.hpp"

#include "crash_report.hpp"
#include "zone.hpp"

#include <algorithm>
#include <filesystem>

namespace stream_smarts::runtime {

stage_context_impl::stage_context_impl(const stage_spec& spec, const pipeline_spec& pipeline)
    : spec_(spec), dir_(pipeline.dir), zone_(load_time_zone(pipeline.settings.timezone)), log_(spec.name) {}

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
  as_source.reset();
  as_scorer.reset();
  as_sink.reset();
  if (context) context->figures().forget_gauges();  // they described the instance that is gone
}

std::vector<stage> instantiate(const pipeline_spec& pipeline, diagnostics problems) {
  std::vector<stage> stages;
  for (const auto& spec : pipeline.stages) {
    if (!spec.can_start) continue;  // its problem is already in `problems`
    stage s;
    s.spec = &spec;
    s.crash_note = "stage '" + spec.name + "' (plugin " + spec.plugin->info().name + ", " + spec.plugin->file + ")";
    s.context = std::make_unique<stage_context_impl>(spec, pipeline);
    try {
      s.recreate();
    } catch (const option_error& e) {
      auto it = spec.options.places.find(e.option());
      problems.error(it != spec.options.places.end() ? it->second : spec.place,
                     "option '" + e.option() + "' of " + spec.describe() + ": " + e.what());
    } catch (const std::exception& e) {
      problems.error(spec.place, spec.describe() + " cannot start: " + e.what());
    } catch (...) {
      problems.error(spec.place, spec.describe() + " cannot start: its constructor " + std::string(not_an_exception));
    }
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

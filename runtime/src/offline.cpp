#include "offline.hpp"

#include "crash_report.hpp"
#include "log.hpp"
#include "zone.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>
#include <thread>

namespace stream_smarts::runtime {
namespace {

const char* command_line = "(command line)";

/// The KEY of a KEY=VALUE setting (all of it without '=').
std::string key_of(const std::string& setting) { return setting.substr(0, setting.find('=')); }

} // namespace

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

std::string day_of(const reading& r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", r.local.year, r.local.month, r.local.day);
  return buf;
}

std::string fixed(double v, int decimals) {
  if (std::isnan(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string alert_hours_note(const evaluation& e) {
  if (e.alert_hours() == e.alerts()) return "";  // hourly readings, or no alert (and no week) at all
  return ", in " + std::to_string(e.alert_hours()) + (e.alert_hours() == 1 ? " clock hour (" : " clock hours (") +
         fixed(static_cast<double>(e.alert_hours()) / e.weeks(), 2) + " per week)";
}

std::string readable_duration(double ms) {
  if (std::isnan(ms)) return "-";
  const double seconds = std::round(ms / 1000);
  if (seconds > 0 && seconds < 60) return fixed(seconds, 0) + " s";
  const double minutes = std::round(ms / 60000);
  if (minutes < 60) return fixed(minutes, 0) + " min";
  const double tenths = std::round(ms / 360000);
  return fixed(tenths / 10, std::fmod(tenths, 10) == 0 ? 0 : 1) + " h";
}

std::string describe_option_error(const option_error& e) { return "option '" + e.option() + "': " + e.what(); }

bool refused(const diagnostics& problems) {
  if (!problems.has_errors()) return false;
  std::cerr << problems.to_string() << "\n";
  return true;
}

int run_offline(offline_session& session, const char* what, const std::function<int()>& body) {
  if (refused(session.problems())) return 2;
  try {
    return body();
  } catch (const option_error& e) {  // the history's source refused its options (--data, --data-set)
    std::cerr << "(command line): " << describe_option_error(e) << "\n";
    return 2;
  } catch (const unusable_input& e) {
    std::cerr << "stream-smarts: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << what << " failed: " << e.what() << "\n";
    return 1;
  }
}

offline_session::offline_session(const offline_request& request) : data_(request.history.data) {
  load_plugins(request.plugin_dirs);
  pipeline_.file = command_line;
  pipeline_.dir = std::filesystem::current_path().string();
  pipeline_.settings.name = "offline";
  pipeline_.settings.timezone = request.timezone;
  try {
    zone_ = load_time_zone(request.timezone);
  } catch (const std::exception& e) {
    problems_.error({command_line}, e.what());
    return;
  }
  history_ = &declare(plugin_kind::source, request.history.source, history_options(request.history), problems_);
}

void offline_session::load_plugins(const std::vector<std::string>& dirs) {
  registry_.load_folders(plugin_search_path(dirs, "--plugin-dir"));
  for (const auto& problem : registry_.problems().errors())  // as for a pipeline: only naming its plugin is refused
    runtime_log().warning(problem.to_string() + "; skipped");
}

namespace {

/// The option `--data FILE` gives (history_file()), if the source has one.
const option_spec* history_file_of(const std::vector<option_spec>& specs) {
  const auto file = std::find_if(specs.begin(), specs.end(), [](const option_spec& o) { return o.history.file; });
  return file != specs.end() ? &*file : nullptr;
}

/// Sets the source's history values, its own way to read all there is now,
/// flat out; returns their names, which --data-set may not change.
std::set<std::string, std::less<>> set_history_values(toml::table& options, const std::vector<option_spec>& specs) {
  std::set<std::string, std::less<>> set;
  for (const auto& spec : specs) {
    if (std::holds_alternative<std::monostate>(spec.history.value)) continue;
    insert_value(options, spec.name, spec.history.value);
    set.insert(spec.name);
  }
  return set;
}

} // namespace

toml::table offline_session::history_options(const history_request& history) {
  toml::table options;
  const loaded_plugin* source = registry_.find(history.source);
  if (source && source->info().kind != plugin_kind::source) source = nullptr;
  const std::vector<option_spec> none;  // no such source: declare() says so
  const std::vector<option_spec>& specs = source ? source->info().options : none;
  if (!history.data.empty()) {
    if (const option_spec* file = history_file_of(specs)) options.insert_or_assign(file->name, history.data);
    else if (source)
      problems_.error({command_line}, "--data is the path of a history file, and source '" + history.source +
                                          "' reads none: give its options with --data-set (`stream-smarts plugins "
                                          "--describe " + history.source + "`)");
  }
  const auto own = set_history_values(options, specs);
  for (const auto& s : history.settings) {
    const std::string key = key_of(s);
    if (own.count(key) != 0) {
      // speed=realtime from a pipeline file looked like a hang: the history took its own length to read.
      problems_.error({command_line}, "--data-set " + s + ": the offline commands read the whole history, as fast "
                                      "as they can; leave " + key + " out");
      continue;
    }
    add_setting(options, s, problems_);
    givens_.wh_unit = givens_.wh_unit || key == "wh_unit";
    givens_.span = givens_.span || key == "span";
  }
  return options;
}

stage_spec& offline_session::declare(plugin_kind kind, const std::string& plugin, const toml::table& options,
                                     diagnostics& problems) {
  stage_spec& s = specs_.emplace_back();
  s.kind = kind;
  s.name = kind == plugin_kind::source ? "history" : plugin;
  s.place = {command_line};
  s.plugin_name = plugin;
  s.plugin = registry_.find(plugin);
  if (const auto refused = registry_.refusal(plugin)) {
    problems.error({command_line}, *refused);
    s.plugin = nullptr;
    return s;
  }
  if (s.plugin == nullptr || s.plugin->info().kind != kind) {
    std::string message = std::string("no ") + to_string(kind) + " plugin named '" + plugin + "'";
    message += s.plugin ? " ('" + plugin + "' is a " + to_string(s.plugin->info().kind) + ")"
                        : registry_.not_found_note(plugin);
    problems.error({command_line}, message);
    s.plugin = nullptr;
    return s;
  }
  s.options = validate_options(options, s.plugin->info().options, {}, s.describe(), command_line, problems);
  // Said at once, as the command line's errors are: "(command line): warning: option 'model' of ...".
  contexts_.emplace_back(s, pipeline_).on_warning = [](diagnostic d) {
    std::cerr << without_secrets(diagnostic{d.where, "warning: " + d.message}.to_string()) << "\n";
  };
  crash_notes_[&s] = std::string("the ") + to_string(kind) + " plugin " + plugin + " (" + s.plugin->file + ")";
  return s;
}

const stage_spec* offline_session::declare_scorer(const std::string& plugin, const toml::table& options) {
  const std::size_t before = problems_.errors().size();
  const stage_spec& s = declare(plugin_kind::scorer, plugin, options, problems_);
  return s.plugin && problems_.errors().size() == before ? &s : nullptr;
}

namespace {

/// The training option `setting` (KEY=VALUE) names among `specs`, if any.
const option_spec* training_option_of(const std::vector<option_spec>& specs, const std::string& setting) {
  if (setting.find('=') == std::string::npos) return nullptr;  // add_setting says what is wrong with it
  const std::string key = key_of(setting);
  const auto spec = std::find_if(specs.begin(), specs.end(), [&](const option_spec& o) { return o.name == key; });
  return spec != specs.end() && spec->training ? &*spec : nullptr;
}

} // namespace

offline_session::model_scorer offline_session::scorer_for_model(const std::string& model_path,
                                                                const std::vector<std::string>& settings) {
  for (const auto& s : settings)
    if (key_of(s) == "model")  // it swapped the model, and the table named the first
      throw unusable_input("--set " + s + " after --model " + model_path + ": give each model with its own --model");
  std::string tried;
  for (const auto& p : registry_.plugins()) {
    if (p.info().kind != plugin_kind::scorer || !declares(p.info().options, "model")) continue;
    diagnostics problems;  // a plugin that refuses the file is no problem while another may take it
    toml::table options{{"model", model_path}};
    for (const auto& s : settings)  // a training one is refused below, once a plugin has taken the model
      if (!training_option_of(p.info().options, s)) add_setting(options, s, problems);
    const stage_spec& spec = declare(plugin_kind::scorer, p.info().name, options, problems);
    if (problems.has_errors()) {
      tried += "\n  " + p.info().name + ": " + problems.to_string();
      continue;
    }
    model_scorer loaded{&spec, nullptr};
    try {
      loaded.instance = make_scorer(spec);
    } catch (const option_error& e) {  // the model's own error names its file; a --set one its option
      tried += "\n  " + p.info().name + ": " + (e.option() == "model" ? e.what() : describe_option_error(e));
      continue;
    } catch (const std::exception& e) {
      tried += "\n  " + p.info().name + ": " + e.what();
      continue;
    }
    // After --model, --set gives a scoring option: a training one would do nothing.
    for (const auto& s : settings)
      if (const option_spec* spec = training_option_of(p.info().options, s))
        throw unusable_input("--set " + s + " after --model " + model_path + ": " + spec->name + " " +
                             training_only(spec->name));
    return loaded;
  }
  if (const std::string skipped = registry_.skipped_note(); !skipped.empty()) tried += "\n  " + skipped.substr(2);
  std::string with;
  for (const auto& s : settings) with += (with.empty() ? " with --set " : ", --set ") + s;
  throw unusable_input(model_path + ": no scorer plugin can load this model" + with +
                           (tried.empty() ? std::string(" (no scorer plugin has a model option)") : ":" + tried));
}

void offline_session::refuse_overwriting_inputs(const std::string& out, const char* option,
                                                const std::vector<std::string>& models) {
  std::error_code ec;
  const auto is = [&](const std::string& input) {
    return !out.empty() && !input.empty() && std::filesystem::equivalent(out, input, ec);
  };
  std::string what = is(data_) ? "the history (--data)" : "";
  for (const auto& model : models)
    if (what.empty() && is(model)) what = "a model read (--model)";
  if (!what.empty())
    problems_.error({command_line}, std::string(option) + " " + out + " is " + what + ": it would be "
                                                                                     "overwritten; write to another file");
}

stage_context_impl& offline_session::context_of(const stage_spec& spec) {
  for (auto& c : contexts_)
    if (&c.spec() == &spec) return c;
  throw std::logic_error("offline_session: stage '" + spec.name + "' was not declared here");
}

const char* offline_session::crash_note(const stage_spec& spec) const { return crash_notes_.at(&spec).c_str(); }

namespace {
/// A scorer whose plugin the crash report names while it scores or goes.
class noted_scorer final : public scorer {
public:
  noted_scorer(std::unique_ptr<scorer> plugin, const char* note) : plugin_(std::move(plugin)), note_(note) {}
  ~noted_scorer() override {
    const running_plugin running(note_);
    plugin_.reset();
  }
  score_result score(const reading& r) override {
    const running_plugin running(note_);
    return plugin_->score(r);
  }

private:
  std::unique_ptr<scorer> plugin_;
  const char* note_;
};
} // namespace

std::unique_ptr<scorer> offline_session::make_scorer(const stage_spec& spec, std::function<void(double)> on_progress) {
  stage_context_impl& context = context_of(spec);
  context.on_progress = std::move(on_progress);
  const running_plugin running(crash_note(spec));
  return std::make_unique<noted_scorer>(spec.plugin->descriptor->make_scorer(context), crash_note(spec));
}

std::vector<reading> offline_session::read_history(const std::function<void(std::size_t)>& on_batch) {
  const auto plugin = [note = crash_note(*history_)](auto&& code) { return as_plugin(note, code); };
  std::vector<reading> history;
  std::unique_ptr<source> s = plugin([&] { return history_->plugin->descriptor->make_source(context_of(*history_)); });
  plugin([&] { s->start(); });
  for (;;) {
    const auto result = plugin([&] { return s->read(history, 65536); });
    if (on_batch) on_batch(history.size());
    if (result.finished) break;
    // An offline command, not a stage: waiting on a paced source is fine here.
    if (result.wait.count() > 0) std::this_thread::sleep_for(result.wait);
  }
  plugin([&] {
    s->stop();
    s.reset();
  });
  for (auto& r : history) localize(r, *zone_);
  // Trainers are promised history in time order (and scorers see it so when
  // running); a topic's partitions or a hand-joined file may interleave.
  // Stable: readings of the same instant keep the source's order.
  const auto earlier = [](const reading& a, const reading& b) { return a.ts_ms < b.ts_ms; };
  if (!std::is_sorted(history.begin(), history.end(), earlier))
    std::stable_sort(history.begin(), history.end(), earlier);
  check_history(history, givens_, *zone_);
  return history;
}

} // namespace stream_smarts::runtime

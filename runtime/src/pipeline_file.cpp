#include "pipeline_file.hpp"

#include "zone.hpp"

#include <stream_smarts/toml_keys.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace stream_smarts::runtime {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

/// The alert policy's keys, declared once: [pipeline] gives the defaults,
/// and a sink may override any of them.
std::vector<option_spec> policy_options() {
  return {
      optional_option("alert_threshold", option_type::number, 1.0,
                      "A scored reading whose score is above this is unusual."),
      optional_option("sustain", option_type::duration | option_type::integer, std::int64_t{1},
                      "Alert only once usage has stayed unusual this long (\"15m\") or for this many readings in "
                      "a row (3)."),
      optional_option("cooldown", option_type::duration, std::chrono::milliseconds{0},
                      "At most one raise per scorer and meter in this period (reminders and back to normal are "
                      "not limited); \"0s\": no limit."),
      optional_option("remind_every", option_type::duration, std::chrono::milliseconds{0},
                      "While usage stays unusual, remind this often; \"0s\": never."),
      optional_option("resolved", option_type::boolean, false,
                      "Notify once when usage is back inside the expected range after an alert."),
      optional_option("quiet_hours", option_type::string, std::string(),
                      "Local hours without notifications, \"22:00-07:00\", of the clock when a reading ends; an "
                      "alert waits for their end. \"\": none."),
  };
}

/// The same keys on a sink: no defaults of their own.
std::vector<option_spec> policy_overrides() {
  auto specs = policy_options();
  for (auto& s : specs) {
    s.default_value = {};
    s.description = "Overrides [pipeline] " + s.name + " for this sink.";
  }
  return specs;
}

std::vector<option_spec> concat(std::vector<option_spec> a, const std::vector<option_spec>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

} // namespace

const std::vector<option_spec>& pipeline_options() {
  static const std::vector<option_spec> specs = concat(
      {
          optional_option("name", option_type::string, {}, "Name of the pipeline in logs (default: the file name)."),
          optional_option("timezone", option_type::string, std::string("UTC"),
                          "IANA time zone in which hour-of-day and day fields are computed, e.g. \"Europe/Paris\"."),
          optional_option("plugin_dirs", option_type::string_list, std::vector<std::string>{},
                          "Extra folders to load plugins from, relative to this file."),
          // Bounded above too: a batch_size of 10^17 hung the source reserving it.
          optional_option("batch_size", option_type::integer, std::int64_t{1024},
                          "Readings a source hands on at once.")
              .within(1, 1'000'000),
          optional_option("max_in_flight", option_type::integer, std::int64_t{8},
                          "Batches a source may have on their way to the sinks; each sink also holds at most "
                          "batch_size x max_in_flight undelivered alerts. A slow sink slows the source.")
              .within(1, 1000),
          // At most a day: a longer wait is never meant, and past 292 years one
          // overflowed the actor timer (the stop gave up at once).
          optional_option("shutdown_timeout", option_type::duration, std::chrono::milliseconds{10s},
                          "How long a stop may take to drain in-flight readings and flush sinks.")
              .at_most(24h),
          optional_option("max_restarts", option_type::integer, std::int64_t{5},
                          "How many times in a row a failed stage is restarted (0: never); its next failure stops the "
                          "pipeline.")
              .within(0, 1000),
          optional_option("restart_backoff", option_type::duration, std::chrono::milliseconds{200ms},
                          "Wait before the first restart of a failed stage; doubles with each failure in a row, up "
                          "to 10 s (or this, if longer).")
              .at_most(24h),
          optional_option("metrics", option_type::string, std::string(),
                          "HOST:PORT to serve Prometheus metrics (/metrics) and health (/healthz) on, e.g. "
                          "\"127.0.0.1:9464\"; port 0 takes any free one (logged). \"\": no endpoint."),
      },
      policy_options());
  return specs;
}

const std::vector<option_spec>& stage_options(plugin_kind kind) {
  static const auto name = required_option("name", option_type::string, "Name of this stage; others wire to it.");
  static const auto plugin = required_option("plugin", option_type::string, "The plugin that runs this stage.");
  static const std::vector<option_spec> source{name, plugin};
  static const std::vector<option_spec> scorer{
      name, plugin, required_option("from", option_type::string_list, "The sources whose readings it scores.")};
  static const std::vector<option_spec> sink = concat(
      {name, plugin, required_option("from", option_type::string_list, "The scorers whose results it receives."),
       optional_option("receive", option_type::string, std::string("alerts"),
                       "\"alerts\": what the alert policy notifies (raised, reminders, back to normal); "
                       "\"unusual\": every scored reading above the threshold; \"all\": every scored reading.",
                       {"alerts", "unusual", "all"}),
       optional_option("max_retries", option_type::integer, std::int64_t{8},
                       "A delivery that fails for a reason worth retrying (server error, timeout, 429) is tried "
                       "again this many times, then given up and logged.")
           .within(0, 1000),
       optional_option("retry_backoff", option_type::duration, std::chrono::milliseconds{2s},
                       "Wait before the first retry; doubles with each retry (with jitter, at most 10m), or "
                       "longer if the service asks (Retry-After).")
           .above(0ms)},  // 0s would spend every retry within milliseconds, 429s and outages included
      policy_overrides());
  switch (kind) {
    case plugin_kind::source: return source;
    case plugin_kind::scorer: return scorer;
    case plugin_kind::sink: return sink;
  }
  return source;
}

std::string stage_spec::describe() const {
  return std::string(to_string(kind)) + " '" + name + "' (" + (plugin_name.empty() ? "?" : plugin_name) + ")";
}

std::vector<const stage_spec*> pipeline_spec::of_kind(plugin_kind kind) const {
  std::vector<const stage_spec*> out;
  for (const auto& s : stages)
    if (s.kind == kind) out.push_back(&s);
  return out;
}

const stage_spec* pipeline_spec::find(const std::string& name) const {
  for (const auto& s : stages)
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<const stage_spec*> pipeline_spec::consumers_of(const std::string& name) const {
  std::vector<const stage_spec*> out;
  for (const auto& s : stages)
    if (std::find(s.from.begin(), s.from.end(), name) != s.from.end()) out.push_back(&s);
  return out;
}

std::vector<std::string> pipeline_spec::secrets() const {
  std::vector<std::string> out;
  for (const auto& s : stages) {
    if (s.plugin == nullptr) continue;
    const auto& values = s.options.values;
    for (const auto& option : s.plugin->info().options) {
      if (accepts(option.type, option_type::secret) && values.holds<std::string>(option.name))
        out.push_back(values.string(option.name));
      if (accepts(option.type, option_type::string_table) && values.holds<string_table>(option.name))
        for (const auto& [key, value] : values.table(option.name))
          if (names_a_secret(key)) out.push_back(value);
    }
  }
  return out;
}

namespace {

const char* table_key(plugin_kind kind) {
  switch (kind) {
    case plugin_kind::source: return "sources";
    case plugin_kind::scorer: return "scorers";
    case plugin_kind::sink: return "sinks";
  }
  return "";
}

/// Builds a pipeline_spec from a parsed file, collecting problems.
class pipeline_reader {
public:
  pipeline_reader(const std::string& file, plugin_registry& registry, diagnostics& out)
      : file_(file), registry_(registry), out_(out) {
    spec_.file = file;
    spec_.dir = fs::absolute(file).parent_path().lexically_normal().string();
  }

  pipeline_spec read(const toml::table& root) {
    check_top_level(root);
    read_settings(root);
    load_plugins();
    for (auto kind : {plugin_kind::source, plugin_kind::scorer, plugin_kind::sink}) read_stages(root, kind);
    if (spec_.of_kind(plugin_kind::source).empty())
      out_.error({file_}, "the pipeline has no [[sources]]: add at least one source stage");
    check_names();
    check_wiring();
    return std::move(spec_);
  }

private:
  void check_top_level(const toml::table& root) {
    const std::vector<std::string> known{"pipeline", "sources", "scorers", "sinks"};
    for (const auto& [key, node] : root) {
      const std::string name{key.str()};
      if (std::find(known.begin(), known.end(), name) != known.end()) continue;
      std::string message = "unknown top-level key '" + name + "'; a pipeline has [pipeline], [[sources]], "
                                                              "[[scorers]] and [[sinks]]";
      if (auto guess = nearest(name, known)) message += " (did you mean '" + *guess + "'?)";
      out_.error(where(node, file_), message);
    }
  }

  void read_settings(const toml::table& root) {
    static const toml::table empty;
    const toml::node* node = root.get("pipeline");
    const toml::table* table = node ? node->as_table() : &empty;
    if (table == nullptr) {
      out_.error(where(*node, file_), "'pipeline' must be a table: [pipeline]");
      table = &empty;
    }
    const auto v = validate_options(*table, pipeline_options(), {}, "[pipeline]", file_, out_);
    auto& s = spec_.settings;
    const auto& o = v.values;
    // Every key but name has a declared default, so it is set unless its
    // value was rejected above (and then the file is refused anyway).
    s.name = o.has("name") ? o.string("name") : fs::path(file_).stem().string();
    s.policy = read_policy(v, s.policy, "[pipeline]");
    if (o.holds<std::chrono::milliseconds>("shutdown_timeout")) s.shutdown_timeout = o.duration("shutdown_timeout");
    if (o.holds<std::chrono::milliseconds>("restart_backoff")) s.restart_backoff = o.duration("restart_backoff");
    if (o.holds<std::int64_t>("max_restarts")) s.max_restarts = static_cast<int>(o.integer("max_restarts"));
    if (o.holds<std::int64_t>("batch_size")) s.batch_size = static_cast<std::size_t>(o.integer("batch_size"));
    if (o.holds<std::int64_t>("max_in_flight")) s.max_in_flight = static_cast<std::size_t>(o.integer("max_in_flight"));
    read_metrics(v, *table);
    if (o.holds<std::vector<std::string>>("plugin_dirs"))
      for (const auto& d : o.strings("plugin_dirs"))
        s.plugin_dirs.push_back((fs::path(spec_.dir) / d).lexically_normal().string());
    if (!o.holds<std::string>("timezone")) return;  // already reported
    try {
      load_time_zone(o.string("timezone"));
      s.timezone = o.string("timezone");  // only a zone that loads: stages are still made to check their options
    } catch (const std::exception& e) {
      out_.error(place_of(v, "timezone", where(*table, file_)), e.what());
    }
  }

  void read_metrics(const validated_options& v, const toml::table& table) {
    if (!v.values.holds<std::string>("metrics") || v.values.string("metrics").empty()) return;
    auto& s = spec_.settings;
    s.metrics_place = place_of(v, "metrics", where(table, file_));
    std::string why;
    s.metrics = parse_listen_address(v.values.string("metrics"), why);
    if (!s.metrics) out_.error(s.metrics_place, "[pipeline] metrics = \"" + v.values.string("metrics") + "\": " + why);
  }

  /// The most readings `sustain` may count: a day of readings a second.
  static constexpr std::int64_t most_sustain_readings = 86'400;

  /// `base` with the policy keys given in `v` (all of them for [pipeline],
  /// whatever a sink overrides); `owner` names the table in errors.
  alert_policy_settings read_policy(const validated_options& v, alert_policy_settings base, const std::string& owner) {
    const auto& o = v.values;
    auto problem = [&](const char* key, const std::string& what) {
      out_.error(place_of(v, key, {file_}), std::string("option '") + key + "' of " + owner + " " + what);
    };
    if (o.holds<double>("alert_threshold")) base.threshold = o.number("alert_threshold");
    if (o.holds<std::int64_t>("sustain") || o.holds<std::chrono::milliseconds>("sustain")) {
      base.sustain_readings = 1;
      base.sustain_ms = 0;
      if (o.holds<std::chrono::milliseconds>("sustain")) base.sustain_ms = o.duration("sustain").count();
      else if (o.integer("sustain") >= 1 && o.integer("sustain") <= most_sustain_readings)
        base.sustain_readings = static_cast<int>(o.integer("sustain"));
      else
        problem("sustain", "must be a duration (\"15m\") or 1 to " + std::to_string(most_sustain_readings) +
                               " readings, not " + std::to_string(o.integer("sustain")));
    }
    if (o.holds<std::chrono::milliseconds>("cooldown")) base.cooldown_ms = o.duration("cooldown").count();
    if (o.holds<std::chrono::milliseconds>("remind_every")) base.remind_every_ms = o.duration("remind_every").count();
    if (o.holds<bool>("resolved")) base.resolved = o.boolean("resolved");
    if (o.holds<std::string>("quiet_hours")) {
      const std::string& text = o.string("quiet_hours");
      base.quiet = day_hours::parse(text);  // "": none
      if (const std::string why = day_hours::problem(text); !text.empty() && !why.empty()) problem("quiet_hours", why);
    }
    return base;
  }

  void read_sink_keys(const validated_options& v, stage_spec& stage, const std::string& owner) {
    const auto& o = v.values;
    if (o.holds<std::string>("receive")) {
      const std::string& mode = o.string("receive");
      stage.receive = mode == "all" ? receive_mode::all : mode == "unusual" ? receive_mode::unusual : receive_mode::alerts;
    }
    if (o.holds<std::int64_t>("max_retries")) stage.retries.max_retries = static_cast<int>(o.integer("max_retries"));
    if (o.holds<std::chrono::milliseconds>("retry_backoff")) stage.retries.backoff = o.duration("retry_backoff");
    if (stage.receive != receive_mode::alerts) policy_keys_have_no_effect(v, o.string("receive"), owner);
    stage.policy = read_policy(v, spec_.settings.policy, owner);
  }

  // receive = "unusual" or "all" hands the sink scored readings, not what
  // the alert policy decides: a sink's own policy keys would be ignored.
  void policy_keys_have_no_effect(const validated_options& v, const std::string& mode, const std::string& owner) {
    for (const option_spec& key : policy_options())
      if (key.name != "alert_threshold" && v.values.has(key.name))  // the threshold says what is unusual
        out_.error(place_of(v, key.name, {file_}), "option '" + key.name + "' of " + owner +
                                                       " has no effect with receive = \"" + mode +
                                                       "\": the alert policy decides only what receive = \"alerts\" "
                                                       "gets");
  }

  static location place_of(const validated_options& v, const std::string& option, location fallback) {
    auto it = v.places.find(option);
    return it != v.places.end() ? it->second : fallback;
  }

  /// A broken file in a plugin folder (one left behind by an upgrade, built
  /// for another ABI) is a warning: only a pipeline naming its plugin is
  /// refused, and the others keep alerting.
  void load_plugins() {
    registry_.load_folders(plugin_search_path(spec_.settings.plugin_dirs, "plugin_dirs"));
    for (const auto& problem : registry_.problems().errors())
      out_.warning(problem.where, problem.message + "; skipped");
  }

  void read_stages(const toml::table& root, plugin_kind kind) {
    const toml::node* node = root.get(table_key(kind));
    if (node == nullptr) return;
    const toml::array* array = node->as_array();
    if (array == nullptr || !array->is_homogeneous(toml::node_type::table)) {
      out_.error(where(*node, file_), std::string("'") + table_key(kind) + "' must be written as [[" +
                                          table_key(kind) + "]] tables");
      return;
    }
    for (const auto& element : *array) read_stage(*element.as_table(), kind);
  }

  /// The stage's name, if it has one; refused (and still returned) if empty
  /// or with a control character.
  std::optional<std::string> stage_name(const toml::table& table) {
    const auto name = table["name"].value<std::string>();
    if (name && name->empty()) out_.error(where(*table.get("name"), file_), "a stage name must not be empty");
    if (name && has_control_character(*name))  // it starts log lines and /healthz's: it must not forge one
      out_.error(where(*table.get("name"), file_), "a stage name must not hold a line break or another control "
                                                   "character");
    return name;
  }

  static std::set<std::string, std::less<>> runtime_keys_of_any_stage() {
    std::set<std::string, std::less<>> names;
    for (const auto& s : stage_options(plugin_kind::sink)) names.insert(s.name);  // a sink's are all of them
    return names;
  }

  /// The keys of `table` that are not this kind of stage's runtime keys: the
  /// plugin's, checked against its declaration later. A runtime key on the
  /// wrong kind of stage gets one message, from here.
  std::set<std::string, std::less<>> not_runtime_keys_of(const toml::table& table, plugin_kind kind,
                                                         const std::set<std::string, std::less<>>& runtime_names,
                                                         const std::string& owner) {
    std::set<std::string, std::less<>> others;
    for (const auto& [key, node] : table) {
      const std::string k{key.str()};
      if (runtime_names.count(k) != 0 && declares(stage_options(kind), k)) continue;
      others.insert(k);
      if (runtime_names.count(k) != 0)
        out_.error(where(node, file_), owner + " takes no '" + k + "': " +
                                           (k == "from"      ? "sources are where readings start"
                                            : k == "receive" ? "only sinks choose what they receive"
                                                             : "it is a sink's key (alert policy and retries)"));
    }
    return others;
  }

  void read_stage(const toml::table& table, plugin_kind kind) {
    stage_spec stage;
    stage.kind = kind;
    stage.place = where(table, file_);
    const auto name = stage_name(table);
    stage.name = name.value_or("");
    const std::string owner = std::string(to_string(kind)) + (name ? " '" + *name + "'" : "");
    // The runtime's keys first, then the plugin's: each declared once.
    const std::set<std::string, std::less<>> runtime_names = runtime_keys_of_any_stage();
    const auto runtime_keys =
        validate_options(table, stage_options(kind), not_runtime_keys_of(table, kind, runtime_names, owner), owner,
                         file_, out_);
    if (runtime_keys.values.holds<std::vector<std::string>>("from")) stage.from = runtime_keys.values.strings("from");
    if (runtime_keys.values.holds<std::vector<std::string>>("from") && stage.from.empty())
      out_.error(where(*table.get("from"), file_), "option 'from' of " + owner + " must name at least one stage");
    if (kind == plugin_kind::sink) read_sink_keys(runtime_keys, stage, owner);
    from_places_[{stage.place.line, stage.place.column}] = table.get("from");

    if (runtime_keys.values.holds<std::string>("plugin")) {
      stage.plugin_name = runtime_keys.values.string("plugin");
      stage.plugin = find_plugin(stage.plugin_name, kind, *table.get("plugin"), owner);
    }
    if (stage.plugin != nullptr) {
      const std::size_t known_problems = out_.errors().size();
      const std::string plugin_owner = owner + " (" + stage.plugin->info().name + ")";
      std::set<std::string, std::less<>> not_read = runtime_names;
      for (const option_spec& spec : stage.plugin->info().options)
        if (spec.training) not_read.insert(spec.name);  // refused as such, whatever its value
      stage.options = validate_options(table, stage.plugin->info().options, not_read, plugin_owner, file_, out_);
      refuse_training_options(table, *stage.plugin, plugin_owner);
      // A stage is made in the pipeline's time zone, so none is without one.
      stage.can_start = out_.errors().size() == known_problems && !spec_.settings.timezone.empty();
    }
    // Kept even without a plugin, so stages wired to it are not also reported.
    spec_.stages.push_back(std::move(stage));
  }

  // A scorer scores with what its model was trained with: an option only
  // `train` reads would do nothing here, without a word.
  void refuse_training_options(const toml::table& table, const loaded_plugin& plugin, const std::string& owner) {
    for (const option_spec& spec : plugin.info().options)
      if (const toml::node* value = table.get(spec.name); spec.training && value != nullptr)
        out_.error(where(*value, file_), "option '" + spec.name + "' of " + owner + " " + training_only(spec.name));
  }

  const loaded_plugin* find_plugin(const std::string& name, plugin_kind kind, const toml::node& at,
                                   const std::string& owner) {
    if (const auto refused = registry_.refusal(name, owner)) {
      out_.error(where(at, file_), *refused);
      return nullptr;
    }
    const loaded_plugin* plugin = registry_.find(name);
    if (plugin == nullptr) {
      std::string message = "unknown plugin '" + name + "' for " + owner + registry_.not_found_note(name) +
                            "; `stream-smarts plugins` lists the plugins found";
      if (!spec_.settings.plugin_dirs.empty()) message += " (with --plugin-dir for each of plugin_dirs)";
      out_.error(where(at, file_), message);
      return nullptr;
    }
    if (plugin->info().kind != kind) {
      out_.error(where(at, file_), "plugin '" + name + "' is a " + to_string(plugin->info().kind) + ", but " + owner +
                                       " is in [[" + table_key(kind) + "]]");
      return nullptr;
    }
    return plugin;
  }

  void check_names() {
    std::map<std::string, const stage_spec*> seen;
    for (const auto& s : spec_.stages) {
      if (s.name == "runtime")
        out_.error(s.place, "stage name 'runtime' is taken by stream-smarts's own log lines; choose another");
      if (s.name.empty()) continue;  // missing (a required option) or empty: reported where it is read
      auto [it, fresh] = seen.emplace(s.name, &s);
      if (!fresh)
        out_.error(s.place, "stage name '" + s.name + "' is already used at line " +
                                std::to_string(it->second->place.line) + "; names must be unique");
    }
  }

  location from_element(const stage_spec& s, std::size_t index) const {
    auto it = from_places_.find({s.place.line, s.place.column});
    if (it == from_places_.end() || it->second == nullptr) return s.place;
    if (const auto* array = it->second->as_array(); array && index < array->size())
      return where(*array->get(index), file_);
    return where(*it->second, file_);
  }

  void check_wiring() {
    std::vector<std::string> names;
    for (const auto& s : spec_.stages) names.push_back(s.name);
    bool dangling = false;
    for (const auto& s : spec_.stages)
      for (std::size_t i = 0; i < s.from.size(); ++i)
        if (spec_.find(s.from[i]) == nullptr) {
          std::string message = s.describe() + " takes from '" + s.from[i] + "', which is not a stage in this file";
          if (auto guess = nearest(s.from[i], names)) message += " (did you mean '" + *guess + "'?)";
          out_.error(from_element(s, i), message);
          dangling = true;
        }
    if (dangling || !check_cycles()) return;
    check_kinds();
    check_unwired();
  }

  /// Depth-first search over `from`; reports the first cycle found.
  bool check_cycles() {
    std::map<std::string, int> state;  // 0 new, 1 on the current path, 2 done
    std::vector<std::string> path;
    std::function<bool(const stage_spec&)> visit = [&](const stage_spec& s) {
      state[s.name] = 1;
      path.push_back(s.name);
      for (const auto& upstream : s.from) {
        const stage_spec* u = spec_.find(upstream);
        if (state[upstream] == 1) {
          std::string cycle;
          for (auto it = std::find(path.begin(), path.end(), upstream); it != path.end(); ++it) cycle += "'" + *it + "' -> ";
          out_.error(u->place, "stages form a cycle through 'from': " + cycle + "'" + upstream + "'");
          return false;
        }
        if (state[upstream] == 0 && !visit(*u)) return false;
      }
      path.pop_back();
      state[s.name] = 2;
      return true;
    };
    for (const auto& s : spec_.stages)
      if (state[s.name] == 0 && !visit(s)) return false;
    return true;
  }

  void check_kinds() {
    for (const auto& s : spec_.stages) {
      if (s.kind == plugin_kind::source) continue;
      const plugin_kind wanted = s.kind == plugin_kind::scorer ? plugin_kind::source : plugin_kind::scorer;
      for (std::size_t i = 0; i < s.from.size(); ++i) {
        const stage_spec* u = spec_.find(s.from[i]);
        if (u->kind != wanted)
          out_.error(from_element(s, i), s.describe() + " takes from '" + u->name + "', a " + to_string(u->kind) +
                                             "; " + table_key(s.kind) + " take from " + table_key(wanted));
      }
    }
  }

  void check_unwired() {
    for (const auto& s : spec_.stages) {
      if (s.kind == plugin_kind::sink || !spec_.consumers_of(s.name).empty()) continue;
      const char* next = s.kind == plugin_kind::source ? "scorer" : "sink";
      out_.error(s.place, s.describe() + " feeds no " + next + "; name it in a " + next + "'s 'from'");
    }
  }

  const std::string& file_;
  plugin_registry& registry_;
  diagnostics& out_;
  pipeline_spec spec_;
  std::map<std::pair<int, int>, const toml::node*> from_places_;  // by the stage's line and column: names may repeat
};

} // namespace

pipeline_spec read_pipeline(const std::string& path, plugin_registry& registry, diagnostics& problems) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    problems.error({path}, "cannot read the pipeline file: it is a directory");
    return {};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problems.error({path}, "cannot open the pipeline file: " + std::string(std::strerror(errno)));
    return {};
  }
  std::stringstream text;
  text << in.rdbuf();
  const std::string content = text.str();
  if (const auto deep = toml_keys::too_deep(content)) {
    problems.error({path, static_cast<int>(deep->line), static_cast<int>(deep->column)},
                   "TOML syntax error: a key of more than " + std::to_string(toml_keys::max_parts) + " dotted parts");
    return {};
  }
  toml::table root;
  try {
    root = toml::parse(std::string_view{content}, std::string_view{path});
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    problems.error({path, static_cast<int>(src.begin.line), static_cast<int>(src.begin.column)},
                   "TOML syntax error: " + std::string(e.description()));
    return {};
  }
  return pipeline_reader(path, registry, problems).read(root);
}

} // namespace stream_smarts::runtime

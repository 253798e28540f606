// What the offline commands (train, eval, report) share: the plugins, a
// history read to its end with a source plugin, and scorers made from
// options or from a model file.
#pragma once

#include "evaluation.hpp"
#include "history_checks.hpp"
#include "pipeline_file.hpp"
#include "stage.hpp"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace stream_smarts::runtime {

/// Where a history comes from: `--source` (default replay), `--data` (its
/// history file option) and `--data-set key=value` for its other options.
struct history_request {
  std::string source = "replay";
  std::string data;
  std::vector<std::string> settings;
};

/// Input the offline commands cannot work on: a history of no readings or of
/// several meters' mixed, a model no scorer plugin loads. The command exits
/// 2, as for a --data that is no history.
class unusable_input : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// The options every offline command takes.
struct offline_request {
  history_request history;
  std::string timezone = "UTC";
  bool timezone_given = false;  ///< --timezone was on the command line
  std::vector<std::string> plugin_dirs;
};

/// "key=value" as TOML into `table`: `hi_percentile=99` is a number,
/// `end=2008-01-01` a string (not valid TOML as a bare value, so taken as text).
void add_setting(toml::table& table, const std::string& setting, diagnostics& problems);

/// Plugins, time zone and the stages of one offline command. Problems in the
/// request are collected in problems(); check it before using the stages.
class offline_session {
public:
  explicit offline_session(const offline_request& request);
  offline_session(const offline_session&) = delete;
  offline_session& operator=(const offline_session&) = delete;

  diagnostics& problems() { return problems_; }
  const time_zone& zone() const { return *zone_; }

  /// Refuses (in problems()) an output file that is the history itself
  /// (--data) or one of the `models` read: written, it would be lost.
  void refuse_overwriting_inputs(const std::string& out, const char* option,
                                 const std::vector<std::string>& models = {});

  /// Declares the scorer `plugin` with `options`, checked against its
  /// declaration. Returns nullptr (and records why) if that is not possible.
  const stage_spec* declare_scorer(const std::string& plugin, const toml::table& options);
  /// The scorer that can load `model_path` as its `model` option: each
  /// scorer plugin with such an option is asked in turn. Throws
  /// unusable_input with every plugin's reason if none can.
  struct model_scorer {
    const stage_spec* spec = nullptr;
    std::unique_ptr<scorer> instance;
  };
  /// `settings` (KEY=VALUE) are further options of that scorer: a plugin
  /// that does not declare them is not asked.
  model_scorer scorer_for_model(const std::string& model_path, const std::vector<std::string>& settings = {});

  /// Reads the whole history (local fields filled, in time order), calling
  /// `on_batch` with the count so far. Throws on a source failure, and
  /// unusable_input for a history check_history refuses.
  std::vector<reading> read_history(const std::function<void(std::size_t)>& on_batch = {});
  /// A new scorer instance of a declared stage; throws option_error.
  std::unique_ptr<scorer> make_scorer(const stage_spec& spec, std::function<void(double)> on_progress = {});
  /// The context a declared stage's plugin sees (for its trainer).
  stage_context_impl& context_of(const stage_spec& spec);
  /// What the crash report names while a declared stage's plugin code runs
  /// (running_plugin): "the scorer plugin NAME (FILE)".
  const char* crash_note(const stage_spec& spec) const;

private:
  void load_plugins(const std::vector<std::string>& dirs);
  /// The history source's options: --data as its history file, its history
  /// values (read flat out, stop at the end), then --data-set's.
  toml::table history_options(const history_request& history);
  stage_spec& declare(plugin_kind kind, const std::string& plugin, const toml::table& options, diagnostics& problems);

  plugin_registry registry_;
  diagnostics problems_;
  pipeline_spec pipeline_;       // settings only: the stages live in specs_
  std::deque<stage_spec> specs_;  // a deque: contexts keep references to them
  std::deque<stage_context_impl> contexts_;
  std::map<const stage_spec*, std::string> crash_notes_;
  std::unique_ptr<time_zone> zone_;
  const stage_spec* history_ = nullptr;
  std::string data_;  // --data
  history_givens givens_;
};

/// `v` with `decimals` digits after the point, "-" for NaN (a figure that
/// does not apply): the offline commands' numbers.
std::string fixed(double v, int decimals);

/// ", in N clock hours (X per week)" when readings finer than an hour (a
/// Pi's minute readings, a 15-minute export) alert several times an hour:
/// the budgets (alerts_per_week) count alert-hours. Empty for hourly readings.
std::string alert_hours_note(const evaluation& e);

/// A reading's local date, "2008-01-07": how the offline commands name days.
std::string day_of(const reading& r);

/// A duration for a person, from milliseconds: "0 min", "40 s", "25 min",
/// "2 h", "1.5 h" (hours to a tenth from one hour on); "-" for NaN.
std::string readable_duration(double ms);

/// "A: B" for the option errors a plugin's constructor throws.
std::string describe_option_error(const option_error& e);

/// Prints `problems`, if any; true if there were (the command exits 2).
bool refused(const diagnostics& problems);

/// Runs an offline command's `body` the one way all four do: the session's
/// problems first (exit 2); then a source or scorer refusing its options is
/// the command line's (exit 2), any other failure "`what` failed: ..." (exit 1).
int run_offline(offline_session& session, const char* what, const std::function<int()>& body);

} // namespace stream_smarts::runtime

// A stage's plugin instance together with what it was made from, so the
// supervisor can make a fresh one after a failure.
#pragma once

#include "crash_report.hpp"
#include "log.hpp"
#include "metrics.hpp"
#include "pipeline_file.hpp"

#include <stream_smarts/plugin.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace stream_smarts::runtime {

/// What is said of a plugin that threw something other than a std::exception.
inline constexpr std::string_view not_an_exception = "threw something that is not a std::exception (a bug in the plugin)";

class stage_context_impl final : public stage_context {
public:
  stage_context_impl(const stage_spec& spec, const pipeline_spec& pipeline);
  const std::string& stage_name() const override { return spec_.name; }
  const stage_spec& spec() const { return spec_; }
  const stream_smarts::options& options() const override { return spec_.options.values; }
  const time_zone& zone() const override { return *zone_; }
  logger& log() override { return log_; }
  /// At the option's place (option_place): to `on_warning`, or, with none
  /// (a stage restarted while running), to the log.
  void warn_option(std::string_view option, const std::string& message) override;
  /// Takes the warning (its message without "warning: "): `instantiate`'s
  /// problems while it makes the stages; an offline command prints it.
  std::function<void(diagnostic)> on_warning;
  std::string resolve_path(const std::string& path) const override;
  // The runtime's own code, called from a plugin's: a crash in it is not the plugin's.
  void progress(double done) override {
    const running_plugin runtime_code(nullptr);
    if (on_progress) on_progress(done);
  }
  std::function<void(double)> on_progress;  ///< set by offline commands that draw a bar
  int rehearsal_count() override { return rehearsals; }
  std::vector<reading> rehearsal(int i) override {
    if (!make_rehearsal) return stage_context::rehearsal(i);  // not in `train`
    if (i < 0 || i >= rehearsals)
      throw std::out_of_range("no rehearsal " + std::to_string(i) + ": `train` has " + std::to_string(rehearsals) +
                              " (--rehearsals), numbered from 0");
    const running_plugin runtime_code(nullptr);
    return make_rehearsal(i);
  }
  int rehearsals = 0;                                    ///< set by `train`, with:
  std::function<std::vector<reading>(int)> make_rehearsal;
  void count(std::string_view name, std::string_view help, double increment, const metric_labels& labels) override {
    figures_.count(name, help, increment, labels);
  }
  void gauge(std::string_view name, std::string_view help, double value, const metric_labels& labels) override {
    figures_.gauge(name, help, value, labels);
  }
  /// The plugin's figures: kept only once enabled (the pipeline has a metrics endpoint).
  figure_book& figures() { return figures_; }
  void trouble(std::string what) override {
    if (what == trouble_) return;
    trouble_ = std::move(what);
    // At once, not at the end of the stage's message: a plugin says it while
    // it waits inside a call (a Kafka sink whose broker is away), maybe minutes.
    if (on_trouble) on_trouble();
  }
  /// What the instance last said keeps it from working (trouble()); empty: nothing.
  const std::string& current_trouble() const { return trouble_; }
  /// Publishes the stage's health, set by its actor: called on the actor's
  /// thread, as plugins call trouble() only from their own calls.
  std::function<void()> on_trouble;

private:
  const stage_spec& spec_;
  std::string dir_;
  std::unique_ptr<time_zone> zone_;  // each stage its own: the zone caches, so it is not shared
  stage_logger log_;
  figure_book figures_;
  std::string trouble_;
  std::set<std::string> warned_;  // warn_option's, said once though each new plugin instance says them
};

/// One stage: its spec, its context and its current plugin instance.
struct stage {
  const stage_spec* spec = nullptr;
  std::unique_ptr<stage_context_impl> context;
  std::unique_ptr<source> as_source;
  std::unique_ptr<scorer> as_scorer;
  std::unique_ptr<sink> as_sink;
  /// Counts instances made: work done by an instance that has since been
  /// replaced (a source's batches) must not be reported to its successor.
  std::uint64_t instance = 0;
  /// "stage 'band' (plugin percentile_band, /usr/lib/...so)": what a crash
  /// in its plugin code reports (crash_report.hpp).
  std::string crash_note;

  stage() = default;
  stage(stage&&) = default;
  stage& operator=(stage&&) = default;
  ~stage() { destroy(); }  // under the crash note: a plugin's destructor is its code too

  /// Replaces the instance with a new one from the plugin's factory.
  void recreate();
  void destroy();
};

/// Where a stage's `option` was given: its value, or a table option's
/// entry ("properties.sasl.mechanism"); else the option, else the table.
location option_place(const stage_spec& spec, std::string_view option);

/// Instantiates every stage of a pipeline that can start. Plugins check
/// their options in their constructors; an option_error is reported at that
/// option's place, and so is a warn_option, in `problems`. Throws
/// config_error with every problem, those already in `problems`
/// (read_pipeline's) first.
std::vector<stage> instantiate(const pipeline_spec& pipeline, diagnostics& problems);

/// Keeps a stage going after failures: "restart with backoff, at most
/// max_restarts times in a row; give up at the failure after that".
class restart_policy {
public:
  restart_policy(int max_restarts, std::chrono::milliseconds backoff) : max_(max_restarts), base_(backoff) {}
  /// The wait before the next attempt, or nothing if the stage should give up.
  std::optional<std::chrono::milliseconds> failed();
  void succeeded() { in_a_row_ = 0; }
  int failures_in_a_row() const { return in_a_row_; }
  int max_restarts() const { return max_; }

private:
  int max_;
  std::chrono::milliseconds base_;
  int in_a_row_ = 0;
};

} // namespace stream_smarts::runtime

// The plugin SDK: what a shared object implements and exports so that the
// stream-smarts runtime can load it. Include this one header.
//
// Threading: each stage instance is owned by exactly one actor, so a plugin's
// source/scorer/sink object is never called from two threads at once.
#pragma once

#include "log.hpp"
#include "options.hpp"
#include "reading.hpp"
#include "time.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stream_smarts {

/// Bumped whenever a type in this SDK changes layout or meaning. The runtime
/// refuses a plugin built against another version.
inline constexpr int abi_version = 18;

/// The C++ standard library a plugin shares with the runtime (std::string,
/// std::function in the SDK's types) and its ABI: a plugin built with
/// another is refused before its descriptor is read.
inline constexpr const char* plugin_toolchain =
#if defined(__GLIBCXX__) && defined(_GLIBCXX_USE_CXX11_ABI) && _GLIBCXX_USE_CXX11_ABI
    "libstdc++ (C++11 ABI)";
#elif defined(__GLIBCXX__)
    "libstdc++ (old ABI, _GLIBCXX_USE_CXX11_ABI=0)";
#elif defined(_LIBCPP_VERSION)
    "libc++";
#else
    "another C++ standard library";
#endif

enum class plugin_kind { source, scorer, sink };

inline const char* to_string(plugin_kind kind) {
  switch (kind) {
    case plugin_kind::source: return "source";
    case plugin_kind::scorer: return "scorer";
    case plugin_kind::sink: return "sink";
  }
  return "unknown";
}

/// Labels that tell apart the series of one figure, e.g. {{"topic", "power"}, {"partition", "0"}}.
using metric_labels = std::vector<std::pair<std::string, std::string>>;

/// What a stage instance can ask of the runtime. It outlives the instance.
class stage_context {
public:
  virtual ~stage_context() = default;
  /// The stage's `name` in the pipeline file.
  virtual const std::string& stage_name() const = 0;
  /// The stage's validated options.
  virtual const stream_smarts::options& options() const = 0;
  virtual const time_zone& zone() const = 0;
  virtual logger& log() = 0;
  /// Warns of a questionable `option` found while the instance is made (in
  /// its constructor): the option_error of what works but is unwise. The
  /// runtime says it at the option's place, as its own config warnings
  /// ("FILE:LINE:COLUMN: warning: option 'debounce' of source 'meter'
  /// (gpio_meter): MESSAGE"), in `validate` and `run` alike. `option` is an
  /// option's name, or a table option's key after a dot
  /// ("properties.sasl.mechanism"). Warnings while running stay log lines.
  virtual void warn_option(std::string_view option, const std::string& message) {
    log().warning(std::string(option) + ": " + message);
  }
  /// A path from the pipeline file, made absolute relative to that file's folder.
  virtual std::string resolve_path(const std::string& path) const = 0;
  /// Long offline work (training) says how far along it is, 0..1; the
  /// runtime draws it as a progress bar on a terminal. Cheap to call often.
  virtual void progress(double done) { (void)done; }
  /// Figures for the pipeline's metrics endpoint ([pipeline] metrics), shown as
  /// stream_smarts_<name>_total (counters) or stream_smarts_<name> (gauges) with
  /// a stage="<stage name>" label and `labels`; `help` is the HELP line. Names
  /// are lower_snake_case ("decode_errors", "consumer_lag"). Call from the
  /// instance's own calls (read, write, ...); nearly free when no endpoint is set.
  /// Counters survive a restart of the stage; gauges go with the instance.
  /// Adds `increment` to a counter.
  virtual void count(std::string_view name, std::string_view help, double increment = 1,
                     const metric_labels& labels = {}) {
    (void)name, (void)help, (void)increment, (void)labels;
  }
  /// Sets a gauge; NaN removes that series (a partition no longer assigned).
  virtual void gauge(std::string_view name, std::string_view help, double value, const metric_labels& labels = {}) {
    (void)name, (void)help, (void)value, (void)labels;
  }
  /// The stage cannot do its job for now, for a cause outside it that it
  /// waits out by itself (no Kafka broker answers): /healthz answers 503 with
  /// "STAGE: cannot work now: WHAT" and stream_smarts_stage_healthy is 0,
  /// until the stage calls this again with "" or its instance is replaced.
  /// It shows at once, also while the call that says it goes on (a sink
  /// waiting inside flush() for its service). Logging the cause is the
  /// plugin's own. Call from the instance's own calls.
  virtual void trouble(std::string what) { (void)what; }
  /// Training only: how many rehearsals there are, copies of the history with
  /// appliance-left-on events added as `stream-smarts inject` adds them (one
  /// a week; each changed reading's `label` label names the event's kind), so
  /// a trainer can learn where its false-alarm budget catches the most. 0
  /// outside `stream-smarts train` and with `--rehearsals 0`.
  virtual int rehearsal_count() { return 0; }
  /// The i-th rehearsal (0 <= i < rehearsal_count()), made anew on each call.
  /// Take them one at a time: a year of minute readings is then one copy in
  /// memory, not --rehearsals of them. Throws std::out_of_range for another i.
  virtual std::vector<reading> rehearsal(int i) {
    throw std::out_of_range("no rehearsal " + std::to_string(i) + ": there are none outside `stream-smarts train`");
  }
};

/// What a source's read() says besides the readings it appended.
struct read_result {
  bool finished = false;                ///< no readings will ever come again (a drained file)
  std::chrono::milliseconds wait{0};    ///< nothing now: ask again after this long
};

/// Produces readings. Each read() call that appends readings makes one batch.
class source {
public:
  virtual ~source() = default;
  /// Called once before the first read: open files, connect.
  virtual void start() {}
  /// Appends at most `max` readings to `out`. Never blocks for long: if nothing
  /// is ready, return with `wait` set and the runtime asks again later.
  virtual read_result read(std::vector<reading>& out, std::size_t max) = 0;
  /// The oldest `batches` batches not yet committed have been fully handled by
  /// every sink (or filtered out): a durable source may commit past them.
  virtual void commit(std::size_t batches) { (void)batches; }
  /// The sinks have taken no batch for a second or more (one is retrying a
  /// delivery), so read() is not called; this is, until they take batches
  /// again. A source that must keep talking to stay where it is (a Kafka
  /// consumer in its group) does so here, taking nothing new. Returns how
  /// soon to be called again, and after credit next runs out (within 5 ms ..
  /// 1 s): a source whose hardware drops what it is not read soon enough
  /// (gpio_meter) asks for less than the second.
  virtual std::chrono::milliseconds idle() { return std::chrono::seconds{1}; }
  /// The pipeline is ending; release what start() opened.
  virtual void stop() {}
};

/// A scorer's verdict on one reading.
struct score_result {
  double score = 0;        ///< above 1.0 (the default alert threshold) means unusual
  double expected_lo = 0;
  double expected_hi = 0;
  /// The single most likely value (a median, a mean), for error measures
  /// such as the training report's; NaN means "the middle of the band".
  double expected = std::numeric_limits<double>::quiet_NaN();
  /// When the usage this score judges began, for a scorer that judges more
  /// than the one reading: the first reading of the hours a rise has stayed
  /// up (sustained_load), or when a step in a Pi's power began (power_step:
  /// gpio_meter stamps a reading with the start of its trailing hour, but
  /// measures the power at its end, so this may be after the reading's ts).
  /// Alerts say "unusual since" that time; 0 means the reading itself.
  std::int64_t since_ms = 0;
  /// What expected_lo and expected_hi are in: Wh, as the reading's energy,
  /// unless the scorer judges something else (power_step: power, W).
  band_unit unit = band_unit::wh;
  /// For a scorer that follows a rise until it has gone (sustained_load):
  /// the rise behind a score above 1.0, this reading's or an earlier one's,
  /// is still there, even where this reading scores 1.0 or less (a later
  /// hour allows more, so a heater still on can). The alert policy then
  /// keeps that alert on: no "back to normal" until the rise has gone.
  bool still_on = false;
};

/// Scores readings against what is expected for their time.
class scorer {
public:
  virtual ~scorer() = default;
  virtual score_result score(const reading& r) = 0;
};

/// Thrown by a sink's write() or flush() when a delivery did not happen and
/// the sink knows whether trying again can help: the runtime retries
/// `retryable` failures with backoff (at least `retry_after` later, e.g. an
/// HTTP Retry-After) and records the others as given up at once. The message
/// says what happened and what to fix; it must never contain a secret.
/// Any other exception is a failure of the stage itself (it is restarted).
class __attribute__((visibility("default"))) delivery_error : public std::runtime_error {
public:
  delivery_error(const std::string& message, bool retryable,
                 std::chrono::milliseconds retry_after = std::chrono::milliseconds{0})
      : std::runtime_error(message), retryable_(retryable), retry_after_(retry_after) {}
  bool retryable() const { return retryable_; }
  std::chrono::milliseconds retry_after() const { return retry_after_; }

private:
  bool retryable_;
  std::chrono::milliseconds retry_after_;
};

/// Delivers alerts (or, with receive = "all", every scored reading).
/// write() may deliver at once (a notification) or buffer until flush() (a
/// producer); after a delivery_error from write(a), the alerts written
/// before `a` count as accepted and `a` is written again on retry.
class sink {
public:
  virtual ~sink() = default;
  virtual void start() {}
  virtual void write(const alert& a) = 0;
  /// End of a chunk (up to batch_size alerts the runtime writes in a row,
  /// from one batch or several): return only once everything written so far
  /// is delivered (the runtime then acknowledges those readings upstream);
  /// throw on failure. After a delivery_error from flush(), the whole chunk
  /// is written again on retry: drop what you buffered before throwing.
  virtual void flush() {}
  /// Called about once a second while the sink has nothing to deliver now
  /// (most of the time: alerts are rare; or a delivery waits for its retry),
  /// from a second after the pipeline starts; start() has run. A sink whose
  /// client must be served to notice its service going away (a Kafka
  /// producer's events) does so here, and says it with
  /// stage_context::trouble. Never block for long. A throw is a failure of
  /// the stage, as from write().
  virtual void idle() {}
  /// The pipeline is ending: deliver what is left and release resources.
  virtual void stop() {}
};

/// A scorer plugin that learns from history implements this: `history` is in
/// time order, the context carries the scorer's options (and the pipeline's
/// time zone); the plugin writes a model file to `out_path` that its `model`
/// option can then load. Returns a one-line summary for the user.
using train_function =
    std::function<std::string(const std::vector<reading>& history, stage_context& context, const std::string& out_path)>;

/// Name, kind, version, one-line description and options of a plugin.
struct plugin_info {
  std::string name;
  plugin_kind kind = plugin_kind::source;
  std::string version;
  std::string description;
  std::vector<option_spec> options;
};

/// Everything a plugin exports. Exactly the factory matching info.kind is set.
struct plugin_descriptor {
  plugin_info info;
  std::function<std::unique_ptr<source>(stage_context&)> make_source;
  std::function<std::unique_ptr<scorer>(stage_context&)> make_scorer;
  std::function<std::unique_ptr<sink>(stage_context&)> make_sink;
  train_function train;  ///< optional, scorers only
};

/// Helpers that build a descriptor from a class constructible from a
/// stage_context& (the constructor validates options and throws option_error).
template <class Source>
plugin_descriptor source_plugin(plugin_info info) {
  info.kind = plugin_kind::source;
  plugin_descriptor d{std::move(info), {}, {}, {}, {}};
  d.make_source = [](stage_context& c) { return std::unique_ptr<source>(new Source(c)); };
  return d;
}
template <class Scorer>
plugin_descriptor scorer_plugin(plugin_info info, train_function train = {}) {
  info.kind = plugin_kind::scorer;
  plugin_descriptor d{std::move(info), {}, {}, {}, std::move(train)};
  d.make_scorer = [](stage_context& c) { return std::unique_ptr<scorer>(new Scorer(c)); };
  return d;
}
template <class Sink>
plugin_descriptor sink_plugin(plugin_info info) {
  info.kind = plugin_kind::sink;
  plugin_descriptor d{std::move(info), {}, {}, {}, {}};
  d.make_sink = [](stage_context& c) { return std::unique_ptr<sink>(new Sink(c)); };
  return d;
}

} // namespace stream_smarts

/// Exports a plugin. Use once per shared object, at namespace scope:
///   STREAM_SMARTS_PLUGIN(stream_smarts::sink_plugin<my_sink>({"my_sink", {}, "1.0.0", "Does X", {...}}))
/// The runtime first calls stream_smarts_abi_version() (plain C, safe to call
/// whatever the plugin was built with), then stream_smarts_toolchain() (the
/// standard library the plugin was built against), then stream_smarts_plugin().
#define STREAM_SMARTS_PLUGIN(...)                                                                    \
  extern "C" __attribute__((visibility("default"))) int stream_smarts_abi_version() {              \
    return ::stream_smarts::abi_version;                                                            \
  }                                                                                                 \
  extern "C" __attribute__((visibility("default"))) const char* stream_smarts_toolchain() {        \
    return ::stream_smarts::plugin_toolchain;                                                       \
  }                                                                                                 \
  extern "C" __attribute__((visibility("default"))) const ::stream_smarts::plugin_descriptor*      \
  stream_smarts_plugin() {                                                                          \
    static const ::stream_smarts::plugin_descriptor descriptor = __VA_ARGS__;                       \
    return &descriptor;                                                                             \
  }

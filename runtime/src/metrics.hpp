// What the metrics endpoint shows ([pipeline] metrics): each stage actor
// counts its own events in a stage_metrics and sends a copy to the metrics
// actor when it changes; a scrape renders the latest copies as Prometheus
// text, and /healthz lists the stages that are failing. Plain data and
// functions: no actors and no HTTP here (graph.cpp, metrics_server.cpp).
#pragma once

#include <stream_smarts/plugin.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stream_smarts::runtime {

/// [pipeline] metrics = "HOST:PORT": an IP address ("127.0.0.1", "0.0.0.0",
/// "[::1]") or "localhost", and a port (0: any free one).
struct listen_address {
  std::string host;  ///< without brackets
  int port = 0;
  std::string text() const;  ///< "127.0.0.1:9464", "[::1]:9464"
};
/// The address, or nothing with `why` saying what is wrong.
std::optional<listen_address> parse_listen_address(std::string_view text, std::string& why);

/// The figures a stage's plugin reported through stage_context::count and
/// gauge, by name: the series of each, by their labels.
struct figure_family {
  bool counter = false;
  std::string help;
  std::map<metric_labels, double> series;
  bool operator==(const figure_family&) const = default;
};
using plugin_figures = std::map<std::string, figure_family, std::less<>>;

/// Keeps a stage's plugin figures: owned by the stage, used only by the
/// thread of the actor that runs it. Does nothing until enabled (no endpoint).
class figure_book {
public:
  void enable() { enabled_ = true; }
  void count(std::string_view name, std::string_view help, double increment, const metric_labels& labels);
  void gauge(std::string_view name, std::string_view help, double value, const metric_labels& labels);
  /// The instance that set them is gone.
  void forget_gauges();
  const plugin_figures& figures() const { return figures_; }
  /// Changes with every update, so a stage can tell cheaply whether to resend.
  std::uint64_t version() const { return version_; }

private:
  figure_family& family(std::string_view name, std::string_view help, bool counter);
  bool enabled_ = false;
  plugin_figures figures_;
  std::uint64_t version_ = 0;
};

/// Whether a stage is doing its job; anything but `healthy` makes /healthz 503.
enum class stage_health {
  healthy,
  restarting,       ///< its plugin threw: waiting out restart_backoff before a fresh instance
  failed,           ///< failed max_restarts times in a row: the pipeline is stopping
  retrying,         ///< a sink's delivery failed and is waiting for its retry
  delivery_failed,  ///< a sink's latest delivery was given up (until one succeeds)
  troubled,         ///< its plugin says it cannot work now (stage_context::trouble): stage_metrics::trouble
};
const char* describe(stage_health health);

/// Why the alert policy did not notify a reading above the threshold (or a
/// back-to-normal notice): the index into stage_metrics::suppressed.
enum class suppression { sustain, cooldown, quiet_hours, already_raised };
inline constexpr std::array<const char*, 4> suppression_names{"sustain", "cooldown", "quiet_hours", "already_raised"};
/// The kinds of notification counted, in the order of stage_metrics::alerts.
inline constexpr std::array<alert_kind, 3> counted_alert_kinds{alert_kind::raised, alert_kind::reminder,
                                                              alert_kind::resolved};

/// One stage's figures since the pipeline started, and its state now.
struct stage_metrics {
  std::string stage;
  plugin_kind kind = plugin_kind::source;
  std::uint64_t readings = 0;                  ///< source: readings handed on, not counting warm-ups
  std::uint64_t warm_ups = 0;                  ///< source: readings read again only to warm up (reading::warm_up)
  std::uint64_t scored = 0;                    ///< scorer: readings scored
  std::array<std::uint64_t, 3> alerts{};       ///< sink: by counted_alert_kinds, as delivered
  std::array<std::uint64_t, 4> suppressed{};   ///< sink: by suppression
  std::uint64_t delivered = 0;                 ///< sink: outbox entries delivered
  std::uint64_t retries = 0;                   ///< sink: failed attempts to be retried
  std::uint64_t given_up = 0;                  ///< sink: entries given up
  std::uint64_t restarts = 0;                  ///< fresh plugin instances made after a failure
  std::uint64_t in_flight_batches = 0;         ///< see the HELP text in metrics.cpp
  std::uint64_t outbox = 0;                    ///< sink: entries waiting to be delivered
  stage_health health = stage_health::healthy;
  std::string trouble;  ///< what its plugin says keeps it from working; empty: nothing
  plugin_figures figures;
  bool operator==(const stage_metrics&) const = default;

  /// One more notification of `kind` (raised, reminder or resolved) delivered.
  void count_alert(alert_kind kind) { ++alerts[static_cast<std::size_t>(kind) - 1]; }
};
static_assert(static_cast<int>(alert_kind::raised) == 1 && static_cast<int>(alert_kind::resolved) == 3,
              "count_alert indexes stage_metrics::alerts by alert_kind, in counted_alert_kinds' order");

struct pipeline_metrics {
  std::string pipeline;
  std::vector<stage_metrics> stages;  ///< in the pipeline file's order
};

/// The Prometheus text exposition format (version 0.0.4): HELP and TYPE per
/// family, every stage's series, the plugins' figures (label values without
/// secrets).
std::string render_prometheus(const pipeline_metrics& metrics);

/// One "stage: what is wrong" line per failing stage; empty if all are healthy.
std::string failing_stages(const pipeline_metrics& metrics);

} // namespace stream_smarts::runtime

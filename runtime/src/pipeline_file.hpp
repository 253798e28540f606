// Reading a pipeline file: TOML syntax, the [pipeline] table, every stage
// against its plugin's declared options, and the wiring between stages.
#pragma once

#include "alert_policy.hpp"
#include "diagnostics.hpp"
#include "metrics.hpp"
#include "plugin_registry.hpp"
#include "schema.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace stream_smarts::runtime {

/// The [pipeline] table. Its defaults live in pipeline_options() only.
struct pipeline_settings {
  std::string name;
  std::string timezone;
  std::vector<std::string> plugin_dirs;  ///< absolute
  alert_policy_settings policy;          ///< every sink's, unless the sink overrides a key
  std::size_t batch_size = 0;
  std::size_t max_in_flight = 0;
  std::chrono::milliseconds shutdown_timeout{0};
  int max_restarts = 0;
  std::chrono::milliseconds restart_backoff{0};
  std::optional<listen_address> metrics;  ///< where to serve /metrics and /healthz; none: no endpoint
  location metrics_place;                 ///< of the metrics key, for "cannot listen" at run time
};

/// The runtime's own keys of [pipeline], declared like any plugin's options.
const std::vector<option_spec>& pipeline_options();
/// The runtime's own keys of a stage table, for the given kind.
const std::vector<option_spec>& stage_options(plugin_kind kind);

/// What a sink is handed: the policy's notifications, every reading above
/// the threshold (a data feed, as the original KSQL stream), or everything.
enum class receive_mode { alerts, unusual, all };

/// How a sink's failed deliveries are retried (see delivery_error).
struct retry_settings {
  int max_retries = 0;
  std::chrono::milliseconds backoff{0};  ///< the first wait; doubles, with jitter
};

/// One [[sources]], [[scorers]] or [[sinks]] table.
struct stage_spec {
  plugin_kind kind = plugin_kind::source;
  std::string name;
  std::vector<std::string> from;
  receive_mode receive = receive_mode::alerts;  ///< sinks only, as the next two
  alert_policy_settings policy;                 ///< [pipeline]'s with this sink's overrides
  retry_settings retries;
  std::string plugin_name;  ///< as the file names it, found or not
  const loaded_plugin* plugin = nullptr;
  validated_options options;
  location place;            ///< where the stage's table starts
  /// Its plugin is found, its options match the plugin's declaration and
  /// the pipeline's time zone loads: the plugin can be made to check the rest.
  bool can_start = false;
  std::string describe() const;  ///< "scorer 'band' (percentile_band)"
};

struct pipeline_spec {
  std::string file;  ///< as given
  std::string dir;   ///< the file's folder: relative paths start here
  pipeline_settings settings;
  std::vector<stage_spec> stages;  ///< sources, then scorers, then sinks, each in file order
  std::vector<diagnostic> warnings;  ///< what is usable but unwise (a secret written in the file)

  std::vector<const stage_spec*> of_kind(plugin_kind kind) const;
  const stage_spec* find(const std::string& name) const;
  /// The stages whose `from` names `name`.
  std::vector<const stage_spec*> consumers_of(const std::string& name) const;
  /// The values of every stage's secret options (tokens, webhook URLs), and
  /// of table entries whose key names one (properties.sasl.password).
  std::vector<std::string> secrets() const;
};

/// Reads and checks `path`, loading the plugins it may use into `registry`.
/// Adds every problem to `problems`, each at its file:line:column, and
/// returns what could be read: with problems, the stages that `can_start`
/// are still worth instantiating, so that their plugins' own checks are
/// reported in the same run.
pipeline_spec read_pipeline(const std::string& path, plugin_registry& registry, diagnostics& problems);

} // namespace stream_smarts::runtime

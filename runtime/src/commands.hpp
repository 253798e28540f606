// The subcommands of the stream-smarts binary, each returning an exit code:
// 0 success, 1 the work failed, 2 the input (file, arguments) is unusable.
#pragma once

#include "offline.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stream_smarts::runtime {

int run_command(const std::string& pipeline_file);
int validate_command(const std::string& pipeline_file);
int plugins_command(const std::vector<std::string>& extra_dirs, const std::string& describe, bool markdown);

struct train_request {
  offline_request offline;
  std::string scorer;            ///< plugin name
  std::string out;               ///< model file to write
  std::vector<std::string> scorer_settings;  ///< "key=value", TOML values
  std::uint64_t seed = 1;        ///< where the rehearsals' and the hold-out report's events go
  double holdout = 0.2;          ///< share of the days, the last, held out for the report; 0 = no report
  double threshold = 1.0;        ///< alert threshold for the report
  int rehearsals = 5;            ///< copies of the history with events, for trainers that ask (0 = none)
  std::optional<std::string> kinds;       ///< the rehearsals' --kinds, as inject's
  std::vector<std::string> kind_specs;    ///< and --kind
};
int train_command(const train_request& request);

struct eval_request {
  offline_request offline;
  std::vector<std::string> models;  ///< model files, side by side
  /// Per model: scorer options (KEY=VALUE, the --set after its --model), e.g. excess_wh=3000.
  std::vector<std::vector<std::string>> model_settings;
  double threshold = 1.0;
  std::string events_out;  ///< --events: a CSV row per model and event; empty = none
};
int eval_command(const eval_request& request);

struct inject_request {
  offline_request offline;
  std::string out;                        ///< labelled CSV to write
  std::uint64_t seed = 1;                 ///< where the events go: the same seed, the same file
  double per_week = 1.0;                  ///< events per week, on average
  std::optional<std::string> kinds;       ///< --kinds, comma separated; not given = every known kind
  std::vector<std::string> kind_specs;    ///< --kind NAME:WATTS:FIRST_HOUR-LAST_HOUR:MIN_H-MAX_H
};
int inject_command(const inject_request& request);

struct report_request {
  offline_request offline;
  std::string model;
  std::vector<std::string> model_settings;  ///< scorer options (KEY=VALUE) for the model
  std::string out;                 ///< SVG file to write
  std::string period;              ///< "YYYY-MM-DD" or "YYYY-MM"; empty = the day with the highest score
  double threshold = 1.0;
};
int report_command(const report_request& request);

} // namespace stream_smarts::runtime

namespace stream_smarts::runtime {

/// Commands that plugins bring: executables named stream-smarts-<name> in
/// libexec/stream-smarts next to this binary (the Kafka plugins' `broker`).
std::vector<std::string> external_commands();
/// Replaces this process with stream-smarts-<name> if it exists; returns 2
/// with a message if it cannot.
int exec_external_command(const std::string& name, int argc, char** argv);
/// Where a plugin's command `name` would be: <libexec>/stream-smarts-<name>.
std::string external_command_path(const std::string& name);

} // namespace stream_smarts::runtime

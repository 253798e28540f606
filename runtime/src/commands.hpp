// The subcommands of the stream-smarts binary, each returning an exit code:
// 0 success, 1 the work failed, 2 the input (file, arguments) is unusable.
#pragma once

#include <string>
#include <vector>

namespace stream_smarts::runtime {

int run_command(const std::string& pipeline_file);
int validate_command(const std::string& pipeline_file);
int plugins_command(const std::vector<std::string>& extra_dirs, const std::string& describe, bool markdown);

struct train_request {
  std::string scorer;            ///< plugin name
  std::string data;              ///< history file, read with the replay source plugin
  std::string out;               ///< model file to write
  std::string timezone = "UTC";
  std::vector<std::string> scorer_settings;  ///< "key=value", TOML values
  std::vector<std::string> source_settings;  ///< "key=value" for the replay source (e.g. end=...)
  std::vector<std::string> plugin_dirs;
};
int train_command(const train_request& request);

} // namespace stream_smarts::runtime

namespace stream_smarts::runtime {

/// Commands that plugins bring: executables named stream-smarts-<name> in
/// libexec/stream-smarts next to this binary (the Kafka plugins' `broker`).
std::vector<std::string> external_commands();
/// Replaces this process with stream-smarts-<name> if it exists; returns 2
/// with a message if it cannot.
int exec_external_command(const std::string& name, int argc, char** argv);

} // namespace stream_smarts::runtime

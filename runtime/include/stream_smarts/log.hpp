// Logging for plugins: lines go to the runtime's log, prefixed with the stage.
#pragma once

#include <string>
#include <string_view>

namespace stream_smarts {

enum class log_level { debug, info, warning, error };

class logger {
public:
  virtual ~logger() = default;
  virtual bool enabled(log_level level) const = 0;
  virtual void log(log_level level, std::string_view message) = 0;

  void debug(std::string_view m) { if (enabled(log_level::debug)) log(log_level::debug, m); }
  void info(std::string_view m) { if (enabled(log_level::info)) log(log_level::info, m); }
  void warning(std::string_view m) { if (enabled(log_level::warning)) log(log_level::warning, m); }
  void error(std::string_view m) { if (enabled(log_level::error)) log(log_level::error, m); }
};

} // namespace stream_smarts

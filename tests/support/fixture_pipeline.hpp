// Pipelines of the fixture plugins (tests/fixtures), whose speed and
// failures the command-line tests control.
#pragma once

#include "process.hpp"

#include <map>
#include <sstream>
#include <string>

namespace test_support {

inline const std::map<std::string, std::string> fixture_env{{"STREAM_SMARTS_PLUGIN_PATH", fixtures("good")}};

/// fixture_source 'in' -> fixture_scorer 'ratio' -> fixture_sink 'out' (recording to alerts.txt),
/// each table with the extra lines given.
inline std::string fixture_pipeline(const std::string& settings, const std::string& source, const std::string& scorer,
                                    const std::string& sink) {
  return "[pipeline]\nname = 't'\n" + settings + "\n[[sources]]\nname = 'in'\nplugin = 'fixture_source'\n" + source +
         "\n[[scorers]]\nname = 'ratio'\nplugin = 'fixture_scorer'\nfrom = ['in']\n" + scorer +
         "\n[[sinks]]\nname = 'out'\nplugin = 'fixture_sink'\nfrom = ['ratio']\nrecord = 'alerts.txt'\n" + sink + "\n";
}

/// Lines of `text` that contain `needle`.
inline std::size_t count_lines(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

} // namespace test_support

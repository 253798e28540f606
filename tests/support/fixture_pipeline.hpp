// Pipelines of the fixture plugins (tests/fixtures), whose speed and
// failures the command-line tests control.
#pragma once

#include "process.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <sstream>
#include <string>
#include <vector>

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

/// Validates `text` as p.toml with the fixture plugins; returns stderr with
/// the temporary folder cut off ("p.toml:3:1: ..."), requires exit 2.
inline std::string invalid(const std::string& text) {
  temp_dir dir;
  const auto r = run({"validate", dir.file("p.toml", text)}, fixture_env);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 2);
  std::string err = r.err;
  const std::string prefix = dir.path() + "/";
  for (auto at = err.find(prefix); at != std::string::npos; at = err.find(prefix)) err.erase(at, prefix.size());
  return err;
}

/// The lines of `text`, without their line ends.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

/// Lines of `text` that contain `needle`.
inline std::size_t count_lines(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

} // namespace test_support

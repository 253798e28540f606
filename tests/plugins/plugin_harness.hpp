// Loading a built plugin (.so) with dlopen and driving it through the SDK
// with a fake stage_context: a few dozen lines instead of the runtime. Shared
// by the tests that exercise plugins as the runtime would.
#pragma once

#include "fixed_zone.hpp"

#include <stream_smarts/plugin.hpp>

#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace stream_smarts::testing {

inline const plugin_descriptor& load(const char* file) {
  void* lib = ::dlopen(file, RTLD_NOW | RTLD_LOCAL);  // never closed: the descriptor lives in it
  INFO(file << ": " << (lib ? "" : ::dlerror()));
  REQUIRE(lib != nullptr);
  using abi_fn = int (*)();
  using plugin_fn = const plugin_descriptor* (*)();
  auto abi = reinterpret_cast<abi_fn>(::dlsym(lib, "stream_smarts_abi_version"));
  auto get = reinterpret_cast<plugin_fn>(::dlsym(lib, "stream_smarts_plugin"));
  REQUIRE(abi != nullptr);
  REQUIRE(get != nullptr);
  REQUIRE(abi() == abi_version);
  return *get();
}

struct captured_log final : logger {
  std::vector<std::string> lines;
  bool enabled(log_level) const override { return true; }
  void log(log_level level, std::string_view m) override {
    const char* names[] = {"debug", "info", "warning", "error"};
    lines.push_back(std::string(names[static_cast<int>(level)]) + ": " + std::string(m));
  }
};

// Like the runtime: every declared option present, given or defaulted.
class fake_context final : public stage_context {
public:
  fake_context(const plugin_descriptor& d, std::map<std::string, option_value> given, std::string dir)
      : dir_(std::move(dir)), zone_(3600, "Europe/Paris") {
    std::map<std::string, option_value, std::less<>> values;
    for (const auto& spec : d.info.options) values[spec.name] = spec.default_value;
    for (auto& [k, v] : given) {
      REQUIRE(values.count(k) == 1);
      values[k] = std::move(v);
    }
    options_ = stream_smarts::options(std::move(values));
  }
  const std::string& stage_name() const override { return name_; }
  const stream_smarts::options& options() const override { return options_; }
  const time_zone& zone() const override { return zone_; }
  logger& log() override { return log_; }
  std::string resolve_path(const std::string& p) const override { return p.front() == '/' ? p : dir_ + "/" + p; }
  void progress(double done) override { progress_.push_back(done); }
  void gauge(std::string_view name, std::string_view, double value, const metric_labels&) override {
    gauges_[std::string(name)] = value;
  }
  void trouble(std::string what) override { troubles_.push_back(std::move(what)); }
  captured_log log_;
  std::vector<double> progress_;        ///< every progress() call, in order
  std::map<std::string, double> gauges_;  ///< each gauge's latest value (its labels left out)
  std::vector<std::string> troubles_;   ///< every trouble() call, in order

private:
  std::string name_ = "test", dir_;
  stream_smarts::options options_;
  fixed_zone zone_;
};

/// A fresh folder, removed with everything in it at the end of the scope.
struct temp_dir {
  std::string path;
  temp_dir() {
    static std::atomic<int> count{0};
    path = (std::filesystem::temp_directory_path() /
            ("plugin_stage_test_" + std::to_string(::getpid()) + "_" + std::to_string(count++)))
               .string();
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/" + name, std::ios::binary) << text;
    return path + "/" + name;
  }
  std::string read(const std::string& name) const {
    std::ifstream in(path + "/" + name, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
};

// "option: message" of the option_error a factory throws, or "no error".
template <class Make>
std::string option_error_of(Make make) {
  try {
    make();
  } catch (const option_error& e) {
    return e.option() + ": " + e.what();
  }
  return "no error";
}

/// The option_error a scorer's trainer throws for `given`, as option_error_of.
/// Training options are the trainer's to check: a pipeline never gives one.
inline std::string training_error_of(const plugin_descriptor& d, std::map<std::string, option_value> given) {
  return option_error_of([&] {
    fake_context ctx(d, std::move(given), "/nonexistent");
    d.train({}, ctx, "/nonexistent/m");
  });
}

/// Starts `s`, writes `alerts` as one chunk, flushes and stops it.
inline void write_through(sink& s, const std::vector<alert>& alerts) {
  s.start();
  for (const alert& a : alerts) s.write(a);
  s.flush();
  s.stop();
}

/// What `run` writes to stderr (a console sink with stream = "stderr"),
/// captured in a file of `dir`.
template <class Run>
std::string stderr_of(const temp_dir& dir, Run run) {
  const std::string path = dir.path + "/stderr.txt";
  std::fflush(stderr);
  const int saved = ::dup(2);
  std::FILE* capture = std::fopen(path.c_str(), "w");
  REQUIRE(capture != nullptr);
  ::dup2(::fileno(capture), 2);
  run();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::fclose(capture);
  return dir.read("stderr.txt");
}

} // namespace stream_smarts::testing

// Scoring cost per reading of the learned scorers, measured side by side in
// one process: each plugin .so is dlopened as the runtime would, given its
// trained model, and scores the same localized household readings many
// times (rounds interleaved, best round kept). Prints a Markdown table; see
// bench/scoring/run and docs/performance.md.
//
//   score_bench --data FILE.csv --timezone TZ [--rounds N] [--from ISO-8601]
//               --scorer NAME=PLUGIN.so=MODEL [--scorer ...]
//
// --from: readings at or after this local time are the "unseen" ones whose
// coverage is reported (the models are trained on the readings before it).
#include "zone.hpp"

#include <stream_smarts/plugin.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ss = stream_smarts;

namespace {

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "score_bench: %s\n", message.c_str());
  std::exit(1);
}

const ss::plugin_descriptor& load_plugin(const std::string& file) {
  void* lib = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);  // never closed: the scorer's code lives in it
  if (lib == nullptr) die(file + ": " + ::dlerror());
  auto abi = reinterpret_cast<int (*)()>(::dlsym(lib, "stream_smarts_abi_version"));
  auto get = reinterpret_cast<const ss::plugin_descriptor* (*)()>(::dlsym(lib, "stream_smarts_plugin"));
  if (abi == nullptr || get == nullptr) die(file + ": not a stream-smarts plugin");
  if (abi() != ss::abi_version) die(file + ": built for another plugin ABI");
  return *get();
}

struct quiet_log final : ss::logger {
  bool enabled(ss::log_level level) const override { return level >= ss::log_level::warning; }
  void log(ss::log_level, std::string_view m) override { std::fprintf(stderr, "%.*s\n", int(m.size()), m.data()); }
};

// The options a pipeline would give: the declared defaults and `model`.
class bench_context final : public ss::stage_context {
public:
  bench_context(const ss::plugin_descriptor& d, const std::string& model, const ss::time_zone& zone)
      : name_(d.info.name), zone_(zone) {
    std::map<std::string, ss::option_value, std::less<>> values;
    for (const auto& spec : d.info.options) values[spec.name] = spec.default_value;
    values["model"] = model;
    options_ = ss::options(std::move(values));
  }
  const std::string& stage_name() const override { return name_; }
  const ss::options& options() const override { return options_; }
  const ss::time_zone& zone() const override { return zone_; }
  ss::logger& log() override { return log_; }
  std::string resolve_path(const std::string& p) const override { return p; }

private:
  std::string name_;
  ss::options options_;
  const ss::time_zone& zone_;
  quiet_log log_;
};

std::vector<ss::reading> read_csv(const std::string& path, const ss::time_zone& zone) {
  std::ifstream in(path);
  if (!in) die("cannot open " + path);
  std::vector<ss::reading> out;
  std::string line;
  std::getline(in, line);  // ts,wh
  while (std::getline(in, line)) {
    const auto comma = line.find(',');
    if (comma == std::string::npos) continue;
    const auto ts = ss::parse_iso8601(line.substr(0, comma));
    if (!ts) die(path + ": not a timestamp: " + line);
    ss::reading r;
    r.meter = "home";
    r.ts_ms = ss::to_utc_ms(*ts, zone);
    r.wh = std::strtod(line.c_str() + comma + 1, nullptr);
    ss::runtime::localize(r, zone);
    out.push_back(std::move(r));
  }
  return out;
}

struct contender {
  std::string name;
  std::unique_ptr<bench_context> context;
  std::unique_ptr<ss::scorer> scorer;
  double best_ns = 1e300;
  double checksum = 0;
  std::size_t unseen = 0, inside = 0, above = 0;
};

} // namespace

int main(int argc, char** argv) {
  std::string data, timezone = "UTC", from;
  int rounds = 30;
  std::vector<std::string> specs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--data") data = value();
    else if (a == "--timezone") timezone = value();
    else if (a == "--rounds") rounds = std::atoi(value().c_str());
    else if (a == "--from") from = value();
    else if (a == "--scorer") specs.push_back(value());
    else die("unknown argument " + a);
  }
  if (data.empty() || specs.empty() || rounds < 1) die("usage: see the comment at the top of score_bench.cpp");

  const auto zone = ss::runtime::load_time_zone(timezone);
  const std::vector<ss::reading> readings = read_csv(data, *zone);
  if (readings.empty()) die(data + ": no readings");
  std::int64_t from_ms = readings.front().ts_ms;
  if (!from.empty()) {
    const auto t = ss::parse_iso8601(from);
    if (!t) die("--from: not an ISO-8601 time: " + from);
    from_ms = ss::to_utc_ms(*t, *zone);
  }

  std::vector<contender> all;
  for (const std::string& spec : specs) {  // NAME=PLUGIN=MODEL
    const auto a = spec.find('='), b = spec.find('=', a + 1);
    if (a == std::string::npos || b == std::string::npos) die("--scorer wants NAME=PLUGIN.so=MODEL, got " + spec);
    contender c;
    c.name = spec.substr(0, a);
    const auto& d = load_plugin(spec.substr(a + 1, b - a - 1));
    c.context = std::make_unique<bench_context>(d, spec.substr(b + 1), *zone);
    try {
      c.scorer = d.make_scorer(*c.context);
    } catch (const std::exception& e) {
      die(c.name + ": " + e.what());
    }
    all.push_back(std::move(c));
  }

  // What each model makes of the readings it was not trained on.
  for (auto& c : all)
    for (const auto& r : readings) {
      if (r.ts_ms < from_ms) continue;
      const double s = c.scorer->score(r).score;
      ++c.unseen;
      c.inside += s >= 0 && s <= 1;
      c.above += s > 1;
    }

  // Rounds interleaved, so a busy spell on a shared machine hits every scorer.
  for (int round = 0; round < rounds; ++round)
    for (auto& c : all) {
      double sum = 0;
      const auto t0 = std::chrono::steady_clock::now();
      for (const auto& r : readings) sum += c.scorer->score(r).score;
      const auto t1 = std::chrono::steady_clock::now();
      c.checksum = sum;  // used, so the loop is not optimized away
      c.best_ns = std::min(c.best_ns, std::chrono::duration<double, std::nano>(t1 - t0).count() / readings.size());
    }

  const double weeks_unseen =
      static_cast<double>(readings.back().ts_ms - std::max(from_ms, readings.front().ts_ms)) / (7 * 86400000.0);
  std::printf("readings: %zu from %s, localized in %s; best of %d interleaved rounds\n\n", readings.size(),
              data.c_str(), timezone.c_str(), rounds);
  std::printf("| scorer | ns per reading | relative to %s | unseen readings inside the band | above the band, per week |\n",
              all.front().name.c_str());
  std::printf("|---|---|---|---|---|\n");
  for (const auto& c : all)
    std::printf("| %s | %.1f | %.1fx | %.1f %% | %.2f |\n", c.name.c_str(), c.best_ns, c.best_ns / all.front().best_ns,
                c.unseen ? 100.0 * c.inside / c.unseen : 0.0, weeks_unseen > 0 ? c.above / weeks_unseen : 0.0);
  std::fflush(stdout);
  for (const auto& c : all) std::fprintf(stderr, "%s: sum of scores %.6g\n", c.name.c_str(), c.checksum);
  return 0;
}

// A sink that discards what it receives and measures it: readings per second
// from the first arrival to the last (startup excluded), and, for a paced
// replay, each reading's latency from its due time to its arrival here (the
// due times are counted from the least-delayed reading's arrival). It
// also reports the wall-clock time of the first arrival (epoch us), which
// bench/run compares with the time the process was started (startup).
#include <stream_smarts/plugin.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <vector>

namespace ss = stream_smarts;

namespace {

using clock_type = std::chrono::steady_clock;

class null_sink final : public ss::sink {
public:
  explicit null_sink(ss::stage_context& c) : ctx_(c), speed_(c.options().number("speed")) {
    if (speed_ > 0) latencies_us_.reserve(1 << 20);
  }

  void write(const ss::alert& a) override {
    const auto now = clock_type::now();
    if (count_++ == 0) {
      first_wall_us_ = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
      first_ = now;
      first_ts_ms_ = a.scored.reading.ts_ms;
    }
    last_ = now;
    if (speed_ > 0) {
      // Due time = first arrival + the reading's distance in data time / speed.
      const double due_us = static_cast<double>(a.scored.reading.ts_ms - first_ts_ms_) * 1000.0 / speed_;
      const double at_us = std::chrono::duration<double, std::micro>(now - first_).count();
      latencies_us_.push_back(at_us - due_us);  // relative to the first arrival; see stop()
    }
  }

  void stop() override {
    const double seconds = std::chrono::duration<double>(last_ - first_).count();
    std::ofstream out(ctx_.resolve_path(ctx_.options().string("report")));
    out << "readings " << count_ << "\nseconds " << seconds << "\nreadings_per_second "
        << (seconds > 0 ? static_cast<double>(count_) / seconds : 0) << "\nfirst_arrival_epoch_us " << first_wall_us_
        << "\n";
    if (!latencies_us_.empty()) {
      // Time zero is the least-delayed reading, not the first: if the first
      // arrived late, every later one would look early (and count as 0).
      const double zero = *std::min_element(latencies_us_.begin(), latencies_us_.end());
      for (auto& l : latencies_us_) l -= zero;
    }
    if (!latencies_us_.empty()) out << "latency_p50_us " << percentile(0.50) << "\nlatency_p99_us " << percentile(0.99) << "\n";
  }

private:
  double percentile(double p) {
    auto at = latencies_us_.begin() + static_cast<std::ptrdiff_t>(p * static_cast<double>(latencies_us_.size() - 1));
    std::nth_element(latencies_us_.begin(), at, latencies_us_.end());
    return *at;
  }

  ss::stage_context& ctx_;
  double speed_;
  std::uint64_t count_ = 0;
  std::int64_t first_ts_ms_ = 0;
  std::int64_t first_wall_us_ = 0;
  clock_type::time_point first_, last_;
  std::vector<double> latencies_us_;
};

} // namespace

STREAM_SMARTS_PLUGIN(ss::sink_plugin<null_sink>(
    {"null_sink", {}, "0.1.0", "Benchmark sink: discards readings, reports throughput and latency",
     {ss::required_option("report", ss::option_type::string, "File the figures are written to."),
      ss::optional_option("speed", ss::option_type::number, 0.0,
                          "The replay's speed multiplier, to measure latency from each reading's due time (0: off).")}}))

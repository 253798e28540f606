// Accumulated excess energy: a one-sided CUSUM of the Wh above a reference
// level, per meter. A forgotten heater adds a flat excess hour after hour,
// which adds up; a kettle or an oven on a busy evening adds one hour's worth
// and the sum falls back. Pure (no dlib, no plugin SDK), so it is unit tested
// directly; dlib_regression feeds it the level its model expects.
#pragma once

#include <common/latest_verdict.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace stream_smarts::dlib_regression {

struct excess_options {
  /// Accumulated Wh above the reference at which the excess score is 1.0
  /// (the alert threshold); 0 = off.
  double excess_wh = 0;
  /// The reference: this many spreads above the centre, in log space.
  double allowance = 1.5;
  /// Hours over which the meter's recent level (its mean log residual) is
  /// followed, so a cold week or a full house does not count as excess;
  /// 0 = the model's centre as it is.
  double baseline_hours = 24;
  /// Each hour adds at most excess_wh / min_hours (a reading its share by
  /// the time since the previous one), so at least this many hours of
  /// excess are needed to reach the threshold and one busy hour cannot.
  double min_hours = 3;
  /// Readings further apart than this start a new sum (a gap in the data).
  std::int64_t max_gap_ms = hour_ms;
  /// The sum is held at most this many times excess_wh, so that after a long
  /// event it falls below the threshold soon after the excess stops.
  double cap = 1.5;
  /// y = log(wh + log_offset_wh), as in the model.
  double log_offset_wh = 50;
};

/// One meter's running sum. add() is constant time and allocates nothing.
class excess_accumulator {
public:
  explicit excess_accumulator(excess_options o = {}) : o_(o) {}

  /// Adds one reading (in time order) whose time the model gives centre `m`
  /// and spread `s` (log space), and returns the excess score,
  /// sum / excess_wh (0 when off). With b the meter's recent level
  /// (baseline_hours; else 0), expected = exp(m + b) - offset and
  /// reference = exp(m + b + allowance * s) - offset. The sum
  ///  - grows by wh - reference (at most excess_wh / min_hours an hour) and
  ///    never goes below 0 (CUSUM);
  ///  - restarts at 0 when wh is below expected (the house is back to its
  ///    usual level: whatever was left on is off), and when the reading is
  ///    more than max_gap_ms after the previous one, a day or more before
  ///    it (a clock set back), or at its time with other Wh;
  ///  - is held at most cap * excess_wh.
  /// A reading delivered again (latest_verdict.hpp) gets the latest score
  /// and changes nothing: restarting on it would drop a spell still on.
  double add(std::int64_t ts_ms, double wh, double m, double s) {
    if (!(o_.excess_wh > 0)) return 0;
    if (const double* again = latest_.again(ts_ms, wh)) return *again;
    return latest_.note(ts_ms, wh, judge(ts_ms, wh, m, s));
  }

  double sum_wh() const { return sum_; }
  double level() const { return level_; }

private:
  double judge(std::int64_t ts_ms, double wh, double m, double s) {
    const bool continues = started_ && ts_ms > last_ts_ms_ && ts_ms - last_ts_ms_ <= o_.max_gap_ms;
    const double hours = continues ? static_cast<double>(ts_ms - last_ts_ms_) / hour_ms : 1.0;
    started_ = true;
    last_ts_ms_ = ts_ms;
    const double expected = std::exp(m + level_) - o_.log_offset_wh;
    const double reference = std::max(expected, std::exp(m + level_ + o_.allowance * s) - o_.log_offset_wh);
    if (!continues || !(wh >= expected)) sum_ = 0;  // NaN wh restarts too
    if (wh >= expected)
      sum_ = std::clamp(sum_ + std::min(wh - reference, hours * o_.excess_wh / o_.min_hours), 0.0,
                        o_.cap * o_.excess_wh);
    if (o_.baseline_hours > 0 && wh >= 0) {
      // Follow the level slowly, each step limited to 2 spreads from it so
      // that an event hardly moves it.
      const double r = std::clamp(std::log(wh + o_.log_offset_wh) - m, level_ - 2 * s, level_ + 2 * s);
      level_ += (r - level_) / o_.baseline_hours;
    }
    return sum_ / o_.excess_wh;
  }

  excess_options o_;
  double sum_ = 0, level_ = 0;
  std::int64_t last_ts_ms_ = 0;
  bool started_ = false;
  latest_verdict<double> latest_;
};

} // namespace stream_smarts::dlib_regression

// The expected envelope of household consumption for a time of day, week and
// year, learnt with dlib's kernel ridge regression in log space. This header
// is free of dlib: every dlib include is in envelope_model.cpp, the plugin's
// one dlib translation unit (dlib/svm headers cost seconds to compile).
#pragma once

#include "model_file.hpp"

#include <stream_smarts/reading.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace stream_smarts::dlib_regression {

inline constexpr int feature_count = 6;
/// The names written in the model file's `features` line, in order.
inline constexpr const char* feature_names = "hour_sin,hour_cos,weekday_sin,weekday_cos,year_sin,year_cos";
/// y = log(wh + log_offset_wh): log space without log(0).
inline constexpr double default_log_offset_wh = 50;
/// Training refuses less history than a week of hours.
inline constexpr std::size_t min_training_readings = 168;
/// The most basis vectors a fitted function may have (max_basis's range).
inline constexpr long max_basis_limit = 1000;

/// A reading's calendar as points on three circles, so that 23:00 and 00:00,
/// Sunday and Monday, December and January are neighbours.
inline std::array<double, feature_count> features(const local_fields& l) {
  constexpr double two_pi = 6.283185307179586476925286766559;
  const double h = l.hour + l.minute / 60.0 + l.second / 3600.0;
  const double day = two_pi * h / 24, week = two_pi * l.weekday / 7, year = two_pi * l.day_of_year / 365.25;
  return {std::sin(day), std::cos(day), std::sin(week), std::cos(week), std::sin(year), std::cos(year)};
}

/// Throws std::out_of_range unless hour, minute, second, weekday and
/// day_of_year are in range (the runtime fills them; a hand-made reading may not).
void check_local_fields(const local_fields& l);

struct training_options {
  double lo_percentile = 0.5;   ///< 0 <= lo < hi <= 100
  double hi_percentile = 99.5;
  double gamma = 0.2;           ///< RBF kernel width on the normalized features, > 0
  long max_basis = 50;          ///< 1..1000 basis vectors per fitted function
};

/// Expected Wh for one time: the band [lo, hi] (hi - lo >= 1e-9) and the
/// most likely value; and the model's centre m and spread s (log space) it
/// came from, so a caller can place other levels: exp(m + k * s) - offset.
struct envelope {
  double lo = 0, hi = 1, expected = 0;
  double log_centre = 0, log_spread = 1;
};

/// Phases of training, reported as done fractions 0..1.
using progress_function = std::function<void(double)>;

class envelope_model {
public:
  envelope_model();
  envelope_model(envelope_model&&) noexcept;
  envelope_model& operator=(envelope_model&&) noexcept;
  ~envelope_model();

  /// Fits the centre and spread functions and the band's quantiles on
  /// `history` (local fields filled). Deterministic: the same history and
  /// options give the same model, byte for byte. Throws std::runtime_error
  /// for too little history (fewer than 168 readings, an hour of the day
  /// with none, a single weekday) or unusable values.
  static envelope_model train(const std::vector<reading>& history, const training_options& options,
                              const std::string& timezone, const progress_function& progress = {});

  /// The band for a reading's local time. Local fields must be in range.
  envelope predict(const local_fields& l) const;

  /// The file's bytes (header + dlib payload): what write_file writes.
  std::string to_bytes() const;
  /// Atomically; throws std::runtime_error.
  void write_file(const std::string& path) const;
  /// Reads and checks a file (never crashes on a bad one); throws model_error.
  static envelope_model read_file(const std::string& path);
  /// The same from bytes already read.
  static envelope_model from_bytes(std::string_view bytes);

  const model_header& header() const;
  /// Basis vectors of the centre and spread functions.
  std::size_t centre_basis() const;
  std::size_t spread_basis() const;
  double k_lo() const;
  double k_hi() const;
  /// True if both functions have the same basis (as trained), so that a
  /// prediction evaluates the kernel once per basis vector, not twice.
  bool shared_basis() const;

private:
  struct impl;
  explicit envelope_model(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// "dlib_regression: N readings from A to B, band p0.5-p99.5 ..., written to FILE"
std::string summary(const envelope_model& m, const std::string& path);

} // namespace stream_smarts::dlib_regression

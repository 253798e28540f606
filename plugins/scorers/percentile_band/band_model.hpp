// The percentile_band model: expected [lo, hi] Wh per hour of the day (or per
// weekday and hour), its training from history and its TOML file. No runtime
// needed, so tests compile this directly.
#pragma once

#include <common/model_errors.hpp>
#include <common/json.hpp>
#include <common/statistics.hpp>
#include <stream_smarts/options.hpp>
#include <stream_smarts/reading.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stream_smarts::percentile_band {

inline constexpr int hours_per_day = 24;
inline constexpr int days_per_week = 7;
inline constexpr std::string_view model_format = "stream-smarts/percentile_band";
inline constexpr std::int64_t model_format_version = 1;

/// Expected energy in one hour: hi > lo, both finite; centre is the median
/// of the hour's training readings (NaN in bands written before it existed,
/// or by hand without it).
struct band {
  double lo = 0;
  double hi = 1;
  double centre = std::numeric_limits<double>::quiet_NaN();
};
using day_bands = std::array<band, hours_per_day>;

using model_errors::model_error;  ///< a band or model file that cannot be used

/// Bands per weekday (0 = Monday) and hour, and where they came from.
/// Without by_weekday all seven days hold the same bands.
struct band_model {
  bool by_weekday = false;
  std::array<day_bands, days_per_week> bands{};
  std::string timezone;
  double lo_percentile = 0;
  double hi_percentile = 100;
  std::string trained_from, trained_to;  ///< local ISO-8601 of the first/last reading; empty if unknown
  std::int64_t readings = 0;
  std::int64_t reading_span_ms = 0;  ///< the span of the training readings' Wh; 0: not recorded
};

using json::format_number;
const char* weekday_name(int weekday);

/// Checks 24 [lo, hi] or [lo, hi, centre] rows (finite, hi > lo). `what` names them in messages,
/// e.g. "band row for hour 3: hi (200) must be above lo (300)". Throws model_error.
day_bands bands_from_rows(const number_matrix& rows, std::string_view what);

/// A model whose seven days all have these hourly bands.
band_model model_from_hourly(const day_bands& hourly);

using statistics::check_percentiles;
using statistics::percentile;

/// Learns bands from history (local fields filled). Throws std::runtime_error
/// naming the first hour (or weekday and hour) that has no reading.
band_model train(const std::vector<reading>& history, double lo_percentile, double hi_percentile, bool by_weekday);

/// The model as a commented, human-readable TOML document.
std::string to_toml(const band_model& m);
/// Reads a model document; throws model_error saying what is wrong.
band_model from_toml(std::string_view text, std::string_view source_name = "model");

/// Writes the file atomically (temporary file + rename); throws std::runtime_error.
void write_model_file(const band_model& m, const std::string& path);
/// Throws model_error ("cannot open: No such file or directory", or a content problem).
band_model read_model_file(const std::string& path);

/// "percentile_band: N readings from A to B, band p0-p100 per hour, written to FILE"
std::string summary(const band_model& m, const std::string& path);

} // namespace stream_smarts::percentile_band
